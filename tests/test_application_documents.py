"""Documents for an application: the quality check on camera frames (the simulator's sharp,
blurred and dark papers), the encrypted draft store (0600, ciphertext, bounded, a damaged or
foreign file never read back), hostile document definitions in the catalogue, and the flow
through the session API: a blurred or dark photo refused in plain words, a good one previewed,
kept or taken again, the draft removed when the application is cancelled or times out, and
central refusing an application without the documents its form requires."""

from __future__ import annotations

import asyncio
import base64
import copy
import io
import logging
import os

import numpy as np
import pytest
from harness import KioskHarness
from PIL import Image
from test_application import ANSWERS, camera_ready, photograph_documents, ready

from sim.central import catalogue_seed
from sim.devices.camera import FrameSource, document_frame, empty_frame
from terminal.application_documents import document_jpeg
from terminal.application_store import (
    MAX_DOCUMENT_BYTES,
    ApplicationStore,
    Draft,
    DraftError,
)
from terminal.catalogue import CatalogueError, validate
from terminal.document_quality import measure


@pytest.mark.parametrize(("frame", "problem"), [
    (document_frame(), None),
    (document_frame(blur=1.0, seed=3), None),
    (document_frame(brightness=0.5), None),  # dim but sharp: kept
    (document_frame(blur=3.0), "document_blurred"),
    (document_frame(blur=5.0, seed=2), "document_blurred"),
    (document_frame(blur=3.0, noise=12), "document_blurred"),  # noise is not sharpness
    (document_frame(brightness=0.3), "document_too_dark"),
    (document_frame(brightness=0.15, blur=4), "document_too_dark"),
    (empty_frame(), "document_blurred"),  # no paper held up
])
def test_quality_check_on_simulated_papers(frame, problem):
    assert measure(frame).problem == problem


def test_a_kept_document_is_a_bounded_jpeg():
    jpeg = document_jpeg(document_frame())
    assert jpeg.startswith(b"\xff\xd8") and len(jpeg) <= MAX_DOCUMENT_BYTES
    assert Image.open(io.BytesIO(jpeg)).size == (640, 480)
    noise = np.random.default_rng(1).integers(0, 256, (1080, 1920, 3), dtype=np.uint8)
    big = document_jpeg(noise)  # the worst case for JPEG: squeezed under the bound
    assert len(big) <= MAX_DOCUMENT_BYTES
    assert max(Image.open(io.BytesIO(big)).size) <= 1024


def store(tmp_path) -> ApplicationStore:
    return ApplicationStore(tmp_path / "applications", tmp_path / "journal.key")


def test_the_store_keeps_only_ciphertext_0600_and_reads_it_back(tmp_path):
    s = store(tmp_path)
    jpeg = document_jpeg(document_frame())
    draft = Draft("S-RJ-1-2612020300-ABC123", "old_age_pension", dict(ANSWERS),
                  {"aadhaar_photo": jpeg}, sent=True)
    s.save(draft)
    path = s.path(draft.session_id)
    assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "journal.key").stat().st_mode & 0o777 == 0o600
    raw = path.read_bytes()
    assert b"Kamla" not in raw and ANSWERS["aadhaar"].encode() not in raw
    assert jpeg[:64] not in raw and b"old_age_pension" not in raw
    [back] = store(tmp_path).load_all()  # a restarted kiosk, the same journal key
    assert back == draft
    s.delete(draft.session_id)
    assert not path.exists() and store(tmp_path).load_all() == []


def test_the_store_bounds_what_it_keeps(tmp_path):
    s = store(tmp_path)
    with pytest.raises(DraftError):
        s.save(Draft("S-1", "x", documents={"a": b"\xff" * (MAX_DOCUMENT_BYTES + 1)}))
    with pytest.raises(DraftError):
        s.save(Draft("S-1", "x", documents={str(i): b"\xff" for i in range(5)}))
    with pytest.raises(DraftError):
        s.save(Draft("../../etc/passwd", "x"))
    assert not list((tmp_path / "applications").glob("*")) if (
        tmp_path / "applications").exists() else True


