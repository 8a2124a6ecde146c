"""QR codes citizens bring, through the serial scanner simulator on a pty into the running core:
a bill's QR starts the payment, a receipt's QR is verified at central, a voucher's QR is checked,
and anything else gets a clear message."""

import asyncio

from harness import KioskHarness
from PIL import Image
from pyzbar.pyzbar import decode


async def pay_350_with_a_voucher(h, citizen):
    """₹400 for a ₹350 phone bill: BSNL takes no advance payment, so ₹50 is a voucher."""
    h.rig.scanner_sim.scan("BILL|BSNL|0141350350")
    await citizen.wait_screen("BILL")
    await citizen.send("confirm")
    await citizen.wait_screen("PAYING")
    h.acceptor_sim.insert_note(200)
    await citizen.wait_for(lambda s: s["session"]["paid_paise"] == 20000)
    h.acceptor_sim.insert_note(200)
    return await citizen.wait_screen("DONE", timeout=20)


async def printed_qr(h, count):
    for _ in range(50):
        if len(h.printer_sim.receipts) >= count:
            break
        await asyncio.sleep(0.1)
    return [decode(Image.open(p))[0].data.decode() for p in h.printer_sim.receipts[:count]]


async def test_bill_qr_at_home_starts_the_payment(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        h.rig.scanner_sim.scan("BILL|JVVNL|210412345678")
        state = await citizen.wait_screen("BILL")
        assert state["session"]["provider"] == "JVVNL"
        assert state["session"]["due_paise"] == 64000


async def test_bill_qr_at_number_entry_fills_the_number_and_provider(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await citizen.send("start", provider="JVVNL")
        h.rig.scanner_sim.scan("BILL|PHED|5012345678")
        state = await citizen.wait_screen("BILL")
        assert state["session"]["provider"] == "PHED"
        assert state["session"]["service"] == "water"


async def test_receipt_and_voucher_qr_are_checked_at_central(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        done = await pay_350_with_a_voucher(h, citizen)
        receipt_qr, voucher_qr = await printed_qr(h, 2)
        await citizen.send("finish")

        assert (await citizen.send("verify"))["ok"]
        await citizen.wait_for(lambda s: s["screen"] == "VERIFY"
                               and s["lookup"]["status"] == "waiting")
        h.rig.scanner_sim.scan(receipt_qr)
        state = await citizen.wait_for(lambda s: (s["lookup"] or {}).get("status") == "done")
        assert state["lookup"]["message_key"] == "qr_receipt_genuine"
        assert state["lookup"]["result"]["amount_paise"] == 35000
        assert state["lookup"]["result"]["txn_id"] == done["session"]["txn_id"]

        forged = receipt_qr.rsplit("|", 1)[0] + "|" + "0" * 16
        await citizen.send("verify")
        h.rig.scanner_sim.scan(forged)
        state = await citizen.wait_for(
            lambda s: (s["lookup"] or {}).get("message_key") == "qr_receipt_not_genuine")

        await citizen.send("verify")
        h.rig.scanner_sim.scan(voucher_qr)
        state = await citizen.wait_for(
            lambda s: (s["lookup"] or {}).get("status") == "done"
            and s["lookup"]["result"]["kind"] == "voucher")
        assert state["lookup"]["message_key"] == "qr_voucher_active"
        assert state["lookup"]["result"]["amount_paise"] == 5000


async def test_other_codes_get_a_clear_answer(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        for payload, key in [
            ("upi://pay?pa=shop@upi&pn=Shop&am=100", "qr_upi_not_accepted"),
            ("hello world", "qr_not_recognised"),
            ("EMITRA1|R|broken", "qr_emitra_damaged"),
        ]:
            await citizen.send("verify")
            h.rig.scanner_sim.scan(payload)
            state = await citizen.wait_for(
                lambda s, key=key: (s["lookup"] or {}).get("message_key") == key)
            assert state["lookup"]["status"] == "done"
            assert payload not in str(state)


async def test_an_abandoned_qr_check_returns_home(tmp_path):
    async with KioskHarness(tmp_path, payment={"identify_timeout_s": 1}) as h, h.client() as c:
        await c.send("verify")
        await c.wait_screen("VERIFY")
        await c.wait_screen("IDLE", timeout=5)
        h.rig.scanner_sim.scan("hello world")  # scanned from the home screen, then left
        await c.wait_screen("VERIFY")
        state = await c.wait_screen("IDLE", timeout=5)
        assert state["lookup"] is None
