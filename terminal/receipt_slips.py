"""The citizen's payment receipt, the voucher slip and the engineer's cash collection slip,
turned into PrintDocuments with the layout primitives of terminal/receipt_layout.py.

The payment receipt is built here from terminal/receipts.py's PaymentReceipt model
(`build_payment_slip`). Every amount is printed with ₹ (as an image: the printer's code pages
have no ₹), each fact once, both languages on one line where they fit; times are in the kiosk's
configured zone; every slip ends with the helpline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from drivers.base import PrintDocument
from terminal.advance_credit import receipt_fact
from terminal.amount_words import amount_in_words_en, amount_in_words_hi
from terminal.local_time import DEFAULT_ZONE, local
from terminal.logs import mask_digits
from terminal.money import format_rupees
from terminal.receipt_layout import (
    HI,
    HINDI_AMOUNT_PX,
    HINDI_TITLE_PX,
    HINDI_WORDS_PX,
    SERVICE_EN,
    SERVICE_HI,
    _Doc,
    mask_consumer_number,
    mask_name,
    notes_in_rupees,
    period_words,
    short_voucher_id,
)
from terminal.verification import receipt_qr, voucher_qr
from terminal.voucher_posting import VOUCHER_VALID_DAYS

if TYPE_CHECKING:  # receipts.py imports this module: no import of it at run time
    from terminal.receipts import PaymentReceipt

DEFAULT_HELPLINE = "181"  # config/default.toml [terminal] helpline
CONFIRM_WITHIN_DAYS = 2  # printed on a provisional receipt: by when to expect it confirmed


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
    reprinted_at: datetime | None = None  # UTC; a duplicate says when it was reprinted
    helpline: str = DEFAULT_HELPLINE
    zone: str = DEFAULT_ZONE
    # whose it is (central redeems it only for this consumer): None for an unbound voucher
    consumer_number: str | None = None
    provider_code: str = ""
    mobile: str | None = None  # bound to it too (printed masked)


@dataclass(frozen=True, kw_only=True)
class CollectionSlip:
    terminal_id: str
    location: str
    engineer_id: str
    collected_at: datetime  # UTC
    counts: dict[int, int]  # note value in paise -> number of notes
    total_paise: int
    period_start: datetime | None = None  # UTC: the previous collection (the box's `since`)
    vouchers_issued: int | None = None  # vouchers printed in the period (None: not known)
    vouchers_paise: int = 0
    helpline: str = DEFAULT_HELPLINE
    zone: str = DEFAULT_ZONE


def _amount(d: _Doc, paise: int, hindi_label: str, english_label: str) -> None:
    """The amount once, big, with both labels; then in words in both languages."""
    d.hindi(f"{hindi_label} / {english_label}")
    d.hindi(format_rupees(paise), HINDI_AMOUNT_PX)
    d.hindi(amount_in_words_hi(paise), HINDI_WORDS_PX)
    d.text(amount_in_words_en(paise), align="center")


def _pending(d: _Doc, r: PaymentReceipt, helpline: str, provider_en: str) -> None:
    """A provisional receipt says what happens next and by when, in both languages."""
    by = (local(r.paid_at, d.zone) + timedelta(days=CONFIRM_WITHIN_DAYS)).strftime("%d-%m-%Y")
    d.rule()
    d.hindi(
        f"{HI['money_safe']}। नेटवर्क आते ही मशीन यह भुगतान कंपनी को भेज देगी। {by} तक "
        f"अगले बिल या कंपनी के दफ़्तर में न दिखे तो यह पर्ची लेकर {helpline} पर फ़ोन करें।",
        align="left",
    )
    d.text(
        f"Your money is safe. The kiosk sends this payment to {provider_en} as soon as the "
        f"network is back. If it is not shown as paid by {by}, call {helpline} with this slip.",
    )


def build_payment_slip(r: PaymentReceipt, width_dots: int = 576, *,
                       helpline: str = DEFAULT_HELPLINE, zone: str = DEFAULT_ZONE,
                       reprinted_at: datetime | None = None) -> PrintDocument:
    """The citizen's receipt for a paid bill (provisional while central has not confirmed)."""
    d = _Doc(width_dots, zone)
    d.header(r.terminal_id, r.location)
    if r.provisional:
        d.banner("अस्थायी रसीद / PENDING", HINDI_TITLE_PX)
        d.text("PROVISIONAL - will be confirmed", align="center", bold=True)
    else:
        d.hindi(f"{HI['receipt']} — {HI['paid']}", HINDI_TITLE_PX)
        d.text("PAYMENT RECEIPT - PAID", align="center", bold=True)
    if r.duplicate:
        d.duplicate(reprinted_at)
    if r.recovery:
        d.hindi(HI["recovery"])
        d.text("RECOVERY RECEIPT", align="center", bold=True)
    d.rule()

    service_hi = SERVICE_HI.get(r.service, r.service)
    provider_hi = r.provider_name_hi or r.provider_name_en
    d.hindi(f"{service_hi} — {provider_hi}", align="left")
    service_en = SERVICE_EN.get(r.service, r.service)
    d.text(f"{service_en}, {r.provider_code or r.provider_name_en}")  # the code, small
    d.hindi(f"{HI['consumer']} / Consumer: {mask_consumer_number(r.consumer_number)}",
            align="left")
    if r.consumer_name:
        d.kv("Name", mask_name(r.consumer_name))
    if r.period:
        month_hi, month_en = period_words(r.period)
        d.both(f"{HI['period']}: {month_hi}", month_en if month_en != month_hi else "",
               align="left")
    d.rule()

    _amount(d, r.amount_paise, HI["due"], "Amount paid")
    if r.still_due_paise:  # a part payment: the bill stays open for the rest
        d.text("PART PAYMENT - the bill stays open", align="center", bold=True)
        d.hindi(f"बिल का बाकी / Still due: {format_rupees(r.still_due_paise)}", align="left")
    if r.service_charge_paise:
        d.hindi(f"सेवा शुल्क / Service charge: {format_rupees(r.service_charge_paise)}",
                align="left")
    if r.card_pan_masked:
        d.hindi(f"{HI['card']} / Paid by card", align="left")
        d.kv("Card", r.card_pan_masked)  # as text too: the engineer's log and a reprint read it
        d.kv("Auth code", r.card_auth_code or "-")
    elif r.notes or not r.vouchers_in:
        d.hindi(f"{HI['paid_so_far']} / Cash in: {format_rupees(r.tendered_paise)}",
                align="left")
        if r.notes:
            d.hindi(f"नोट / Notes: {notes_in_rupees(r.notes)}", HINDI_WORDS_PX, align="left")
    for voucher_id, paise in r.vouchers_in:  # taken in toward this bill
        d.hindi(f"{HI['voucher_in']} / Voucher {short_voucher_id(voucher_id)}: "
                f"{format_rupees(paise)}", align="left")
    if r.advance_paise:
        fact = receipt_fact(r.advance_paise)
        d.hindi(fact["text_hi"], align="left")  # the words of the UI word list
        d.hindi(fact["text_en"], HINDI_WORDS_PX, align="left")
    if r.voucher_id:
        d.hindi(f"{HI['voucher']} / Voucher: {format_rupees(r.voucher_paise)} — "
                f"{HI['voucher_use']}", align="left")
        d.kv("Voucher", r.voucher_id)
    d.rule()

    d.kv("Receipt No", r.receipt_no or "PENDING")
    d.kv("Txn ID", r.txn_id)
    d.kv("Paid at", d.when(r.paid_at))
    payload = receipt_qr(r.txn_id, r.verification_code)
    d.feed()
    d.qr(payload)
    d.both(HI["scan"], "Scan to verify", HINDI_WORDS_PX)
    if r.provisional:
        _pending(d, r, helpline, r.provider_name_en or r.provider_code)
    d.footer(helpline)
    d.both(HI["thanks"], "Thank you")
    if r.provisional:
        d.banner("अस्थायी रसीद / PENDING", HINDI_TITLE_PX)
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


