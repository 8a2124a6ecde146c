"""Typed journal events: one frozen dataclass per event kind (docs/journal.md has the table).

The journal stores each event as `kind` + a JSON object; this module is the one place that says
which kinds exist and which fields each carries, used by `Journal.append`/`record` (an unknown kind
is refused, a missing field too), by the fold (terminal/session.py) and by the projections.

    parse("credit", {"note_id": "n1", "paise": 50000})  -> Credit(note_id="n1", paise=50000)
    to_data(Credit("n1", 50000))                          -> {"note_id": "n1", "paise": 50000}

Old journals: a field added after the first journals were written has a default, so an event
written before it parses. Keys a class does not declare (a maintenance action's own fields, the
personal fields' `_masked` copies, a field a later version added) are KEPT in `extra` and written
back by `to_data`: nothing read from a journal is lost by parsing it. A kind this version does
not know is refused on append (`UnknownKind`, a ValueError naming it); reading one (a journal
written by a newer version) gives `Unrecognised`, which the fold ignores.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = [
    "KINDS", "Bill", "CardAuthorised", "CashCounted", "Credit", "Fault", "JournalEvent",
    "Maintenance", "MobileGiven", "NoteReturned", "NoteStacking", "PostRefused", "Posted",
    "PrintFailed", "Printed", "RefundVoucher", "Reprinted", "SessionClosed", "SessionOpened",
    "Settled", "SmsSent", "UnattributedNote", "UnknownKind", "Unrecognised", "VoucherPosted",
    "VoucherRedeemFailed", "VoucherRedeemed", "VoucherRedeeming", "VoucherRefused", "parse",
    "read", "to_data",
]


class UnknownKind(ValueError):
    """Not an event kind of this journal (a misspelling, or a kind nobody registered)."""


@dataclass(frozen=True)
class JournalEvent:
    kind: ClassVar[str] = ""
    # keys of the stored data this class does not declare, kept as they were
    extra: Mapping[str, Any] = field(default_factory=dict, kw_only=True, compare=False)
    # fields the stored data did not have (defaulted by parse): to_data leaves them out again
    absent: frozenset[str] = field(default=frozenset(), kw_only=True, compare=False, repr=False)


KINDS: dict[str, type[JournalEvent]] = {}


def _kind(name: str):
    def register(cls: type[JournalEvent]) -> type[JournalEvent]:
        cls.kind = name
        KINDS[name] = cls
        return cls

    return register


@_kind("session_opened")
@dataclass(frozen=True)
class SessionOpened(JournalEvent):
    service: str
    provider: str = ""
    consumer_number: str = ""


@_kind("bill")
@dataclass(frozen=True)
class Bill(JournalEvent):
    bill_id: str
    due_paise: int
    provider: str = ""
    service: str = ""
    consumer_number: str = ""
    consumer_name: str = ""
    period: str = ""
    due_date: str = ""
    status: str = "unpaid"
    consumer_name_hi: str = ""


@_kind("credit")
@dataclass(frozen=True)
class Credit(JournalEvent):
    """The credit point: the acceptor reported the note stacked."""

    note_id: str
    paise: int


@_kind("note_stacking")
@dataclass(frozen=True)
class NoteStacking(JournalEvent):
    """Written before the acceptor is told to stack a note in escrow (terminal/found_notes.py)."""

    note_id: str
    paise: int
    device_count: int | None = None


@_kind("note_returned")
@dataclass(frozen=True)
class NoteReturned(JournalEvent):
    paise: int
    note_id: str | None = None


@_kind("card_authorised")
@dataclass(frozen=True)
class CardAuthorised(JournalEvent):
    auth_id: str
    amount_paise: int
    auth_code: str = ""
    pan_masked: str = ""
    txn_id: str | None = None


@_kind("settled")
@dataclass(frozen=True)
class Settled(JournalEvent):
    txn_id: str | None
    amount_paise: int
    voucher_id: str | None = None
    voucher_paise: int = 0
    tendered_paise: int = 0
    notes: tuple[int, ...] = ()
    recovery: bool = False
    advance_paise: int = 0  # the overshoot posted with the payment to the consumer's account


@_kind("posted")
@dataclass(frozen=True)
class Posted(JournalEvent):
    txn_id: str
    receipt_no: str
    verification: str | None = None


@_kind("post_refused")
@dataclass(frozen=True)
class PostRefused(JournalEvent):
    id: str
    code: str | None = None
    message: str = ""
    final: bool | None = None  # None: a journal from before `final` (the code decides)


@_kind("refund_voucher")
@dataclass(frozen=True)
class RefundVoucher(JournalEvent):
    voucher_id: str
    txn_id: str
    amount_paise: int
    code: str | None = None


@_kind("voucher_posted")
@dataclass(frozen=True)
class VoucherPosted(JournalEvent):
    voucher_id: str


@_kind("voucher_refused")
@dataclass(frozen=True)
class VoucherRefused(JournalEvent):
    id: str
    code: str | None = None
    message: str = ""


@_kind("voucher_redeeming")
@dataclass(frozen=True)
class VoucherRedeeming(JournalEvent):
    """Written before central is asked to redeem a voucher for this session: a restart finds
    it and finishes it (redeem again: idempotent on voucher id + txn id) or reverses it."""

    voucher_id: str
    paise: int  # the voucher's value as central reported it
    txn_id: str  # the redemption's id at central; the session's payment keeps it


@_kind("voucher_redeemed")
@dataclass(frozen=True)
class VoucherRedeemed(JournalEvent):
    """Central redeemed the voucher for this session: its paise count toward the amount due."""

    voucher_id: str
    paise: int
    txn_id: str


@_kind("voucher_redeem_failed")
@dataclass(frozen=True)
class VoucherRedeemFailed(JournalEvent):
    """The redemption did not happen (central refused it: `code`), or was reversed at central
    (`code` "released"): nothing of the voucher counts here."""

    voucher_id: str
    txn_id: str
    code: str = ""


@_kind("printed")
@dataclass(frozen=True)
class Printed(JournalEvent):
    doc: str


@_kind("print_failed")
@dataclass(frozen=True)
class PrintFailed(JournalEvent):
    doc: str
    error: str = ""


@_kind("reprinted")
@dataclass(frozen=True)
class Reprinted(JournalEvent):
    """A citizen asked for a copy of a receipt or voucher (its number typed, or its QR shown)
    within the reprint window: printed marked DUPLICATE (terminal/reprint.py)."""

    doc: str
    source: str = ""  # "receipt_no" | "qr"


@_kind("mobile_given")
@dataclass(frozen=True)
class MobileGiven(JournalEvent):
    """The citizen's mobile number for SMS (asked once per session); encrypted at rest with a
    masked copy (terminal/journal_crypto.py)."""

    mobile: str


@_kind("sms_sent")
@dataclass(frozen=True)
class SmsSent(JournalEvent):
    """Central took the SMS of a document (terminal/sms_receipt.py); once per message id."""

    doc: str
    message_id: str
    provisional: bool = False


@_kind("session_closed")
@dataclass(frozen=True)
class SessionClosed(JournalEvent):
    outcome: str


@_kind("fault")
@dataclass(frozen=True)
class Fault(JournalEvent):
    device: str
    state: str = ""
    detail: tuple[str, ...] = ()
    message: str = ""
    screen: str = ""


@_kind("unattributed_note")
@dataclass(frozen=True)
class UnattributedNote(JournalEvent):
    """A note found in the acceptor's path at power-up (`paise` None: value not reported)."""

    where: str
    paise: int | None = None


