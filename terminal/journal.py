"""The append-only journal of every money event: the truth the kiosk's state is derived from.

SQLite in WAL mode with synchronous=FULL: when append() returns, the event is on disk. An event
may carry a unique `key` (e.g. "credit:<note id>") so that a replayed device event or a retried
step is recorded once — append() then returns None instead of a second row.

Kinds (each one, its key and its data: docs/journal.md) are the typed events of
terminal/events.py: append() refuses a kind that is not one of them (a ValueError naming it) and
an event missing a field; record() takes the typed event itself. Each append also updates the
projections (terminal/projections.py: pending postings, cash box) in the same transaction.

Personal fields are encrypted on the way in and opened on the way out (terminal/journal_crypto.py),
so callers see the values they appended; the files are 0600 whatever the umask.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from terminal import projections
from terminal.events import JournalEvent, parse, read, to_data
from terminal.journal_crypto import (
    HASH_SUFFIX,
    KEY_FILE_ENV,
    KEY_FILE_NAME,
    PREFIX,
    FieldCipher,
    JournalKeyError,
    create_key,
    has_personal,
    read_key,
    reveal,
)

__all__ = ["CrashPoint", "Event", "Journal", "JournalKeyError", "utc_now"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    session_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT UNIQUE,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_session ON events(session_id);
CREATE INDEX IF NOT EXISTS events_kind ON events(kind);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
FILE_MODE = 0o600


def _restrict(path: Path) -> None:
    """0600 on a journal file, whatever the umask; a file we do not own (an engineer's `verify`
    as another user) is left as it is."""
    try:
        if path.exists() and path.stat().st_mode & 0o777 != FILE_MODE:
            path.chmod(FILE_MODE)
    except PermissionError:
        pass


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Event:
    seq: int
    at: str
    session_id: str
    kind: str
    key: str | None
    data: dict[str, Any]

    @cached_property
    def typed(self) -> JournalEvent:
        """The event as its terminal/events.py class (Unrecognised for a kind of a newer
        version, which the fold ignores)."""
        return read(self.kind, self.data)


class CrashPoint:
    """Test hook: EMITRA_CRASH_AFTER="kind:n" kills the process (SIGKILL) right after the n-th
    durable append of that kind — the only way to prove a power cut at that step loses nothing.
    Unset in production: the check is one dict lookup."""

    def __init__(self, spec: str | None) -> None:
        self.kind: str | None = None
        self.remaining = 0
        if spec:
            kind, _, count = spec.partition(":")
            self.kind, self.remaining = kind, int(count or "1")

    def after_append(self, kind: str) -> None:
        if self.kind == kind:
            self.remaining -= 1
            if self.remaining <= 0:
                os.kill(os.getpid(), signal.SIGKILL)


class Journal:
    """Durable, append-only event log.

    key_file: the key for personal fields; default $EMITRA_JOURNAL_KEY_FILE, else journal.key
    beside the journal. Made at the first personal field if missing; a journal that already has
    encrypted fields and no (or another) key is a JournalKeyError at open, not a silent blank.
    """

    def __init__(self, path: str | Path, key_file: str | Path | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE))
        _restrict(self.path)
        self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self._db.executescript(projections.SCHEMA)
        projections.build(self._db)  # an old journal: once, from every event
        for suffix in ("-wal", "-shm"):  # SQLite gives them the main file's mode; old ones too
            _restrict(self.path.with_name(self.path.name + suffix))
        self._crash = CrashPoint(os.environ.get("EMITRA_CRASH_AFTER"))
        self.key_file = Path(
            key_file or os.environ.get(KEY_FILE_ENV) or self.path.parent / KEY_FILE_NAME
        )
        self._cipher = self._load_cipher()
        self._key_recorded = False

    def _load_cipher(self) -> FieldCipher | None:
        """The key once, at open (never per append); checked against the one the journal used."""
        row = self._db.execute("SELECT value FROM meta WHERE name = 'key_id'").fetchone()
        if not self.key_file.exists():
            if row is not None:
                raise JournalKeyError(
                    f"journal {self.path} has encrypted fields but its key {self.key_file} is"
                    f" missing: restore the key file (or set {KEY_FILE_ENV})"
                )
            return None
        _restrict(self.key_file)
        cipher = FieldCipher(read_key(self.key_file))
        if row is not None and row[0] != cipher.key_id:
            raise JournalKeyError(
                f"journal key {self.key_file} is not the key journal {self.path} was written"
                f" with (key id {cipher.key_id}, journal expects {row[0]})"
            )
        return cipher

    def _writing_cipher(self) -> FieldCipher:
        """The cipher for a personal field: the key is made at first use, and its id recorded
        (once per open) before the first event it seals."""
        if self._cipher is None:
            self._cipher = self._reading_cipher(create=True)
        if not self._key_recorded:
            self._db.execute(
                "INSERT OR IGNORE INTO meta(name, value) VALUES ('key_id', ?)",
                (self._cipher.key_id,),
            )
            self._key_recorded = True
        return self._cipher

    def _reading_cipher(self, create: bool = False) -> FieldCipher:
        """The cipher for a sealed field; a reader opened before the writer made the key loads
        it now."""
        if self._cipher is None:
            if create and not self.key_file.exists():
                create_key(self.key_file)
            self._cipher = self._load_cipher()
            if self._cipher is None:
                raise JournalKeyError(
                    f"journal {self.path} has encrypted fields but its key {self.key_file} is"
                    " missing"
                )
        return self._cipher

    def append(
        self, kind: str, session_id: str, data: dict[str, Any], key: str | None = None
    ) -> Event | None:
        """Write one event durably, with its projection update in the same transaction.
        Returns None if an event with the same key already exists. A kind terminal/events.py
        does not know, or data missing one of its fields, is a ValueError (nothing written)."""
        typed = parse(kind, data)
        at = utc_now()
        stored = self._writing_cipher().protect(data) if has_personal(data) else data
        body = json.dumps(stored, ensure_ascii=False, sort_keys=True)
        db = self._db
        nested = db.in_transaction  # inside a caller's transaction (a bulk fill): a savepoint
        db.execute("SAVEPOINT append" if nested else "BEGIN IMMEDIATE")
        try:
            cursor = db.execute(
                "INSERT INTO events(at, session_id, kind, key, data) VALUES (?, ?, ?, ?, ?)",
                (at, session_id, kind, key, body),
            )
            seq = cursor.lastrowid or 0
            projections.apply(db, seq, at, session_id, typed)
            db.execute("RELEASE append" if nested else "COMMIT")
        except sqlite3.IntegrityError:
            self._rollback(nested)
            return None
        except BaseException:
            self._rollback(nested)
            raise
        self._crash.after_append(kind)
        event = Event(seq, at, session_id, kind, key, data)
        event.__dict__["typed"] = typed
        return event

    def record(
        self, session_id: str, event: JournalEvent, key: str | None = None
    ) -> Event | None:
        """append() of a typed event (terminal/events.py)."""
        return self.append(event.kind, session_id, to_data(event), key=key)

    def _rollback(self, nested: bool) -> None:
        if not self._db.in_transaction:
            return
        if nested:
            self._db.execute("ROLLBACK TO append")
            self._db.execute("RELEASE append")
        else:
            self._db.execute("ROLLBACK")

    # ------------------------------------------------------------------ projections

    def pending_projection(self) -> list[dict[str, Any]]:
        """Postings central has not confirmed, in settle order: one row per payment (id = txn
        id), overpayment voucher or refund voucher (id = voucher id), with `session_id`,
        `what` (payment | voucher | refund_voucher), `paise`, `since` and `seq`."""
        return projections.pending_rows(self._db)

    def cash_box_projection(self) -> dict[str, Any]:
        """The notes in the cassette since the last collection: the same dict as
        terminal/cash_collection.py `cash_box(journal)`, read from the projection."""
        return projections.cash_box(self._db)

    def count(self, kinds: tuple[str, ...]) -> int:
        """How many events of these kinds (no data read)."""
        row = self._db.execute(
            f"SELECT COUNT(*) FROM events WHERE kind IN ({','.join('?' * len(kinds))})", kinds
        ).fetchone()
        return int(row[0])

    def has_key(self, key: str) -> bool:
        row = self._db.execute("SELECT 1 FROM events WHERE key = ?", (key,)).fetchone()
        return row is not None

    def events(
        self, session_id: str | None = None, kinds: tuple[str, ...] | None = None
    ) -> Iterator[Event]:
        query = "SELECT seq, at, session_id, kind, key, data FROM events"
        clauses, args = [], []
        if session_id is not None:
            clauses.append("session_id = ?")
            args.append(session_id)
        if kinds:
            clauses.append(f"kind IN ({','.join('?' * len(kinds))})")
            args.extend(kinds)
        if clauses:
            query += " WHERE " + " AND ".join(clauses)
        query += " ORDER BY seq"
        for seq, at, sid, kind, key, data in self._db.execute(query, args):
            value = json.loads(data)
            if PREFIX in data:
                value = reveal(value, self._cipher or self._reading_cipher())
            yield Event(seq, at, sid, kind, key, value)

    def sessions_of_consumer(self, consumer_number: str) -> list[str]:
        """Sessions opened for this consumer number, found by its keyed hash (or, in an old
        journal, its clear value) without opening every event."""
        hashed = self._cipher.lookup_hash(consumer_number) if self._cipher else None
        rows = self._db.execute(
            "SELECT session_id FROM events WHERE kind = 'session_opened' AND"
            f" (json_extract(data, '$.consumer_number{HASH_SUFFIX}') = ?"
            "  OR json_extract(data, '$.consumer_number') = ?) ORDER BY seq",
            (hashed, consumer_number),
        )
        return [sid for (sid,) in rows]

    def close(self) -> None:
        self._db.close()
