"""Application status through the session API: by number on the keypad or by the QR of the
acknowledgement slip on the scanner; stage, date, office and next step from the reference central
on loopback; a printed slip whose QR leads back to the same status; hostile replies refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from harness import KioskHarness
from PIL import Image
from pyzbar.pyzbar import decode

from sim.central import catalogue_seed

PENSION = "2026110400101"


async def ready(h):
    from terminal import catalogue

    for _ in range(200):
        if catalogue.version() == catalogue_seed.VERSION:
            return
        await asyncio.sleep(0.05)


async def test_status_by_number_and_printed_slip_with_its_qr(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await ready(h)
        assert (await citizen.send("status_start"))["ok"]
        state = await citizen.wait_screen("STATUS")
        assert state["lookup"]["message_key"] == "status_enter_number"
        assert (await citizen.send("status_lookup", number=PENSION))["ok"]
        state = await citizen.wait_for(lambda s: (s["lookup"] or {}).get("status") == "done")
        result = state["lookup"]["result"]
        assert state["screen"] == "STATUS" and state["lookup"]["message_key"] == "status_found"
        assert result["stage"] == "Verified by the Tehsildar"
        assert result["stage_date"] == "2026-11-20"
        assert result["office"] == "Tehsil office, Sanganer, Jaipur"
        assert result["next_step_hi"].startswith("अभी")
        assert result["stage_hi"] == "तहसीलदार ने जाँच कर ली है"
        assert result["office_hi"] == "तहसील कार्यालय, सांगानेर, जयपुर"

        assert (await citizen.send("status_print"))["ok"]
        assert await h.printer_sim.wait_for_receipts(1, timeout=10)
        codes = [c.data.decode() for c in decode(Image.open(h.printer_sim.receipts[0]))]
        assert codes == [f"EMITRA1|A|{PENSION}"]
        again = await citizen.send("status_print")  # one slip per answer
        assert again["ok"] is False and again["message_key"] == "not_now"

        # The slip's QR, scanned on the home screen, shows the same status.
        assert (await citizen.send("finish"))["ok"]
        await citizen.wait_screen("IDLE")
        h.rig.scanner_sim.scan(codes[0])
        state = await citizen.wait_for(
            lambda s: s["screen"] == "STATUS" and (s["lookup"] or {}).get("status") == "done")
        assert state["lookup"]["result"]["application_no"] == PENSION


@pytest.mark.parametrize(("number", "key"), [
    ("12", "status_number_invalid"),
    ("2026-11-04-001", "status_number_invalid"),
    ("9999999999999", "status_not_found"),
])
async def test_status_problems_are_said_and_the_citizen_can_retry(tmp_path, number, key):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await ready(h)
        assert (await citizen.send("status_start"))["ok"]
        result = await citizen.send("status_lookup", number=number)
        assert result["ok"] is False and result["message_key"] == key
        assert citizen.state["screen"] == "STATUS" and not citizen.state["busy"]
        assert (await citizen.send("status_lookup", number="2026110400102"))["ok"]
        state = await citizen.wait_for(lambda s: (s["lookup"] or {}).get("status") == "done")
        assert state["lookup"]["result"]["status"] == "awaiting_citizen"


async def test_central_down_or_garbled_is_central_unavailable(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await ready(h)
        assert (await citizen.send("status_start"))["ok"]
        for mode in ("http500", "garbage", "unsigned"):
            h.central.fail_next(mode)
            result = await citizen.send("status_lookup", number=PENSION)
            assert result["message_key"] == "central_unavailable", mode
        # A print without an answer is refused, not a blank slip.
        assert (await citizen.send("status_print"))["message_key"] == "not_now"


async def test_a_status_check_during_a_payment_is_refused(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await ready(h)
        assert (await citizen.send("start", provider="PHED"))["ok"]
        result = await citizen.send("status_start")
        assert result["ok"] is False and result["message_key"] == "session_in_progress"
        assert (await citizen.send("status_lookup", number=PENSION))["message_key"] == "not_now"


async def test_hostile_status_replies_are_refused(tmp_path, monkeypatch):
    """Central signs a reply that makes no sense: another application, an unknown status, a
    stage with control characters or too long to print: never shown."""
    from sim.central import services_store

    real = services_store.ServicesStore.application
    bad = [
        {"application_no": "2026110400103"},
        {"status": "lost_in_the_post"},
        {"stage": "Approved\x1b[2J"},
        {"office": "x" * 500},
        {"next_step_en": 42},
        {"stage_hi": 42},
        {"stage_hi": "स्वीकृत\x1b[2J"},
        {"office_hi": "क" * 121},
        {"office_hi": "Tehsil office"},  # no Hindi in the Hindi field
        {"stage_hi": ""},
    ]
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await ready(h)
        assert (await citizen.send("status_start"))["ok"]
        for change in bad:
            monkeypatch.setattr(services_store.ServicesStore, "application",
                                lambda self, n, c=change: {**real(self, n), **c})
            result = await citizen.send("status_lookup", number=PENSION)
            assert result["message_key"] == "central_unavailable", change
            assert citizen.state["lookup"]["result"] is None


async def test_slip_without_paper_is_said_and_can_be_asked_again(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await ready(h)
        assert (await citizen.send("status_start"))["ok"]
        assert (await citizen.send("status_lookup", number=PENSION))["ok"]
        await citizen.wait_for(lambda s: (s["lookup"] or {}).get("status") == "done")
        h.printer_sim.set_paper("out")
        result = await citizen.send("status_print")
        assert result["ok"] is False and result["message_key"] == "slip_print_failed"
        state = await citizen.wait_for(
            lambda s: "printer_out_of_paper" in s["services"]["reasons"])
        assert state["lookup"]["printed"] is False
        h.printer_sim.set_paper("ok")
        for _ in range(50):  # the watchdog sees the paper back
            if (await citizen.send("status_print"))["ok"]:
                break
            await asyncio.sleep(0.2)
        assert citizen.state["lookup"]["printed"] is True
        assert await h.printer_sim.wait_for_receipts(1, timeout=10)


SLIPS = Path(__file__).resolve().parent / "artifacts" / "slips"
TERMINAL = {"id": "RJ-JPR-0001", "location": "Jaipur Collectorate", "helpline": "181",
            "timezone": "Asia/Kolkata"}
STATUS = {
    "application_no": PENSION, "service": "old_age_pension", "stage": "Verified",
    "stage_date": "2026-11-20", "office": "Tehsil office, Sanganer",
    "next_step_en": "Wait for the sanction letter by post.",
    "next_step_hi": "मंज़ूरी का पत्र डाक से आएगा।",
}
CERT = {
    "certificate_no": "INC202611000042", "type": "income", "holder_name": "Ra**** Ku***",
    "issued_on": "2026-10-01", "issued_by": "Tehsildar, Sanganer", "status": "valid",
    "details": {"category": "SC"}, "verification": "0123456789abcdef",
}


@pytest.mark.parametrize("width", [576, 384])
@pytest.mark.parametrize("kind", ["status", "certificate", "grievance", "acknowledgement"])
def test_service_slips_read_like_the_receipts(kind, width):
    """Every service slip: the helpline and the machine number at the foot, the time in the
    kiosk's zone named (00:30 IST on the 24th when UTC is still the 23rd), dates day first,
    and no ink in the 3 mm margins (the printer simulator's own picture, saved for a look)."""
    from datetime import UTC, datetime

    from drivers.base import TextLine
    from drivers.printer.escpos_driver import JobRenderer
    from sim.devices.escpos_printer import render_escpos
    from terminal.receipt_layout import MARGIN_DOTS
    from terminal.status_slip import (
        build_acknowledgement_slip,
        build_certificate_slip,
        build_grievance_slip,
        build_status_slip,
    )

    now = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
    build = {
        "status": lambda t: build_status_slip(STATUS, t, width, now=now),
        "certificate": lambda t: build_certificate_slip(CERT, t, width, now=now),
        "grievance": lambda t: build_grievance_slip(
            {"grievance_no": "2026112300001", "department": "Electricity",
             "category": "Billing", "mobile_masked": "XXXXXX3210", "receipt_no": None},
            t, width, now=now),
        "acknowledgement": lambda t: build_acknowledgement_slip(
            {"application_no": PENSION, "service_name_en": "Old age pension",
             "service_name_hi": "वृद्धावस्था पेंशन", "receipt_no": "RCPT-000003"},
            t, width, now=now),
    }[kind]
    doc = build(TERMINAL)
    text = "\n".join(b.text.strip() for b in doc.blocks if isinstance(b, TextLine))
    assert "Printed : 24-11-2026 00:30 IST" in " ".join(text.split()), text
    assert text.count("Kiosk RJ-JPR-0001") == 2  # the header and the foot
    assert "UTC" not in text
    if kind == "status":
        assert "Date      : 20-11-2026" in text
    (img,) = render_escpos(JobRenderer(width).render(doc), width)
    SLIPS.mkdir(parents=True, exist_ok=True)
    img.save(SLIPS / f"{kind}-{width}.png")
    ink = img.point(lambda v: 255 if v < 128 else 0).convert("1")
    left = ink.crop((0, 0, MARGIN_DOTS - 4, img.height)).getbbox()
    right = ink.crop((width - MARGIN_DOTS + 4, 0, width, img.height)).getbbox()
    assert left is None and right is None, (kind, left, right)
    # the helpline is in an image (both languages on one line): the build says it
    assert any("Helpline 181" in t for t in _pictured(build, TERMINAL))
    # a kiosk configured for UTC prints UTC, named
    utc = build({**TERMINAL, "timezone": "UTC"})
    utc_text = " ".join(" ".join(b.text for b in utc.blocks if isinstance(b, TextLine)).split())
    assert "Printed : 23-11-2026 19:00 UTC" in utc_text


def _pictured(build, terminal) -> list[str]:
    """The texts a build renders as images (the render is watched, not replaced)."""
    from terminal import receipt_layout

    seen, real = [], receipt_layout._render_png

    def recording(text, *rest):
        seen.append(text)
        return real(text, *rest)

    receipt_layout._render_png = recording
    try:
        build(terminal)
    finally:
        receipt_layout._render_png = real
    return seen


async def test_an_answer_without_the_hindi_stage_and_office_is_shown_in_english(
        tmp_path, monkeypatch):
    """A central that sends no stage_hi / office_hi (an older one): the answer is still shown,
    the screen falls back to the English stage and office."""
    from sim.central import services_store

    real = services_store.ServicesStore.application

    def english_only(self, number):
        reply = real(self, number)
        del reply["stage_hi"], reply["office_hi"]
        return reply

    monkeypatch.setattr(services_store.ServicesStore, "application", english_only)
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await ready(h)
        assert (await citizen.send("status_start"))["ok"]
        assert (await citizen.send("status_lookup", number=PENSION))["ok"]
        state = await citizen.wait_for(lambda s: (s["lookup"] or {}).get("status") == "done")
        result = state["lookup"]["result"]
        assert result["stage"] == "Verified by the Tehsildar"
        assert "stage_hi" not in result and "office_hi" not in result


def test_the_status_slip_prints_central_hindi_stage_and_office():
    """Central's Hindi stage and office go on the slip under the English ones (as pictures:
    Devanagari is printed as an image); an older central's answer prints without them."""
    from datetime import UTC, datetime

    from drivers.base import ImageBlock
    from terminal.status_slip import build_status_slip

    now = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
    hindi = {**STATUS, "stage_hi": "तहसीलदार ने जाँच ली", "office_hi": "तहसील दफ़्तर, सांगानेर"}
    pictures = [sum(isinstance(b, ImageBlock) for b in build_status_slip(s, TERMINAL, now=now)
                    .blocks) for s in (STATUS, hindi)]
    assert pictures[1] == pictures[0] + 2
