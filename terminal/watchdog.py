"""The watchdog: supervises every device, reconnects lost ones with bounded backoff, keeps the
kiosk's view of device status fresh (which decides the services on offer), and beats the
liveness heart so systemd knows supervision is really running.

It never touches a device that is merely busy, and never re-opens (resets) an acceptor whose
port is still there: a CCNET/eSSP driver resynchronises a silent link itself, and a reset could
return a note that is in escrow.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from drivers.base import LOST_WORDS, DeviceError, DeviceState, DeviceStatus
from terminal.device_board import DeviceBoard
from terminal.logs import log_event

log = logging.getLogger("watchdog")

# Detail words that mean "the link is gone": re-open the device (drivers/base.py vocabulary).
LOST = set(LOST_WORDS)
# A printer that stops answering status queries is re-opened too (its port may have changed).
PRINTER_LOST = LOST | {"no_reply"}


@dataclass
class _Retry:
    delay: float
    next_try: float = 0.0
    attempts: int = 0


class SupervisedKiosk(Protocol):
    """What the watchdog needs of terminal/kiosk.Kiosk."""

    board: DeviceBoard

    def changed(self) -> None: ...  # push a fresh snapshot

    async def acceptor_reconnected(self) -> None: ...


class Watchdog:
    def __init__(
        self,
        kiosk: SupervisedKiosk,
        devices: dict[str, object],
        *,
        poll_s: float = 1.0,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 30.0,
        resolve_port: Callable[[str], str] | None = None,
        port_specs: dict[str, str] | None = None,
        beat: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.kiosk = kiosk
        self.board = kiosk.board  # terminal/device_board.DeviceBoard: statuses, change events
        self.devices = devices
        self.poll_s = poll_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.resolve_port = resolve_port
        self.port_specs = port_specs or {}
        self.beat = beat
        self.clock = clock
        self.retries: dict[str, _Retry] = {}
        self.reconnects: dict[str, int] = dict.fromkeys(devices, 0)
        self.last_pass: float | None = None
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="watchdog")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                await self.supervise_once()
            except Exception:
                log.exception("watchdog pass failed")
            await asyncio.sleep(self.poll_s)

    async def supervise_once(self) -> None:
        """One pass over every device; then tell the screen and the liveness heart."""
        changed = False
        for name, device in self.devices.items():
            status = await self._current_status(name, device)
            if self._is_lost(name, status):
                status = await self._maybe_reconnect(name, device, status)
            changed = self.board.set(name, status) or changed
        self.last_pass = self.clock()
        if self.beat is not None:
            self.beat()
        if changed:
            self.kiosk.changed()

    async def _current_status(self, name: str, device) -> DeviceStatus:
        if name == "printer" and device.status().state != DeviceState.OFFLINE:
            try:
                return await device.refresh_status()
            except DeviceError as exc:
                return DeviceStatus(DeviceState.OFFLINE, ("port_lost",), str(exc))
        return device.status()

    def _is_lost(self, name: str, status: DeviceStatus) -> bool:
        if status.state != DeviceState.OFFLINE:
            return False
        words = PRINTER_LOST if name == "printer" else LOST
        return bool(words & set(status.detail))

    async def _maybe_reconnect(self, name: str, device, status: DeviceStatus) -> DeviceStatus:
        retry = self.retries.setdefault(name, _Retry(self.backoff_initial_s))
        now = self.clock()
        if now < retry.next_try:
            return status
        retry.attempts += 1
        try:
            await device.close()
            spec = self.port_specs.get(name)
            if spec and self.resolve_port is not None and hasattr(device, "port_path"):
                device.port_path = self.resolve_port(spec)
            await device.open()
        except (DeviceError, OSError) as exc:
            retry.next_try = now + retry.delay
            log_event(log, "reconnect failed", logging.WARNING, device=name,
                      attempt=retry.attempts, retry_in_s=retry.delay, error=str(exc))
            retry.delay = min(self.backoff_max_s, retry.delay * 2)
            return DeviceStatus(DeviceState.OFFLINE, ("open_failed",), str(exc))
        self.retries.pop(name, None)
        self.reconnects[name] = self.reconnects.get(name, 0) + 1
        log_event(log, "device reconnected", device=name, attempts=retry.attempts)
        if name == "acceptor":
            await self.kiosk.acceptor_reconnected()
        return await self._current_status(name, device)
