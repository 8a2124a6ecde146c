"""Device faults in the middle of a money step, with the real simulators over real ptys, and a full
disk under the journal. What the older tests already cover is not repeated here:
tests/test_acceptor_faults.py (jam / cassette full / cassette pulled with the note path empty,
eSSP power cut with a note going into the cashbox), tests/test_watchdog.py (acceptor unplugged
between two notes, printer unplugged and back), tests/test_print_faults.py (paper out mid-receipt,
reprinted once).

New here: the acceptor's cable pulled while a note is being stacked (the device finishes the stroke
on its own; the credit must arrive when the cable is back), a jam with a note held in escrow (the
note is not credited, not lost from view, and the citizen's earlier cash becomes a voucher), and
the journal's filesystem filling up (the kiosk must stop taking cash and say why, and never take a
note it cannot journal).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import subprocess
import time
from pathlib import Path

import pytest
from harness import KioskHarness
from kill_helpers import PtyReserve, start_core

from sim.demo import stop_core
from sim.rig import SimRig
from sim.session_client import SessionClient
from terminal.invariant import check_journal
from terminal.journal import Journal


@pytest.fixture(autouse=True)
def pty_reserve():
    """Our simulators get pty numbers no stale process from another test run names."""
    with PtyReserve() as reserve:
        reserve.top_up()
        yield


async def paying(citizen, provider="PHED", number="5012345678"):
    await citizen.send("start", provider=provider)
    await citizen.send("consumer", number=number)
    await citizen.wait_screen("BILL")
    await citizen.send("confirm")
    return await citizen.wait_screen("PAYING")


async def until(predicate, timeout: float, what: str, step: float = 0.01) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached in {timeout} s")
        await asyncio.sleep(step)


def acceptor_port(sim):
    """The device end of the acceptor's pty (setting `unplugged` = the cable is out: the device
    keeps its power and its note, the host hears nothing and is not heard)."""
    return sim._pty if hasattr(sim, "_pty") else sim._port


def credits(h) -> list[int]:
    journal = Journal(h.config["journal"]["path"])
    try:
        return [e.data["paise"] for e in journal.events(kinds=("credit",))]
    finally:
        journal.close()


def faults(h) -> list[dict]:
    journal = Journal(h.config["journal"]["path"])
    try:
        return [e.data for e in journal.events(kinds=("fault",))]
    finally:
        journal.close()


# ---------------------------------------------------------------------------------------------
# acceptor
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["ccnet", "essp"])
async def test_cable_pulled_while_a_note_is_stacking_is_credited_once_it_is_back(
        tmp_path, protocol):
    async with KioskHarness(tmp_path, protocol=protocol) as h, h.client() as citizen:
        sim = h.acceptor_sim
        if protocol == "ccnet":
            sim.stack_time = 1.0  # a slow stroke: the cable comes out in the middle of it
        await paying(citizen)
        sim.insert_note(200)
        await until(lambda: sim.state_name == "stacking", 10, "note stacking")
        acceptor_port(sim).unplugged = True
        state = await citizen.wait_for(
            lambda s: s["devices"]["acceptor"]["state"] == "offline", 10)
        assert state["screen"] == "PAYING"
        if protocol == "ccnet":  # the stroke ends without the host: the note is in the cassette
            await until(lambda: sim.stacked == [200], 5, "stroke finished", 0.05)
        acceptor_port(sim).unplugged = False
        # Back on the wire: the note the device stacked is the citizen's, credited once.
        await citizen.wait_for(lambda s: s["session"]["paid_paise"] == 20000, 15)
        await citizen.wait_for(lambda s: s["devices"]["acceptor"]["state"] == "online", 15)
        sim.insert_note(200)
        done = await citizen.wait_screen("DONE", timeout=30)
        assert done["session"]["paid_paise"] == 40000
        assert sim.stacked == [200, 200]
        assert credits(h) == [20000, 20000]
        report = check_journal(Journal(h.config["journal"]["path"]))
        assert report["ok"], report["problems"]
        assert [p["amount_paise"] for p in h.central.payments()] == [35000]


@pytest.mark.parametrize("protocol", ["ccnet", "essp"])
async def test_jam_with_a_note_in_escrow_credits_nothing_for_it_and_vouchers_the_rest(
        tmp_path, protocol):
    async with KioskHarness(tmp_path, protocol=protocol) as h, h.client() as citizen:
        sim = h.acceptor_sim
        await paying(citizen)
        sim.insert_note(200)
        await citizen.wait_for(lambda s: s["session"]["paid_paise"] == 20000, 15)
        # (an eSSP bezel refuses a note while the unit is disabled between two notes)
        await until(lambda: sim.state_name in ("idle", "idling"), 5, "acceptor enabled again")
        sim.insert_note(100)
        # CCNET holds the note in escrow while the kiosk decides; an eSSP unit is told "accept"
        # by the very next poll, so its note is caught while being read, before it is stacked.
        held = ("escrow", "holding") if protocol == "ccnet" else ("reading", "escrow")
        await until(lambda: sim.state_name in held, 10, "note held in the validator")
        sim.jam("validator") if protocol == "ccnet" else sim.jam(safe=True)
        done = await citizen.wait_screen("DONE", timeout=20)
        # The ₹200 already taken becomes a voucher; the jammed ₹100 is not money we hold.
        assert done["session"]["paid_paise"] == 20000
        assert done["session"]["voucher"]["paise"] == 20000
        assert done["session"]["amount_paise"] == 0
        assert done["services"]["cash_payment"] is False
        assert "acceptor_unavailable" in done["services"]["reasons"]
        assert any("jam" in " ".join(f["detail"]) for f in faults(h))
        assert credits(h) == [20000]
        sim.clear_jam()  # the engineer opens the unit
        await asyncio.sleep(1.0)  # a poll or two: nothing more is credited
        assert sim.stacked == [200]
        assert credits(h) == [20000]
        gone = sim.removed if protocol == "ccnet" else sim.returned
        assert 100 in gone  # the jammed note went back by hand / to the bezel, not the cassette
        report = check_journal(Journal(h.config["journal"]["path"]))
        assert report["ok"] and report["totals"]["voucher"] == 20000


# ---------------------------------------------------------------------------------------------
# a full disk under the journal
# ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def small_filesystem(path: Path, size: str = "4m"):
    """A tmpfs of `size` at `path` (needs root; skipped with the reason otherwise)."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs for the journal needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs",
                              str(path)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(path: Path) -> int:
    """Fill the filesystem holding `path` to the last byte; returns the bytes written."""
    written = 0
    fd = os.open(path / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for chunk in (1 << 20, 1 << 12, 1):
            block = b"\0" * chunk
            while True:
                try:
                    written += os.write(fd, block)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    assert os.statvfs(path).f_bavail == 0
    return written


async def core_on_small_disk(tmp_path, jfs):
    rig = SimRig(tmp_path / "rig")
    await rig.start()
    site = rig.write_config(tmp_path / "site.toml", journal={"path": str(jfs / "journal.sqlite")})
    proc, url = await start_core(site, tmp_path)
    return rig, proc, url


async def stop(rig, proc) -> None:
    await stop_core(proc)
    await rig.stop()


def log_tail(tmp_path, n: int = 15) -> str:
    lines: list[str] = []
    p = tmp_path / "rig" / "log" / "core.log"
    if p.exists():
        lines += [line[:400] for line in p.read_text().splitlines()[-n:]]
    return "\n".join(lines)


def says_why(state) -> bool:
    reasons = " ".join(state["services"]["reasons"])
    return not state["services"]["cash_payment"] and any(
        word in reasons for word in ("journal", "disk", "storage", "space"))


async def test_full_disk_under_the_journal_stops_cash_and_says_why(tmp_path):
    with small_filesystem(tmp_path / "journal-fs") as jfs:
        rig, proc, url = await core_on_small_disk(tmp_path, jfs)
        try:
            async with SessionClient(url) as screen:
                assert screen.state["services"]["cash_payment"] is True
                fill(jfs)
                try:
                    state = await screen.wait_for(says_why, 10)
                except (TimeoutError, ConnectionError) as exc:
                    raise AssertionError(
                        f"disk full, core alive={proc.returncode is None}, screen still says "
                        f"services={screen.state['services']} ({exc!r})\n{log_tail(tmp_path)}"
                    ) from exc
                assert state["services"]["lookup"] is True or state["screen"] == "IDLE"
                # A citizen who tries anyway is not let into a cash payment.
                await screen.send("start", provider="PHED")
                await screen.send("consumer", number="5012345678")
                await asyncio.sleep(1.0)
                assert screen.state["screen"] != "PAYING"
            assert proc.returncode is None, f"core died on a full disk\n{log_tail(tmp_path)}"
        finally:
            await stop(rig, proc)


async def test_disk_filling_up_mid_payment_takes_no_note_it_cannot_journal(tmp_path):
    with small_filesystem(tmp_path / "journal-fs") as jfs:
        rig, proc, url = await core_on_small_disk(tmp_path, jfs)
        try:
            async with SessionClient(url) as citizen:
                await paying(citizen)
                fill(jfs)
                rig.acceptor_sim.insert_note(200)
                await asyncio.sleep(5.0)  # accept, escrow, a decision, a stroke: all of it
                alive = proc.returncode is None
                stacked = list(rig.acceptor_sim.stacked)
                state = citizen.state
            journal = Journal(jfs / "journal.sqlite")
            try:
                journaled = [e.data["paise"] for e in journal.events(kinds=("credit",))]
            finally:
                journal.close()
            seen = (f"core alive={alive}, cassette={stacked}, returned="
                    f"{rig.acceptor_sim.returned}, journal credits={journaled}, screen="
                    f"{state.get('screen')}, services={state.get('services')}\n"
                    f"{log_tail(tmp_path)}")
            # Every note in the cassette is journaled; a note that cannot be is given back.
            assert [v * 100 for v in stacked] == journaled, seen
            assert alive, seen
            assert says_why(state), seen
        finally:
            await stop(rig, proc)
