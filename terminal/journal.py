"""The append-only journal of every money event: the truth the kiosk's state is derived from.

SQLite in WAL mode with synchronous=FULL: when append() returns, the event is on disk. An event
may carry a unique `key` (e.g. "credit:<note id>") so that a replayed device event or a retried
step is recorded once — append() then returns None instead of a second row.

Kinds (each one, its key and its data: docs/journal.md):
  session_opened, bill, credit, note_returned, settled, posted, voucher_posted, printed,
  print_failed, session_closed, unattributed_note, maintenance, fault
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
"""


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
    """Durable, append-only event log."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self._crash = CrashPoint(os.environ.get("EMITRA_CRASH_AFTER"))

    def append(
        self, kind: str, session_id: str, data: dict[str, Any], key: str | None = None
    ) -> Event | None:
        """Write one event durably. Returns None if an event with the same key already exists."""
        at = utc_now()
        body = json.dumps(data, ensure_ascii=False, sort_keys=True)
        try:
            cursor = self._db.execute(
                "INSERT INTO events(at, session_id, kind, key, data) VALUES (?, ?, ?, ?, ?)",
                (at, session_id, kind, key, body),
            )
        except sqlite3.IntegrityError:
            return None
        self._crash.after_append(kind)
        return Event(cursor.lastrowid or 0, at, session_id, kind, key, data)

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
            yield Event(seq, at, sid, kind, key, json.loads(data))

    def close(self) -> None:
        self._db.close()
