"""Voice guidance latency: from the moment the screen asks for a prompt (what screens/voice.py
does on a state change) to the first non-silent audio sample espeak-ng produces.

espeak-ng writes its WAV to stdout here (`--stdout`) instead of the sound card, so the figure is
the engine's start-up and synthesis up to the first sound, without the audio device's own
buffer (ALSA's period, ~10-20 ms, comes on top on a kiosk). `python -m bench.voice` (the area
is not yet in bench/__main__.py's list) prints `name: value unit` lines; logs go to stderr."""

from __future__ import annotations

import shutil
import statistics
import struct
import subprocess
import sys
import time

PROMPTS = (
    "नोट डालें",
    "आपने डाले पाँच सौ रुपये, और डालने हैं एक सौ चालीस रुपये",
    "यह नोट वापस आ गया है, ले लें",
    "अपना कार्ड निकालें",
    "अपनी रसीद लें",
)
ROUNDS = 4
HEADER = 44  # espeak-ng's RIFF/WAVE header on stdout
LOUD = 300  # a 16-bit sample above this is sound, not the leading silence


def first_sound_ms(engine: str, text: str) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen([engine, "--stdout", "-v", "hi", "-s", "140", text],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    seen = b""
    try:
        while True:
            chunk = proc.stdout.read1(4096)
            if not chunk:
                raise RuntimeError("espeak-ng ended without sound")
            seen += chunk
            body = seen[HEADER:]
            count = len(body) // 2
            if count and any(abs(v) > LOUD for v in struct.unpack(f"<{count}h", body[:count * 2])):
                return (time.perf_counter() - start) * 1000
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    engine = shutil.which("espeak-ng")
    if engine is None:
        print("# voice: espeak-ng is not installed", file=sys.stderr)
        return
    first_sound_ms(engine, "नमस्ते")  # warm the page cache: a kiosk has spoken before
    times = [first_sound_ms(engine, p) for _ in range(ROUNDS) for p in PROMPTS]
    times.sort()
    p95 = times[max(0, round(0.95 * len(times)) - 1)]
    print(f"voice.first_sound_p50_ms: {statistics.median(times):.1f} ms")
    print(f"voice.first_sound_p95_ms: {p95:.1f} ms")
    print(f"voice.first_sound_max_ms: {times[-1]:.1f} ms")
    print(f"voice.samples: {len(times)} count")


if __name__ == "__main__":
    main()
