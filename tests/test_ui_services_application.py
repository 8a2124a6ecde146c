"""Apply for a service on the touch screen, end to end against the real core, the device
simulators and the reference central: the old-age pension form drawn from the catalogue's form
definition (two sections), the core's complaints shown beside their fields (a wrong Aadhaar check
digit), the name typed phonetically (Latin keys -> Devanagari), a date and numbers on the pad, a
district chosen, the two documents photographed by the webcam (a blurred photo refused in plain
words, a sharp one previewed, kept), the review, the ₹10 fee paid with a ₹10 note, and the
application number shown and printed. Screenshots: services-application-<state>-<lang>.png."""

from __future__ import annotations

import asyncio

import pytest

from sim.devices.camera import FrameSource, document_frame
from terminal.form_engine import verhoeff_digit
from tests.test_ui_services import keys, kiosk, no_codes, open_tile, pad, shot

AADHAAR = "49873216540" + verhoeff_digit("49873216540")
WRONG_AADHAAR = AADHAAR[:-1] + str((int(AADHAAR[-1]) + 1) % 10)
WORDS = {
    "hi": {"tile": "वृद्धावस्था पेंशन",
           "title": "वृद्धावस्था पेंशन आवेदन", "name": "कमला देवी", "required": "ज़रूरी",
           "check_digit": "आधार नंबर में कोई अंक गलत है", "done": "आपका आवेदन जमा है",
           "take": "अपनी दोनों पर्चियाँ लें", "doc1": "आधार कार्ड की फ़ोटो",
           "doc2": "आय का प्रमाण", "blurred": "फ़ोटो धुंधली है",
           "docs": "आधार कार्ड की फ़ोटो, आय का प्रमाण"},
    "en": {"tile": "Old-age pension",
           "title": "Old-age pension application", "name": "KAMLA DEVI", "required": "must",
           "check_digit": "A digit of the Aadhaar number is wrong", "done": "your application",
           "take": "Take your slips (2)", "doc1": "Aadhaar card photo", "doc2": "Income proof",
           "blurred": "The photo is blurred", "docs": "Aadhaar card photo, Income proof"},
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


async def new_frame(h) -> None:
    """Wait until the camera has read a frame of what it now shows."""
    camera = h.core.kiosk.camera
    seen = camera.frames
    for _ in range(100):
        if camera.frames > seen + 1:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the camera simulator sent no frame")


async def photograph_documents(h, ui, source, lang: str) -> None:
    """Document 1: blurred (refused), then sharp (previewed, kept); document 2: kept."""
    words = WORDS[lang]
    first = await ui.wait("application", tid="doc_take")
    assert first["texts"]["svc_title"] == words["doc1"]
    await ui.tap("doc_take")
    refused = await ui.wait("application", tid="doc_retake")
    assert refused["texts"]["message"].startswith(words["blurred"])
    assert "doc_keep" not in refused["texts"]  # a blurred photo cannot be kept
    no_codes(refused)
    await shot(ui, "application", "document-refused-blurred", lang)

    source.show(document_frame())
    await new_frame(h)
    await ui.tap("doc_retake")
    preview = await ui.wait("application", tid="doc_keep")
    assert "message" not in preview["texts"] and "doc_no_preview" not in preview["texts"]
    no_codes(preview)
    await shot(ui, "application", "document-preview", lang)
    await ui.tap("doc_keep")

    second = await ui.wait("application", tid="doc_kept_aadhaar_photo")
    assert second["texts"]["svc_title"] == words["doc2"] and "doc_take" in second["texts"]
    no_codes(second)
    await shot(ui, "application", "document-kept", lang)
    await ui.tap("doc_take")
    await ui.wait("application", tid="doc_keep")
    await ui.tap("doc_keep")


@pytest.mark.parametrize("lang", ["hi", "en"])
async def test_apply_for_pension_fee_paid_acknowledged(tmp_path, lang):
    words = WORDS[lang]
    source = FrameSource([document_frame(blur=4.0)], fps=20)  # the paper moved
    async with kiosk(tmp_path, lang, camera_source=source) as (h, ui):
        await new_frame(h)
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
        await photograph_documents(h, ui, source, lang)
        review = await ui.wait("application", tid="form_submit")
        texts = review["texts"]
        assert texts["review_name"].startswith(words["name"])
        assert texts["review_date_of_birth"] == "14-07-1958"
        assert texts["review_aadhaar"] == "XXXX XXXX " + AADHAAR[-4:]
        assert AADHAAR not in str(texts)
        assert texts["svc_r_fee"] == "₹10"
        assert texts["svc_r_documents"] == words["docs"]
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
        # "RCPT-000002" in English; a Hindi screen shows the digits under "रसीद संख्या"
        done = await ui.wait("service_done", tid="receipt_no", contains="0000", timeout=30)
        assert done["texts"]["receipt_no"].startswith("RCPT-") == (lang == "en")
        texts = done["texts"]
        assert texts["svc_number_shown"] == number and words["done"] in texts["done_title"]
        assert texts["take"] == words["take"] and "voucher" not in texts
        no_codes(done)
        await shot(ui, "application", "done", lang)
        assert await h.printer_sim.wait_for_receipts(2, timeout=15)
        assert number in h.printer_sim.texts[1]
        await ui.tap("finish")
        await ui.wait("attract")