def test_a_damaged_or_foreign_draft_is_removed_not_read(tmp_path):
    s = store(tmp_path)
    for n in range(3):
        s.save(Draft(f"S-{n}", "old_age_pension", dict(ANSWERS)))
    tampered = s.path("S-0")
    raw = bytearray(tampered.read_bytes())
    raw[-1] ^= 1
    tampered.write_bytes(bytes(raw))
    os.replace(s.path("S-1"), s.path("S-9"))  # another application's file under this name
    (tmp_path / "applications" / "S-5.draft").write_bytes(b"\0" * 10_000_000)  # too big
    (tmp_path / "applications" / "S-7.tmp").write_bytes(b"half")  # a save cut short
    assert [d.session_id for d in store(tmp_path).load_all()] == ["S-2"]
    assert sorted(p.name for p in (tmp_path / "applications").iterdir()) == ["S-2.draft"]
    other = ApplicationStore(tmp_path / "applications", tmp_path / "other.key")
    assert other.load_all() == []  # another kiosk's key: unreadable, so removed


def hostile_documents():
    for docs in ([{"code": "a", "label_en": "A", "label_hi": "अ", "required": "yes"}],
                 [{"code": "A b", "label_en": "A", "label_hi": "अ", "required": True}],
                 [{"code": "a", "label_en": "", "label_hi": "अ", "required": True}],
                 [{"code": "a", "label_en": "A" * 61, "label_hi": "अ", "required": True}],
                 [{"code": "a", "label_en": "A", "label_hi": "अ", "required": True,
                   "max_mb": 500}],
                 [{"code": f"d{i}", "label_en": "A", "label_hi": "अ", "required": True}
                  for i in range(5)],
                 [{"code": "a", "label_en": "A", "label_hi": "अ", "required": True}] * 2,
                 {"code": "a"}):
        doc = catalogue_seed.catalogue()
        doc["forms"][0]["documents"] = docs
        yield doc


@pytest.mark.parametrize("doc", list(hostile_documents()))
def test_hostile_document_definitions_are_refused(doc):
    with pytest.raises(CatalogueError):
        validate(copy.deepcopy(doc))


async def start(citizen) -> None:
    await ready()
    assert (await citizen.send("application_start", service="old_age_pension"))["ok"]
    assert (await citizen.send("application_answers", answers=ANSWERS))["ok"]


async def test_blurred_and_dark_photos_are_refused_a_sharp_one_previewed(tmp_path):
    source = FrameSource([document_frame(blur=4.0)], fps=20)
    async with KioskHarness(tmp_path, camera_source=source) as h, h.client() as citizen:
        await camera_ready(h)
        await start(citizen)
        step = citizen.state["lookup"]
        assert step["step"] == "documents"
        assert [d["code"] for d in step["documents"]] == ["aadhaar_photo", "income_proof"]
        assert step["document"]["label_en"] == "Aadhaar card photo"
        assert (await citizen.send("application_document", action="keep"))["message_key"] \
            == "not_now"  # nothing photographed yet

        result = await citizen.send("application_document", action="take")
        assert result["message_key"] == "document_blurred"
        shown = citizen.state["lookup"]["document"]
        assert shown["refused"] == "document_blurred" and shown["preview_jpeg_b64"] is None
        assert citizen.state["message"] == {"key": "document_blurred"}
        assert (await citizen.send("application_document", action="keep"))["message_key"] \
            == "not_now"

        source.show(document_frame(brightness=0.2))
        await asyncio.sleep(0.3)
        result = await citizen.send("application_document", action="retake")
        assert result["message_key"] == "document_too_dark"
        assert (await citizen.send("application_document", action="skip"))["message_key"] \
            == "bad_request"  # a required document cannot be skipped

        source.show(document_frame())
        await asyncio.sleep(0.3)
        assert (await citizen.send("application_document", action="retake"))["ok"]
        shown = citizen.state["lookup"]["document"]
        assert shown["refused"] is None and citizen.state["message"] == \
            {"key": "document_keep_or_retake"}
        preview = base64.b64decode(shown["preview_jpeg_b64"])
        assert Image.open(io.BytesIO(preview)).size == (240, 180) and len(preview) < 20_000
        assert (await citizen.send("application_document", action="keep"))["ok"]
        assert citizen.state["lookup"]["document"]["code"] == "income_proof"
        assert citizen.state["lookup"]["documents_kept"] == ["aadhaar_photo"]
        assert (await citizen.send("application_submit"))["message_key"] == "not_now"


