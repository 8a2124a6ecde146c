"""Random-moment power cuts: one payment in a child core, SIGKILLed at a chosen moment, restarted,
recovered, then the three sides compared — the acceptor's cassette (what the simulator stacked),
the journal (terminal.invariant.check_journal) and central (payments and vouchers it holds).

Only the core dies, as when the PC loses power: the simulators and central live on in this process,
and the acceptor keeps the note where it was (the simulator keeps its end of the pty open, so the
host going away changes nothing on the device's side).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crash_helpers import settled_journal

from sim.central import voucher_routes
from sim.demo import start_core  # the core dies with the test process (PDEATHSIG)
from sim.rig import SimRig
from sim.session_client import SessionClient
from terminal.invariant import check_journal
from terminal.journal import Journal

# The ₹640 BSNL bill paid with ₹500 + ₹200, as in tests/test_crash.py: BSNL takes no advance
# payment, so the ₹60 over becomes a voucher (the path with the most money steps to cut).
# EMITRA_KILL_BILL=JVVNL:210412345678 runs the same on electricity: the ₹60 is an advance credit.
CASH_PROVIDER, CASH_CONSUMER = os.environ.get("EMITRA_KILL_BILL", "BSNL:0141640640").split(":")
CASH_NOTES = (500, 200)

# A CashCode's own pace (s): transport + validation, and the stacker's stroke. The simulator's
# defaults (0.3 s) are on the fast side; a real unit takes about half a second to a second.
CCNET_PACE = {"accept_time": 0.6, "stack_time": 0.6, "return_time": 0.6}
# How long a note may sit in escrow before the device gives it back (a CashCode: 10 s).
ESCROW_TIMEOUT_S = 10.0

# After recovery has settled, how long the restarted core is watched for late events.
SETTLE_GRACE_S = 1.0

# States in which a note is on its way through the acceptor (the path is not empty).
_MOVING = {
    "ccnet": {"accepting", "escrow", "holding", "stacking", "returning", "rejecting",
              "bill_stacked", "bill_returned", "initialize", "power_up",
              "power_up_bill_in_validator", "power_up_bill_in_stacker"},
    "essp": {"reading", "escrow", "stacking", "rejecting", "power_off"},
}


def foreign_holders(paths: set[str], mine: set[int]) -> list[str]:
    """Processes other than ours with one of `paths` open: on a shared test machine, a core
    orphaned by someone else's interrupted test run whose watchdog reopens its old /dev/pts/N,
    now one of our simulators. It reads our device's replies (pyserial: "multiple access on
    port"), which says nothing about the kiosk under test."""
    found = []
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit() or int(pid_dir.name) in mine:
            continue
        try:
            ppid = int((pid_dir / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid in mine:  # a core of ours, between its start and our noting its pid
                continue
            for fd in (pid_dir / "fd").iterdir():
                try:
                    target = os.readlink(fd)
                except OSError:
                    continue
                if target in paths:
                    cmd = (pid_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                    found.append(f"pid {pid_dir.name} ({cmd.strip()[:160]}) holds {target}")
        except OSError:
            continue
    return found


async def watch_for_intruders(rig: SimRig, procs: list, out: list[str]) -> None:
    paths = {rig.acceptor_sim.path, rig.printer_sim.path, rig.scanner_sim.path}
    while True:
        mine = {os.getpid()} | {p.pid for p in procs if p is not None}
        for line in foreign_holders(paths, mine):
            if line not in out:
                out.append(line)
        await asyncio.sleep(0.5)


# What our own core logs when another process reads our simulator's pty (pyserial: "device
# reports readiness to read but returned no data (device disconnected or multiple access on
# port?)"). Our simulators never close or hang up during a run, so this is never the kiosk.
_FOREIGN_READER_SIGNS = ("end of file (device unplugged?)", "multiple access on port")


def interference_in_log(workdir: Path) -> list[str]:
    path = workdir / "log" / "core.log"
    if not path.exists():
        return []
    return [f"core.log: {line[:200]}" for line in path.read_text(errors="replace").splitlines()
            if any(sign in line for sign in _FOREIGN_READER_SIGNS)][:3]


class PtyReserve:
    """Keep our simulators' pty numbers out of reach of stale processes. On a shared machine,
    cores orphaned by other test runs keep reopening the /dev/pts/N of their long-gone
    simulators, and the kernel gives the lowest free number to the next pty: ours. While active,
    `top_up()` (called before each rig starts) holds every free number below `floor`, so our
    simulators get numbers above it that no other run's config names."""

    active: PtyReserve | None = None

    def __init__(self, floor: int = 256, limit: int = 1024) -> None:
        self.floor, self.limit = floor, limit
        self.fds: list[int] = []

    def top_up(self) -> None:
        while len(self.fds) < 2 * self.limit:
            try:
                master, slave = os.openpty()
            except OSError:
                return
            number = int(os.ttyname(slave).rsplit("/", 1)[1])
            if number >= self.floor:  # give this one back: the next pty (ours) gets it
                os.close(master)
                os.close(slave)
                return
            self.fds += (master, slave)

    def __enter__(self) -> PtyReserve:
        PtyReserve.active = self
        self.top_up()
        return self

    def __exit__(self, *exc: object) -> None:
        PtyReserve.active = None
        for fd in self.fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.fds.clear()


class Interfered(Exception):
    """Another process used our simulator's pty during the run: the run says nothing."""


def base_seed() -> int:
    """EMITRA_KILL_SEED replays a run; otherwise a fresh seed (printed by the tests)."""
    env = os.environ.get("EMITRA_KILL_SEED")
    return int(env) if env else random.SystemRandom().randrange(1, 10**9)


def kill_fraction(seed: int) -> float:
    """Where in the payment a run's kill lands, as a fraction of its measured duration."""
    return random.Random(seed).random()


@dataclass
class Outcome:
    """One run: what each side holds once recovery has finished."""

    variant: str
    seed: int | None
    kill_at: float | None  # seconds after the citizen's first intent; None = not killed
    killed: bool | None = None  # the core was still running when the kill came (None: unknown)
    duration: float | None = None  # first intent -> DONE (un-killed runs)
    cassette: list[int] = field(default_factory=list)  # rupees, notes in the cassette
    returned: list[int] = field(default_factory=list)  # rupees, notes given back
    credits: list[int] = field(default_factory=list)  # paise, one per journal credit
    card_paise: int = 0  # journaled card authorisations
    card_approved_central: int = 0  # paise central approved on the card
    totals: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # check_journal's own findings
    unattributed: int = 0  # paise flagged for the engineer, credited to no one
    central_payments: list[int] = field(default_factory=list)  # paise
    central_vouchers: list[int] = field(default_factory=list)  # paise
    central_advances: list[int] = field(default_factory=list)  # paise, credited to accounts
    journal_phase: str = ""  # last journal event before the kill
    workdir: str = ""
    intruders: list[str] = field(default_factory=list)  # other processes on our ptys

    @property
    def taken(self) -> int:
        """Paise the citizen handed over: notes in the cassette, or a card approval."""
        return sum(self.cassette) * 100 + self.card_approved_central

    @property
    def at_central(self) -> int:
        return sum(self.central_payments) + sum(self.central_vouchers) + sum(self.central_advances)

    @property
    def lost(self) -> int:
        """Paise taken from the citizen that central neither paid to the bill nor vouchered."""
        return max(0, self.taken - self.at_central)

    @property
    def excess(self) -> int:
        """Paise central holds (paid or vouchered) beyond what the citizen handed over."""
        return max(0, self.at_central - self.taken)

    @property
    def double_posts(self) -> int:
        extra = max(0, len(self.central_payments) - 1)
        return extra + sum("posted" in p and "times" in p for p in self.problems)

    def failures(self) -> list[str]:
        out: list[str] = []
        cash_cassette = sorted(v * 100 for v in self.cassette)
        if sorted(self.credits) != cash_cassette:
            out.append(f"cassette {sorted(self.cassette)} (rupees) but journal credits "
                       f"{sorted(self.credits)} (paise)")
        if self.card_paise != self.card_approved_central:
            out.append(f"card approved at central {self.card_approved_central} but journaled "
                       f"{self.card_paise}")
        if self.problems:
            out.append(f"journal: {self.problems}")
        if self.kill_at is not None and self.killed is False:
            out.append("the core had died on its own before the kill")
        t = self.totals
        credited = t.get("credited", 0)
        if t.get("unsettled") or t.get("pending") or t.get("refused"):
            out.append(f"journal not settled after recovery: {t}")
        if t.get("posted", 0) != sum(self.central_payments):
            out.append(f"journal posted {t.get('posted')} but central holds payments "
                       f"{self.central_payments}")
        if t.get("voucher", 0) != sum(self.central_vouchers):
            out.append(f"journal vouchered {t.get('voucher')} but central holds vouchers "
                       f"{self.central_vouchers}")
        if t.get("advance", 0) != sum(self.central_advances):
            out.append(f"journal credited advance {t.get('advance')} but central holds "
                       f"{self.central_advances}")
        if credited != self.at_central:
            out.append(f"credited {credited} but central holds {self.at_central}")
        if self.lost:
            out.append(f"{self.lost} paise lost (taken {self.taken}, at central "
                       f"{self.at_central}, flagged {self.unattributed})")
        if self.excess:
            out.append(f"{self.excess} paise paid out without cash (taken {self.taken}, at "
                       f"central {self.at_central})")
        if self.double_posts:
            out.append(f"{self.double_posts} double post(s): {self.central_payments}")
        if self.intruders:
            out.append(f"not a valid run: another process used our simulator's pty "
                       f"{self.intruders[:2]}")
        return out

    def describe(self) -> str:
        when = "not killed" if self.kill_at is None else f"kill at {self.kill_at:.3f} s"
        return (f"{self.variant} seed={self.seed} {when} (after journal: "
                f"{self.journal_phase or '-'}) cassette={self.cassette} "
                f"returned={self.returned} credits={self.credits} card={self.card_paise} "
                f"central payments={self.central_payments} vouchers={self.central_vouchers} "
                f"advances={self.central_advances} "
                f"log={self.workdir}/log/core.log")


async def stop_core(proc: asyncio.subprocess.Process | None) -> None:
    if proc is None or proc.returncode is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), 10)
    except TimeoutError:
        proc.kill()
        await proc.wait()


def last_journal_kind(path: Path) -> str:
    if not path.exists():
        return ""
    journal = Journal(path)
    try:
        kinds = [f"{e.kind}" for e in journal.events() if e.session_id != "-"]
    finally:
        journal.close()
    return kinds[-1] if kinds else ""


async def acceptor_quiet(rig: SimRig, timeout: float) -> None:
    """Wait until no note is moving through the acceptor (stacked, returned, or never taken)."""
    moving = _MOVING[rig.acceptor_protocol]
    deadline = time.monotonic() + timeout
    while rig.acceptor_sim.state_name in moving:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"acceptor still {rig.acceptor_sim.state_name} {timeout:.0f} s after restart")
        await asyncio.sleep(0.1)


