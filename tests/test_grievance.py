"""Grievances through the session API against the real core, the note acceptor and printer
simulators on ptys, the camera simulator and the reference central on loopback: department and
category from the catalogue, a common complaint or typed text, a mobile number (masked wherever
the kiosk keeps or logs it), an optional webcam photo, the ₹5 fee paid through the bill money
path (journaled like a bill payment), and the grievance number printed."""

from __future__ import annotations

import asyncio
import logging
import sqlite3

import pytest
from harness import KioskHarness

from sim.central import catalogue_seed
from sim.devices.camera import FrameSource, face_frame
from terminal.invariant import check_journal
from terminal.journal import Journal

MOBILE = "9829012345"
SECRET_TEXT = "Handpump near the school broken since Diwali"


async def ready():
    from terminal import catalogue

    for _ in range(200):
        if catalogue.version() == catalogue_seed.VERSION:
            return
        await asyncio.sleep(0.05)


def assert_preview(preview):
    """The photo as the citizen sees it before sending: a small JPEG that decodes."""
    import base64
    import io

    from PIL import Image

    from terminal.grievance_service import MAX_PREVIEW_B64, PREVIEW_SIZE

    assert len(preview["jpeg_b64"]) <= MAX_PREVIEW_B64
    img = Image.open(io.BytesIO(base64.b64decode(preview["jpeg_b64"])))
    assert img.format == "JPEG"
    assert img.size == (preview["width"], preview["height"])
    assert img.width <= PREVIEW_SIZE[0] and img.height <= PREVIEW_SIZE[1]


DETAILS = {"department": "PHED", "category": "no_supply", "complaint": "days",
           "description": SECRET_TEXT, "mobile": MOBILE}


async def write_grievance(citizen, photo="skip", **changes):
    assert (await citizen.send("grievance_start"))["ok"]
    state = await citizen.wait_screen("GRIEVANCE")
    depts = {d["code"]: d for d in state["lookup"]["departments"]}
    assert set(depts) == {"PHED", "ENERGY", "FOOD"}
    assert (await citizen.send("grievance_details", **{**DETAILS, **changes}))["ok"]
    assert (await citizen.send("grievance_photo", action=photo))["ok"]
    state = citizen.state
    assert state["lookup"]["draft"]["mobile_masked"] == "XXXXXX2345"
    assert MOBILE not in str(state)
    return state


