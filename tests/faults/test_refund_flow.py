"""Central refuses a paid bill for good while the citizen is still at the machine (someone paid
it at a counter a minute ago): the citizen must leave with a voucher for every rupee, never a
receipt for a payment central never took."""

from harness import KioskHarness

PHED = ("PHED", "5012345678")  # ₹350 due


async def test_bill_paid_elsewhere_meanwhile_prints_a_refund_voucher(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        assert (await citizen.send("start", provider=PHED[0]))["ok"]
        assert (await citizen.send("consumer", number=PHED[1]))["ok"]
        await citizen.wait_screen("BILL")
        with h.central.store._tx() as db:  # paid at a counter while the citizen reads the bill
            db.execute("UPDATE bills SET status = 'paid' WHERE consumer_number = ?", (PHED[1],))
        assert (await citizen.send("confirm"))["ok"]
        await citizen.wait_screen("PAYING")
        h.acceptor_sim.insert_note(200)
        await citizen.wait_for(lambda s: s["session"]["paid_paise"] == 20000)
        h.acceptor_sim.insert_note(200)
        done = await citizen.wait_screen("DONE", timeout=30)
        session = done["session"]
        assert done["message"]["key"] == "payment_refused_refund_voucher"
        assert session["refund_voucher"]["paise"] == 35000
        assert session["provisional"] is False
        assert sorted(session["printed"]) == ["refund_voucher", "voucher"]  # no receipt
        assert h.central.payments() == []
        assert sorted(v["amount_paise"] for v in h.central.vouchers()) == [5000, 35000]
