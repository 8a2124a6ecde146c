"""POST /v1/applications of the reference central: an application submitted at a kiosk, its
answers checked against the catalogue's form (central never trusts the kiosk's own check), the
fee answered as a bill to pay like any other (docs/central-api.md).

Its documents come first, one request each (POST /v1/applications/documents, so no request is
over the body limit); the application then names them with their sha256 and is refused unless
central holds every document the form requires, byte for byte. POST /v1/applications/withdraw
deletes an application whose fee was never paid, with its documents."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import date
from typing import Any

from aiohttp import web

from . import catalogue_seed
from .handlers import want_id, want_str
from .services_store import SERVICES
from .state import STATE, TERMINAL_ID, bad_request, json_object

# Verhoeff (Aadhaar's check digit): multiplication and permutation tables of the dihedral group.
_MUL = ["0123456789", "1234067895", "2340178956", "3401289567", "4012395678",
        "5987604321", "6598710432", "7659821043", "8765932104", "9876543210"]
_PERM = ["0123456789", "1576283094", "5803796142", "8916043527", "9453126870",
         "4286573901", "2793806415", "7046913258"]


def verhoeff_valid(number: str) -> bool:
    check = 0
    for position, digit in enumerate(reversed(number)):
        check = int(_MUL[check][int(_PERM[position % 8][int(digit)])])
    return check == 0


def answer_problem(spec: dict[str, Any], value: Any) -> str | None:
    if not isinstance(value, str) or not value or len(value) > spec.get("maxLength", 256):
        return "not a short string"
    if len(value) < spec.get("minLength", 0):
        return "too short"
    if "pattern" in spec and not re.fullmatch(spec["pattern"], value):
        return "does not match its pattern"
    if "enum" in spec and value not in spec["enum"]:
        return "not one of the choices"
    if spec.get("format") == "date":
        try:
            date.fromisoformat(value)
        except ValueError:
            return "not a date"
    if spec.get("x-check") == "verhoeff" and not (value.isdigit() and verhoeff_valid(value)):
        return "wrong check digit"
    return None


async def post_application(request: web.Request) -> web.Response:
    body = await json_object(request)
    want_id(body, "request_id")
    service = catalogue_seed.service(want_str(body, "service") or "")
    if service is None or service["kind"] != "application":
        raise bad_request("unknown application service")
    form = next(f for f in catalogue_seed.FORMS if f["code"] == service["form"])
    answers = body.get("answers")
    if not isinstance(answers, dict) or len(answers) > 64:
        raise bad_request("'answers' must be an object")
    fields = form["schema"]["properties"]
    unknown = set(answers) - set(fields)
    if unknown:
        raise bad_request(f"unknown fields: {', '.join(sorted(unknown))[:200]}")
    for name in form["schema"]["required"]:
        if name not in answers:
            raise bad_request(f"missing answer {name!r}")
    for name, value in answers.items():
        problem = answer_problem(fields[name], value)
        if problem:
            raise bad_request(f"answer {name!r}: {problem}")
    check_documents(body, form, request.app[SERVICES].document_hashes(
        request[TERMINAL_ID], str(body["request_id"])))
    state = request.app[STATE]
    reply = request.app[SERVICES].submit_application(body, request[TERMINAL_ID], state.clock())
    return web.json_response(reply)


MAX_DOCUMENT_BYTES = 150_000


def check_documents(body: dict[str, Any], form: dict[str, Any], held: dict[str, str]) -> None:
    """Every required document named, none unknown, each one central holds with that hash."""
    named = body.get("documents", [])
    if not isinstance(named, list) or not all(
            isinstance(d, dict) and isinstance(d.get("code"), str)
            and isinstance(d.get("sha256"), str) for d in named):
        raise bad_request("'documents' must be a list of {code, sha256}")
    asked = {d["code"]: d for d in form.get("documents", [])}
    codes = [d["code"] for d in named]
    if len(set(codes)) != len(codes) or not set(codes) <= set(asked):
        raise bad_request("documents named twice, or not asked for by the form")
    missing = [c for c, d in asked.items() if d["required"] and c not in codes]
    if missing:
        raise bad_request(f"missing documents: {', '.join(missing)}")
    for d in named:
        if held.get(d["code"]) != d["sha256"]:
            raise bad_request(f"document {d['code']!r} not received as named")


async def post_document(request: web.Request) -> web.Response:
    body = await json_object(request)
    request_id = want_id(body, "request_id")
    service = catalogue_seed.service(want_str(body, "service") or "")
    if service is None or service["kind"] != "application":
        raise bad_request("unknown application service")
    form = next(f for f in catalogue_seed.FORMS if f["code"] == service["form"])
    code = want_str(body, "code")
    if code not in {d["code"] for d in form.get("documents", [])}:
        raise bad_request("a document the form does not ask for")
    raw = body.get("jpeg_b64")
    try:
        jpeg = base64.b64decode(raw, validate=True) if isinstance(raw, str) else b""
    except (binascii.Error, ValueError):
        jpeg = b""
    if not jpeg.startswith(b"\xff\xd8") or len(jpeg) > MAX_DOCUMENT_BYTES:
        raise bad_request(f"'jpeg_b64' must be a JPEG of at most {MAX_DOCUMENT_BYTES} bytes")
    digest = request.app[SERVICES].add_application_document(
        request[TERMINAL_ID], str(request_id), str(code), jpeg)
    return web.json_response({"request_id": request_id, "code": code, "sha256": digest})


async def post_withdraw(request: web.Request) -> web.Response:
    body = await json_object(request)
    request_id = want_id(body, "request_id")
    return web.json_response(request.app[SERVICES].withdraw_application(
        request[TERMINAL_ID], str(request_id)))


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/v1/applications", post_application)
    router.add_post("/v1/applications/documents", post_document)
    router.add_post("/v1/applications/withdraw", post_withdraw)
