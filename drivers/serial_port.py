"""A small asyncio adapter around a pyserial port (real UART, USB-serial or a pty).

Protocol objects never do I/O; this class is the only place a driver touches the port. Bytes are
read by the event loop's reader callback (no thread), so a pty and a real tty behave the same.
"""

from __future__ import annotations

import asyncio
import os

import serial

from drivers.base import DeviceError

PARITIES = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}


class SerialPort:
    """An open serial line with `await read(...)` and `await write(...)`."""

    def __init__(
        self,
        path: str,
        baudrate: int = 9600,
        parity: str = "N",
        stopbits: int = 1,
        name: str = "serial",
    ) -> None:
        self.path = path
        self.baudrate = baudrate
        self.parity = parity
        self.stopbits = stopbits
        self.name = name
        self._serial: serial.Serial | None = None
        self._buffer = bytearray()
        self._data_ready = asyncio.Event()
        self._lost: str | None = None

    @property
    def is_open(self) -> bool:
        return self._serial is not None and self._lost is None

    async def open(self) -> None:
        try:
            self._serial = serial.Serial(
                self.path,
                baudrate=self.baudrate,
                parity=PARITIES[self.parity],
                stopbits=self.stopbits,
                timeout=0,
                write_timeout=2,
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise DeviceError(f"{self.name}: cannot open {self.path}: {exc}") from exc
        self._serial.reset_input_buffer()
        self._lost = None
        asyncio.get_running_loop().add_reader(self._serial.fileno(), self._on_readable)

    def _on_readable(self) -> None:
        assert self._serial is not None
        try:
            chunk = os.read(self._serial.fileno(), 4096)
        except OSError as exc:
            chunk = b""
            self._lose(f"read failed: {exc}")
        else:
            if not chunk:
                self._lose("end of file (device unplugged?)")
        self._buffer.extend(chunk)
        self._data_ready.set()

    def _lose(self, why: str) -> None:
        self._lost = why
        if self._serial is not None:
            try:
                asyncio.get_running_loop().remove_reader(self._serial.fileno())
            except (ValueError, OSError):
                pass

    def _check(self) -> None:
        if self._serial is None:
            raise DeviceError(f"{self.name}: port {self.path} is not open")
        if self._lost is not None:
            raise DeviceError(f"{self.name}: lost {self.path}: {self._lost}")

    async def write(self, data: bytes) -> None:
        self._check()
        assert self._serial is not None
        try:
            await asyncio.to_thread(self._serial.write, data)
        except (serial.SerialException, OSError) as exc:
            self._lose(f"write failed: {exc}")
            raise DeviceError(f"{self.name}: write to {self.path} failed: {exc}") from exc

    async def read(self, timeout: float, max_bytes: int = 4096) -> bytes:
        """Bytes already received, or wait up to `timeout` s for some. b"" on timeout."""
        if not self._buffer:
            self._check()
            self._data_ready.clear()
            try:  # asyncio.timeout: wait_for on 3.11 can lose a cancellation
                async with asyncio.timeout(timeout):
                    await self._data_ready.wait()
            except TimeoutError:
                return b""
            if not self._buffer:
                self._check()
        data = bytes(self._buffer[:max_bytes])
        del self._buffer[:max_bytes]
        return data

    def discard_input(self) -> None:
        """Drop anything received and not yet read (before a resync)."""
        self._buffer.clear()

    async def close(self) -> None:
        if self._serial is None:
            return
        try:
            asyncio.get_running_loop().remove_reader(self._serial.fileno())
        except (ValueError, OSError):
            pass
        try:
            self._serial.close()
        except (serial.SerialException, OSError):
            pass
        self._serial = None
