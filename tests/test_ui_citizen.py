"""Issue 14's citizen screens against the real core and simulators: a returned note says which
note and why in both languages, and number entry asks "more time?" (with "No, finish") before
the core gives up. Screenshots: docs/screens/paying-returned-*.png, identify-more-time-*.png."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from screens.drive_client import UIProcess
from tests.harness import KioskHarness
from tests.test_ui import BILL, VOUCHER_SITE, screen, shot, to_identify


async def test_header_clock_reads_the_configured_zone(tmp_path):
    """The kiosk image's OS clock is often UTC: the header shows [terminal] timezone."""
    async with KioskHarness(tmp_path) as h:
        for zone, offset in (("Asia/Kolkata", timedelta(hours=5, minutes=30)),
                             ("UTC", timedelta(0))):
            ui = UIProcess(h.session_url, extra_args=["--timezone", zone])
            await ui.start(log_dir=tmp_path / f"ui-{zone.replace('/', '-')}")
            try:
                shown = (await ui.wait("attract"))["texts"]["clock"]
                now = datetime.now(UTC) + offset
                near = {f"{now + timedelta(minutes=d):%H:%M}" for d in (-1, 0, 1)}
                assert shown in near, (zone, shown, near)
            finally:
                await ui.close()


@pytest.mark.parametrize("lang", ["hi", "en"])
async def test_returned_note_says_which_and_why(tmp_path, lang):
    # the site's ₹100 voucher limit: JVVNL's own (an advance's) would take the second ₹500
    async with KioskHarness(tmp_path, payment=VOUCHER_SITE) as h, \
            screen(h, tmp_path, lang) as ui:
        await to_identify(ui, lang)
        await ui.type_digits(BILL)
        await ui.tap("key_continue")
        await ui.wait("bill")
        await ui.tap("confirm")
        await ui.wait("paying")
        h.acceptor_sim.insert_note(500)
        await ui.wait("paying", tid="amount_remaining", contains="₹140")
        h.acceptor_sim.insert_note(500)  # too big now: the acceptor hands it back unread
        back = await ui.wait("paying", tid="returned_why", contains="₹140", timeout=20)
        texts = back["texts"]
        if lang == "hi":
            assert texts["returned"] == "यह नोट वापस आ गया है — ले लें"
            assert texts["returned_why"] == "अभी ₹140 बाकी हैं — ऊपर दिखाए नोट ही डालें"
        else:
            assert texts["returned"] == "This note was returned — take it back"
            why = "₹140 is still due — put in one of the notes shown above"
            assert texts["returned_why"] == why
        assert "accepted_500" not in texts and "accepted_100" in texts
        geom = await ui.cmd(cmd="geom")
        boxes, (_w, height) = geom["boxes"], geom["window"]
        # The returned box, the message and the "money is safe" panel sit between the header
        # and the footer's buttons (geometry from the bottom-left, as Kivy measures it).
        footer_top = boxes["cancel"][1] + boxes["cancel"][3]
        header_bottom = boxes["header_title"][1]
        for tid in ("returned", "returned_why", "money_safe", "message"):
            _x, y, _w, hgt, _tap = boxes[tid]
            assert footer_top - 1 <= y and y + hgt <= min(header_bottom, height) + 1, (
                tid, boxes[tid], footer_top, header_bottom)
        await shot(ui, "paying-returned", lang)


@pytest.mark.parametrize("lang", ["hi", "en"])
async def test_number_entry_asks_for_more_time_then_finishes(tmp_path, lang):
    payment = {"identify_timeout_s": 36}
    async with KioskHarness(tmp_path, payment=payment) as h, screen(h, tmp_path, lang) as ui:
        await to_identify(ui, lang)
        await ui.type_digits("2104")
        unit = "सेकंड" if lang == "hi" else " s"  # the header counts down from 30 s
        await ui.wait("identify", tid="countdown", contains=unit, timeout=15)
        await shot(ui, "identify-countdown", lang)
        asked = await ui.wait("identify", modal="MoreTimeView", timeout=15)
        texts = asked["texts"]
        assert texts["more_time_finish"] == ("नहीं, खत्म करें" if lang == "hi" else "No, finish")
        assert any(ch.isdigit() for ch in texts["more_time_seconds"])
        assert ("कोई पैसा नहीं" if lang == "hi" else "No money") in texts["more_time_cash"]
        await shot(ui, "identify-more-time", lang)
        await ui.tap("more_time")  # more time: the core's timer starts again
        await ui.wait("identify", modal="")
        assert h.core.kiosk.session is not None
        await ui.wait("identify", modal="MoreTimeView", timeout=30)
        await ui.tap("more_time_finish")
        await ui.wait("ended", timeout=10)
