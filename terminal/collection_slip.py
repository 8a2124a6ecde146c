"""The engineer's cash collection slip, the parts maintenance adds to the slip
terminal/receipt_slips.py builds: the seal/bag number the engineer typed, the engineer's count
(₹ as images, like every slip), the acceptor's counter, DUPLICATE on a reprint; and what the
slip says about the period: the vouchers printed since the previous collection.

The seal number is checked here (`parse_seal`): short letters and digits, as printed on a
tamper-evident seal or a cash bag, so it can be read back over the phone and typed again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from drivers.base import Feed, ImageBlock, PrintDocument, QRBlock, TextLine
from terminal.journal import Journal
from terminal.local_time import DEFAULT_ZONE
from terminal.money import format_rupees
from terminal.receipt_layout import HINDI_TITLE_PX, _Doc

SEAL_MIN, SEAL_MAX = 3, 20
SEAL_NO = re.compile(rf"[A-Z0-9]{{{SEAL_MIN},{SEAL_MAX}}}")
SEAL_ANCHOR = "Seal/bag no"  # the slip's label (tests and the reprint look for it)

Block = TextLine | ImageBlock | QRBlock | Feed


class SealError(ValueError):
    """What the screen sent cannot be a seal or bag number."""


def parse_seal(raw: Any) -> str | None:
    """ "sb 12345" -> "SB12345"; None or "" -> None (not given). Letters and digits only,
    3 to 20 of them (spaces typed between groups are dropped); anything else is refused."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or len(raw) > 2 * SEAL_MAX:
        raise SealError(f"seal_no must be text of {SEAL_MIN} to {SEAL_MAX} letters and digits")
    value = raw.replace(" ", "").upper()
    if not SEAL_NO.fullmatch(value):
        raise SealError(f"seal_no must be {SEAL_MIN} to {SEAL_MAX} letters and digits (A-Z, 0-9)")
    return value


def vouchers_in_period(journal: Journal, collection_id: str | None = None) -> tuple[int, int]:
    """(vouchers, paise) printed since the previous collection: change left as a voucher
    (`settled` with a voucher) and refund vouchers. Up to now, or for a reprint up to the
    collection `collection_id` (the period that collection closed)."""
    count = paise = 0
    for ev in journal.events(kinds=("settled", "refund_voucher", "maintenance")):
        if ev.kind == "maintenance":
            if ev.data.get("action") == "cash_collected":
                if collection_id is not None and ev.data.get("collection_id") == collection_id:
                    break
                count = paise = 0
        elif ev.kind == "settled":
            value = int(ev.data.get("voucher_paise") or 0)
            if ev.data.get("voucher_id") and value > 0:
                count, paise = count + 1, paise + value
        else:  # refund_voucher: a refused payment's money came back as a voucher
            count, paise = count + 1, paise + int(ev.data.get("amount_paise") or 0)
    return count, paise


def slip_lines(
    record: Mapping[str, Any] | None,
    seal_no: str | None = None,
    width_dots: int = 576,
    zone: str = DEFAULT_ZONE,
) -> list[Block]:
    """What the collection slip adds before the signatures: the seal number, the count, and
    the difference in capitals with its amount in ₹."""
    d = _Doc(width_dots, zone)
    if seal_no is not None or record:
        d.rule()
        d.kv(SEAL_ANCHOR, seal_no or "NOT GIVEN", bold=True)
    if not record:
        return d.blocks
    d.text("Counted by engineer:", bold=True)
    counted = record.get("counted")
    if counted is None:
        d.text("NOT COUNTED", bold=True)
    else:
        rows = [("Note", "Count", "Amount")]
        rows += [
            (format_rupees(value), f"× {n}", format_rupees(value * n))
            for value, n in sorted(((int(k), v) for k, v in counted.items()), reverse=True)
        ]
        d.table(rows)
        d.hindi(f"Counted total: {format_rupees(int(record['counted_paise']))}", align="left")
        diff = int(record.get("difference_paise") or 0)
        if diff:
            words = "SHORT" if diff < 0 else "OVER"
            d.text(f"DIFFERENCE: {words}", align="center", bold=True, double=True)
            d.hindi(format_rupees(abs(diff)), HINDI_TITLE_PX)
        elif record.get("problems"):
            d.text("DENOMINATIONS DO NOT MATCH", bold=True)
        else:
            d.text("Count matches the journal")
    device = record.get("device") or {}
    if "device_notes" in record:
        d.text(f"Acceptor counter: {record['device_notes']} notes stacked")
    elif device.get("available"):
        d.text(f"Acceptor counter: {device['stacked_total']} (first reading)")
    else:
        d.text("Acceptor counter: not available")
    if any("acceptor stacked" in p for p in record.get("problems") or ()):
        d.text("ACCEPTOR COUNTER DOES NOT MATCH", bold=True)
    return d.blocks


def _after_header(blocks: list[Block]) -> int:
    """Where a DUPLICATE mark goes: after the header's "====" rule (else at the top)."""
    for i, block in enumerate(blocks):
        if isinstance(block, TextLine) and block.text.strip() and set(block.text.strip()) == {"="}:
            return i + 1
    return 0


def slip_with_count(
    doc: PrintDocument,
    record: Mapping[str, Any] | None,
    seal_no: str | None = None,
    *,
    width_dots: int = 576,
    zone: str = DEFAULT_ZONE,
    reprinted_at: datetime | None = None,
) -> PrintDocument:
    """The collection slip with the seal number and the count before the signature lines;
    a reprint marked DUPLICATE with its time under the header."""
    extra = slip_lines(record, seal_no, width_dots, zone)
    blocks = list(doc.blocks)
    if extra:
        at = next(
            (i for i, b in enumerate(blocks) if isinstance(b, TextLine) and "sign" in b.text),
            len(blocks),
        )
        if at and isinstance(blocks[at - 1], Feed):
            at -= 1
        blocks[at:at] = [*extra]
    if reprinted_at is not None:
        mark = _Doc(width_dots, zone)
        mark.duplicate(reprinted_at)
        at = _after_header(blocks)
        blocks[at:at] = mark.blocks
    meta = {
        **doc.meta,
        "seal_no": seal_no,
        "engineer_counted_paise": (record or {}).get("counted_paise"),
        "difference_paise": (record or {}).get("difference_paise"),
        "duplicate": reprinted_at is not None,
    }
    return PrintDocument(blocks=tuple(blocks), name=doc.name, cut=doc.cut, meta=meta)
