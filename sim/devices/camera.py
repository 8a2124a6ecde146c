"""A webcam stand-in: a frame source with `read() -> (ok, frame)` like `cv2.VideoCapture`.

Frames come from image files or are generated here: a QR code printed on paper held in front of
a noisy background (size, tilt, blur, contrast and noise are parameters), a simple synthetic face,
or an empty room (noise only). Frames are BGR uint8 arrays, as a UVC camera gives them through
OpenCV. The source paces itself to `fps` so a consumer sees camera timing.

This module is written from the camera's side and never imports drivers/.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np
import qrcode

WIDTH, HEIGHT = 640, 480


def _background(rng: np.random.Generator, width: int, height: int, noise: float) -> np.ndarray:
    """A dim room: a smooth gradient with blotches and sensor noise (grayscale float)."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 70 + 40 * (xs / width) + 20 * np.sin(ys / 37.0) * np.cos(xs / 53.0)
    blotches = cv2.GaussianBlur(rng.normal(0, 30, (height, width)).astype(np.float32), (0, 0), 9)
    img = base + blotches
    if noise:
        img = img + rng.normal(0, noise, (height, width)).astype(np.float32)
    return img


def qr_matrix(payload: str, border: int = 4) -> np.ndarray:
    """The QR's modules as a bool array (True = dark), quiet zone included."""
    code = qrcode.QRCode(border=border, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(payload)
    code.make(fit=True)
    return np.array(code.get_matrix(), dtype=bool)


def qr_frame(
    payload: str,
    *,
    size: int = 220,
    tilt: float = 0.0,
    rotate: float = 0.0,
    blur: float = 0.0,
    contrast: float = 1.0,
    noise: float = 12.0,
    center: tuple[int, int] | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
    seed: int = 0,
) -> np.ndarray:
    """A BGR frame with one QR (side `size` px incl. quiet zone) on a noisy background.

    tilt: degrees the paper leans back (perspective, top edge further away);
    rotate: in-plane rotation in degrees; blur: Gaussian sigma in px (out of focus);
    contrast: 1.0 = black on white paper, 0.3 = grey on grey; noise: sensor noise sigma.
    """
    rng = np.random.default_rng(seed)
    img = _background(rng, width, height, 0.0)
    modules = qr_matrix(payload)
    tile = np.where(modules, 0.0, 1.0).astype(np.float32)
    tile = cv2.resize(tile, (size, size), interpolation=cv2.INTER_NEAREST)
    mid = 128.0
    light, dark = mid + 110.0 * contrast, mid - 110.0 * contrast
    paper = dark + (light - dark) * tile

    cx, cy = center if center is not None else (width // 2, height // 2)
    half = size / 2.0
    src = np.float32([[0, 0], [size, 0], [size, size], [0, size]])
    # Perspective: the top edge recedes, so it is shorter and lower than the bottom one.
    shrink = half * (1.0 - math.cos(math.radians(tilt))) + half * 0.35 * math.sin(
        math.radians(tilt)
    )
    corners = np.float32(
        [
            [-half + shrink, -half + shrink * 0.5],
            [half - shrink, -half + shrink * 0.5],
            [half, half],
            [-half, half],
        ]
    )
    a = math.radians(rotate)
    rot = np.float32([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    dst = corners @ rot.T + np.float32([cx, cy])
    matrix = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(paper, matrix, (width, height), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(
        np.ones((size, size), np.float32), matrix, (width, height), flags=cv2.INTER_LINEAR
    )
    img = img * (1.0 - mask) + warped * mask
    if blur > 0:
        img = cv2.GaussianBlur(img, (0, 0), blur)
    if noise:
        img = img + rng.normal(0, noise, img.shape).astype(np.float32)
    gray = np.clip(img, 0, 255).astype(np.uint8)
    return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)


def face_frame(
    *,
    scale: float = 1.0,
    center: tuple[int, int] | None = None,
    noise: float = 6.0,
    width: int = WIDTH,
    height: int = HEIGHT,
    seed: int = 0,
) -> np.ndarray:
    """A BGR frame with a simple drawn frontal face (skin oval, hair, brows, eyes, nose, mouth).

    Drawn with the light/dark layout a Haar frontal-face cascade looks for (dark eye band over
    light cheeks, light nose bridge, dark mouth) and softened like a real camera image.
    """
    rng = np.random.default_rng(seed)
    img = np.full((height, width), 90, np.float32)
    cx, cy = center if center is not None else (width // 2, height // 2)

    def s(v: float) -> int:
        return int(round(v * scale))

    cv2.ellipse(img, (cx, cy), (s(80), s(105)), 0, 0, 360, 200, -1)  # face
    cv2.ellipse(img, (cx, cy - s(70)), (s(85), s(50)), 0, 180, 360, 40, -1)  # hair
    eye_y, eye_dx = cy - s(22), s(32)
    for side in (-1, 1):
        ex = cx + side * eye_dx
        cv2.ellipse(img, (ex, eye_y - s(18)), (s(20), s(5)), 0, 0, 360, 60, -1)  # brow
        cv2.ellipse(img, (ex, eye_y), (s(16), s(8)), 0, 0, 360, 70, -1)  # eye
        cv2.circle(img, (ex, eye_y), s(5), 20, -1)  # pupil
    cv2.ellipse(img, (cx, cy + s(18)), (s(10), s(6)), 0, 0, 360, 150, -1)  # nose
    cv2.ellipse(img, (cx, cy + s(52)), (s(30), s(9)), 0, 0, 360, 70, -1)  # mouth
    img = cv2.GaussianBlur(img, (0, 0), max(0.5, 2.0 * scale))
    if noise:
        img = img + rng.normal(0, noise, img.shape).astype(np.float32)
    gray = np.clip(img, 0, 255).astype(np.uint8)
    bgr = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    # A warm tint, as skin under kiosk lighting (the detector works on grey anyway).
    bgr[..., 2] = np.clip(bgr[..., 2].astype(np.int16) + 12, 0, 255).astype(np.uint8)
    return bgr


def empty_frame(
    *, noise: float = 12.0, width: int = WIDTH, height: int = HEIGHT, seed: int = 0
) -> np.ndarray:
    """A BGR frame of an empty room: background and sensor noise, nothing to find."""
    rng = np.random.default_rng(seed)
    gray = np.clip(_background(rng, width, height, noise), 0, 255).astype(np.uint8)
    return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)


def load_images(paths: Iterable[str | Path]) -> list[np.ndarray]:
    """Read image files as BGR frames; a file OpenCV cannot read raises ValueError."""
    frames = []
    for p in paths:
        frame = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if frame is None:
            raise ValueError(f"camera simulator: cannot read image {p}")
        frames.append(frame)
    return frames


class FrameSource:
    """Frames on demand like `cv2.VideoCapture`: `read() -> (ok, frame)`, `release()`.

    frames: the sequence to show, in order; loop=True repeats it forever, else read() returns
    (False, None) at the end (like a video file). fps paces read() (None = as fast as asked).
    `show(frames)` swaps what the camera sees while running (someone walks up, shows a QR...).
    `fail()` makes read() return (False, None) from then on (camera unplugged).
    """

    def __init__(
        self, frames: Sequence[np.ndarray] = (), fps: float | None = 15.0, loop: bool = True
    ) -> None:
        self._lock = threading.Lock()
        self._frames: list[np.ndarray] = list(frames) or [empty_frame()]
        self._index = 0
        self.fps = fps
        self.loop = loop
        self._next_at = 0.0
        self._open = True
        self.frames_read = 0

    @classmethod
    def from_files(
        cls, paths: Iterable[str | Path], fps: float | None = 15.0, loop: bool = True
    ) -> FrameSource:
        return cls(load_images(paths), fps=fps, loop=loop)

    def show(self, frames: Sequence[np.ndarray] | np.ndarray) -> None:
        if isinstance(frames, np.ndarray):
            frames = [frames]
        with self._lock:
            self._frames = list(frames)
            self._index = 0

    def fail(self) -> None:
        with self._lock:
            self._open = False

    def isOpened(self) -> bool:  # noqa: N802 - cv2.VideoCapture's name
        return self._open

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.fps:
            now = time.monotonic()
            if self._next_at > now:
                time.sleep(self._next_at - now)
            self._next_at = max(now, self._next_at) + 1.0 / self.fps
        with self._lock:
            if not self._open or not self._frames:
                return False, None
            if self._index >= len(self._frames):
                if not self.loop:
                    return False, None
                self._index = 0
            frame = self._frames[self._index]
            self._index += 1
            self.frames_read += 1
            return True, frame.copy()

    def release(self) -> None:
        self.fail()


def document_frame(
    *,
    blur: float = 0.0,
    brightness: float = 1.0,
    noise: float = 4.0,
    width: int = WIDTH,
    height: int = HEIGHT,
    seed: int = 0,
) -> np.ndarray:
    """A BGR frame of a paper document held up to the camera: a white card with a photo box and
    lines of dark print on the dim room background.

    blur: Gaussian sigma in px (the paper moved, or out of focus); brightness: 1.0 = a lit
    kiosk, 0.2 = a dark one (the whole frame scaled down); noise: sensor noise sigma.
    """
    rng = np.random.default_rng(seed)
    img = _background(rng, width, height, 0.0)
    left, top = width // 8, height // 8
    right, bottom = width - width // 8, height - height // 8
    img[top:bottom, left:right] = 235.0  # the paper
    photo = (left + 20, top + 30, left + 20 + (right - left) // 4, top + 30 + (bottom - top) // 2)
    img[photo[1]:photo[3], photo[0]:photo[2]] = 120.0
    x0 = photo[2] + 20
    for row in range(8):  # lines of print: words of random length
        y = top + 30 + row * 26
        x = x0
        while x < right - 40:
            word = int(rng.integers(14, 60))
            img[y:y + 9, x:min(x + word, right - 20)] = 30.0
            x += word + int(rng.integers(8, 14))
    for row in range(2):  # the number along the bottom, in bigger print
        y = bottom - 60 + row * 24
        img[y:y + 12, left + 30:right - 30:7] = 25.0
    if blur > 0:
        img = cv2.GaussianBlur(img, (0, 0), blur)
    img = img * brightness
    if noise:
        img = img + rng.normal(0, noise * max(brightness, 0.3), img.shape).astype(np.float32)
    gray = np.clip(img, 0, 255).astype(np.uint8)
    return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
