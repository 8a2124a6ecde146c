"""The engineer's maintenance screens against the real core: the hidden entry (long press in
the top-left corner), engineer id + PIN on the keypad, the menu, the cash summary after a
citizen's cash payment, the collection slip, leaving."""

from __future__ import annotations

import asyncio
import importlib.util
import time
from pathlib import Path

import pytest

from screens.drive_client import UIProcess
from tests.harness import KioskHarness

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("kivy") is None, reason="kivy is not installed"
)

ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "screens"
DEMO_PIN = "246810"  # config/default.toml's demo hash


async def pay_350_in_cash(h: KioskHarness) -> None:
    """A citizen pays PHED 5012345678 (₹350) with ₹200 + ₹100 + ₹50 (no screen needed)."""
    async with h.client() as citizen:
        # On a loaded machine the acceptor may still be opening when the core answers.
        await citizen.wait_for(lambda s: (s.get("services") or {}).get("cash_payment"), timeout=20)
        assert (await citizen.send("start", provider="PHED"))["ok"]
        assert (await citizen.send("consumer", number="5012345678"))["ok"]
        await citizen.wait_screen("BILL")
        assert (await citizen.send("confirm"))["ok"]
        await citizen.wait_screen("PAYING")
        for rupees in (200, 100, 50):
            h.acceptor_sim.insert_note(rupees)
        await citizen.wait_screen("DONE", timeout=30)
        assert (await citizen.send("finish"))["ok"]
        await citizen.wait_screen("IDLE")


async def open_login(ui: UIProcess, lang: str = "hi") -> dict:
    await ui.wait("attract")
    if lang == "en":
        await ui.tap("lang_en")
        await ui.wait("attract", tid="attract_touch", contains="Touch")
    await ui.cmd(cmd="press", x=0.02, y=0.02, hold=3.3)
    return await ui.wait("maintenance")


async def log_in(ui: UIProcess, pin: str, engineer: str = "42") -> None:
    await ui.type_digits(engineer)
    await ui.tap("key_continue")
    await ui.type_digits(pin)
    await ui.tap("key_continue")


async def count_notes(ui: UIProcess, notes: dict[int, int], total: str) -> list[str]:
    """Tap +1 per note on the collection screen; the collect button shows the count."""
    for paise, n in notes.items():
        for _ in range(n):
            await ui.tap(f"maint_count_{paise}_plus")
    shown = await ui.wait("maint_menu", tid="maint_collect", contains=total)
    return [v for k, v in shown["texts"].items() if k.startswith("maint_")]


async def type_seal(ui: UIProcess, seal: str, shot: str | None = None) -> None:
    """The seal/bag number on its keyboard (opened by the seal line or by Collect without
    one), then back to the collection screen with it."""
    await ui.wait("maint_menu", tid="maint_seal_value", modal="SealEntryView")
    for key in seal:
        await ui.tap(f"kb_{key}")
    await ui.wait("maint_menu", tid="maint_seal_value", contains=seal)
    if shot:
        await ui.screenshot(ARTIFACTS / shot)
    await ui.tap("kb_continue")
    await ui.wait("maint_menu", tid="maint_seal", contains=seal, modal="")


async def collected_lines(ui: UIProcess) -> list[str]:
    """The result of collect_cash once the slip is printed (the title comes first)."""
    deadline = time.monotonic() + 20
    while True:
        slip = await ui.wait(
            "maint_menu", tid="maint_result_title", contains="collected", timeout=20
        )
        lines = [v for k, v in slip["texts"].items() if k.startswith("maint_line_")]
        if "Slip printed" in lines or time.monotonic() > deadline:
            return lines
        await asyncio.sleep(0.2)


async def test_pin_entry_in_hindi_and_a_wrong_pin(tmp_path):
    async with KioskHarness(tmp_path) as h:
        ui = UIProcess(h.session_url, language="hi")
        await ui.start(log_dir=tmp_path / "ui")
        try:
            login = await open_login(ui)
            assert login["texts"]["maint_title"] == "रखरखाव"
            await ui.type_digits("42")
            await ui.tap("key_continue")
            await ui.type_digits("1357")
            typed = await ui.texts()
            assert typed["texts"]["pin"] == "••••"
            await ui.screenshot(ARTIFACTS / "maintenance-pin-hi.png")
            await ui.tap("key_continue")
            wrong = await ui.wait("maintenance", tid="maint_message", contains="पिन सही नहीं")
            assert wrong["texts"]["pin"] == "—"  # the PIN is cleared for another try
            assert not h.core.kiosk.maintenance.active
        finally:
            await ui.close()


