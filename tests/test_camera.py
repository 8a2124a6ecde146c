"""The webcam driver against the frame-source simulator (and a real cv2.VideoCapture on a file)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest

from drivers.base import DeviceError, DeviceState, StatusChanged
from drivers.camera import (
    Camera,
    PresenceChanged,
    Scanned,
    decode_qr,
    decoder_name,
    haar_face_detector,
    purge_audit_photos,
    write_audit_photo,
)
from sim.devices.camera import (
    FrameSource,
    document_frame,
    empty_frame,
    face_frame,
    qr_frame,
)

RECEIPT = "EMITRA1|R|T-20261123-0001|0123456789abcdef"
HAAR = haar_face_detector()


async def next_of(events, kind, timeout: float = 3.0):
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(kind.__name__)
        event = await asyncio.wait_for(anext(events), left)
        if isinstance(event, kind):
            return event


async def collect(events, seconds: float) -> list:
    got = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            got.append(await asyncio.wait_for(anext(events), left))
        except TimeoutError:
            break
    return got


# ---------------------------------------------------------------- decode_qr


def test_decoder_is_the_benchmarks_winner():
    assert decoder_name() == "zxing"


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"tilt": 35},
        {"rotate": 30},
        {"blur": 2.0},
        {"contrast": 0.25},
        {"size": 110},
        {"tilt": 30, "blur": 1.5, "contrast": 0.4},
    ],
    ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()) or "plain",
)
def test_decode_simulated_frames(params):
    frame = qr_frame(RECEIPT, seed=3, **params)
    assert frame.shape == (480, 640, 3)
    assert decode_qr(frame) == [RECEIPT]
    assert decode_qr(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)) == [RECEIPT]


def test_fallback_when_a_library_is_missing(monkeypatch):
    import drivers.camera.camera as cam_module

    def missing():
        raise ImportError("not installed")

    monkeypatch.setattr(cam_module, "_decoder", None)
    monkeypatch.setitem(cam_module._FACTORIES, "zxing", missing)
    assert decoder_name() == "pyzbar"
    assert decode_qr(qr_frame(RECEIPT)) == [RECEIPT]
    monkeypatch.setattr(cam_module, "_decoder", None)
    monkeypatch.setitem(cam_module._FACTORIES, "pyzbar", missing)
    assert decoder_name() == "cv2"
    assert decode_qr(qr_frame(RECEIPT)) == [RECEIPT]
    monkeypatch.setattr(cam_module, "_decoder", None)  # back to the best one after the test


def test_decode_nothing():
    assert decode_qr(empty_frame()) == []
    assert decode_qr(face_frame()) == []
    assert decode_qr(np.zeros((480, 640), np.uint8)) == []


def test_frame_source_from_image_files(tmp_path):
    paths = []
    for i, payload in enumerate(("BILL|JVVNL|210412345678", RECEIPT)):
        paths.append(tmp_path / f"{i}.png")
        cv2.imwrite(str(paths[-1]), qr_frame(payload, blur=1.0, seed=i))
    source = FrameSource.from_files(paths, fps=None, loop=False)
    got = []
    while True:
        ok, frame = source.read()
        if not ok:
            break
        got += decode_qr(frame)
    assert got == ["BILL|JVVNL|210412345678", RECEIPT]
    with pytest.raises(ValueError):
        FrameSource.from_files([tmp_path / "missing.png"])


def test_decode_unicode_payload():
    assert decode_qr(qr_frame("बिल|JVVNL|210412345678")) == ["बिल|JVVNL|210412345678"]


# ---------------------------------------------------------------- camera worker


@pytest.fixture
async def camera():
    cams: list[Camera] = []

    async def make(source, **kw) -> Camera:
        cam = Camera(source, **kw)
        cams.append(cam)
        await cam.open()
        return cam

    yield make
    for cam in cams:
        await cam.close()


async def test_scans_once_while_held_and_at_ten_fps(camera):
    source = FrameSource([qr_frame(RECEIPT, seed=i, rotate=i) for i in range(5)], fps=30)
    cam = await camera(source, presence=False)
    events = cam.events()
    assert (await next_of(events, StatusChanged)).status.state == DeviceState.ONLINE
    event = await next_of(events, Scanned)
    assert event == Scanned(RECEIPT, "camera")
    start, decodes = time.monotonic(), cam.decodes
    later = await collect(events, 1.0)
    rate = (cam.decodes - decodes) / (time.monotonic() - start)
    assert rate >= 10, f"decoded {rate:.1f} frames/s"
    assert not [e for e in later if isinstance(e, Scanned)]  # held in view: one scan


async def test_same_code_again_after_dedupe_window(camera):
    source = FrameSource([qr_frame(RECEIPT)], fps=30)
    cam = await camera(source, presence=False, dedupe_seconds=0.3)
    events = cam.events()
    await next_of(events, Scanned)
    source.show(empty_frame())
    await asyncio.sleep(0.5)
    source.show(qr_frame(RECEIPT, seed=9))
    assert (await next_of(events, Scanned)).payload == RECEIPT
    source.show(qr_frame("BILL|JVVNL|210412345678"))
    assert (await next_of(events, Scanned)).payload == "BILL|JVVNL|210412345678"


async def test_video_file_through_cv2_videocapture(camera, tmp_path):
    path = str(tmp_path / "qr.avi")
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
    assert writer.isOpened()
    for i in range(5):
        writer.write(qr_frame("BILL|PHED|98765432", seed=i))
    writer.release()
    cam = await camera(path, presence=False)
    events = cam.events()
    assert (await next_of(events, Scanned)).payload == "BILL|PHED|98765432"
    # The file ends: no more frames -> offline, no exception.
    status = await next_of(events, StatusChanged)  # events are in order: ONLINE came first
    assert status.status.state == DeviceState.OFFLINE
    assert status.status.detail == ("no_frames",)


async def test_an_image_file_is_every_frame_and_stays_online(camera, tmp_path):
    """A still picture as the camera (a bench kiosk, the demo): unlike an image file through
    cv2.VideoCapture (one frame, then offline), it gives that picture for as long as asked."""
    path = tmp_path / "paper.png"
    cv2.imwrite(str(path), document_frame())
    cam = await camera(str(path), presence=False, failures_offline=3)
    await asyncio.sleep(0.8)
    assert cam.status().state == DeviceState.ONLINE and cam.frames >= 6
    assert np.array_equal(cam.latest_frame(), cv2.imread(str(path)))
    with pytest.raises(DeviceError):
        await Camera(str(tmp_path / "missing.png"), presence=False).open()


def test_simulated_papers_sharp_blurred_dark():
    sharp, blurred = document_frame(), document_frame(blur=4.0)
    dark = document_frame(brightness=0.2)
    assert sharp.shape == (480, 640, 3) and sharp.dtype == np.uint8
    assert dark.mean() < sharp.mean() / 3
    edges = [np.abs(np.diff(f[..., 0].astype(int), axis=1)).max() for f in (sharp, blurred)]
    assert edges[0] > 150 > 60 > edges[1]  # print has hard edges only when sharp


async def test_missing_camera_raises_device_error():
    cam = Camera("/nonexistent/video0.avi", presence=False)
    with pytest.raises(DeviceError):
        await cam.open()
    assert cam.status().state == DeviceState.OFFLINE


async def test_unplugged_camera_goes_offline_then_reopens(camera):
    source = FrameSource([empty_frame()], fps=50)
    cam = await camera(source, presence=False, failures_offline=5)
    events = cam.events()
    await next_of(events, StatusChanged)
    source.fail()
    event = await next_of(events, StatusChanged)
    assert event.status.state == DeviceState.OFFLINE
    # replugged: the watchdog calls open() again
    source2 = FrameSource([qr_frame(RECEIPT)], fps=30)
    cam.source = source2
    await cam.open()
    assert cam.status().state == DeviceState.ONLINE
    assert (await next_of(events, Scanned)).payload == RECEIPT


# ---------------------------------------------------------------- presence


async def test_presence_event_plumbing(camera):
    """With any detector: face seen -> present; no face for absent_after -> not present."""

    def fake_detector(gray: np.ndarray) -> int:
        return int(gray[0, 0] == 255)  # frames marked with a white corner pixel "have a face"

    marked = empty_frame()
    marked[0, 0] = 255
    source = FrameSource([empty_frame()], fps=30)
    cam = await camera(
        source, face_detector=fake_detector, presence_interval=0.05, absent_after=0.3
    )
    events = cam.events()
    assert cam.status().detail == ()
    assert not await collect_presence(events, 0.3)
    source.show(marked)
    assert await next_of(events, PresenceChanged) == PresenceChanged(True)
    source.show(empty_frame(seed=2))
    assert await next_of(events, PresenceChanged) == PresenceChanged(False)


async def collect_presence(events, seconds):
    return [e for e in await collect(events, seconds) if isinstance(e, PresenceChanged)]


def test_without_haar_presence_is_reported_unavailable(monkeypatch):
    monkeypatch.setattr("drivers.camera.camera.haar_face_detector", lambda: None)
    cam = Camera(FrameSource(), presence=True)
    assert not cam.presence_available


@pytest.mark.skipif(HAAR is None, reason="this OpenCV has no CascadeClassifier (OpenCV >= 5)")
def test_haar_finds_synthetic_face_not_empty_room():
    for scale in (0.7, 1.0, 1.4):
        assert HAAR(cv2.cvtColor(face_frame(scale=scale), cv2.COLOR_BGR2GRAY)) >= 1
    for seed in range(3):
        assert HAAR(cv2.cvtColor(empty_frame(seed=seed), cv2.COLOR_BGR2GRAY)) == 0
    assert HAAR(cv2.cvtColor(qr_frame(RECEIPT), cv2.COLOR_BGR2GRAY)) == 0


@pytest.mark.skipif(HAAR is None, reason="this OpenCV has no CascadeClassifier (OpenCV >= 5)")
async def test_haar_presence_events(camera):
    source = FrameSource([empty_frame()], fps=20)
    cam = await camera(source, presence_interval=0.1, absent_after=0.4)
    events = cam.events()
    source.show(face_frame())
    assert await next_of(events, PresenceChanged) == PresenceChanged(True)
    source.show(empty_frame())
    assert await next_of(events, PresenceChanged) == PresenceChanged(False)


# ---------------------------------------------------------------- audit photos


async def test_audit_photo_saved_with_txn_id_and_utc_time(camera, tmp_path):
    cam = await camera(FrameSource([face_frame()], fps=30), presence=False)
    for _ in range(50):
        if cam.latest_frame() is not None:
            break
        await asyncio.sleep(0.02)
    before = datetime.now(UTC).replace(microsecond=0)
    path = await cam.save_audit_photo("T-20261123/0001", tmp_path / "audit")
    assert path is not None and path.exists()
    assert path.name.startswith("T-20261123_0001_") and path.suffix == ".jpg"
    stamp = datetime.strptime(path.stem.rsplit("_", 1)[1], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert before <= stamp <= datetime.now(UTC)
    assert path.read_bytes()[:2] == b"\xff\xd8"  # JPEG
    assert cv2.imread(str(path)).shape == (480, 640, 3)


async def test_audit_photo_without_frame_never_raises(tmp_path):
    cam = Camera(FrameSource(), presence=False)  # not opened: no frame yet
    assert await cam.save_audit_photo("T-1", tmp_path) is None
    assert cam.errors["audit_failures"] == 1


def test_purge_after_keep_days(tmp_path):
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    frame = empty_frame()
    old = write_audit_photo(frame, "T-OLD", tmp_path, now - timedelta(days=31))
    edge = write_audit_photo(frame, "T-EDGE", tmp_path, now - timedelta(days=29, hours=23))
    new = write_audit_photo(frame, "T-NEW", tmp_path, now)
    other = tmp_path / "notes.jpg"
    other.write_bytes(b"not ours")
    assert purge_audit_photos(tmp_path, keep_days=30, now=now) == 1
    assert not old.exists()
    assert edge.exists() and new.exists() and other.exists()
    assert purge_audit_photos(tmp_path, keep_days=0, now=now + timedelta(seconds=1)) == 2
    assert other.exists()
    assert purge_audit_photos(tmp_path / "missing", keep_days=1) == 0
