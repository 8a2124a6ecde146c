"""Apply for a service on the touch screen, end to end against the real core, the device
simulators and the reference central: the old-age pension form drawn from the catalogue's form
definition (two sections), the core's complaints shown beside their fields (a wrong Aadhaar check
digit), the name typed phonetically (Latin keys -> Devanagari), a date and numbers on the pad, a
district chosen, the review, the ₹10 fee paid with a ₹10 note, and the application number shown
and printed. Screenshots: services-application-<state>-<lang>.png."""

from __future__ import annotations

import pytest

from terminal.form_engine import verhoeff_digit
from tests.test_ui_services import keys, kiosk, no_codes, open_tile, pad, shot

AADHAAR = "49873216540" + verhoeff_digit("49873216540")
WRONG_AADHAAR = AADHAAR[:-1] + str((int(AADHAAR[-1]) + 1) % 10)
WORDS = {
    "hi": {"tile": "वृद्धावस्था पेंशन",
           "title": "वृद्धावस्था पेंशन आवेदन", "name": "कमला देवी", "required": "ज़रूरी",
           "check_digit": "आधार नंबर में कोई अंक गलत है", "done": "आपका आवेदन जमा है",
           "take": "अपनी दोनों पर्चियाँ लें"},
    "en": {"tile": "Old-age pension",
           "title": "Old-age pension application", "name": "KAMLA DEVI", "required": "must",
           "check_digit": "A digit of the Aadhaar number is wrong", "done": "your application",
           "take": "Take your slips (2)"},
}


async def fill_name(ui, lang: str) -> None:
    await ui.tap("field_name")
    await ui.wait("application", tid="kb_continue")
    if lang == "hi":
        await ui.tap("kb_layout_phonetic")  # Latin keys, Devanagari out
        await ui.wait("application", tid="svc_phonetic_hint")
        await keys(ui, "KAMALA")
        await ui.tap("kb_space")
        await keys(ui, "DEVEE")
        await ui.wait("application", tid="svc_typed", contains="कमला देवी")
        await shot(ui, "application", "keyboard-phonetic", lang)
        await ui.tap("kb_layout_deva")
        await ui.wait("application", tid="kb_क")
        await shot(ui, "application", "keyboard-devanagari", lang)
    else:
        await keys(ui, "KAMLA")
        await ui.tap("kb_space")
        await keys(ui, "DEVI")
        await shot(ui, "application", "keyboard", lang)
    await ui.tap("kb_continue")


@pytest.mark.parametrize("lang", ["hi", "en"])
async def test_apply_for_pension_fee_paid_acknowledged(tmp_path, lang):
    words = WORDS[lang]
    async with kiosk(tmp_path, lang) as (h, ui):
        # the one service to apply for on this machine: its name on the tile, and its fee
        home = await open_tile(ui, "tile_application", words["tile"])
        assert "₹10" in home["tile_application_sub"]
        page = await ui.wait("application", tid="field_name")
        assert page["texts"]["svc_title"] == words["title"]
        assert {"field_name", "field_date_of_birth", "field_mobile"} <= set(page["texts"])
        assert "field_aadhaar" not in page["texts"]  # the second section, on the next page
        await shot(ui, "application", "form", lang)

        await fill_name(ui, lang)
        filled = await ui.wait("application", tid="value_name", contains=words["name"])
        assert filled["texts"]["value_name"].startswith(words["name"])

        await ui.tap("field_date_of_birth")
        await ui.wait("application", tid="svc_key_0")
        await pad(ui, "14071958")
        date = await ui.texts()
        assert date["texts"]["svc_typed"] == "14-07-1958"
        await shot(ui, "application", "date", lang)
        await ui.tap("svc_key_continue")
        await ui.wait("application", tid="value_date_of_birth", contains="14-07-1958")

        await ui.tap("field_mobile")
        await pad(ui, "9414012345")
        await ui.tap("svc_key_continue")
        await ui.tap("form_next")
        second = await ui.wait("application", tid="field_jan_aadhaar")
        assert "field_name" not in second["texts"]
        await ui.tap("field_jan_aadhaar")
        await pad(ui, "1098765432")
        await ui.tap("svc_key_continue")
        await ui.tap("field_aadhaar")
        await pad(ui, WRONG_AADHAAR)
        await ui.tap("svc_key_continue")
        await ui.tap("field_district")
        choice = await ui.wait("application", tid="choice_Jaipur")
        assert {"choice_Ajmer", "choice_Jodhpur"} <= set(choice["texts"])
        await shot(ui, "application", "choice", lang)
        await ui.tap("choice_Jaipur")

        await ui.tap("form_next")  # the core checks: the Aadhaar check digit is wrong
        wrong = await ui.wait("application", tid="error_aadhaar")
        assert wrong["texts"]["error_aadhaar"].startswith(words["check_digit"])
        assert wrong["texts"]["value_aadhaar"] == "XXXX XXXX " + WRONG_AADHAAR[-4:]
        no_codes(wrong)
        await shot(ui, "application", "error", lang)

        await ui.tap("field_aadhaar")
        await pad(ui, AADHAAR)
        await ui.tap("svc_key_continue")
        await ui.tap("form_next")
        review = await ui.wait("application", tid="form_submit")
        texts = review["texts"]
        assert texts["review_name"].startswith(words["name"])
        assert texts["review_date_of_birth"] == "14-07-1958"
        assert texts["review_aadhaar"] == "XXXX XXXX " + AADHAAR[-4:]
        assert AADHAAR not in str(texts)
        assert texts["svc_r_fee"] == "₹10"
        no_codes(review)
        await shot(ui, "application", "review", lang)

        await ui.tap("form_submit")
        fee = await ui.wait("service_fee", tid="confirm", timeout=20)
        number = fee["texts"]["svc_number_shown"]
        assert len(number) == 13 and fee["texts"]["svc_fee"] == "₹10"
        await shot(ui, "application", "fee", lang)
        await ui.tap("confirm")
        await ui.wait("paying")
        h.acceptor_sim.insert_note(10)
        done = await ui.wait("service_done", tid="receipt_no", contains="RCPT-", timeout=30)
        texts = done["texts"]
        assert texts["svc_number_shown"] == number and words["done"] in texts["done_title"]
        assert texts["take"] == words["take"] and "voucher" not in texts
        no_codes(done)
        await shot(ui, "application", "done", lang)
        assert await h.printer_sim.wait_for_receipts(2, timeout=15)
        assert number in h.printer_sim.texts[1]
        await ui.tap("finish")
        await ui.wait("attract")
