"""The control room's commands, from the reply to a heartbeat push (terminal/heartbeat.py):
out of service, in service, reload config, reboot at idle, acknowledge an alarm (with its code
and a note). Checked on arrival, applied only while no citizen is being served and no engineer
is in; each result is kept in `applied` (reported in the next heartbeat) and logged. An alarm
acknowledgement is journaled by maintenance (alarm_cleared, by control_room, with the note).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from terminal.journal import utc_now
from terminal.liveness import EXIT_REBOOT_AT_IDLE
from terminal.logs import log_event
from terminal.maint_ports import MaintenanceCore
from terminal.maintenance import MaintenanceError, maintenance_for
from terminal.service_mode import CONTROL_ROOM

log = logging.getLogger("heartbeat")

COMMANDS = ("out_of_service", "in_service", "reload_config", "reboot_at_idle", "acknowledge_alarm")
MAX_ALARM_CODE, MAX_NOTE = 120, 200


class ControlRoom:
    def __init__(self, core: MaintenanceCore, exit_hook: Callable[[int, str], Any]) -> None:
        self.core = core
        self.exit_hook = exit_hook
        self.pending: deque[str] = deque()
        self.acknowledgements: deque[tuple[str, str]] = deque()  # (code, note), in order
        self.applied: deque[dict[str, Any]] = deque(maxlen=20)
        self.reboot_requested = False

    def report(self) -> dict[str, Any]:
        return {
            "pending": list(self.pending),
            "reboot_requested": self.reboot_requested,
            "applied": list(self.applied),
        }

    def receive(self, commands: object) -> None:
        """The `commands` of central's reply: [{"command": name, ...}, ...]."""
        for item in commands if isinstance(commands, list) else []:
            name = item.get("command") if isinstance(item, dict) else None
            if name not in COMMANDS:
                log_event(log, "unknown command from central", logging.WARNING, command=str(item))
                continue
            log_event(log, "command from central", command=name)
            if name == "reboot_at_idle":
                self.reboot_requested = True
            elif name == "acknowledge_alarm":
                self.queue_acknowledgement(item)
            else:
                self.pending.append(name)

    def idle(self) -> bool:
        return self.core.kiosk.session is None and not maintenance_for(self.core).active

    def apply_pending(self) -> None:
        """Apply queued commands now if nobody is being served; else leave them queued."""
        if not self.idle():
            return
        kiosk = self.core.kiosk
        while self.pending:
            name = self.pending.popleft()
            result = "ok"
            done: dict[str, Any] = {}
            if name == "out_of_service":
                kiosk.service_mode.take_out(CONTROL_ROOM)
            elif name == "in_service":
                kiosk.service_mode.put_back(CONTROL_ROOM)
            elif name == "reload_config":
                result = self.reload_config()
            elif name == "acknowledge_alarm":
                code, note = self.acknowledgements.popleft()
                result = self.acknowledge_alarm(code, note)
                done["code"] = code
            self.applied.append({"command": name, "at": utc_now(), "result": result, **done})
            self._journal(name, result, **done)
            log_event(log, "command applied", command=name, result=result, **done)
            kiosk.changed()
        if self.reboot_requested:
            self.reboot_requested = False
            self.applied.append({"command": "reboot_at_idle", "at": utc_now(), "result": "exit"})
            self._journal("reboot_at_idle", "exit")
            self.exit_hook(EXIT_REBOOT_AT_IDLE, "reboot_at_idle from central")

    def _journal(self, command: str, result: str, **data: Any) -> None:
        """Who changed the machine from afar, and how it went: in the journal, not only the
        log (a control-room command can take the kiosk out of service or restart it)."""
        try:
            self.core.journal.append(
                "maintenance", "maintenance",
                {"action": "control_room_command", "engineer_id": "control_room",
                 "command": command, "result": str(result)[:200], **data},
            )
        except Exception as exc:  # a full disk must not stop the command being applied
            log_event(log, "control-room command not journaled", logging.ERROR, error=str(exc))

    def queue_acknowledgement(self, item: dict[str, Any]) -> None:
        """{"command": "acknowledge_alarm", "code": ..., "note": ...}: checked now, applied
        between citizens like the other commands."""
        code, note = item.get("code"), item.get("note", "")
        if not isinstance(code, str) or not 0 < len(code) <= MAX_ALARM_CODE or not isinstance(
            note, str
        ):
            log_event(log, "acknowledge_alarm from central refused", logging.WARNING,
                      reason="code must be a short string, note a string")
            self.applied.append({"command": "acknowledge_alarm", "at": utc_now(),
                                 "result": "refused: bad_request"})
            return
        self.acknowledgements.append((code, note[:MAX_NOTE]))
        self.pending.append("acknowledge_alarm")

    def acknowledge_alarm(self, code: str, note: str) -> str:
        """The control room has looked into an alarm: cleared and journaled by maintenance
        (alarm_cleared, by control_room, with the note)."""
        try:
            maintenance_for(self.core).acknowledge_alarm_from_control_room(code, note)
        except MaintenanceError as exc:
            return f"refused: {exc.key}"
        return "ok"

    def reload_config(self) -> str:
        """Re-validate the configuration files; the result is logged and reported. Settings
        take effect at the next start (the core re-reads them then)."""
        from terminal.config import ConfigError, load_config

        files = list(getattr(self.core, "config_files", ()) or ())
        try:
            load_config(*files)
        except ConfigError as exc:
            log_event(log, "config reload: invalid", logging.ERROR, error=str(exc))
            return f"invalid: {exc}"
        log_event(log, "config reload: valid", files=files)
        return "valid"