async def test_grievance_with_photo_fee_in_cash_and_number_printed(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    source = FrameSource([face_frame()], fps=20)
    async with KioskHarness(tmp_path, camera_source=source) as h, h.client() as citizen:
        await ready()
        for _ in range(100):  # the camera's first frame
            if h.core.kiosk.camera is not None and h.core.kiosk.camera.latest_frame() is not None:
                break
            await asyncio.sleep(0.05)
        state = await write_grievance(citizen, photo="take")
        assert state["lookup"]["draft"]["photo"]["bytes"] > 1000
        assert_preview(state["lookup"]["draft"]["photo"]["preview"])
        assert (await citizen.send("grievance_photo", action="retake"))["ok"]

        assert (await citizen.send("grievance_submit"))["ok"]
        state = await citizen.wait_screen("BILL")
        number = state["lookup"]["grievance_no"]
        assert "preview" not in state["lookup"]["draft"]["photo"]  # sent: not carried to pay
        assert h.core.kiosk.citizen.grievances.photo is None
        assert len(number) == 13 and state["session"]["service"] == "grievance"
        assert state["session"]["due_paise"] == 500  # the catalogue's fee, charged by central
        assert state["session"]["provider"] == "SAMPARK"

        assert (await citizen.send("confirm"))["ok"]
        await citizen.wait_screen("PAYING")
        h.acceptor_sim.insert_note(10)
        done = await citizen.wait_screen("DONE", timeout=20)
        s = done["session"]
        assert s["amount_paise"] == 500 and s["voucher"]["paise"] == 500
        assert s["receipt_no"] and not s["provisional"]

        # Receipt, voucher, then the grievance slip with the whole number.
        assert await h.printer_sim.wait_for_receipts(3, timeout=15)
        assert number in h.printer_sim.texts[2] and "XXXXXX2345" in h.printer_sim.texts[2]
        for _ in range(100):  # the slip is done once the printer has answered after it
            if any(r.getMessage() == "grievance slip printed" for r in caplog.records):
                break
            await asyncio.sleep(0.05)

        rows = h.central.grievances()
        assert len(rows) == 1 and rows[0]["grievance_no"] == number
        assert rows[0]["mobile"] == MOBILE and rows[0]["photo_bytes"] > 1000
        assert rows[0]["description"] == SECRET_TEXT
        fee = [p for p in h.central.payments() if p["consumer_number"] == number]
        assert len(fee) == 1 and fee[0]["amount_paise"] == 500
        state_at_central = await h.core.central.client.request(
            "GET", f"/v1/grievances/{number}")
        assert state_at_central[1]["status"] == "registered"

        # The fee is journaled like a bill payment; the complaint and the number are not
        # readable in the journal file, and the logs never had them.
        journal_path = h.config["journal"]["path"]
        assert check_journal(Journal(journal_path))["ok"]
        kinds = [e.kind for e in Journal(journal_path).events()]
        assert {"session_opened", "bill", "credit", "settled", "posted"} <= set(kinds)
        raw = b"".join(str(r).encode() for r in sqlite3.connect(journal_path).execute(
            "SELECT * FROM events"))
        assert MOBILE.encode() not in raw and SECRET_TEXT.encode() not in raw
    logs = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert MOBILE not in logs and SECRET_TEXT not in logs
    assert "XXXXXX2345" in logs
    assert "grievance slip printed" in logs


@pytest.mark.parametrize(("changes", "key"), [
    ({"mobile": "12345"}, "grievance_mobile_invalid"),
    ({"mobile": "5829012345"}, "grievance_mobile_invalid"),
    ({"department": "NASA"}, "grievance_department_invalid"),
    ({"category": "outage"}, "grievance_department_invalid"),  # ENERGY's, not PHED's
    ({"complaint": "transformer"}, "grievance_description_invalid"),
    ({"complaint": None, "description": "   "}, "grievance_description_invalid"),
    ({"description": "x" * 251}, "grievance_description_invalid"),
    ({"description": "bad\x1b[2J"}, "grievance_description_invalid"),
])
async def test_bad_details_are_said_and_nothing_is_sent(tmp_path, changes, key):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await ready()
        assert (await citizen.send("grievance_start"))["ok"]
        result = await citizen.send("grievance_details", **{**DETAILS, **changes})
        assert result["ok"] is False and result["message_key"] == key
        result = await citizen.send("grievance_submit")
        assert result["message_key"] == "not_now"
        assert h.central.grievances() == []


async def test_typed_text_without_a_common_complaint_and_no_camera(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await ready()
        assert (await citizen.send("grievance_start"))["ok"]
        assert (await citizen.send("grievance_details", **{**DETAILS, "complaint": None}))["ok"]
        result = await citizen.send("grievance_photo", action="take")
        assert result["message_key"] == "grievance_photo_unavailable"
        assert (await citizen.send("grievance_photo", action="skip"))["ok"]
        # A bill QR on the grievance form is not taken as a bill.
        h.rig.scanner_sim.scan("BILL|PHED|5012345678")
        await asyncio.sleep(0.5)
        assert citizen.state["session"]["service"] == "grievance"
        assert (await citizen.send("consumer", number="5012345678"))["message_key"] == "not_now"
        assert (await citizen.send("grievance_submit"))["ok"]
        await citizen.wait_screen("BILL")
        assert h.central.grievances()[0]["complaint"] is None


async def test_central_down_then_retry_registers_once_and_cancel_takes_nothing(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await ready()
        await write_grievance(citizen)
        h.central.fail_next("lost")  # central registers it, the answer is lost
        result = await citizen.send("grievance_submit")
        assert result["message_key"] == "central_unavailable"
        assert citizen.state["screen"] == "GRIEVANCE"
        assert (await citizen.send("grievance_submit"))["ok"]
        state = await citizen.wait_screen("BILL")
        assert [g["grievance_no"] for g in h.central.grievances()] == [
            state["lookup"]["grievance_no"]]  # the retry got the same grievance
        assert (await citizen.send("cancel"))["ok"]
        await citizen.wait_screen("CANCELLED")
        assert h.central.payments() == []
        await asyncio.sleep(0.5)
        assert len(h.printer_sim.receipts) == 0


async def test_grievance_not_offered_when_no_tender_works(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await ready()
        h.core.kiosk.service_mode.set("control_room")
        h.core.kiosk.changed()
        state = await citizen.wait_for(lambda s: not s["services"]["cash_payment"])
        assert all(t["category"] != "grievance" for t in state["home"]["tiles"])
        result = await citizen.send("grievance_start")
        assert result["message_key"] == "service_unavailable"


async def test_a_hostile_registration_reply_is_never_charged(tmp_path, monkeypatch):
    """Central signs a registration whose fee bill is not the catalogue's fee, not for this
    grievance, of another provider, or already paid: nothing is charged, the form stays."""
    from sim.central import services_store

    real = services_store.ServicesStore.register_grievance
    changes = [
        lambda r: r["bill"].update(due_paise=50000),
        lambda r: r["bill"].update(consumer_number="2026120299999"),
        lambda r: r["bill"].update(provider="JVVNL"),
        lambda r: r["bill"].update(status="paid"),
        lambda r: r.update(grievance_no="12AB"),
        lambda r: r.update(bill=None),
    ]
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await ready()
        await write_grievance(citizen)
        for change in changes:
            def hostile(self, *args, change=change):
                reply = real(self, *args)
                change(reply)
                return reply

            monkeypatch.setattr(services_store.ServicesStore, "register_grievance", hostile)
            result = await citizen.send("grievance_submit")
            assert result["message_key"] == "central_unavailable"
            assert citizen.state["screen"] == "GRIEVANCE"
            assert citizen.state["session"]["due_paise"] == 0
        assert h.central.payments() == []


async def wait_for_camera(h):
    for _ in range(100):
        if h.core.kiosk.camera is not None and h.core.kiosk.camera.latest_frame() is not None:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no camera frame")


@pytest.mark.parametrize("ending", ["cancel", "timeout"])
async def test_a_photo_not_sent_is_dropped_when_the_session_ends(tmp_path, ending):
    """The citizen takes a photo, sees it, then walks away or cancels: the photo and its
    preview are gone from the kiosk's memory and from the state, and central never had it."""
    source = FrameSource([face_frame()], fps=20)
    payment = {"identify_timeout_s": 2} if ending == "timeout" else {}
    async with KioskHarness(tmp_path, camera_source=source, payment=payment) as h, \
            h.client() as citizen:
        await ready()
        await wait_for_camera(h)
        state = await write_grievance(citizen, photo="take")
        assert_preview(state["lookup"]["draft"]["photo"]["preview"])
        grievances = h.core.kiosk.citizen.grievances
        assert grievances.photo is not None
        if ending == "cancel":
            assert (await citizen.send("cancel"))["ok"]
        state = await citizen.wait_for(
            lambda s: s["screen"] in ("CANCELLED", "TIMEOUT")
            and not ((s["lookup"] or {}).get("draft") or {}).get("photo"), timeout=15)
        assert grievances.photo is None
        assert "jpeg_b64" not in str(state)
        assert h.central.grievances() == []
        # A new grievance starts with no photo.
        assert (await citizen.send("finish"))["ok"]
        assert (await citizen.send("grievance_start"))["ok"]
        assert grievances.photo is None
        assert "jpeg_b64" not in str(citizen.state)


async def test_skip_after_a_photo_drops_it(tmp_path):
    source = FrameSource([face_frame()], fps=20)
    async with KioskHarness(tmp_path, camera_source=source) as h, h.client() as citizen:
        await ready()
        await wait_for_camera(h)
        await write_grievance(citizen, photo="take")
        assert (await citizen.send("grievance_photo", action="skip"))["ok"]
        assert citizen.state["lookup"]["draft"]["photo"] is None
        assert h.core.kiosk.citizen.grievances.photo is None
        assert (await citizen.send("grievance_submit"))["ok"]
        await citizen.wait_screen("BILL")
        assert h.central.grievances()[0]["photo_bytes"] == 0
