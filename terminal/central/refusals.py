"""What central's refusals mean for a posting: final or not, the link's fault or the entry's,
and the refund voucher that replaces a payment central refused for good."""

from __future__ import annotations

from terminal.central.client import FINAL_CODES, CentralError
from terminal.session import Session


def about_the_entry(exc: CentralError) -> bool:
    """Central answered about this one entry (a non-final 4xx such as 400): the destination is
    fine, so the entry waits on its own clock instead of holding up the whole queue."""
    return (
        exc.status is not None
        and 400 <= exc.status < 500
        and exc.status not in (401, 408, 429)
        and exc.code != "unauthenticated_reply"
    )


def refund_voucher_id(txn_id: str) -> str:
    """Deterministic, so a crash between the refusal and the voucher makes the same voucher."""
    return f"V{txn_id[1:]}-R" if txn_id.startswith("T-") else f"V-R-{txn_id}"


def refusal_is_final(s: Session) -> bool:
    """Journals before this rule wrote post_refused for 401/429 too; those are retried."""
    if s.refused_code is None and s.refusal_final is None:
        return False
    return bool(s.refusal_final) if s.refusal_final is not None else s.refused_code in FINAL_CODES
