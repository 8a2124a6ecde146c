"""Scheme information on the touch screen, read with central down: the core fetches the scheme
pages from the reference central once, central stops, the core restarts, and the screen (its own
Kivy process, tapped with real touch events) opens the home tile, the list, and each page with
its picture and words — all from the kiosk's cache. Screenshots: services-info-list-<lang>.png,
services-info-page-<lang>.png (and -health, the JPEG picture)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from screens.drive_client import UIProcess
from sim.central import scheme_seed
from tests.harness import KioskHarness
from tests.test_ui_services import catalogue_ready, no_codes, open_tile, shot

WORDS = {
    "hi": {"tile": "योजनाएँ", "title": "योजनाओं की जानकारी",
           "pension": "वृद्धावस्था पेंशन", "health": "चिरंजीवी स्वास्थ्य बीमा",
           "pension_words": "बैंक खाते में", "back": "वापस"},
    "en": {"tile": "Schemes", "title": "Scheme information",
           "pension": "Old-age pension", "health": "Chiranjeevi health insurance",
           "pension_words": "bank account", "back": "Back"},
}


@contextlib.asynccontextmanager
async def offline_kiosk(tmp_path: Path, lang: str):
    """The kiosk once it has the pages and central has gone: a restarted core, the screen on
    the home tiles in `lang`."""
    async with KioskHarness(tmp_path) as h:
        await catalogue_ready()
        for _ in range(300):
            if h.core.kiosk.citizen.schemes.version == scheme_seed.VERSION:
                break
            await asyncio.sleep(0.05)
        assert h.core.kiosk.citizen.schemes.version == scheme_seed.VERSION
        await h.stop_core()
        await h.central.stop()  # central is down from here on
        await h.start_core()
        ui = UIProcess(h.session_url, language=lang)
        await ui.start(log_dir=tmp_path / f"ui-{lang}")
        try:
            await ui.wait("attract")
            await ui.tap("attract_en" if lang == "en" else "attract_hi")
            await ui.wait("home", tid="tile_info")
            yield h, ui
        finally:
            await ui.close()


@pytest.mark.parametrize("lang", ["hi", "en"])
async def test_scheme_pages_read_from_the_cache_with_central_down(tmp_path, lang):
    words = WORDS[lang]
    async with offline_kiosk(tmp_path, lang) as (h, ui):
        await shot(ui, "info", "home", lang)
        home = await open_tile(ui, "tile_info", words["tile"])
        assert home["tile_info_sub"]
        listed = await ui.wait("info", tid="info_labour_card")
        texts = listed["texts"]
        assert texts["svc_title"] == words["title"]
        assert texts["info_old_age_pension"] == words["pension"]
        assert texts["info_chiranjeevi"] == words["health"]
        assert {"info_palanhar", "info_labour_card"} <= set(texts)
        no_codes(listed)
        await shot(ui, "info", "list", lang)

        await ui.tap("info_old_age_pension")
        page = await ui.wait("info", tid="svc_info_picture", timeout=15)
        texts = page["texts"]
        assert texts["svc_title"] == words["pension"]
        paragraphs = [texts[f"svc_info_body_{i}"] for i in range(4)]
        assert words["pension_words"] in paragraphs[1]
        geom = await ui.cmd(cmd="geom")
        x, y, w, hgt, _ = geom["boxes"]["svc_info_picture"]
        assert w > 300 and hgt > 200 and y > 104, geom["boxes"]["svc_info_picture"]
        bx, by, bw, bh, _ = geom["boxes"]["svc_info_body_3"]  # the last paragraph
        assert by >= 112 and bx + bw <= x, "the words beside the picture, above the footer"
        no_codes(page)
        await shot(ui, "info", "page", lang)

        await ui.tap("back")  # a page: back to the list
        await ui.wait("info", tid="info_chiranjeevi")
        await ui.tap("info_chiranjeevi")  # the JPEG picture
        health = await ui.wait("info", tid="svc_info_picture", timeout=15)
        assert health["texts"]["svc_title"] == words["health"]
        await shot(ui, "info", "page-health", lang)

        await ui.tap("back")
        await ui.wait("info", tid="info_palanhar")
        await ui.tap("back")  # the list: back to the home tiles
        await ui.wait("home", tid="tile_info")
        await asyncio.sleep(0.2)
        assert h.core.kiosk.lookup is None
