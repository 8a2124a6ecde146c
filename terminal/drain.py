"""Drain before an upgrade: the core stops taking new citizens, lets the one being served
finish, and says on /health when it is idle, so the package's prerm (debian/emitra-kiosk-drain)
can stop it between citizens without a race.

Polling /health for "no session" alone leaves a gap: a citizen may start between the last idle
answer and the stop. Here the 'draining' out-of-service reason (terminal/service_mode.py) closes
every service first, so once /health says idle with the drain in effect, no session can begin.
A drain asked for while a citizen is being served is put in effect the moment that session ends
(from the kiosk's change events, on the event loop, before any next intent runs); the citizen
at BILL or PAYING is never refused half-way.

Only in memory: a core that is restarted (an upgrade that went ahead, or failed and started the
old one again) is back in service. DELETE /drain puts it back without a restart.
"""

from __future__ import annotations

import logging
import time
import weakref
from datetime import UTC, datetime
from typing import Any

from terminal.core_view import CoreView
from terminal.logs import log_event
from terminal.maintenance import maintenance_for
from terminal.service_mode import DRAINING

log = logging.getLogger("kiosk")


class Drain:
    """The drain of one core: asked for (requested_at) and in effect (the service reason)."""

    def __init__(self, core: CoreView) -> None:
        self.core = core
        self.requested_at: float | None = None
        core.kiosk.add_listener(self._changed)

    @property
    def in_effect(self) -> bool:
        return self.core.kiosk.service_mode.has(DRAINING)

    def request(self) -> None:
        """Stop taking new citizens: now if nobody is being served, else when they are done."""
        if self.requested_at is None:
            self.requested_at = time.time()
            log_event(log, "drain requested", session_in_progress=self._serving())
        self.apply()

    def cancel(self) -> None:
        """Back in service (an upgrade that was aborted, an operator who changed their mind)."""
        was = self.requested_at is not None
        self.requested_at = None
        changed = self.core.kiosk.service_mode.put_back(DRAINING)
        if was or changed:
            log_event(log, "drain cancelled")
            self.core.kiosk.changed()  # the screen leaves "out of service" at once

    def apply(self) -> None:
        """Put a requested drain in effect if no citizen is being served now."""
        if self.requested_at is None or self.in_effect or self._serving():
            return
        self.core.kiosk.service_mode.take_out(DRAINING)
        self.core.kiosk.changed()  # the screen shows "out of service" at once

    def _serving(self) -> bool:
        return bool(self.core.kiosk.live.in_progress())

    def _changed(self, _snapshot: dict) -> None:
        if self.requested_at is not None and not self.in_effect:
            self.apply()


_drains: weakref.WeakKeyDictionary[Any, Drain] = weakref.WeakKeyDictionary()


def drain_for(core: CoreView) -> Drain:
    """The core's one Drain (made on first use)."""
    drain = _drains.get(core)
    if drain is None:
        drain = _drains[core] = Drain(core)
    return drain


def idle(core: CoreView, outbox_depth: int) -> bool:
    """Nobody to cut off by a stop: no citizen session (the receipt screen included), no
    engineer logged in, nothing waiting to be posted to central."""
    return (
        core.kiosk.session is None
        and not maintenance_for(core).active
        and outbox_depth == 0
    )


def drain_view(core: CoreView) -> dict[str, Any]:
    """The drain as /health shows it (read only: never starts one)."""
    drain = _drains.get(core)
    requested = drain.requested_at if drain is not None else None
    since = (
        datetime.fromtimestamp(requested, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if requested is not None else None
    )
    return {
        "requested": requested is not None,
        "requested_at": since,
        "in_effect": core.kiosk.service_mode.has(DRAINING),
    }
