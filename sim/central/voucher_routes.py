"""The reference central's voucher terms and advance credits, beside the money store (store.py).

A voucher is not bearer paper: it is recorded with the consumer (provider + consumer number, and
the mobile number when the kiosk had one) it came from, and a validity; central refuses to redeem
it for another consumer's bill (`voucher_other_consumer`) or after it lapsed (`voucher_expired`).
A redemption the kiosk could not confirm is reversed with POST /v1/vouchers/{id}/release (the
same voucher id + txn id), which puts the voucher back in force. A payment may carry
`advance_paise`: the overshoot credited to the consumer's account, taken only by a provider whose
catalogue entry says `advance_payment`, and at most its `max_overshoot_paise`.

handlers.py calls `check_voucher`, `check_redeem`, `check_payment` / `record_payment`; the routes
here are added by server.py (`attach`).
"""

from __future__ import annotations

import re
import weakref
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from . import catalogue_seed
from .state import MAX_PAISE, STATE, bad_request, is_loopback, json_object
from .store import ApiError, CentralStore, iso_utc

VALIDITY_DAYS = 180  # how long a voucher may be redeemed after it was issued
_DIGITS = re.compile(r"[0-9]{1,20}")
_MOBILE = re.compile(r"[6-9][0-9]{9}")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")
_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")

SCHEMA = """
CREATE TABLE IF NOT EXISTS voucher_terms (
    voucher_id      TEXT PRIMARY KEY,
    provider        TEXT,
    consumer_number TEXT,
    mobile          TEXT,
    expires_at      REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS advances (
    txn_id          TEXT PRIMARY KEY,
    provider        TEXT NOT NULL,
    consumer_number TEXT NOT NULL,
    advance_paise   INTEGER NOT NULL,
    received_at     TEXT NOT NULL
);
"""
_READY: weakref.WeakSet[CentralStore] = weakref.WeakSet()  # stores that have the tables


def _store(request: web.Request) -> CentralStore:
    store = request.app[STATE].store
    if store not in _READY:
        with store._tx() as db:  # the tables live in the money store's database
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
        _READY.add(store)
    return store


def _opt(body: dict[str, Any], key: str, pattern: re.Pattern[str]) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise bad_request(f"field {key!r} is malformed")
    return value


# ---------------------------------------------------------------- vouchers


def check_voucher(request: web.Request, body: dict[str, Any]) -> None:
    """POST /v1/vouchers: whose the voucher is (optional fields), recorded with its validity."""
    provider = _opt(body, "provider", _CODE)
    consumer = _opt(body, "consumer_number", _DIGITS)
    mobile = _opt(body, "mobile", _MOBILE)
    voucher_id = body.get("voucher_id")
    if not isinstance(voucher_id, str) or not _ID.fullmatch(voucher_id):
        return  # the handler refuses it
    now = request.app[STATE].clock()
    with _store(request)._tx() as db:
        db.execute(
            "INSERT OR IGNORE INTO voucher_terms (voucher_id, provider, consumer_number, mobile,"
            " expires_at) VALUES (?, ?, ?, ?, ?)",
            (voucher_id, provider, consumer, mobile, now + VALIDITY_DAYS * 86400),
        )


def terms(request: web.Request, voucher_id: str) -> dict[str, Any] | None:
    rows = _store(request)._query(
        "SELECT provider, consumer_number, mobile, expires_at FROM voucher_terms"
        " WHERE voucher_id = ?", (voucher_id,))
    return dict(rows[0]) if rows else None


