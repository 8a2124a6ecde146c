"""Projections: tables in the journal database kept up to date by each append, in the same SQLite
transaction as the event (terminal/journal.py), so reading the money state costs what is pending,
not the journal's history.

- `pending_postings`: what central has not confirmed: one row per settled payment (id = txn id),
  overpayment voucher and refund voucher (id = voucher id). A payment leaves on `posted` or on its
  `refund_voucher` (a final refusal, refunded); a voucher on `voucher_posted` / `voucher_refused`.
  A refusal not yet refunded (`post_refused`) stays: the outbox refunds it, or retries it.
  A voucher redemption central has not answered (`voucher_redeeming`, id
  `redeem:<session>:<voucher>`) stays until `voucher_redeemed` or `voucher_redeem_failed`.
- `cash_box`: the notes put into the cassette since the last collection, per source and
  denomination (credits, engineers' test notes, notes found in the stacker at power-up, and those
  found with no value); emptied by `maintenance`/`cash_collected`. The last collection and the
  seq of the last cassette event are in `meta`.

`emitra-kiosk verify` re-derives both from the full fold and reports any difference
(terminal/invariant.py `check_projections`). A journal written before the projections gets them
built once, at open, by replaying every event through `apply`.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from terminal.events import (
    Credit,
    JournalEvent,
    Maintenance,
    Posted,
    RefundVoucher,
    Settled,
    UnattributedNote,
    VoucherPosted,
    VoucherRedeemed,
    VoucherRedeemFailed,
    VoucherRedeeming,
    VoucherRefused,
    read,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS pending_postings (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    what TEXT NOT NULL,
    paise INTEGER NOT NULL,
    since TEXT NOT NULL,
    seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS pending_postings_seq ON pending_postings(seq);
CREATE TABLE IF NOT EXISTS cash_box (
    source TEXT NOT NULL,
    paise INTEGER NOT NULL,
    notes INTEGER NOT NULL,
    PRIMARY KEY (source, paise)
);
"""
BUILT = "projections_v1"  # meta row: the projections are built and maintained
LAST_COLLECTION = "cash_box.last_collection"
CASSETTE_SEQ = "cash_box.journal_seq"
SOURCES = ("credit", "test_note", "unattributed", "unattributed_unknown")

