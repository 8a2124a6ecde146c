"""Issue 14's number entry and Hindi screens, against the real core, the reference central and
the simulators: the number-entry screen shows a sample bill with the box where this company
prints the number (the catalogue's number_hint.box); "don't know the company?" finds it from the
first digits (number_hint.prefixes) and carries the digits into the number entry; the Hindi bill
screen shows the masked name in Devanagari, the header the place in Devanagari, the company's
code only small beside its Hindi name. Screenshots: identify-sample-bill-*, identify-provider-
hint-*, bill-hi-devanagari-name (committed copies in docs/screens/)."""

from __future__ import annotations

import pytest

from screens.drive_client import UIProcess
from tests.harness import KioskHarness
from tests.test_ui import ARTIFACTS, shot, start_language, to_identify

HINDI_PLACE = {"terminal": {"location_hi": "जयपुर कलेक्ट्रेट"}}


def centre(box: list) -> tuple[float, float]:
    x, y, w, h = box[:4]
    return x + w / 2, y + h / 2


@pytest.mark.parametrize("lang", ["hi", "en"])
async def test_number_entry_shows_where_the_number_is_on_the_bill(tmp_path, lang):
    async with KioskHarness(tmp_path, **HINDI_PLACE) as h:
        ui = UIProcess(h.session_url, language=lang)
        await ui.start(log_dir=tmp_path / "ui")
        try:
            shown = await to_identify(ui, lang)  # JVVNL: its number is printed top right
            texts = shown["texts"]
            assert texts["sample_bill_mark"] == ("के-नंबर" if lang == "hi" else "K-No.")
            assert texts["sample_bill_caption"].startswith(
                "आपके बिल पर नंबर यहाँ" if lang == "hi" else "Your bill shows the number here")
            # no English on the Hindi screen: the place and the company in Devanagari, the
            # company's code only small beside its name
            place = texts["header_location"]
            assert place == ("जयपुर कलेक्ट्रेट" if lang == "hi" else "Jaipur Collectorate")
            if lang == "hi":
                assert texts["identify_provider"].startswith("जयपुर विद्युत वितरण निगम")
                assert "[size=" in texts["identify_provider"]  # JVVNL, small
            geom = await ui.cmd(cmd="geom")
            boxes = geom["boxes"]
            page, mark = boxes["sample_bill_box"], boxes["sample_bill_mark"]
            (px, py), (mx, my) = centre(page), centre(mark)
            assert mx > px and my > py, (page, mark)  # top right (window y grows upwards)
            footer_top = boxes["cancel"][1] + boxes["cancel"][3]
            header_bottom = boxes["header_title"][1]
            for tid in ("sample_bill", "identify_hint", "digits"):
                _x, y, _w, hgt, _tap = boxes[tid]
                assert footer_top - 1 <= y and y + hgt <= header_bottom + 1, (tid, boxes[tid])
            keypad_left = boxes["key_1"][0]
            assert boxes["sample_bill"][0] + boxes["sample_bill"][2] <= keypad_left
            await shot(ui, "identify-sample-bill", lang)
            # a mistake's message needs the room: the picture steps aside
            await ui.type_digits("99")
            await ui.tap("key_continue")
            word = "सही नहीं" if lang == "hi" else "not right"
            problem = await ui.wait("identify", tid="message", contains=word, timeout=15)
            assert "sample_bill_mark" not in problem["texts"]  # hidden while the message shows
        finally:
            await ui.close()


