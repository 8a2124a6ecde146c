"""Power cut at every money step: the core runs as its own process and is SIGKILLed right after
each kind of journal append in turn (EMITRA_CRASH_AFTER), then restarted. After recovery every
paise credited is in exactly one of: posted payment, voucher, pending outbox entry — and central
has at most one payment for the bill."""

import asyncio
import signal

import aiohttp
import pytest
from crash_helpers import settled_journal

from sim.demo import start_core
from sim.rig import SimRig
from sim.session_client import SessionClient
from terminal.api_messages import auth_headers

# (crash point, credited paise, paid to the bill, voucher) for paying ₹640 with ₹500 + ₹200:
# the BSNL bill, whose overshoot is a voucher (BSNL takes no advance payment).
CRASH_POINTS = [
    ("session_opened:1", 0, 0, 0),
    ("bill:1", 0, 0, 0),
    ("credit:1", 50000, 0, 50000),
    ("credit:2", 70000, 64000, 6000),
    ("settled:1", 70000, 64000, 6000),
    ("posted:1", 70000, 64000, 6000),
    ("voucher_posted:1", 70000, 64000, 6000),
    ("printed:1", 70000, 64000, 6000),
    ("printed:2", 70000, 64000, 6000),
    ("session_closed:1", 70000, 64000, 6000),
]


async def pay(url: str, rig: SimRig) -> None:
    """The citizen's side; it simply stops when the core dies under it."""
    async with SessionClient(url) as citizen:
        await citizen.send("start", provider="BSNL")
        await citizen.send("consumer", number="0141640640")
        await citizen.wait_screen("BILL")
        await citizen.send("confirm")
        await citizen.wait_screen("PAYING")
        rig.acceptor_sim.insert_note(500)
        await citizen.wait_for(lambda s: s["session"]["paid_paise"] == 50000, 10)
        rig.acceptor_sim.insert_note(200)
        await citizen.wait_screen("DONE", timeout=20)


@pytest.mark.parametrize(("crash_at", "credited", "paid", "voucher"), CRASH_POINTS)
async def test_power_cut_after_each_journal_step_loses_nothing(
        tmp_path, crash_at, credited, paid, voucher):
    rig = SimRig(tmp_path)
    await rig.start()
    site = rig.write_config(tmp_path / "site.toml")
    journal_path = tmp_path / "journal.sqlite"
    restarted = None
    try:
        proc, url = await start_core(site, tmp_path, env={"EMITRA_CRASH_AFTER": crash_at})
        citizen = asyncio.create_task(pay(url, rig))
        died = asyncio.create_task(proc.wait())
        await asyncio.wait({citizen, died}, timeout=40, return_when=asyncio.FIRST_COMPLETED)
        await asyncio.wait_for(died, 10)
        assert proc.returncode == -signal.SIGKILL, f"core was not killed at {crash_at}"
        citizen.cancel()
        await asyncio.gather(citizen, return_exceptions=True)

        restarted, _ = await start_core(site, tmp_path)
        report = await settled_journal(journal_path)
        assert report["ok"], report["problems"]
        totals = report["totals"]
        assert totals["credited"] == credited
        assert totals["posted"] == paid and totals["voucher"] == voucher
        assert totals["unsettled"] == 0 and totals["refused"] == 0
        # What is in the cassette is exactly what the journal credited.
        assert sum(rig.acceptor_sim.stacked) * 100 == credited
        # Central: at most one payment, of the right amount; the voucher exactly once.
        payments = rig.central.payments()
        assert [p["amount_paise"] for p in payments] == ([paid] if paid else [])
        for _ in range(50):
            if len(rig.central.vouchers()) == (1 if voucher else 0):
                break
            await asyncio.sleep(0.1)
        assert [v["amount_paise"] for v in rig.central.vouchers()] == ([voucher] if voucher else [])
    finally:
        if restarted is not None and restarted.returncode is None:
            restarted.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(restarted.wait(), 10)
            except TimeoutError:
                restarted.kill()
        await rig.stop()


async def test_core_survives_being_killed_mid_screen_connection(tmp_path):
    """A client that vanishes (a crashed UI) leaves the core serving the next one."""
    rig = SimRig(tmp_path)
    await rig.start()
    site = rig.write_config(tmp_path / "site.toml")
    proc, url = await start_core(site, tmp_path)
    try:
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(url, headers=auth_headers(url))
            await ws.receive_json()
            await ws.close()
        async with SessionClient(url) as citizen:
            assert citizen.state["screen"] == "IDLE"
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 10)
        await rig.stop()
