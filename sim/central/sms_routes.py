"""SMS of the reference central: a kiosk asks central to send a citizen the text of a receipt or
voucher (POST /v1/sms). Nothing is really sent; each message is recorded once per message id
(idempotent like payments) with the number masked — central keeps no full number it does not
need once the SMS is out — and tests read them at GET /_sim/sms."""

from __future__ import annotations

import re
import threading
from typing import Any

from aiohttp import web

from .state import STATE, TERMINAL_ID, bad_request, is_loopback, json_object
from .store import ApiError, canonical, iso_utc

_MOBILE = re.compile(r"[6-9][0-9]{9}")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")
MAX_TEXT = 480  # three SMS parts


def mask(mobile: str) -> str:
    return mobile[:2] + "*" * (len(mobile) - 4) + mobile[-2:]


class SmsOutbox:
    """The messages central was asked to send (in memory: the reference server's SMS gateway)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[str, dict[str, Any]] = {}

    def send(self, body: dict[str, Any], terminal_id: str, now: float) -> tuple[int, dict]:
        record = {"message_id": body["message_id"], "mobile_masked": mask(body["mobile"]),
                  "text": body["text"], "terminal_id": terminal_id, "received_at": iso_utc(now)}
        request = canonical({k: body[k] for k in ("message_id", "mobile", "text")})
        with self._lock:
            old = self._by_id.get(body["message_id"])
            if old is not None:
                if old["_request"] != request:
                    raise ApiError(409, "idempotency_conflict",
                                   f"message {body['message_id']} was sent with another text")
                return 200, {"message_id": body["message_id"], "status": "sent"}
            self._by_id[body["message_id"]] = {**record, "_request": request}
        return 201, {"message_id": body["message_id"], "status": "sent"}

    def messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{k: v for k, v in m.items() if k != "_request"}
                    for m in self._by_id.values()]


SMS = web.AppKey("sms_outbox", SmsOutbox)


async def post_sms(request: web.Request) -> web.Response:
    body = await json_object(request)
    message_id, mobile, text = body.get("message_id"), body.get("mobile"), body.get("text")
    if not isinstance(message_id, str) or not _ID.fullmatch(message_id):
        raise bad_request("field 'message_id' must be an id")
    if not isinstance(mobile, str) or not _MOBILE.fullmatch(mobile):
        raise bad_request("field 'mobile' must be a 10-digit Indian mobile number")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
        raise bad_request(f"field 'text' must be 1 to {MAX_TEXT} characters")
    status, reply = request.app[SMS].send(body, request[TERMINAL_ID], request.app[STATE].clock())
    return web.json_response(reply, status=status)


async def sim_sms(request: web.Request) -> web.Response:
    if not is_loopback(request.remote):
        raise ApiError(403, "forbidden", "test controls answer on loopback only")
    return web.json_response({"sms": request.app[SMS].messages()})


def attach(app: web.Application) -> None:
    app[SMS] = SmsOutbox()
    app.router.add_post("/v1/sms", post_sms)
    app.router.add_get("/_sim/sms", sim_sms, allow_head=False)