_PENDING = (
    "INSERT OR IGNORE INTO pending_postings(id, session_id, what, paise, since, seq)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
_DONE = "DELETE FROM pending_postings WHERE id = ?"
_NOTE = (
    "INSERT INTO cash_box(source, paise, notes) VALUES (?, ?, 1)"
    " ON CONFLICT(source, paise) DO UPDATE SET notes = notes + 1"
)
_META = "INSERT OR REPLACE INTO meta(name, value) VALUES (?, ?)"


def apply(db: sqlite3.Connection, seq: int, at: str, session_id: str, ev: JournalEvent) -> None:
    """Fold one appended event into the projection tables (inside the append's transaction)."""
    if isinstance(ev, Settled):
        if ev.amount_paise:
            payment_id = ev.txn_id or f"payment:{session_id}"
            db.execute(_PENDING, (payment_id, session_id, "payment", ev.amount_paise, at, seq))
        if ev.voucher_id:
            db.execute(_PENDING, (ev.voucher_id, session_id, "voucher", ev.voucher_paise, at, seq))
    elif isinstance(ev, Posted):
        db.execute(_DONE, (ev.txn_id,))
    elif isinstance(ev, RefundVoucher):
        db.execute(_DONE, (ev.txn_id,))
        db.execute(_PENDING, (ev.voucher_id, session_id, "refund_voucher", ev.amount_paise, at,
                              _settled_seq(db, session_id, seq)))
    elif isinstance(ev, VoucherPosted):
        db.execute(_DONE, (ev.voucher_id,))
    elif isinstance(ev, VoucherRefused):
        db.execute(_DONE, (ev.id,))
    elif isinstance(ev, VoucherRedeeming):
        rid = f"redeem:{session_id}:{ev.voucher_id}"
        db.execute(_PENDING, (rid, session_id, "redemption", ev.paise, at, seq))
    elif isinstance(ev, (VoucherRedeemed, VoucherRedeemFailed)):
        db.execute(_DONE, (f"redeem:{session_id}:{ev.voucher_id}",))
    elif isinstance(ev, Credit):
        db.execute(_NOTE, ("credit", int(ev.paise)))
        db.execute(_META, (CASSETTE_SEQ, str(seq)))
    elif isinstance(ev, UnattributedNote):
        if ev.where == "stacker":
            if ev.paise:
                db.execute(_NOTE, ("unattributed", int(ev.paise)))
            else:
                db.execute(_NOTE, ("unattributed_unknown", 0))
        db.execute(_META, (CASSETTE_SEQ, str(seq)))
    elif isinstance(ev, Maintenance):
        if ev.action == "test_note":
            db.execute(_NOTE, ("test_note", int(ev.extra["paise"])))
        elif ev.action == "cash_collected":
            db.execute("DELETE FROM cash_box")
            last = {
                "collection_id": ev.extra["collection_id"],
                "at": at,
                "engineer_id": ev.engineer_id,
                "total_paise": ev.extra["total_paise"],
                "notes": ev.extra["notes"],
            }
            db.execute(_META, (LAST_COLLECTION, json.dumps(last, sort_keys=True)))
        db.execute(_META, (CASSETTE_SEQ, str(seq)))


def _settled_seq(db: sqlite3.Connection, session_id: str, default: int) -> int:
    """A refund voucher keeps its session's place in the outbox queue (settle order)."""
    row = db.execute(
        "SELECT seq FROM events WHERE session_id = ? AND kind = 'settled' ORDER BY seq LIMIT 1",
        (session_id,),
    ).fetchone()
    return int(row[0]) if row else default


def build(db: sqlite3.Connection) -> bool:
    """Build the projections from the whole journal, once (an old journal's first open).
    Returns True when it built them. Runs in its own write transaction."""
    if _built(db):
        return False
    db.execute("BEGIN IMMEDIATE")
    try:
        if _built(db):  # another process built them meanwhile
            db.execute("ROLLBACK")
            return False
        db.execute("DELETE FROM pending_postings")
        db.execute("DELETE FROM cash_box")
        db.execute("DELETE FROM meta WHERE name IN (?, ?)", (LAST_COLLECTION, CASSETTE_SEQ))
        rows = db.execute("SELECT seq, at, session_id, kind, data FROM events ORDER BY seq")
        for seq, at, session_id, kind, data in rows.fetchall():
            apply(db, seq, at, session_id, read(kind, json.loads(data)))
        db.execute(_META, (BUILT, "1"))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return True


def _built(db: sqlite3.Connection) -> bool:
    return db.execute("SELECT 1 FROM meta WHERE name = ?", (BUILT,)).fetchone() is not None


def pending_rows(db: sqlite3.Connection) -> list[dict[str, Any]]:
    """The pending postings in settle order."""
    rows = db.execute(
        "SELECT id, session_id, what, paise, since, seq FROM pending_postings ORDER BY seq, id"
    )
    return [
        {"id": i, "session_id": sid, "what": what, "paise": paise, "since": since, "seq": seq}
        for i, sid, what, paise, since, seq in rows
    ]


def cash_box(db: sqlite3.Connection) -> dict[str, Any]:
    """The cash box as terminal/cash_collection.py `cash_box(journal)` returns it."""
    counts: dict[int, int] = {}
    by_source = dict.fromkeys(SOURCES, 0)
    unknown = 0
    for source, paise, notes in db.execute("SELECT source, paise, notes FROM cash_box"):
        if source == "unattributed_unknown":
            unknown += notes
            continue
        counts[paise] = counts.get(paise, 0) + notes
        by_source[source] += paise * notes
    meta = dict(
        db.execute(
            "SELECT name, value FROM meta WHERE name IN (?, ?)", (LAST_COLLECTION, CASSETTE_SEQ)
        ).fetchall()
    )
    last = json.loads(meta[LAST_COLLECTION]) if LAST_COLLECTION in meta else None
    counts = {value: n for value, n in counts.items() if n}
    return {
        "since": last["at"] if last else None,
        "counts": counts,  # paise -> notes (int keys; not for JSON)
        "by_denomination": [
            {"paise": value, "rupees": value // 100, "count": counts[value]}
            for value in sorted(counts, reverse=True)
        ],
        "notes": sum(counts.values()),
        "total_paise": sum(v * c for v, c in counts.items()),
        "credited_paise": by_source["credit"],
        "test_notes_paise": by_source["test_note"],
        "unattributed_paise": by_source["unattributed"],
        "unattributed_unknown_notes": unknown,
        "last_collection": last,
        "journal_seq": int(meta.get(CASSETTE_SEQ, 0)),
    }