def _voucher_terms(d: _Doc, v: VoucherReceipt) -> None:
    """Whose the voucher is, where it can be used, until when, and what to do if it is lost."""
    until = (local(v.issued_at, d.zone) + timedelta(days=VOUCHER_VALID_DAYS)).strftime("%d-%m-%Y")
    if v.consumer_number:
        who = mask_digits(v.consumer_number)
        provider = f" ({v.provider_code})" if v.provider_code else ""
        d.hindi(f"{HI['whose']} / For: {HI['consumer']} {who}{provider}", align="left")
        if v.mobile:
            d.hindi(f"मोबाइल / Mobile: {mask_digits(v.mobile)}", align="left")
        d.hindi(f"इसी {HI['consumer']} का बिल किसी भी ई-मित्र प्लस मशीन पर भरें, या इसी "
                "नंबर के साथ ई-मित्र काउंटर से पैसे लें।", HINDI_WORDS_PX, align="left")
        d.text(f"Use it for a bill of consumer {who} at any e-Mitra Plus kiosk, or cash it "
               "at an e-Mitra counter with that number.")
    else:
        d.hindi("किसी भी ई-मित्र प्लस मशीन पर किसी भी बिल में काम आएगी।", HINDI_WORDS_PX,
                align="left")
        d.text("Use it for any bill at any e-Mitra Plus kiosk.")
    d.hindi(f"कब तक / Valid until: {until}", align="left")
    lost_hi = "वाउचर नंबर या के-नंबर" if v.consumer_number else "वाउचर नंबर"
    lost_en = "the voucher number or the consumer number" if v.consumer_number \
        else "the voucher number"
    d.hindi(f"पर्ची खो जाए तो {v.helpline} पर फ़ोन करें और {lost_hi} बताएँ।", HINDI_WORDS_PX,
            align="left")
    d.text(f"If this slip is lost, call {v.helpline} with {lost_en}.")


