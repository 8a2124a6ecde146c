"""Is a webcam photo of a paper document good enough to keep? Two plain checks on a downscaled
grey copy (numpy only, fast enough for a kiosk CPU): too dark (mean brightness) and blurred (the
variance of the Laplacian: sharp print has strong edges, a shaken or out-of-focus photo has
none). The citizen is told which, in plain words, and takes the photo again."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHECK_WIDTH = 320  # frames are shrunk to about this width before checking
MIN_BRIGHTNESS = 60.0  # mean grey level 0-255 below which the photo is too dark
MIN_SHARPNESS = 50.0  # Laplacian variance below which the photo is blurred


@dataclass(frozen=True)
class Quality:
    brightness: float
    sharpness: float

    @property
    def problem(self) -> str | None:
        """The message key telling the citizen what is wrong, or None when it can be kept."""
        if self.brightness < MIN_BRIGHTNESS:
            return "document_too_dark"
        if self.sharpness < MIN_SHARPNESS:
            return "document_blurred"
        return None


def grey_small(frame: np.ndarray) -> np.ndarray:
    """The frame as float grey, shrunk by a whole factor (block mean) to about CHECK_WIDTH."""
    img = np.asarray(frame, dtype=np.float32)
    if img.ndim == 3:  # BGR, as the camera gives it
        img = img[..., 0] * 0.114 + img[..., 1] * 0.587 + img[..., 2] * 0.299
    step = max(1, img.shape[1] // CHECK_WIDTH)
    h, w = (img.shape[0] // step) * step, (img.shape[1] // step) * step
    return img[:h, :w].reshape(h // step, step, w // step, step).mean(axis=(1, 3))


def _smooth(g: np.ndarray) -> np.ndarray:
    """A 3x3 box mean: sensor noise would otherwise count as sharp edges."""
    return sum((g[dy:g.shape[0] - 2 + dy, dx:g.shape[1] - 2 + dx]
                for dy in range(3) for dx in range(3)), np.zeros_like(g[2:, 2:])) / 9.0


def _laplacian(g: np.ndarray) -> np.ndarray:
    return 4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]


def measure(frame: np.ndarray) -> Quality:
    """Mean brightness, and the Laplacian variance of the smoothed image scaled to a mean of
    128 (so a dimmer but sharp photo is not called blurred)."""
    grey = grey_small(frame)
    if grey.shape[0] < 7 or grey.shape[1] < 7:
        return Quality(0.0, 0.0)
    brightness = float(grey.mean())
    normal = grey * (128.0 / max(brightness, 1.0))
    return Quality(brightness, float(_laplacian(_smooth(normal)).var()))
