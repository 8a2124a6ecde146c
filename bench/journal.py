"""Journal write cost: every credit waits for this fsync before the screen may show it."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from terminal.journal import Journal


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        journal = Journal(Path(tmp) / "bench.sqlite")
        times = []
        for i in range(300):
            start = time.perf_counter()
            journal.append("credit", f"S{i // 5}", {"note_id": f"n{i}", "paise": 50000},
                           key=f"credit:n{i}")
            times.append((time.perf_counter() - start) * 1000)
        journal.close()
    times.sort()
    print(f"journal.append_ms_p50: {statistics.median(times):.2f} ms")
    print(f"journal.append_ms_p99: {times[int(len(times) * 0.99) - 1]:.2f} ms")
