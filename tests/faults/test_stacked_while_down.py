"""The core dies between the validator stacking a note and the core hearing of it (CCNET keeps
reporting "bill stacked" until the host ACKs). The restarted core must credit the note to the
session that was taking cash, exactly once, and never ACK a report before its credit is durable.

Failed on the old driver: it took the repeated report for a repeat, ACKed it and reset, and the
note was in the cassette but credited to nobody."""

import asyncio
import os
import signal
import time

import pytest
from crash_helpers import settled_journal

from sim.demo import start_core
from sim.rig import SimRig
from sim.session_client import SessionClient
from terminal.journal import Journal


def freeze_at_stacking(rig: SimRig, proc) -> None:
    """The instant the note lands in the cassette, the core stops (SIGSTOP): it cannot poll the
    report, so the SIGKILL that follows lands between the device stacking and the journal."""
    rig.acceptor_sim.on_stacked = lambda rupees: os.kill(proc.pid, signal.SIGSTOP)


async def _paying(url: str) -> SessionClient:
    citizen = SessionClient(url)
    await citizen.__aenter__()
    await citizen.send("start", provider="JVVNL")
    await citizen.send("consumer", number="210412345678")
    await citizen.wait_screen("BILL")
    await citizen.send("confirm")
    await citizen.wait_screen("PAYING")
    return citizen


async def _wait(predicate, timeout: float = 10.0, step: float = 0.001) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(step)


async def _stop(cores: list) -> None:
    """No core outlives its test: a stray one would reopen ptys later tests are using."""
    for proc in cores:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def _journal_kinds(path) -> list[str]:
    journal = Journal(path)
    try:
        return [e.kind for e in journal.events()]
    finally:
        journal.close()


@pytest.mark.parametrize("protocol", ["ccnet", "essp"])
async def test_note_stacked_while_core_down_is_credited_to_its_session(tmp_path, protocol):
    rig = SimRig(tmp_path, acceptor=protocol)
    await rig.start()
    site = rig.write_config(tmp_path / "site.toml")
    journal_path = tmp_path / "journal.sqlite"
    cores: list = []
    try:
        proc, url = await start_core(site, tmp_path)
        cores.append(proc)
        citizen = await _paying(url)
        freeze_at_stacking(rig, proc)
        rig.acceptor_sim.insert_note(500)
        await _wait(lambda: sum(rig.acceptor_sim.stacked) == 500)
        os.kill(proc.pid, signal.SIGKILL)  # the power cut
        await proc.wait()
        await citizen.__aexit__(None, None, None)
        kinds = _journal_kinds(journal_path)
        assert "note_stacking" in kinds and "credit" not in kinds, kinds  # the window we meant

        restarted, _ = await start_core(site, tmp_path)
        cores.append(restarted)
        report = await settled_journal(journal_path)
        assert report["ok"], report["problems"]
        assert report["totals"]["credited"] == 50000  # the note in the cassette, once
        assert sum(rig.acceptor_sim.stacked) * 100 == report["totals"]["credited"]
        journal = Journal(journal_path)
        credits = list(journal.events(kinds=("credit",)))
        opened = [e for e in journal.events(kinds=("session_opened",))]
        journal.close()
        assert len(credits) == 1
        assert credits[0].session_id == opened[0].session_id  # the citizen's own session
        # Not enough for the ₹640 bill: the citizen's ₹500 is a voucher at central.
        await _wait(lambda: len(rig.central.vouchers()) == 1, timeout=10, step=0.1)
        assert [v["amount_paise"] for v in rig.central.vouchers()] == [50000]
        assert rig.central.payments() == []
    finally:
        await _stop(cores)
        await rig.stop()


async def test_note_left_in_escrow_while_core_down_goes_back(tmp_path):
    """Killed after deciding to stack but before the STACK went out: the note waits in escrow;
    the restarted driver returns it and nobody is credited."""
    rig = SimRig(tmp_path)
    await rig.start()
    site = rig.write_config(tmp_path / "site.toml")
    journal_path = tmp_path / "journal.sqlite"
    cores: list = []
    try:
        proc, url = await start_core(site, tmp_path, env={"EMITRA_CRASH_AFTER": "note_stacking:1"})
        cores.append(proc)
        citizen = await _paying(url)
        rig.acceptor_sim.insert_note(500)
        await asyncio.wait_for(proc.wait(), 15)
        assert proc.returncode == -signal.SIGKILL
        await citizen.__aexit__(None, None, None)

        restarted, _ = await start_core(site, tmp_path)
        cores.append(restarted)
        report = await settled_journal(journal_path)
        assert report["ok"], report["problems"]
        await _wait(lambda: rig.acceptor_sim.returned == [500], timeout=15, step=0.05)
        assert report["totals"]["credited"] == 0
        assert rig.acceptor_sim.stacked == []
        assert rig.central.payments() == [] and rig.central.vouchers() == []
    finally:
        await _stop(cores)
        await rig.stop()


@pytest.mark.parametrize("protocol", ["ccnet", "essp"])
async def test_whole_kiosk_power_cut_after_stacking_credits_the_note(tmp_path, protocol):
    """The validator loses power too: its unacknowledged "stacked" report is gone and it powers
    up with an empty path. The journal's unsettled stacking (and eSSP's own stacked counter)
    says whose note is in the cassette."""
    rig = SimRig(tmp_path, acceptor=protocol)
    await rig.start()
    site = rig.write_config(tmp_path / "site.toml")
    journal_path = tmp_path / "journal.sqlite"
    cores: list = []
    try:
        proc, url = await start_core(site, tmp_path)
        cores.append(proc)
        citizen = await _paying(url)
        freeze_at_stacking(rig, proc)
        rig.acceptor_sim.insert_note(200)
        await _wait(lambda: sum(rig.acceptor_sim.stacked) == 200)
        os.kill(proc.pid, signal.SIGKILL)
        rig.acceptor_sim.power_cut()
        await proc.wait()
        await citizen.__aexit__(None, None, None)
        assert "credit" not in _journal_kinds(journal_path)

        restarted, _ = await start_core(site, tmp_path)
        cores.append(restarted)
        report = await settled_journal(journal_path)
        assert report["ok"], report["problems"]
        assert report["totals"]["credited"] == 20000 == sum(rig.acceptor_sim.stacked) * 100
        await _wait(lambda: len(rig.central.vouchers()) == 1, timeout=10, step=0.1)
        assert [v["amount_paise"] for v in rig.central.vouchers()] == [20000]
    finally:
        await _stop(cores)
        await rig.stop()
