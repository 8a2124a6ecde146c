"""The existing end-to-end cash payment flows (tests/test_flow.py) and the power cuts around
posting (tests/test_crash.py), unchanged, with the core configured for the e-Mitra back-to-back
dialect: the same citizen steps, receipts and vouchers, the payment booked through /b2b/ into the
same central store the assertions read."""

from __future__ import annotations

import pytest
import test_crash
import test_flow
from harness import KioskHarness
from test_dialect_support import use_b2b_in_rigs

from terminal.central.emitra_b2b import EmitraB2BDialect

CASH_FLOWS = [
    ("test_pay_with_overshoot_voucher_and_rejected_note", {}),
    ("test_exact_payment_prints_one_receipt_and_no_voucher", {}),
    ("test_cancel_after_cash_completes_as_voucher", {}),
    ("test_central_failing_at_posting_gives_provisional_receipt_then_posts_once",
     {"failure": "http500"}),
    ("test_central_failing_at_posting_gives_provisional_receipt_then_posts_once",
     {"failure": "garbage"}),
    ("test_central_unreachable_at_posting_then_back", {}),
]


@pytest.fixture(autouse=True)
def b2b_dialect(monkeypatch):
    use_b2b_in_rigs(monkeypatch)


async def test_the_harness_core_speaks_b2b(tmp_path):
    async with KioskHarness(tmp_path) as h:
        assert isinstance(h.core.central, EmitraB2BDialect)
        assert h.config["central"]["dialect"] == "emitra_b2b"


@pytest.mark.parametrize(("name", "kwargs"), CASH_FLOWS,
                         ids=[f"{n}-{k.get('failure', '')}".rstrip("-") for n, k in CASH_FLOWS])
async def test_cash_flow_in_b2b(tmp_path, name, kwargs):
    await getattr(test_flow, name)(tmp_path, **kwargs)


# The kill points around the payment's posting (the others do not touch central's dialect).
CRASH_POINTS = [p for p in test_crash.CRASH_POINTS
                if p[0] in ("credit:2", "settled:1", "posted:1", "session_closed:1")]


@pytest.mark.parametrize(("crash_at", "credited", "paid", "voucher"), CRASH_POINTS)
async def test_power_cut_around_posting_in_b2b(tmp_path, crash_at, credited, paid, voucher):
    await test_crash.test_power_cut_after_each_journal_step_loses_nothing(
        tmp_path, crash_at, credited, paid, voucher)
    assert 'dialect = "emitra_b2b"' in (tmp_path / "site.toml").read_text()
