"""Serial / USB-CDC 2D barcode scanner: each scan arrives as one line of text ending in a suffix.

Two layers, as for the other devices: `LineFramer` turns received bytes into payloads or counted
errors and never does I/O (hypothesis can feed it anything); `SerialScanner` owns the port, runs a
reader task and implements the device contract (open / close / status / events).

Scanners are configured at the factory to append CR, CRLF or LF; `suffix` says which. The framer
also strips a stray CR/LF left at either end of a payload, so a scanner set to CRLF still works
when the kiosk is configured for CR.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from drivers.base import DeviceError, DeviceState, DeviceStatus, StatusChanged
from drivers.serial_port import SerialPort

log = logging.getLogger("drivers.scanner")

MAX_LINE = 4096
SUFFIXES = {"\r": b"\r", "\r\n": b"\r\n", "\n": b"\n", "cr": b"\r", "crlf": b"\r\n", "lf": b"\n"}
# Control characters that never belong in a QR citizens bring (TAB and GS, the GS1 separator,
# may). A line with any of them is line noise, not a scan.
_BAD_CONTROLS = frozenset(range(0x20)) - {0x09, 0x1D} | {0x7F}


@dataclass(frozen=True)
class Scanned:
    """One decoded code. source: "scanner" (serial 2D scanner) or "camera" (webcam decode).

    The payload is left out of repr(): it may be an Aadhaar QR, and events end up in logs.
    """

    payload: str = field(repr=False)
    source: str = "scanner"


@dataclass(frozen=True)
class LineError:
    """A line that was dropped. reason: "overlong", "invalid_utf8" or "garbage"."""

    reason: str
    length: int


def suffix_bytes(suffix: str | bytes) -> bytes:
    """The configured suffix as bytes: "\\r", "\\r\\n", "\\n" or the words cr / crlf / lf."""
    if isinstance(suffix, bytes):
        raw = suffix
    else:
        raw = SUFFIXES.get(suffix.lower() if suffix.isalpha() else suffix, suffix.encode())
    if not raw:
        raise ValueError("scanner suffix must not be empty")
    return raw


class EventStream:
    """An async iterator over a driver's event queue that never ends.

    Unlike an async generator it survives a cancelled `anext()` (asyncio.wait_for timing out
    while waiting for the next event), so a consumer may poll it with a timeout.
    """

    def __init__(self, queue: asyncio.Queue) -> None:
        self._queue = queue

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self):
        return await self._queue.get()


class LineFramer:
    """Bytes in, `Scanned` / `LineError` out. Lines longer than max_line are dropped whole."""

    def __init__(self, suffix: str | bytes = "\r", max_line: int = MAX_LINE) -> None:
        self.suffix = suffix_bytes(suffix)
        self.max_line = max_line
        self._buf = bytearray()
        self._skipping = 0  # > 0: inside an overlong line, bytes dropped so far

    def feed(self, data: bytes) -> list[Scanned | LineError]:
        out: list[Scanned | LineError] = []
        self._buf.extend(data)
        while True:
            end = self._buf.find(self.suffix)
            if end < 0:
                break
            line = bytes(self._buf[:end])
            del self._buf[: end + len(self.suffix)]
            if self._skipping:
                out.append(LineError("overlong", self._skipping + len(line)))
                self._skipping = 0
                continue
            event = self._line(line)
            if event is not None:
                out.append(event)
        if len(self._buf) > self.max_line + len(self.suffix):
            # Keep the last bytes: they may be the start of the suffix.
            keep = len(self.suffix) - 1
            self._skipping += len(self._buf) - keep
            del self._buf[: len(self._buf) - keep]
        return out

    def _line(self, line: bytes) -> Scanned | LineError | None:
        line = line.strip(b"\r\n")
        if not line:
            return None
        if len(line) > self.max_line:
            return LineError("overlong", len(line))
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            return LineError("invalid_utf8", len(line))
        if any(ord(c) in _BAD_CONTROLS for c in text):
            return LineError("garbage", len(line))
        return Scanned(text, "scanner")

    def reset(self) -> None:
        self._buf.clear()
        self._skipping = 0


class SerialScanner:
    """A 2D scanner on a serial line. `events()` yields Scanned and StatusChanged.

    The watchdog reconnects by calling `open()` again after the port was lost; the event stream
    lives across reconnects. Errors in the data never raise: they are counted in `errors`.
    """

    def __init__(
        self,
        path: str,
        *,
        baudrate: int = 9600,
        suffix: str | bytes = "\r",
        max_line: int = MAX_LINE,
        name: str = "QR scanner",
    ) -> None:
        self.path = path
        self.baudrate = baudrate
        self.name = name
        self._framer = LineFramer(suffix, max_line)
        self._port: SerialPort | None = None
        self._task: asyncio.Task[None] | None = None
        self._queue: asyncio.Queue[Scanned | StatusChanged] = asyncio.Queue()
        self._status = DeviceStatus(DeviceState.OFFLINE, ("not_opened",))
        self.errors = {"overlong": 0, "invalid_utf8": 0, "garbage": 0}
        self.scans = 0
        self.last_scan_at: float | None = None

    # ------------------------------------------------------------ contract

    async def open(self) -> None:
        """Open (or reopen after a loss) the port and start reading. Raises DeviceError."""
        if self._task is not None and not self._task.done():
            return
        await self._release()
        self._framer.reset()
        port = SerialPort(self.path, self.baudrate, "N", 1, name=self.name)
        try:
            await port.open()
        except DeviceError as exc:
            self._set_status(DeviceStatus(DeviceState.OFFLINE, ("open_failed",), str(exc)))
            raise
        self._port = port
        self._task = asyncio.create_task(self._run(port), name=f"scanner {self.path}")
        self._set_status(DeviceStatus(DeviceState.ONLINE))
        log.info("scanner open port=%s suffix=%r", self.path, self._framer.suffix)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        had_port = self._port is not None
        await self._release()
        if had_port:
            self._set_status(DeviceStatus(DeviceState.OFFLINE, ("closed",), "closed"))

    def status(self) -> DeviceStatus:
        return self._status

    def events(self) -> AsyncIterator[Scanned | StatusChanged]:
        """The event stream (one consumer); it lives across close() / open()."""
        return EventStream(self._queue)

    def counters(self) -> dict:
        """For /health and maintenance: scans, dropped lines by reason."""
        return {"scans": self.scans, **self.errors}

    # ------------------------------------------------------------ internals

    async def _release(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(Exception):
                await port.close()

    def _set_status(self, status: DeviceStatus) -> None:
        if status != self._status:
            self._status = status
            self._queue.put_nowait(StatusChanged(status))

    async def _run(self, port: SerialPort) -> None:
        try:
            while True:
                data = await port.read(1.0)
                if data:
                    self._handle(data)
        except DeviceError as exc:
            log.warning("scanner lost port=%s: %s", self.path, exc)
            self._set_status(DeviceStatus(DeviceState.OFFLINE, ("port_lost",), str(exc)))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # never let a bug in framing kill the kiosk silently
            log.exception("scanner reader failed port=%s", self.path)
            self._set_status(DeviceStatus(DeviceState.HWERROR, ("reader_failed",), str(exc)))

    def _handle(self, data: bytes) -> None:
        for event in self._framer.feed(data):
            if isinstance(event, LineError):
                self.errors[event.reason] = self.errors.get(event.reason, 0) + 1
                log.warning("scanner dropped a line: %s (%d bytes)", event.reason, event.length)
            else:
                self.scans += 1
                self.last_scan_at = time.monotonic()
                # Never log the payload itself: it may be an Aadhaar QR.
                log.info("scanner scan length=%d", len(event.payload))
                self._queue.put_nowait(event)
