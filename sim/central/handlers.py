"""The signed API of the reference central (docs/central-api.md): validation and handlers.

Authentication, reply signing and the fault plan are middlewares (middleware.py); the money rules
are the store's (store.py)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from typing import Any

from aiohttp import web

from . import catalogue_seed, seed, voucher_routes
from .state import MAX_PAISE, STATE, TERMINAL_ID, CentralState, bad_request, json_object
from .store import ApiError

log = logging.getLogger("sim.central")

INSUFFICIENT_FUNDS_SUFFIX = "0002"  # test cards whose PAN ends so are declined for funds

_DIGITS = re.compile(r"[0-9]{1,20}")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")
# first 6 and last 4 digits, the rest masked (a 12- to 19-digit PAN); a full PAN never matches
_PAN_MASKED = re.compile(r"[0-9]{6}\*{2,9}[0-9]{4}")
_EXPIRY = re.compile(r"[0-9]{2}(0[1-9]|1[0-2])")
_AID = re.compile(r"(?:[0-9A-Fa-f]{2}){5,16}")
_ARQC = re.compile(r"[0-9A-Fa-f]{16}")
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2}){1,252}")


def want_str(body: dict[str, Any], key: str, *, nullable: bool = False) -> str | None:
    if key not in body:
        if nullable:
            return None
        raise bad_request(f"missing field {key!r}")
    value = body[key]
    if value is None and nullable:
        return None
    if not isinstance(value, str) or not value or len(value) > 100:
        raise bad_request(f"field {key!r} must be a non-empty string of at most 100 chars")
    return value


def want_id(body: dict[str, Any], key: str, *, nullable: bool = False) -> str | None:
    value = want_str(body, key, nullable=nullable)
    if value is not None and not _ID.fullmatch(value):
        raise bad_request(f"field {key!r} has characters outside [A-Za-z0-9._:-]")
    return value


def want_int(
    body: dict[str, Any], key: str, *, minimum: int = 0, required: bool = True
) -> int | None:
    if key not in body or body[key] is None:
        if required:
            raise bad_request(f"missing field {key!r}")
        return None
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_PAISE:
        raise bad_request(f"field {key!r} must be an integer from {minimum} to {MAX_PAISE} (paise)")
    return value


async def get_services(request: web.Request) -> web.Response:
    return web.json_response({"services": seed.CATALOGUE})


async def get_bill(request: web.Request) -> web.Response:
    provider = request.query.get("provider", "")
    consumer = request.query.get("consumer", "")
    if not provider or not consumer:
        raise bad_request("query parameters 'provider' and 'consumer' are required")
    if not _DIGITS.fullmatch(consumer):
        raise bad_request("'consumer' must be 1 to 20 digits")
    if seed.provider_service(provider) is None and catalogue_seed.provider(provider) is None:
        raise ApiError(404, "bill_not_found", f"unknown provider {provider!r}")
    bill = request.app[STATE].store.find_bill(provider, consumer)
    if bill is None:
        raise ApiError(404, "bill_not_found", f"no bill for {provider} consumer {consumer}")
    return web.json_response(bill)


async def post_payment(request: web.Request) -> web.Response:
    body = await json_object(request)
    want_id(body, "txn_id")
    want_id(body, "bill_id")
    want_str(body, "provider")
    consumer = want_str(body, "consumer_number")
    if not _DIGITS.fullmatch(consumer or ""):
        raise bad_request("'consumer_number' must be 1 to 20 digits")
    want_int(body, "amount_paise", minimum=1)
    want_int(body, "tendered_paise", required=False)
    want_int(body, "voucher_paise", required=False)
    want_id(body, "voucher_id", nullable=True)
    want_str(body, "paid_at", nullable=True)
    notes = body.get("notes")
    if notes is not None and (
        not isinstance(notes, list)
        or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in notes)
    ):
        raise bad_request("field 'notes' must be a list of positive integers (paise)")
    voucher_routes.check_payment(body)
    state = request.app[STATE]
    status, reply = state.store.post_payment(body, request[TERMINAL_ID], state.clock())
    voucher_routes.record_payment(request, body)
    return web.json_response(reply, status=status)


async def post_voucher(request: web.Request) -> web.Response:
    body = await json_object(request)
    want_id(body, "voucher_id")
    want_id(body, "txn_id", nullable=True)
    want_int(body, "amount_paise", minimum=1)
    want_str(body, "issued_at", nullable=True)
    voucher_routes.check_voucher(request, body)
    state = request.app[STATE]
    status, reply = state.store.create_voucher(body, request[TERMINAL_ID], state.clock())
    return web.json_response(reply, status=status)


async def get_voucher(request: web.Request) -> web.Response:
    voucher_id = request.match_info["voucher_id"]
    reply = request.app[STATE].store.get_voucher(voucher_id)
    return web.json_response(voucher_routes.voucher_view(request, voucher_id, reply))


async def redeem_voucher(request: web.Request) -> web.Response:
    body = await json_object(request)
    txn_id = want_id(body, "txn_id")
    assert txn_id is not None
    voucher_routes.check_redeem(request, request.match_info["voucher_id"], body)
    state = request.app[STATE]
    reply = state.store.redeem_voucher(request.match_info["voucher_id"], txn_id, state.clock())
    return web.json_response(reply)


async def verify_receipt(request: web.Request) -> web.Response:
    txn_id = request.query.get("txn_id", "")
    code = request.query.get("code", "")
    if not txn_id or not code:
        raise bad_request("query parameters 'txn_id' and 'code' are required")
    return web.json_response(request.app[STATE].store.verify_receipt(txn_id, code))


async def post_heartbeat(request: web.Request) -> web.Response:
    body = await json_object(request)
    state = request.app[STATE]
    terminal_id = request[TERMINAL_ID]
    state.store.add_heartbeat(terminal_id, state.clock(), body)
    return web.json_response({"ok": True, "commands": state.take_commands(terminal_id)})


def want_match(body: dict[str, Any], key: str, pattern: re.Pattern[str], what: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise bad_request(f"field {key!r} must be {what}")
    return value


def expected_arqc(key: bytes, cdol1_data: bytes, atc: int) -> str:
    """The card emulator's stand-in cryptogram: HMAC-SHA256(key, CDOL1 data || ATC)[:8]."""
    mac = hmac.new(key, cdol1_data + atc.to_bytes(2, "big"), hashlib.sha256).digest()
    return mac[:8].hex().upper()


