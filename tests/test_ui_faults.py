"""Two fault states on the citizen's screen, against the real core and the simulators (as
tests/test_ui.py): the journal's disk is full (cash off, the home banner says why) and central
refused a bill for good after the citizen paid (the DONE screen says the bill was NOT paid and
that every rupee is on the voucher slips). Screenshots land in tests/artifacts/screens/ and are
copied to docs/screens/ (home-storage-full-<lang>.png, done-refund-voucher-<lang>.png)."""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
from pathlib import Path

import pytest

from screens.drive_client import UIProcess
from tests.harness import KioskHarness

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("kivy") is None, reason="kivy is not installed"
)

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts" / "screens"
DOCS = ROOT / "docs" / "screens"
BSNL_350 = ("BSNL", "0141350350")  # seeded phone bill, ₹350: BSNL takes no advance payment


async def shot(ui: UIProcess, name: str, lang: str) -> None:
    path = await ui.screenshot(ARTIFACTS / f"{name}-{lang}.png")
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, DOCS / f"{name}-{lang}.png")


HEADER_TIDS = {"header_title", "header_location", "header_listen", "lang_hi", "lang_en", "clock"}


def overlaps(a: list, b: list) -> bool:
    ax, ay, aw, ah = a[:4]
    bx, by, bw, bh = b[:4]
    return ax < bx + bw - 1 and bx < ax + aw - 1 and ay < by + bh - 1 and by < ay + ah - 1


async def check_layout(ui: UIProcess, stacked: list[str]) -> dict:
    """Every named widget inside the window and below the header band; the `stacked` ones (in
    order, top to bottom) do not overlap one another."""
    geom = await ui.cmd(cmd="geom")
    width, height = geom["window"]
    boxes = geom["boxes"]
    header_bottom = height - 104 * min(width, height) / 800
    for tid, (x, y, w, hgt, _tappable) in boxes.items():
        assert x >= -1 and y >= -1 and x + w <= width + 1 and y + hgt <= height + 1, (tid, x, y)
        if tid not in HEADER_TIDS:
            assert y + hgt <= header_bottom + 1, (tid, y + hgt, header_bottom)
    shown = [tid for tid in stacked if tid in boxes]
    for upper, lower in zip(shown, shown[1:], strict=False):
        assert boxes[upper][1] >= boxes[lower][1] + boxes[lower][3] - 1, (upper, lower, boxes)
        assert not overlaps(boxes[upper], boxes[lower]), (upper, lower)
    return boxes


async def start_language(ui: UIProcess, lang: str) -> dict:
    await ui.wait("attract")
    await ui.tap("attract_en" if lang == "en" else "attract_hi")
    return await ui.wait("home")


@pytest.mark.parametrize("lang", ["hi", "en"])
async def test_home_says_cash_is_off_when_the_journal_disk_is_full(tmp_path, lang):
    """No room under the journal: cash off, the banner gives the reason in citizen words, the
    bill tiles are off, the QR check still works; room again and cash is back.

    The disk is "full" for real: the core's storage guard compares statvfs free space under the
    journal with its minimum, here raised above any disk's size (what `[journal] min_free_mb`
    is for; the config checks do not accept that key yet, so the test sets the running guard's
    minimum). Nothing is mocked: the guard's own ticker check finds the disk "full"."""
    async with KioskHarness(tmp_path) as h:
        ui = UIProcess(h.session_url, language=lang)
        await ui.start(log_dir=tmp_path / f"ui-{lang}")
        try:
            await start_language(ui, lang)
            guard = h.core.kiosk.storage
            normal_minimum = guard.min_free_bytes
            guard.min_free_bytes = 1 << 62  # more than any disk has free
            reason = (
                "मशीन में जगह भर गई है"
                if lang == "hi"
                else "The machine's storage is full"
            )
            home = await ui.wait("home", tid="degraded_banner", contains=reason, timeout=20)
            assert guard.problem == "journal_storage_full"
            assert "journal_storage_full" in h.core.kiosk.snapshot()["services"]["reasons"]
            banner = home["texts"]["degraded_banner"]
            if lang == "hi":  # (only this reason, unless a loaded machine made the sim flap)
                assert banner.startswith("नकद भुगतान अभी बंद है: ")
                assert banner.endswith(" — रसीद जाँच चालू है")
            else:
                assert banner.startswith("Cash payment is stopped for now: ")
                assert banner.endswith(" — receipt checking works")
            assert "journal" not in banner and "_" not in banner  # citizen words, not a code
            boxes = await check_layout(ui, ["degraded_banner", "tile_electricity"])
            for tile in ("tile_electricity", "tile_water", "tile_phone"):
                assert boxes[tile][4] is False, tile  # not tappable
            assert boxes["tile_verify"][4] is True
            refused = await ui.cmd(cmd="tap", tid="tile_water")
            assert not refused["ok"] and "disabled" in refused["error"]
            await shot(ui, "home-storage-full", lang)
            assert h.core.kiosk.session is None

            # room again: the next check lets cash back in, the banner goes
            guard.min_free_bytes = normal_minimum
            for _ in range(200):
                geom = await ui.cmd(cmd="geom")
                if geom["boxes"]["tile_electricity"][4] and "degraded_banner" not in geom["boxes"]:
                    break
                await asyncio.sleep(0.1)
            assert geom["boxes"]["tile_electricity"][4] is True
            assert "degraded_banner" not in geom["boxes"]
            assert guard.problem is None
        finally:
            await ui.close()


