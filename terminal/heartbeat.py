"""Remote monitoring: the health report, its HTTP server (/health, /metrics) and its push to
central, whose reply may carry commands (terminal/control_room.py: out of service, in
service, reload config, reboot at idle, acknowledge an alarm) applied only while no citizen is
being served.

The report holds no personal data: no consumer numbers, names or bills — device states, money
totals, queue depths, ids of transactions at most.

The health document is built in terminal/health.py, rendered for Prometheus in
terminal/metrics.py and served by terminal/heartbeat_server.py; this module pushes it to central
and starts the whole (start_heartbeat). Their public names stay importable from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

from terminal.central import CentralError
from terminal.control_room import COMMANDS, ControlRoom  # noqa: F401 - re-exported
from terminal.core_view import CoreView
from terminal.health import (  # noqa: F401 - re-exported
    PAPER_STATES,
    PROCESS_STARTED,
    SCHEMA,
    _disk,
    _iso,
    _open_faults,
    _outbox,
    build_health,
    device_summary,
    paper_state,
    software_version,
)
from terminal.heartbeat_server import (  # noqa: F401 - re-exported
    REFUSAL,
    WEAK_TOKENS,
    HeartbeatServer,
    WeakTokenError,
    weak_token,
)
from terminal.liveness import request_exit
from terminal.logs import log_event, mask_text
from terminal.maintenance import maintenance_for
from terminal.metrics import HealthCollector, _gauge  # noqa: F401 - re-exported

log = logging.getLogger("heartbeat")


# -------------------------------------------------------------------- push to central


class HeartbeatPusher:
    """Posts build_health to central every push_interval_s and at once when the device summary
    changes; applies the commands of the reply only when no citizen is being served."""

    def __init__(
        self,
        core: CoreView,
        *,
        check_s: float = 0.5,
        min_gap_s: float = 1.0,
        exit_hook: Callable[[int, str], Any] | None = None,
    ) -> None:
        self.core = core
        self.interval: float = core.config["heartbeat"]["push_interval_s"]
        self.check_s = check_s
        self.min_gap_s = min_gap_s
        self.exit_hook = exit_hook or (lambda code, reason: request_exit(core, code, reason))
        # tests replace exit_hook after construction: the control room asks for it each time
        self.control = ControlRoom(core, lambda code, reason: self.exit_hook(code, reason))
        self.pushes = 0
        self.failures = 0
        self.last_push: float | None = None  # monotonic
        self.last_error: str | None = None
        self._summary: tuple | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    def push_soon(self) -> None:
        self._wake.set()

    def report(self) -> dict[str, Any]:
        health = build_health(self.core)
        health["commands"] = self.control.report()
        health["push"] = {"failures": self.failures, "last_error": self.last_error}
        return health

    async def push(self) -> bool:
        """One heartbeat to central; True when central answered."""
        self._summary = device_summary(self.core)
        health = self.report()
        self.last_push = time.monotonic()
        try:
            commands = await self.core.central.heartbeat(health)
        except CentralError as exc:
            self.failures += 1
            self.last_error = mask_text(str(exc))
            log_event(log, "heartbeat push failed", logging.WARNING, error=self.last_error)
            return False
        self.pushes += 1
        self.last_error = None
        reported = [c["collection_id"] for c in health["collections_to_report"]]
        if reported:
            maintenance_for(self.core).collections_reported(reported)
        self.control.receive(commands)
        self.control.apply_pending()
        return True

    # Central's commands (terminal/control_room.py), under the names tests and tools know.

    @property
    def pending(self) -> deque[str]:
        return self.control.pending

    @property
    def applied(self) -> deque[dict[str, Any]]:
        return self.control.applied

    @property
    def reboot_requested(self) -> bool:
        return self.control.reboot_requested

    def apply_pending(self) -> None:
        self.control.apply_pending()

    async def run(self) -> None:
        next_push = time.monotonic()
        while True:
            now = time.monotonic()
            changed = device_summary(self.core) != self._summary
            gap_ok = self.last_push is None or now - self.last_push >= self.min_gap_s
            if now >= next_push or ((changed or self._wake.is_set()) and gap_ok):
                self._wake.clear()
                try:
                    ok = await self.push()
                except Exception:
                    log.exception("heartbeat push crashed")
                    ok = False
                delay = self.interval if ok else min(self.interval, 15.0)
                next_push = time.monotonic() + delay
            try:
                self.apply_pending()
            except Exception:
                log.exception("applying central's commands failed")
            if self._wake.is_set():  # a push asked for within min_gap_s: wait out the gap
                await asyncio.sleep(self.check_s)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.check_s)

    def start(self) -> HeartbeatPusher:
        self._task = asyncio.create_task(self.run(), name="heartbeat-push")
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class HeartbeatService:
    """What start_heartbeat returns: the server, the pusher and maintenance's watcher."""

    def __init__(self, server: HeartbeatServer | None, pusher: HeartbeatPusher, maintenance):
        self.server = server
        self.pusher = pusher
        self.maintenance = maintenance
        self.stopped = False

    @property
    def url(self) -> str:
        return self.server.url if self.server else ""

    async def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        await self.pusher.stop()
        await self.maintenance.stop()
        if self.server is not None:
            await self.server.stop()


_services: weakref.WeakKeyDictionary[Any, HeartbeatService] = weakref.WeakKeyDictionary()


async def start_heartbeat(core: CoreView) -> HeartbeatService:
    """Start /health + /metrics (if [heartbeat] enabled), the push to central, and the
    maintenance watcher (cassette alarm, auto-leave, test notes) whose alarms the heartbeat
    reports. Once per core: a second call returns the running service."""
    running = _services.get(core)
    if running is not None and not running.stopped:
        return running
    maintenance = maintenance_for(core).start()
    server = None
    if core.config["heartbeat"]["enabled"]:
        if weak_token(core.config["heartbeat"]["token"]):
            # Not a warning: a guessable token would show the cash box to anyone.
            log_event(log, "heartbeat server not started", logging.ERROR, reason=REFUSAL)
            print(f"emitra-kiosk: {REFUSAL}", file=sys.stderr, flush=True)
        else:
            server = HeartbeatServer(core)
            await server.start()
    pusher = HeartbeatPusher(core).start()
    service = HeartbeatService(server, pusher, maintenance)
    _services[core] = service
    return service
