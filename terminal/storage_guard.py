"""Is there room to journal money? A kiosk that cannot write its journal must not take cash.

Two signals: free space under the journal, checked every few seconds from the ticker (cheap:
one statvfs), and an append that failed (disk full, I/O error). Either one turns cash off with
the reason `journal_storage_full` until a check finds room again. A note the device stacked while
its credit could not be written is kept here and credited again as soon as the journal takes it;
the CCNET driver does not ACK its report until then, so a power cut meanwhile loses nothing.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from drivers.base import NoteStacked
from terminal.logs import log_event

log = logging.getLogger("storage")

REASON = "journal_storage_full"
CHECK_EVERY_S = 5.0
DEFAULT_MIN_FREE_BYTES = 1 << 20  # a day of busy payments is a few hundred kB


class StorageGuard:
    def __init__(
        self,
        journal_path: str | Path,
        min_free_bytes: int = DEFAULT_MIN_FREE_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = Path(journal_path).parent
        self.min_free_bytes = min_free_bytes
        self.clock = clock
        self.problem: str | None = None
        self.unjournaled: list[NoteStacked] = []  # stacked notes whose credit failed to write
        self._failed = False
        self._next_check = 0.0

    def free_bytes(self) -> int | None:
        try:
            st = os.statvfs(self.directory)
        except OSError:
            return None
        return st.f_bavail * st.f_frsize

    def check(self, force: bool = False) -> str | None:
        """Re-check at most every CHECK_EVERY_S; returns the problem (None when fine)."""
        now = self.clock()
        if not force and now < self._next_check:
            return self.problem
        self._next_check = now + CHECK_EVERY_S
        free = self.free_bytes()
        low = free is not None and free < self.min_free_bytes
        problem = REASON if (low or self._failed) else None
        if problem != self.problem:
            log_event(log, "journal storage " + ("full: cash off" if problem else "ok again"),
                      logging.CRITICAL if problem else logging.WARNING, free_bytes=free)
        self.problem = problem
        return problem

    def append_failed(self, exc: BaseException) -> None:
        """An append raised: cash off now; a later check with room clears it after a retry."""
        self._failed = True
        if self.problem is None:
            log_event(log, "journal write failed: cash off", logging.CRITICAL, error=str(exc))
        self.problem = REASON

    def append_worked(self) -> None:
        self._failed = False
