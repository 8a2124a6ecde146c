"""Power cut at every step of an application with two documents: the core runs as its own
process with the webcam reading a photo of a paper (a PNG file through OpenCV), and is
SIGKILLed right after each step in turn (EMITRA_CRASH_AFTER): the answers saved, document 1
kept, document 2 kept, the submit marked sent, central committed but its reply lost, then each
money step of the fee. After the restart the citizen applies again if the first one was not
paid. In the end central holds exactly one application, with both documents, and the ₹10 fee
once; the kiosk holds no draft, and the draft it held was ciphertext."""

import asyncio
import signal

import cv2
import pytest
from crash_helpers import settled_journal

from sim.central.services_store import SERVICES
from sim.demo import start_core
from sim.devices.camera import document_frame
from sim.rig import SimRig
from sim.session_client import SessionClient
from terminal.form_engine import verhoeff_digit

AADHAAR = "49873216540" + verhoeff_digit("49873216540")
ANSWERS = {"name": "Kamla Devi Saini", "date_of_birth": "1958-07-14",
           "jan_aadhaar": "1098765432", "aadhaar": AADHAAR, "mobile": "9414012345"}

# (crash point, paid by the first attempt: the fee reaches central without a second one)
CRASH_POINTS = [
    ("application_saved:1", False),  # the answers
    ("application_saved:2", False),  # document 1 kept
    ("application_saved:3", False),  # document 2 kept
    ("application_saved:4", False),  # marked sent, before the request leaves
    ("application_replied:1", False),  # central committed it, the reply never used
    ("session_opened:1", False),
    ("credit:1", True),  # the ₹10 note credited: recovery pays the fee
    ("posted:1", True),
    ("session_closed:1", True),
]


async def apply(url: str, rig: SimRig) -> None:
    """The citizen's side; it simply stops when the core dies under it."""
    async with SessionClient(url) as citizen:
        await citizen.wait_for(lambda s: any(t["category"] == "applications"
                                             for t in s["home"]["tiles"]), 20)
        assert (await citizen.send("application_start", service="old_age_pension"))["ok"]
        assert (await citizen.send("application_answers", answers=ANSWERS))["ok"]
        for _ in range(2):
            for _ in range(100):  # the camera's first frame may still be on its way
                if (await citizen.send("application_document", action="take"))["ok"]:
                    break
                await asyncio.sleep(0.1)
            assert (await citizen.send("application_document", action="keep"))["ok"]
        assert (await citizen.send("application_submit"))["ok"]
        await citizen.wait_screen("BILL", timeout=20)
        assert (await citizen.send("confirm"))["ok"]
        await citizen.wait_screen("PAYING")
        rig.acceptor_sim.insert_note(10)
        await citizen.wait_screen("DONE", timeout=20)
        await citizen.send("finish")


async def stop(proc) -> None:
    if proc is not None and proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()


async def no_drafts_left(drafts, timeout: float = 20.0) -> None:
    for _ in range(int(timeout * 10)):
        if not list(drafts.glob("*")):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"drafts left: {list(drafts.glob('*'))}")


@pytest.mark.parametrize(("crash_at", "paid_first"), CRASH_POINTS)
async def test_power_cut_at_each_step_submits_once(tmp_path, crash_at, paid_first):
    rig = SimRig(tmp_path)
    await rig.start()
    photo = tmp_path / "paper.png"
    cv2.imwrite(str(photo), document_frame())
    site = rig.write_config(tmp_path / "site.toml", camera={
        "enabled": True, "source": str(photo), "presence": False, "audit_photos": False})
    drafts = tmp_path / "applications"
    restarted = None
    sealed: list[bytes] = []
    try:
        proc, url = await start_core(site, tmp_path, env={"EMITRA_CRASH_AFTER": crash_at})
        citizen = asyncio.create_task(apply(url, rig))
        died = asyncio.create_task(proc.wait())
        await asyncio.wait({citizen, died}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
        await asyncio.wait_for(died, 10)
        assert proc.returncode == -signal.SIGKILL, f"core was not killed at {crash_at}"
        citizen.cancel()
        await asyncio.gather(citizen, return_exceptions=True)
        sealed = [p.read_bytes() for p in drafts.glob("*.draft")]
        assert all(p.stat().st_mode & 0o777 == 0o600 for p in drafts.glob("*.draft"))

        restarted, url = await start_core(site, tmp_path)
        report = await settled_journal(tmp_path / "journal.sqlite")
        assert report["ok"], report["problems"]
        await no_drafts_left(drafts)  # paid: removed; not sent: removed; sent: withdrawn
        fees = [p["amount_paise"] for p in rig.central.payments()]
        assert fees == ([1000] if paid_first else [])
        if not paid_first:
            assert rig.central.applications() == []  # the unpaid one was withdrawn
            await apply(url, rig)
            await no_drafts_left(drafts)

        rows = rig.central.applications()
        assert len(rows) == 1, f"applications at central after a crash at {crash_at}: {rows}"
        held = rig.central.app[SERVICES].application_documents(rows[0]["application_no"])
        assert sorted(held) == ["aadhaar_photo", "income_proof"]
        assert [p["amount_paise"] for p in rig.central.payments()] == [1000]
        assert rig.central.payments()[0]["consumer_number"] == rows[0]["application_no"]
    finally:
        await stop(restarted)
        await rig.stop()
    for blob in sealed:  # what a power cut left on disk was ciphertext only
        assert b"Kamla" not in blob and AADHAAR.encode() not in blob
        assert b"\xff\xd8\xff" not in blob
