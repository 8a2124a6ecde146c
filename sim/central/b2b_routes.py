"""The reference central speaking e-Mitra back-to-back (docs/central-api-emitra-b2b.md): payment,
verify and cancel under /b2b/, over the same store as /v1, so a payment booked in one dialect is
the same row in the other and in /_sim/payments.

Not under /v1, so the HMAC middlewares leave these routes alone: here a request is authentic when
it decrypts with the merchant's AES key and its CHECKSUM (keyed by the SSO token) matches. The
test fault plan (POST /_sim/fail) applies here too; "unsigned" sends a wrong CHECKSUM.
"""

from __future__ import annotations

import asyncio
import calendar
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from .b2b_codec import (
    Merchant,
    SealError,
    from_rupees,
    request_checksum_ok,
    seal,
    sign_answer,
    to_rupees,
    unseal,
)
from .b2b_store import B2BStore
from .state import STATE, CentralState, error_response
from .store import ApiError, iso_utc

DEFAULT_MERCHANTS = {
    "EMITRA-KIOSK-0001": Merchant(
        merchant_code="EMITRA-KIOSK-0001",
        aes_secret="demo-aes-secret",
        ssoid="RJKIOSK0001",
        sso_token="demo-sso-token",
        terminal_id="RJ-JPR-0001",
    )
}
# (SERVICEID, SUBSERVICEID) -> (provider, its revenue head): the demo ids of config/default.toml.
SERVICES = {
    ("2001", "1"): ("JVVNL", "0801"),
    ("2002", "1"): ("AVVNL", "0802"),
    ("2003", "1"): ("JdVVNL", "0803"),
    ("3001", "1"): ("PHED", "0215"),
    ("4001", "1"): ("BSNL", "0901"),
    ("5001", "1"): ("RSGL", "1001"),
    ("6001", "1"): ("SAMPARK", "0070"),  # the grievance fee (catalogue_seed.GRIEVANCE_PROVIDER)
    ("7001", "1"): ("RJSJE", "2235"),  # an application's fee (catalogue_seed.APPLICATION_PROVIDER)
}
PROVIDER_IDS = {provider: ids for ids, (provider, _) in SERVICES.items()}
WINDOW_S = 300
IST_S = 5 * 3600 + 30 * 60
_REQUEST_ID = re.compile(r"[A-Za-z0-9-]{1,50}")
_STAMP = re.compile(r"[0-9]{17}")
_DIGITS = re.compile(r"[0-9]{1,20}")
_TXN = re.compile(r"[0-9a-fA-F]{8,40}")
# The reference store's refusals as TRANSACTIONSTATUSCODEs.
REFUSALS = {
    "bad_request": "400",
    "bill_not_found": "404",
    "already_paid": "409",
    "idempotency_conflict": "410",
    "amount_mismatch": "422",
}


@dataclass
class B2BState:
    store: B2BStore
    merchants: dict[str, Merchant] = field(default_factory=lambda: dict(DEFAULT_MERCHANTS))


B2B = web.AppKey("b2b_state", B2BState)


class Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _stamp_time(stamp: str) -> float | None:
    """REQTIMESTAMP (IST, yyyyMMddHHmmssSSS) as unix seconds, or None if it is not one."""
    if not _STAMP.fullmatch(stamp):
        return None
    try:
        parsed = time.strptime(stamp[:14], "%Y%m%d%H%M%S")
    except ValueError:
        return None
    return calendar.timegm(parsed) - IST_S + int(stamp[14:]) / 1000


def _request_id(fields: dict[str, str]) -> str:
    rid = fields.get("REQUESTID", "")
    if not _REQUEST_ID.fullmatch(rid):
        raise Refused("400", "REQUESTID must be 1-50 of A-Z a-z 0-9 -")
    return rid


