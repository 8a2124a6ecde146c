"""A still picture as the camera: an image file read once and given as every frame, paced like
a webcam. For a kiosk on the bench (the demo, the crash tests, a site checking the document
step) where no webcam is plugged in; cv2.VideoCapture on an image file gives one frame only."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

STILL_SUFFIXES = (".png", ".jpg", ".jpeg")


def is_still(source: object) -> bool:
    return isinstance(source, str) and Path(source).suffix.lower() in STILL_SUFFIXES


class StillImage:
    """`read() -> (ok, frame)` like cv2.VideoCapture, the same picture each time."""

    def __init__(self, path: str, fps: float = 15.0) -> None:
        frame = cv2.imread(path, cv2.IMREAD_COLOR)
        self._frame: np.ndarray | None = frame
        self._interval = 1.0 / fps
        self._next_at = 0.0

    def isOpened(self) -> bool:  # noqa: N802 - cv2.VideoCapture's name
        return self._frame is not None

    def read(self) -> tuple[bool, np.ndarray | None]:
        now = time.monotonic()
        if self._next_at > now:
            time.sleep(self._next_at - now)
        self._next_at = max(now, self._next_at) + self._interval
        if self._frame is None:
            return False, None
        return True, self._frame.copy()

    def release(self) -> None:
        self._frame = None
