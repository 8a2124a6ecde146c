"""A short two-tone chime (the card is done: take it before the receipt prints), so a citizen
looking at the printer still hears it. The tone is written once as a WAV under the temp dir:
no sound files to ship. Silent, never failing, where there is no audio output."""

from __future__ import annotations

import logging
import math
import struct
import tempfile
import wave
from pathlib import Path

log = logging.getLogger("screens.sound")
RATE = 22050


def chime_file() -> Path:
    path = Path(tempfile.gettempdir()) / "emitra-chime.wav"
    if not path.exists():
        frames = bytearray()
        for freq, seconds in ((880.0, 0.18), (1320.0, 0.25)):
            n = int(RATE * seconds)
            for i in range(n):
                fade = min(1.0, i / 200, (n - i) / 400)
                sample = 0.5 * fade * math.sin(2 * math.pi * freq * i / RATE)
                frames += struct.pack("<h", int(sample * 32767))
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(RATE)
            out.writeframes(bytes(frames))
    return path


class Chime:
    def __init__(self) -> None:
        self.played = 0  # how many times it was asked for (tests read it through the driver)
        self._sound = None

    def play(self) -> None:
        self.played += 1
        try:
            if self._sound is None:
                from kivy.core.audio import SoundLoader

                self._sound = SoundLoader.load(str(chime_file()))
            if self._sound is not None:
                self._sound.play()
        except Exception as exc:  # no audio device: the words on screen still say it
            log.info("chime not played: %s", exc)
