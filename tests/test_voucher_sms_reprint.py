"""Proof the citizen takes home when paper fails (issue 13): SMS receipts (offered when the printer
failed or the receipt is provisional; sent once per receipt; the number kept masked) and a
citizen's reprint by receipt number or receipt QR within the configured window, marked
DUPLICATE and journaled. Real core, simulators on ptys, the reference central on loopback."""

import asyncio
import sqlite3

from harness import KioskHarness

from sim.central.sms_routes import SMS
from terminal.invariant import check_journal
from terminal.journal import Journal

PHED = ("PHED", "5012345678")  # ₹350 due; water takes advance payment
BSNL = ("BSNL", "0141350350")  # ₹350 due; no advance payment: ₹50 over is a voucher
MOBILE = "9876543210"


async def pay_phed(citizen, h, before_last=None, bill=PHED):
    """₹400 for a ₹350 bill: PHED's ₹50 over is an advance credit, BSNL's a voucher."""
    assert (await citizen.send("start", provider=bill[0]))["ok"]
    assert (await citizen.send("consumer", number=bill[1]))["ok"]
    await citizen.wait_screen("BILL")
    assert (await citizen.send("confirm"))["ok"]
    await citizen.wait_screen("PAYING")
    h.acceptor_sim.insert_note(200)
    await citizen.wait_for(lambda s: s["session"]["paid_paise"] == 20000)
    if before_last is not None:
        await before_last()
    h.acceptor_sim.insert_note(200)
    return await citizen.wait_screen("DONE", timeout=30)


def sms(h) -> list[dict]:
    return h.central.app[SMS].messages()


async def wait_for(predicate, timeout=15.0):
    for _ in range(int(timeout * 10)):
        if predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition never held")


def journal_kinds(h, kind) -> list:
    journal = Journal(h.config["journal"]["path"])
    try:
        return list(journal.events(kinds=(kind,)))
    finally:
        journal.close()


