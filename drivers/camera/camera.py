"""Webcam: QR decoding when there is no scanner, audit photos, presence detection.

The capture is `cv2.VideoCapture(index or path)` or any object with `read() -> (ok, frame)`
(the simulator's FrameSource). A worker thread reads frames, decodes QR codes on the greyscale
image at up to `decode_fps` and looks for a face every `presence_interval` seconds; results are
handed to the event loop as `Scanned` and `PresenceChanged` events.

`decode_qr()` is the one QR decoding function. Its decoder order comes from `python -m bench qr`
(640x480 frames, same frames for all): zxing-cpp restricted to QR is ~6x faster than pyzbar and
cv2.QRCodeDetector and decodes the most of the hard frames (blur, tilt, low contrast), so it is
used first; pyzbar then OpenCV are the fallbacks when a library is not installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from drivers.base import DeviceError, DeviceState, DeviceStatus, StatusChanged
from drivers.camera.still import StillImage, is_still
from drivers.scanner.serial_scanner import EventStream, Scanned

log = logging.getLogger("drivers.camera")

# ---------------------------------------------------------------- QR decoding

Decoder = Callable[[np.ndarray], list[str]]


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _make_zxing() -> Decoder:
    import zxingcpp

    fmt = zxingcpp.BarcodeFormat.QRCode

    def decode(gray: np.ndarray) -> list[str]:
        return [r.text for r in zxingcpp.read_barcodes(gray, formats=fmt) if r.valid and r.text]

    return decode


def _make_pyzbar() -> Decoder:
    from pyzbar import pyzbar

    symbols = [pyzbar.ZBarSymbol.QRCODE]

    def decode(gray: np.ndarray) -> list[str]:
        return [_text(r.data) for r in pyzbar.decode(gray, symbols=symbols) if r.data]

    return decode


def _make_cv2() -> Decoder:
    detector = cv2.QRCodeDetector()
    lock = threading.Lock()  # one detector object, not safe to share between threads

    def decode(gray: np.ndarray) -> list[str]:
        with lock:
            ok, values, _points, _ = detector.detectAndDecodeMulti(gray)
        return [v for v in values if v] if ok else []

    return decode


# Best first, as measured by bench/qr.py.
PREFERENCE = ("zxing", "pyzbar", "cv2")
_FACTORIES: dict[str, Callable[[], Decoder]] = {
    "zxing": _make_zxing,
    "pyzbar": _make_pyzbar,
    "cv2": _make_cv2,
}


def available_decoders() -> dict[str, Decoder]:
    """Every decoder whose library imports here, best first (the benchmark uses this too)."""
    found: dict[str, Decoder] = {}
    for name in PREFERENCE:
        try:
            found[name] = _FACTORIES[name]()
        except ImportError as exc:  # zbar shared library missing raises ImportError too
            log.info("QR decoder %s unavailable: %s", name, exc)
    return found


_decoder: tuple[str, Decoder] | None = None


def decoder_name() -> str:
    """The decoder decode_qr() uses ("zxing", "pyzbar" or "cv2")."""
    return _chosen()[0]


def _chosen() -> tuple[str, Decoder]:
    global _decoder
    if _decoder is None:
        decoders = available_decoders()
        if not decoders:
            raise RuntimeError("no QR decoder: install zxing-cpp, pyzbar or opencv")
        _decoder = next(iter(decoders.items()))
    return _decoder


def to_gray(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return frame
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def decode_qr(frame: np.ndarray) -> list[str]:
    """Texts of the QR codes in a BGR or greyscale frame (empty list if none)."""
    gray = np.ascontiguousarray(to_gray(frame))
    return _chosen()[1](gray)


# ---------------------------------------------------------------- presence

FACE_CASCADE = "haarcascade_frontalface_default.xml"
FaceDetector = Callable[[np.ndarray], int]


def haar_face_detector() -> FaceDetector | None:
    """OpenCV's bundled frontal-face Haar cascade, or None if this OpenCV has none.

    OpenCV 5 moved CascadeClassifier out of the main package; with it presence detection is off.
    """
    classifier_cls = getattr(cv2, "CascadeClassifier", None)
    data = getattr(cv2, "data", None)
    if classifier_cls is None or data is None:
        return None
    path = Path(data.haarcascades) / FACE_CASCADE
    if not path.is_file():
        return None
    classifier = classifier_cls(str(path))
    if classifier.empty():
        return None

    def detect(gray: np.ndarray) -> int:
        # Half resolution: a citizen at the kiosk fills a good part of the frame.
        small = cv2.resize(gray, (gray.shape[1] // 2, gray.shape[0] // 2))
        small = cv2.equalizeHist(small)
        faces = classifier.detectMultiScale(small, 1.1, 4, minSize=(30, 30))
        return len(faces)

    return detect


@dataclass(frozen=True)
class PresenceChanged:
    """Someone came into view (present=True) or nobody has been seen for a while."""

    present: bool


CameraEvent = Scanned | PresenceChanged | StatusChanged


class FrameReader(Protocol):
    def read(self) -> tuple[bool, Any]: ...


# ---------------------------------------------------------------- audit photos

_SAFE = re.compile(r"[^A-Za-z0-9_-]+")
_PHOTO_NAME = re.compile(r"^(?P<txn>[A-Za-z0-9_-]+)_(?P<ts>\d{8}T\d{6}Z)\.jpg$")
_TS_FORMAT = "%Y%m%dT%H%M%SZ"


def audit_photo_name(txn_id: str, when: datetime) -> str:
    """File name: <txn_id>_<YYYYmmddTHHMMSSZ>.jpg; characters other than A-Z a-z 0-9 - _ -> "_"."""
    safe = _SAFE.sub("_", txn_id).strip("_")[:80] or "unknown"
    return f"{safe}_{when.astimezone(UTC).strftime(_TS_FORMAT)}.jpg"


def write_audit_photo(
    frame: np.ndarray, txn_id: str, directory: str | Path, when: datetime | None = None
) -> Path:
    """Write the frame as a JPEG named after the transaction and the UTC time. Raises OSError."""
    when = when or datetime.now(UTC)
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / audit_photo_name(txn_id, when)
    ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])
    if not ok:
        raise OSError(f"camera: cannot encode the audit photo for {txn_id}")
    tmp = path.with_suffix(".jpg.tmp")
    tmp.write_bytes(jpeg.tobytes())
    tmp.replace(path)
    return path


def purge_audit_photos(directory: str | Path, keep_days: float, now: datetime | None = None) -> int:
    """Delete our audit photos older than keep_days (by the UTC time in the name). Returns count.

    Only files named like write_audit_photo's are touched; anything else in the folder stays.
    """
    folder = Path(directory)
    if not folder.is_dir():
        return 0
    cutoff = (now or datetime.now(UTC)) - timedelta(days=keep_days)
    removed = 0
    for path in folder.iterdir():
        m = _PHOTO_NAME.match(path.name)
        if not m or not path.is_file():
            continue
        taken = datetime.strptime(m["ts"], _TS_FORMAT).replace(tzinfo=UTC)
        if taken < cutoff:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
    if removed:
        log.info("camera purged %d audit photos older than %s days", removed, keep_days)
    return removed


# ---------------------------------------------------------------- the device


class Camera:
    """A webcam (or frame source) with QR, presence and audit-photo services.

    source: a V4L2 index or a device/video path (opened with cv2.VideoCapture), an image file
    (.png/.jpg: that picture as every frame, drivers/camera/still.py), or any object
    with read() -> (ok, frame). events() yields Scanned(source="camera"), PresenceChanged and
    StatusChanged; the stream lives across reopenings (the watchdog calls open() again).
    """

    def __init__(
        self,
        source: int | str | FrameReader = 0,
        *,
        decode_fps: float = 15.0,
        dedupe_seconds: float = 2.0,
        presence: bool = True,
        presence_interval: float = 0.5,
        absent_after: float = 3.0,
        face_detector: FaceDetector | None = None,
        failures_offline: int = 20,
        name: str = "camera",
    ) -> None:
        self.source = source
        self.decode_fps = decode_fps
        self.dedupe_seconds = dedupe_seconds
        self.presence_interval = presence_interval
        self.absent_after = absent_after
        self.failures_offline = failures_offline
        self.name = name
        self.scanning = True  # the core turns QR decoding off when no screen wants a QR
        self._detector = face_detector
        if self._detector is None and presence:
            self._detector = haar_face_detector()
            if self._detector is None:
                log.warning("camera: no Haar face cascade in this OpenCV, presence detection off")
        self._capture: Any = None
        self._owns_capture = False
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[CameraEvent] = asyncio.Queue()
        self._status = DeviceStatus(DeviceState.OFFLINE, ("not_opened",))
        self._frame_lock = threading.Lock()
        self._last_frame: np.ndarray | None = None
        self._seen: dict[str, float] = {}
        self.present = False
        self._last_face = 0.0
        self.frames = 0
        self.decodes = 0  # frames run through decode_qr
        self.decoded_frames = 0  # ... of which had a QR
        self.errors = {"read_failures": 0, "decode_errors": 0, "audit_failures": 0}

    # ------------------------------------------------------------ contract

    @property
    def presence_available(self) -> bool:
        return self._detector is not None

    async def open(self) -> None:
        """Open the capture and start the worker. Raises DeviceError if there is no camera."""
        if self._thread is not None and self._thread.is_alive():
            return
        await self._release()
        self._loop = asyncio.get_running_loop()
        if isinstance(self.source, int | str):
            opener: Callable[[Any], Any] = StillImage if is_still(self.source) \
                else cv2.VideoCapture
            capture = await asyncio.to_thread(opener, self.source)
            if not capture.isOpened():
                capture.release()
                self._set_status(DeviceStatus(DeviceState.OFFLINE, ("open_failed",)))
                raise DeviceError(f"{self.name}: cannot open video source {self.source!r}")
            self._owns_capture = True
        else:
            capture = self.source
            self._owns_capture = False
        self._capture = capture
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._work, args=(capture, self._stop), name=f"{self.name}-worker", daemon=True
        )
        detail = () if self.presence_available else ("presence_unavailable",)
        self._set_status(DeviceStatus(DeviceState.ONLINE, detail))
        self._thread.start()
        log.info("camera open source=%r decoder=%s", self.source, decoder_name())

    async def close(self) -> None:
        had = self._capture is not None
        await self._release()
        if had:
            self._set_status(DeviceStatus(DeviceState.OFFLINE, ("closed",), "closed"))

    def status(self) -> DeviceStatus:
        return self._status

    def events(self) -> AsyncIterator[CameraEvent]:
        """The event stream (one consumer); it lives across close() / open()."""
        return EventStream(self._queue)

    def latest_frame(self) -> np.ndarray | None:
        """A copy of the newest frame (maintenance preview, audit photo)."""
        with self._frame_lock:
            return None if self._last_frame is None else self._last_frame.copy()

    async def save_audit_photo(self, txn_id: str, directory: str | Path) -> Path | None:
        """Store the newest frame for this transaction. Never raises: a payment must not fail
        because of a photo; None (and a counted error) when there is no frame or no disk."""
        frame = self.latest_frame()
        if frame is None:
            self.errors["audit_failures"] += 1
            log.warning("camera: no frame for the audit photo of %s", txn_id)
            return None
        try:
            return await asyncio.to_thread(write_audit_photo, frame, txn_id, directory)
        except OSError as exc:
            self.errors["audit_failures"] += 1
            log.warning("camera: audit photo for %s not saved: %s", txn_id, exc)
            return None

    def counters(self) -> dict:
        return {
            "frames": self.frames,
            "decodes": self.decodes,
            "decoded_frames": self.decoded_frames,
            **self.errors,
        }

    # ------------------------------------------------------------ internals

    async def _release(self) -> None:
        thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None:
            await asyncio.to_thread(thread.join, 5.0)
        capture, self._capture = self._capture, None
        if capture is not None and self._owns_capture:
            with contextlib.suppress(Exception):
                capture.release()

    def _set_status(self, status: DeviceStatus) -> None:
        if status != self._status:
            self._status = status
            self._queue.put_nowait(StatusChanged(status))

    def _post(self, event: CameraEvent) -> None:
        """From the worker thread to the loop."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if isinstance(event, StatusChanged):
            call: Callable[..., None] = self._set_status
            arg: Any = event.status
        else:
            call, arg = self._queue.put_nowait, event
        with contextlib.suppress(RuntimeError):  # loop closed under us at shutdown
            loop.call_soon_threadsafe(call, arg)

    def _work(self, capture: FrameReader, stop: threading.Event) -> None:
        failures = 0
        next_decode = next_presence = 0.0
        while not stop.is_set():
            try:
                ok, frame = capture.read()
            except Exception as exc:  # a driver error inside OpenCV or a source
                log.warning("camera read raised: %s", exc)
                ok, frame = False, None
            if not ok or frame is None:
                failures += 1
                self.errors["read_failures"] += 1
                if failures >= self.failures_offline:
                    self._post(
                        StatusChanged(DeviceStatus(DeviceState.OFFLINE, ("no_frames",), "lost"))
                    )
                    log.warning("camera %s gives no frames: offline", self.name)
                    return
                stop.wait(0.05)
                continue
            failures = 0
            self.frames += 1
            with self._frame_lock:
                self._last_frame = frame
            now = time.monotonic()
            if self.scanning and now >= next_decode:
                # A fixed cadence (not now + interval), so camera frame jitter does not halve
                # the decode rate; after a stall it restarts from now.
                next_decode = max(next_decode + 1.0 / self.decode_fps, now)
                self._decode(frame, now)
            if self._detector is not None and now >= next_presence:
                next_presence = max(next_presence + self.presence_interval, now)
                self._presence(frame, now)

    def _decode(self, frame: np.ndarray, now: float) -> None:
        self.decodes += 1
        try:
            payloads = decode_qr(frame)
        except Exception as exc:
            self.errors["decode_errors"] += 1
            log.warning("camera QR decode failed: %s", exc)
            return
        self.decoded_frames += 1 if payloads else 0
        for payload in payloads:
            last = self._seen.get(payload)
            self._seen[payload] = now  # a code held in view stays one scan
            if last is None or now - last >= self.dedupe_seconds:
                self._post(Scanned(payload, "camera"))
        if len(self._seen) > 64:
            self._seen = {p: t for p, t in self._seen.items() if now - t < self.dedupe_seconds}

    def _presence(self, frame: np.ndarray, now: float) -> None:
        assert self._detector is not None
        try:
            faces = self._detector(to_gray(frame))
        except Exception as exc:
            log.warning("camera face detection failed: %s", exc)
            return
        if faces:
            self._last_face = now
            if not self.present:
                self.present = True
                self._post(PresenceChanged(True))
        elif self.present and now - self._last_face >= self.absent_after:
            self.present = False
            self._post(PresenceChanged(False))
