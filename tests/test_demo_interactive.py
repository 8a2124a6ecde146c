"""`make run` with a display: the interactive demo under a real X server (Xvfb) connects its screen
to the core (which listens on a port the kernel chose) and a citizen taps through a payment.

The demo is started as a newcomer starts it (`python -m sim demo`, DISPLAY set), with its hidden
`--ui-drive` switch: JSON lines typed at the demo's prompt go to the screen's test driver
(screens/drive.py), whose replies come back on the demo's stdout; the notes go in through the
demo's own prompt (`500`), as a person at the keyboard would put them in.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from screens.drive_client import REPO, UIProcess

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("kivy") is None, reason="kivy is not installed"),
    pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed"),
]


@pytest.fixture
def xvfb():
    """A private X display; its number comes back on the pipe given as -displayfd."""
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    if not number:
        proc.kill()
        pytest.skip("Xvfb did not start")
    try:
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(10)


class DemoUI(UIProcess):
    """UIProcess whose process is the whole interactive demo, not the bare screen."""

    def __init__(self, display: str, workdir: Path) -> None:
        super().__init__("demo")
        self.display, self.workdir = display, workdir

    async def start(self, timeout: float = 60.0, log_dir=None, ready: bool = True) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("SDL_VIDEODRIVER", "KIVY_UNITTEST",
                                                                 "KIVY_NO_CONSOLELOG")}
        env["DISPLAY"] = self.display
        self.stderr_path = self.workdir / "demo.stderr.log"
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "sim", "demo", "--workdir", str(self.workdir), "--ui-drive",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=self.stderr_path.open("wb"), cwd=str(REPO), env=env,
        )
        self.lines: list[str] = []
        self._reader = asyncio.create_task(self._read())
        await self.event("ready", timeout)

    async def prompt(self, line: str) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write((line + "\n").encode())
        await self.proc.stdin.drain()


async def test_interactive_demo_connects_and_takes_a_payment(xvfb, tmp_path):
    ui = DemoUI(xvfb, tmp_path / "demo")
    (tmp_path / "demo").mkdir()
    try:
        await ui.start()
        await ui.wait("attract", timeout=30)
        await ui.tap("attract_hi")
        await ui.wait("home")
        await ui.tap("tile_electricity")
        await ui.wait("providers")
        await ui.tap("provider_JVVNL")
        await ui.wait("identify")
        await ui.type_digits("210412345678")
        await ui.tap("key_continue")
        await ui.wait("bill", timeout=30)
        await ui.tap("confirm")
        paying = await ui.wait("paying", timeout=20)
        assert paying["texts"]["amount_due"] == "₹640"
        await ui.prompt("500")
        await ui.wait("paying", tid="amount_paid", contains="₹500", timeout=20)
        await ui.prompt("")  # an empty line shows the commands again, and does not quit
        await ui.prompt("200")
        done = await ui.wait("done", timeout=30)
        # JVVNL takes advance payments: the ₹60 over goes to the consumer's account, no voucher
        assert done["texts"]["done_extras"].startswith("₹60 जमा")
        assert "voucher" not in done["texts"]
        assert ui.proc is not None and ui.proc.returncode is None
        receipts = tmp_path / "demo" / "receipts"
        for _ in range(50):
            if len(list(receipts.glob("*.png"))) >= 1:
                break
            await asyncio.sleep(0.1)
        assert len(list(receipts.glob("*.png"))) == 1  # the receipt, with the advance on it
    finally:
        await ui.prompt("quit")
        assert ui.proc is not None
        await asyncio.wait_for(ui.proc.wait(), 30)
        if ui._reader is not None:
            ui._reader.cancel()
    assert ui.proc.returncode == 0
