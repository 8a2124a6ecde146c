"""The webcam in the running kiosk (frames from the camera simulator): a face wakes the screen,
a bill's QR held up to the camera starts the payment, and each cash payment leaves an audit
photo named with its transaction id."""

import asyncio

from harness import KioskHarness

from sim.devices.camera import FrameSource, empty_frame, face_frame, qr_frame


async def test_camera_presence_qr_and_audit_photo(tmp_path):
    source = FrameSource([empty_frame()], fps=20)
    photos = tmp_path / "photos"
    async with KioskHarness(tmp_path, camera_source=source,
                            camera={"photo_dir": str(photos)}) as h, h.client() as citizen:
        assert citizen.state["presence"] is False
        source.show(face_frame())
        await citizen.wait_for(lambda s: s["presence"] is True, 10)

        source.show(qr_frame("BILL|PHED|5012345678"))
        state = await citizen.wait_screen("BILL", timeout=10)
        assert state["session"]["provider"] == "PHED"
        source.show(empty_frame())

        await citizen.send("confirm")
        await citizen.wait_screen("PAYING")
        for rupees in (200, 100, 50):
            h.acceptor_sim.insert_note(rupees)
            await asyncio.sleep(0)
        done = await citizen.wait_screen("DONE", timeout=20)
        txn_id = done["session"]["txn_id"]
        for _ in range(50):
            if list(photos.glob(f"{txn_id}_*.jpg")):
                break
            await asyncio.sleep(0.1)
        assert len(list(photos.glob(f"{txn_id}_*.jpg"))) == 1