@_kind("maintenance")
@dataclass(frozen=True)
class Maintenance(JournalEvent):
    """Every maintenance action; its own fields (collection_id, total_paise, code, ...) are in
    `extra`. The cash box reads `test_note` (paise) and `cash_collected` (collection_id,
    engineer_id, total_paise, notes)."""

    action: str
    engineer_id: str | None = "-"


@_kind("cash_counted")
@dataclass(frozen=True)
class CashCounted(JournalEvent):
    """The engineer's count at a collection (terminal/cash_collection.py count_record)."""

    collection_id: str
    engineer_id: str = "-"
    counted: Mapping[str, int] | None = None
    counted_paise: int | None = None
    expected: Mapping[str, int] = field(default_factory=dict)
    expected_paise: int = 0
    difference_paise: int | None = None


@dataclass(frozen=True)
class Unrecognised(JournalEvent):
    """Read from a journal, of a kind this version does not know (never appended)."""

    name: str = ""


def _fields(cls: type[JournalEvent]) -> tuple[dataclasses.Field, ...]:
    return tuple(f for f in dataclasses.fields(cls) if f.name not in ("extra", "absent"))


_FIELDS = {kind: _fields(cls) for kind, cls in KINDS.items()}
_NAMES = {kind: frozenset(f.name for f in fields) for kind, fields in _FIELDS.items()}
_TUPLES = {
    kind: tuple(f.name for f in fields if str(f.type).startswith("tuple"))
    for kind, fields in _FIELDS.items()
}


def parse(kind: str, data: Mapping[str, Any]) -> JournalEvent:
    """The typed event for a stored (kind, data). UnknownKind for a kind not in KINDS; a
    ValueError naming the field when a field without a default is missing."""
    cls = KINDS.get(kind)
    if cls is None:
        raise UnknownKind(f"unknown journal event kind {kind!r}")
    names = _NAMES[kind]
    values = {k: v for k, v in data.items() if k in names}
    for name in _TUPLES[kind]:
        if isinstance(values.get(name), list):
            values[name] = tuple(values[name])
    extra = {k: v for k, v in data.items() if k not in names}
    absent = frozenset(names - values.keys())
    try:
        return cls(**values, extra=extra, absent=absent)
    except TypeError as exc:
        raise ValueError(f"journal event {kind!r}: {exc}") from None


def read(kind: str, data: Mapping[str, Any]) -> JournalEvent:
    """parse() for reading a journal: a kind this version does not know is Unrecognised."""
    if kind not in KINDS:
        return Unrecognised(name=kind, extra=dict(data))
    return parse(kind, data)


def to_data(event: JournalEvent) -> dict[str, Any]:
    """The JSON object stored for the event (tuples as lists, `extra` written back)."""
    out: dict[str, Any] = dict(event.extra)
    for f in _fields(type(event)):
        if f.name in event.absent:
            continue
        value = getattr(event, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out
