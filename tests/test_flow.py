"""Whole transactions through the session API, against the real core, the CCNET and printer
simulators on ptys and the reference central server on loopback."""

import asyncio

import pytest
from harness import KioskHarness
from PIL import Image
from pyzbar.pyzbar import decode

from sim.central import voucher_routes
from terminal import advance_credit
from terminal.invariant import check_journal
from terminal.journal import Journal

JVVNL_640 = ("JVVNL", "210412345678")  # electricity: an overshoot is credited to the account
BSNL_640 = ("BSNL", "0141640640")  # phone: no advance payment, an overshoot is a voucher
PHED_350 = ("PHED", "5012345678")


async def open_bill(citizen, provider, number):
    assert (await citizen.send("start", provider=provider))["ok"]
    assert (await citizen.send("consumer", number=number))["ok"]
    await citizen.wait_screen("BILL")
    assert (await citizen.send("confirm"))["ok"]
    return await citizen.wait_screen("PAYING")


async def paid(citizen, paise, timeout=10):
    return await citizen.wait_for(lambda s: (s["session"] or {}).get("paid_paise") == paise,
                                  timeout)


def journal_report(h):
    return check_journal(Journal(h.config["journal"]["path"]))


async def wait_outbox_empty(h, timeout=10):
    for _ in range(int(timeout * 10)):
        report = journal_report(h)
        if report["totals"]["pending"] == 0 and h.core.kiosk.outbox.depth() == 0:
            return report
        await asyncio.sleep(0.1)
    raise AssertionError(f"outbox not empty: {journal_report(h)}")