def _record(row: dict[str, Any]) -> dict[str, str]:
    """A stored payment as the fields of a verify or payment answer."""
    service_id, sub_id = PROVIDER_IDS.get(row["provider"], ("", ""))
    return {
        "REQUESTID": row["txn_id"],
        "TRANSACTIONID": row["verification"],
        "RECEIPTNO": row["receipt_no"],
        "TRANSAMT": to_rupees(row["amount_paise"]),
        "TRANSACTIONSTATUS": "CANCELLED" if row.get("cancelled_at") else "SUCCESS",
        "SERVICEID": service_id,
        "SUBSERVICEID": sub_id,
        "CONSUMERKEY": row["consumer_number"],
        "TRANSDATE": row.get("paid_at") or row["received_at"],
    }


def _pay(state: CentralState, b2b: B2BState, m: Merchant, f: dict[str, str]) -> dict[str, str]:
    rid = _request_id(f)
    service = SERVICES.get((f.get("SERVICEID", ""), f.get("SUBSERVICEID", "")))
    if service is None:
        raise Refused("404", "unknown SERVICEID/SUBSERVICEID")
    provider, head = service
    amount = 0
    for part in f.get("REVENUEHEAD", "").split("|"):
        code, _, rupees = part.partition("-")
        value = from_rupees(rupees)
        if code != head or value is None:
            raise Refused("400", f"REVENUEHEAD must be {head}-<rupees with 2 decimals>")
        amount += value
    consumer = f.get("CONSUMERKEY", "")
    if not _DIGITS.fullmatch(consumer) or amount <= 0:
        raise Refused("400", "CONSUMERKEY must be 1-20 digits and the amount above 0")
    if f.get("PAYMODE") not in ("CASH", "CARD"):
        raise Refused("400", "PAYMODE must be CASH or CARD")
    held = b2b.store.by_request(rid, m.terminal_id)
    if held is not None:  # the same REQUESTID again: the first outcome, or a conflict
        if held["cancelled_at"]:
            raise Refused("423", f"REQUESTID {rid} was cancelled")
        if (held["provider"], held["consumer_number"], held["amount_paise"]) != (
            provider, consumer, amount
        ):
            raise Refused("410", f"REQUESTID {rid} was already used for another payment")
        return {**_record(held), "TRANSACTIONSTATUSCODE": "200", "MSG": "already booked"}
    bill = state.store.find_bill(provider, consumer)
    if bill is None:
        raise Refused("404", f"no bill for {provider} consumer {consumer}")
    body = {
        "txn_id": rid, "bill_id": bill["bill_id"], "provider": provider,
        "consumer_number": consumer, "amount_paise": amount, "notes": [],
        "paid_at": iso_utc(state.clock()),  # the dialect carries no payment time: booking time
    }
    try:
        state.store.post_payment(body, m.terminal_id, state.clock())
    except ApiError as exc:
        raise Refused(REFUSALS.get(exc.code, "500"), exc.message) from None
    booked = b2b.store.by_request(rid, m.terminal_id)
    assert booked is not None
    return {**_record(booked), "TRANSACTIONSTATUSCODE": "200", "MSG": "payment booked"}


def _verify(state: CentralState, b2b: B2BState, m: Merchant, f: dict[str, str]) -> dict[str, str]:
    rid, txn = f.get("REQUESTID", ""), f.get("TRANSACTIONID", "")
    if bool(rid) == bool(txn):
        raise Refused("400", "verify by exactly one of REQUESTID, TRANSACTIONID")
    if rid:
        row = b2b.store.by_request(_request_id(f), m.terminal_id)
    else:
        row = b2b.store.by_transaction(txn, m.terminal_id) if _TXN.fullmatch(txn) else None
    if row is None:
        return {"REQUESTID": rid, "TRANSACTIONID": txn, "VERIFYSTATUSCODE": "404",
                "MSG": "no such transaction"}
    return {**_record(row), "VERIFYSTATUSCODE": "200", "MSG": "verified"}


def _cancel(state: CentralState, b2b: B2BState, m: Merchant, f: dict[str, str]) -> dict[str, str]:
    rid, txn = _request_id(f), f.get("TRANSACTIONID", "")
    row = b2b.store.by_transaction(txn, m.terminal_id) if _TXN.fullmatch(txn) else None
    if row is None or row["txn_id"] != rid:
        return {"REQUESTID": rid, "TRANSACTIONID": txn, "CANCELSTATUSCODE": "404",
                "MSG": "no such transaction"}
    b2b.store.cancel(rid, f.get("CANCELREASON", "")[:100], state.clock())
    row = b2b.store.by_request(rid, m.terminal_id)
    assert row is not None
    return {**_record(row), "CANCELSTATUSCODE": "200", "MSG": "cancelled"}


