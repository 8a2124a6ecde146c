"""`python -m sim demo` with a display: the simulators, the core and the touch screen, and a
control prompt in the terminal that plays the citizen's hands and the hardware's faults.

The core listens on a port of the kernel's choosing (`[session_api] port = 0`, so two demos never
collide); once it says where, the screen is started with a config naming that port. The screen's
and the core's logs go to files, so the command list stays on the terminal. An empty line shows
the list again; end of input (stdin closed) leaves the demo running until its window is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
from pathlib import Path
from urllib.parse import urlsplit

from sim.rig import SimRig

REPO = Path(__file__).resolve().parent.parent
NOTES = (10, 20, 50, 100, 200, 500, 2000)
HELP = """\
── e-Mitra Plus demo: type a command here and press Enter ──────────────────────
  10 20 50 100 200 500 2000   put that note in the acceptor (₹2000 is refused)
  scan <text>                 show a QR code to the scanner
  card in | card out          insert / pull the test RuPay card, PIN 1234 (--card)
  paper out | paper in        the printer runs out of paper / is refilled
  unplug | plug               the note acceptor's cable out / back in
  help (or an empty line)     this list          quit   stop everything
  On the screen: बिजली बिल → JVVNL → 210412345678 (₹640); README lists more bills
────────────────────────────────────────────────────────────────────────────────"""


def ui_config(rig: SimRig, workdir: Path, url: str) -> Path:
    """The screen's copy of the site file, naming the port the core really listens on."""
    port = urlsplit(url).port
    if not port:
        raise RuntimeError(f"the core reported no port in {url!r}")
    return rig.write_config(workdir / "ui-site.toml", session_api={"port": port})


class DemoConsole:
    """Reads commands (and, with ui_drive, the test driver's JSON lines) and applies them."""

    def __init__(self, rig: SimRig, ui: asyncio.subprocess.Process, ui_drive: bool,
                 card: bool) -> None:
        self.rig, self.ui, self.ui_drive, self.card = rig, ui, ui_drive, card
        self.card_proc: asyncio.subprocess.Process | None = None
        self.unplugged = False

    async def run(self) -> None:
        """Until `quit` or the window closes. EOF on stdin is not a quit."""
        reader = asyncio.StreamReader()
        loop = asyncio.get_running_loop()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        ui_gone = asyncio.ensure_future(self.ui.wait())
        try:
            while not ui_gone.done():
                self.prompt()
                read = asyncio.ensure_future(reader.readline())
                await asyncio.wait({read, ui_gone}, return_when=asyncio.FIRST_COMPLETED)
                if not read.done():
                    read.cancel()
                    break
                raw = read.result()
                if not raw:
                    print("\n(input closed: the demo runs until you close its window)",
                          flush=True)
                    await ui_gone
                    break
                if await self.handle(raw.decode("utf-8", "replace").strip()) == "quit":
                    break
        finally:
            if not ui_gone.done():
                ui_gone.cancel()
            await self.card_out()

    def prompt(self) -> None:
        if not self.ui_drive:
            print("demo> ", end="", flush=True)

    async def handle(self, line: str) -> str | None:
        if line.startswith("{") and self.ui_drive:  # the test driver's command for the screen
            assert self.ui.stdin is not None
            self.ui.stdin.write((line + "\n").encode())
            await self.ui.stdin.drain()
            return None
        word = line.lower()
        if word in ("", "help", "?"):
            print(HELP, flush=True)
        elif word in ("quit", "exit"):
            return "quit"
        elif word.isdigit() and int(word) in NOTES:
            self.rig.acceptor_sim.insert_note(int(word))
            print(f"₹{word} note put in", flush=True)
        elif word.startswith("scan "):
            self.rig.scanner_sim.scan(line[5:].strip())
            print("QR code shown to the scanner", flush=True)
        elif word in ("paper out", "paper in"):
            self.rig.printer_sim.set_paper("out" if word.endswith("out") else "ok")
            print(f"printer: paper {'out' if word.endswith('out') else 'refilled'}", flush=True)
        elif word == "unplug":
            self.rig.acceptor_sim.drop_next_replies(10**9)
            self.unplugged = True
            print("note acceptor unplugged (it answers nothing)", flush=True)
        elif word == "plug":
            self.rig.acceptor_sim._drop_frames = 0  # noqa: SLF001 - the sim has no public undo
            self.rig.acceptor_sim.power_cut()  # plugged back: it boots again
            self.unplugged = False
            print("note acceptor plugged back in", flush=True)
        elif word == "card in":
            await self.card_in()
        elif word == "card out":
            await self.card_out()
            print("card pulled out", flush=True)
        else:
            print(f"not a command: {line!r} (an empty line shows the list)", flush=True)
        return None

    async def card_in(self) -> None:
        if not self.card:
            print("the card reader is off in this demo: start it with `python -m sim demo "
                  "--card` (needs pcscd and vsmartcard-vpcd, which `make deps` installs)",
                  flush=True)
            return
        if self.card_proc is not None and self.card_proc.returncode is None:
            print("a card is already in", flush=True)
            return
        self.card_proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "sim.devices.card", stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        print("test RuPay card inserted (PIN 1234)", flush=True)

    async def card_out(self) -> None:
        proc, self.card_proc = self.card_proc, None
        if proc is not None and proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 5)
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


def card_available() -> bool:
    return shutil.which("pcscd") is not None


def ui_env(ui_drive: bool) -> dict[str, str]:
    env = dict(os.environ)
    # The screen runs in the demo's folder; the launcher package sits at the repository root.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(REPO), env.get("PYTHONPATH"))))
    if ui_drive:
        env["EMITRA_UI_DRIVE"] = "1"  # screens/app.py: take test commands on stdin
    return env