async def test_menu_cash_collection_and_leave(tmp_path):
    async with KioskHarness(tmp_path) as h:
        await pay_350_in_cash(h)
        ui = UIProcess(h.session_url, language="en")
        await ui.start(log_dir=tmp_path / "ui")
        try:
            await open_login(ui, "en")
            await ui.type_digits("42")
            await ui.tap("key_continue")
            await ui.type_digits("9999")
            await ui.screenshot(ARTIFACTS / "maintenance-pin-en.png")
            await ui.tap("key_continue")
            wrong = await ui.wait("maintenance", tid="maint_message", contains="Wrong PIN")
            assert "wrong_pin" not in str(wrong["texts"])

            await ui.type_digits(DEMO_PIN)
            await ui.tap("key_continue")
            menu = await ui.wait("maint_menu")
            assert h.core.kiosk.maintenance.active
            for tid in (
                "maint_cash_summary",
                "maint_test_print",
                "maint_test_note",
                "maint_identities",
                "maint_fault_log",
                "maint_outbox_view",
                "maint_network_test",
                "maint_recent_receipts",
                "maint_restart",
                "maint_leave",
            ):
                assert tid in menu["texts"], tid
            await ui.screenshot(ARTIFACTS / "maintenance-menu-en.png")

            await ui.tap("maint_cash_summary")
            cash = await ui.wait("maint_menu", tid="maint_collect")
            lines = [v for k, v in cash["texts"].items() if k.startswith("maint_line_")]
            assert "Total: ₹350" in lines
            for row in ("₹200 x 1 = ₹200", "₹100 x 1 = ₹100", "₹50 x 1 = ₹50"):
                assert row in lines, lines
            # The count starts at zero for every note the kiosk takes (a blind count).
            for rupees in (500, 200, 100, 50, 20, 10):
                assert cash["texts"][f"maint_count_{rupees * 100}"] == f"₹{rupees}: 0"
            # The engineer finds ₹200 + ₹50 in the cassette: the ₹100 note is missing.
            lines = await count_notes(ui, {20000: 1, 5000: 1}, "2 notes (₹250)")
            shown = await ui.texts()
            assert "not typed yet" in shown["texts"]["maint_seal"]
            assert shown["texts"]["maint_collect"].startswith("Type the seal/bag number")
            # Collect without a seal number opens its keyboard; nothing is collected yet.
            await ui.tap("maint_collect")
            await ui.wait("maint_menu", tid="maint_seal_value", modal="SealEntryView")
            assert not [e for e in h.core.journal.events(kinds=("maintenance",))
                        if e.data["action"] == "cash_collected"]
            await ui.tap("kb_S")
            await ui.tap("kb_B")  # two signs are not a seal number: Continue stays grey
            tapped = await ui.cmd(cmd="tap", tid="kb_continue")
            assert not tapped.get("ok") or (await ui.texts())["modal"] == "SealEntryView"
            await type_seal(ui, "12345", shot="maintenance-seal-en.png")
            shown = await ui.wait("maint_menu", tid="maint_collect", contains="and print slip")
            assert shown["texts"]["maint_seal"].startswith("Seal/bag no.: SB12345")
            await ui.screenshot(ARTIFACTS / "maintenance-cash-en.png")

            printed_before = len(h.printer_sim.receipts)
            await ui.tap("maint_collect")
            lines = await collected_lines(ui)
            assert "Total: ₹350" in lines and "Slip printed" in lines, lines
            assert "Counted: ₹250" in lines, lines
            assert "DIFFERENCE: ₹100 SHORT - alarm raised" in lines, lines
            assert "    ₹100 notes: counted 0, journal 1" in lines, lines
            assert "Seal/bag no.: SB12345" in lines, lines
            assert "Vouchers issued in the period: 0 (₹0)" in lines, lines
            assert len(h.printer_sim.receipts) > printed_before
            slip = "\n".join(h.printer_sim.texts)
            assert "DIFFERENCE: SHORT" in slip and "Seal/bag no: SB12345" in slip
            assert "Rs." not in slip
            (collected,) = [e for e in h.core.journal.events(kinds=("maintenance",))
                            if e.data["action"] == "cash_collected"]
            assert collected.data["seal_no"] == "SB12345"
            shown = await ui.wait("maint_menu", tid="maint_engineer", contains="cash_count")
            assert "cash_count_difference" in shown["texts"]["maint_engineer"]
            await ui.screenshot(ARTIFACTS / "maintenance-collected-en.png")

            # after the collection the cassette is empty
            await ui.tap("maint_cash_summary")
            again = await ui.wait("maint_menu", tid="maint_collect")
            assert "Total: ₹0" in again["texts"].values()

            # other actions answer in plain lines, never a traceback
            for tid, title in (
                ("maint_identities", "Device info"),
                ("maint_outbox_view", "Outbox"),
                ("maint_fault_log", "Fault log"),
                ("maint_test_print", "Test print"),
                ("maint_network_test", "Network test"),
                ("maint_recent_receipts", "Reprint receipts"),
            ):
                await ui.tap(tid)
                for _ in range(100):
                    shown = await ui.texts()
                    if shown["texts"].get("maint_result_title") == title and not any(
                        "..." in v for k, v in shown["texts"].items() if k == "maint_line_0"
                    ):
                        break
                    await asyncio.sleep(0.2)
                assert shown["texts"]["maint_result_title"] == title
                assert "Traceback" not in str(shown["texts"])
            # the receipt of the ₹350 payment can be reprinted
            before = len(h.printer_sim.receipts)
            await ui.tap("maint_reprint_0")
            await ui.wait("maint_menu", tid="maint_line_0", contains="printed", timeout=20)
            assert len(h.printer_sim.receipts) > before

            await ui.tap("maint_restart")
            confirm = await ui.wait("maint_menu", tid="maint_confirm_restart")
            assert "Restart" in confirm["texts"]["maint_result_title"]

            await ui.tap("maint_leave")
            await ui.wait("attract", timeout=10)
            assert not h.core.kiosk.maintenance.active
        finally:
            await ui.close()


