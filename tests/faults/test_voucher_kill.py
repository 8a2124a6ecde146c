"""A voucher redemption interrupted by a power cut at each step redeems once (issue 13).

The core runs as its own process and is SIGKILLed right after each journal append of the
redemption and the payment in turn (EMITRA_CRASH_AFTER), then restarted. The citizen pays the
₹640 BSNL bill with a ₹500 voucher and a ₹200 note (BSNL takes no advance payment: the
₹60 over is a new voucher). After recovery: central holds the voucher
redeemed once, by the session's txn id; the journal redeemed it once; every paise taken is in a
posted payment, a voucher or the outbox; `emitra-kiosk verify` exits 0.

"central-answered" is the cut nobody can see from the journal: central redeemed the voucher,
the core died before journaling its answer (the test plays central's side of it from the
journal's intent, as the lost reply would have).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time

import pytest
from crash_helpers import settled_journal

from sim.demo import start_core
from sim.rig import SimRig
from sim.session_client import SessionClient
from terminal.journal import Journal

VOUCHER = "V-RJ-JPR-0001-261101100000-ABC123"  # ₹500, left by an earlier visit
TERMINAL = "RJ-JPR-0001"

# (crash point, paid to the bill, vouchers the kiosk issues)
POINTS = [
    ("voucher_redeeming:1", 0, [50000]),
    ("central-answered", 0, [50000]),
    ("voucher_redeemed:1", 0, [50000]),
    ("credit:1", 64000, [6000]),
    ("settled:1", 64000, [6000]),
    ("posted:1", 64000, [6000]),
    ("voucher_posted:1", 64000, [6000]),
    ("session_closed:1", 64000, [6000]),
]


async def citizen(url: str, rig: SimRig) -> None:
    """Stops wherever the core dies under it."""
    async with SessionClient(url) as c:
        await c.send("start", provider="BSNL")
        await c.send("consumer", number="0141640640")
        await c.wait_screen("BILL")
        await c.send("voucher", code=VOUCHER)
        await c.wait_for(lambda s: (s["session"] or {}).get("paid_paise") == 50000, 10)
        rig.acceptor_sim.insert_note(200)
        await c.wait_screen("DONE", timeout=20)


async def stop(proc) -> None:
    if proc is not None and proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


def intent_txn(path) -> str:
    journal = Journal(path)
    try:
        [ev] = list(journal.events(kinds=("voucher_redeeming",)))
        return ev.data["txn_id"]
    finally:
        journal.close()


@pytest.mark.parametrize(("crash_at", "paid", "issued"), POINTS)
async def test_redemption_cut_at_each_step_redeems_once(tmp_path, crash_at, paid, issued):
    rig = SimRig(tmp_path)
    await rig.start()
    rig.central.store.create_voucher(
        {"voucher_id": VOUCHER, "txn_id": "T-RJ-JPR-0001-261101100000-ABC123",
         "amount_paise": 50000, "issued_at": "2026-11-01T10:00:00Z"}, TERMINAL, time.time())
    site = rig.write_config(tmp_path / "site.toml")
    journal_path = tmp_path / "journal.sqlite"
    point = "voucher_redeeming:1" if crash_at == "central-answered" else crash_at
    restarted = None
    try:
        proc, url = await start_core(site, tmp_path, env={"EMITRA_CRASH_AFTER": point})
        paying = asyncio.create_task(citizen(url, rig))
        died = asyncio.create_task(proc.wait())
        await asyncio.wait({paying, died}, timeout=40, return_when=asyncio.FIRST_COMPLETED)
        await asyncio.wait_for(died, 10)
        assert proc.returncode == -signal.SIGKILL, f"core was not killed at {crash_at}"
        paying.cancel()
        await asyncio.gather(paying, return_exceptions=True)
        if crash_at == "central-answered":  # the redeem got through; its answer was lost
            rig.central.store.redeem_voucher(VOUCHER, intent_txn(journal_path), time.time())

        restarted, _ = await start_core(site, tmp_path)
        report = await settled_journal(journal_path)
        assert report["ok"], report["problems"]
        totals = report["totals"]
        assert totals["redeemed"] == 50000 and totals["redeeming"] == 0
        assert totals["credited"] == 50000 + sum(rig.acceptor_sim.stacked) * 100
        assert totals["posted"] == paid and totals["unsettled"] == 0
        journal = Journal(journal_path)
        try:
            redeemed = list(journal.events(kinds=("voucher_redeemed",)))
            assert [(e.data["voucher_id"], e.data["paise"]) for e in redeemed] == [
                (VOUCHER, 50000)]
            txn = redeemed[0].data["txn_id"]
        finally:
            journal.close()
        # Central: the voucher redeemed once, by this session's redemption; the payment (if
        # any) carries the same txn id; the kiosk's new voucher exactly once.
        [row] = [v for v in rig.central.vouchers() if v["voucher_id"] == VOUCHER]
        assert row["status"] == "redeemed" and row["redeemed_txn_id"] == txn
        payments = rig.central.payments()
        assert [(p["amount_paise"], p["txn_id"]) for p in payments] == (
            [(paid, txn)] if paid else [])
        for _ in range(50):
            new = [v["amount_paise"] for v in rig.central.vouchers() if v["voucher_id"] != VOUCHER]
            if new == issued:
                break
            await asyncio.sleep(0.1)
        assert new == issued
        check = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "terminal.cli", "verify", "--config", str(site),
            cwd=str(tmp_path), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await check.communicate()
        assert check.returncode == 0, (out.decode(), err.decode())
    finally:
        await stop(restarted)
        await rig.stop()


async def test_redemption_central_cannot_confirm_after_a_cut_is_reversed(tmp_path):
    """Cut after central redeemed, and central unreachable when the core comes back: the session
    cannot count a voucher central never confirmed to it, so the redemption is released at central
    (the citizen's paper is good again) once central answers; nothing is counted anywhere."""
    rig = SimRig(tmp_path)
    await rig.start()
    rig.central.store.create_voucher(
        {"voucher_id": VOUCHER, "txn_id": None, "amount_paise": 50000,
         "issued_at": "2026-11-01T10:00:00Z"}, TERMINAL, time.time())
    site = rig.write_config(tmp_path / "site.toml")
    journal_path = tmp_path / "journal.sqlite"
    restarted = None
    try:
        proc, url = await start_core(
            site, tmp_path, env={"EMITRA_CRASH_AFTER": "voucher_redeeming:1"})
        paying = asyncio.create_task(citizen(url, rig))
        await asyncio.wait_for(proc.wait(), 30)
        assert proc.returncode == -signal.SIGKILL
        await asyncio.gather(paying, return_exceptions=True)
        rig.central.store.redeem_voucher(VOUCHER, intent_txn(journal_path), time.time())
        await rig.central.stop()
        restarted, _ = await start_core(site, tmp_path)
        for _ in range(100):  # recovery gives up on central and closes the empty session
            journal = Journal(journal_path)
            closed = list(journal.events(kinds=("session_closed",)))
            journal.close()
            if closed:
                break
            await asyncio.sleep(0.1)
        assert closed and closed[0].data["outcome"] == "interrupted"
        [row] = rig.central.vouchers()
        assert row["status"] == "redeemed"  # central still holds it: nobody could tell it
        await rig.central.start()  # same port, same database
        for _ in range(200):
            [row] = rig.central.vouchers()
            if row["status"] == "active":
                break
            await asyncio.sleep(0.1)
        assert row["status"] == "active" and row["redeemed_txn_id"] is None
        report = await settled_journal(journal_path)
        assert report["ok"], report["problems"]
        assert report["totals"]["redeemed"] == 0 and report["totals"]["redeeming"] == 0
        assert report["totals"]["credited"] == 0
        journal = Journal(journal_path)
        try:
            [failed] = list(journal.events(kinds=("voucher_redeem_failed",)))
            assert failed.data["code"] == "released"
            assert journal.pending_projection() == []
        finally:
            journal.close()
    finally:
        await stop(restarted)
        await rig.stop()
