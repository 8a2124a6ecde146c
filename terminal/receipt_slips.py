"""The voucher slip and the engineer's cash collection slip, turned into PrintDocuments with
the layout primitives of terminal/receipt_layout.py (importable from terminal/receipts.py too).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from drivers.base import PrintDocument
from terminal.amount_words import amount_in_words_en, amount_in_words_hi
from terminal.money import ascii_rupees
from terminal.receipt_layout import HI, HINDI_TITLE_PX, HINDI_WORDS_PX, _Doc, format_ist
from terminal.verification import voucher_qr


@dataclass(frozen=True, kw_only=True)
class VoucherReceipt:
    terminal_id: str
    location: str
    voucher_id: str
    amount_paise: int
    txn_id: str | None = None
    issued_at: datetime  # UTC
    code: str  # voucher_code(secret, voucher_id, amount_paise)
    duplicate: bool = False


@dataclass(frozen=True, kw_only=True)
class CollectionSlip:
    terminal_id: str
    location: str
    engineer_id: str
    collected_at: datetime  # UTC
    counts: dict[int, int]  # note value in paise -> number of notes
    total_paise: int


def build_voucher_receipt(v: VoucherReceipt, width_dots: int = 576) -> PrintDocument:
    d = _Doc(width_dots)
    d.header(v.terminal_id, v.location)
    d.hindi(HI["voucher"], HINDI_TITLE_PX)
    d.text("VOUCHER - balance for next payment", align="center", bold=True)
    if v.duplicate:
        d.hindi(HI["duplicate"], HINDI_TITLE_PX)
        d.text("*** DUPLICATE ***", align="center", bold=True)
    d.rule()
    d.text(ascii_rupees(v.amount_paise), align="center", bold=True, double=True)
    d.hindi(amount_in_words_hi(v.amount_paise), HINDI_WORDS_PX)
    d.text(amount_in_words_en(v.amount_paise))
    d.rule()
    d.kv("Voucher ID", v.voucher_id)
    if v.txn_id:
        d.kv("Txn ID", v.txn_id)
    d.kv("Issued", format_ist(v.issued_at))
    payload = voucher_qr(v.voucher_id, v.code)
    d.feed()
    d.qr(payload)
    d.text("Scan this QR at your next payment", align="center")
    d.hindi(f"अगले भुगतान में यह {HI['scan']}", HINDI_WORDS_PX)
    d.hindi(HI["thanks"])
    meta = {
        "kind": "voucher",
        "voucher_id": v.voucher_id,
        "txn_id": v.txn_id,
        "qr": payload,
        "duplicate": v.duplicate,
        "width_dots": width_dots,
    }
    return d.document("voucher", meta)


def build_collection_slip(c: CollectionSlip, width_dots: int = 576) -> PrintDocument:
    d = _Doc(width_dots)
    d.header(c.terminal_id, c.location)
    d.hindi(HI["collection"], HINDI_TITLE_PX)
    d.text("CASH COLLECTION SLIP", align="center", bold=True)
    d.rule()
    d.kv("Engineer", c.engineer_id)
    d.kv("Date/Time", format_ist(c.collected_at))
    d.rule()
    counted = 0
    notes = 0
    for value in sorted(c.counts, reverse=True):
        count = c.counts[value]
        counted += value * count
        notes += count
        d.text(f"{ascii_rupees(value):>12} x {count:>4} = {ascii_rupees(value * count)}")
    d.rule()
    d.kv("Notes", str(notes))
    d.kv("Total", ascii_rupees(c.total_paise), bold=True)
    d.text(amount_in_words_en(c.total_paise))
    if counted != c.total_paise:
        d.text(f"MISMATCH: notes add up to {ascii_rupees(counted)}", bold=True)
    d.feed(2)
    d.text("Engineer sign: ____________________")
    d.feed(2)
    d.text("Witness sign:  ____________________")
    meta = {
        "kind": "collection",
        "engineer_id": c.engineer_id,
        "total_paise": c.total_paise,
        "counted_paise": counted,
        "width_dots": width_dots,
    }
    return d.document("collection", meta)
