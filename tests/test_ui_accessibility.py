"""Accessibility mode and voice guidance on the real screen (Kivy, offscreen) against the real
core and simulators: the button on the home screen turns on large text and high contrast, the
core's state shows the slower timeouts, what is said follows the payment, and everything is back
to the site's default after the session. Screenshots: docs/screens/accessibility-home-*.png,
accessibility-paying-*.png, accessibility-attract-*.png.

No sound card here: the voice's sentences are read from EMITRA_VOICE_LOG (screens/voice.py), the
text handed to espeak-ng; what espeak-ng makes of it is measured by `python -m bench voice`."""

from __future__ import annotations

import asyncio
import json
import shutil

import pytest
from PIL import Image

from screens.drive_client import UIProcess
from tests.harness import KioskHarness
from tests.test_ui import ARTIFACTS, BILL, shot, start_language

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
TIMEOUTS = {"identify_timeout_s": 100, "cash_idle_timeout_s": 100}
ON = {"hi": "छोटे अक्षर", "en": "Smaller text"}  # the button offers the way back
SAID = {
    "hi": ("नोट डालें। और डालने हैं 640 रुपये।", "आपने डाले 500 रुपये। और डालने हैं 140 रुपये।",
           "अपनी रसीद लें"),
    "en": ("Still to put in 640 rupees.", "You have put in 500 rupees. Still to put in 140 rupees.",
           "Take your receipt"),
}


def spoken(path) -> list[str]:
    if not path.exists():
        return []
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()]


async def height(ui: UIProcess, tid: str) -> float:
    return (await ui.cmd(cmd="geom"))["boxes"][tid][3]


async def between_header_and_footer(ui: UIProcess, footer_tid: str, tids: tuple) -> None:
    """Nothing pushed under the header or into the footer by the larger type."""
    geom = await ui.cmd(cmd="geom")
    boxes = geom["boxes"]
    footer_top = boxes[footer_tid][1] + boxes[footer_tid][3]
    header_bottom = boxes["header_title"][1]
    for tid in tids:
        _x, y, _w, hgt, _tap = boxes[tid]
        assert footer_top - 1 <= y and y + hgt <= header_bottom + 1, (tid, boxes[tid])


async def darkest_in(ui: UIProcess, tid: str, path) -> int:
    """The darkest pixel (sum of R, G, B) of a widget's box in a screenshot."""
    geom = await ui.cmd(cmd="geom")
    x, y, w, hgt, _tap = geom["boxes"][tid]
    top = geom["window"][1] - (y + hgt)  # Kivy measures from the bottom
    with Image.open(path) as image:
        box = image.convert("RGB").crop((int(x), int(top), int(x + w), int(top + hgt)))
        return min(sum(pixel) for pixel in box.get_flattened_data())


async def core_state(h: KioskHarness) -> dict:
    return h.core.kiosk.snapshot()