async def test_pay_with_overshoot_voucher_and_rejected_note(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        state = await open_bill(citizen, *BSNL_640)
        assert state["session"]["due_paise"] == 64000
        assert state["session"]["bill"]["consumer_name_masked"] == "Fa**** Kh**"
        # ₹2000 would overshoot ₹640 by ₹1360, over BSNL's ₹500 voucher limit (catalogue).
        assert 200000 not in state["session"]["accepted_now_paise"]

        h.acceptor_sim.insert_note(500)
        state = await paid(citizen, 50000)
        assert state["session"]["remaining_paise"] == 14000
        assert state["session"]["cash_in_machine"] is True
        assert 200000 not in state["session"]["accepted_now_paise"]
        assert 50000 in state["session"]["accepted_now_paise"]  # ₹360 over: within ₹500

        h.acceptor_sim.insert_note(2000)
        state = await citizen.wait_for(lambda s: s["session"]["last_returned"] is not None)
        assert state["session"]["paid_paise"] == 50000

        h.acceptor_sim.insert_note(200)
        done = await citizen.wait_screen("DONE", timeout=20)
        s = done["session"]
        assert s["paid_paise"] == 70000 and s["amount_paise"] == 64000
        assert s["voucher"]["paise"] == 6000
        assert s["receipt_no"] == "RCPT-000001" and not s["provisional"]
        assert s["printed"] == ["receipt", "voucher"]
        assert done["message"]["key"] == "payment_successful"

        assert h.acceptor_sim.stacked == [500, 200]
        assert 2000 in h.acceptor_sim.returned
        payments = h.central.payments()
        assert len(payments) == 1 and payments[0]["amount_paise"] == 64000
        await wait_outbox_empty(h)
        assert [v["amount_paise"] for v in h.central.vouchers()] == [6000]
        report = journal_report(h)
        assert report["ok"] and report["totals"]["credited"] == 70000

        # The receipt's QR, read back from the printed picture, verifies at central.
        for _ in range(30):
            if len(h.printer_sim.receipts) >= 2:
                break
            await asyncio.sleep(0.1)
        codes = [c.data.decode() for c in decode(Image.open(h.printer_sim.receipts[0]))]
        assert len(codes) == 1
        _, kind, txn_id, code = codes[0].split("|")
        assert kind == "R" and txn_id == s["txn_id"]
        verdict = await h.core.central.verify_receipt(txn_id, code)
        assert verdict["result"] == "genuine" and verdict["amount_paise"] == 64000
        forged = await h.core.central.verify_receipt(txn_id, "0" * 16)
        assert forged["result"] == "not_genuine"


@pytest.mark.parametrize("bill", [JVVNL_640, BSNL_640], ids=["advance", "voucher"])
async def test_640_bill_with_two_500_notes_completes(tmp_path, bill):
    """The citizen with only ₹500 notes (issue 13): electricity takes the ₹360 over as an
    advance on the consumer's account (no voucher); a phone bill leaves a ₹360 voucher."""
    advance = bill is JVVNL_640
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await open_bill(citizen, *bill)
        h.acceptor_sim.insert_note(500)
        state = await paid(citizen, 50000)
        assert 50000 in state["session"]["accepted_now_paise"]  # ₹360 over is taken
        h.acceptor_sim.insert_note(500)
        done = await citizen.wait_screen("DONE", timeout=20)
        s = done["session"]
        assert s["paid_paise"] == 100000 and s["amount_paise"] == 64000
        assert done["message"]["key"] == "payment_successful"
        assert h.acceptor_sim.stacked == [500, 500] and h.acceptor_sim.returned == []
        report = await wait_outbox_empty(h)
        [payment] = h.central.payments()
        assert payment["amount_paise"] == 64000 and payment["tendered_paise"] == 100000
        totals = report["totals"]
        assert report["ok"] and totals["credited"] == 100000 and totals["posted"] == 64000
        if advance:
            assert s["voucher"] is None and s["advance"]["paise"] == 36000
            assert s["advance"]["text_hi"] == "₹360 जमा — अगले बिल में घटेगा"
            assert s["printed"] == ["receipt"]  # no voucher slip
            [credit] = voucher_routes.advances(h.central.store)
            assert (credit["txn_id"], credit["advance_paise"]) == (s["txn_id"], 36000)
            assert credit["consumer_number"] == bill[1]
            assert h.central.vouchers() == []
            assert totals["advance"] == 36000 and totals["voucher"] == 0
        else:
            assert s["advance"] is None and s["voucher"]["paise"] == 36000
            assert s["printed"] == ["receipt", "voucher"]
            assert voucher_routes.advances(h.central.store) == []
            assert [v["amount_paise"] for v in h.central.vouchers()] == [36000]
            assert totals["advance"] == 0 and totals["voucher"] == 36000


async def test_exact_payment_prints_one_receipt_and_no_voucher(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await open_bill(citizen, *PHED_350)
        for rupees, total in ((200, 20000), (100, 30000), (50, 35000)):
            h.acceptor_sim.insert_note(rupees)
            await paid(citizen, total)
        done = await citizen.wait_screen("DONE", timeout=20)
        assert done["session"]["voucher"] is None
        assert done["session"]["printed"] == ["receipt"]
        assert h.central.vouchers() == []


async def test_cancel_before_cash_takes_no_note(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await open_bill(citizen, *JVVNL_640)
        assert (await citizen.send("cancel"))["ok"]
        await citizen.wait_screen("CANCELLED")
        h.acceptor_sim.insert_note(100)
        await asyncio.sleep(1.5)
        assert h.acceptor_sim.stacked == []
        assert journal_report(h)["totals"]["credited"] == 0
        assert (await citizen.send("finish"))["ok"]
        await citizen.wait_screen("IDLE")


async def test_cancel_after_cash_completes_as_voucher(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await open_bill(citizen, *JVVNL_640)
        h.acceptor_sim.insert_note(100)
        await paid(citizen, 10000)
        assert (await citizen.send("cancel"))["ok"]
        done = await citizen.wait_screen("DONE", timeout=20)
        assert done["session"]["amount_paise"] == 0
        assert done["session"]["voucher"]["paise"] == 10000
        assert done["message"]["key"] == "voucher_issued"
        assert h.central.payments() == []
        await wait_outbox_empty(h)
        assert [v["amount_paise"] for v in h.central.vouchers()] == [10000]


async def test_citizen_walks_away_with_cash_in_gets_voucher_never_a_loss(tmp_path):
    timeouts = {"cash_idle_timeout_s": 1, "more_time_timeout_s": 1}
    async with KioskHarness(tmp_path, payment=timeouts) as h, h.client() as citizen:
        await open_bill(citizen, *JVVNL_640)
        h.acceptor_sim.insert_note(50)
        await paid(citizen, 5000)
        await citizen.wait_for(lambda s: s["ask_more_time"], timeout=5)
        done = await citizen.wait_screen("DONE", timeout=10)
        assert done["session"]["voucher"]["paise"] == 5000


async def test_more_time_keeps_the_session(tmp_path):
    timeouts = {"cash_idle_timeout_s": 1, "more_time_timeout_s": 2}
    async with KioskHarness(tmp_path, payment=timeouts) as h, h.client() as citizen:
        await open_bill(citizen, *JVVNL_640)
        await citizen.wait_for(lambda s: s["ask_more_time"], timeout=5)
        assert (await citizen.send("more_time"))["ok"]
        state = await citizen.wait_for(lambda s: not s["ask_more_time"])
        assert state["screen"] == "PAYING"
        # No cash and no answer the second time: the session simply ends.
        await citizen.wait_screen("TIMEOUT", timeout=10)
        assert h.acceptor_sim.stacked == []


async def test_idle_citizen_at_number_entry_times_out(tmp_path):
    async with KioskHarness(tmp_path, payment={"identify_timeout_s": 1,
                                               "done_screen_s": 1}) as h, h.client() as citizen:
        await citizen.send("start", provider="JVVNL")
        await citizen.wait_screen("TIMEOUT", timeout=5)
        await citizen.wait_screen("IDLE", timeout=5)
        assert h.core.kiosk.session is None


@pytest.mark.parametrize("failure", ["http500", "garbage"])
async def test_central_failing_at_posting_gives_provisional_receipt_then_posts_once(
        tmp_path, failure):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await open_bill(citizen, *PHED_350)
        h.central.fail_next(failure, count=3)
        h.acceptor_sim.insert_note(200)
        await paid(citizen, 20000)
        h.acceptor_sim.insert_note(200)
        done = await citizen.wait_screen("DONE", timeout=20)
        s = done["session"]
        assert s["provisional"] is True and s["receipt_no"] is None
        assert done["message"]["key"] == "paid_provisional"
        report = await wait_outbox_empty(h, timeout=15)
        assert report["ok"]
        payments = h.central.payments()
        assert len(payments) == 1 and payments[0]["txn_id"] == s["txn_id"]


async def test_central_unreachable_at_posting_then_back(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await open_bill(citizen, *PHED_350)
        await h.central.stop()
        h.acceptor_sim.insert_note(200)
        await paid(citizen, 20000)
        h.acceptor_sim.insert_note(200)
        done = await citizen.wait_screen("DONE", timeout=30)
        assert done["session"]["provisional"] is True
        # Water takes advance payment: the ₹50 over waits in the outbox with the payment (the
        # back-to-back dialect has no advance: there it is a voucher, as before).
        advance = advance_credit.enabled(h.config)
        if advance:
            assert done["session"]["voucher"] is None
            assert done["session"]["advance"]["paise"] == 5000
            assert journal_report(h)["totals"]["pending"] == 40000
        else:
            assert done["session"]["voucher"]["paise"] == 5000
        assert h.core.kiosk.outbox.depth() == 1
        await h.central.start()  # same port, same database
        h.core.kiosk.outbox.kick()
        report = await wait_outbox_empty(h, timeout=15)
        assert report["ok"] and report["totals"]["posted"] == 35000
        assert report["totals"]["advance"] == (5000 if advance else 0)
        assert len(h.central.payments()) == 1
        credits = [a["advance_paise"] for a in voucher_routes.advances(h.central.store)]
        assert credits == ([5000] if advance else [])


@pytest.mark.parametrize(
    ("number", "setup", "key"),
    [
        ("12", None, "consumer_number_invalid"),
        ("21041234567x", None, "consumer_number_invalid"),
        ("999999999", None, "bill_not_found"),
        ("210400000001", None, "bill_already_paid"),
        ("210412345678", "http500", "central_unavailable"),
        ("210412345678", "garbage", "central_unavailable"),
    ],
)
async def test_bill_lookup_problems_are_clear_and_recoverable(tmp_path, number, setup, key):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await citizen.send("start", provider="JVVNL")
        if setup:
            h.central.fail_next(setup, count=1)
        result = await citizen.send("consumer", number=number)
        assert result["ok"] is False and result["message_key"] == key
        assert citizen.state["screen"] == "IDENTIFY" and not citizen.state["busy"]
        # The citizen can correct it and go on.
        assert (await citizen.send("consumer", number="210412345678"))["ok"]
        await citizen.wait_screen("BILL")


async def test_corrupt_acceptor_reply_loses_nothing(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await open_bill(citizen, *PHED_350)
        h.acceptor_sim.corrupt_next_reply()
        h.acceptor_sim.insert_note(200)
        await paid(citizen, 20000)
        h.acceptor_sim.corrupt_next_reply()
        h.acceptor_sim.insert_note(200)
        done = await citizen.wait_screen("DONE", timeout=20)
        assert done["session"]["paid_paise"] == 40000
        assert h.acceptor_sim.stacked == [200, 200]


async def test_no_cash_payment_without_paper(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        h.printer_sim.set_paper("out")
        await citizen.send("start", provider="JVVNL")
        await citizen.send("consumer", number="210412345678")
        await citizen.wait_screen("BILL")
        result = await citizen.send("confirm")
        assert result["ok"] is False and result["message_key"] == "service_unavailable"
        assert "printer_out_of_paper" in citizen.state["services"]["reasons"]
        h.acceptor_sim.insert_note(100)
        await asyncio.sleep(1.0)
        assert h.acceptor_sim.stacked == []


async def test_screen_reconnect_gets_the_payment_in_progress(tmp_path):
    async with KioskHarness(tmp_path) as h:
        async with h.client() as first:
            await open_bill(first, *JVVNL_640)
            h.acceptor_sim.insert_note(500)
            await paid(first, 50000)
        async with h.client() as second:  # the UI restarted
            assert second.state["screen"] == "PAYING"
            assert second.state["session"]["paid_paise"] == 50000


async def test_malformed_intents_get_clear_errors(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        assert (await citizen.send("fly"))["message_key"] == "unknown_intent"
        assert (await citizen.send("start", provider="NOPE"))["message_key"] == "bad_request"
        assert (await citizen.send("confirm"))["message_key"] == "not_now"
        await citizen._ws.send_str("{not json")
        await asyncio.sleep(0.2)
        assert citizen.state["screen"] == "IDLE"
