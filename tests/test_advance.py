"""Advance credit instead of a voucher (issue 13): a ₹640 JVVNL bill paid with two ₹500 notes.
JVVNL takes advance payment (central's catalogue), so with `[payment] advance_credit` on the ₹360
overshoot goes to the consumer's account with the payment and no voucher is printed; with it off
the site's limit decides, and the overshoot is a voucher as before. Real core, simulators on
ptys, the reference central on loopback."""

import asyncio

from harness import KioskHarness

from sim.central import voucher_routes
from terminal.invariant import check_journal, check_projections
from terminal.journal import Journal

JVVNL = ("JVVNL", "210412345678")  # ₹640 due
PHED = ("PHED", "5012345678")  # ₹350 due; PHED takes no advance payment


async def pay_with(citizen, h, bill, notes):
    assert (await citizen.send("start", provider=bill[0]))["ok"]
    assert (await citizen.send("consumer", number=bill[1]))["ok"]
    await citizen.wait_screen("BILL")
    assert (await citizen.send("confirm"))["ok"]
    await citizen.wait_screen("PAYING")
    total = 0
    for rupees in notes[:-1]:
        h.acceptor_sim.insert_note(rupees)
        total += rupees * 100
        state = await citizen.wait_for(lambda s, t=total: s["session"]["paid_paise"] == t)
    h.acceptor_sim.insert_note(notes[-1])
    return state, await citizen.wait_screen("DONE", timeout=20)


def journal_report(h) -> dict:
    journal = Journal(h.config["journal"]["path"])
    try:
        report = check_journal(journal)
        assert report["ok"], report["problems"]
        assert check_projections(journal)["ok"]
        return report
    finally:
        journal.close()


async def posted(h, timeout=10.0):
    for _ in range(int(timeout * 10)):
        if h.core.kiosk.outbox.depth() == 0 and h.central.payments():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the payment never reached central")


async def test_two_500_notes_pay_640_with_advance_credit_and_no_voucher(tmp_path):
    async with KioskHarness(tmp_path, payment={"advance_credit": True}) as h, \
            h.client() as citizen:
        before, done = await pay_with(citizen, h, JVVNL, [500, 500])
        # After the first ₹500, the second is offered: ₹360 over is within JVVNL's advance limit.
        assert 50000 in before["session"]["accepted_now_paise"]
        s = done["session"]
        assert s["amount_paise"] == 64000 and s["voucher"] is None
        assert s["advance"]["paise"] == 36000
        assert s["advance"]["text_hi"] == "₹360 जमा — अगले बिल में घटेगा"
        assert s["printed"] == ["receipt"]  # no voucher slip
        assert done["message"]["key"] == "payment_successful"
        await posted(h)
        [payment] = h.central.payments()
        assert payment["amount_paise"] == 64000 and payment["tendered_paise"] == 100000
        [advance] = voucher_routes.advances(h.central.store)
        assert (advance["txn_id"], advance["advance_paise"]) == (s["txn_id"], 36000)
        assert advance["consumer_number"] == JVVNL[1]
        assert h.central.vouchers() == []
        report = journal_report(h)
        totals = report["totals"]
        assert totals["credited"] == 100000 and totals["posted"] == 64000
        assert totals["advance"] == 36000 and totals["voucher"] == 0 and totals["pending"] == 0


async def test_provider_without_advance_keeps_the_site_limit_and_a_voucher(tmp_path):
    async with KioskHarness(tmp_path, payment={"advance_credit": True}) as h, \
            h.client() as citizen:
        assert (await citizen.send("start", provider=PHED[0]))["ok"]
        assert (await citizen.send("consumer", number=PHED[1]))["ok"]
        await citizen.wait_screen("BILL")
        assert (await citizen.send("confirm"))["ok"]
        state = await citizen.wait_screen("PAYING")
        # ₹500 on a ₹350 water bill is ₹150 over the ₹100 site limit: PHED takes no advance.
        assert 50000 not in state["session"]["accepted_now_paise"]
        assert (await citizen.send("cancel"))["ok"]


async def test_advance_credit_off_the_overshoot_is_a_voucher(tmp_path):
    site = {"advance_credit": False, "max_overpay_paise": 40000}
    async with KioskHarness(tmp_path, payment=site) as h, h.client() as citizen:
        _, done = await pay_with(citizen, h, JVVNL, [500, 500])
        s = done["session"]
        assert s["amount_paise"] == 64000 and s["voucher"]["paise"] == 36000
        assert s["advance"] is None
        await posted(h)
        assert voucher_routes.advances(h.central.store) == []
        assert journal_report(h)["totals"]["advance"] == 0


def test_advance_credit_is_never_on_with_the_b2b_dialect():
    """Its payment has no field for an advance: the overshoot would be posted nowhere."""
    from terminal.advance_credit import enabled

    assert enabled({"payment": {"advance_credit": True}, "central": {"dialect": "reference"}})
    assert not enabled({"payment": {"advance_credit": True},
                        "central": {"dialect": "emitra_b2b"}})
    assert not enabled({"payment": {"advance_credit": False}, "central": {}})
