"""Central refuses a paid bill for good while the citizen is still at the machine (someone paid
it at a counter a minute ago): the citizen must leave with a voucher for every rupee, never a
receipt for a payment central never took. Where the overshoot was to be an advance credit (water
takes advance payment), it went with the refused payment, so the refund voucher carries it too."""

import pytest
from harness import KioskHarness

from terminal.invariant import check_journal
from terminal.journal import Journal

# (bill, notes in rupees, refund voucher, overshoot voucher), all in paise
CASES = {
    "advance": (("PHED", "5012345678"), (200, 200), 40000, None),  # ₹350 + ₹50 advance
    "voucher": (("BSNL", "0141222333"), (200, 200, 200), 49900, 10100),  # ₹499; BSNL no advance
}


@pytest.mark.parametrize("case", list(CASES))
async def test_bill_paid_elsewhere_meanwhile_prints_a_refund_voucher(tmp_path, case):
    bill, notes, refund, overshoot = CASES[case]
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        assert (await citizen.send("start", provider=bill[0]))["ok"]
        assert (await citizen.send("consumer", number=bill[1]))["ok"]
        await citizen.wait_screen("BILL")
        with h.central.store._tx() as db:  # paid at a counter while the citizen reads the bill
            db.execute("UPDATE bills SET status = 'paid' WHERE consumer_number = ?", (bill[1],))
        assert (await citizen.send("confirm"))["ok"]
        await citizen.wait_screen("PAYING")
        total = 0
        for rupees in notes[:-1]:
            h.acceptor_sim.insert_note(rupees)
            total += rupees * 100
            await citizen.wait_for(lambda s, t=total: s["session"]["paid_paise"] == t)
        h.acceptor_sim.insert_note(notes[-1])
        done = await citizen.wait_screen("DONE", timeout=30)
        session = done["session"]
        assert done["message"]["key"] == "payment_refused_refund_voucher"
        assert session["refund_voucher"]["paise"] == refund
        assert session["provisional"] is False
        printed = ["refund_voucher", "voucher"] if overshoot else ["refund_voucher"]
        assert sorted(session["printed"]) == printed  # no receipt
        assert h.central.payments() == []
        held = sorted(v["amount_paise"] for v in h.central.vouchers())
        assert held == sorted([refund] + ([overshoot] if overshoot else []))
        journal = Journal(h.config["journal"]["path"])
        try:
            report = check_journal(journal)
        finally:
            journal.close()
        assert report["ok"], report["problems"]
        assert report["totals"]["voucher"] == sum(notes) * 100  # every rupee, as vouchers
        assert report["totals"]["advance"] == 0 and report["totals"]["pending"] == 0
