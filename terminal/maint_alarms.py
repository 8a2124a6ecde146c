"""Maintenance alarms: raised by the core (cassette removed without a collection, a cash count
that does not match, a bill central refused for good), listed in the heartbeat and on the
engineer's screen, cleared only by a person: the engineer on the screen (`acknowledge_alarm`)
or the control room (heartbeat command `acknowledge_alarm`).

Raising and clearing are journaled (kind "maintenance", actions alarm_raised / alarm_cleared),
so an alarm stays over a restart until someone has looked into it. The PIN lockout is the
engineer-auth's own alarm: it ends by itself and cannot be acknowledged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from terminal.engineer_auth import LOCKOUT_ALARM, MaintenanceError
from terminal.journal import Event, utc_now
from terminal.logs import log_event

log = logging.getLogger("maintenance")

CASSETTE_ALARM = "cassette_removed_without_collection"
CONTROL_ROOM = "control_room"  # `by` of an alarm cleared from central
MAX_CODE = 120
MAX_NOTE = 200

Record = Callable[..., Event | None]  # Maintenance.record(action, engineer_id, **data)


class Alarms:
    """The open alarms (code -> {code, since, message}), folded from the journal at start."""

    def __init__(self, record: Record, lockout: Callable[[], dict[str, Any] | None]) -> None:
        self._record = record
        self._lockout = lockout
        self._open: dict[str, dict[str, Any]] = {}

    def restore(self, ev: Event) -> None:
        """One maintenance event of the journal, in order (at start)."""
        action = ev.data.get("action")
        if action == "alarm_raised":
            self._open[ev.data["code"]] = {
                "code": ev.data["code"],
                "since": ev.at,
                "message": ev.data.get("message", ""),
            }
        elif action == "alarm_cleared":
            self._open.pop(ev.data["code"], None)

    def raise_alarm(self, code: str, message: str) -> None:
        if code in self._open:
            return
        ev = self._record("alarm_raised", None, code=code, message=message)
        self._open[code] = {"code": code, "since": ev.at if ev else utc_now(), "message": message}
        log_event(log, "alarm", logging.ERROR, code=code, message=message)

    def acknowledge(
        self, code: str, engineer_id: str, note: str = "", by: str = "engineer"
    ) -> None:
        """Someone has looked into the alarm: journaled with who (engineer id, or
        engineer_id "-" and by "control_room") and their note."""
        if not isinstance(code, str) or not code or len(code) > MAX_CODE:
            raise MaintenanceError("bad_request", "an alarm code is a short string")
        if code == LOCKOUT_ALARM:
            raise MaintenanceError("cannot_acknowledge", "a PIN lockout ends by itself")
        if code not in self._open:
            raise MaintenanceError("no_such_alarm", code[:MAX_CODE])
        note = note[:MAX_NOTE] if isinstance(note, str) else ""
        extra = {} if by == "engineer" else {"by": by}
        self._record("alarm_cleared", engineer_id, code=code, note=note, **extra)
        self._open.pop(code, None)
        log_event(log, "alarm acknowledged", code=code, by=by, engineer=engineer_id)

    def open(self) -> list[dict[str, Any]]:
        out = list(self._open.values())
        lockout = self._lockout()
        if lockout:
            out.append(lockout)
        return out

    def __contains__(self, code: object) -> bool:
        return code in self._open
