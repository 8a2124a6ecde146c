"""A receipt is the citizen's only proof: paper running out mid-receipt is reported, the
citizen is told the money is safe, and the receipt prints once the printer recovers."""

import asyncio

from harness import KioskHarness

from terminal.journal import Journal


def printed_docs(h):
    journal = Journal(h.config["journal"]["path"])
    return [(e.kind, e.data["doc"]) for e in journal.events(kinds=("printed", "print_failed"))]


async def test_paper_out_mid_receipt_then_reprinted_after_recovery(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        # a phone bill: its ₹50 over is a voucher (water would take it as an advance)
        await citizen.send("start", provider="BSNL")
        await citizen.send("consumer", number="0141350350")
        await citizen.wait_screen("BILL")
        await citizen.send("confirm")
        await citizen.wait_screen("PAYING")
        h.printer_sim.paper_out_after_lines(8)
        h.acceptor_sim.insert_note(200)
        await citizen.wait_for(lambda s: s["session"]["paid_paise"] == 20000)
        h.acceptor_sim.insert_note(200)
        done = await citizen.wait_screen("DONE", timeout=30)
        assert done["message"]["key"] == "print_failed_money_safe"
        assert "receipt" in done["session"]["print_failed"]
        assert done["session"]["receipt_no"]  # the payment itself is posted
        assert ("printed", "receipt") not in printed_docs(h)
        assert len(h.printer_sim.incomplete) == 1

        h.printer_sim.set_paper("ok")  # the engineer loads a roll
        for _ in range(100):
            if {("printed", "receipt"), ("printed", "voucher")} <= set(printed_docs(h)):
                break
            await asyncio.sleep(0.1)
        docs = printed_docs(h)
        assert docs.count(("printed", "receipt")) == 1 and docs.count(("printed", "voucher")) == 1
        await asyncio.sleep(1.5)  # another watchdog pass must not print anything again
        assert printed_docs(h).count(("printed", "receipt")) == 1
        complete = [t for t in h.printer_sim.texts
                    if done["session"]["txn_id"] in t and "PAYMENT RECEIPT" in t]
        assert len(complete) == 1
