"""From a folded session to the paper documents the printer gets (receipt, voucher)."""

from __future__ import annotations

from datetime import UTC, datetime

from drivers.base import PrintDocument
from terminal import catalogue
from terminal.receipt_slips import VoucherReceipt, build_payment_slip, build_voucher_receipt
from terminal.receipts import PaymentReceipt
from terminal.session import Session
from terminal.verification import provisional_code, voucher_code
from terminal.voucher_posting import voucher_owner


def _when(iso: str | None) -> datetime:
    if not iso:
        return datetime.now(UTC)
    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def build_document(
    config: dict, s: Session, doc: str, width_dots: int, duplicate: bool = False
) -> PrintDocument:
    """doc: "receipt" (the bill payment) or "voucher" (the overpayment / unfinished cash).
    duplicate: a reprint asked for later (maintenance), marked DUPLICATE on the paper."""
    terminal = config["terminal"]
    secret = config["central"]["secret"]
    helpline, zone = terminal["helpline"], terminal["timezone"]
    reprinted_at = datetime.now(UTC) if duplicate else None
    if doc in ("voucher", "refund_voucher"):
        # refund_voucher: central refused the bill for good, so the money comes back.
        refund = doc == "refund_voucher"
        voucher_id = s.refund_voucher_id if refund else s.voucher_id
        paise = s.refund_paise if refund else s.voucher_paise
        assert voucher_id
        owner = voucher_owner(s) or {}  # whose it is, as central was told
        return build_voucher_receipt(
            VoucherReceipt(
                terminal_id=terminal["id"],
                location=terminal["location"],
                voucher_id=voucher_id,
                amount_paise=paise,
                txn_id=s.txn_id,
                issued_at=_when(s.refund_issued_at if refund else s.paid_at),
                code=voucher_code(secret, voucher_id, paise),
                duplicate=duplicate,
                reprinted_at=reprinted_at,
                helpline=helpline,
                zone=zone,
                consumer_number=owner.get("consumer_number"),
                provider_code=owner.get("provider", ""),
                mobile=owner.get("mobile"),
            ),
            width_dots,
        )
    assert s.txn_id and s.bill is not None
    provider = catalogue.PROVIDERS.get(s.provider, {"en": s.provider, "hi": s.provider})
    provisional = s.receipt_no is None
    code = s.verification or provisional_code(secret, s.txn_id, s.amount_paise)
    return build_payment_slip(
        PaymentReceipt(
            terminal_id=terminal["id"],
            location=terminal["location"],
            service=s.service,
            provider_code=s.provider,
            provider_name_en=provider["en"],
            provider_name_hi=provider["hi"],
            consumer_number=s.consumer_number,
            consumer_name=s.bill.consumer_name,
            period=s.bill.period,
            amount_paise=s.amount_paise,
            tendered_paise=s.cash_paise,
            notes=s.notes,
            service_charge_paise=0,
            receipt_no=s.receipt_no,
            txn_id=s.txn_id,
            paid_at=_when(s.paid_at),
            verification_code=code,
            voucher_id=s.voucher_id,
            voucher_paise=s.voucher_paise,
            advance_paise=s.advance_paise,
            still_due_paise=max(0, s.due_paise - s.amount_paise),
            vouchers_in=tuple(sorted(s.redeemed.items())),
            provisional=provisional,
            duplicate=duplicate,
            recovery=s.recovered,
            card_pan_masked=s.card["pan_masked"] if s.card else None,
            card_auth_code=s.card["auth_code"] if s.card else None,
        ),
        width_dots,
        helpline=helpline,
        zone=zone,
        reprinted_at=reprinted_at,
    )
