"""The device side of a pseudo-terminal: a simulator owns the master, a driver opens the slave path.

The simulator also keeps the slave open itself, so a driver closing and reopening the port (a
reconnect) never ends the pty. Ptys ignore the baud rate; `pace()` lets a simulator write at the
speed of a real serial line when timing matters.
"""

from __future__ import annotations

import asyncio
import os
import tty


class PtyDevice:
    """Raw pty pair. `path` is what a driver opens; read()/write() are the device's side."""

    def __init__(self, baudrate: int = 9600, bits_per_byte: int = 10, paced: bool = False) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        tty.setraw(self.master)
        self.path = os.ttyname(self._slave)
        self.seconds_per_byte = bits_per_byte / baudrate
        self.paced = paced
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.unplugged = False

    def start(self) -> None:
        """Begin delivering received bytes to read(); call from the running loop."""
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.master, self._on_readable)

    def _on_readable(self) -> None:
        try:
            data = os.read(self.master, 4096)
        except OSError:
            return
        if data and not self.unplugged:
            self._queue.put_nowait(data)

    async def read(self, timeout: float | None = None) -> bytes:
        """Next chunk the host wrote; b"" on timeout."""
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
        # arrives together with data, and a simulator being stopped would then hang.
        try:
            async with asyncio.timeout(timeout):
                return await self._queue.get()
        except TimeoutError:
            return b""

    async def write(self, data: bytes) -> None:
        if self.unplugged:
            return
        if not self.paced:
            os.write(self.master, data)
            return
        for i in range(len(data)):
            os.write(self.master, data[i : i + 1])
            await asyncio.sleep(self.seconds_per_byte)

    def close(self) -> None:
        if self._loop is not None:
            try:
                self._loop.remove_reader(self.master)
            except (ValueError, OSError):
                pass
        for fd in (self.master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass
