"""Service mode: whether the kiosk is out of service, and why.

One object instead of a flag written from several modules. Each reason is set and cleared by
its owner, so one owner cannot put the kiosk back in service while another still needs it
out of service:

    control_room  the control room's out_of_service / in_service commands
                  (terminal/control_room.py)
    maintenance   an engineer is logged in (terminal/maintenance.py)
    device        no payment can be taken because of a device (no usable printer, or neither
                  the acceptor nor the card reader usable); set and cleared by the device board
                  (terminal/device_board.py) on every status change
    draining      an upgrade waits to stop the core between citizens: no new session, the one
                  in progress finishes (terminal/drain.py, POST/DELETE /drain); in memory only,
                  so a restarted core is back in service

The kiosk is out of service while any reason is set. Subscribers are told
(reason, now_set) each time a reason is set or cleared.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from terminal.logs import log_event

log = logging.getLogger("kiosk")

CONTROL_ROOM = "control_room"
MAINTENANCE = "maintenance"
DEVICE = "device"
DRAINING = "draining"
REASONS = (CONTROL_ROOM, MAINTENANCE, DEVICE, DRAINING)

ModeListener = Callable[[str, bool], None]


class ServiceMode:
    def __init__(self) -> None:
        self._reasons: set[str] = set()
        self._listeners: list[ModeListener] = []

    @property
    def out_of_service(self) -> bool:
        return bool(self._reasons)

    @property
    def commanded(self) -> bool:
        """Out of service because someone said so (control room, engineer, an upgrade's drain),
        not because of a device: closes every service, the QR check too."""
        return bool(self._reasons & {CONTROL_ROOM, MAINTENANCE, DRAINING})

    @property
    def reasons(self) -> tuple[str, ...]:
        """The reasons set now, in the order of REASONS."""
        return tuple(r for r in REASONS if r in self._reasons)

    def has(self, reason: str) -> bool:
        return reason in self._reasons

    def set(self, reason: str, out: bool = True) -> bool:
        """Set (out=True) or clear one reason. True when that changed something."""
        if reason not in REASONS:
            raise ValueError(f"unknown out-of-service reason {reason!r}")
        if out == (reason in self._reasons):
            return False
        if out:
            self._reasons.add(reason)
        else:
            self._reasons.discard(reason)
        log_event(log, "service mode", reason=reason, out_of_service=out,
                  reasons=",".join(self.reasons))
        for listener in list(self._listeners):
            try:
                listener(reason, out)
            except Exception:
                log.exception("service mode listener failed")
        return True

    def take_out(self, reason: str) -> bool:
        return self.set(reason, True)

    def put_back(self, reason: str) -> bool:
        return self.set(reason, False)

    def subscribe(self, listener: ModeListener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: ModeListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)
