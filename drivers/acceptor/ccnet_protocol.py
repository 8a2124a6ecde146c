"""CCNET host-side protocol state machine, sans-I/O.

`CCNETHost` turns commands into frame bytes and received bytes into typed events. It knows which
command is outstanding and interprets each reply *for that command* (a bill table is never taken
for a poll state); it queues the ACK for replies that carry data and a NAK for a frame that
arrived damaged; it folds poll states into note events with the credit point guarded so each
physical note is credited exactly once, and it keeps the escrow decision so a note never gets two
STACKs. It never touches a port and never sleeps: the facade in `ccnet.py` does the I/O and the
timing (poll interval, reply timeouts, HOLD while the host decides).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from drivers.acceptor.ccnet_framing import ADDRESS_BILL_VALIDATOR, FrameDecoder, encode_frame
from drivers.acceptor.ccnet_status import POWER_UP_NOTE, POWER_UP_STATES, reject_reason


class Command(enum.IntEnum):
    RESET = 0x30
    GET_STATUS = 0x31
    SET_SECURITY = 0x32
    POLL = 0x33
    ENABLE_BILL_TYPES = 0x34
    STACK = 0x35
    RETURN = 0x36
    IDENTIFICATION = 0x37
    HOLD = 0x38
    GET_BILL_TABLE = 0x41
    REQUEST_STATISTICS = 0x60


ACK = 0x00
NAK = 0xFF
ILLEGAL_COMMAND = 0x30

ACK_FRAME = encode_frame(bytes((ACK,)))
NAK_FRAME = encode_frame(bytes((NAK,)))

# Commands whose reply carries data: the host ACKs those replies (and only those).
DATA_REPLY_COMMANDS = frozenset(
    {
        Command.POLL,
        Command.GET_STATUS,
        Command.IDENTIFICATION,
        Command.GET_BILL_TABLE,
        Command.REQUEST_STATISTICS,
    }
)
# Commands whose reply may take long (use the long reply timeout).
SLOW_COMMANDS = frozenset(
    {Command.IDENTIFICATION, Command.GET_BILL_TABLE, Command.REQUEST_STATISTICS}
)

BILL_TABLE_ENTRIES = 24
BILL_TABLE_ENTRY_LEN = 5

# Poll states meaning "a note is on its way in, or held": an open escrow stays open.
ESCROW_KEEPING_STATES = frozenset({0x15, 0x17, 0x18, 0x1A, 0x1B, 0x80})
# States in which a note is physically moving in (arms the credit guard).
NOTE_MOVING_IN = frozenset({0x15, 0x17, 0x80})
# States after which an escrowed note is certainly no longer in escrow (it went back).
NOTE_GONE_STATES = frozenset({0x14, 0x19})


class ProtocolError(Exception):
    """The host asked for something the protocol forbids (e.g. a second STACK)."""


# ---------------------------------------------------------------- typed replies


@dataclass(frozen=True)
class Ack:
    """The validator accepted a command that has no reply data."""


@dataclass(frozen=True)
class IllegalCommand:
    """The validator refused the command in its present state (reply 0x30)."""


@dataclass(frozen=True)
class DeviceNak:
    """The validator received our frame damaged: send the command again."""


@dataclass(frozen=True)
class PollReply:
    code: int
    data: bytes = b""

    @property
    def arg(self) -> int | None:
        return self.data[0] if self.data else None


@dataclass(frozen=True)
class Identification:
    part_number: str
    serial: str
    asset: bytes

    def as_dict(self) -> dict:
        return {"model": self.part_number, "serial": self.serial, "asset": self.asset.hex()}


@dataclass(frozen=True)
class BillTableEntry:
    bill_type: int
    digit: int
    country: str
    exponent: int  # raw byte: bit 7 = negative power of ten

    @property
    def power(self) -> int:
        return -(self.exponent & 0x7F) if self.exponent & 0x80 else self.exponent & 0x7F

    @property
    def paise(self) -> int | None:
        """Value in hundredths of the currency unit, None when not a whole number of them."""
        power = self.power
        if power >= 0:
            return self.digit * 10**power * 100
        scaled, remainder = divmod(self.digit * 100, 10**-power)
        return None if remainder else scaled


@dataclass(frozen=True)
class BillTable:
    entries: tuple[BillTableEntry, ...]

    def for_country(self, country: str) -> dict[int, int]:
        """bill type -> paise for notes of `country` (other countries' types are ignored)."""
        result = {}
        for entry in self.entries:
            paise = entry.paise
            if entry.country == country and paise:
                result[entry.bill_type] = paise
        return result


@dataclass(frozen=True)
class StatusReply:
    enabled: frozenset[int]
    security: frozenset[int]


@dataclass(frozen=True)
class RawReply:
    """Reply data to a command we do not decode further (e.g. statistics)."""

    data: bytes


@dataclass(frozen=True)
class UnexpectedReply:
    """A frame that makes no sense as the answer to the outstanding command."""

    data: bytes
    why: str


Reply = (
    Ack
    | IllegalCommand
    | DeviceNak
    | PollReply
    | Identification
    | BillTable
    | StatusReply
    | RawReply
    | UnexpectedReply
)


# ---------------------------------------------------------------- protocol events


@dataclass(frozen=True)
class ReplyReceived:
    command: Command
    reply: Reply


@dataclass(frozen=True)
class BadFrame:
    """A damaged frame arrived while a reply was awaited; a NAK is queued."""

    crc_errors: int


@dataclass(frozen=True)
class Escrow:
    """A new note is held in escrow (one event per physical note)."""

    bill_type: int
    paise: int | None


@dataclass(frozen=True)
class Stacked:
    """The credit point: one event per physical note."""

    bill_type: int
    paise: int | None


@dataclass(frozen=True)
class StackedRepeat:
    """A 0x81 with no new note cycle since the last one: the same note again, not a credit."""

    bill_type: int


@dataclass(frozen=True)
class Returned:
    bill_type: int
    paise: int | None


@dataclass(frozen=True)
class Rejected:
    code: int
    reason: str


@dataclass(frozen=True)
class PowerUpNote:
    where: str  # "none" | "validator" | "stacker"


@dataclass(frozen=True)
class StateSeen:
    """Every poll reply, for status mapping and logs."""

    code: int
    data: bytes
    changed: bool


ProtocolEvent = (
    ReplyReceived
    | BadFrame
    | Escrow
    | Stacked
    | StackedRepeat
    | Returned
    | Rejected
    | PowerUpNote
    | StateSeen
)


# ---------------------------------------------------------------- helpers


def build_mask(bill_types: Iterable[int]) -> bytes:
    """24-bit bill-type mask, most significant byte first: bit 0 of byte 3 is type 0."""
    value = 0
    for bill_type in bill_types:
        if not 0 <= bill_type < BILL_TABLE_ENTRIES:
            raise ValueError(f"bill type {bill_type} outside 0..23")
        value |= 1 << bill_type
    return value.to_bytes(3, "big")


def parse_mask(mask: bytes) -> frozenset[int]:
    value = int.from_bytes(mask[:3], "big")
    return frozenset(t for t in range(BILL_TABLE_ENTRIES) if value >> t & 1)


def enable_bill_types_data(enabled: Iterable[int], escrow: Iterable[int]) -> bytes:
    return build_mask(enabled) + build_mask(escrow)


def parse_bill_table(data: bytes) -> BillTable:
    entries = []
    for index in range(min(len(data) // BILL_TABLE_ENTRY_LEN, BILL_TABLE_ENTRIES)):
        chunk = data[index * BILL_TABLE_ENTRY_LEN : (index + 1) * BILL_TABLE_ENTRY_LEN]
        if not any(chunk):
            continue  # unused entry
        country = chunk[1:4].decode("ascii", errors="replace").strip("\x00 ")
        entries.append(BillTableEntry(index, chunk[0], country, chunk[4]))
    return BillTable(tuple(entries))


def _text(raw: bytes) -> str:
    return raw.decode("ascii", errors="replace").strip("\x00 ")


def parse_identification(data: bytes) -> Identification:
    return Identification(_text(data[:15]), _text(data[15:27]), bytes(data[27:34]))


@dataclass
class EscrowCycle:
    """The note now in escrow and what the host decided about it."""

    bill_type: int
    paise: int | None
    decision: Command | None = None  # STACK or RETURN
    sends: int = 0  # how many times the decision command went on the wire
    answered: bool = False  # the validator ACKed (or refused) the decision command
    awaiting_answer: bool = False


class CCNETHost:
    """The host (controller) side of one CCNET link to a bill validator."""

    MAX_DECISION_SENDS = 3

    def __init__(self, country: str = "INR", address: int = ADDRESS_BILL_VALIDATOR) -> None:
        self.country = country
        self.address = address
        self.decoder = FrameDecoder()
        self.outstanding: Command | None = None
        self._outgoing = bytearray()
        self.bill_values: dict[int, int] = {}  # bill type -> paise, this country only
        self.bill_table: BillTable | None = None
        self.identification: Identification | None = None
        self.last_state: int | None = None
        self.escrow: EscrowCycle | None = None
        self._armed = False  # a note cycle is under way that has not been credited yet
        self.repeats_ignored = 0
        self.unsolicited = 0

    # ------------------------------------------------------------ sending

    def send_command(self, command: Command, data: bytes = b"") -> bytes:
        """Frame bytes for `command`; it becomes the outstanding command."""
        if command in (Command.STACK, Command.RETURN):
            self._check_decision(command)
        self.decoder.reset()
        self._outgoing.clear()
        self.outstanding = command
        if command in (Command.STACK, Command.RETURN) and self.escrow is not None:
            self.escrow.sends += 1
            self.escrow.awaiting_answer = True
        return encode_frame(bytes((command,)) + bytes(data), self.address)

    def data_to_send(self) -> bytes:
        """ACK / NAK the host owes the validator now (send right after the reply)."""
        out = bytes(self._outgoing)
        self._outgoing.clear()
        return out

    def reply_timeout(self) -> bool:
        """No (complete) reply came in time. Returns True if a partial frame was dropped."""
        return self.decoder.reset()

    def abandon(self) -> None:
        """Give up on the outstanding command (retries exhausted)."""
        self.outstanding = None
        self.decoder.reset()

    # ------------------------------------------------------------ escrow decisions

    def decide(self, decision: Command) -> bool:
        """Record the host's decision for the note in escrow. False if there is none or it
        was decided already (the first decision stands: a note never gets two commands)."""
        if decision not in (Command.STACK, Command.RETURN):
            raise ValueError("decision is STACK or RETURN")
        if self.escrow is None or self.escrow.decision is not None:
            return False
        self.escrow.decision = decision
        return True

    def _check_decision(self, command: Command) -> None:
        cycle = self.escrow
        if cycle is None:
            raise ProtocolError(f"{command.name} with no note in escrow")
        if cycle.decision is not None and cycle.decision != command:
            raise ProtocolError(f"{command.name} after {cycle.decision.name} for the same note")
        if cycle.answered:
            raise ProtocolError(f"second {command.name} for the same note")
        if cycle.awaiting_answer:
            raise ProtocolError(f"{command.name} sent and not yet known to be lost")
        if cycle.sends >= self.MAX_DECISION_SENDS:
            raise ProtocolError(f"{command.name} already sent {cycle.sends} times")
        cycle.decision = command

    def escrow_action(self) -> Command | None:
        """STACK or RETURN to send now for the note in escrow, or None."""
        cycle = self.escrow
        if cycle is None or cycle.decision is None or cycle.answered or cycle.awaiting_answer:
            return None
        if cycle.sends >= self.MAX_DECISION_SENDS:
            return None
        if self.last_state not in (0x80, 0x1A):
            return None
        return cycle.decision

    def undecided_escrow(self) -> bool:
        return self.escrow is not None and self.escrow.decision is None

    # ------------------------------------------------------------ receiving

    def receive(self, data: bytes) -> list[ProtocolEvent]:
        """Feed received bytes; returns events (at most one ReplyReceived per command)."""
        crc_before = self.decoder.crc_errors + self.decoder.length_errors
        frames = self.decoder.feed(data)
        events: list[ProtocolEvent] = []
        got_reply = False
        for frame in frames:
            if frame.address != self.address or self.outstanding is None:
                self.unsolicited += 1
                continue
            command = self.outstanding
            reply = self._interpret(command, frame.data)
            got_reply = True
            if isinstance(reply, DeviceNak):
                # The validator wants the command again: it stays outstanding.
                if command in (Command.STACK, Command.RETURN) and self.escrow is not None:
                    self.escrow.awaiting_answer = False
                    self.escrow.sends -= 1  # it never executed that one
                events.append(ReplyReceived(command, reply))
                continue
            self.outstanding = None
            if command in DATA_REPLY_COMMANDS and not isinstance(
                reply, Ack | IllegalCommand | UnexpectedReply
            ):
                self._outgoing += ACK_FRAME
            events.append(ReplyReceived(command, reply))
            events.extend(self._after_reply(command, reply))
        damaged = self.decoder.crc_errors + self.decoder.length_errors - crc_before
        if damaged and not got_reply and self.outstanding is not None:
            # The validator repeats its whole reply after our NAK: drop what is left of the
            # damaged one so it cannot swallow the start of the repeat.
            self.decoder.reset(count=False)
            self._outgoing += NAK_FRAME
            events.append(BadFrame(damaged))
        return events

    def _interpret(self, command: Command, data: bytes) -> Reply:
        if len(data) == 1 and data[0] == NAK:
            return DeviceNak()
        if len(data) == 1 and data[0] == ILLEGAL_COMMAND:
            return IllegalCommand()
        if command == Command.POLL:
            if not data or not 0x10 <= data[0] <= 0x8F:
                return UnexpectedReply(data, "not a poll state")
            return PollReply(data[0], bytes(data[1:]))
        if len(data) == 1 and data[0] == ACK:
            if command in DATA_REPLY_COMMANDS:
                return UnexpectedReply(data, f"bare ACK to {command.name}")
            return Ack()
        if command == Command.IDENTIFICATION:
            if len(data) < 27:
                return UnexpectedReply(data, "identification too short")
            return parse_identification(data)
        if command == Command.GET_BILL_TABLE:
            if len(data) < BILL_TABLE_ENTRIES * BILL_TABLE_ENTRY_LEN:
                return UnexpectedReply(data, "bill table too short")
            return parse_bill_table(data)
        if command == Command.GET_STATUS:
            if len(data) < 6:
                return UnexpectedReply(data, "status too short")
            return StatusReply(parse_mask(data[:3]), parse_mask(data[3:6]))
        if command in DATA_REPLY_COMMANDS:
            return RawReply(bytes(data))
        return UnexpectedReply(data, f"data in reply to {command.name}")

    def _after_reply(self, command: Command, reply: Reply) -> list[ProtocolEvent]:
        if isinstance(reply, BillTable):
            self.bill_table = reply
            self.bill_values = reply.for_country(self.country)
        elif isinstance(reply, Identification):
            self.identification = reply
        elif isinstance(reply, PollReply):
            return self._on_poll(reply)
        elif command in (Command.STACK, Command.RETURN) and self.escrow is not None:
            self.escrow.awaiting_answer = False
            if isinstance(reply, Ack | IllegalCommand):
                self.escrow.answered = True
        elif command == Command.RESET:
            self.escrow = None
            self._armed = False
        return []

    def _on_poll(self, reply: PollReply) -> list[ProtocolEvent]:
        code, arg = reply.code, reply.arg
        changed = code != self.last_state
        events: list[ProtocolEvent] = [StateSeen(code, reply.data, changed)]
        previous = self.last_state
        self.last_state = code
        if code in POWER_UP_STATES:
            self.escrow = None
            self._armed = False
            if code in POWER_UP_NOTE and previous != code:
                events.append(PowerUpNote(POWER_UP_NOTE[code]))
            return events
        if code in NOTE_MOVING_IN:
            self._armed = True
        if code in (0x80, 0x1A) and self.escrow is not None and self.escrow.awaiting_answer:
            # Still in escrow after a STACK/RETURN whose answer never came: the validator did
            # not obey it (it would have left escrow), so it may be sent again.
            self.escrow.awaiting_answer = False
        if code == 0x80 and arg is not None:
            if self.escrow is None:
                self.escrow = EscrowCycle(arg, self.bill_values.get(arg))
                events.append(Escrow(arg, self.escrow.paise))
        elif code == 0x81 and arg is not None:
            if self._armed:
                self._armed = False
                self.escrow = None
                events.append(Stacked(arg, self.bill_values.get(arg)))
            else:
                self.repeats_ignored += 1
                events.append(StackedRepeat(arg))
        elif code == 0x82:
            self._armed = False
            if self.escrow is not None:
                cycle, self.escrow = self.escrow, None
                bill_type = arg if arg is not None else cycle.bill_type
                events.append(Returned(bill_type, self.bill_values.get(bill_type)))
        elif code == 0x1C:
            self._armed = False
            if self.escrow is not None:
                cycle, self.escrow = self.escrow, None
                events.append(Returned(cycle.bill_type, cycle.paise))
            if previous != 0x1C:
                events.append(Rejected(arg or 0, reject_reason(arg or 0)))
        elif code in NOTE_GONE_STATES:
            self._armed = False
            if self.escrow is not None:
                # Back to idle with no 0x81: the note was not stacked (escrow timed out and
                # the 0x82 was missed). Not a credit.
                cycle, self.escrow = self.escrow, None
                events.append(Returned(cycle.bill_type, cycle.paise))
        return events
