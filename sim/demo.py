"""`python -m sim demo --headless`: the whole machine on one laptop, paying a bill.

Starts the central sim and the device sims in this process, writes a site config pointing at
them, starts the core as its own process (`emitra-kiosk core --config ...`, as in production),
then acts as the citizen through the session API: pays the seeded ₹640 BSNL phone bill with a ₹500
note (accepted), a ₹2000 note (returned: over BSNL's ₹500 overshoot limit) and a ₹200 note
(accepted; BSNL takes no advance payment, so the ₹60 over becomes a voucher bound to the
consumer). Prints `transaction:`, `receipt:`, `voucher:` and `journal:` lines.

With a display (`python -m sim demo`) it starts the touch screen as well, and a control prompt
that puts notes in, scans codes and makes faults (sim/demo_console.py).
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import ctypes.util
import functools
import os
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim.demo_tour import tour
from sim.rig import SimRig
from sim.session_client import SessionClient

DEMO_PROVIDER = "BSNL"
DEMO_CONSUMER = "0141640640"
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


@functools.cache
def _prctl() -> Callable[..., int] | None:
    """libc's prctl, looked up in the parent: a forked child of a threaded process should not
    dlopen (it may take a lock another thread held at the fork). None off Linux."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn that has the kernel SIGKILL the child when this process goes: a core left
    by a failed or interrupted test would otherwise keep reopening pty numbers that a later
    test's simulators use. None where prctl is not available."""
    prctl, parent = _prctl(), os.getpid()
    if prctl is None:
        return None

    def in_child() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the prctl: nobody to signal us
            os.kill(os.getpid(), signal.SIGKILL)

    return in_child


async def stop_core(proc: asyncio.subprocess.Process | None, grace_s: float = 10.0) -> None:
    """SIGTERM (the core drains and closes its devices), SIGKILL if it does not end in time."""
    if proc is None or proc.returncode is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), grace_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()


async def start_core(
    site: Path, workdir: Path, env: dict[str, str] | None = None
) -> tuple[asyncio.subprocess.Process, str]:
    """Start `emitra-kiosk core` as a child process; returns it and its session API URL.
    The child dies with this process (die_with_parent), never outliving a failed test."""
    log = open(workdir / "core.stderr.log", "ab")  # noqa: SIM115 - lives as long as the child
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "terminal.cli", "core", "--config", str(site),
        stdout=asyncio.subprocess.PIPE, stderr=log, cwd=str(workdir),
        env={**os.environ, **(env or {})}, preexec_fn=die_with_parent(),
    )
    assert proc.stdout is not None
    while True:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        if not line:
            raise RuntimeError(f"core exited early; see {workdir / 'core.stderr.log'}")
        text = line.decode().strip()
        if text.startswith("session-api: "):
            return proc, text.split(": ", 1)[1]


async def pay_demo_bill(citizen: SessionClient, rig: SimRig) -> dict:
    await citizen.send("start", provider=DEMO_PROVIDER)
    result = await citizen.send("consumer", number=DEMO_CONSUMER)
    if not result["ok"]:
        raise RuntimeError(f"bill lookup failed: {result}")
    await citizen.wait_screen("BILL")
    await citizen.send("confirm")
    await citizen.wait_screen("PAYING")
    print("paying: due ₹640", flush=True)

    rig.acceptor_sim.insert_note(500)
    await citizen.wait_for(lambda s: s["session"]["paid_paise"] == 50000, 15)
    print("note: ₹500 accepted", flush=True)

    rig.acceptor_sim.insert_note(2000)
    await citizen.wait_for(lambda s: (s["session"] or {}).get("last_returned") is not None, 15)
    print("note: ₹2000 returned (not accepted)", flush=True)

    rig.acceptor_sim.insert_note(200)
    done = await citizen.wait_screen("DONE", timeout=30)
    print("note: ₹200 accepted", flush=True)
    return done


def demo_camera(workdir: Path) -> dict[str, Any]:
    """The webcam of the demo: a still picture of a paper held up (for an application's
    documents), read as every frame (drivers/camera/still.py)."""
    import cv2

    from sim.devices.camera import document_frame

    photo = workdir / "camera-paper.png"
    cv2.imwrite(str(photo), document_frame())
    return {"enabled": True, "source": str(photo), "presence": False, "audit_photos": False}