def voucher_view(request: web.Request, voucher_id: str, reply: dict[str, Any]) -> dict[str, Any]:
    """GET /v1/vouchers/{id}: the reply with its validity and whether it is bound to someone."""
    t = terms(request, voucher_id)
    lapsed = t is not None and t["expires_at"] < request.app[STATE].clock()
    if t is None or not (t["consumer_number"] or lapsed):
        return reply  # an unbound voucher in force: the reply as it always was
    expires = datetime.fromtimestamp(t["expires_at"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = {**reply, "expires_at": expires, "bound": bool(t["consumer_number"])}
    if reply.get("status") == "active" and lapsed:
        out["status"] = "expired"
    return out


def check_redeem(request: web.Request, voucher_id: str, body: dict[str, Any]) -> None:
    """Before the store redeems: a lapsed voucher, or one bound to another consumer, is refused.
    A repeat of a redemption that already happened (same txn id) is always answered."""
    store = _store(request)
    rows = store._query(
        "SELECT status, redeemed_txn_id FROM vouchers WHERE voucher_id = ?", (voucher_id,))
    if not rows or (rows[0]["status"] == "redeemed"
                    and rows[0]["redeemed_txn_id"] == body.get("txn_id")):
        return  # unknown (the store answers 404) or a repeat (idempotent)
    t = terms(request, voucher_id)
    if t is None or rows[0]["status"] != "active":
        return
    if t["expires_at"] < request.app[STATE].clock():
        raise ApiError(410, "voucher_expired", f"voucher {voucher_id} has expired")
    consumer = _opt(body, "consumer_number", _DIGITS)
    provider = _opt(body, "provider", _CODE)
    if t["consumer_number"] and (consumer != t["consumer_number"]
                                 or (t["provider"] and provider != t["provider"])):
        raise ApiError(403, "voucher_other_consumer",
                       f"voucher {voucher_id} belongs to another consumer")


async def release_voucher(request: web.Request) -> web.Response:
    """POST /v1/vouchers/{id}/release {"txn_id"}: undo this txn's redemption (idempotent): the
    voucher is in force again. Another txn's redemption is not touched."""
    voucher_id = request.match_info["voucher_id"]
    body = await json_object(request)
    txn_id = body.get("txn_id")
    if not isinstance(txn_id, str) or not _ID.fullmatch(txn_id):
        raise bad_request("field 'txn_id' must be an id")
    with _store(request)._tx() as db:
        row = db.execute("SELECT status, redeemed_txn_id FROM vouchers WHERE voucher_id = ?",
                         (voucher_id,)).fetchone()
        if row is None:
            raise ApiError(404, "voucher_not_found", f"no voucher {voucher_id}")
        if row["status"] == "redeemed" and row["redeemed_txn_id"] != txn_id:
            return web.json_response({"voucher_id": voucher_id, "status": "redeemed",
                                      "released": False})
        db.execute("UPDATE vouchers SET status = 'active', redeemed_txn_id = NULL,"
                   " redeemed_at = NULL WHERE voucher_id = ?", (voucher_id,))
    return web.json_response({"voucher_id": voucher_id, "status": "active", "released": True})


# ---------------------------------------------------------------- advance credit


def check_payment(body: dict[str, Any]) -> int:
    """POST /v1/payments: `advance_paise` only for a provider that takes advance payment, and
    within its limit. Returns the advance (0 when none)."""
    advance = body.get("advance_paise", 0)
    if advance is None:
        return 0
    if isinstance(advance, bool) or not isinstance(advance, int) or not 0 <= advance <= MAX_PAISE:
        raise bad_request("field 'advance_paise' must be an integer from 0 (paise)")
    if advance:
        p = catalogue_seed.provider(str(body.get("provider")))
        if p is None or not p["advance_payment"]:
            raise ApiError(422, "advance_not_accepted",
                           f"provider {body.get('provider')!r} takes no advance payment")
        if advance > p["max_overshoot_paise"]:
            raise ApiError(422, "advance_too_large",
                           f"advance {advance} is above {p['max_overshoot_paise']} paise")
    return advance


def record_payment(request: web.Request, body: dict[str, Any]) -> None:
    """After the store booked the payment: its advance, on the consumer's account."""
    advance = check_payment(body)
    if not advance:
        return
    with _store(request)._tx() as db:
        db.execute(
            "INSERT OR IGNORE INTO advances (txn_id, provider, consumer_number, advance_paise,"
            " received_at) VALUES (?, ?, ?, ?, ?)",
            (body["txn_id"], body["provider"], body["consumer_number"], advance,
             iso_utc(request.app[STATE].clock())),
        )


def advances(store: CentralStore) -> list[dict[str, Any]]:
    """Every advance credit booked (tests; `/_sim/advances`)."""
    if store not in _READY:
        return []  # the table is made on first use: no advance yet
    rows = store._query("SELECT txn_id, provider, consumer_number, advance_paise,"
                        " received_at FROM advances ORDER BY received_at, txn_id")
    return [dict(r) for r in rows]


SHORT_CODE = re.compile(r"[0-9A-F]{6}")


async def find_voucher(request: web.Request) -> web.Response:
    """GET /v1/vouchers?provider=P&consumer=C&code=XXXXXX: the voucher of this consumer whose id
    ends in the short code printed on its slip. A voucher is bound to its consumer, so six
    characters are enough among that consumer's vouchers; none, or (by chance) two, is 404."""
    q = request.query
    provider, consumer, code = q.get("provider", ""), q.get("consumer", ""), q.get("code", "")
    if not (_CODE.fullmatch(provider) and _DIGITS.fullmatch(consumer)
            and SHORT_CODE.fullmatch(code)):
        raise bad_request("provider, consumer (digits) and code (6 of 0-9 A-F) are needed")
    rows = _store(request)._query(
        "SELECT voucher_id FROM voucher_terms WHERE provider = ? AND consumer_number = ?"
        " AND voucher_id LIKE ? ESCAPE '!'", (provider, consumer, f"%-{code}"))
    if len(rows) != 1:
        raise ApiError(404, "voucher_not_found",
                       f"no single voucher of {provider} consumer {consumer} ends in {code}")
    return web.json_response({"voucher_id": rows[0]["voucher_id"]})


async def sim_advances(request: web.Request) -> web.Response:
    if not is_loopback(request.remote):
        raise ApiError(403, "forbidden", "test controls answer on loopback only")
    return web.json_response({"advances": advances(_store(request))})


def attach(app: web.Application) -> None:
    """The routes of this module and of the SMS receipts (server.py)."""
    from . import sms_routes

    app.router.add_post("/v1/vouchers/{voucher_id}/release", release_voucher)
    app.router.add_get("/v1/vouchers", find_voucher, allow_head=False)
    app.router.add_get("/_sim/advances", sim_advances, allow_head=False)
    sms_routes.attach(app)
