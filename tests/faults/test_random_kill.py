"""Power cut at a random moment of a cash payment, on each acceptor protocol.

tests/test_crash.py kills the core right after each kind of journal step; a real power cut does not
wait for one. Here the ₹640 bill is paid with ₹500 + ₹200 through a child core (as in production),
first once without a kill to measure how long the payment takes, then again and again with the
core SIGKILLed at a moment drawn uniformly over that duration (escrow, stacking, a stacked report
not yet acknowledged, posting, printing...). The acceptor simulator and central live on across the
kill; the core is started again and recovers. Then, per run:

- every note in the cassette (the simulator's `stacked`) is credited in the journal exactly once,
  and nothing is credited that is not in the cassette;
- every credited paise is at central, paid to the bill or as a voucher, once recovery is done;
- central holds at most one payment for the bill.

The kill moments come from a seeded random.Random; the seed is printed, and EMITRA_KILL_SEED=<seed>
replays it (run i uses seed + i). `--runs N` (or EMITRA_KILL_RUNS) sets the total over the three
variants (ccnet, essp, card: tests/faults/test_random_kill_card.py).
"""

from __future__ import annotations

import asyncio
import shutil

import pytest
from kill_helpers import Outcome, base_seed, kill_fraction, run_payment, summary

RUN_TIMEOUT_S = 120  # one payment, kill, restart and recovery; a hang is a failure, not a stall


async def kill_runs(tmp_path, capsys, variant: str, runs: int, **kwargs) -> list[Outcome]:
    """The measured un-killed payment, then `runs` killed ones. Returns the killed runs."""
    seed = base_seed()
    with capsys.disabled():
        print(f"\nrandom-kill {variant}: seed {seed} (replay: EMITRA_KILL_SEED={seed})",
              flush=True)
    baseline = await asyncio.wait_for(
        run_payment(tmp_path / "baseline", variant, **kwargs), RUN_TIMEOUT_S)
    assert not baseline.failures(), (baseline.describe(), baseline.failures())
    assert baseline.duration and baseline.duration > 0
    with capsys.disabled():
        print(f"random-kill {variant}: un-killed payment takes {baseline.duration:.2f} s",
              flush=True)
    outcomes: list[Outcome] = []
    for i in range(runs):
        run_seed = seed + i
        kill_at = kill_fraction(run_seed) * baseline.duration
        workdir = tmp_path / f"run-{i:03d}"
        try:
            outcome = await asyncio.wait_for(
                run_payment(workdir, variant, kill_at=kill_at, seed=run_seed, **kwargs),
                RUN_TIMEOUT_S)
        except (AssertionError, TimeoutError) as exc:  # recovery never finished: a failure
            outcome = Outcome(variant, run_seed, kill_at, workdir=str(workdir))
            outcome.problems = [f"run did not complete: {exc!r}"]
        outcomes.append(outcome)
        failures = outcome.failures()
        if failures:
            with capsys.disabled():
                print(f"FAIL {outcome.describe()}: {failures}", flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    with capsys.disabled():
        print(summary(variant, outcomes), flush=True)
    return outcomes


def assert_no_rupee_lost(variant: str, outcomes: list[Outcome]) -> None:
    failing = [o for o in outcomes if o.failures()]
    report = "\n".join(f"{o.describe()}\n    {o.failures()}" for o in failing)
    assert not failing, (
        f"{summary(variant, outcomes)}\n{report}\n"
        f"replay one run: EMITRA_KILL_SEED=<seed> pytest {__file__} --runs 3")


@pytest.mark.timeout(0)  # each run is bounded by RUN_TIMEOUT_S; soak runs take long in total
@pytest.mark.parametrize("protocol", ["ccnet", "essp"])
async def test_power_cut_at_a_random_moment_of_a_cash_payment_loses_no_rupee(
        tmp_path, capsys, protocol, runs_per_variant):
    outcomes = await kill_runs(tmp_path, capsys, protocol, runs_per_variant, protocol=protocol)
    assert len(outcomes) == runs_per_variant
    assert_no_rupee_lost(protocol, outcomes)