async def run_interactive(workdir: Path, ui_drive: bool = False, card: bool = False) -> int:
    """With a display: the simulators, the core and the touch screen, and a control prompt
    (sim/demo_console.py) that stays on the terminal while the logs go to files."""
    from sim.demo_console import HELP, DemoConsole, card_available, ui_config, ui_env

    card = card and card_available()
    rig = SimRig(workdir, paced=True)
    await rig.start()
    extra = {"card": {"enabled": True, "reader": "", "insert_timeout_s": 60}} if card else {}
    extra["camera"] = demo_camera(workdir)
    site = rig.write_config(workdir / "site.toml", **extra)
    proc = ui = None
    try:
        proc, url = await start_core(site, workdir)
        ui_site = ui_config(rig, workdir, url)
        ui_log = open(workdir / "ui.stderr.log", "ab")  # noqa: SIM115 - closed below
        ui = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "terminal.cli", "ui", "--config", str(ui_site),
            cwd=str(workdir), stdin=asyncio.subprocess.PIPE if ui_drive else None,
            stdout=None, stderr=ui_log, env=ui_env(ui_drive), preexec_fn=die_with_parent(),
        )
        ui_log.close()
        print(f"core: {url}\nreceipts: {workdir / 'receipts'}\n"
              f"logs: {workdir / 'log' / 'core.log'}, {workdir / 'ui.stderr.log'}", flush=True)
        print(HELP, flush=True)
        await DemoConsole(rig, ui, ui_drive, card).run()
    finally:
        if ui is not None and ui.returncode is None:
            ui.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(ui.wait(), 10)
            except TimeoutError:
                ui.kill()
                await ui.wait()
        await stop_core(proc)
        await rig.stop()
    return 0


async def run_demo(workdir: Path, headless: bool, ui_drive: bool = False,
                   card: bool = False) -> int:
    if not headless:
        return await run_interactive(workdir, ui_drive=ui_drive, card=card)
    rig = SimRig(workdir, paced=True)
    await rig.start()
    site = rig.write_config(workdir / "site.toml", camera=demo_camera(workdir))
    proc = None
    try:
        proc, url = await start_core(site, workdir)
        async with SessionClient(url) as citizen:
            done = await pay_demo_bill(citizen, rig)
            session = done["session"]
            for _ in range(50):  # the PNG is written when the simulator sees the cut
                if len(rig.printer_sim.receipts) >= 2:
                    break
                await asyncio.sleep(0.1)
            receipts = list(rig.printer_sim.receipts)
            said = await tour(citizen, rig, session["receipt_no"] or "")
        print(f"transaction: {session['txn_id']}")
        print(f"receipt_no: {session['receipt_no']}")
        print(f"receipt: {receipts[0] if receipts else 'NOT PRINTED'}")
        voucher = session["voucher"]
        print(f"voucher: {receipts[1] if len(receipts) > 1 else 'NOT PRINTED'}"
              f" (₹{voucher['paise'] // 100} {voucher['id']})" if voucher else "voucher: none")
        print(f"journal: {workdir / 'journal.sqlite'}")
        print(f"log: {workdir / 'log' / 'core.log'}")
        toured = not any(line.startswith("FAILED") for line in said.values())
        return 0 if session["receipt_no"] and len(receipts) >= 2 and toured else 1
    finally:
        await stop_core(proc)
        await rig.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim demo", description=__doc__)
    parser.add_argument("--headless", action="store_true",
                        help="no screen: act as the citizen through the session API")
    parser.add_argument("--workdir", help="where journal, logs and receipts go "
                        "(default: a new folder under var/demo)")
    parser.add_argument("--card", action="store_true",
                        help="with a display: a PC/SC card reader too (`card in` at the prompt; "
                        "needs pcscd and vsmartcard-vpcd)")
    parser.add_argument("--ui-drive", action="store_true", help=argparse.SUPPRESS)  # tests
    args = parser.parse_args(argv)
    if args.workdir:
        workdir = Path(args.workdir)
    else:
        Path("var/demo").mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix="run-", dir="var/demo"))
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    try:
        headless = args.headless or not os.environ.get("DISPLAY")
        return asyncio.run(run_demo(workdir, headless=headless, ui_drive=args.ui_drive,
                                    card=args.card))
    except KeyboardInterrupt:
        return 0
    except (TimeoutError, RuntimeError, OSError) as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        print(f"logs: {workdir}", file=sys.stderr)
        return 1