async def pay_cash(url: str, rig: SimRig, started: asyncio.Event, marks: dict) -> None:
    """The citizen paying ₹640 with ₹500 + ₹200; stops when the core dies under it."""
    async with SessionClient(url) as citizen:
        marks["t0"] = time.monotonic()
        started.set()
        await citizen.send("start", provider=CASH_PROVIDER)
        await citizen.send("consumer", number=CASH_CONSUMER)
        await citizen.wait_screen("BILL")
        await citizen.send("confirm")
        await citizen.wait_screen("PAYING")
        rig.acceptor_sim.insert_note(CASH_NOTES[0])
        await citizen.wait_for(lambda s: s["session"]["paid_paise"] == 50000, 15)
        rig.acceptor_sim.insert_note(CASH_NOTES[1])
        await citizen.wait_screen("DONE", timeout=30)
        marks["done"] = time.monotonic()


Citizen = Callable[[str, SimRig, asyncio.Event, dict], Awaitable[None]]


def make_rig(workdir: Path, protocol: str) -> SimRig:
    if PtyReserve.active is not None:
        PtyReserve.active.top_up()
    rig = SimRig(workdir, paced=True, acceptor=protocol)
    rig.acceptor_sim.escrow_timeout = ESCROW_TIMEOUT_S
    if protocol == "ccnet":
        for name, value in CCNET_PACE.items():
            setattr(rig.acceptor_sim, name, value)
    return rig