async def test_cash_count_in_hindi_that_matches(tmp_path):
    """With the screen in Hindi the engineer's screens stay as they are (English, for the
    engineer); an exact count says so, with no alarm."""
    async with KioskHarness(tmp_path) as h:
        await pay_350_in_cash(h)
        ui = UIProcess(h.session_url, language="hi")
        await ui.start(log_dir=tmp_path / "ui")
        try:
            await open_login(ui)
            await log_in(ui, DEMO_PIN)
            await ui.wait("maint_menu")
            await ui.tap("maint_cash_summary")
            await ui.wait("maint_menu", tid="maint_collect")
            await ui.tap("maint_count_20000_minus")  # at zero already: stays at zero
            await count_notes(ui, {20000: 1, 10000: 1, 5000: 1}, "3 notes (₹350)")
            await ui.tap("maint_seal")
            await type_seal(ui, "BAG7001", shot="maintenance-seal-hi.png")
            await ui.screenshot(ARTIFACTS / "maintenance-cash-hi.png")
            await ui.tap("maint_collect")
            lines = await collected_lines(ui)
            assert "Count matches the journal" in lines and "Counted: ₹350" in lines, lines
            assert "Seal/bag no.: BAG7001" in lines, lines
            assert not [a for a in h.core.kiosk.maintenance.alarms() if "cash" in a["code"]]
            await ui.screenshot(ARTIFACTS / "maintenance-collected-hi.png")

            # The seal keyboard open when maintenance ends (timed out): it goes with it.
            await ui.tap("maint_cash_summary")
            await ui.wait("maint_menu", tid="maint_collect")
            await ui.tap("maint_seal")
            await ui.wait("maint_menu", tid="maint_seal_value", modal="SealEntryView")
            h.core.kiosk.maintenance.leave("inactivity")
            await ui.wait("attract", modal="", timeout=15)
        finally:
            await ui.close()


