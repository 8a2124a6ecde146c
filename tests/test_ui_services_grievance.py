"""A grievance on the touch screen, end to end against the real core, the note acceptor, printer
and camera simulators and the reference central: department, problem, the complaint typed on the
on-screen keyboard, the mobile number on the pad, a webcam photo taken then kept, the review, the
₹5 fee paid with a ₹10 note on the bill's paying screen, and the grievance number on the screen
and on the printed slip. Screenshots: services-grievance-<state>-<lang>.png."""

from __future__ import annotations

import asyncio

import pytest

from sim.devices.camera import FrameSource, empty_frame, face_frame
from tests.test_ui_services import kiosk, no_codes, open_tile, pad, shot

MOBILE = "9829012345"
TYPED = {"hi": ["प", "ा", "न", "ी", "space", "न", "ह", "ी", "ं"], "en": list("NO WATER")}
WORDS = {
    "hi": {"tile": "शिकायत करें",
           "dept": "शिकायत किस बारे में है?", "fee_note": "₹5", "cat": "क्या परेशानी है?",
           "typed": "पानी नहीं", "photo_kept": "फ़ोटो ले ली गई", "fee": "₹5",
           "done": "आपकी शिकायत दर्ज है",
           "slips": "अपनी तीनों पर्चियाँ लें"},
    "en": {"tile": "Make a complaint",
           "dept": "What is the complaint about?", "fee_note": "₹5", "cat": "What is the problem?",
           "typed": "NO WATER", "photo_kept": "Photo taken", "fee": "₹5",
           "done": "your complaint is",
           "slips": "Take your slips (3)"},
}


async def wait_for_frame(h) -> None:
    for _ in range(100):
        camera = h.core.kiosk.camera
        if camera is not None and camera.latest_frame() is not None:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the camera simulator sent no frame")


def typed_keys(lang: str) -> list[str]:
    return [("space" if k == " " else k) for k in TYPED[lang]]


