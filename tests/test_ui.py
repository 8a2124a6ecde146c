"""The citizen's touch screen against the real core and the device simulators.

Each test starts the whole kiosk in-process (tests/harness.py: central sim, CCNET acceptor sim and
printer sim on ptys, the real core) and the real Kivy screen as a subprocess with offscreen SDL
(screens/drive.py), then taps through it with real touch events and checks what the labels say.
Screenshots of every screen in both languages land in tests/artifacts/screens/ (the committed
copies are docs/screens/<screen>-<lang>.png).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import re
import socket
from pathlib import Path

import pytest

from screens.drive_client import UIProcess
from tests.harness import KioskHarness

# The screen runs in its own process; this one never imports Kivy.
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("kivy") is None, reason="kivy is not installed"
)

ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "screens"
BILL = "210412345678"  # seeded JVVNL bill, ₹640
LOCATION = "Jaipur Collectorate"
LOCATION_HI = "जयपुर कलेक्ट्रेट"  # sim/rig.py's [terminal] location_hi: Hindi screens


@contextlib.asynccontextmanager
async def screen(h: KioskHarness, tmp_path: Path, language: str = "hi", size=(1280, 800)):
    ui = UIProcess(h.session_url, width=size[0], height=size[1], language=language)
    await ui.start(log_dir=tmp_path / f"ui-{language}-{size[0]}x{size[1]}")
    try:
        yield ui
    finally:
        await ui.close()


async def shot(ui: UIProcess, name: str, lang: str) -> None:
    await ui.screenshot(ARTIFACTS / f"{name}-{lang}.png")


async def start_language(ui: UIProcess, lang: str) -> dict:
    """From the attract screen: choose the language (the big buttons) and reach home."""
    await ui.wait("attract")
    await ui.tap("attract_en" if lang == "en" else "attract_hi")
    return await ui.wait("home")


# Every tile the reference catalogue's state.home gives, plus the QR receipt check.
HOME_TILES = {"tile_electricity", "tile_water", "tile_phone", "tile_gas", "tile_application",
              "tile_status", "tile_certificate", "tile_grievance", "tile_info", "tile_verify"}


def drawn_tiles(boxes: dict) -> dict[str, list]:
    return {tid: box for tid, box in boxes.items()
            if tid.startswith("tile_") and not tid.endswith(("_icon", "_title", "_sub"))}


def check_home_tiles(boxes: dict, scale: float) -> None:
    """Tiles apart (the 16 px gap), each icon at least 64 px, the words inside their tile."""
    items = sorted(drawn_tiles(boxes).items())
    for i, (a, (ax, ay, aw, ah, _)) in enumerate(items):
        for b, (bx, by, bw, bh, _) in items[i + 1:]:
            apart_x = ax + aw + 16 * scale - 1 <= bx or bx + bw + 16 * scale - 1 <= ax
            apart_y = ay + ah + 16 * scale - 1 <= by or by + bh + 16 * scale - 1 <= ay
            assert apart_x or apart_y, (a, b)
        icon = boxes[f"{a}_icon"]
        assert min(icon[2], icon[3]) >= 64, (a, icon)
        for part in ("_icon", "_title", "_sub"):
            x, y, w, h = boxes[a + part][:4]
            assert ax - 1 <= x and x + w <= ax + aw + 1, (a + part, "sideways out of its tile")
            assert ay - 1 <= y and y + h <= ay + ah + 1, (a + part, "out of its tile")


async def to_identify(ui: UIProcess, lang: str) -> dict:
    await start_language(ui, lang)
    await ui.tap("tile_electricity")
    await ui.wait("providers")
    await ui.tap("provider_JVVNL")
    return await ui.wait("identify")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------------------------------------


# JVVNL takes advance payment: by default a ₹500 note may follow the first and the ₹60 over is
# credited to the account. The screens of the voucher path (the ₹100 limit, "₹500 no longer
# offered", a ₹60 voucher slip) are shown with advance credit switched off at the site.
VOUCHER_SITE = {"advance_credit": False}


@pytest.mark.parametrize("lang", ["hi", "en"])
async def test_pay_seeded_bill_with_two_notes(tmp_path, lang):
    async with KioskHarness(tmp_path, payment=VOUCHER_SITE) as h, \
            screen(h, tmp_path, lang) as ui:
        attract = await ui.wait("attract")
        assert attract["texts"]["header_location"] in (LOCATION_HI, LOCATION)  # core's language
        await shot(ui, "attract", lang)

        home = await start_language(ui, lang)
        assert h.core.kiosk.language == lang
        # the place in the screen's language: no English on a Hindi screen
        assert home["texts"]["header_location"] == (LOCATION_HI if lang == "hi" else LOCATION)
        title = home["texts"]["home_title"]
        assert title == ("आप क्या करना चाहते हैं?" if lang == "hi" else "What would you like to do?")
        await ui.wait("home", tid="tile_status")  # the reference catalogue has arrived
        await ui.wait("home", tid="tile_info")  # and the scheme pages
        await shot(ui, "home", lang)

        await ui.tap("tile_electricity")
        providers = await ui.wait("providers")
        assert {"provider_JVVNL", "provider_AVVNL", "provider_JdVVNL"} <= set(providers["texts"])
        await shot(ui, "providers", lang)

        await ui.tap("provider_JVVNL")
        identify = await ui.wait("identify")
        assert identify["texts"]["key_delete"] == ("मिटाएँ" if lang == "hi" else "Delete")
        assert identify["texts"]["key_continue"] == ("आगे बढ़ें" if lang == "hi" else "Continue")
        await ui.type_digits(BILL + "9")
        await ui.tap("key_delete")  # a slip of the finger, corrected
        typed = await ui.texts()
        assert typed["texts"]["digits"] == "2104 1234 5678"
        await shot(ui, "identify", lang)

        await ui.tap("key_continue")
        bill = await ui.wait("bill")
        assert bill["texts"]["bill_due"] == "₹640"
        # central's Devanagari name on a Hindi screen, masked by whole letters
        assert bill["texts"]["bill_name"] == ("र** कु**" if lang == "hi" else "Ra**** Ku***")
        assert bill["texts"]["bill_due_date"] == "05-12-2026"
        assert bill["texts"]["bill_period"] == ("अक्टूबर 2026" if lang == "hi" else "October 2026")
        await shot(ui, "bill", lang)

        await ui.tap("confirm")
        paying = await ui.wait("paying")
        texts = paying["texts"]
        assert texts["amount_due"] == "₹640" and texts["amount_paid"] == "₹0"
        assert texts["message"] == ("नोट डालें" if lang == "hi" else "Insert a note")
        assert "accepted_500" in texts and "money_safe" not in texts
        assert texts["cancel"] == ("रद्द करें" if lang == "hi" else "Cancel")

        h.acceptor_sim.insert_note(500)
        paying = await ui.wait("paying", tid="amount_paid", contains="₹500")
        texts = paying["texts"]
        assert texts["amount_remaining"] == "₹140"
        # Once cash is in: the money is safe, ₹500 is no longer offered, cancel means voucher.
        safe = "आपका पैसा सुरक्षित है" if lang == "hi" else "Your money is safe"
        assert texts["money_safe"] == safe
        assert "accepted_500" not in texts and "accepted_200" in texts
        assert ("वाउचर" if lang == "hi" else "voucher") in texts["cancel"]
        await shot(ui, "paying", lang)

        h.acceptor_sim.insert_note(200)
        done = await ui.wait("done", timeout=30)
        texts = done["texts"]
        assert texts["done_title"] == ("भुगतान हो गया" if lang == "hi" else "Payment successful")
        assert texts["done_put_in"].endswith("₹700")  # all the citizen put in, then where it went
        if lang == "hi":  # no English prefix on a Hindi screen: the label says what it is
            assert re.fullmatch(r"रसीद संख्या: [0-9]{6,}", texts["receipt_no"]), texts
        else:
            assert re.fullmatch(r"Receipt no\.: RCPT-[0-9]{6,}", texts["receipt_no"]), texts
        assert texts["done_amount"].endswith("₹640")
        assert "₹60" in texts["voucher"]
        assert texts["take"] == ("अपनी दोनों पर्चियाँ लें" if lang == "hi" else "Take your slips (2)")
        assert "paise" not in " ".join(texts.values()).lower()
        await shot(ui, "done", lang)
        assert h.printer_sim.receipts, "the printer simulator printed nothing"

        await ui.tap("finish")
        await ui.wait("attract")


@pytest.mark.parametrize("lang", ["hi", "en"])
async def test_cancel_before_cash(tmp_path, lang):
    async with KioskHarness(tmp_path) as h, screen(h, tmp_path, lang) as ui:
        await to_identify(ui, lang)
        await ui.tap("cancel")
        ended = await ui.wait("ended")
        assert ended["texts"]["ended_title"] == ("रद्द कर दिया गया" if lang == "hi" else "Cancelled")
        assert ended["texts"]["ended_body"] == (
            "कोई पैसा नहीं लिया गया।" if lang == "hi" else "No money was taken."
        )
        await shot(ui, "cancelled", lang)
        await ui.tap("finish")
        await ui.wait("attract")
        assert h.central.payments() == []


async def test_wrong_consumer_number_is_explained(tmp_path):
    async with KioskHarness(tmp_path) as h, screen(h, tmp_path, "hi") as ui:
        await to_identify(ui, "hi")
        await ui.type_digits("210499999999")
        await ui.tap("key_continue")
        wrong = await ui.wait("identify", tid="message", contains="बिल नहीं मिला")
        assert wrong["texts"]["message"].startswith("इस संख्या का कोई बिल नहीं मिला")
        assert "bill_not_found" not in str(wrong["texts"])
        await shot(ui, "identify-error", "hi")
        # Too short: the core refuses it; the citizen reads why, never a code.
        for _ in range(12):
            await ui.tap("key_delete")
        await ui.type_digits("123")
        await ui.tap("key_continue")
        short = await ui.wait("identify", tid="message", contains="सही नहीं")
        assert short["texts"]["message"] == "यह उपभोक्ता संख्या सही नहीं है। कृपया फिर से दर्ज करें।"
        # Typing again clears the complaint; the right number then goes through.
        for _ in range(3):
            await ui.tap("key_delete")
        await ui.type_digits(BILL)
        cleared = await ui.texts()
        assert cleared["texts"]["message"] == ""
        await ui.tap("key_continue")
        await ui.wait("bill")
        assert h.core.kiosk.session is not None


async def test_language_toggle_in_header(tmp_path):
    async with KioskHarness(tmp_path) as h, screen(h, tmp_path, "hi") as ui:
        await start_language(ui, "hi")
        await ui.tap("lang_en")
        home = await ui.wait("home", tid="home_title", contains="What would you like")
        assert home["texts"]["back"] == "Back" and home["texts"]["help"] == "Help"
        await asyncio.sleep(0.2)
        assert h.core.kiosk.language == "en"
        await ui.tap("lang_hi")
        home = await ui.wait("home", tid="home_title", contains="आप क्या")
        assert home["texts"]["back"] == "वापस" and home["texts"]["help"] == "मदद"
        await asyncio.sleep(0.2)
        assert h.core.kiosk.language == "hi"


@pytest.mark.parametrize("lang", ["hi", "en"])
async def test_help_and_coming_soon(tmp_path, lang):
    async with KioskHarness(tmp_path) as h, screen(h, tmp_path, lang) as ui:
        await start_language(ui, lang)
        # Exactly the tiles state.home gives (and the receipt check), each tappable: none
        # that leads nowhere on this machine (issue 14: no dead ends).
        await ui.wait("home", tid="tile_status")
        await ui.wait("home", tid="tile_info")  # the scheme pages: the last tile to arrive
        boxes = (await ui.cmd(cmd="geom"))["boxes"]
        tiles = drawn_tiles(boxes)
        assert set(tiles) == HOME_TILES
        assert all(box[4] for box in tiles.values())
        assert "tile_reprint" not in boxes
        texts = (await ui.texts())["texts"]
        assert texts["tile_grievance_sub"].endswith("₹5")  # a fee is said on its tile
        assert texts["tile_verify_title"] == ("रसीद जाँचें" if lang == "hi" else "Check a receipt")
        await ui.tap("help")
        helping = await ui.wait("home", modal="HelpView")
        assert "181" in helping["texts"]["help_call"]
        await shot(ui, "help", lang)
        await ui.tap("close")
        await ui.wait("home", modal="")
        assert h.core.kiosk.session is None


@pytest.mark.parametrize("lang", ["hi", "en"])
async def test_cash_then_cancel_becomes_voucher_and_more_time(tmp_path, lang):
    payment = {"cash_idle_timeout_s": 2, "more_time_timeout_s": 30}
    async with KioskHarness(tmp_path, payment=payment) as h, screen(h, tmp_path, lang) as ui:
        await to_identify(ui, lang)
        await ui.type_digits(BILL)
        await ui.tap("key_continue")
        await ui.wait("bill")
        await ui.tap("confirm")
        await ui.wait("paying")
        h.acceptor_sim.insert_note(100)
        await ui.wait("paying", tid="amount_paid", contains="₹100")
        asked = await ui.wait("paying", modal="MoreTimeView", timeout=10)
        assert asked["texts"]["more_time_title"] == (
            "और समय चाहिए?" if lang == "hi" else "Do you need more time?"
        )
        assert "more_time_seconds" in asked["texts"] and "more_time_finish" in asked["texts"]
        assert "₹100" in asked["texts"]["more_time_cash"]  # the money at stake
        await shot(ui, "more-time", lang)
        await ui.tap("more_time")
        await ui.wait("paying", modal="")
        await ui.tap("cancel")
        done = await ui.wait("done", timeout=30)
        assert "₹100" in done["texts"]["voucher"]
        assert done["texts"]["take"] == ("अपना वाउचर लें" if lang == "hi" else "Take your voucher")
        assert "done_amount" not in done["texts"]
        await shot(ui, "voucher", lang)


@pytest.mark.parametrize("lang", ["hi", "en"])
async def test_processing_while_central_is_slow(tmp_path, lang):
    async with KioskHarness(tmp_path) as h, screen(h, tmp_path, lang) as ui:
        await to_identify(ui, lang)
        h.central.state.slow_seconds = 2.0
        h.central.fail_next("slow")
        await ui.type_digits(BILL)
        await ui.tap("key_continue")
        busy = await ui.wait("processing", timeout=5)
        assert busy["texts"]["processing_title"] == (
            "आपका बिल देखा जा रहा है" if lang == "hi" else "Your bill is being checked"
        )
        await shot(ui, "processing", lang)
        await ui.wait("bill", timeout=15)


@pytest.mark.parametrize("lang", ["hi", "en"])
async def test_out_of_service_when_nothing_works(tmp_path, lang):
    async with KioskHarness(tmp_path) as h, screen(h, tmp_path, lang) as ui:
        await ui.wait("attract")
        h.acceptor_sim.fail()
        # the control room stops the machine: no payment and no QR check either
        h.core.kiosk.out_of_service_command = True
        h.core.kiosk._changed()
        oos = await ui.wait("out_of_service", timeout=15)
        texts = oos["texts"]
        assert texts["oos_kiosk"].endswith("RJ-JPR-0001")
        assert "181" in texts["oos_helpline"]
        reason = texts["reason_0"]
        assert "acceptor" not in reason and "_" not in reason  # citizen words, not a code
        await shot(ui, "out-of-service", lang)


@pytest.mark.parametrize("lang", ["hi", "en"])
async def test_degraded_home_when_the_printer_is_out_of_paper(tmp_path, lang):
    """Cash payment stopped, QR check still working: the home screen, bill tiles off, a banner
    saying why in citizen words; the verify tile still works."""
    async with KioskHarness(tmp_path) as h, screen(h, tmp_path, lang) as ui:
        await start_language(ui, lang)
        await ui.wait("home", tid="tile_status")
        await ui.wait("home", tid="tile_info")
        h.printer_sim.set_paper("out")
        home = await ui.wait("home", tid="degraded_banner", contains="—", timeout=15)
        banner = home["texts"]["degraded_banner"]
        if lang == "hi":
            assert banner.startswith("नकद भुगतान अभी बंद है: रसीद का काग़ज़ ख़त्म")
            assert banner.endswith("रसीद जाँच चालू है")
        else:
            assert banner.startswith("Cash payment is stopped for now:")
            assert "paper" in banner and banner.endswith("receipt checking works")
        assert "_" not in banner
        geom = await ui.cmd(cmd="geom")
        boxes = geom["boxes"]
        for tile in ("tile_electricity", "tile_water", "tile_phone"):
            assert boxes[tile][4] is False, tile  # not tappable
        assert boxes["tile_verify"][4] is True
        # The look-ups still work; a fee cannot be paid, so those tiles are not drawn at all.
        assert boxes["tile_status"][4] is True and boxes["tile_certificate"][4] is True
        assert "tile_grievance" not in boxes and "tile_application" not in boxes
        assert boxes["tile_info"][4] is True  # reading needs no paper
        check_home_tiles(boxes, 1.0)  # the banner takes room: still no overlap, icons 64 px
        refused = await ui.cmd(cmd="tap", tid="tile_electricity")
        assert not refused["ok"] and "disabled" in refused["error"]
        await shot(ui, "home-degraded", lang)
        await ui.tap("tile_verify")
        await ui.wait("verify")
        assert h.core.kiosk.session is None
        # paper back: the bill tiles work again
        await ui.tap("back")
        await ui.wait("home")
        h.printer_sim.set_paper("ok")
        await ui.wait("home", tid="tile_electricity", timeout=15)
        for _ in range(150):
            geom = await ui.cmd(cmd="geom")
            if geom["boxes"]["tile_electricity"][4] and "degraded_banner" not in geom["boxes"]:
                break
            await asyncio.sleep(0.1)
        assert geom["boxes"]["tile_electricity"][4] is True
        assert "degraded_banner" not in geom["boxes"]


async def test_print_failure_says_money_is_safe(tmp_path):
    async with KioskHarness(tmp_path) as h, screen(h, tmp_path, "hi") as ui:
        await to_identify(ui, "hi")
        await ui.type_digits(BILL)
        await ui.tap("key_continue")
        await ui.wait("bill")
        await ui.tap("confirm")
        await ui.wait("paying")
        h.printer_sim.set_paper("out")
        h.acceptor_sim.insert_note(500)
        await ui.wait("paying", tid="amount_paid", contains="₹500")
        h.acceptor_sim.insert_note(200)
        done = await ui.wait("done", timeout=30)
        assert done["texts"]["done_title"] == "रसीद नहीं छप सकी — आपका पैसा सुरक्षित है"
        assert "take" not in done["texts"]
        await shot(ui, "print-failed", "hi")


async def test_dropped_core_shows_wait_and_recovers(tmp_path):
    port = free_port()
    async with KioskHarness(tmp_path, session_api={"port": port}) as h:
        async with screen(h, tmp_path, "hi") as ui:
            await start_language(ui, "hi")
            await h.stop_core()
            waiting = await ui.wait("wait", timeout=10)
            assert waiting["texts"]["wait_title"] == "थोड़ा रुकें"
            await shot(ui, "wait", "hi")
            await asyncio.sleep(1.5)  # a few failed reconnects
            await h.start_core()
            back = await ui.wait("attract", timeout=10)
            assert back["texts"]["header_location"] == LOCATION_HI
            # and it works again: an intent goes through on the new connection
            await ui.tap("attract_touch")
            await ui.tap("tile_electricity")
            await ui.tap("provider_JVVNL")
            await ui.wait("identify")


async def test_hidden_maintenance_entry(tmp_path):
    async with KioskHarness(tmp_path) as h, screen(h, tmp_path, "hi") as ui:
        await ui.wait("attract")
        short = await ui.cmd(cmd="press", x=0.02, y=0.02, hold=0.5)
        assert short["screen"] == "attract"  # a short touch there is just a touch
        await ui.cmd(cmd="press", x=0.02, y=0.02, hold=3.3)
        maint = await ui.wait("maintenance")
        assert maint["texts"]["maint_id_label"] == "इंजीनियर आईडी"
        await ui.type_digits("42")
        await ui.tap("key_continue")
        await ui.type_digits("1234")
        pin = await ui.texts()
        assert pin["texts"]["maint_id"] == "42"
        assert pin["texts"]["pin"] == "••••"  # never the digits
        await ui.tap("back")
        await ui.wait("attract")
        assert h.core.kiosk.session is None
        assert not h.core.kiosk.maintenance.active


HEADER_TIDS = {"header_title", "header_location", "header_listen", "lang_hi", "lang_en", "clock"}
SIZES = [(1280, 800), (1920, 1080), (800, 1280), (1080, 1920)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_layout_scales_and_targets_are_big(tmp_path, size):
    async with KioskHarness(tmp_path) as h, screen(h, tmp_path, "hi", size) as ui:
        scale = min(size) / 800
        checked = []
        await start_language(ui, "hi")
        await ui.wait("home", tid="tile_status")  # all the catalogue's tiles
        await ui.wait("home", tid="tile_info")  # and the scheme pages' tile
        for step in ("home", "providers", "identify", "bill", "paying"):
            if step == "providers":
                await ui.tap("tile_electricity")
                await ui.wait("providers")
            elif step == "identify":
                await ui.tap("provider_JVVNL")
                await ui.wait("identify")
                await ui.type_digits(BILL)
            elif step == "bill":
                await ui.tap("key_continue")
                await ui.wait("bill")
            elif step == "paying":
                await ui.tap("confirm")
                await ui.wait("paying")
            geom = await ui.cmd(cmd="geom")
            width, height = geom["window"]
            header_bottom = height - 104 * scale
            for tid, (x, y, w, hgt, tappable) in geom["boxes"].items():
                # Everything named is inside the window (nothing clipped off the edges) ...
                assert x >= -1 and y >= -1, (step, tid, x, y)
                assert x + w <= width + 1 and y + hgt <= height + 1, (step, tid, x, y, w, hgt)
                # ... and nothing of the body slides under the header band.
                if tid not in HEADER_TIDS:
                    assert y + hgt <= header_bottom + 1, (step, tid, y + hgt, header_bottom)
                # ... and every touch target is at least 15 mm (90 px on a 1280x800 panel).
                if tappable:
                    assert min(w, hgt) >= 90 * scale - 1, (step, tid, w, hgt)
                    checked.append(tid)
            if step == "home":
                assert set(drawn_tiles(geom["boxes"])) == HOME_TILES
                check_home_tiles(geom["boxes"], scale)
            if size != (1280, 800):
                await ui.screenshot(ARTIFACTS / f"{step}-hi-{size[0]}x{size[1]}.png")
        assert {"tile_electricity", "tile_grievance", "key_5", "confirm", "cancel",
                "lang_en"} <= set(checked)
