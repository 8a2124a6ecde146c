"""Cash payments on simulated hardware, paced at 9600 baud, with the real core in this process.

Why these figures: the issue's goals are about what the citizen and the money see, not about
the poll period, which belongs to the device. So the credit latency is measured from the end of
the frame that carries the device's report (the simulator's `on_report_sent` hook: CCNET poll
reply 0x81, eSSP poll reply with an EE credit) to the moment `Journal.append("credit")` returns,
i.e. the credit is fsynced (SQLite synchronous=FULL). Both ends are `time.time()` on this machine;
the start is when the frame's last byte was handed to the host (`_last_byte_clock`).
The journal's own `at` stamp is taken before the INSERT and its fsync, so it would leave the fsync
out; for CCNET the simulator also sees the host's ACK of the report, sent only once the credit is
durable, printed as `report_to_ack`.

`payment.overhead_pct` compares a whole 3-note CCNET payment (start intent -> DONE screen, as
`payment.three_notes_end_to_end_s`) with the simulator's own mechanical time for its notes
(transport into escrow + stacking, `accept_time + stack_time` per note; escrow itself is the
host's decision time, not mechanics).

`payment.credit_p99_ms.empty` is the CCNET p99 above (a fresh journal);
`payment.credit_p99_ms.100k_rows` is the same measurement, fewer payments, with the core's journal
pre-filled before it starts with 100,000 completed, confirmed sessions (bench/journal.py's fill:
900,000 events, about a minute of setup). The goal: within 10 % of the empty figure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.journal import _fill
from sim.devices.ptyport import PtyDevice
from sim.rig import SimRig
from sim.session_client import SessionClient
from terminal.config import load_config
from terminal.core import Core
from terminal.journal import Event, Journal
from terminal.logs import setup_logging

# Payments per protocol, three notes each: 102 credits per protocol, enough for a p99 to be a
# real note and not the maximum of a handful; the whole area stays under ~3 minutes.
PAYMENTS = int(os.environ.get("EMITRA_BENCH_PAYMENTS", "34"))
# The 100k-row run: fewer payments (the fill alone takes about a minute), so the whole area stays
# under ~5 minutes; 20 payments are 60 credits, and their p99 is then the slowest of them.
PREFILL_SESSIONS = 100_000
PREFILL_PAYMENTS = int(os.environ.get("EMITRA_BENCH_PREFILL_PAYMENTS", "20"))
NOTE_PLANS: list[tuple[int, ...]] = [
    (200, 100, 50),
    (200, 200, 50),
    (100, 10, 10),
    (500, 100, 20),
    (50, 20, 10),
    (500, 200, 100),
]


def bench_bills(n: int, plans: list[tuple[int, ...]], prefix: str = "8") -> list[dict[str, Any]]:
    """n unpaid PHED bills, bill i due exactly the sum of plans[i % len(plans)] (no voucher)."""
    rows = []
    for i in range(n):
        consumer = f"{prefix}{i:09d}"
        rows.append({
            "bill_id": f"B-PHED-{consumer}-202610", "provider": "PHED", "service": "water",
            "consumer_number": consumer, "consumer_name": "Bench", "period": "2026-10",
            "due_paise": sum(plans[i % len(plans)]) * 100, "due_date": "2026-12-15",
            "status": "unpaid"})
    return rows


# ------------------------------------------------------------------------------ shared machine

def _ptys_named_by_running_cores() -> int:
    """Highest /dev/pts/N named in the config of any running core (ours or someone else's)."""
    highest = 0
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            args = (pid_dir / "cmdline").read_bytes().split(b"\0")
            if b"terminal.cli" not in args or b"--config" not in args:
                continue
            config = Path(args[args.index(b"--config") + 1].decode())
            if not config.is_absolute():
                config = Path(os.readlink(pid_dir / "cwd")) / config
            for number in re.findall(r"/dev/pts/(\d+)", config.read_text(errors="replace")):
                highest = max(highest, int(number))
        except (OSError, IndexError, ValueError):
            continue
    return highest


@contextlib.contextmanager
def reserved_ptys(floor: int | None = None) -> Iterator[None]:
    """Hold every free pty number below `floor` while our simulators start, so they get numbers
    no stale core names. On this shared machine, cores orphaned by other runs keep reopening the
    /dev/pts/N of their long-gone simulators; the kernel hands the lowest free number to the next
    pty, and such a core would then read our device's replies."""
    if floor is None:
        floor = max(256, _ptys_named_by_running_cores() + 16)
    fds: list[int] = []
    try:
        while len(fds) < 4096:
            try:
                master, slave = os.openpty()
            except OSError:
                break
            if int(os.ttyname(slave).rsplit("/", 1)[1]) >= floor:
                os.close(master)
                os.close(slave)
                break
            fds += (master, slave)
        yield
    finally:
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)


