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

import pytest
from kill_helpers import assert_no_rupee_lost, kill_runs


@pytest.mark.timeout(0)  # each run is bounded by RUN_TIMEOUT_S; soak runs take long in total
@pytest.mark.parametrize("protocol", ["ccnet", "essp"])
async def test_power_cut_at_a_random_moment_of_a_cash_payment_loses_no_rupee(
        tmp_path, capsys, protocol, runs_per_variant):
    outcomes = await kill_runs(tmp_path, capsys, protocol, runs_per_variant, protocol=protocol)
    assert len(outcomes) == runs_per_variant
    assert_no_rupee_lost(protocol, outcomes)
