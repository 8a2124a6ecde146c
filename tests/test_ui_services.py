"""The citizen services on the touch screen, end to end against the real core, the device
simulators and the reference central: application status (number on the pad, the answer, the
slip printed with its QR) and certificate check (number on the on-screen keyboard, the answer,
the summary printed). The screen runs as its own Kivy process (offscreen SDL) and is tapped with
real touch events. Screenshots of every state in both languages: tests/artifacts/screens/
services-<service>-<state>-<lang>.png (the committed copies are in docs/screens/).

Each test starts its service as a citizen would: by tapping its tile on the home screen (drawn
from state.home once the reference catalogue has arrived); everything after that is tapped too."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
from pathlib import Path

import pytest

from screens.drive_client import UIProcess
from tests.harness import KioskHarness

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("kivy") is None, reason="kivy is not installed"
)

ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "screens"
PENSION = "2026110400101"  # seeded: verified by the Tehsildar, in progress
CASTE = "RJCC2026000451"  # seeded: a valid caste certificate


@contextlib.asynccontextmanager
async def kiosk(tmp_path: Path, lang: str, **harness):
    """The whole kiosk and the screen on the home tiles in `lang`, the reference catalogue's
    citizen services among them."""
    async with KioskHarness(tmp_path, **harness) as h:
        await catalogue_ready()
        ui = UIProcess(h.session_url, language=lang)
        await ui.start(log_dir=tmp_path / f"ui-{lang}")
        try:
            await ui.wait("attract")
            await ui.tap("attract_en" if lang == "en" else "attract_hi")
            await ui.wait("home", tid="tile_status")
            await ui.wait("home", tid="tile_info")  # the last tile: the grid is settled
            yield h, ui
        finally:
            await ui.close()


async def open_tile(ui: UIProcess, tid: str, title: str) -> dict[str, str]:
    """Tap a citizen service's tile on the home screen (it says `title`); the home screen's
    texts as they were before the tap."""
    home = await ui.wait("home", tid=f"{tid}_title")
    assert title in home["texts"][f"{tid}_title"], home["texts"]
    assert (await ui.cmd(cmd="geom"))["boxes"][tid][4], f"{tid} is not tappable"
    await ui.tap(tid)
    return home["texts"]


async def catalogue_ready() -> None:
    from sim.central import catalogue_seed
    from terminal import catalogue

    for _ in range(200):
        if catalogue.version() == catalogue_seed.VERSION:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the reference catalogue never arrived")


async def shot(ui: UIProcess, service: str, state: str, lang: str) -> None:
    await ui.screenshot(ARTIFACTS / f"services-{service}-{state}-{lang}.png")


async def pad(ui: UIProcess, digits: str, prefix: str = "svc_key") -> None:
    for digit in digits:
        await ui.tap(f"{prefix}_{digit}")


async def keys(ui: UIProcess, text: str) -> None:
    for char in text:
        await ui.tap(f"kb_{char}")


def joined(reply: dict) -> str:
    return " ".join(reply["texts"].values())


def no_codes(reply: dict) -> None:
    """Never a message key or a code on the citizen's screen."""
    text = joined(reply)
    for word in ("status_", "certificate_", "grievance_", "form_", "svc_", "paise", "None"):
        assert word not in text, (word, reply["texts"])


WORDS = {
    "hi": {"status_title": "आवेदन की स्थिति", "not_found": "रिकॉर्ड में नहीं मिला",
           "in_progress": "आपका आवेदन आगे बढ़ रहा है", "next": "अभी कुछ नहीं करना है",
           "printed": "पर्ची छप गई", "cert_title": "प्रमाण-पत्र जाँचें",
           "status_tile": "आवेदन की स्थिति", "cert_tile": "प्रमाण-पत्र जाँचें",
           "genuine": "यह प्रमाण-पत्र असली है", "caste": "जाति प्रमाण-पत्र",
           "revoked": "रद्द", "wait": "थोड़ा रुकें",
           "stage": "तहसीलदार ने जाँच कर ली है", "office": "तहसील कार्यालय, सांगानेर, जयपुर"},
    "en": {"status_title": "Application status", "not_found": "not in our records",
           "in_progress": "Your application is moving ahead", "next": "Nothing to do now",
           "printed": "The slip is printed", "cert_title": "Check a certificate",
           "status_tile": "Application status", "cert_tile": "Check a certificate",
           "genuine": "This certificate is genuine", "caste": "Caste certificate",
           "revoked": "cancelled", "wait": "Please wait",
           "stage": "Verified by the Tehsildar", "office": "Tehsil office, Sanganer, Jaipur"},
}


