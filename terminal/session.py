"""The bill-payment session: states, the transition table, and the fold of journal events.

Money fields of a session (paid, notes, settlement, posting, printing) are never set directly:
they are what the session's journal events fold to, so a session rebuilt from the journal after
a power cut is the same object the running kiosk had.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from terminal import events as ev_
from terminal.journal import Event


class State(enum.StrEnum):
    IDLE = "IDLE"  # attract / home screen, no session
    IDENTIFY = "IDENTIFY"  # citizen types or scans the consumer number
    BILL = "BILL"  # bill shown, waiting for confirm
    PAYING = "PAYING"  # acceptor enabled, notes going in
    CARD = "CARD"  # paying by RuPay / EMV card: insert, PIN, authorisation
    POSTING = "POSTING"  # settled; sending to central
    RECEIPT = "RECEIPT"  # printing receipt / voucher
    DONE = "DONE"  # thank-you screen
    CANCELLED = "CANCELLED"  # ended before any cash
    TIMEOUT = "TIMEOUT"  # citizen walked away before any cash
    RECOVERY = "RECOVERY"  # completing a session found open at start-up


# Which state may follow which. Anything else is a programming error (raises).
TRANSITIONS: dict[State, set[State]] = {
    State.IDLE: {State.IDENTIFY, State.RECOVERY},
    State.IDENTIFY: {State.BILL, State.CANCELLED, State.TIMEOUT},
    State.BILL: {State.PAYING, State.CARD, State.IDENTIFY, State.CANCELLED, State.TIMEOUT},
    State.CARD: {State.POSTING, State.BILL, State.CANCELLED, State.TIMEOUT},
    State.PAYING: {State.POSTING, State.CANCELLED, State.TIMEOUT},
    State.POSTING: {State.RECEIPT},
    State.RECEIPT: {State.DONE},
    State.DONE: {State.IDLE},
    State.CANCELLED: {State.IDLE},
    State.TIMEOUT: {State.IDLE},
    State.RECOVERY: {State.POSTING},
}

# States in which the citizen can still walk away with nothing lost.
CANCELLABLE = {State.IDENTIFY, State.BILL}


class TransitionError(Exception):
    pass


@dataclass
class Bill:
    bill_id: str
    provider: str
    service: str
    consumer_number: str
    consumer_name: str
    period: str
    due_paise: int
    due_date: str
    status: str = "unpaid"
    consumer_name_hi: str = ""  # the name in Devanagari when central keeps one

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Bill:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class Session:
    """One citizen's visit. `state` is live; everything below `bill` is folded from the journal."""

    session_id: str
    state: State = State.IDLE
    service: str = ""
    provider: str = ""
    consumer_number: str = ""
    bill: Bill | None = None
    # folded from the journal:
    opened: bool = False
    credits: dict[str, int] = field(default_factory=dict)  # note_id -> paise
    card_paise: int = 0  # authorised on a card (never cash in the machine)
    card: dict | None = None  # auth_id, auth_code, pan_masked of an approved card payment
    returned_notes: list[int] = field(default_factory=list)
    txn_id: str | None = None
    amount_paise: int = 0
    voucher_id: str | None = None
    voucher_paise: int = 0
    settled: bool = False
    recovered: bool = False
    receipt_no: str | None = None
    verification: str | None = None
    voucher_posted: bool = False
    printed: set[str] = field(default_factory=set)  # "receipt", "voucher"
    print_failed: set[str] = field(default_factory=set)
    closed: str | None = None
    paid_at: str | None = None
    # central refused the payment (post_refused): its code, and whether the refusal is final
    # (None: an old journal that did not say; the outbox decides from the code)
    refused_code: str | None = None
    refusal_final: bool | None = None
    # a final refusal of money already taken becomes a refund voucher (refund_voucher)
    refund_voucher_id: str | None = None
    refund_paise: int = 0
    refund_issued_at: str | None = None
    refund_posted: bool = False
    # vouchers taken in toward the bill (terminal/voucher_redeem.py): voucher id -> paise
    redeemed: dict[str, int] = field(default_factory=dict)  # central redeemed them for us
    redeeming: dict[str, int] = field(default_factory=dict)  # asked, not yet answered
    redeem_txn_id: str | None = None  # the redemptions' id at central; the payment keeps it
    advance_paise: int = 0  # the overshoot posted to the consumer's account (settled)
    mobile: str | None = None  # for SMS receipts (mobile_given), never shown whole
    mobile_binds: bool = False  # given before settling: the session's vouchers are bound to it
    sms_sent: dict[str, bool] = field(default_factory=dict)  # message id -> provisional

    @property
    def cash_paise(self) -> int:
        """Notes in the cassette for this session."""
        return sum(self.credits.values())

    @property
    def paid_paise(self) -> int:
        """What the citizen has put toward the bill: notes and redeemed vouchers."""
        return self.cash_paise + sum(self.redeemed.values())

    @property
    def due_paise(self) -> int:
        return self.bill.due_paise if self.bill else 0

    @property
    def remaining_paise(self) -> int:
        return max(0, self.due_paise - self.paid_paise)

    @property
    def notes(self) -> list[int]:
        return list(self.credits.values())

    def move(self, new: State) -> None:
        if new not in TRANSITIONS[self.state]:
            raise TransitionError(f"{self.state.value} -> {new.value} is not allowed")
        self.state = new
        if new == State.RECOVERY:
            # Completed after a restart: the receipt says so. Derived from the move, which
            # only recovery at boot makes, so nothing outside the fold writes the mark.
            self.recovered = True

    def apply(self, event: Event) -> None:
        """Fold one journal event into the session: dispatched on its typed form
        (terminal/events.py); kinds that carry no money state of a session are ignored."""
        ev = event.typed
        if isinstance(ev, ev_.SessionOpened):
            self.opened = True
            self.service = ev.service
            self.provider = ev.provider
            self.consumer_number = ev.consumer_number
        elif isinstance(ev, ev_.Bill):
            self.bill = Bill.from_dict(event.data)
        elif isinstance(ev, ev_.Credit):
            self.credits[ev.note_id] = ev.paise
        elif isinstance(ev, ev_.CardAuthorised):
            self.card_paise = ev.amount_paise
            self.card = {"auth_id": ev.auth_id, "auth_code": ev.auth_code,
                         "pan_masked": ev.pan_masked}
        elif isinstance(ev, ev_.VoucherRedeeming):
            if ev.voucher_id not in self.redeemed:
                self.redeeming[ev.voucher_id] = ev.paise
            self.redeem_txn_id = self.redeem_txn_id or ev.txn_id
        elif isinstance(ev, ev_.VoucherRedeemed):
            self.redeeming.pop(ev.voucher_id, None)
            self.redeemed[ev.voucher_id] = ev.paise
        elif isinstance(ev, ev_.VoucherRedeemFailed):
            self.redeeming.pop(ev.voucher_id, None)
        elif isinstance(ev, ev_.NoteReturned):
            self.returned_notes.append(ev.paise)
        elif isinstance(ev, ev_.Settled):
            self.settled = True
            self.txn_id = ev.txn_id
            self.amount_paise = ev.amount_paise
            self.voucher_id = ev.voucher_id
            self.voucher_paise = ev.voucher_paise
            self.advance_paise = ev.advance_paise
            self.recovered = ev.recovery
            self.paid_at = event.at
        elif isinstance(ev, ev_.Posted):
            self.receipt_no = ev.receipt_no
            self.verification = ev.verification
        elif isinstance(ev, ev_.VoucherPosted):
            if self.refund_voucher_id and ev.voucher_id == self.refund_voucher_id:
                self.refund_posted = True
            else:
                self.voucher_posted = True
        elif isinstance(ev, ev_.PostRefused):
            self.refused_code = ev.code
            self.refusal_final = ev.final
        elif isinstance(ev, ev_.RefundVoucher):
            self.refund_voucher_id = ev.voucher_id
            self.refund_paise = ev.amount_paise
            self.refund_issued_at = event.at
        elif isinstance(ev, ev_.Printed):
            self.printed.add(ev.doc)
        elif isinstance(ev, ev_.PrintFailed):
            self.print_failed.add(ev.doc)
        elif isinstance(ev, ev_.MobileGiven):
            self.mobile = ev.mobile
            self.mobile_binds = not self.settled  # a voucher posted later carries it
        elif isinstance(ev, ev_.SmsSent):
            self.sms_sent[ev.message_id] = ev.provisional
        elif isinstance(ev, ev_.SessionClosed):
            self.closed = ev.outcome


