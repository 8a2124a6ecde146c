"""Spoken prompts (config [ui] voice = true): each screen's prompt in Hindi through espeak-ng,
in a subprocess so the screen never waits for it. Quietly does nothing if the engine is
missing."""

from __future__ import annotations

import logging
import shutil
import subprocess

log = logging.getLogger("screens.voice")


class Voice:
    def __init__(self, enabled: bool, engine: str = "espeak-ng", language: str = "hi") -> None:
        self.engine = shutil.which(engine) if enabled else None
        self.language = language
        self._process: subprocess.Popen | None = None
        if enabled and self.engine is None:
            log.info("voice guidance is on but %s is not installed: staying silent", engine)

    @property
    def active(self) -> bool:
        return self.engine is not None

    def say(self, text: str) -> None:
        if not self.engine or not text:
            return
        self.stop()  # a new screen interrupts the old prompt
        try:
            self._process = subprocess.Popen(
                [self.engine, "-v", self.language, "-s", "140", text],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError as exc:
            log.info("voice guidance failed: %s", exc)
            self._process = None

    def stop(self) -> None:
        process = self._process
        self._process = None
        if process is not None and process.poll() is None:
            process.terminate()