def foreign_holders(paths: set[str], mine: set[int]) -> list[str]:
    """Other processes with one of our simulators' ptys open: their run is then not ours alone."""
    found = []
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit() or int(pid_dir.name) in mine:
            continue
        try:
            for fd in (pid_dir / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in paths:
                        found.append(f"pid {pid_dir.name} holds {os.readlink(fd)}")
        except OSError:
            continue
    return found


def rig_paths(rig: SimRig) -> set[str]:
    return {rig.acceptor_sim.path, rig.printer_sim.path, rig.scanner_sim.path}


# ------------------------------------------------------------------------------ one protocol

@dataclass
class Run:
    """What one protocol's payments gave: one latency per note, one wall time per payment."""

    credit_ms: list[float] = field(default_factory=list)
    ack_ms: list[float] = field(default_factory=list)
    payment_s: list[float] = field(default_factory=list)
    physical_s: float = 0.0  # mechanical time of one 3-note payment (CCNET)
    intruders: list[str] = field(default_factory=list)


def _last_byte_clock(port: PtyDevice) -> Callable[[], float]:
    """Time each write's last byte as it is handed to the host. The simulator's hook fires when
    the write returns, which paced is one sleep later, and asyncio rounds sleeps up to whole
    milliseconds (epoll), and with the core on this loop that sleep ends only after the core has
    handled the frame. Same bytes, same pacing as PtyDevice.write."""
    last = [0.0]

    async def write(data: bytes) -> None:
        if port.unplugged:
            return
        if not port.paced:
            os.write(port.master, data)
            last[0] = time.time()
            return
        for i in range(len(data)):
            os.write(port.master, data[i : i + 1])
            if i == len(data) - 1:
                last[0] = time.time()
            await asyncio.sleep(port.seconds_per_byte)

    port.write = write  # type: ignore[method-assign]
    return lambda: last[0]


def _durable_credits(journal: Journal, out: list[float]) -> None:
    """Note the wall-clock time each credit append returns (it has been fsynced by then)."""
    inner = journal.append

    def append(kind: str, session_id: str, data: dict[str, Any],
               key: str | None = None) -> Event | None:
        event = inner(kind, session_id, data, key=key)
        if kind == "credit" and event is not None:
            out.append(time.time())
        return event

    journal.append = append  # type: ignore[method-assign]


async def pay(citizen: SessionClient, rig: SimRig, number: str, notes: tuple[int, ...],
              timeout: float = 30) -> float:
    """One payment as a citizen does it: each note once the screen shows the last one credited.
    Returns start intent -> DONE in seconds."""
    start = time.perf_counter()
    await citizen.send("start", provider="PHED")
    result = await citizen.send("consumer", number=number)
    if not result.get("ok"):
        raise RuntimeError(f"bill lookup {number} failed: {result}")
    await citizen.send("confirm")
    await citizen.wait_screen("PAYING", timeout=timeout)
    paid = 0
    for rupees in notes:
        rig.acceptor_sim.insert_note(rupees)
        paid += rupees * 100
        await citizen.wait_for(
            lambda s, p=paid: (s["session"] or {}).get("paid_paise") == p
            or s["screen"] in ("POSTING", "RECEIPT", "DONE"), timeout)
    await citizen.wait_screen("DONE", timeout=timeout)
    elapsed = time.perf_counter() - start
    await citizen.send("finish")
    await citizen.wait_screen("IDLE", timeout=timeout)
    return elapsed


def prefill_journal(path: Path, sessions: int) -> None:
    """`sessions` completed cash sessions in the journal at `path`, every one confirmed by
    central (the second fill confirms the last few the first leaves pending), so the outbox has
    nothing to post: only history, no pending work."""
    journal = Journal(path)
    try:
        _fill(journal, 0, sessions)
        _fill(journal, sessions, sessions)
        # The fill wrote a year of history at once (synchronous=OFF, large transactions): fold
        # its WAL into the database and flush it to disk now, as the kiosk's automatic
        # checkpoints would have over that year, so the first credit measured does not pay for
        # a 250 MB checkpoint and writeback no real kiosk ever makes in one go.
        journal._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        journal.close()
    os.sync()


async def _run(protocol: str, payments: int, prefill: int = 0) -> Run:
    run = Run()
    sent: list[float] = []
    acked: list[float] = []
    durable: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        if prefill:  # the path SimRig.overrides() gives the core's journal, before anything runs
            prefill_journal(Path(tmp) / "journal.sqlite", prefill)
        with reserved_ptys():
            rig = SimRig(tmp, paced=True, acceptor=protocol)
            await rig.start()
        sim: Any = rig.acceptor_sim
        last_byte = _last_byte_clock(sim._pty if protocol == "ccnet" else sim._port)
        sim.on_report_sent = lambda _kind, _returned: sent.append(last_byte())
        if protocol == "ccnet":
            sim.on_report_acked = lambda _kind, t: acked.append(t)
            run.physical_s = 3 * (sim.accept_time + sim.stack_time)
        rig.central.store.add_bills(bench_bills(payments, NOTE_PLANS))
        core: Core | None = None
        try:
            core = Core(load_config(overrides=rig.overrides()))
            setup_logging(None, "WARNING")
            _durable_credits(core.journal, durable)
            url = await core.start()
            async with SessionClient(url) as citizen:
                for i in range(payments):
                    notes = NOTE_PLANS[i % len(NOTE_PLANS)]
                    run.payment_s.append(await pay(citizen, rig, f"8{i:09d}", notes))
                    citizen.states.clear()
            run.intruders = foreign_holders(rig_paths(rig), {os.getpid()})
        finally:
            if core is not None:
                await core.stop()
            await rig.stop()
    if not len(sent) == len(durable) == sum(len(NOTE_PLANS[i % len(NOTE_PLANS)])
                                           for i in range(payments)):
        raise RuntimeError(f"{protocol}: {len(sent)} reports, {len(durable)} credits")
    run.credit_ms = [(d - s) * 1000 for s, d in zip(sent, durable, strict=True)]
    if acked:
        run.ack_ms = [(a - s) * 1000 for s, a in zip(sent, acked, strict=True)]
    return run


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile: with 102 samples p99 is the 101st, a measured note."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def _report(protocol: str, run: Run, emit: Callable[[str], None]) -> None:
    if run.intruders:
        print(f"# {protocol}: another process had our ptys open: {run.intruders[:3]}",
              file=sys.stderr)
    emit(f"acceptor.{protocol}.credit_latency_p50_ms: {percentile(run.credit_ms, 50):.1f} ms")
    emit(f"acceptor.{protocol}.credit_latency_p99_ms: {percentile(run.credit_ms, 99):.1f} ms")
    if run.ack_ms:
        emit(f"acceptor.{protocol}.report_to_ack_p50_ms: {percentile(run.ack_ms, 50):.1f} ms")
        emit(f"acceptor.{protocol}.report_to_ack_p99_ms: {percentile(run.ack_ms, 99):.1f} ms")
    emit(f"acceptor.{protocol}.credit_samples: {len(run.credit_ms)} count")


def main() -> None:
    ccnet = asyncio.run(_run("ccnet", PAYMENTS))
    _report("ccnet", ccnet, print)
    essp = asyncio.run(_run("essp", PAYMENTS))
    _report("essp", essp, print)
    wall = statistics.median(ccnet.payment_s)
    overhead = (wall - ccnet.physical_s) / ccnet.physical_s * 100
    print(f"payment.overhead_pct: {overhead:.0f} %")
    print(f"payment.three_notes_end_to_end_s: {wall:.2f} s")
    print(f"payment.essp_three_notes_end_to_end_s: {statistics.median(essp.payment_s):.2f} s")
    filled = asyncio.run(_run("ccnet", PREFILL_PAYMENTS, prefill=PREFILL_SESSIONS))
    if filled.intruders:
        print(f"# ccnet 100k: another process had our ptys open: {filled.intruders[:3]}",
              file=sys.stderr)
    empty_p99 = percentile(ccnet.credit_ms, 99)
    full_p99 = percentile(filled.credit_ms, 99)
    print(f"payment.credit_p99_ms.empty: {empty_p99:.1f} ms ({len(ccnet.credit_ms)} credits)")
    print(f"payment.credit_p99_ms.100k_rows: {full_p99:.1f} ms"
          f" ({len(filled.credit_ms)} credits)")
    print(f"payment.credit_p50_ms.100k_rows: {percentile(filled.credit_ms, 50):.1f} ms")
    change = (full_p99 - empty_p99) / empty_p99 * 100
    print(f"payment.credit_p99_100k_vs_empty_pct: {change:+.0f} %")
    print(f"payment.three_notes_end_to_end_s.100k_rows:"
          f" {statistics.median(filled.payment_s):.2f} s")