def fold(session_id: str, events: list[Event]) -> Session:
    session = Session(session_id)
    for event in events:
        session.apply(event)
    return session


def allowed_notes(
    remaining_paise: int, max_overpay_paise: int, accepted_paise: set[int]
) -> set[int]:
    """Notes the acceptor may take now: none may overshoot what is due by more than the policy."""
    if remaining_paise <= 0:
        return set()
    return {n for n in accepted_paise if n - remaining_paise <= max_overpay_paise}


def split(paid_paise: int, due_paise: int, advance_cap_paise: int) -> tuple[int, int, int]:
    """(payment, advance credit, voucher): with a provider that takes advance payment the
    overshoot of a covered bill goes to the consumer's account, up to what its account takes
    (terminal/advance_credit.py); the rest (a large voucher redeemed) is a voucher."""
    amount, voucher = settlement(paid_paise, due_paise)
    advance = min(voucher, advance_cap_paise) if amount else 0
    return amount, advance, voucher - advance


def settlement(paid_paise: int, due_paise: int) -> tuple[int, int]:
    """(payment amount, voucher amount) for cash in hand: pay the bill if covered, the rest
    (or everything, if the bill is not covered) becomes a voucher."""
    if due_paise > 0 and paid_paise >= due_paise:
        return due_paise, paid_paise - due_paise
    return 0, paid_paise
