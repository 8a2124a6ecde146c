"""Receipts: one model per paper, turned into a device-neutral PrintDocument.

English/ASCII lines use the printer's own font (TextLine, 12 dots per character in font A).
Hindi lines cannot go through the printer's code pages, so they are rendered here with Pillow
(Lohit Devanagari, raqm layout so that matras and conjuncts are shaped) into 1-bit PNGs
(ImageBlock). Nothing in a document is wider than the paper: text is wrapped to the column count
and images to width_dots.

Layout primitives live in terminal/receipt_layout.py; the payment receipt (`build_payment_slip`),
the voucher and collection slips are built in terminal/receipt_slips.py. This module holds the
payment receipt's model, and every public name of the three stays importable from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

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
    build_payment_slip,
    build_voucher_receipt,
)

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
    tendered_paise: int  # the notes put in (vouchers_in are listed on their own)
    notes: list[int] = field(default_factory=list)  # paise of each note taken
    service_charge_paise: int = 0
    receipt_no: str | None = None  # central's receipt number; None while not posted
    txn_id: str
    paid_at: datetime  # UTC
    verification_code: str  # central's `verification`, or provisional_code(...)
    voucher_id: str | None = None
    voucher_paise: int = 0
    advance_paise: int = 0  # the overshoot credited to the consumer's account
    still_due_paise: int = 0  # a part payment: what the bill still asks (terminal/part_payment.py)
    vouchers_in: tuple[tuple[str, int], ...] = ()  # vouchers redeemed toward it: (id, paise)
    provisional: bool = False
    duplicate: bool = False
    recovery: bool = False
    card_pan_masked: str | None = None  # paid by card: first 6 / last 4 only
    card_auth_code: str | None = None
