"""Paying by card on the citizen's screen, against the real core, the reference central and the
real PC/SC stack (pcscd + vpcd + our card emulator, fixtures of tests/test_card_pcsc.py): the
bill offers "pay by card", the card screen asks for the card, then the PIN on a keypad laid out in
exactly the core's scrambled order; a wrong PIN says how many tries are left; the done screen says
paid by card with the masked number. A declined card returns to the bill with the reason."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

import pytest
import test_card_pcsc as pcsc_tests

from screens.drive_client import UIProcess
from tests.harness import KioskHarness

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("kivy") is None, reason="kivy is not installed"
)

pcscd = pcsc_tests.pcscd
emulators = pcsc_tests.emulators
# pcscd restarted at once by the next module leaves pyscard's monitor dead: keep a gap
from test_card_payment import _pcscd_gap  # noqa: E402,F401  (autouse, module scope)

ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "screens"
PIN_OK = "97531864"
CARD = {"card": {"enabled": True, "reader": pcsc_tests.READER, "insert_timeout_s": 30}}


async def open_bill(ui: UIProcess, lang: str) -> dict:
    await ui.wait("attract")
    await ui.tap("attract_en" if lang == "en" else "attract_hi")
    await ui.wait("home")
    await ui.tap("tile_water")
    await ui.wait(timeout=5)
    texts = await ui.texts()
    if texts["screen"] == "providers":
        await ui.tap("provider_PHED")
    await ui.wait("identify")
    await ui.type_digits("5012345678")
    await ui.tap("key_continue")
    await ui.wait("bill")
    return await ui.wait("bill", tid="pay_card", timeout=20)  # once the reader is up


async def keypad_shown(h: KioskHarness, ui: UIProcess) -> list[str]:
    """Wait for the PIN keypad; check it is a phone's 1-2-3 layout, whatever order the core
    offered (a PIN remembered by where the fingers go must still work; shuffling is a config
    option, off by default), with the privacy hint beside it."""
    shown = await ui.wait("card", tid="card_key_0", timeout=20)
    assert shown["texts"]["pin_privacy"]  # cover the keys with the other hand
    keypad = list("1234567890")
    geom = await ui.cmd(cmd="geom")
    boxes = geom["boxes"]
    header_bottom = geom["window"][1] - 104
    for tid, (_x, y, _w, hgt, _tappable) in boxes.items():
        if not tid.startswith(("header_", "lang_", "clock", "countdown")):
            assert y + hgt <= header_bottom + 1, (tid, y + hgt)  # nothing under the header
    centres = {d: (boxes[f"card_key_{d}"][0], boxes[f"card_key_{d}"][1]) for d in keypad}
    # 3x3, then [delete, last digit, continue]: rows top to bottom, left to right
    rows = [keypad[0:3], keypad[3:6], keypad[6:9]]
    for row in rows:
        xs = [centres[d][0] for d in row]
        ys = {round(centres[d][1]) for d in row}
        assert xs == sorted(xs) and len(ys) == 1, (row, centres)
    tops = [centres[row[0]][1] for row in rows] + [centres[keypad[9]][1]]
    assert tops == sorted(tops, reverse=True), tops  # window y grows upwards
    assert boxes["card_key_delete"][0] < centres[keypad[9]][0] < boxes["card_key_continue"][0]
    assert centres[keypad[9]][0] == centres[keypad[1]][0]  # the last digit sits in the middle
    return keypad


async def type_pin(ui: UIProcess, pin: str) -> None:
    for digit in pin:
        await ui.tap(f"card_key_{digit}")


@pytest.mark.parametrize("lang", ["hi", "en"])
async def test_pay_by_card_after_a_wrong_pin(tmp_path, pcscd, emulators, lang):
    async with KioskHarness(tmp_path, **CARD) as h:
        ui = UIProcess(h.session_url, language=lang)
        await ui.start(log_dir=tmp_path / "ui")
        try:
            bill = await open_bill(ui, lang)
            assert bill["texts"]["pay_card"] == (
                "कार्ड से भुगतान करें" if lang == "hi" else "Pay by card"
            )
            await ui.screenshot(ARTIFACTS / f"bill-card-{lang}.png")
            await ui.tap("pay_card")
            insert = await ui.wait("card", tid="card_insert")
            assert insert["texts"]["card_insert"] == (
                "कार्ड डालें" if lang == "hi" else "Insert your card"
            )
            assert insert["texts"]["card_due"] == "₹350"
            await ui.screenshot(ARTIFACTS / f"card-insert-{lang}.png")

            emulators("--pin", PIN_OK)
            await keypad_shown(h, ui)
            await type_pin(ui, "1111")
            typed = await ui.texts()
            assert typed["texts"]["card_pin"] == "••••"  # dots, never the digits
            await ui.screenshot(ARTIFACTS / f"card-pin-{lang}.png")
            await ui.tap("card_key_continue")
            wrong = await ui.wait("card", tid="card_tries", timeout=20)
            assert wrong["texts"]["card_step"] == (
                "पिन सही नहीं है। कृपया फिर से दर्ज करें।"
                if lang == "hi"
                else "The PIN is not right. Please enter it again."
            )
            assert any(ch.isdigit() for ch in wrong["texts"]["card_tries"])
            await keypad_shown(h, ui)  # a new scrambled keypad
            await ui.screenshot(ARTIFACTS / f"card-pin-wrong-{lang}.png")
            await type_pin(ui, PIN_OK)
            await ui.tap("card_key_continue")
            done = await ui.wait("done", timeout=40)
            paid = done["texts"]["paid_by_card"]
            assert "652150******7890" in paid
            assert ("कार्ड से भुगतान" if lang == "hi" else "Paid by card") in paid
            assert done["texts"]["done_amount"].endswith("₹350")
            await ui.screenshot(ARTIFACTS / f"done-card-{lang}.png")
            assert PIN_OK not in str(done)
        finally:
            await ui.close()


async def test_declined_card_shows_why_on_the_bill(tmp_path, pcscd, emulators):
    async with KioskHarness(tmp_path, **CARD) as h:
        ui = UIProcess(h.session_url, language="hi")
        await ui.start(log_dir=tmp_path / "ui")
        try:
            await open_bill(ui, "hi")
            await ui.tap("pay_card")
            await ui.wait("card", tid="card_insert")
            emulators("--pin", PIN_OK, "--pan", "6521501234560002")  # insufficient funds
            await keypad_shown(h, ui)
            await type_pin(ui, PIN_OK)
            await ui.tap("card_key_continue")
            bill = await ui.wait("bill", tid="message", contains="राशि कम", timeout=40)
            assert "कोई पैसा नहीं कटा" in bill["texts"]["message"]
            await ui.screenshot(ARTIFACTS / "bill-card-declined-hi.png")
            assert h.central.payments() == []
        finally:
            await ui.close()


async def test_cancel_while_waiting_for_the_card(tmp_path, pcscd):
    async with KioskHarness(tmp_path, **CARD) as h:
        ui = UIProcess(h.session_url, language="en")
        await ui.start(log_dir=tmp_path / "ui")
        try:
            await open_bill(ui, "en")
            await ui.tap("pay_card")
            await ui.wait("card", tid="card_insert")
            await ui.tap("cancel")
            await ui.wait("bill", timeout=15)
            assert h.core.kiosk.session.state.value == "BILL"
        finally:
            await ui.close()


@pytest.mark.parametrize("lang", ["hi", "en"])
async def test_card_insert_counts_down_and_gives_more_time(tmp_path, pcscd, lang):
    """The wait for the card shows the header countdown, asks "more time?" before it gives up;
    "more time" restarts the core's own wait (not just the screen's), "No, finish" goes back to
    the bill with nothing taken."""
    card = {"card": {**CARD["card"], "insert_timeout_s": 27}}
    async with KioskHarness(tmp_path, **card) as h:
        ui = UIProcess(h.session_url, language=lang)
        await ui.start(log_dir=tmp_path / "ui")
        try:
            await open_bill(ui, lang)
            await ui.tap("pay_card")
            unit = "सेकंड" if lang == "hi" else " s"
            counting = await ui.wait("card", tid="countdown", contains=unit, timeout=15)
            assert counting["texts"]["card_insert"]
            assert h.core.kiosk.live.deadline is not None  # the core sends the step's deadline
            await ui.screenshot(ARTIFACTS / f"card-insert-countdown-{lang}.png")
            asked = await ui.wait("card", modal="MoreTimeView", timeout=20)
            assert asked["texts"]["more_time_finish"] == (
                "नहीं, खत्म करें" if lang == "hi" else "No, finish")
            await ui.screenshot(ARTIFACTS / f"card-insert-more-time-{lang}.png")
            before = h.core.kiosk.live.deadline
            await ui.tap("more_time")
            await ui.wait("card", modal="")
            assert h.core.kiosk.live.deadline > before + 5  # the card flow's own wait restarted
            # past the first wait's end: still waiting for the card, not timed out
            await asyncio.sleep(max(0.0, before - h.core.kiosk.clock()) + 1)
            assert h.core.kiosk.session.state.value == "CARD"
            await ui.wait("card", modal="MoreTimeView", timeout=25)
            await ui.tap("more_time_finish")
            await ui.wait("bill", timeout=15)
            assert h.central.payments() == []
        finally:
            await ui.close()


@pytest.mark.parametrize("lang", ["hi", "en"])
async def test_pin_counts_down_and_says_it_cannot_be_extended(tmp_path, pcscd, emulators, lang):
    """The PIN step counts down to the card flow's PIN timeout and says that time cannot be
    made longer (the PIN-entry security timeout); it never offers "more time", and when the
    time runs out the bill comes back with nothing taken."""
    card = {"card": {**CARD["card"], "pin_timeout_s": 24}}
    async with KioskHarness(tmp_path, **card) as h:
        ui = UIProcess(h.session_url, language=lang)
        await ui.start(log_dir=tmp_path / "ui")
        try:
            await open_bill(ui, lang)
            await ui.tap("pay_card")
            await ui.wait("card", tid="card_insert")
            emulators("--pin", PIN_OK)
            await keypad_shown(h, ui)
            await type_pin(ui, "12")
            line = await ui.wait("card", tid="card_pin_time", contains="(", timeout=15)
            assert ("यह समय बढ़ नहीं सकता" if lang == "hi" else "cannot be extended") in (
                line["texts"]["card_pin_time"])
            assert line["texts"]["countdown"]
            await ui.screenshot(ARTIFACTS / f"card-pin-countdown-{lang}.png")
            for _ in range(8):  # under LOCAL_ASK_S: still no "more time?" on the PIN
                await asyncio.sleep(1)
                assert not (await ui.texts()).get("modal")
            back = await ui.wait("bill", tid="message", timeout=30)
            assert ("पिन के लिए समय" if lang == "hi" else "Time for the PIN") in (
                back["texts"]["message"])
            assert h.central.payments() == []
        finally:
            await ui.close()
