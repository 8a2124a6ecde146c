"""POST /v1/applications of the reference central: an application submitted at a kiosk, its
answers checked against the catalogue's form (central never trusts the kiosk's own check), the
fee answered as a bill to pay like any other (docs/central-api.md)."""

from __future__ import annotations

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
    state = request.app[STATE]
    reply = request.app[SERVICES].submit_application(body, request[TERMINAL_ID], state.clock())
    return web.json_response(reply)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/v1/applications", post_application)
