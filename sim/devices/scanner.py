"""A serial 2D QR scanner on a pty: every scan is written as the payload plus the suffix.

`python -m sim scanner [--suffix cr|crlf|lf] [--paced]` prints the pty path alone on its first
line, then "scans" each line read from standard input (blank lines are skipped). Tests use
`ScannerSimulator` directly and can also write raw bytes (split writes, garbage, unplug).

Written from the scanner's side; it never imports drivers/.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import threading

from sim.devices.ptyport import PtyDevice

SUFFIX_WORDS = {"cr": "\r", "crlf": "\r\n", "lf": "\n"}


class ScannerSimulator:
    """`await start()`, `.path`, `scan(payload)`, `await stop()`."""

    def __init__(self, suffix: str = "\r", paced: bool = False, baudrate: int = 9600) -> None:
        self.suffix = SUFFIX_WORDS.get(suffix.lower(), suffix) if suffix.isalpha() else suffix
        self.paced = paced
        self.baudrate = baudrate
        self._pty: PtyDevice | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self.scanned = 0

    @property
    def path(self) -> str:
        if self._pty is None:
            raise RuntimeError("scanner simulator not started")
        return self._pty.path

    async def start(self) -> None:
        self._pty = PtyDevice(baudrate=self.baudrate, paced=self.paced)
        self._pty.start()

    def scan(self, payload: str | bytes) -> asyncio.Task[None]:
        """Send one scan (payload + suffix). Returns the write task; awaiting it is optional."""
        data = payload if isinstance(payload, bytes) else payload.encode("utf-8")
        self.scanned += 1
        return self.send_raw(data + self.suffix.encode("ascii"))

    def send_raw(self, data: bytes) -> asyncio.Task[None]:
        """Write bytes exactly as given (partial lines, noise...)."""
        if self._pty is None:
            raise RuntimeError("scanner simulator not started")
        task = asyncio.get_running_loop().create_task(self._pty.write(data))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return task

    async def drain(self) -> None:
        """Wait until every write so far has gone out."""
        if self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    def unplug(self) -> None:
        """Pull the cable: the pty closes and the host's port reports end of file."""
        if self._pty is not None:
            self._pty.close()
            self._pty = None

    async def stop(self) -> None:
        await self.drain()
        self.unplug()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sim scanner",
        description="serial QR scanner simulator: scans each line read from standard input",
    )
    parser.add_argument("--suffix", choices=sorted(SUFFIX_WORDS), default="cr")
    parser.add_argument("--paced", action="store_true", help="write at 9600 baud speed")
    args = parser.parse_args(argv)

    async def run() -> None:
        sim = ScannerSimulator(suffix=SUFFIX_WORDS[args.suffix], paced=args.paced)
        await sim.start()
        print(sim.path, flush=True)
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)

        def pump() -> None:  # a daemon thread: a blocked stdin read must not delay exit
            for line in sys.stdin:
                payload = line.rstrip("\r\n")
                if payload:
                    loop.call_soon_threadsafe(sim.scan, payload)
                    print(f"scanned {len(payload)} chars", file=sys.stderr, flush=True)

        threading.Thread(target=pump, name="stdin", daemon=True).start()
        try:
            await stop.wait()
        finally:
            await sim.stop()

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
