"""Application status through the session API: by number on the keypad or by the QR of the
acknowledgement slip on the scanner; stage, date, office and next step from the reference central
on loopback; a printed slip whose QR leads back to the same status; hostile replies refused."""

from __future__ import annotations

import asyncio

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
