"""Many headless payments through a core running as its own process, as in production.

Why: a leak or a timer that keeps running shows only after thousands of payments. The core's
resident memory after the run is compared with after the first 100 payments (the first ones
fill caches and the allocator's pools), and the core's CPU is sampled over 30 s of idle after
the run. The UI is not started here: `soak.idle_cpu_pct` is the core alone.

Simulators are unpaced and the CCNET note mechanics shortened to 10 ms (only the host's work is
of interest); the core keeps its configured poll interval, so idle CPU is production's.
EMITRA_SOAK_PAYMENTS runs fewer than the issue's 10,000 (about 0.3-0.5 s each).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.payment import bench_bills, foreign_holders, pay, reserved_ptys, rig_paths
from sim.demo import start_core, stop_core
from sim.rig import SimRig
from sim.session_client import SessionClient

PAYMENTS = int(os.environ.get("EMITRA_SOAK_PAYMENTS", "10000"))
BASELINE_AFTER = 100  # payments before the RSS baseline
IDLE_S = float(os.environ.get("EMITRA_SOAK_IDLE_S", "30"))
NOTE_PLANS: list[tuple[int, ...]] = [(100,), (200, 50), (500,), (50, 20, 10)]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_s(pid: int) -> float:
    """utime + stime of the process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _forget(rig: SimRig, citizen: SessionClient) -> None:
    """Drop what the bench side keeps per payment (states seen, printed bytes, receipt PNGs):
    10,000 payments' worth would grow this process, not the core under test."""
    citizen.states.clear()
    printer = rig.printer_sim
    printer.raw.clear()
    for kept in (printer.texts, printer.qr_payloads, printer.barcodes):
        kept.clear()
    for path in printer.receipts:
        path.unlink(missing_ok=True)
    printer.receipts.clear()
    rig.acceptor_sim.stacked.clear()


async def _run(payments: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        with reserved_ptys():
            rig = SimRig(workdir)
            await rig.start()
        sim = rig.acceptor_sim
        sim.accept_time = sim.stack_time = 0.01
        rig.central.store.add_bills(bench_bills(payments, NOTE_PLANS, prefix="7"))
        site = rig.write_config(workdir / "site.toml")
        proc: asyncio.subprocess.Process | None = None
        try:
            proc, url = await start_core(site, workdir)  # sim.demo: dies with the bench
            baseline = 0
            async with SessionClient(url) as citizen:
                start = time.perf_counter()
                for i in range(payments):
                    await pay(citizen, rig, f"7{i:09d}", NOTE_PLANS[i % len(NOTE_PLANS)])
                    _forget(rig, citizen)
                    if i + 1 == min(BASELINE_AFTER, payments):
                        baseline = rss_kib(proc.pid)
                elapsed = time.perf_counter() - start
            after = rss_kib(proc.pid)
            intruders = foreign_holders(rig_paths(rig), {os.getpid(), proc.pid})
            cpu0, t0 = cpu_s(proc.pid), time.monotonic()
            await asyncio.sleep(IDLE_S)
            idle = (cpu_s(proc.pid) - cpu0) / (time.monotonic() - t0) * 100
        finally:
            await stop_core(proc)
            await rig.stop()
    if intruders:
        print(f"# soak: another process had our ptys open: {intruders[:3]}", file=sys.stderr)
    return {
        "payments": payments,
        "rss_growth_pct": (after - baseline) / baseline * 100,
        "rss_after_mib": after / 1024,
        "idle_cpu_pct": idle,
        "payments_per_s": payments / elapsed,
    }


def main() -> None:
    figures = asyncio.run(_run(PAYMENTS))
    print(f"soak.payments: {figures['payments']} count")
    print(f"soak.rss_growth_pct: {figures['rss_growth_pct']:.1f} %")
    print(f"soak.rss_after_mib: {figures['rss_after_mib']:.1f} MiB")
    print(f"soak.idle_cpu_pct: {figures['idle_cpu_pct']:.2f} %")
    print(f"soak.payments_per_s: {figures['payments_per_s']:.2f} count/s")
