"""QR decoding benchmark: pyzbar vs OpenCV vs zxing-cpp on the same 640x480 frames.

Prints the median decode time per frame with one QR (and per empty frame: at 10+ frames/s the
camera mostly looks at nobody), the decode rate on hard frames (blur, tilt, low contrast) and
the decoder that wins; drivers/camera's decode_qr() uses that one first.
"""

from __future__ import annotations

import statistics
import time

import cv2
import numpy as np

from drivers.camera.camera import available_decoders, decoder_name
from sim.devices.camera import empty_frame, qr_frame

REPEATS = 3
PAYLOADS = (
    "EMITRA1|R|T-20261123-0001|0123456789abcdef",
    "EMITRA1|V|V-20261123-0042|fedcba9876543210",
    "BILL|JVVNL|210412345678",
    "upi://pay?pa=shop@upi&pn=Shop&am=120.00&cu=INR",
    "https://energybill.example.in/pay?disc=JVVNL&kno=210412345678",
)


def _gray(frame: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))


def timing_frames() -> list[tuple[str, np.ndarray]]:
    """20 ordinary frames: one QR, various sizes, slight rotation, sensor noise."""
    frames = []
    for i in range(20):
        payload = PAYLOADS[i % len(PAYLOADS)]
        frame = qr_frame(
            payload,
            size=180 + 20 * (i % 5),
            rotate=(i % 7) * 4 - 12,
            center=(260 + 15 * (i % 9), 200 + 10 * (i % 6)),
            noise=12,
            seed=i,
        )
        frames.append((payload, _gray(frame)))
    return frames


def hard_frames() -> list[tuple[str, str, np.ndarray]]:
    """(label, payload, grey frame): blur, perspective tilt, low contrast and mixes of them."""
    cases: list[tuple[str, dict]] = []
    for blur in (1.5, 2.0, 2.5, 3.0):
        cases += [(f"blur{blur}", {"blur": blur, "seed": s}) for s in range(3)]
    for tilt in (30, 40, 50):
        for rotate in (0, 20):
            cases += [(f"tilt{tilt}r{rotate}", {"tilt": tilt, "rotate": rotate, "seed": s})
                      for s in range(2)]  # fmt: skip
    for contrast in (0.3, 0.22, 0.16):
        cases += [(f"contrast{contrast}", {"contrast": contrast, "seed": s}) for s in range(3)]
    for s in range(3):
        cases.append(("mixed", {"tilt": 30, "blur": 1.5, "contrast": 0.35, "seed": s}))
    frames = []
    for i, (label, kw) in enumerate(cases):
        payload = PAYLOADS[i % len(PAYLOADS)]
        frames.append((label, payload, _gray(qr_frame(payload, size=200, **kw))))
    return frames


def _median_ms(decode, frames: list[np.ndarray]) -> float:
    times = []
    for _ in range(REPEATS):
        for gray in frames:
            start = time.perf_counter()
            decode(gray)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    found = available_decoders()
    decoders = {n: found[n] for n in ("pyzbar", "cv2", "zxing") if n in found}
    ordinary = timing_frames()
    empty = [_gray(empty_frame(seed=100 + i)) for i in range(10)]
    hard = hard_frames()
    speed: dict[str, float] = {}
    rate: dict[str, float] = {}
    for name, decode in decoders.items():
        decode(ordinary[0][1])  # warm-up (library load, first allocation)
        wrong = sum(1 for payload, gray in ordinary if payload not in decode(gray))
        speed[name] = _median_ms(decode, [g for _, g in ordinary])
        print(f"qr.decode_ms.{name}: {speed[name]:.1f} ms")
        print(f"qr.decode_ms_empty.{name}: {_median_ms(decode, empty):.1f} ms")
        if wrong:
            print(f"qr.missed_ordinary.{name}: {wrong} frames")
    for name, decode in decoders.items():
        hits = sum(1 for _, payload, gray in hard if payload in decode(gray))
        rate[name] = 100.0 * hits / len(hard)
        print(f"qr.decode_rate.{name}: {rate[name]:.0f} %")
    # The winner decodes the most hard frames; among equals, the fastest.
    chosen = max(decoders, key=lambda n: (rate[n], -speed[n]))
    fastest = min(speed, key=lambda n: speed[n])
    print(f"qr.hard_frames: {len(hard)} frames")
    print(f"qr.chosen: {chosen}")
    print(f"qr.chosen_is_fastest: {'yes' if chosen == fastest else 'no'}")
    print(f"qr.driver_decoder: {decoder_name()}")


if __name__ == "__main__":
    main()
