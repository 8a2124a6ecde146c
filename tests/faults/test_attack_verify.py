"""Attack: a note goes missing between the cassette and the count (a light-fingered collection,
a note that fell behind the stacker), and `emitra-kiosk verify` must not say "ok" (issue 10,
"`verify` must not be blind to the cassette"). Also: `verify` on a journal that is not there is
an error, not a freshly created empty journal that passes.

End to end through the real parts: the simulated acceptor over a pty, the real core, the
maintenance API over the session socket, and `emitra-kiosk verify` as its own process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from harness import KioskHarness

DEMO_PIN = "246810"  # config/default.toml's demo hash
REPO = Path(__file__).resolve().parents[2]


async def pay_350(h: KioskHarness) -> None:
    """A citizen pays PHED 5012345678 (₹350) with ₹200 + ₹100 + ₹50."""
    async with h.client() as citizen:
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


def run_verify(tmp_path: Path, journal_path: str | Path) -> subprocess.CompletedProcess:
    site = tmp_path / "site-verify.toml"
    site.write_text(f"[journal]\npath = {json.dumps(str(journal_path))}\n")
    return subprocess.run(
        [sys.executable, "-m", "terminal.cli", "verify", "--config", str(site)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def collect(h: KioskHarness, counted: dict[str, int], expected: int = 35000) -> dict:
    async with h.client() as screen:
        entered = await screen.send("maintenance", action="enter", engineer_id="E42", pin=DEMO_PIN)
        assert entered["ok"], entered
        summary = await screen.send("maintenance", action="cash_summary")
        assert summary["ok"] and summary["data"]["total_paise"] == expected
        collected = await screen.send("maintenance", action="collect_cash", counted=counted)
        assert collected["ok"], collected
        await screen.send("maintenance", action="leave")
        return collected["data"]


@pytest.mark.parametrize("protocol", ["ccnet", "essp"])
async def test_a_100_note_short_at_collection_is_an_alarm_and_verify_fails(tmp_path, protocol):
    async with KioskHarness(tmp_path, protocol=protocol) as h:
        await pay_350(h)
        journal_path = h.config["journal"]["path"]
        assert run_verify(tmp_path, journal_path).returncode == 0  # the money is all accounted

        # The cassette held ₹200 + ₹100 + ₹50; the engineer counts it without the ₹100 note.
        data = await collect(h, {"20000": 1, "5000": 1})
        count = data["count"]
        assert count["expected_paise"] == 35000 and count["counted_paise"] == 25000
        assert count["difference_paise"] == -10000
        alarms = h.core.kiosk.maintenance.alarms()
        assert any(
            a["code"].startswith("cash_count_difference")
            and "₹100 (10000 paise) short" in a["message"]
            for a in alarms
        ), alarms
        counts = list(h.core.journal.events(kinds=("cash_counted",)))
        assert len(counts) == 1 and counts[0].data["collection_id"] == data["collection_id"]
        if protocol == "essp":  # eSSP GET COUNTERS is journaled with the count
            assert counts[0].data["device"]["available"] is True, counts[0].data["device"]
        slip = "\n".join(h.printer_sim.texts)
        assert "DIFFERENCE: SHORT" in slip  # the amount (₹100) is an image

        done = run_verify(tmp_path, journal_path)
        assert done.returncode == 1, done.stdout + done.stderr
        report = json.loads(done.stdout)
        assert report["ok"] is False
        assert any(
            data["collection_id"] in p and "₹100 (10000 paise) short" in p
            for p in report["problems"]
        ), report["problems"]
        assert "₹100 (10000 paise) short" in done.stderr


async def test_an_exact_count_verifies_ok(tmp_path):
    async with KioskHarness(tmp_path) as h:
        await pay_350(h)
        data = await collect(h, {"20000": 1, "10000": 1, "5000": 1})
        assert data["count"]["difference_paise"] == 0 and not data["count"]["problems"]
        assert not [
            a for a in h.core.kiosk.maintenance.alarms() if a["code"].startswith("cash_count")
        ]
        done = run_verify(tmp_path, h.config["journal"]["path"])
        assert done.returncode == 0, done.stdout + done.stderr
        assert json.loads(done.stdout)["cash"]["collections"][0]["counted_paise"] == 35000


async def test_a_note_the_essp_device_stacked_but_nobody_credited_fails_verify(tmp_path):
    """The count can agree with the journal while the device knows better: a note stacked and
    never reported (the core was down, the report lost) is in the device's own counter."""
    async with KioskHarness(tmp_path, protocol="essp") as h:
        await pay_350(h)
        first = await collect(h, {"20000": 1, "10000": 1, "5000": 1})
        assert first["count"]["device"]["available"] and not first["count"]["problems"]
        h.acceptor_sim.counters["stacked"] += 1  # stacked, never reported to the kiosk
        second = await collect(h, {}, expected=0)
        assert second["count"]["device_notes"] == 1 and second["count"]["journal_notes"] == 0
        assert any("1 note(s) more in the device" in p for p in second["count"]["problems"])
        assert any(
            a["code"] == f"cash_count_difference:{second['collection_id']}"
            for a in h.core.kiosk.maintenance.alarms()
        )
        done = run_verify(tmp_path, h.config["journal"]["path"])
        assert done.returncode == 1, done.stdout + done.stderr
        problems = json.loads(done.stdout)["problems"]
        assert [p for p in problems if second["collection_id"] in p and "stacked 1 notes" in p]
        assert not [p for p in problems if first["collection_id"] in p], problems


def test_verify_on_a_missing_journal_is_an_error_and_creates_nothing(tmp_path):
    missing = tmp_path / "no-such-dir" / "journal.sqlite"
    done = run_verify(tmp_path, missing)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "no journal" in done.stderr and str(missing) in done.stderr
    assert not missing.exists() and not missing.parent.exists()