async def test_collection_on_the_screen_raises_no_alarm(tmp_path):
    """The engineer opens Cash collection (the screen sends begin_collection), takes the
    cassette out, counts, collects and puts it back: no cassette alarm, no count alarm."""
    async with KioskHarness(tmp_path) as h:
        await pay_350_in_cash(h)
        m = h.core.kiosk.maintenance
        ui = UIProcess(h.session_url, language="en")
        await ui.start(log_dir=tmp_path / "ui")
        try:
            await open_login(ui, "en")
            await log_in(ui, DEMO_PIN)
            await ui.wait("maint_menu")
            await ui.tap("maint_cash_summary")
            await ui.wait("maint_menu", tid="maint_collect")
            assert m.collection_in_progress

            h.acceptor_sim.remove_cassette()
            for _ in range(100):  # the core sees the cassette out (and journals it)
                if "cassette_removed" in h.core.kiosk.device_status["acceptor"].detail:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)  # a few passes of maintenance's device watch
            await count_notes(ui, {20000: 1, 10000: 1, 5000: 1}, "3 notes (₹350)")
            await ui.tap("maint_seal")
            await type_seal(ui, "S42")
            await ui.tap("maint_collect")
            lines = await collected_lines(ui)
            assert "Count matches the journal" in lines, lines
            h.acceptor_sim.insert_cassette()
            await asyncio.sleep(1.0)

            assert m.alarms() == []
            actions = [ev.data for ev in h.core.journal.events(kinds=("maintenance",))]
            removed = [a for a in actions if a["action"] == "cassette_removed"]
            assert removed and all(a["during"] == "collection" for a in removed), removed
            assert [a["action"] for a in actions].count("collection_started") == 1
            shown = await ui.texts()
            assert "alarms" not in shown["texts"]["maint_engineer"]
        finally:
            await ui.close()


def test_results_are_plain_lines_never_tracebacks():
    from screens.maint import result_lines

    lines = result_lines(
        "cash_summary",
        {"by_denomination": [{"paise": 50000, "count": 2}], "notes": 2, "total_paise": 100000},
    )
    assert "₹500 x 2 = ₹1,000" in lines and "Total: ₹1,000" in lines
    short = result_lines(
        "collect_cash",
        {
            "collection_id": "C-1",
            "total_paise": 35000,
            "printed": True,
            "count": {
                "counted": {"20000": 1, "5000": 1},
                "counted_paise": 25000,
                "difference_paise": -10000,
                "denominations_differ": [{"paise": 10000, "expected": 1, "counted": 0}],
                "problems": ["short"],
                "device": {"available": True, "stacked_total": 12},
                "device_notes": 3,
                "journal_notes": 3,
            },
        },
    )
    assert "DIFFERENCE: ₹100 SHORT - alarm raised" in short
    assert "Seal/bag no.: not given" in short  # a collection from before seal numbers
    sealed = result_lines("collect_cash", {"collection_id": "C-2", "seal_no": "SB12345",
                                           "since": "2026-11-16T05:00:00.000000Z",
                                           "at": "2026-11-23T19:00:00.000000Z",
                                           "vouchers_issued": 4, "vouchers_paise": 18000})
    assert "Seal/bag no.: SB12345" in sealed
    assert "Period: 16-11-2026 10:30 to 24-11-2026 00:30" in sealed  # IST, not UTC
    assert "Vouchers issued in the period: 4 (₹180)" in sealed
    assert "Acceptor counter: 3 notes stacked (matches)" in short
    bad = result_lines("test_print", {"printed": False, "error": "Traceback (most recent call"})
    assert bad == ["Test page NOT printed: internal error"]
    odd = result_lines("identities", ["not", "a", "dict"])  # an unexpected shape
    assert odd == ["- not", "- a", "- dict"]
    many = result_lines("fault_log", [{"at": "2026-11-23T10:00:00Z", "kind": "x"}] * 100)
    assert len(many) == 41 and many[-1] == "... and 60 more"