async def test_no_camera_no_application_that_needs_documents(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await ready()
        result = await citizen.send("application_start", service="old_age_pension")
        assert result["message_key"] == "service_unavailable"
        assert h.central.applications() == []


@pytest.mark.parametrize("ending", ["cancel", "timeout"])
async def test_a_given_up_application_leaves_no_draft(tmp_path, ending):
    source = FrameSource([document_frame()], fps=20)
    payment = {"identify_timeout_s": 3} if ending == "timeout" else {}
    async with KioskHarness(tmp_path, camera_source=source, payment=payment) as h, \
            h.client() as citizen:
        await camera_ready(h)
        await start(citizen)
        assert (await citizen.send("application_document", action="take"))["ok"]
        assert (await citizen.send("application_document", action="keep"))["ok"]
        assert len(list(tmp_path.rglob("*.draft"))) == 1
        if ending == "cancel":
            assert (await citizen.send("cancel"))["ok"]
            await citizen.wait_screen("CANCELLED")
        else:
            await citizen.wait_screen("TIMEOUT", timeout=15)
        for _ in range(50):
            if not list(tmp_path.rglob("*.draft")):
                break
            await asyncio.sleep(0.1)
        assert not list(tmp_path.rglob("*.draft"))
        assert h.central.applications() == []


async def test_central_refuses_an_application_without_its_documents(tmp_path, monkeypatch):
    """A kiosk that sends the answers but not the documents (out of date, or tampered with):
    central checks the form's documents itself and registers nothing."""
    from terminal.application_service import ApplicationService

    async def answers_only(self, request_id, service):
        return await self.central.submit_application(
            {"request_id": request_id, "service": service, "answers": self.answers})

    monkeypatch.setattr(ApplicationService, "_send", answers_only)
    source = FrameSource([document_frame()], fps=20)
    async with KioskHarness(tmp_path, camera_source=source) as h, h.client() as citizen:
        await camera_ready(h)
        await start(citizen)
        await photograph_documents(citizen)
        assert (await citizen.send("application_submit"))["message_key"] == "form_refused"
        assert h.central.applications() == []


async def test_after_a_restart_drafts_are_resolved_even_if_central_answers_late(
        tmp_path, monkeypatch, caplog):
    """Drafts a power cut left: one never sent is removed; one sent (central holds it, no money
    was taken) is withdrawn at central, asked again while central fails, then removed."""
    import time
    from pathlib import Path

    from sim.central.services_store import SERVICES
    from terminal import application_drafts

    monkeypatch.setattr(application_drafts, "RETRY_S", 0.2)
    async with KioskHarness(tmp_path) as h:
        await h.stop_core()
        var = Path(h.config["journal"]["path"]).parent
        drafts = ApplicationStore(var / "applications", var / "journal.key")
        sent = Draft("S-RJ-JPR-0001-1-AAAAAA", "old_age_pension", dict(ANSWERS), sent=True)
        drafts.save(sent)
        drafts.save(Draft("S-RJ-JPR-0001-2-BBBBBB", "old_age_pension", dict(ANSWERS)))
        h.central.app[SERVICES].submit_application(
            {"request_id": sent.session_id, "service": "old_age_pension", "answers": ANSWERS},
            "RJ-JPR-0001", time.time())
        assert len(h.central.applications()) == 1
        h.central.fail_next("http500", count=8)  # the catalogue and heartbeat fail too
        caplog.set_level(logging.INFO)
        await h.start_core()
        for _ in range(100):
            if not list((var / "applications").iterdir()):
                break
            await asyncio.sleep(0.1)
        assert not list((var / "applications").iterdir())
        assert h.central.applications() == []
    said = [r.getMessage() for r in caplog.records]
    assert "application withdrawal waits for central" in said  # asked again, not dropped
    assert said.count("application withdrawn") == 1
    assert "application draft removed after restart" in said


async def test_a_disk_that_refuses_the_draft_refuses_plainly(tmp_path):
    """No power-cut safety, no application: a plain refusal, never a traceback, nothing sent."""
    from pathlib import Path

    source = FrameSource([document_frame()], fps=20)
    async with KioskHarness(tmp_path, camera_source=source) as h, h.client() as citizen:
        await camera_ready(h)
        (Path(h.config["journal"]["path"]).parent / "applications").write_text("not a dir")
        await ready()
        assert (await citizen.send("application_start", service="old_age_pension"))["ok"]
        result = await citizen.send("application_answers", answers=ANSWERS)
        assert result["message_key"] == "service_unavailable"
        assert citizen.state["lookup"]["step"] == "form"
        assert (await citizen.send("application_document", action="take"))["message_key"] \
            == "not_now"
        assert h.central.applications() == []
