"""Power cut at a random moment of a cash payment (tests/faults/test_random_kill.py), with the
core speaking the e-Mitra back-to-back dialect: the payment is booked through /b2b/ and a lost
answer is resolved by verify, and central's store is counted in paise as for the reference
dialect — every credited paise paid to the bill or vouchered, at most one payment, none twice.
`--runs N` / EMITRA_KILL_RUNS count this variant like each of the others."""

from __future__ import annotations

import pytest
from kill_helpers import assert_no_rupee_lost, kill_runs
from test_dialect_support import b2b_central


@pytest.mark.timeout(0)  # each run is bounded by kill_helpers.RUN_TIMEOUT_S
async def test_power_cut_at_a_random_moment_of_a_b2b_cash_payment_loses_no_rupee(
        tmp_path, capsys, runs_per_variant):
    central = b2b_central(tmp_path / "secrets")
    outcomes = await kill_runs(tmp_path, capsys, "ccnet-emitra_b2b", runs_per_variant,
                               protocol="ccnet", site_sections={"central": central})
    assert len(outcomes) == runs_per_variant
    assert_no_rupee_lost("ccnet-emitra_b2b", outcomes)
    assert all(o.central_payments in ([], [64000]) for o in outcomes)
