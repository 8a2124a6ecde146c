"""Issue 13's citizen screens against the real core, the simulators and the reference central: a
voucher left by one payment typed on the voucher keypad toward the next bill (and refused the
second time, in words), the receipt by SMS offered after the paper ran out, and a copy of a
receipt from the home screen's "पुरानी रसीद छापें" by its number or from the QR check.

Screenshots: docs/screens/voucher-*, sms-*, reprint-*, verify-reprint-* (both languages)."""

from __future__ import annotations

import asyncio

import pytest

from screens.drive_client import UIProcess
from sim.central.sms_routes import SMS
from tests.harness import KioskHarness
from tests.test_ui import BILL, screen, shot, start_language, to_identify

JVVNL = ("JVVNL", BILL)  # ₹640 due
OTHER_JVVNL = "210487654321"  # ₹187.60 due, another consumer
PHED = ("PHED", "5012345678")  # ₹350 due
MOBILE = "9876543210"
WORDS = {
    "hi": {"used": "वाउचर ₹500 लगा", "already": "यह वाउचर पहले ही इस्तेमाल हो चुका है",
           "sent": "रसीद एसएमएस से भेज दी गई है", "printed": "रसीद की दूसरी प्रति छप गई है",
           "not_found": "इस नंबर की रसीद इस मशीन पर नहीं मिली", "mobile": "मोबाइल नंबर: "},
    "en": {"used": "Voucher ₹500 used", "already": "This voucher has already been used",
           "sent": "The receipt has been sent by SMS",
           "printed": "A duplicate of the receipt has been printed",
           "not_found": "No receipt with that number was found on this machine",
           "mobile": "Mobile number: "},
}


async def pay_by_api(h: KioskHarness, provider: str, number: str, notes: list[int],
                     cancel: bool = False) -> dict:
    """A whole payment through the session API (an earlier citizen), back to IDLE."""
    async with h.client() as citizen:
        assert (await citizen.send("start", provider=provider))["ok"]
        assert (await citizen.send("consumer", number=number))["ok"]
        await citizen.wait_screen("BILL")
        assert (await citizen.send("confirm"))["ok"]
        await citizen.wait_screen("PAYING")
        paid = 0
        for note in notes:
            h.acceptor_sim.insert_note(note)
            paid += note * 100
            await citizen.wait_for(lambda s, p=paid: (s.get("session") or {}).get(
                "paid_paise", 0) >= p or s["screen"] != "PAYING", 15)
        if cancel:
            assert (await citizen.send("cancel"))["ok"]
        done = await citizen.wait_screen("DONE", timeout=30)
        await until(lambda: len(h.printer_sim.texts) >= len(done["session"]["printed"]) > 0)
        assert (await citizen.send("finish"))["ok"]
        await citizen.wait_screen("IDLE")
        return done["session"]


async def until(predicate, timeout: float = 15.0) -> None:
    for _ in range(int(timeout * 10)):
        if predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition never held")


def redeemed_at_central(h: KioskHarness) -> list[tuple[str, int]]:
    return [(v["voucher_id"], v["amount_paise"]) for v in h.central.vouchers()
            if v["status"] == "redeemed"]


async def type_voucher(ui: UIProcess, code: str) -> None:
    """The keypad starts with "V-": the rest, key by key."""
    assert code.startswith("V-")
    for ch in code[2:]:
        await ui.tap("kb_dash" if ch == "-" else f"kb_{ch}")


async def to_bill(ui: UIProcess, lang: str, number: str = BILL) -> None:
    await to_identify(ui, lang)
    await ui.type_digits(number)
    await ui.tap("key_continue")
    await ui.wait("bill")