def card_decision(state: CentralState, body: dict[str, Any]) -> str | None:
    """The reference issuer's answer: the decline reason, or None to approve.

    The cryptogram must verify and cover the amount asked (CDOL1 starts with the amount
    authorised, 9F02, 6 bytes BCD); then the card must not be expired (valid through the end of
    its expiry month, server clock, UTC), the amount within the limit, and funds sufficient.
    """
    cdol1 = bytes.fromhex(body["cdol1_data"])
    want = expected_arqc(state.card_ac_key, cdol1, body["atc"])
    if not hmac.compare_digest(want, body["arqc"].upper()):
        return "bad_cryptogram"
    if len(cdol1) < 6 or cdol1[:6].hex() != f"{body['amount_paise']:012d}":
        return "bad_cryptogram"
    now = time.gmtime(state.clock())
    yy, mm = int(body["expiry"][:2]), int(body["expiry"][2:])
    if (2000 + yy, mm) < (now.tm_year, now.tm_mon):
        return "expired"
    if body["amount_paise"] > state.card_limit_paise:
        return "limit"
    if body["pan_masked"].endswith(INSUFFICIENT_FUNDS_SUFFIX):
        return "insufficient_funds"
    return None


async def post_card_authorisation(request: web.Request) -> web.Response:
    body = await json_object(request)
    want_id(body, "auth_id")
    want_id(body, "txn_id")
    want_int(body, "amount_paise", minimum=1)
    want_match(body, "pan_masked", _PAN_MASKED, "a masked PAN: first 6 and last 4 digits only")
    want_match(body, "expiry", _EXPIRY, "the card's expiry as YYMM")
    want_match(body, "aid", _AID, "the application id in hex (5 to 16 bytes)")
    want_match(body, "arqc", _ARQC, "the 8-byte cryptogram in hex")
    want_match(body, "cdol1_data", _HEX, "the CDOL1 data sent to the card, in hex")
    atc = body.get("atc")
    if isinstance(atc, bool) or not isinstance(atc, int) or not 0 <= atc <= 0xFFFF:
        raise bad_request("field 'atc' must be an integer from 0 to 65535")
    state = request.app[STATE]
    status, reply = state.store.authorise_card(
        body, request[TERMINAL_ID], state.clock(), lambda b: card_decision(state, b)
    )
    log.info(
        "card authorisation %s pan=%s amount=%d -> %s %s",
        body["auth_id"],
        body["pan_masked"],
        body["amount_paise"],
        reply["status"],
        reply.get("reason") or "",
    )
    return web.json_response(reply, status=status)
