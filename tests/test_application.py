"""Applying for a service through the session API, headless, against the real core, the
acceptor and printer simulators and the reference central on loopback: the catalogue's form
(JSON Schema subset, layout, hi/en labels), answers checked on the kiosk (Verhoeff for Aadhaar)
and again at central, the ₹10 fee through the bill money path, the acknowledgement slip whose QR
shows the new application's status. Hostile form definitions are refused."""

from __future__ import annotations

import asyncio
import copy
import logging
import sqlite3

import pytest
from harness import KioskHarness
from PIL import Image
from pyzbar.pyzbar import decode

from sim.central import catalogue_seed
from sim.central.services_store import SERVICES
from sim.devices.camera import FrameSource, document_frame
from terminal.catalogue import CatalogueError, validate
from terminal.form_engine import check_answers, verhoeff_digit, verhoeff_ok

AADHAAR = "49873216540" + verhoeff_digit("49873216540")
ANSWERS = {"name": "Kamla Devi Saini", "date_of_birth": "1958-07-14",
           "jan_aadhaar": "1098765432", "aadhaar": AADHAAR, "mobile": "9414012345",
           "district": "Jaipur"}


async def ready():
    from terminal import catalogue

    for _ in range(200):
        if catalogue.version() == catalogue_seed.VERSION:
            return
        await asyncio.sleep(0.05)


def test_verhoeff():
    assert verhoeff_digit("236") == "3" and verhoeff_ok("2363")
    assert verhoeff_ok(AADHAAR)
    wrong = AADHAAR[:-1] + str((int(AADHAAR[-1]) + 1) % 10)
    assert not verhoeff_ok(wrong)
    swapped = AADHAAR[1] + AADHAAR[0] + AADHAAR[2:]
    assert AADHAAR[0] == AADHAAR[1] or not verhoeff_ok(swapped)


def test_answers_are_checked_against_the_form():
    schema = catalogue_seed.FORMS[0]["schema"]
    kept, errors = check_answers(schema, {**ANSWERS, "aadhaar": AADHAAR[:-1] + "0"
                                          if AADHAAR[-1] != "0" else AADHAAR[:-1] + "1",
                                          "mobile": "", "district": "Mumbai",
                                          "date_of_birth": "2099-01-01", "extra": "x"})
    assert errors == {"aadhaar": "form_check_digit_wrong", "mobile": "form_value_required",
                      "district": "form_value_invalid", "date_of_birth": "form_date_invalid"}
    assert set(kept) == {"name", "jan_aadhaar"}


def hostile_forms():
    def edit(fn):
        doc = catalogue_seed.catalogue()
        fn(doc["forms"][0])
        return doc

    props = ("schema", "properties")
    yield edit(lambda f: f[props[0]][props[1]]["mobile"].update(pattern="^(9+)+$"))
    yield edit(lambda f: f[props[0]][props[1]]["mobile"].update(type="number"))
    yield edit(lambda f: f[props[0]][props[1]]["mobile"].update(maxLength=10**6))
    yield edit(lambda f: f[props[0]][props[1]]["district"].update(enum=["x"] * 500))
    yield edit(lambda f: f[props[0]][props[1]]["aadhaar"].update({"x-check": "luhn"}))
    yield edit(lambda f: f[props[0]][props[1]]["name"].update(oneOf=[{}]))
    yield edit(lambda f: f["labels"].pop("mobile"))
    yield edit(lambda f: f[props[0]].update(required=["name", "shoe_size"]))
    yield edit(lambda f: f[props[0]].update({"$defs": {"a": {"b": {"c": [1] * 1000}}}}))


@pytest.mark.parametrize("doc", list(hostile_forms()))
def test_hostile_form_definitions_are_refused(doc):
    with pytest.raises(CatalogueError):
        validate(copy.deepcopy(doc))


async def photograph_documents(citizen, count: int = 2) -> None:
    """Take and keep each document the form asks for (the camera shows a sharp paper)."""
    for _ in range(count):
        assert citizen.state["lookup"]["step"] == "documents"
        assert (await citizen.send("application_document", action="take"))["ok"]
        assert citizen.state["lookup"]["document"]["preview_jpeg_b64"]
        assert (await citizen.send("application_document", action="keep"))["ok"]
    assert citizen.state["lookup"]["step"] == "review"


def camera() -> FrameSource:
    return FrameSource([document_frame()], fps=20)


async def camera_ready(h) -> None:
    for _ in range(100):
        if h.core.kiosk.camera.latest_frame() is not None:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no camera frame")