@pytest.mark.parametrize("lang", ["hi", "en"])
async def test_company_found_from_the_first_digits(tmp_path, lang):
    async with KioskHarness(tmp_path, **HINDI_PLACE) as h:
        ui = UIProcess(h.session_url, language=lang)
        await ui.start(log_dir=tmp_path / "ui")
        try:
            await start_language(ui, lang)
            await ui.tap("tile_electricity")
            providers = await ui.wait("providers", tid="find_provider")
            assert providers["texts"]["find_provider"] == (
                "कंपनी नहीं पता? नंबर से ढूँढें" if lang == "hi"
                else "Don't know the company? Find it by the number")
            if lang == "hi":  # the code small under the Hindi name, never alone
                name = providers["texts"]["provider_JVVNL"]
                assert name.startswith("जयपुर विद्युत वितरण निगम\n[size=") and "JVVNL" in name
            await ui.tap("find_provider")
            await ui.wait("find_provider")
            await ui.tap("find_key_3")
            maybe = await ui.wait("find_provider", tid="find_pick_JdVVNL")
            assert "find_pick_JVVNL" not in maybe["texts"]  # "3": only Jodhpur's start so
            await ui.tap("find_key_1")
            sure = await ui.wait("find_provider", tid="find_verdict",
                                 contains="यह इस कंपनी" if lang == "hi" else "It is this")
            assert [t for t in sure["texts"] if t.startswith("find_pick_")] == ["find_pick_JdVVNL"]
            await shot(ui, "identify-provider-hint", lang)
            await ui.tap("find_key_delete")
            await ui.tap("find_key_delete")
            await ui.tap("find_key_9")
            none = await ui.wait("find_provider", tid="find_verdict",
                                 contains="किसी कंपनी" if lang == "hi" else "No company")
            assert not [t for t in none["texts"] if t.startswith("find_pick_")]
            await ui.tap("find_key_delete")
            for digit in "31":
                await ui.tap(f"find_key_{digit}")
            await ui.wait("find_provider", tid="find_pick_JdVVNL")
            await ui.tap("find_pick_JdVVNL")
            entry = await ui.wait("identify", tid="digits", contains="31")
            assert entry["texts"]["digits"] == "31"  # carried over: type on from there
            assert h.core.kiosk.session.provider == "JdVVNL"
            await ui.type_digits("0455566677")
            await ui.tap("key_continue")
            bill = await ui.wait("bill", timeout=20)
            name = bill["texts"]["bill_name"]
            if lang == "hi":  # central's Devanagari name, masked by letter clusters
                assert name == "मो** ला* चौ**", name
                assert bill["texts"]["header_location"] == "जयपुर कलेक्ट्रेट"
                await shot(ui, "bill-devanagari-name", lang)
            else:
                assert name == "Mo*** La* Ch*******", name
        finally:
            await ui.close()


async def test_finder_fits_a_portrait_screen(tmp_path):
    """On a portrait panel the finder's keypad goes below; all of it inside the window, under
    the header, every key a full-size touch target."""
    async with KioskHarness(tmp_path) as h:
        ui = UIProcess(h.session_url, width=800, height=1280, language="hi")
        await ui.start(log_dir=tmp_path / "ui")
        try:
            await start_language(ui, "hi")
            await ui.tap("tile_electricity")
            await ui.wait("providers", tid="find_provider")
            await ui.tap("find_provider")
            await ui.wait("find_provider")
            for digit in "21":
                await ui.tap(f"find_key_{digit}")
            await ui.wait("find_provider", tid="find_pick_JVVNL")
            geom = await ui.cmd(cmd="geom")
            (width, height), boxes = geom["window"], geom["boxes"]
            header_bottom = height - 104
            for tid, (x, y, w, hgt, tappable) in boxes.items():
                assert x >= -1 and x + w <= width + 1 and y >= -1, (tid, boxes[tid])
                if not tid.startswith(("header_", "lang_", "clock")):
                    assert y + hgt <= header_bottom + 1, (tid, y + hgt)
                if tappable:
                    assert min(w, hgt) >= 89, (tid, w, hgt)
            assert boxes["find_key_1"][1] < boxes["find_pick_JVVNL"][1]  # keypad below
            await ui.screenshot(ARTIFACTS / "identify-provider-hint-hi-800x1280.png")
        finally:
            await ui.close()
