"""The other end of screens/drive.py: start the real screen as a subprocess (offscreen SDL, no
X server needed) and drive it with commands. Used by tests/test_ui*.py and bench/ui.py.
Imports no Kivy, so it runs inside pytest's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


class UIError(AssertionError):
    pass


class UIProcess:
    def __init__(
        self,
        url: str,
        width: int = 1280,
        height: int = 800,
        language: str = "hi",
        location: str = "",
        extra_args: list[str] | None = None,
    ) -> None:
        self.url = url
        self.args = [
            "--url",
            url,
            "--width",
            str(width),
            "--height",
            str(height),
            "--language",
            language,
            "--drive",
        ]
        if location:
            self.args += ["--location", location]
        self.args += extra_args or []
        self.proc: asyncio.subprocess.Process | None = None
        self.events: asyncio.Queue[dict] = asyncio.Queue()
        self.replies: asyncio.Queue[dict] = asyncio.Queue()
        self._reader: asyncio.Task | None = None
        self._lock = asyncio.Lock()
        self.launched_at = 0.0
        self.ready_after_s: float | None = None
        self.stderr_path: Path | None = None

    async def start(
        self, timeout: float = 30.0, log_dir: str | Path | None = None, ready: bool = True
    ) -> None:
        """Launch; with `ready`, return once the attract screen has been drawn."""
        env = dict(os.environ)
        env.setdefault("SDL_VIDEODRIVER", "offscreen")
        env["KIVY_NO_ARGS"] = "1"
        # The screen's own log goes to stderr (a file in log_dir); a pytest process that
        # imported Kivy has set these for itself, not for us.
        env.pop("KIVY_NO_CONSOLELOG", None)
        env.pop("KIVY_UNITTEST", None)
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
        stderr = asyncio.subprocess.DEVNULL
        if log_dir is not None:
            Path(log_dir).mkdir(parents=True, exist_ok=True)
            self.stderr_path = Path(log_dir) / "ui-stderr.log"
            stderr = self.stderr_path.open("wb")  # type: ignore[assignment]
        self.launched_at = time.perf_counter()
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "screens",
            *self.args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            cwd=str(REPO),
            env=env,
        )
        self._reader = asyncio.create_task(self._read())
        if ready:
            await self.event("ready", timeout)
            self.ready_after_s = time.perf_counter() - self.launched_at

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                return
            text = line.decode("utf-8", "replace").rstrip("\n")
            if not text.startswith("@@"):
                continue
            data = json.loads(text[2:])
            if "event" in data:
                await self.events.put(data)
            else:
                await self.replies.put(data)

    async def event(self, name: str, timeout: float = 10.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise UIError(f"the screen never reported {name!r} ({self._exit_note()})")
            try:
                data = await asyncio.wait_for(self.events.get(), left)
            except TimeoutError:
                continue
            if data.get("event") == name:
                return data

    def _exit_note(self) -> str:
        if self.proc is not None and self.proc.returncode is not None:
            return f"exited with {self.proc.returncode}; see {self.stderr_path}"
        return "still running"

    async def cmd(self, reply_timeout: float = 30.0, **command: Any) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdin is not None
        async with self._lock:
            self.proc.stdin.write((json.dumps(command) + "\n").encode())
            await self.proc.stdin.drain()
            try:
                return await asyncio.wait_for(self.replies.get(), reply_timeout)
            except TimeoutError:
                await self.dump_stacks()
                raise UIError(f"no reply to {command} ({self._exit_note()})") from None

    async def dump_stacks(self) -> None:
        """Ask a stuck screen where it is (faulthandler, into its stderr log)."""
        if self.proc is not None and self.proc.returncode is None and hasattr(signal, "SIGUSR1"):
            self.proc.send_signal(signal.SIGUSR1)
            await asyncio.sleep(0.5)

    # ------------------------------------------------------------------ conveniences

    async def tap(self, tid: str) -> dict[str, Any]:
        reply = await self.cmd(cmd="tap", tid=tid)
        if not reply.get("ok"):
            raise UIError(reply.get("error", reply))
        return reply

    async def wait(self, screen: str | None = None, timeout: float = 15.0, **more: Any) -> dict:
        reply = await self.cmd(
            reply_timeout=timeout + 30, cmd="wait", screen=screen, timeout=timeout, **more
        )
        if not reply.get("ok"):
            raise UIError(
                f"{reply.get('error')}; now on {reply.get('screen')}: {reply.get('texts')}"
            )
        return reply

    async def texts(self) -> dict[str, Any]:
        return await self.cmd(cmd="texts")

    async def screenshot(self, path: str | Path) -> Path:
        reply = await self.cmd(cmd="screenshot", path=str(path))
        if not reply.get("ok"):
            raise UIError(reply.get("error", reply))
        return Path(reply["path"])

    async def type_digits(self, digits: str) -> None:
        for digit in digits:
            await self.tap(f"key_{digit}")

    async def close(self) -> None:
        if self.proc is None:
            return
        if self.proc.returncode is None:
            with contextlib.suppress(Exception):
                await self.cmd(reply_timeout=5, cmd="quit")
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)

    async def __aenter__(self) -> UIProcess:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()