async def test_apply_pay_the_fee_and_the_slip_leads_to_the_status(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    async with KioskHarness(tmp_path, camera_source=camera()) as h, h.client() as citizen:
        await camera_ready(h)
        await ready()
        await citizen.wait_for(lambda s: any(t["category"] == "applications"
                                             for t in s["home"]["tiles"]), 10)
        tile = [t for t in citizen.state["home"]["tiles"] if t["category"] == "applications"]
        assert tile[0]["services"][0]["fee_paise"] == 1000
        assert (await citizen.send("application_start", service="old_age_pension"))["ok"]
        state = await citizen.wait_screen("APPLICATION")
        form = state["lookup"]["form"]
        assert form["labels"]["aadhaar"] == {"en": "Aadhaar number", "hi": "आधार संख्या"}
        assert [s["fields"] for s in form["layout"]][0] == ["name", "date_of_birth", "mobile"]

        bad = {**ANSWERS, "aadhaar": AADHAAR[:-2] + AADHAAR[-1] + AADHAAR[-2], "mobile": ""}
        result = await citizen.send("application_answers", answers=bad)
        assert result["message_key"] == "form_has_errors"
        errors = citizen.state["lookup"]["errors"]
        assert errors["mobile"] == "form_value_required"
        assert AADHAAR[-1] == AADHAAR[-2] or errors["aadhaar"] == "form_check_digit_wrong"
        assert (await citizen.send("application_submit"))["message_key"] == "not_now"

        assert (await citizen.send("application_answers", answers=ANSWERS))["ok"]
        assert (await citizen.send("application_submit"))["message_key"] == "not_now"
        drafts = list((tmp_path / "var").rglob("*.draft")) or list(tmp_path.rglob("*.draft"))
        assert len(drafts) == 1 and drafts[0].stat().st_mode & 0o777 == 0o600
        await photograph_documents(citizen)
        sealed = drafts[0].read_bytes()
        assert b"Kamla" not in sealed and AADHAAR.encode() not in sealed
        assert b"\xff\xd8\xff" not in sealed  # no JPEG in the clear either
        assert (await citizen.send("application_submit"))["ok"]
        state = await citizen.wait_screen("BILL")
        number = state["lookup"]["application_no"]
        assert state["session"]["due_paise"] == 1000 and state["session"]["provider"] == "RJSJE"
        assert (await citizen.send("confirm"))["ok"]
        await citizen.wait_screen("PAYING")
        h.acceptor_sim.insert_note(10)
        done = await citizen.wait_screen("DONE", timeout=20)
        assert done["session"]["amount_paise"] == 1000 and done["session"]["voucher"] is None

        assert await h.printer_sim.wait_for_receipts(2, timeout=15)
        codes = [c.data.decode() for c in decode(Image.open(h.printer_sim.receipts[1]))]
        assert codes == [f"EMITRA1|A|{number}"]
        rows = h.central.applications()
        assert [r["application_no"] for r in rows] == [number]
        assert AADHAAR in rows[0]["answers"]
        held = h.central.app[SERVICES].application_documents(number)
        assert sorted(held) == ["aadhaar_photo", "income_proof"]
        assert all(j.startswith(b"\xff\xd8") and len(j) <= 150_000 for j in held.values())
        assert not drafts[0].exists()  # confirmed by central (fee paid): gone from the kiosk

        # The acknowledgement's QR at the home screen: the application is with the office now.
        assert (await citizen.send("finish"))["ok"]
        await citizen.wait_screen("IDLE")
        h.rig.scanner_sim.scan(codes[0])
        state = await citizen.wait_for(
            lambda s: s["screen"] == "STATUS" and (s["lookup"] or {}).get("status") == "done")
        assert (state["lookup"]["result"]["stage"], state["lookup"]["result"]["status"]) == (
            "Submitted", "in_progress")

        journal = sqlite3.connect(h.config["journal"]["path"])
        raw = str(journal.execute("SELECT * FROM events").fetchall())
        assert AADHAAR not in raw and "Kamla" not in raw and number not in raw
    logs = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert AADHAAR not in logs and "Kamla" not in logs and "9414012345" not in logs


async def test_central_checks_the_answers_again(tmp_path, monkeypatch):
    """A kiosk whose form check is out of date (or tampered with): central refuses the answers
    and nothing is registered, no fee is asked."""
    from terminal import application_service

    monkeypatch.setattr(application_service, "check_answers",
                        lambda schema, answers: (dict(answers), {}))
    async with KioskHarness(tmp_path, camera_source=camera()) as h, h.client() as citizen:
        await ready()
        await camera_ready(h)
        assert (await citizen.send("application_start", service="old_age_pension"))["ok"]
        bad = {**ANSWERS, "aadhaar": "123456789012"}
        assert (await citizen.send("application_answers", answers=bad))["ok"]
        await photograph_documents(citizen)
        result = await citizen.send("application_submit")
        assert result["message_key"] == "form_refused"
        assert citizen.state["screen"] == "APPLICATION"
        assert h.central.applications() == []


async def test_a_lost_answer_then_retry_submits_once(tmp_path):
    async with KioskHarness(tmp_path, camera_source=camera()) as h, h.client() as citizen:
        await ready()
        await camera_ready(h)
        assert (await citizen.send("application_start", service="old_age_pension"))["ok"]
        assert (await citizen.send("application_answers", answers=ANSWERS))["ok"]
        await photograph_documents(citizen)
        h.central.fail_next("lost")
        assert (await citizen.send("application_submit"))["message_key"] == \
            "central_unavailable"
        assert (await citizen.send("application_submit"))["ok"]
        await citizen.wait_screen("BILL")
        assert len(h.central.applications()) == 1
        assert (await citizen.send("back"))["ok"]  # back to the form: same application
        assert (await citizen.send("application_submit"))["ok"]
        await citizen.wait_screen("BILL")
        assert len(h.central.applications()) == 1
        assert (await citizen.send("cancel"))["ok"]
        await citizen.wait_screen("CANCELLED")
        assert h.central.payments() == []
        # given up before its fee: withdrawn at central with its documents, gone from here
        for _ in range(100):
            if not h.central.applications() and not list(tmp_path.rglob("*.draft")):
                break
            await asyncio.sleep(0.05)
        assert h.central.applications() == [] and not list(tmp_path.rglob("*.draft"))
