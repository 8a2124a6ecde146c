"""The outbox against the reference central (its own process, SQLite file, loopback HTTP):

- outbox.drain_10k_s: 10,000 settled payments queued in the journal (on disk), central answering
  (its database on tmpfs): time until every one is posted (the pending scan, 10,000 signed
  requests 4 in flight, 10,000 fsynced `posted` events);
- outbox.outage_posts: the same 10,000 queued and central down for 5 s: requests attempted
  (one probe at a time on the default 1 s..300 s exponential clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sim.central.store import CentralStore
from terminal.central import CentralClient, ReferenceDialect
from terminal.journal import Journal
from terminal.logs import setup_logging
from terminal.outbox import Outbox

N = 10_000
OUTAGE_S = 5.0
TERMINAL, SECRET = "RJ-JPR-0001", "demo-secret"
DUE = 35000


def _bill(i: int) -> dict[str, Any]:
    consumer = f"9{i:09d}"
    return {"bill_id": f"B-PHED-{consumer}-202610", "provider": "PHED", "service": "water",
            "consumer_number": consumer, "consumer_name": "Bench", "period": "2026-10",
            "due_paise": DUE, "due_date": "2026-12-15", "status": "unpaid"}


def _queue_payments(journal: Journal, n: int) -> None:
    """n settled sessions, as the kiosk journals them (fsync off while filling: setup only)."""
    db = getattr(journal, "_db", None)
    if db is not None:
        db.execute("PRAGMA synchronous=OFF")
    for i in range(n):
        bill, sid = _bill(i), f"S-BENCH-{i:06d}"
        journal.append("session_opened", sid, {"service": "water", "provider": "PHED",
                                                "consumer_number": bill["consumer_number"]})
        journal.append("bill", sid, bill)
        journal.append("credit", sid, {"note_id": f"{sid}-n", "paise": DUE}, key=f"credit:{sid}")
        journal.append("settled", sid, {
            "txn_id": f"T-{TERMINAL}-261201000000-{i:06X}", "amount_paise": DUE,
            "voucher_id": None, "voucher_paise": 0, "tendered_paise": DUE, "notes": [DUE],
            "recovery": False}, key=f"settled:{sid}")
    if db is not None:
        db.execute("PRAGMA synchronous=FULL")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Counted:
    """The dialect, counting the posts that leave the kiosk."""

    def __init__(self, inner: ReferenceDialect) -> None:
        self.inner = inner
        self.posts = 0

    async def post_payment(self, intent: dict[str, Any]) -> Any:
        self.posts += 1
        return await self.inner.post_payment(intent)

    async def post_voucher(self, *args: Any) -> Any:
        self.posts += 1
        return await self.inner.post_voucher(*args)

    async def close(self) -> None:
        await self.inner.close()


def _outbox(journal: Journal, url: str) -> Outbox:
    config = {"central": {"retry_initial_s": 1.0, "retry_max_s": 300.0}}
    return Outbox(journal, _Counted(ReferenceDialect(CentralClient(url, TERMINAL, SECRET))), config)


async def _run(tmp: Path, central_dir: Path) -> tuple[float, int, int]:
    central_db = central_dir / "central.sqlite"
    store = CentralStore(central_db, receipt_key="central-receipt-key")
    store.add_bills([_bill(i) for i in range(N)])
    store.close()
    journal = Journal(tmp / "journal.sqlite")
    _queue_payments(journal, N)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"

    down = _outbox(journal, url)  # nothing listens on the port: central is down
    down.start()
    await asyncio.sleep(OUTAGE_S)
    await down.stop()
    await down.central.close()

    server = subprocess.Popen(
        [sys.executable, "-m", "sim.central.server", "--port", str(port),
         "--db", str(central_db)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert server.stdout is not None
        server.stdout.readline()  # the URL: listening
        up = _outbox(journal, url)
        start = time.perf_counter()
        await up.flush()  # one pass drains the whole queue while central answers
        while up._queue:  # central faltered mid-drain: go on at the probe's pace
            await asyncio.sleep(up.link.wait_s())
            await up.flush()
        drain_s = time.perf_counter() - start
        await up.central.close()
        posted = sum(1 for _ in journal.events(kinds=("posted",)))
    finally:
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=5)
    journal.close()
    return drain_s, down.central.posts, posted


def main() -> None:
    setup_logging(None, "WARNING")
    # Central's own SQLite goes to tmpfs where there is one: its fsyncs are central's cost, not
    # the kiosk's (on this VM's disk they cap the reference server near 200 payments/s).
    shm = "/dev/shm" if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory(dir=shm) as ctmp:
        drain_s, outage_posts, posted = asyncio.run(_run(Path(tmp), Path(ctmp)))
    assert posted == N, f"posted {posted} of {N}"
    print(f"outbox.drain_10k_s: {drain_s:.1f} s")
    print(f"outbox.outage_posts: {outage_posts} count")


if __name__ == "__main__":
    main()
