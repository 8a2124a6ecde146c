"""Spoken guidance (config [ui] voice): what screens/accessibility_voice.py decides to say, spoken
by espeak-ng (Hindi and English, offline) in a subprocess so the screen never waits for it. A
new sentence interrupts the one being spoken. Quietly does nothing if the engine is missing.

Where the sound goes:
- `[ui] voice_device = ""`: espeak-ng's own output (the system's default sound device);
- `voice_device = "<ALSA PCM>"` (`aplay -L` lists them, e.g. "plughw:CARD=Headphones,DEV=0"):
  `espeak-ng --stdout | aplay -D <PCM>` — that device only (aplay: Debian's alsa-utils);
- `voice_headphones = true` (headphone mode, as talking ATMs do): only ever to voice_device;
  with no device named it stays silent rather than speak a citizen's amounts out loud.

`EMITRA_VOICE_LOG=<file>` appends one JSON line per sentence (time, language, text): how the
tests see what was said on a machine without a sound card."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import time
from pathlib import Path

log = logging.getLogger("screens.voice")
LOG_ENV = "EMITRA_VOICE_LOG"
MAX_TEXT = 600  # characters per sentence: a prompt, never a page
VOICES = {"hi": "hi", "en": "en-gb"}


def engine_command(engine: str, lang: str, text: str, to_stdout: bool) -> list[str]:
    """The espeak-ng command line for one sentence (140 words a minute: slow and clear)."""
    extra = ["--stdout"] if to_stdout else []
    return [engine, *extra, "-v", VOICES.get(lang, "hi"), "-s", "140", text[:MAX_TEXT]]


class Voice:
    def __init__(self, enabled: bool, engine: str = "espeak-ng", language: str = "hi",
                 device: str = "", headphones: bool = False) -> None:
        self.engine_path = shutil.which(engine)
        self.enabled = enabled
        self.language = language
        self.device = device.strip()
        self.headphones = headphones
        self.aplay = shutil.which("aplay") if self.device else None
        self.spoken: list[tuple[float, str, str]] = []  # (monotonic, lang, text), last few
        self._processes: list[subprocess.Popen] = []
        self._log_path = os.environ.get(LOG_ENV) or None
        if enabled and self.engine_path is None:
            log.info("voice guidance is on but %s is not installed: staying silent", engine)
        if enabled and headphones and not self.device:
            log.warning("voice headphone mode needs [ui] voice_device: staying silent")
        if self.device and self.aplay is None:
            log.warning("voice_device %r needs aplay (alsa-utils): staying silent", self.device)

    @property
    def available(self) -> bool:
        """An engine is here and a sink allowed: speaking can be switched on."""
        if self.engine_path is None:
            return False
        if self.device:
            return self.aplay is not None
        return not self.headphones

    @property
    def active(self) -> bool:
        return self.enabled and self.available

    def switch(self, on: bool) -> None:
        self.enabled = on
        if not on:
            self.stop()

    def say(self, text: str, lang: str | None = None) -> None:
        """Speak `text` now (interrupting what is being said)."""
        lang = lang or self.language
        if not self.active or not text:
            return
        self.stop()
        self.spoken = [*self.spoken[-19:], (time.monotonic(), lang, text)]
        self._record(lang, text)
        try:
            self._processes = self._spawn(lang, text)
        except OSError as exc:
            log.info("voice guidance failed: %s", exc)
            self._processes = []

    def _spawn(self, lang: str, text: str) -> list[subprocess.Popen]:
        assert self.engine_path is not None
        quiet = {"stdin": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        if not self.device:
            return [subprocess.Popen(engine_command(self.engine_path, lang, text, False),
                                     stdout=subprocess.DEVNULL, **quiet)]
        assert self.aplay is not None
        synth = subprocess.Popen(engine_command(self.engine_path, lang, text, True),
                                 stdout=subprocess.PIPE, **quiet)
        play = subprocess.Popen([self.aplay, "-q", "-D", self.device], stdin=synth.stdout,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if synth.stdout is not None:
            synth.stdout.close()  # aplay holds the pipe now
        return [synth, play]

    def _record(self, lang: str, text: str) -> None:
        if not self._log_path:
            return
        try:
            with Path(self._log_path).open("a", encoding="utf-8") as out:
                out.write(json.dumps({"t": time.time(), "lang": lang, "text": text},
                                     ensure_ascii=False) + "\n")
        except OSError as exc:
            log.info("voice log not written: %s", exc)

    def stop(self) -> None:
        processes, self._processes = self._processes, []
        for process in processes:
            if process.poll() is None:
                process.terminate()
            try:
                process.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                process.kill()