@pytest.mark.parametrize("lang", ["hi", "en"])
async def test_grievance_typed_with_photo_fee_paid_and_number_shown(tmp_path, lang):
    words = WORDS[lang]
    source = FrameSource([empty_frame()], fps=20)  # nobody there: the attract screen shows
    async with kiosk(tmp_path, lang, camera_source=source) as (h, ui):
        source.show(face_frame())  # the citizen, now at the screen, in the photo
        await wait_for_frame(h)
        home = await open_tile(ui, "tile_grievance", words["tile"])
        assert home["tile_grievance_sub"].endswith("₹5")  # the fee, on the tile
        dept = await ui.wait("grievance", tid="dept_PHED")
        assert dept["texts"]["svc_title"] == words["dept"]
        assert words["fee_note"] in dept["texts"]["svc_prompt"]  # the fee is said up front
        assert {"dept_PHED", "dept_ENERGY", "dept_FOOD"} <= set(dept["texts"])
        await shot(ui, "grievance", "department", lang)

        await ui.tap("dept_PHED")
        category = await ui.wait("grievance", tid="cat_no_supply")
        assert category["texts"]["svc_title"] == words["cat"]
        await shot(ui, "grievance", "category", lang)
        await ui.tap("cat_no_supply")
        complaint = await ui.wait("grievance", tid="complaint_type")
        assert "complaint_days" in complaint["texts"]
        await shot(ui, "grievance", "complaint", lang)

        await ui.tap("complaint_type")
        await ui.wait("grievance", tid="kb_continue")
        for key in typed_keys(lang):
            await ui.tap("kb_space" if key == "space" else f"kb_{key}")
        typed = await ui.wait("grievance", tid="svc_text", contains=words["typed"])
        no_codes(typed)
        await shot(ui, "grievance", "typing", lang)

        await ui.tap("kb_continue")
        await ui.wait("grievance", tid="svc_key_0")
        await pad(ui, "12345")  # too short: continue stays grey
        geom = await ui.cmd(cmd="geom")
        assert geom["boxes"]["svc_key_continue"][4] is False
        for _ in range(5):
            await ui.tap("svc_key_delete")
        await pad(ui, MOBILE)
        mobile = await ui.texts()
        assert mobile["texts"]["svc_mobile"] == "9829 0123 45"
        await shot(ui, "grievance", "mobile", lang)

        await ui.tap("svc_key_continue")
        await ui.wait("grievance", tid="photo_take")
        await shot(ui, "grievance", "photo", lang)
        await ui.tap("photo_take")
        review = await ui.wait("grievance", tid="grievance_send")
        texts = review["texts"]
        assert texts["svc_r_complaint"] == words["typed"]
        assert texts["svc_r_mobile"] == "XXXXXX2345" and MOBILE not in str(texts)
        assert "photo_retake" in texts and texts["svc_photo_note"].startswith(words["photo_kept"])
        assert texts["svc_r_fee"] == words["fee"]
        geom = await ui.cmd(cmd="geom")
        x, y, w, hgt, _tappable = geom["boxes"]["svc_photo_preview"]  # the photo itself
        assert w > 200 and hgt > 150 and y + hgt <= 800 - 104  # big enough, under the header
        for tid in ("photo_retake", "photo_skip", "grievance_send"):
            assert geom["boxes"][tid][4], tid
        no_codes(review)
        await shot(ui, "grievance", "photo-preview", lang)

        await ui.tap("grievance_send")
        fee = await ui.wait("service_fee", tid="confirm", timeout=20)
        number = fee["texts"]["svc_number_shown"]
        assert len(number) == 13 and number.isdigit()
        assert fee["texts"]["svc_fee"] == "₹5"
        no_codes(fee)
        await shot(ui, "grievance", "fee", lang)

        await ui.tap("confirm")
        await ui.wait("paying")
        h.acceptor_sim.insert_note(10)
        # "RCPT-000002" in English; a Hindi screen shows the digits under "रसीद संख्या"
        done = await ui.wait("service_done", tid="receipt_no", contains="0000", timeout=30)
        assert done["texts"]["receipt_no"].startswith("RCPT-") == (lang == "en")
        texts = done["texts"]
        assert texts["svc_number_shown"] == number
        assert words["done"] in texts["done_title"]
        assert texts["voucher"] == "₹5"
        assert texts["take"] == words["slips"]
        no_codes(done)
        await shot(ui, "grievance", "done", lang)

        assert await h.printer_sim.wait_for_receipts(3, timeout=15)
        assert number in h.printer_sim.texts[2]
        rows = h.central.grievances()
        assert len(rows) == 1 and rows[0]["grievance_no"] == number
        assert rows[0]["mobile"] == MOBILE and rows[0]["photo_bytes"] > 1000
        assert rows[0]["description"] == words["typed"]
        await ui.tap("finish")
        await ui.wait("attract")


async def test_grievance_common_complaint_without_photo_and_back_steps(tmp_path):
    async with kiosk(tmp_path, "hi") as (h, ui):
        await open_tile(ui, "tile_grievance", "शिकायत")
        await ui.wait("grievance", tid="dept_ENERGY")
        assert (await ui.texts())["texts"]["cancel"] == "रद्द करें"
        await ui.tap("dept_ENERGY")
        await ui.wait("grievance", tid="cat_outage")
        await ui.tap("back")  # one step back, not out of the grievance
        await ui.wait("grievance", tid="dept_FOOD")
        await ui.tap("dept_FOOD")
        await ui.tap("cat_ration")
        await ui.wait("grievance", tid="complaint_denied")
        await ui.tap("complaint_denied")
        await ui.wait("grievance", tid="svc_key_0")
        await pad(ui, MOBILE)
        await ui.tap("svc_key_continue")
        await ui.wait("grievance", tid="photo_skip")
        await ui.tap("photo_skip")
        review = await ui.wait("grievance", tid="grievance_send")
        assert review["texts"]["svc_r_complaint"] == "डीलर ने राशन देने से मना किया"
        assert review["texts"]["svc_r_photo"] == "नहीं"
        await ui.tap("cancel")
        ended = await ui.wait("ended")
        assert ended["texts"]["ended_body"] == "कोई पैसा नहीं लिया गया।"
        assert h.central.grievances() == []