@pytest.mark.parametrize("lang", ["hi", "en"])
async def test_application_status_by_number_then_printed(tmp_path, lang):
    words = WORDS[lang]
    async with kiosk(tmp_path, lang) as (h, ui):
        await open_tile(ui, "tile_status", words["status_tile"])
        entry = await ui.wait("status", tid="svc_title")
        assert entry["texts"]["svc_title"] == words["status_title"]
        assert "क्यूआर" in entry["texts"]["svc_qr_hint"] if lang == "hi" \
            else "QR" in entry["texts"]["svc_qr_hint"]
        assert (await ui.cmd(cmd="geom"))["boxes"]["svc_key_continue"][4] is False  # empty
        await shot(ui, "status", "entry", lang)

        await pad(ui, "2026110400199")  # not a seeded application
        await ui.tap("svc_key_continue")
        wrong = await ui.wait("status", tid="message", contains=words["not_found"])
        assert wrong["texts"]["svc_number"] == "2026 1104 0019 9"
        no_codes(wrong)
        await shot(ui, "status", "not-found", lang)

        for _ in range(3):
            await ui.tap("svc_key_delete")
        await pad(ui, "101")
        await asyncio.sleep(0.5)
        h.central.state.slow_seconds = 2.0
        h.central.fail_next("slow")
        await ui.tap("svc_key_continue")
        checking = await ui.wait("status", tid="svc_checking", timeout=5)
        assert checking["texts"]["svc_checking"] == words["wait"]
        await shot(ui, "status", "checking", lang)

        found = await ui.wait("status", tid="svc_verdict", timeout=15)
        texts = found["texts"]
        assert texts["svc_verdict"] == words["in_progress"]
        assert texts["svc_application_no"] == PENSION
        assert texts["svc_stage"] == words["stage"]  # central's Hindi stage on the Hindi screen
        assert texts["svc_stage_date"] == "20-11-2026"
        assert texts["svc_office"] == words["office"]
        assert texts["svc_next_step"].startswith(words["next"])
        no_codes(found)
        await shot(ui, "status", "result", lang)

        await ui.tap("svc_print")
        printed = await ui.wait("status", tid="svc_printed", timeout=15)
        assert printed["texts"]["svc_printed"].startswith(words["printed"])
        assert "svc_print" not in printed["texts"]  # one slip per answer
        assert await h.printer_sim.wait_for_receipts(1, timeout=10)
        await shot(ui, "status", "printed", lang)

        await ui.tap("back")  # the home tiles again, not the attract screen
        await ui.wait("home")
        await asyncio.sleep(0.2)
        assert h.core.kiosk.lookup is None


async def test_application_status_from_the_slips_qr(tmp_path):
    async with kiosk(tmp_path, "hi") as (h, ui):
        h.rig.scanner_sim.scan(f"EMITRA1|A|{PENSION}")
        found = await ui.wait("status", tid="svc_verdict", timeout=15)
        assert found["texts"]["svc_application_no"] == PENSION
        await ui.tap("svc_another")
        again = await ui.wait("status", tid="svc_number")
        assert "svc_verdict" not in again["texts"]
        assert again["texts"]["svc_number"] == "यहाँ नंबर दिखेगा"


@pytest.mark.parametrize("lang", ["hi", "en"])
async def test_certificate_by_number_then_printed(tmp_path, lang):
    words = WORDS[lang]
    async with kiosk(tmp_path, lang) as (h, ui):
        await open_tile(ui, "tile_certificate", words["cert_tile"])
        entry = await ui.wait("certificate", tid="kb_Q")
        assert entry["texts"]["svc_title"] == words["cert_title"]
        geom = await ui.cmd(cmd="geom")
        for tid in ("kb_R", "kb_0", "kb_delete", "kb_continue", "back", "help"):
            x, y, w, hgt, tappable = geom["boxes"][tid]
            assert tappable and y + hgt <= 800 - 104 + 1, tid  # under the header, on screen
        await shot(ui, "certificate", "entry", lang)

        await keys(ui, "RJMC2026000455")  # a revoked marriage certificate
        await ui.tap("kb_continue")
        revoked = await ui.wait("certificate", tid="svc_verdict", timeout=15)
        assert words["revoked"] in revoked["texts"]["svc_verdict"]
        no_codes(revoked)
        await shot(ui, "certificate", "revoked", lang)

        await ui.tap("svc_another")
        await ui.wait("certificate", tid="kb_Q")
        await keys(ui, "RJCC2026000999")
        await ui.tap("kb_continue")
        missing = await ui.wait("certificate", tid="message", timeout=15)
        assert missing["texts"]["message"]
        no_codes(missing)
        await shot(ui, "certificate", "not-found", lang)
        for _ in range(3):
            await ui.tap("kb_delete")
        await keys(ui, "451")
        await ui.tap("kb_continue")
        genuine = await ui.wait("certificate", tid="svc_verdict", contains=words["genuine"],
                                timeout=15)
        texts = genuine["texts"]
        assert texts["svc_certificate_no"] == CASTE
        assert texts["svc_cert_type"] == words["caste"]
        assert texts["svc_holder"] == "Sita Ram Meghwal"
        assert texts["svc_issued_on"] == "14-03-2026"
        assert "Meghwal" in texts.values() and "SC" in texts.values()
        no_codes(genuine)
        await shot(ui, "certificate", "genuine", lang)

        await ui.tap("svc_print")
        await ui.wait("certificate", tid="svc_printed", timeout=15)
        assert await h.printer_sim.wait_for_receipts(1, timeout=10)
        await shot(ui, "certificate", "printed", lang)
