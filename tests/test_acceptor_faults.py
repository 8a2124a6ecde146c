"""Acceptor faults during a payment, at the level of the session: the right credit, a journal
entry for the engineer, and a clear state for the citizen. Both protocols, one config line."""

import asyncio

import pytest
from harness import KioskHarness

from terminal.invariant import check_journal
from terminal.journal import Journal


async def paying(citizen, provider="PHED", number="5012345678"):
    await citizen.send("start", provider=provider)
    await citizen.send("consumer", number=number)
    await citizen.wait_screen("BILL")
    await citizen.send("confirm")
    return await citizen.wait_screen("PAYING")


def faults(h):
    return [e.data for e in Journal(h.config["journal"]["path"]).events(kinds=("fault",))]


@pytest.mark.parametrize("protocol", ["ccnet", "essp"])
async def test_full_payment_on_either_protocol(tmp_path, protocol):
    async with KioskHarness(tmp_path, protocol=protocol) as h, h.client() as citizen:
        state = await paying(citizen)
        # Water takes advance payment: ₹500 would go in (₹150 credited to the account).
        assert 50000 in state["session"]["accepted_now_paise"]
        for rupees in (200, 100, 50):
            h.acceptor_sim.insert_note(rupees)
            await asyncio.sleep(0)
        done = await citizen.wait_screen("DONE", timeout=30)
        assert done["session"]["paid_paise"] == 35000 and done["session"]["voucher"] is None
        assert sorted(h.acceptor_sim.stacked) == [50, 100, 200]
        assert len(h.central.payments()) == 1


@pytest.mark.parametrize(
    ("fault", "detail"),
    [
        (lambda sim: sim.jam("validator"), "jam_validator"),
        (lambda sim: sim.set_cassette_full(True), "stacker_full"),
        (lambda sim: sim.remove_cassette(), "cassette_removed"),
    ],
    ids=["jam", "cassette_full", "cassette_pulled"],
)
async def test_ccnet_fault_mid_payment_ends_in_voucher_and_fault_log(tmp_path, fault, detail):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await paying(citizen)
        h.acceptor_sim.insert_note(200)
        await citizen.wait_for(lambda s: s["session"]["paid_paise"] == 20000)
        fault(h.acceptor_sim)
        done = await citizen.wait_screen("DONE", timeout=20)
        assert done["session"]["voucher"]["paise"] == 20000
        assert done["session"]["amount_paise"] == 0
        assert done["devices"]["acceptor"]["state"] in ("hwerror", "user_error")
        assert done["services"]["cash_payment"] is False
        logged = faults(h)
        assert any(detail in f["detail"] and f["screen"] == "PAYING" for f in logged)
        assert check_journal(Journal(h.config["journal"]["path"]))["ok"]


async def test_fault_before_any_cash_just_cancels(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await paying(citizen)
        h.acceptor_sim.jam("validator")
        state = await citizen.wait_screen("CANCELLED", timeout=10)
        assert state["message"]["key"] == "service_unavailable"
        assert check_journal(Journal(h.config["journal"]["path"]))["totals"]["credited"] == 0


async def test_essp_power_cut_note_into_cashbox_is_credited_to_the_citizen(tmp_path):
    async with KioskHarness(tmp_path, protocol="essp") as h, h.client() as citizen:
        await paying(citizen)
        h.acceptor_sim.insert_note(200)
        await citizen.wait_for(lambda s: s["session"]["paid_paise"] == 20000, 15)
        h.acceptor_sim.insert_note(100)
        h.acceptor_sim.power_cut(note_in="cashbox")  # the ₹100 went in as the power failed
        state = await citizen.wait_for(lambda s: s["session"]["paid_paise"] == 30000, 20)
        assert state["screen"] == "PAYING"
        h.acceptor_sim.insert_note(50)
        done = await citizen.wait_screen("DONE", timeout=30)
        assert done["session"]["paid_paise"] == 35000
        journal = Journal(h.config["journal"]["path"])
        found = [e.data for e in journal.events(kinds=("unattributed_note",))]
        assert found == [{"where": "stacker", "paise": 10000}]
        assert check_journal(journal)["ok"]
