"""Receipts: one model per paper, turned into a device-neutral PrintDocument.

English/ASCII lines use the printer's own font (TextLine, 12 dots per character in font A).
Hindi lines cannot go through the printer's code pages, so they are rendered here with Pillow
(Lohit Devanagari, raqm layout so that matras and conjuncts are shaped) into 1-bit PNGs
(ImageBlock). Nothing in a document is wider than the paper: text is wrapped to the column count
and images to width_dots.

Layout primitives live in terminal/receipt_layout.py, the voucher and collection slips in
terminal/receipt_slips.py; this module builds the payment receipt, and every public name of the
three stays importable from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from drivers.base import PrintDocument
from terminal.amount_words import amount_in_words_en, amount_in_words_hi
from terminal.money import ascii_rupees, format_rupees
from terminal.receipt_layout import (  # noqa: F401 - re-exported
    FONT_A_DOTS,
    FONT_PATH,
    HI,
    HINDI_BODY_PX,
    HINDI_TITLE_PX,
    HINDI_WORDS_PX,
    IST,
    QR_MODULE_DOTS,
    SERVICE_EN,
    SERVICE_HI,
    _clusters,
    _Doc,
    _font,
    _png,
    _render,
    _render_png,
    _split_long_word,
    format_ist,
    mask_consumer_number,
    mask_name,
    notes_by_denomination,
    render_text_image,
    wrap_to_width,
)
from terminal.receipt_slips import (  # noqa: F401 - re-exported
    CollectionSlip,
    VoucherReceipt,
    build_collection_slip,
    build_voucher_receipt,
)
from terminal.verification import receipt_qr

# ---------------------------------------------------------------- models


@dataclass(frozen=True, kw_only=True)
class PaymentReceipt:
    terminal_id: str
    location: str
    service: str  # "electricity" | "water" | "phone"
    provider_code: str
    provider_name_en: str
    provider_name_hi: str
    consumer_number: str
    consumer_name: str
    period: str
    amount_paise: int
    tendered_paise: int
    notes: list[int] = field(default_factory=list)  # paise of each note taken
    service_charge_paise: int = 0
    receipt_no: str | None = None  # central's receipt number; None while not posted
    txn_id: str
    paid_at: datetime  # UTC
    verification_code: str  # central's `verification`, or provisional_code(...)
    voucher_id: str | None = None
    voucher_paise: int = 0
    provisional: bool = False
    duplicate: bool = False
    recovery: bool = False
    card_pan_masked: str | None = None  # paid by card: first 6 / last 4 only
    card_auth_code: str | None = None


def build_payment_receipt(r: PaymentReceipt, width_dots: int = 576) -> PrintDocument:
    d = _Doc(width_dots)
    d.header(r.terminal_id, r.location)
    d.hindi(f"{HI['receipt']} — {HI['paid']}", HINDI_TITLE_PX)
    d.text("PAYMENT RECEIPT - PAID", align="center", bold=True)
    if r.duplicate:
        d.hindi(HI["duplicate"], HINDI_TITLE_PX)
        d.text("*** DUPLICATE ***", align="center", bold=True)
    if r.provisional:
        d.hindi(HI["provisional"])
        d.text("PROVISIONAL - will be confirmed", align="center", bold=True)
    if r.recovery:
        d.hindi(HI["recovery"])
        d.text("RECOVERY RECEIPT", align="center", bold=True)
    d.rule()

    service_hi = SERVICE_HI.get(r.service, r.service)
    provider_hi = r.provider_name_hi or r.provider_name_en
    d.hindi(f"{service_hi} — {provider_hi}")
    d.kv("Service", SERVICE_EN.get(r.service, r.service))
    d.kv("Provider", f"{r.provider_code} {r.provider_name_en}".strip())
    consumer = mask_consumer_number(r.consumer_number)
    d.hindi(f"{HI['consumer']}: {consumer}")
    d.kv("Consumer", consumer)
    if r.consumer_name:
        d.kv("Name", mask_name(r.consumer_name))
    if r.period:
        d.kv("Period", r.period)
    d.rule()

    d.hindi(f"{HI['due']}: {format_rupees(r.amount_paise)}", HINDI_TITLE_PX)
    d.text(f"Amount paid: {ascii_rupees(r.amount_paise)}", bold=True)
    d.hindi(amount_in_words_hi(r.amount_paise), HINDI_WORDS_PX)
    d.text(amount_in_words_en(r.amount_paise))
    if r.service_charge_paise:
        d.kv("Svc charge", ascii_rupees(r.service_charge_paise))
    if r.card_pan_masked:
        d.hindi("कार्ड से भुगतान")
        d.kv("Paid by", f"card {r.card_pan_masked}")
        d.kv("Auth code", r.card_auth_code or "-")
    else:
        d.hindi(f"{HI['paid_so_far']}: {format_rupees(r.tendered_paise)}")
        d.kv("Cash in", ascii_rupees(r.tendered_paise))
        for i, line in enumerate(notes_by_denomination(r.notes)):
            d.kv("Notes" if i == 0 else "", line)
    if r.voucher_id:
        d.hindi(f"{HI['voucher']}: {format_rupees(r.voucher_paise)}")
        d.kv("Voucher", f"{r.voucher_id} {ascii_rupees(r.voucher_paise)}")
        d.text("(balance for your next payment)")
    d.rule()

    d.kv("Receipt No", r.receipt_no or "PENDING")
    d.kv("Txn ID", r.txn_id)
    d.kv("Date/Time", format_ist(r.paid_at))
    payload = receipt_qr(r.txn_id, r.verification_code)
    d.feed()
    d.qr(payload)
    d.text("Scan to verify this receipt", align="center")
    d.hindi(HI["scan"], HINDI_WORDS_PX)
    if r.provisional:
        d.hindi(HI["money_safe"], HINDI_WORDS_PX)
    d.hindi(HI["thanks"])
    meta = {
        "kind": "payment",
        "txn_id": r.txn_id,
        "qr": payload,
        "provisional": r.provisional,
        "duplicate": r.duplicate,
        "recovery": r.recovery,
        "width_dots": width_dots,
    }
    return d.document("receipt", meta)