async def _form(request: web.Request) -> dict[str, str] | None:
    """MERCHANTCODE and ENCDATA of a url-encoded body; None for any other body."""
    if request.content_type != "application/x-www-form-urlencoded":
        return None
    try:
        pairs = parse_qsl((await request.read()).decode("ascii"), max_num_fields=8)
    except (UnicodeDecodeError, ValueError):
        return None
    return dict(pairs)


Call = Callable[[CentralState, B2BState, Merchant, dict[str, str]], dict[str, str]]


async def _answer(request: web.Request, call: Call, status_key: str, ref_key: str) -> web.Response:
    """The envelope around every call: the fault plan, opening and checking the request,
    sealing the answer (echoing REQTIMESTAMP, with its CHECKSUM)."""
    state, b2b = request.app[STATE], request.app[B2B]
    mode = state.take_failure()
    if mode == "http500":
        return web.Response(status=500, text="injected failure (http500)")
    if mode == "http429":
        return web.Response(status=429, text="slow down", headers={"Retry-After": "1"})
    if mode == "garbage":
        return web.Response(status=200, text="RECEIPTNO=RCPT-\x00<html>")
    if mode == "slow":
        await asyncio.sleep(state.slow_seconds)
    form = await _form(request)
    if form is None:
        return error_response(400, "bad_request", "body must be a url-encoded form")
    m = b2b.merchants.get(form.get("MERCHANTCODE", ""))
    if m is None:
        return web.Response(status=401, text="unknown MERCHANTCODE")
    try:
        f = unseal(m.key, form.get("ENCDATA", ""))
    except SealError as exc:
        return web.Response(status=401, text=f"ENCDATA {exc}")
    ref = f.get("REQUESTID") or f.get(ref_key, "")
    if (f.get("MERCHANTCODE"), f.get("SSOID")) != (m.merchant_code, m.ssoid) or not (
        request_checksum_ok(m, f, ref)
    ):
        return web.Response(status=401, text="MERCHANTCODE, SSOID or CHECKSUM do not match")
    stamp = f.get("REQTIMESTAMP", "")
    sent = _stamp_time(stamp)
    try:
        if sent is None or abs(state.clock() - sent) > WINDOW_S:
            raise Refused("401", f"REQTIMESTAMP is not within {WINDOW_S} s of central's time")
        answer = call(state, b2b, m, f)
    except Refused as exc:
        answer = {"REQUESTID": f.get("REQUESTID", ""), "TRANSACTIONSTATUS": "FAILURE",
                  status_key: exc.code, "MSG": exc.message}
    answer["REQTIMESTAMP"] = stamp
    signed = sign_answer(m, answer, status_key)
    if mode == "unsigned":
        signed["CHECKSUM"] = "0" * 32
    response = web.Response(text=seal(m.key, signed))
    if mode == "late":
        await asyncio.sleep(state.slow_seconds)
    elif mode == "lost" and request.transport is not None:
        request.transport.abort()
    return response


async def post_payment(request: web.Request) -> web.Response:
    return await _answer(request, _pay, "TRANSACTIONSTATUSCODE", "REQUESTID")


async def post_verify(request: web.Request) -> web.Response:
    return await _answer(request, _verify, "VERIFYSTATUSCODE", "TRANSACTIONID")


async def post_cancel(request: web.Request) -> web.Response:
    return await _answer(request, _cancel, "CANCELSTATUSCODE", "REQUESTID")


def register(app: web.Application) -> None:
    """Add the /b2b/ routes to the reference central's app (after app[STATE] is set)."""
    app[B2B] = B2BState(B2BStore(app[STATE].store))
    app.router.add_post("/b2b/payment", post_payment)
    app.router.add_post("/b2b/verify", post_verify)
    app.router.add_post("/b2b/cancel", post_cancel)
