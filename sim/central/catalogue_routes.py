"""Routes of the reference central for the catalogue and the citizen services: the catalogue
(GET /v1/catalogue), application status, certificate verification and grievances
(docs/central-api.md). Their records are services_store.py's."""

from __future__ import annotations

import re

from aiohttp import web

from . import catalogue_seed
from .handlers import want_id, want_str
from .services_store import SERVICES
from .state import STATE, TERMINAL_ID, bad_request, json_object

APPLICATION_NO = re.compile(r"[0-9]{10,16}")
CERTIFICATE_NO = re.compile(r"[A-Z]{2,6}[0-9]{6,14}")
GRIEVANCE_NO = re.compile(r"[0-9]{13}")
CODE = re.compile(r"[0-9a-fA-F]{16}")
MOBILE = re.compile(r"[6-9][0-9]{9}")
MAX_DESCRIPTION = 500
MAX_PHOTO_B64 = 160_000  # a small JPEG; the body limit (256 KiB) bounds it anyway
_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


async def get_catalogue(request: web.Request) -> web.Response:
    return web.json_response(catalogue_seed.catalogue())


async def get_application(request: web.Request) -> web.Response:
    number = request.match_info["number"]
    if not APPLICATION_NO.fullmatch(number):
        raise bad_request("an application number is 10 to 16 digits")
    return web.json_response(request.app[SERVICES].application(number))


async def get_certificate(request: web.Request) -> web.Response:
    number = request.match_info["number"]
    if not CERTIFICATE_NO.fullmatch(number):
        raise bad_request("a certificate number is 2-6 capitals and 6-14 digits")
    code = request.query.get("code")
    if code is not None and not CODE.fullmatch(code):
        raise bad_request("'code' is 16 hex digits")
    return web.json_response(request.app[SERVICES].certificate(number, code))


async def post_grievance(request: web.Request) -> web.Response:
    body = await json_object(request)
    want_id(body, "request_id")
    dept = catalogue_seed.department(want_str(body, "department") or "")
    if dept is None:
        raise bad_request("unknown department")
    category = next((c for c in dept["categories"] if c["code"] == body.get("category")), None)
    if category is None:
        raise bad_request("unknown category for the department")
    complaint = body.get("complaint")
    if complaint is not None and complaint not in {c["code"] for c in category["complaints"]}:
        raise bad_request("unknown complaint for the category")
    text = body.get("description")
    if not isinstance(text, str) or len(text) > MAX_DESCRIPTION or (not text and not complaint):
        raise bad_request(f"'description' is text of at most {MAX_DESCRIPTION} characters")
    mobile = body.get("mobile")
    if not isinstance(mobile, str) or not MOBILE.fullmatch(mobile):
        raise bad_request("'mobile' is a 10-digit Indian mobile number")
    photo = body.get("photo_jpeg_b64")
    if photo is not None and (not isinstance(photo, str) or len(photo) > MAX_PHOTO_B64
                              or not _B64.fullmatch(photo)):
        raise bad_request("'photo_jpeg_b64' is base64 of a small JPEG")
    state = request.app[STATE]
    reply = request.app[SERVICES].register_grievance(body, request[TERMINAL_ID], state.clock())
    return web.json_response(reply)


async def get_grievance(request: web.Request) -> web.Response:
    number = request.match_info["number"]
    if not GRIEVANCE_NO.fullmatch(number):
        raise bad_request("a grievance number is 13 digits")
    return web.json_response(request.app[SERVICES].grievance(number))


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/v1/catalogue", get_catalogue, allow_head=False)
    router.add_get("/v1/applications/{number}", get_application, allow_head=False)
    router.add_get("/v1/certificates/{number}", get_certificate, allow_head=False)
    router.add_post("/v1/grievances", post_grievance)
    router.add_get("/v1/grievances/{number}", get_grievance, allow_head=False)