async def test_sms_offered_when_the_printer_fails_and_sent_once(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        async def paper_runs_out():
            h.printer_sim.paper_out_after_lines(8)

        done = await pay_phed(citizen, h, paper_runs_out, bill=BSNL)
        session = done["session"]
        assert "receipt" in session["print_failed"]
        assert session["sms"]["offer"] is True and session["sms"]["mobile_masked"] is None
        bad = await citizen.send("mobile", number="12345")
        assert not bad["ok"] and bad["message_key"] == "mobile_invalid"
        assert (await citizen.send("mobile", number=MOBILE))["ok"]
        state = await citizen.wait_for(lambda s: s["message"]["key"] == "sms_sent")
        assert state["session"]["sms"]["offer"] is False
        assert state["session"]["sms"]["mobile_masked"].endswith("3210")
        again = await citizen.send("mobile", number="9123456780")
        assert not again["ok"] and again["message_key"] == "mobile_already_given"
        messages = sms(h)
        ids = sorted(m["message_id"] for m in messages)
        txn, voucher = session["txn_id"], session["voucher"]["id"]
        assert ids == sorted([f"receipt:{txn}", f"voucher:{voucher}"])
        receipt = next(m for m in messages if m["message_id"] == f"receipt:{txn}")
        assert session["receipt_no"] in receipt["text"] and "₹350" in receipt["text"]
        assert all(m["mobile_masked"] == "98******10" for m in messages)
        # The number is in the journal only encrypted (and masked beside it).
        raw = sqlite3.connect(h.config["journal"]["path"])
        try:
            rows = " ".join(r[0] for r in raw.execute("SELECT data FROM events"))
        finally:
            raw.close()
        assert MOBILE not in rows
        [given] = journal_kinds(h, "mobile_given")
        assert given.data["mobile"] == MOBILE  # decrypted with the journal's key
        # Restarted, the core sends nothing again.
        await h.stop_core()
        await h.start_core()
        await asyncio.sleep(1.0)
        assert len(sms(h)) == 2 and len(journal_kinds(h, "sms_sent")) == 2
        assert check_journal(Journal(h.config["journal"]["path"]))["ok"]


async def test_provisional_receipt_by_sms_then_the_final_one_once_posted(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        async def central_goes_down():
            assert (await citizen.send("mobile", number=MOBILE))["ok"]
            await h.central.stop()

        done = await pay_phed(citizen, h, central_goes_down)
        session = done["session"]
        assert session["provisional"] is True
        assert sms(h) == []  # central was down: nothing could be sent
        await h.central.start()  # same port, same database
        h.core.kiosk.outbox.kick()
        txn = session["txn_id"]
        await wait_for(lambda: any(m["message_id"] == f"receipt:{txn}" for m in sms(h)))
        [final] = [m for m in sms(h) if m["message_id"] == f"receipt:{txn}"]
        [payment] = h.central.payments()
        assert payment["receipt_no"] in final["text"]
        await asyncio.sleep(1.0)
        assert [m["message_id"] for m in sms(h)].count(f"receipt:{txn}") == 1


async def test_reprint_by_number_and_by_qr_within_the_window_only(tmp_path):
    async with KioskHarness(tmp_path, payment={"reprint_window_s": 3}) as h, \
            h.client() as citizen:
        done = await pay_phed(citizen, h, bill=BSNL)
        receipt_no = done["session"]["receipt_no"]
        await wait_for(lambda: len(h.printer_sim.texts) >= 2)  # receipt and voucher
        assert (await citizen.send("finish"))["ok"]
        await citizen.wait_screen("IDLE")

        printed = len(h.printer_sim.texts)
        assert (await citizen.send("reprint", receipt_no=receipt_no.lower()))["ok"]
        state = await citizen.wait_for(lambda s: (s["lookup"] or {}).get("status") == "done")
        assert state["lookup"]["message_key"] == "reprint_printed"
        await wait_for(lambda: len(h.printer_sim.texts) == printed + 1)
        copy = h.printer_sim.texts[-1]
        assert "DUPLICATE" in copy and receipt_no in copy

        # By its QR: "verify a receipt", the QR found genuine, then "print again".
        assert (await citizen.send("finish"))["ok"]
        assert (await citizen.send("verify"))["ok"]
        payload = f"EMITRA1|R|{done['session']['txn_id']}|{h.central.payments()[0]['verification']}"
        assert (await citizen.send("scan", payload=payload))["ok"]
        await citizen.wait_for(lambda s: (s["lookup"] or {}).get("message_key")
                               == "qr_receipt_genuine")
        assert (await citizen.send("reprint"))["ok"]
        await wait_for(lambda: len(h.printer_sim.texts) == printed + 2)

        third = await citizen.send("reprint", receipt_no=receipt_no)
        assert not third["ok"] and third["message_key"] == "reprint_limit"
        unknown = await citizen.send("reprint", receipt_no="RCPT-999999")
        assert not unknown["ok"] and unknown["message_key"] == "reprint_not_found"
        assert [e.data["source"] for e in journal_kinds(h, "reprinted")] == ["receipt_no", "qr"]

        await asyncio.sleep(3.2)  # outside the window now
        late = await citizen.send("reprint", receipt_no=receipt_no)
        assert not late["ok"] and late["message_key"] == "reprint_too_old"
        assert len(h.printer_sim.texts) == printed + 2


async def test_walk_away_voucher_is_bound_to_the_mobile_given_and_sent_by_sms(tmp_path):
    timeouts = {"cash_idle_timeout_s": 1, "more_time_timeout_s": 1}
    async with KioskHarness(tmp_path, payment=timeouts) as h, h.client() as citizen:
        assert (await citizen.send("start", provider=PHED[0]))["ok"]
        assert (await citizen.send("consumer", number=PHED[1]))["ok"]
        await citizen.wait_screen("BILL")
        assert (await citizen.send("confirm"))["ok"]
        await citizen.wait_screen("PAYING")
        h.acceptor_sim.insert_note(100)
        await citizen.wait_for(lambda s: s["session"]["paid_paise"] == 10000)
        assert (await citizen.send("mobile", number=MOBILE))["ok"]
        done = await citizen.wait_screen("DONE", timeout=15)  # walked away
        voucher = done["session"]["voucher"]
        await wait_for(lambda: any(m["message_id"] == f"voucher:{voucher['id']}" for m in sms(h)))
        [text] = [m["text"] for m in sms(h) if m["message_id"] == f"voucher:{voucher['id']}"]
        assert voucher["id"] in text and "₹100" in text and "5678" in text
        with h.central.store._tx() as db:
            row = db.execute("SELECT provider, consumer_number, mobile FROM voucher_terms"
                             " WHERE voucher_id = ?", (voucher["id"],)).fetchone()
        assert tuple(row) == ("PHED", PHED[1], MOBILE)