async def run_payment(
    workdir: Path,
    variant: str,
    *,
    protocol: str = "ccnet",
    kill_at: float | None = None,
    seed: int | None = None,
    citizen: Citizen = pay_cash,
    site_sections: dict[str, dict[str, Any]] | None = None,
) -> Outcome:
    """One payment; with `kill_at`, SIGKILL the core that many seconds after the citizen's first
    intent, start it again and let it recover. Returns what the three sides hold."""
    workdir.mkdir(parents=True, exist_ok=True)
    rig = make_rig(workdir, protocol)
    await rig.start()
    site = rig.write_config(workdir / "site.toml", **(site_sections or {}))
    journal_path = workdir / "journal.sqlite"
    out = Outcome(variant, seed, kill_at, workdir=str(workdir))
    proc = restarted = None
    procs: list = []
    watcher = asyncio.create_task(watch_for_intruders(rig, procs, out.intruders))
    try:
        proc, url = await start_core(site, workdir)
        procs.append(proc)
        started, marks = asyncio.Event(), {}
        paying = asyncio.create_task(citizen(url, rig, started, marks))
        if kill_at is None:
            await asyncio.wait_for(paying, 60)
            out.duration = marks["done"] - marks["t0"]
        else:
            waiting = asyncio.create_task(started.wait())
            await asyncio.wait({paying, waiting}, return_when=asyncio.FIRST_COMPLETED,
                               timeout=30)
            waiting.cancel()
            if paying.done():
                paying.result()  # the citizen failed before the first intent: raise it
            await asyncio.sleep(max(0.0, marks["t0"] + kill_at - time.monotonic()))
            out.killed = proc.returncode is None
            proc.kill()  # the power cut: SIGKILL, nothing flushed, nothing closed
            await proc.wait()
            paying.cancel()
            await asyncio.gather(paying, return_exceptions=True)
            out.journal_phase = last_journal_kind(journal_path)
            restarted, _ = await start_core(site, workdir)
            procs.append(restarted)
            await acceptor_quiet(rig, ESCROW_TIMEOUT_S + 5)
        report = await settled_journal(journal_path, timeout=30)
        if kill_at is not None:
            # A late event (a reconnect replaying the device's report) must be seen too: give
            # the restarted core a watchdog pass and settle again.
            await asyncio.sleep(SETTLE_GRACE_S)
            await acceptor_quiet(rig, ESCROW_TIMEOUT_S + 5)
            report = await settled_journal(journal_path, timeout=30)
        await _central_caught_up(rig, report)
        _collect(out, rig, journal_path)
        out.intruders += interference_in_log(workdir)
    except (AssertionError, TimeoutError, OSError, RuntimeError) as exc:
        out.intruders += interference_in_log(workdir)
        if out.intruders:
            raise Interfered(out.intruders) from exc
        raise
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        await stop_core(proc)
        await stop_core(restarted)
        await rig.stop()
    return out