@pytest.mark.parametrize("lang", ["hi", "en"])
async def test_a_typed_voucher_pays_part_of_the_next_bill_once(tmp_path, lang):
    words = WORDS[lang]
    # JVVNL would take the ₹60 overshoot as an advance: here it must stay a voucher
    async with KioskHarness(tmp_path, payment={"advance_credit": False}) as h:
        left = await pay_by_api(h, *JVVNL, notes=[500], cancel=True)  # a ₹500 voucher slip
        voucher = left["voucher"]
        assert voucher["paise"] == 50000
        await until(lambda: any(v["voucher_id"] == voucher["id"] for v in h.central.vouchers()))
        async with screen(h, tmp_path, lang) as ui:
            await to_bill(ui, lang)
            await ui.tap("use_voucher")  # at the bill step: no note needed first
            keypad = await ui.wait("voucher", tid="voucher_code")
            assert keypad["texts"]["voucher_code"] == "V-"
            assert keypad["texts"]["voucher_due"].endswith("₹640")
            short = "V-" + voucher["id"].rsplit("-", 1)[1]  # the slip's 6-character code
            await type_voucher(ui, short)
            typed = await ui.texts()
            assert typed["texts"]["voucher_code"] == short
            await shot(ui, "voucher-keypad", lang)

            await ui.tap("kb_continue")
            used = await ui.wait("paying", tid="vouchers_in", contains="₹500", timeout=20)
            texts = used["texts"]
            assert texts["vouchers_in"] == words["used"]
            assert texts["amount_paid"] == "₹500" and texts["amount_remaining"] == "₹140"
            assert redeemed_at_central(h) == [(voucher["id"], 50000)]
            assert h.acceptor_sim.stacked == [500]  # no note went in for it
            await shot(ui, "voucher-used", lang)

            h.acceptor_sim.insert_note(200)
            done = await ui.wait("done", timeout=30)
            texts = done["texts"]
            assert texts["done_amount"].endswith("₹640") and "₹60" in texts["voucher"]
            assert texts["done_put_in"].endswith(f"₹700 ({words['used']})")
            assert not texts.get("done_extras")
            await shot(ui, "voucher-done", lang)
            [payment] = h.central.payments()
            assert payment["amount_paise"] == 64000
            [row] = [v for v in h.central.vouchers() if v["voucher_id"] == voucher["id"]]
            assert row["redeemed_txn_id"] == payment["txn_id"]
            await ui.tap("finish")
            await ui.wait("attract")

            # The same slip once more, at the paying step of the next bill: refused, in words.
            await to_bill(ui, lang, OTHER_JVVNL)
            await ui.tap("confirm")
            await ui.wait("paying")
            await ui.tap("use_voucher")
            await ui.wait("voucher", tid="voucher_code")
            await type_voucher(ui, voucher["id"])
            await ui.tap("kb_continue")
            refused = await ui.wait("voucher", tid="message", contains=words["already"],
                                    timeout=20)
            assert refused["texts"]["message"] == words["already"]
            await shot(ui, "voucher-refused", lang)
            assert redeemed_at_central(h) == [(voucher["id"], 50000)]
            await ui.tap("back")
            paying = await ui.wait("paying")
            assert paying["texts"]["amount_paid"] == "₹0" and not paying["texts"].get("vouchers_in")
            await ui.tap("cancel")
            await ui.wait("ended")


@pytest.mark.parametrize("lang", ["hi", "en"])
async def test_receipt_by_sms_after_the_paper_ran_out(tmp_path, lang):
    words = WORDS[lang]
    async with KioskHarness(tmp_path, payment={"advance_credit": False}) as h, \
            screen(h, tmp_path, lang) as ui:
        await to_bill(ui, lang)
        await ui.tap("confirm")
        await ui.wait("paying")
        h.printer_sim.set_paper("out")
        h.acceptor_sim.insert_note(500)
        await ui.wait("paying", tid="amount_paid", contains="₹500")
        h.acceptor_sim.insert_note(200)
        done = await ui.wait("done", tid="sms_offer", timeout=30)
        assert not done["texts"].get("done_extras")
        await shot(ui, "sms-offer", lang)

        await ui.tap("sms_offer")
        await ui.wait("sms", tid="sms_number")
        for digit in "12345":
            await ui.tap(f"svc_key_{digit}")
        short = await ui.texts()
        assert short["texts"]["sms_number"] == "12345"  # continue waits for all 10 digits
        for _ in range(5):
            await ui.tap("svc_key_delete")
        for digit in MOBILE:
            await ui.tap(f"svc_key_{digit}")
        typed = await ui.texts()
        assert typed["texts"]["sms_number"] == "98765 43210"
        await shot(ui, "sms-keypad", lang)

        await ui.tap("svc_key_continue")
        sent = await ui.wait("sms", tid="sms_result", contains=words["sent"], timeout=20)
        texts = sent["texts"]
        assert texts["sms_masked"] == words["mobile"] + "XXXXXX3210"
        assert MOBILE not in " ".join(texts.values())  # only masked on the screen
        await shot(ui, "sms-sent", lang)
        messages = h.central.app[SMS].messages()
        kinds = sorted(m["message_id"].split(":")[0] for m in messages)
        assert kinds == ["receipt", "voucher"]  # the receipt and the ₹60 voucher, once each
        assert all(m["mobile_masked"] == "98******10" for m in messages)

        await ui.tap("back")  # the done screen again: the number, no second offer
        again = await ui.wait("done", tid="done_extras")
        assert again["texts"]["done_extras"] == words["mobile"] + "XXXXXX3210"
        assert "sms_offer" not in again["texts"]
        await ui.tap("finish")
        await ui.wait("attract")