def build_voucher_receipt(v: VoucherReceipt, width_dots: int = 576) -> PrintDocument:
    d = _Doc(width_dots, v.zone)
    d.header(v.terminal_id, v.location)
    d.hindi(HI["voucher"], HINDI_TITLE_PX)
    d.text("VOUCHER - money for your next bill", align="center", bold=True)
    if v.duplicate:
        d.duplicate(v.reprinted_at)
    d.rule()
    _amount(d, v.amount_paise, "रकम", "Amount")
    code = v.voucher_id.rsplit("-", 1)[-1]  # what a citizen types at a kiosk, for this consumer
    if re.fullmatch(r"[0-9A-F]{6}", code):
        d.hindi(f"कोड / Code: {code}", HINDI_TITLE_PX)
    d.rule()
    _voucher_terms(d, v)
    d.rule()
    d.kv("Voucher ID", v.voucher_id)
    if v.txn_id:
        d.kv("Txn ID", v.txn_id)
    d.kv("Issued", d.when(v.issued_at))
    payload = voucher_qr(v.voucher_id, v.code)
    d.feed()
    d.qr(payload)
    d.both("अगली बार बिल भरते समय यह क्यूआर कोड दिखाएँ", "Show this QR when you pay your next bill",
           HINDI_WORDS_PX)
    d.footer(v.helpline)
    d.both(HI["thanks"], "Thank you")
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
    """The engineer's slip: what left the box, for which period, and what is owed back."""
    d = _Doc(width_dots, c.zone)
    d.header(c.terminal_id, c.location)
    d.hindi(HI["collection"], HINDI_TITLE_PX)
    d.text("CASH COLLECTION SLIP", align="center", bold=True)
    d.rule()
    d.kv("Engineer", c.engineer_id)
    d.kv("From", d.when(c.period_start) if c.period_start else "first collection")
    d.kv("To", d.when(c.collected_at))
    d.rule()
    counted = sum(value * count for value, count in c.counts.items())
    notes = sum(c.counts.values())
    rows = [("Note", "Count", "Amount")]
    rows += [(format_rupees(v), f"× {c.counts[v]}", format_rupees(v * c.counts[v]))
             for v in sorted(c.counts, reverse=True)]
    rows.append(("Notes", str(notes), ""))
    d.table(rows)
    d.rule()
    d.hindi(f"कुल / Total: {format_rupees(c.total_paise)}", HINDI_TITLE_PX, align="left")
    d.text(amount_in_words_en(c.total_paise))
    if counted != c.total_paise:
        d.text("MISMATCH: the notes do not add up to the total", bold=True)
        d.hindi(f"Notes add up to {format_rupees(counted)}", align="left")
    if c.vouchers_issued is not None:
        d.hindi(f"Vouchers issued: {c.vouchers_issued} ({format_rupees(c.vouchers_paise)})",
                align="left")
    d.feed(2)
    d.text("Engineer sign: ____________________")
    d.feed(2)
    d.text("Witness sign:  ____________________")
    d.footer(c.helpline)
    meta = {
        "kind": "collection",
        "engineer_id": c.engineer_id,
        "total_paise": c.total_paise,
        "counted_paise": counted,
        "width_dots": width_dots,
    }
    return d.document("collection", meta)
