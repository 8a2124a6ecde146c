"""SQLite persistence of the reference central server.

One connection in autocommit mode; every operation that reads-then-writes runs inside one
``BEGIN IMMEDIATE`` transaction, so an idempotent post is decided atomically even if two server
processes share the database file. Calls are synchronous and short; the aiohttp handlers call
them directly from the event loop, which also serialises them within one process.
"""

from __future__ import annotations

import hmac
import json
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import seed
from .signing import NONCE_MEMORY_S, receipt_verification

SCHEMA = """
CREATE TABLE IF NOT EXISTS nonces (
    terminal_id TEXT NOT NULL,
    nonce       TEXT NOT NULL,
    seen_at     REAL NOT NULL,
    PRIMARY KEY (terminal_id, nonce)
);
CREATE INDEX IF NOT EXISTS nonces_seen_at ON nonces (seen_at);
CREATE TABLE IF NOT EXISTS bills (
    bill_id         TEXT PRIMARY KEY,
    provider        TEXT NOT NULL,
    service         TEXT NOT NULL,
    consumer_number TEXT NOT NULL,
    consumer_name   TEXT NOT NULL,
    consumer_name_hi TEXT NOT NULL DEFAULT '',
    period          TEXT NOT NULL,
    due_paise       INTEGER NOT NULL,
    due_date        TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('unpaid', 'paid')),
    paid_txn_id     TEXT
);
CREATE INDEX IF NOT EXISTS bills_lookup ON bills (provider, consumer_number);
CREATE TABLE IF NOT EXISTS counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS payments (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    txn_id          TEXT NOT NULL UNIQUE,
    receipt_no      TEXT NOT NULL UNIQUE,
    verification    TEXT NOT NULL,
    bill_id         TEXT NOT NULL,
    provider        TEXT NOT NULL,
    consumer_number TEXT NOT NULL,
    amount_paise    INTEGER NOT NULL,
    tendered_paise  INTEGER,
    notes           TEXT NOT NULL,
    paid_at         TEXT,
    voucher_id      TEXT,
    voucher_paise   INTEGER,
    terminal_id     TEXT NOT NULL,
    received_at     TEXT NOT NULL,
    request         TEXT NOT NULL,
    reply           TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS vouchers (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    voucher_id      TEXT NOT NULL UNIQUE,
    txn_id          TEXT,
    amount_paise    INTEGER NOT NULL,
    issued_at       TEXT,
    status          TEXT NOT NULL CHECK (status IN ('active', 'redeemed')),
    redeemed_txn_id TEXT,
    redeemed_at     TEXT,
    terminal_id     TEXT NOT NULL,
    received_at     TEXT NOT NULL,
    request         TEXT NOT NULL,
    reply           TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS card_authorisations (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    auth_id      TEXT NOT NULL UNIQUE,
    txn_id       TEXT NOT NULL,
    amount_paise INTEGER NOT NULL,
    pan_masked   TEXT NOT NULL,
    expiry       TEXT NOT NULL,
    aid          TEXT NOT NULL,
    atc          INTEGER NOT NULL,
    arqc         TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('approved', 'declined')),
    reason       TEXT,
    auth_code    TEXT,
    terminal_id  TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    request      TEXT NOT NULL,
    reply        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS card_authorisations_arqc ON card_authorisations (arqc);
CREATE TABLE IF NOT EXISTS heartbeats (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    terminal_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    body        TEXT NOT NULL
);
"""


