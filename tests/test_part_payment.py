"""Part payments through the session API, against the real core, the CCNET and printer
simulators and the reference central on loopback: PHED takes part payments (the catalogue's
`partial_payment`), JVVNL does not."""

from __future__ import annotations

from harness import KioskHarness
from test_flow import JVVNL_640, PHED_350, journal_report, open_bill, paid, wait_outbox_empty


async def test_part_payment_posts_the_cash_in_and_leaves_the_rest_due(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        state = await open_bill(citizen, *PHED_350)
        assert state["session"]["part_payment"] is None  # nothing in yet
        refused = await citizen.send("pay_part")
        assert not refused["ok"] and refused["message_key"] == "not_now"

        h.acceptor_sim.insert_note(200)
        state = await paid(citizen, 20000)
        assert state["session"]["part_payment"] == {"paise": 20000, "rest_paise": 15000}
        assert (await citizen.send("pay_part"))["ok"]
        done = await citizen.wait_screen("DONE", timeout=20)
        s = done["session"]
        assert s["amount_paise"] == 20000 and s["voucher"] is None and s["advance"] is None
        assert s["still_due_paise"] == 15000 and s["printed"] == ["receipt"]
        assert h.acceptor_sim.stacked == [200]
        assert await h.printer_sim.wait_for_receipts(1, timeout=10)
        assert "PART PAYMENT - the bill stays open" in h.printer_sim.texts[0]
        await wait_outbox_empty(h)

        # Central's side: one payment of ₹200, and the bill still open for ₹150.
        payments = h.central.payments()
        assert [p["amount_paise"] for p in payments] == [20000]
        bill = h.central.store.find_bill(*PHED_350)
        assert bill["status"] == "unpaid" and bill["due_paise"] == 15000
        report = journal_report(h)
        assert report["ok"] and report["totals"]["credited"] == 20000


async def test_the_next_session_pays_the_rest(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await open_bill(citizen, *PHED_350)
        h.acceptor_sim.insert_note(200)
        await paid(citizen, 20000)
        assert (await citizen.send("pay_part"))["ok"]
        await citizen.wait_screen("DONE", timeout=20)
        assert (await citizen.send("finish"))["ok"]
        await citizen.wait_screen("IDLE")

        state = await open_bill(citizen, *PHED_350)
        assert state["session"]["due_paise"] == 15000
        for note in (100, 50):
            h.acceptor_sim.insert_note(note)
        done = await citizen.wait_screen("DONE", timeout=20)
        assert done["session"]["amount_paise"] == 15000
        assert done["session"]["still_due_paise"] == 0
        await wait_outbox_empty(h)
        assert sorted(p["amount_paise"] for p in h.central.payments()) == [15000, 20000]
        assert h.central.store.find_bill(*PHED_350)["status"] == "paid"


async def test_a_provider_without_part_payment_refuses_it(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await open_bill(citizen, *JVVNL_640)
        h.acceptor_sim.insert_note(200)
        state = await paid(citizen, 20000)
        assert state["session"]["part_payment"] is None
        refused = await citizen.send("pay_part")
        assert not refused["ok"] and refused["message_key"] == "part_payment_not_offered"
        assert state["screen"] == "PAYING" and h.central.payments() == []


def test_central_refuses_a_part_payment_the_provider_does_not_take(tmp_path):
    """The reference central's own rule, so a kiosk bug cannot book one."""
    from sim.central.store import part_payment

    assert part_payment("PHED", 20000, 35000)
    assert not part_payment("JVVNL", 20000, 64000)
    assert not part_payment("PHED", 0, 35000) and not part_payment("PHED", 35000, 35000)
