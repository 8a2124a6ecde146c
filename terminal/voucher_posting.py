"""What the outbox sends about a session's money beyond the bare payment: the payment body with
its advance credit and the vouchers redeemed toward it, and whose a new voucher is.

A voucher is not bearer paper: central records the consumer (provider and consumer number) it came
from, and redeems it only toward that consumer's bills (sim/central/voucher_routes.py). A voucher
of a session with no consumer (a note no session could take) stays unbound.
"""

from __future__ import annotations

from typing import Any

from terminal.session import Session

VOUCHER_VALID_DAYS = 180  # central redeems a voucher this long after it was issued


def payment_body(s: Session) -> dict[str, Any]:
    """The payment as the dialect's post_payment takes it (terminal/central/reference.py)."""
    assert s.bill is not None
    body: dict[str, Any] = {
        "txn_id": s.txn_id,
        "bill_id": s.bill.bill_id,
        "provider": s.provider,
        "consumer_number": s.consumer_number,
        "amount_paise": s.amount_paise,
        "tendered_paise": s.paid_paise,
        "notes": s.notes,
        "paid_at": s.paid_at,
        "voucher_id": s.voucher_id,
        "voucher_paise": s.voucher_paise,
    }
    if s.advance_paise:
        body["advance_paise"] = s.advance_paise
    if s.redeemed:
        body["vouchers_redeemed"] = [
            {"voucher_id": vid, "paise": paise} for vid, paise in sorted(s.redeemed.items())]
    return body


def voucher_owner(s: Session) -> dict[str, str] | None:
    """Whose the session's vouchers are, for central; None for an unbound voucher. The mobile
    number only when it was given before the voucher existed: every post of one voucher must
    carry the same body (central is idempotent on the voucher id)."""
    if not s.consumer_number or not s.provider:
        return None
    owner = {"provider": s.provider, "consumer_number": s.consumer_number}
    if s.mobile and s.mobile_binds:
        owner["mobile"] = s.mobile
    return owner


def voucher_args(s: Session) -> dict[str, Any]:
    """Keyword arguments of central.post_voucher for the session (none for an unbound one)."""
    owner = voucher_owner(s)
    return {"owner": owner} if owner else {}