@pytest.mark.parametrize("lang", ["hi", "en"])
async def test_accessibility_mode_for_one_session(tmp_path, lang, monkeypatch):
    voice_log = tmp_path / "voice.jsonl"
    monkeypatch.setenv("EMITRA_VOICE_LOG", str(voice_log))
    async with KioskHarness(tmp_path, payment=TIMEOUTS) as h:
        ui = UIProcess(h.session_url, language=lang, extra_args=["--voice"])
        await ui.start(log_dir=tmp_path / f"ui-{lang}")
        try:
            await start_language(ui, lang)
            normal_title = await height(ui, "home_title")
            normal_shot = await ui.screenshot(tmp_path / "home-normal.png")
            normal_sub = await darkest_in(ui, "tile_electricity_sub", normal_shot)
            await ui.tap("a11y")
            home = await ui.wait("home", tid="a11y", contains=ON[lang])
            assert home["texts"]["a11y"] == ON[lang]
            for _ in range(50):  # the core confirms it in its state
                if (await core_state(h))["accessibility"]["on"]:
                    break
                await asyncio.sleep(0.1)
            assert (await core_state(h))["accessibility"] == {
                "on": True, "default": False, "timeout_factor": 2.0}
            await asyncio.sleep(0.3)  # the redraw at the larger type
            large_title = await height(ui, "home_title")
            assert large_title >= 1.15 * normal_title, (normal_title, large_title)
            await between_header_and_footer(ui, "back", ("home_title",))
            await shot(ui, "accessibility-home", lang)
            # high contrast: the tiles' second line (muted grey normally) is near black now
            large_shot = await ui.screenshot(tmp_path / "home-large.png")
            assert await darkest_in(ui, "tile_electricity_sub", large_shot) < normal_sub - 100

            await ui.tap("tile_electricity")
            await ui.wait("providers")
            await ui.tap("provider_JVVNL")
            await ui.wait("identify")
            assert (await core_state(h))["seconds_left"] > 150  # 2 x 100 s
            await ui.type_digits(BILL)
            await ui.tap("key_continue")
            await ui.wait("bill")
            await ui.tap("confirm")
            await ui.wait("paying")
            assert (await core_state(h))["seconds_left"] > 150
            h.acceptor_sim.insert_note(500)
            await ui.wait("paying", tid="amount_remaining", contains="₹140")
            await asyncio.sleep(0.3)
            await between_header_and_footer(
                ui, "cancel", ("amount_due", "amount_paid", "amount_remaining", "accepted_title"))
            await shot(ui, "accessibility-paying", lang)
            for rupees in (100, 20, 20):
                h.acceptor_sim.insert_note(rupees)
            await ui.wait("done", timeout=30)
            await asyncio.sleep(0.5)
            said = spoken(voice_log)
            for words in SAID[lang]:
                assert any(words in line for line in said), (words, said)
            await ui.tap("finish")
            attract = await ui.wait("attract", timeout=20)
            assert ON[lang] not in attract["texts"]["a11y"]
            assert not (await core_state(h))["accessibility"]["on"]
            await start_language(ui, lang)
            await asyncio.sleep(0.3)
            assert abs(await height(ui, "home_title") - normal_title) < 2
        finally:
            await ui.close()


async def test_attract_button_and_listen_button(tmp_path, monkeypatch):
    """The attract screen's button (both languages on it: the citizen has not chosen yet)
    starts in accessibility mode; the header's listen button says the screen's words again,
    even where the site has the voice off."""
    voice_log = tmp_path / "voice.jsonl"
    monkeypatch.setenv("EMITRA_VOICE_LOG", str(voice_log))
    async with KioskHarness(tmp_path) as h:
        ui = UIProcess(h.session_url, language="hi")
        await ui.start(log_dir=tmp_path / "ui")
        try:
            attract = await ui.wait("attract")
            assert attract["texts"]["a11y"] == "बड़े अक्षर  ·  Large text"
            await shot(ui, "accessibility-attract", "hi")
            await ui.tap("a11y")  # like any tap on the attract screen, it starts: home, large
            await ui.wait("home", tid="a11y", contains="छोटे अक्षर")
            assert spoken(voice_log) == []  # the site has voice off: silent until asked
            await ui.tap("header_listen")
            for _ in range(30):
                if spoken(voice_log):
                    break
                await asyncio.sleep(0.1)
            assert spoken(voice_log) == ["आप क्या करना चाहते हैं?"]
            await ui.tap("a11y")  # off again at once
            await ui.wait("home", tid="a11y", contains="बड़े अक्षर")
            home = await ui.texts()
            assert home["texts"]["a11y"] == "बड़े अक्षर"
        finally:
            await ui.close()


@pytest.mark.parametrize("size", [(800, 1280), (1080, 1920)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_large_text_fits_a_portrait_panel(tmp_path, size):
    """The footer's button shares a portrait panel's 800 px with back and help; the tiles and
    the paying screen keep inside the window and below the header at the larger type."""
    async with KioskHarness(tmp_path) as h:
        ui = UIProcess(h.session_url, width=size[0], height=size[1], language="hi")
        await ui.start(log_dir=tmp_path / "ui")
        try:
            await start_language(ui, "hi")
            await ui.tap("a11y")
            await ui.wait("home", tid="a11y", contains=ON["hi"])
            await asyncio.sleep(0.3)
            geom = await ui.cmd(cmd="geom")
            width, height = geom["window"]
            header_bottom = height - 104 * min(size) / 800
            for tid, (x, y, w, hgt, _tappable) in geom["boxes"].items():
                assert x >= -1 and y >= -1, (tid, x, y)
                assert x + w <= width + 1 and y + hgt <= height + 1, (tid, x, y, w, hgt)
                if not tid.startswith(("header_", "lang_", "clock")):
                    assert y + hgt <= header_bottom + 1, (tid, y + hgt, header_bottom)
            await ui.screenshot(ARTIFACTS / f"accessibility-home-hi-{size[0]}x{size[1]}.png")
        finally:
            await ui.close()
