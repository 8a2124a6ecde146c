"""Voice guidance latency: from the moment the screen has a new state to draw (the narrator of
screens/accessibility_voice.py deciding what changed) to the first non-silent audio sample of the
sentence, as espeak-ng hands it to the sound device.

The sentence goes the way `[ui] voice_device` sends it (`espeak-ng --stdout`, then aplay); here
the bench reads that pipe itself, so the figure ends where the audio is handed to the sink and
does not include the sound card's own buffer (ALSA's period, ~10-20 ms, comes on top on a
kiosk), nor the session API hop from core to screen (part of `ui.tap_to_frame_p95_ms`).

`python -m bench voice` prints `name: value unit` lines; logs go to stderr."""

from __future__ import annotations

import shutil
import statistics
import struct
import subprocess
import sys
import time

from screens.accessibility_voice import Narrator
from screens.i18n import Translator
from screens.voice import engine_command

ROUNDS = 4
HEADER = 44  # espeak-ng's RIFF/WAVE header on stdout
LOUD = 300  # a 16-bit sample above this is sound, not the leading silence


def first_sound_s(engine: str, lang: str, text: str) -> float:
    """Seconds from spawning the engine to its first loud sample on stdout."""
    start = time.perf_counter()
    proc = subprocess.Popen(engine_command(engine, lang, text, True), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
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
                return time.perf_counter() - start
    finally:
        proc.kill()
        proc.wait()


def paying_states() -> list[tuple[str, str, dict]]:
    """One citizen's payment as the screen sees it: each state says something new."""
    def paying(paid: int, remaining: int, returned: dict | None = None) -> dict:
        return {"screen": "PAYING", "session": {"session_id": "S-bench", "paid_paise": paid,
                                                "remaining_paise": remaining,
                                                "last_returned": returned}}

    too_big = {"paise": 50000, "reason": "too_much", "message_key": "note_too_large"}
    done = {"screen": "DONE", "message": {"key": "payment_successful"},
            "session": {"session_id": "S-bench", "paid_paise": 64000}}
    return [
        ("paying", "insert_note", paying(0, 64000)),
        ("paying", "insert_note", paying(50000, 14000)),
        ("paying", "insert_note", paying(50000, 14000, too_big)),
        ("processing", "take_card", {"screen": "POSTING", "session": {"session_id": "S-bench"}}),
        ("done", "take_receipt", done),
    ]


def state_to_first_sound_ms(engine: str, lang: str,
                            decisions: list[float]) -> list[float]:
    """Per state change: narrator decision + engine start + synthesis to the first sound
    (the decision alone goes to `decisions`, in microseconds)."""
    times: list[float] = []
    tr = Translator().text
    heard: list[tuple[str, str]] = []
    for _ in range(ROUNDS):
        narrator = Narrator(lambda text, said_lang: heard.append((said_lang, text)), tr)
        for screen, prompt, state in paying_states():
            start = time.perf_counter()
            narrator.drawn(screen, prompt, state, lang)
            decided = time.perf_counter() - start
            decisions.append(decided * 1e6)
            if not heard:
                raise RuntimeError(f"nothing said for {screen}")
            said_lang, text = heard.pop()
            times.append((decided + first_sound_s(engine, said_lang, text)) * 1000)
    return times


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(0.95 * (len(ordered) - 1))))]


def main() -> None:
    engine = shutil.which("espeak-ng")
    if engine is None:
        print("# voice: espeak-ng is not installed", file=sys.stderr)
        return
    first_sound_s(engine, "hi", "नमस्ते")  # warm the page cache: a kiosk has spoken before
    decisions: list[float] = []
    for lang in ("hi", "en"):
        times = state_to_first_sound_ms(engine, lang, decisions)
        print(f"voice.state_to_first_sound_p50_ms_{lang}: {statistics.median(times):.1f} ms")
        print(f"voice.state_to_first_sound_p95_ms_{lang}: {p95(times):.1f} ms")
        print(f"voice.state_to_first_sound_max_ms_{lang}: {max(times):.1f} ms")
    print(f"voice.narrator_decide_max_us: {max(decisions):.0f} us")
    print(f"voice.samples: {2 * ROUNDS * len(paying_states())} count")


if __name__ == "__main__":
    main()