class ApiError(Exception):
    """An error answered as ``{"error": code, "message": message}`` with ``status``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def iso_utc(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def part_payment(provider: str, amount_paise: int, due_paise: int) -> bool:
    """A payment of less than the bill, which the provider takes (the catalogue's flag)."""
    from .catalogue_seed import provider as seeded

    p = seeded(provider)
    return bool(p and p.get("partial_payment")) and 0 < amount_paise < due_paise


def canonical(body: dict[str, Any]) -> str:
    """The body as compared for idempotency: key order and whitespace do not matter."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


_BILL_FIELDS = (
    "bill_id, provider, service, consumer_number, consumer_name, consumer_name_hi, period, "
    "due_paise, due_date, status"
)
_BILL_INSERT = (
    f"INSERT OR IGNORE INTO bills ({_BILL_FIELDS}) VALUES "
    "(:bill_id, :provider, :service, :consumer_number, :consumer_name, :consumer_name_hi, "
    ":period, :due_paise, :due_date, :status)"
)


def _bill_row(row: dict[str, Any]) -> dict[str, Any]:
    """A bill row with the optional Devanagari name (most callers give only the Latin one)."""
    return {"consumer_name_hi": "", **row}
_PAYMENT_FIELDS = (
    "txn_id, receipt_no, verification, bill_id, provider, consumer_number, amount_paise, "
    "tendered_paise, notes, paid_at, voucher_id, voucher_paise, terminal_id, received_at"
)
_CARD_AUTH_FIELDS = (
    "auth_id, txn_id, amount_paise, pan_masked, expiry, aid, atc, arqc, status, reason, "
    "auth_code, terminal_id, received_at"
)
_VOUCHER_FIELDS = (
    "voucher_id, txn_id, amount_paise, issued_at, status, redeemed_txn_id, redeemed_at, "
    "terminal_id, received_at"
)


class CentralStore:
    def __init__(self, db_path: str | Path = ":memory:", receipt_key: str = "") -> None:
        self.db_path = str(db_path)
        self.receipt_key = receipt_key
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            self.db_path, isolation_level=None, check_same_thread=False, timeout=10.0
        )
        self._db.row_factory = sqlite3.Row
        if self.db_path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        columns = {r["name"] for r in self._db.execute("PRAGMA table_info(bills)")}
        if "consumer_name_hi" not in columns:  # a database made before the Devanagari name
            self._db.execute(
                "ALTER TABLE bills ADD COLUMN consumer_name_hi TEXT NOT NULL DEFAULT ''"
            )
        with self._tx() as db:
            db.executemany(_BILL_INSERT, [_bill_row(r) for r in seed.seed_bills()])
            db.execute("INSERT OR IGNORE INTO counters (name, value) VALUES ('receipt', 0)")

    def add_bills(self, rows: list[dict[str, Any]]) -> None:
        """More bills, shaped like seed.seed_bills() rows (bench and tests need thousands)."""
        with self._tx() as db:
            db.executemany(_BILL_INSERT, [_bill_row(r) for r in rows])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken before the first read (BEGIN IMMEDIATE)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # -- nonces ------------------------------------------------------------------------------

    def remember_nonce(self, terminal_id: str, nonce: str, now: float) -> bool:
        """Record a nonce; False if the terminal used it within the last NONCE_MEMORY_S."""
        with self._tx() as db:
            db.execute("DELETE FROM nonces WHERE seen_at < ?", (now - NONCE_MEMORY_S,))
            cur = db.execute(
                "INSERT OR IGNORE INTO nonces (terminal_id, nonce, seen_at) VALUES (?, ?, ?)",
                (terminal_id, nonce, now),
            )
            return cur.rowcount == 1

    # -- bills -------------------------------------------------------------------------------

    def find_bill(self, provider: str, consumer_number: str) -> dict[str, Any] | None:
        """The consumer's newest unpaid bill, else the newest paid one."""
        rows = self._query(
            f"SELECT {_BILL_FIELDS} FROM bills WHERE provider = ? AND consumer_number = ? "
            "ORDER BY status = 'unpaid' DESC, period DESC LIMIT 1",
            (provider, consumer_number),
        )
        return dict(rows[0]) if rows else None

    # -- payments ----------------------------------------------------------------------------

    def post_payment(
        self, body: dict[str, Any], terminal_id: str, now: float
    ) -> tuple[int, dict[str, Any]]:
        """Book a payment idempotently on txn_id; returns (HTTP status, reply)."""
        request = canonical(body)
        txn_id = body["txn_id"]
        with self._tx() as db:
            old = db.execute(
                "SELECT request, reply FROM payments WHERE txn_id = ?", (txn_id,)
            ).fetchone()
            if old is not None:
                if old["request"] == request:
                    return 200, json.loads(old["reply"])
                raise ApiError(
                    409,
                    "idempotency_conflict",
                    f"txn_id {txn_id} was already posted with a different body",
                )
            bill = db.execute(
                "SELECT * FROM bills WHERE bill_id = ?", (body["bill_id"],)
            ).fetchone()
            if (
                bill is None
                or bill["provider"] != body["provider"]
                or bill["consumer_number"] != body["consumer_number"]
            ):
                raise ApiError(
                    404,
                    "bill_not_found",
                    f"no bill {body['bill_id']} for {body['provider']} "
                    f"consumer {body['consumer_number']}",
                )
            if bill["status"] == "paid":
                raise ApiError(409, "already_paid", f"bill {bill['bill_id']} is already paid")
            part = part_payment(body["provider"], body["amount_paise"], bill["due_paise"])
            if body["amount_paise"] != bill["due_paise"] and not part:
                raise ApiError(
                    422,
                    "amount_mismatch",
                    f"amount_paise {body['amount_paise']} != due {bill['due_paise']}",
                )
            number = db.execute(
                "UPDATE counters SET value = value + 1 WHERE name = 'receipt' RETURNING value"
            ).fetchone()[0]
            receipt_no = f"RCPT-{number:06d}"
            reply = {
                "receipt_no": receipt_no,
                "txn_id": txn_id,
                "status": "posted",
                "verification": receipt_verification(self.receipt_key, txn_id, receipt_no),
            }
            db.execute(
                f"INSERT INTO payments ({_PAYMENT_FIELDS}, request, reply) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    txn_id,
                    receipt_no,
                    reply["verification"],
                    body["bill_id"],
                    body["provider"],
                    body["consumer_number"],
                    body["amount_paise"],
                    body.get("tendered_paise"),
                    json.dumps(body.get("notes") or []),
                    body.get("paid_at"),
                    body.get("voucher_id"),
                    body.get("voucher_paise"),
                    terminal_id,
                    iso_utc(now),
                    request,
                    json.dumps(reply),
                ),
            )
            if part:  # the bill stays open for the rest
                db.execute(
                    "UPDATE bills SET due_paise = due_paise - ? WHERE bill_id = ?",
                    (body["amount_paise"], body["bill_id"]),
                )
            else:
                db.execute(
                    "UPDATE bills SET status = 'paid', paid_txn_id = ? WHERE bill_id = ?",
                    (txn_id, body["bill_id"]),
                )
            return 201, reply

    def verify_receipt(self, txn_id: str, code: str) -> dict[str, Any]:
        rows = self._query(
            "SELECT txn_id, receipt_no, verification, amount_paise, provider, paid_at "
            "FROM payments WHERE txn_id = ?",
            (txn_id,),
        )
        if not rows:
            return {"result": "unknown"}
        row = rows[0]
        if not hmac.compare_digest(row["verification"], code.strip().lower()):
            return {"result": "not_genuine"}
        return {
            "result": "genuine",
            "txn_id": row["txn_id"],
            "receipt_no": row["receipt_no"],
            "amount_paise": row["amount_paise"],
            "provider": row["provider"],
            "paid_at": row["paid_at"],
        }

    def payments(self) -> list[dict[str, Any]]:
        rows = []
        for row in self._query(f"SELECT {_PAYMENT_FIELDS} FROM payments ORDER BY seq"):
            item = dict(row)
            item["notes"] = json.loads(item["notes"])
            rows.append(item)
        return rows

    # -- vouchers ----------------------------------------------------------------------------

    def create_voucher(
        self, body: dict[str, Any], terminal_id: str, now: float
    ) -> tuple[int, dict[str, Any]]:
        request = canonical(body)
        voucher_id = body["voucher_id"]
        with self._tx() as db:
            old = db.execute(
                "SELECT request, reply FROM vouchers WHERE voucher_id = ?", (voucher_id,)
            ).fetchone()
            if old is not None:
                if old["request"] == request:
                    return 200, json.loads(old["reply"])
                raise ApiError(
                    409,
                    "idempotency_conflict",
                    f"voucher {voucher_id} was already posted with a different body",
                )
            reply = {
                "voucher_id": voucher_id,
                "amount_paise": body["amount_paise"],
                "status": "active",
            }
            db.execute(
                "INSERT INTO vouchers (voucher_id, txn_id, amount_paise, issued_at, status, "
                "terminal_id, received_at, request, reply) "
                "VALUES (?, ?, ?, ?, 'active', ?, ?, ?, ?)",
                (
                    voucher_id,
                    body.get("txn_id"),
                    body["amount_paise"],
                    body.get("issued_at"),
                    terminal_id,
                    iso_utc(now),
                    request,
                    json.dumps(reply),
                ),
            )
            return 201, reply

    def get_voucher(self, voucher_id: str) -> dict[str, Any]:
        rows = self._query(
            "SELECT voucher_id, amount_paise, status FROM vouchers WHERE voucher_id = ?",
            (voucher_id,),
        )
        if not rows:
            raise ApiError(404, "voucher_not_found", f"no voucher {voucher_id}")
        return dict(rows[0])

    def redeem_voucher(self, voucher_id: str, txn_id: str, now: float) -> dict[str, Any]:
        with self._tx() as db:
            row = db.execute(
                "SELECT voucher_id, amount_paise, status, redeemed_txn_id FROM vouchers "
                "WHERE voucher_id = ?",
                (voucher_id,),
            ).fetchone()
            if row is None:
                raise ApiError(404, "voucher_not_found", f"no voucher {voucher_id}")
            if row["status"] == "redeemed" and row["redeemed_txn_id"] != txn_id:
                raise ApiError(
                    409,
                    "already_redeemed",
                    f"voucher {voucher_id} was redeemed by another transaction",
                )
            if row["status"] == "active":
                db.execute(
                    "UPDATE vouchers SET status = 'redeemed', redeemed_txn_id = ?, "
                    "redeemed_at = ? WHERE voucher_id = ?",
                    (txn_id, iso_utc(now), voucher_id),
                )
            return {
                "voucher_id": row["voucher_id"],
                "amount_paise": row["amount_paise"],
                "status": "redeemed",
            }

    def vouchers(self) -> list[dict[str, Any]]:
        return [
            dict(r) for r in self._query(f"SELECT {_VOUCHER_FIELDS} FROM vouchers ORDER BY seq")
        ]

    # -- card authorisations -----------------------------------------------------------------

    def authorise_card(
        self,
        body: dict[str, Any],
        terminal_id: str,
        now: float,
        decide: Callable[[dict[str, Any]], str | None],
    ) -> tuple[int, dict[str, Any]]:
        """Decide a card authorisation idempotently on auth_id; returns (HTTP status, reply).

        `decide(body)` returns the decline reason, or None to approve; it runs only for a new
        auth_id. A cryptogram already used by another auth_id is declined as a replay. The body
        carries only the masked PAN, and only that is stored.
        """
        request = canonical(body)
        auth_id = body["auth_id"]
        arqc = body["arqc"].upper()
        with self._tx() as db:
            old = db.execute(
                "SELECT request, reply FROM card_authorisations WHERE auth_id = ?", (auth_id,)
            ).fetchone()
            if old is not None:
                if old["request"] == request:
                    return 200, json.loads(old["reply"])
                raise ApiError(
                    409,
                    "idempotency_conflict",
                    f"auth_id {auth_id} was already posted with a different body",
                )
            replayed = db.execute(
                "SELECT 1 FROM card_authorisations WHERE arqc = ? AND pan_masked = ? AND atc = ?",
                (arqc, body["pan_masked"], body["atc"]),
            ).fetchone()
            reason = "replayed_cryptogram" if replayed is not None else decide(body)
            reply: dict[str, Any] = {"auth_id": auth_id, "txn_id": body["txn_id"]}
            if reason is None:
                reply.update(status="approved", reason=None)
                reply["auth_code"] = f"{secrets.randbelow(10**6):06d}"
            else:
                reply.update(status="declined", reason=reason)
            db.execute(
                f"INSERT INTO card_authorisations ({_CARD_AUTH_FIELDS}, request, reply) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    auth_id,
                    body["txn_id"],
                    body["amount_paise"],
                    body["pan_masked"],
                    body["expiry"],
                    body["aid"].upper(),
                    body["atc"],
                    arqc,
                    reply["status"],
                    reason,
                    reply.get("auth_code"),
                    terminal_id,
                    iso_utc(now),
                    request,
                    json.dumps(reply),
                ),
            )
            return 201, reply

    def card_authorisations(self) -> list[dict[str, Any]]:
        return [
            dict(r)
            for r in self._query(
                f"SELECT {_CARD_AUTH_FIELDS} FROM card_authorisations ORDER BY seq"
            )
        ]

    # -- heartbeats --------------------------------------------------------------------------

    def add_heartbeat(self, terminal_id: str, now: float, body: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO heartbeats (terminal_id, received_at, body) VALUES (?, ?, ?)",
                (terminal_id, iso_utc(now), json.dumps(body, ensure_ascii=False)),
            )

    def heartbeats(self) -> list[dict[str, Any]]:
        rows = []
        for row in self._query(
            "SELECT id, terminal_id, received_at, body FROM heartbeats ORDER BY id"
        ):
            item = dict(row)
            item["body"] = json.loads(item["body"])
            rows.append(item)
        return rows