async def _central_caught_up(rig: SimRig, report: dict, timeout: float = 5.0) -> None:
    """Central receives the voucher a moment after the journal says it was posted."""
    want = report["totals"]["posted"] + report["totals"]["voucher"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        held = sum(p["amount_paise"] for p in rig.central.payments())
        held += sum(v["amount_paise"] for v in rig.central.vouchers())
        if held >= want:
            return
        await asyncio.sleep(0.1)


def _collect(out: Outcome, rig: SimRig, journal_path: Path) -> None:
    out.cassette = list(rig.acceptor_sim.stacked)
    out.returned = list(rig.acceptor_sim.returned)
    journal = Journal(journal_path)
    try:
        report = check_journal(journal)
        out.credits = [e.data["paise"] for e in journal.events(kinds=("credit",))]
        out.card_paise = sum(e.data["amount_paise"]
                             for e in journal.events(kinds=("card_authorised",)))
        out.unattributed = sum(e.data.get("paise") or 0
                               for e in journal.events(kinds=("unattributed_note",)))
    finally:
        journal.close()
    out.totals = report["totals"]
    out.problems = report["problems"]
    out.central_payments = [p["amount_paise"] for p in rig.central.payments()]
    out.central_vouchers = [v["amount_paise"] for v in rig.central.vouchers()]
    out.central_advances = [a["advance_paise"]
                            for a in voucher_routes.advances(rig.central.store)]
    out.card_approved_central = sum(
        a["amount_paise"] for a in rig.central.card_authorisations()
        if a["status"] == "approved")


def summary(variant: str, outcomes: list[Outcome]) -> str:
    """The line a soak run is read by."""
    valid = [o for o in outcomes if not o.intruders]
    lost = sum(o.lost for o in valid)
    excess = sum(o.excess for o in valid)
    doubles = sum(o.double_posts for o in valid)
    failing = [o for o in valid if o.failures()]
    seeds = ",".join(str(o.seed) for o in failing) or "-"
    return (f"random-kill {variant}: runs {len(valid)}, paise lost {lost}, "
            f"double posts {doubles}, paise paid without cash {excess}, "
            f"failing runs {len(failing)}, failing seeds {seeds}, "
            f"runs disturbed by other processes {len(outcomes) - len(valid)}")


RUN_TIMEOUT_S = 120  # one payment, kill, restart and recovery; a hang is a failure, not a stall


async def _one_run(workdir: Path, variant: str, after_each, attempts: int = 3,
                   **kwargs) -> Outcome:
    """A run, repeated (same kill moment) when another process got onto our ptys."""
    for attempt in range(1, attempts + 1):
        if workdir.exists():
            shutil.rmtree(workdir, ignore_errors=True)
        try:
            outcome = await asyncio.wait_for(run_payment(workdir, variant, **kwargs),
                                             RUN_TIMEOUT_S)
        except Interfered as exc:
            outcome = Outcome(variant, kwargs.get("seed"), kwargs.get("kill_at"),
                              workdir=str(workdir), intruders=list(exc.args[0]))
            outcome.problems = [f"run did not complete: {exc.__cause__!r}"]
        except (AssertionError, TimeoutError) as exc:  # recovery never finished: a failure
            outcome = Outcome(variant, kwargs.get("seed"), kwargs.get("kill_at"),
                              workdir=str(workdir))
            outcome.problems = [f"run did not complete: {exc!r}"]
        finally:
            if after_each is not None:
                after_each()
        if not outcome.intruders or attempt == attempts:
            return outcome
        print(f"\nrandom-kill {variant}: run seed={outcome.seed} disturbed by another process "
              f"({outcome.intruders[0]}): repeated", file=sys.__stderr__, flush=True)
    raise AssertionError("unreachable")


async def kill_runs(tmp_path, capsys, variant: str, runs: int,
                    after_each: Callable[[], Any] | None = None, **kwargs) -> list[Outcome]:
    """The measured un-killed payment, then `runs` killed ones (each `RUN_TIMEOUT_S` at most),
    with `after_each()` called after every one. Returns the killed runs."""
    with PtyReserve():
        return await _kill_runs(tmp_path, capsys, variant, runs, after_each, **kwargs)


async def _kill_runs(tmp_path, capsys, variant, runs, after_each, **kwargs) -> list[Outcome]:
    seed = base_seed()
    with capsys.disabled():
        print(f"\nrandom-kill {variant}: seed {seed} (replay: EMITRA_KILL_SEED={seed})",
              flush=True)
    baseline = await _one_run(tmp_path / "baseline", variant, after_each, **kwargs)
    assert not baseline.failures(), (baseline.describe(), baseline.failures(),
                                     baseline.intruders)
    assert baseline.duration and baseline.duration > 0
    with capsys.disabled():
        print(f"random-kill {variant}: un-killed payment takes {baseline.duration:.2f} s",
              flush=True)
    outcomes: list[Outcome] = []
    for i in range(runs):
        run_seed = seed + i
        kill_at = kill_fraction(run_seed) * baseline.duration
        workdir = tmp_path / f"run-{i:03d}"
        outcome = await _one_run(workdir, variant, after_each, kill_at=kill_at, seed=run_seed,
                                 **kwargs)
        outcomes.append(outcome)
        failures = outcome.failures()
        if failures:
            with capsys.disabled():
                print(f"FAIL {outcome.describe()}: {failures}"
                      + (f" INTRUDERS: {outcome.intruders}" if outcome.intruders else ""),
                      flush=True)
        elif not os.environ.get("EMITRA_KILL_KEEP"):  # keep passing runs' logs too
            shutil.rmtree(workdir, ignore_errors=True)
    with capsys.disabled():
        print(summary(variant, outcomes), flush=True)
    return outcomes


def assert_no_rupee_lost(variant: str, outcomes: list[Outcome]) -> None:
    failing = [o for o in outcomes if o.failures()]
    report = "\n".join(f"{o.describe()}\n    {o.failures()}" for o in failing)
    assert not failing, (
        f"{summary(variant, outcomes)}\n{report}\n"
        f"replay one run: EMITRA_KILL_SEED=<seed> pytest tests/faults/ --runs 3")