@pytest.mark.parametrize("lang", ["hi", "en"])
async def test_a_copy_of_a_receipt_from_the_home_screen_and_the_qr_check(tmp_path, lang):
    words = WORDS[lang]
    async with KioskHarness(tmp_path) as h:
        paid = await pay_by_api(h, *PHED, notes=[200, 200])
        receipt_no = paid["receipt_no"]
        printed = len(h.printer_sim.texts)
        async with screen(h, tmp_path, lang) as ui:
            await start_language(ui, lang)
            await ui.wait("home", tid="home_reprint")
            await ui.tap("home_reprint")
            entry = await ui.wait("reprint", tid="reprint_number")
            assert entry["texts"]["reprint_number"] == "RCPT-"
            for digit in receipt_no.removeprefix("RCPT-"):
                await ui.tap(f"svc_key_{digit}")
            typed = await ui.texts()
            assert typed["texts"]["reprint_number"] == receipt_no
            await shot(ui, "reprint-entry", lang)

            await ui.tap("svc_key_continue")
            done = await ui.wait("reprint", tid="reprint_result", contains=words["printed"],
                                 timeout=20)
            assert done["texts"]["reprint_receipt_no"] == receipt_no
            assert done["texts"]["reprint_amount"] == "₹350"
            await until(lambda: len(h.printer_sim.texts) == printed + 1)
            copy = h.printer_sim.texts[-1]
            assert "DUPLICATE" in copy and receipt_no in copy
            await shot(ui, "reprint-printed", lang)

            # A number this machine never printed: said so, and another number can be typed.
            await ui.tap("back")
            await ui.wait("home", tid="home_reprint")
            await ui.tap("home_reprint")
            await ui.wait("reprint", tid="reprint_number")
            for digit in "999999":
                await ui.tap(f"svc_key_{digit}")
            await ui.tap("svc_key_continue")
            await ui.wait("reprint", tid="reprint_result", contains=words["not_found"])
            await shot(ui, "reprint-not-found", lang)
            await ui.tap("reprint_again")
            await ui.wait("reprint", tid="reprint_number")
            await ui.tap("back")
            await ui.wait("home")

            # The receipt's QR, found genuine by the QR check: "print a copy" there too.
            from tests.test_ui_verify import printed_receipt_qr

            await ui.tap("tile_verify")
            await ui.wait("verify", tid="verify_scan")
            h.rig.scanner_sim.scan(await printed_receipt_qr(h))
            await ui.wait("verify", tid="verify_reprint", timeout=20)
            await shot(ui, "verify-reprint", lang)
            await ui.tap("verify_reprint")
            await ui.wait("reprint", tid="reprint_result", contains=words["printed"],
                          timeout=20)
            await until(lambda: len(h.printer_sim.texts) == printed + 2)
            await ui.tap("back")
            await ui.wait("home")


@pytest.mark.parametrize("lang", ["hi", "en"])
async def test_an_advance_credit_is_said_on_the_done_screen(tmp_path, lang):
    """₹640 with two ₹500 notes: JVVNL takes advance payment, so the ₹360 over goes to the
    consumer's account (advance credit on) and the done screen says so; no voucher."""
    advance = {"hi": "₹360 जमा — अगले बिल में घटेगा",
               "en": "₹360 credited — taken off your next bill"}[lang]
    async with KioskHarness(tmp_path, payment={"advance_credit": True}) as h, \
            screen(h, tmp_path, lang) as ui:
        await to_bill(ui, lang)
        await ui.tap("confirm")
        await ui.wait("paying")
        h.acceptor_sim.insert_note(500)
        await ui.wait("paying", tid="amount_paid", contains="₹500")
        h.acceptor_sim.insert_note(500)
        done = await ui.wait("done", tid="done_extras", timeout=30)
        texts = done["texts"]
        assert texts["done_extras"] == advance
        assert texts["done_amount"].endswith("₹640") and not texts.get("voucher")
        await shot(ui, "advance-done", lang)
