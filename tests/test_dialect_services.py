"""The citizen services' end-to-end flows (tests/test_status.py, test_certificate.py,
test_grievance.py, test_application.py, test_scheme_info.py), unchanged, with the core
configured for the e-Mitra back-to-back dialect. The fees of a grievance and an application
are money: they are booked through /b2b/payment into the same central store the flows'
assertions read. Status and certificate lookups and the scheme pages are not e-Mitra B2B calls;
they travel in the reference dialect (docs/central-api-emitra-b2b.md), and these runs show they
still work beside it."""

from __future__ import annotations

import inspect

import pytest
import test_application
import test_certificate
import test_grievance
import test_scheme_info
import test_status
from harness import KioskHarness
from test_dialect_support import use_b2b_in_rigs

from terminal.central.emitra_b2b import EmitraB2BDialect

# (module, flow, whether it pays a fee: then the fee must go through /b2b/payment)
FLOWS = [
    (test_status, "test_status_by_number_and_printed_slip_with_its_qr", False),
    (test_status, "test_central_down_or_garbled_is_central_unavailable", False),
    (test_certificate, "test_verify_by_number_print_the_summary_and_its_qr_verifies_again", False),
    (test_certificate, "test_a_forged_certificate_qr_is_not_genuine", False),
    (test_grievance, "test_grievance_with_photo_fee_in_cash_and_number_printed", True),
    (test_grievance, "test_central_down_then_retry_registers_once_and_cancel_takes_nothing", False),
    (test_application, "test_apply_pay_the_fee_and_the_slip_leads_to_the_status", True),
    (test_application, "test_a_lost_answer_then_retry_submits_once", False),
    (test_scheme_info,
     "test_pages_come_from_central_are_cached_and_read_offline_after_a_restart", False),
]


@pytest.fixture(autouse=True)
def b2b_dialect(monkeypatch):
    use_b2b_in_rigs(monkeypatch)


@pytest.mark.parametrize(("module", "name", "pays"), FLOWS, ids=[n for _, n, _ in FLOWS])
async def test_service_flow_in_b2b(tmp_path, monkeypatch, caplog, module, name, pays):
    """The flow passes as written; its cores spoke B2B, and a fee was posted through it."""
    cores: list[object] = []
    b2b_posts: list[str] = []
    start_core, post_payment = KioskHarness.start_core, EmitraB2BDialect.post_payment

    async def start_and_note(self: KioskHarness) -> None:
        await start_core(self)
        cores.append(self.core.central)

    async def post_and_note(self: EmitraB2BDialect, intent, *args, **kwargs):
        b2b_posts.append(str(intent.get("txn_id")))
        return await post_payment(self, intent, *args, **kwargs)

    monkeypatch.setattr(KioskHarness, "start_core", start_and_note)
    monkeypatch.setattr(EmitraB2BDialect, "post_payment", post_and_note)
    flow = getattr(module, name)
    wants_caplog = "caplog" in inspect.signature(flow).parameters
    await (flow(tmp_path, caplog) if wants_caplog else flow(tmp_path))
    assert cores and all(isinstance(c, EmitraB2BDialect) for c in cores)
    assert bool(b2b_posts) == pays, b2b_posts
