"""What every serial note acceptor shares, whatever its protocol (CCNET, eSSP).

One serial port; one background task that owns the wire and polls; an event queue that outlives
close()/open() (a reconnect by the watchdog must not lose what the core has not read yet); the
device status, changed only through `_set_status` so every change is also an event. A protocol
facade subclasses `PollingAcceptor` and fills in four steps: make the port, set the device up at
open, one poll round (returning how long to wait before the next), and leave the device
disabled at close.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from drivers.base import (
    OFFLINE,
    AcceptorEvent,
    BanknoteAcceptor,
    DeviceError,
    DeviceState,
    DeviceStatus,
    StatusChanged,
)
from drivers.serial_port import SerialPort

log = logging.getLogger("drivers.acceptor")

STOP_WAIT_S = 5.0  # close(): how long the poll round in progress may take to finish
NOT_OPENED = OFFLINE  # drivers.base: the status before the first open
CLOSED = DeviceStatus(DeviceState.OFFLINE, ("closed",), "closed")


class PollingAcceptor(BanknoteAcceptor):
    """A note acceptor polled over a serial port by one background task."""

    protocol_name = "acceptor"

    def __init__(self, port: str, *, poll_interval: float) -> None:
        self.port_path = port
        self.poll_interval = poll_interval
        self._port: SerialPort | None = None
        self._events: asyncio.Queue[AcceptorEvent] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._status = NOT_OPENED
        self._identity: dict = {}
        self._closing = False

    # ------------------------------------------------------------ the steps a protocol fills in

    @abc.abstractmethod
    def _make_port(self) -> SerialPort:
        """The port with this protocol's line settings (not yet open)."""

    @abc.abstractmethod
    async def _initialise_at_open(self) -> None:
        """Set the device up on a freshly opened port; raise DeviceError if it cannot be."""

    @abc.abstractmethod
    async def _poll_round(self) -> float:
        """One round on the wire; returns the seconds to wait (or until woken) before the next.
        Raises DeviceError when the port itself is gone."""

    async def _leave_disabled(self) -> None:
        """Best effort at close: the device accepts nothing while nobody polls it."""

    def _reset_for_open(self) -> None:
        """Forget the link state of a previous open (sequence flags, notes in flight)."""

    def _after_open(self) -> None:
        """Called once the poll task runs (e.g. to log what was found)."""

    def _after_polling(self) -> None:
        """Called when the poll task ends for any reason (e.g. to release waiting callers)."""

    # ------------------------------------------------------------ contract

    async def open(self) -> None:
        if self._task is not None and not self._task.done():
            return
        self._closing = False
        await self._release_port()  # a port lost earlier
        self._reset_for_open()
        port = self._make_port()
        await port.open()
        self._port = port
        try:
            await self._initialise_at_open()
        except BaseException:
            await self._release_port()
            raise
        self._task = asyncio.create_task(
            self._poll_forever(), name=f"{self.protocol_name}-poll {self.port_path}"
        )
        self._after_open()

    async def close(self) -> None:
        self._closing = True
        task, self._task = self._task, None
        clean = await self._stop(task)
        if clean and self._port is not None and self._port.is_open:
            with contextlib.suppress(Exception):
                await self._leave_disabled()
        await self._release_port()
        self._after_polling()
        if self._status != NOT_OPENED:
            self._set_status(CLOSED)

    def status(self) -> DeviceStatus:
        return self._status

    def identity(self) -> dict:
        return dict(self._identity)

    async def events(self) -> AsyncIterator[AcceptorEvent]:
        """Events oldest first. The stream outlives close()/open(), so it never ends by
        itself; cancel the consuming task to stop it."""
        while True:
            yield await self._events.get()

    def drain_events(self) -> list[AcceptorEvent]:
        out: list[AcceptorEvent] = []
        while not self._events.empty():
            out.append(self._events.get_nowait())
        return out

    # ------------------------------------------------------------ the poll task

    def _running(self) -> bool:
        return self._task is not None and not self._task.done() and not self._closing

    async def _poll_forever(self) -> None:
        try:
            while not self._closing:
                self._wake.clear()
                wait = await self._poll_round()
                if self._closing:
                    break
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._wake.wait()
        except asyncio.CancelledError:
            raise
        except DeviceError as exc:  # the port itself is gone: the watchdog reopens
            log.warning("%s port lost port=%s error=%s", self.protocol_name, self.port_path, exc)
            self._set_status(DeviceStatus(DeviceState.OFFLINE, ("port_lost",), str(exc)))
            await self._release_port()
        except Exception as exc:  # a bug must not leave a silent zombie
            log.exception("%s poll task failed", self.protocol_name)
            self._set_status(DeviceStatus(DeviceState.OFFLINE, ("driver_error",), repr(exc)))
            await self._release_port()
        finally:
            self._after_polling()

    async def _stop(self, task: asyncio.Task[None] | None) -> bool:
        """Let the round in progress finish, so the line is left in a known state (a cancelled
        exchange leaves the device's sequence flag or reply unknown); cancel it after
        STOP_WAIT_S. True when it finished by itself."""
        if task is None:
            return True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), STOP_WAIT_S)
            return True
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            return False
        except Exception:  # the task's own failure was logged by it
            return True

    # ------------------------------------------------------------ events and status

    def _emit(self, event: AcceptorEvent) -> None:
        if isinstance(event, StatusChanged):
            self._status = event.status
        self._events.put_nowait(event)

    def _set_status(self, status: DeviceStatus) -> None:
        if status != self._status:
            log.info("%s status state=%s detail=%s", self.protocol_name, status.state.value,
                     ",".join(status.detail))
            self._emit(StatusChanged(status))

    async def _release_port(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            await port.close()


__all__ = ["PollingAcceptor"]