@pytest.mark.parametrize("lang", ["hi", "en"])
async def test_done_says_bill_not_paid_and_money_is_on_the_voucher(tmp_path, lang):
    """The bill is paid at a counter while the citizen reads it on the screen; they put in
    ₹400 for ₹350; central refuses the payment for good. The DONE screen: NOT paid, all ₹400 on
    the two slips (₹350 refund voucher + ₹50 overshoot voucher), never "payment successful".
    A phone bill: its overshoot is a voucher (water's would be an advance, refunded with it)."""
    async with KioskHarness(tmp_path) as h:
        ui = UIProcess(h.session_url, language=lang)
        await ui.start(log_dir=tmp_path / f"ui-{lang}")
        try:
            await start_language(ui, lang)
            await ui.tap("tile_phone")  # one phone company: straight to the number
            await ui.wait("identify")
            await ui.type_digits(BSNL_350[1])
            await ui.tap("key_continue")
            bill = await ui.wait("bill")
            assert bill["texts"]["bill_due"] == "₹350"
            with h.central.store._tx() as db:  # paid at a counter meanwhile
                db.execute(
                    "UPDATE bills SET status = 'paid' WHERE consumer_number = ?", (BSNL_350[1],)
                )
            await ui.tap("confirm")
            await ui.wait("paying")
            h.acceptor_sim.insert_note(200)
            await ui.wait("paying", tid="amount_paid", contains="₹200")
            h.acceptor_sim.insert_note(200)
            done = await ui.wait("done", timeout=30)

            state = h.core.kiosk.snapshot()
            session = state["session"]
            assert state["message"]["key"] == "payment_refused_refund_voucher"
            assert session["refund_voucher"]["paise"] == 35000
            assert session["voucher"]["paise"] == 5000
            assert session["provisional"] is False
            assert session["printed"] == ["refund_voucher", "voucher"]  # no receipt
            assert h.central.payments() == []

            texts = done["texts"]
            every = " ".join(texts.values())
            if lang == "hi":
                assert texts["done_title"] == "आपका बिल जमा नहीं हुआ"
                assert texts["voucher"] == (
                    "आपके पूरे ₹400 की दो पर्चियाँ (वाउचर) छपी हैं: ₹350 और ₹50"
                    " — अगली बार बिल भरते समय काम आएँगी"
                )
                assert texts["take"] == "अपनी दोनों पर्चियाँ लें"
                assert "सफल" not in every and "रसीद लें" not in every
            else:
                assert texts["done_title"] == "Your bill was NOT paid"
                assert texts["voucher"] == (
                    "All your money, ₹400, is on two voucher slips (₹350 and ₹50)"
                    " — use them when you next pay a bill"
                )
                assert texts["take"] == "Take your slips (2)"
                assert "success" not in every.lower() and "receipt" not in every.lower()
            # nothing claims the bill was paid, no receipt number, no "confirmed later"
            assert {"done_amount", "receipt_no", "provisional"}.isdisjoint(texts)
            assert "181" in texts["done_helpline"]
            assert "paise" not in every.lower() and "refund_voucher" not in every
            await check_layout(
                ui, ["done_title", "voucher", "take", "done_helpline", "thank_you", "finish"]
            )
            await shot(ui, "done-refund-voucher", lang)

            await ui.tap("finish")
            await ui.wait("attract")
        finally:
            await ui.close()
