"""The journal: what an append costs, and what reading the money state costs as history grows.

- journal.append_ms_p50 / _p99: one fsynced credit (every credit waits for it before the screen
  may show it);
- journal.pending_ms.1k / .10k / .100k: `Outbox.pending()` (the outbox's every pass, the engineer's
  outbox view) on a journal holding that many completed sessions plus a few still pending;
- journal.health_ms.100k: what /health, /metrics and each heartbeat push compute from the journal
  at 100k sessions: the outbox depth (terminal/heartbeat.py `_outbox`) and the cash box.

The journals are filled through the Journal API in this process with synchronous=OFF (setup only;
the measured reads and appends run with synchronous=FULL). The goal: pending and health flat from
1k to 100k sessions, under 5 ms.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from terminal.journal import Journal

TERMINAL = "RJ-JPR-0001"
DUE = 35000
PENDING = 5  # the last sessions of each fill are left unconfirmed (central was down)
SIZES = ((1_000, "1k"), (10_000, "10k"), (100_000, "100k"))
BATCH = 1_000  # sessions per fill transaction (setup only)


def _append_cost() -> None:
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


def _ids(i: int) -> tuple[str, str, str]:
    return f"S-BENCH-{i:06d}", f"T-{TERMINAL}-{i:08X}", f"V-{TERMINAL}-{i:08X}"


def _confirm(journal: Journal, i: int) -> None:
    sid, txn, voucher = _ids(i)
    journal.append("posted", sid, {"txn_id": txn, "receipt_no": f"R-{i}", "verification": "v"},
                   key=f"posted:{txn}")
    journal.append("voucher_posted", sid, {"voucher_id": voucher},
                   key=f"voucher_posted:{voucher}")


def _session(journal: Journal, i: int, confirmed: bool) -> None:
    """One cash payment as the kiosk journals it: ₹200 + ₹200 for a ₹350 bill (₹50 voucher)."""
    (sid, txn, voucher), consumer = _ids(i), f"9{i:09d}"
    journal.append("session_opened", sid, {"service": "water", "provider": "PHED",
                                           "consumer_number": consumer})
    journal.append("bill", sid, {
        "bill_id": f"B-PHED-{consumer}-202610", "provider": "PHED", "service": "water",
        "consumer_number": consumer, "consumer_name": "Bench", "period": "2026-10",
        "due_paise": DUE, "due_date": "2026-12-15", "status": "unpaid"})
    for n in (0, 1):
        journal.append("credit", sid, {"note_id": f"{sid}-{n}", "paise": 20000},
                       key=f"credit:{sid}-{n}")
    journal.append("settled", sid, {
        "txn_id": txn, "amount_paise": DUE, "voucher_id": voucher, "voucher_paise": 5000,
        "tendered_paise": 40000, "notes": [20000, 20000], "recovery": False},
        key=f"settled:{sid}")
    if confirmed:
        _confirm(journal, i)
    journal.append("printed", sid, {"doc": "receipt"}, key=f"printed:receipt:{sid}")
    journal.append("session_closed", sid, {"outcome": "completed"}, key=f"closed:{sid}")


def _fill(journal: Journal, start: int, stop: int) -> None:
    """Sessions start..stop, the last PENDING of them unconfirmed; those of the previous fill are
    confirmed first (central came back). synchronous=OFF and BATCH sessions per transaction
    (each append a savepoint in it) while filling."""
    db = journal._db
    db.execute("PRAGMA synchronous=OFF")
    db.execute("BEGIN")
    for i in range(max(0, start - PENDING), start):
        _confirm(journal, i)
    for i in range(start, stop):
        _session(journal, i, confirmed=i < stop - PENDING)
        if i % BATCH == BATCH - 1:
            db.execute("COMMIT")
            db.execute("BEGIN")
    db.execute("COMMIT")
    db.execute("PRAGMA synchronous=FULL")


def _timed(work: Callable[[], Any], repeat: int) -> float:
    """Median wall time of `work` in ms."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _cash_box(journal: Journal) -> dict[str, Any]:
    projection = getattr(journal, "cash_box_projection", None)
    if projection is not None:
        return projection()
    from terminal.maintenance import cash_box  # before the projection: the full fold

    return cash_box(journal)


def main() -> None:
    from terminal.heartbeat import _outbox
    from terminal.outbox import Outbox

    _append_cost()
    config = {"central": {"retry_initial_s": 1.0, "retry_max_s": 300.0}}
    with tempfile.TemporaryDirectory() as tmp:
        journal = Journal(Path(tmp) / "bench.sqlite")
        outbox = Outbox(journal, None, config)
        core = SimpleNamespace(kiosk=SimpleNamespace(outbox=outbox), journal=journal)
        filled = 0
        for size, label in SIZES:
            _fill(journal, filled, size)
            filled = size
            repeat = 20 if size <= 10_000 else 5
            pending_ms = _timed(outbox.pending, repeat)
            print(f"journal.pending_ms.{label}: {pending_ms:.2f} ms"
                  f" ({len(outbox.pending())} pending)")
        now = time.time()
        health_ms = _timed(lambda: (_outbox(core, now), _cash_box(journal)), 5)
        print(f"journal.health_ms.100k: {health_ms:.2f} ms")
        journal.close()
