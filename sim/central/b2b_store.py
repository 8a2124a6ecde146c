"""What the e-Mitra back-to-back routes need of the reference central's store beyond its public
methods: look a payment up by REQUESTID (the store's txn_id) or TRANSACTIONID (its verification
code), and cancellations. Kept apart from store.py (the reference dialect's) and run on the same
SQLite connection and lock, so a payment booked in either dialect is one row, seen by both."""

from __future__ import annotations

from typing import Any

from .store import CentralStore, iso_utc

SCHEMA = """
CREATE TABLE IF NOT EXISTS b2b_cancellations (
    txn_id       TEXT PRIMARY KEY,
    cancelled_at TEXT NOT NULL,
    reason       TEXT NOT NULL
);
"""
_FIELDS = (
    "p.txn_id, p.receipt_no, p.verification, p.provider, p.consumer_number, p.amount_paise, "
    "p.paid_at, p.received_at, p.terminal_id, c.cancelled_at"
)


class B2BStore:
    def __init__(self, store: CentralStore) -> None:
        self.store = store
        with store._lock:  # the same connection and lock, by design
            store._db.executescript(SCHEMA)

    def _one(self, where: str, value: str, terminal_id: str) -> dict[str, Any] | None:
        rows = self.store._query(
            f"SELECT {_FIELDS} FROM payments p LEFT JOIN b2b_cancellations c "
            f"ON c.txn_id = p.txn_id WHERE {where} = ? AND p.terminal_id = ?",
            (value, terminal_id),
        )
        return dict(rows[0]) if rows else None

    def by_request(self, request_id: str, terminal_id: str) -> dict[str, Any] | None:
        """The merchant's payment whose txn_id is this REQUESTID (either dialect booked it)."""
        return self._one("p.txn_id", request_id, terminal_id)

    def by_transaction(self, transaction_id: str, terminal_id: str) -> dict[str, Any] | None:
        return self._one("p.verification", transaction_id.lower(), terminal_id)

    def cancel(self, txn_id: str, reason: str, now: float) -> bool:
        """Record the cancellation and reopen the bill it paid (the citizen owes it again, or
        the part of it that payment covered); False if it was already cancelled."""
        with self.store._tx() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO b2b_cancellations (txn_id, cancelled_at, reason) "
                "VALUES (?, ?, ?)",
                (txn_id, iso_utc(now), reason),
            )
            if cur.rowcount != 1:
                return False
            paid = db.execute("SELECT bill_id, amount_paise FROM payments WHERE txn_id = ?",
                              (txn_id,)).fetchone()
            if paid is not None:
                db.execute(
                    "UPDATE bills SET status = 'unpaid', paid_txn_id = NULL "
                    "WHERE bill_id = ? AND paid_txn_id = ?", (paid["bill_id"], txn_id))
                if db.execute("SELECT changes()").fetchone()[0] == 0:  # a part payment
                    db.execute("UPDATE bills SET due_paise = due_paise + ? "
                               "WHERE bill_id = ? AND status = 'unpaid'",
                               (paid["amount_paise"], paid["bill_id"]))
            return True

    def cancellations(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.store._query(
            "SELECT txn_id, cancelled_at, reason FROM b2b_cancellations ORDER BY cancelled_at")]
