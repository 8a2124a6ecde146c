"""ITL SSP / eSSP host protocol, sans-I/O.

Two objects, neither of which reads a port or sleeps:

* `SSPLink`: one slave on the line. Builds command frames (sequence flag, optional encryption)
  and turns received bytes into the reply to the outstanding command. A resend after a timeout
  is the *identical* frame (same flag, same encrypted bytes and counter), so the slave replays
  its last reply instead of executing the command again. Replies that are stray (wrong address,
  wrong flag), replayed (old eCOUNT) or unencrypted when encryption is on are refused.
* `NoteTracker`: poll events -> the shared acceptor events (escrow, credit, return, reject,
  status), with each physical note credited exactly once.

Plus the parsers for SETUP REQUEST and poll replies.
"""

from __future__ import annotations

import enum
import logging
import uuid
from dataclasses import dataclass, field

from drivers.acceptor import essp_status
from drivers.acceptor.essp_crypto import STEX, EncryptionError, EncryptionLayer
from drivers.acceptor.essp_framing import PacketDecoder, encode_packet
from drivers.base import (
    AcceptorEvent,
    DeviceStatus,
    NoteFoundAtPowerUp,
    NoteInEscrow,
    NoteRejected,
    NoteReturned,
    NoteStacked,
    StatusChanged,
)

log = logging.getLogger(__name__)


class Cmd(enum.IntEnum):
    RESET = 0x01
    SET_INHIBITS = 0x02
    SETUP_REQUEST = 0x05
    HOST_PROTOCOL_VERSION = 0x06
    POLL = 0x07
    REJECT = 0x08
    DISABLE = 0x09
    ENABLE = 0x0A
    GET_SERIAL = 0x0C
    SYNC = 0x11
    LAST_REJECT_CODE = 0x17
    HOLD = 0x18
    GET_FIRMWARE = 0x20
    GET_DATASET = 0x21
    SET_GENERATOR = 0x4A
    SET_MODULUS = 0x4B
    REQUEST_KEY_EXCHANGE = 0x4C
    POLL_WITH_ACK = 0x56
    EVENT_ACK = 0x57
    GET_COUNTERS = 0x58
    RESET_COUNTERS = 0x59


# Commands that always travel in clear: the ones that (re)build the link and the key.
PLAIN_COMMANDS = frozenset({Cmd.SYNC, Cmd.SET_GENERATOR, Cmd.SET_MODULUS, Cmd.REQUEST_KEY_EXCHANGE})

OK = 0xF0
KEY_NOT_SET = 0xFA
GENERIC_REPLIES = {
    0xF0: "ok",
    0xF2: "command not known",
    0xF3: "wrong number of parameters",
    0xF4: "parameter out of range",
    0xF5: "command cannot be processed",
    0xF6: "software error",
    0xF8: "fail",
    0xFA: "key not set",
}


class CommandFailed(Exception):
    """The slave answered with a generic error code instead of OK."""

    def __init__(self, command: int, code: int) -> None:
        self.command = command
        self.code = code
        name = GENERIC_REPLIES.get(code, f"0x{code:02x}")
        super().__init__(f"SSP command 0x{command:02x} answered {name} (0x{code:02x})")


@dataclass(frozen=True)
class Reply:
    code: int  # the generic reply byte (0xF0 = OK)
    data: bytes  # what follows it
    encrypted: bool  # came inside a good encrypted packet

    @property
    def ok(self) -> bool:
        return self.code == OK


class SSPLink:
    """Frames commands for one slave and matches replies to them (sans-I/O)."""

    def __init__(self, address: int = 0) -> None:
        self.address = address
        self.seq = True  # a SYNC always goes out with the flag set; the next packet has it clear
        self.encryption: EncryptionLayer | None = None
        self.decoder = PacketDecoder()
        self._pending: bytes | None = None
        self._pending_cmd = 0
        self._pending_encrypted = False
        # Counters for logs / tests.
        self.stray = 0  # good frames that were not the reply we wait for
        self.refused = 0  # replies refused by the encryption layer or because they were plain

    @property
    def pending(self) -> bytes | None:
        return self._pending

    def command(self, data: bytes) -> bytes:
        """The wire bytes for a new command; it becomes the outstanding one."""
        cmd = data[0]
        if cmd == Cmd.SYNC:
            self.seq = True
        encrypt = self.encryption is not None and cmd not in PLAIN_COMMANDS
        payload = self.encryption.wrap(data) if encrypt else bytes(data)
        self._pending = encode_packet(self.seq, self.address, payload)
        self._pending_cmd = cmd
        self._pending_encrypted = encrypt
        return self._pending

    def resend(self) -> bytes:
        """The outstanding command again, byte for byte (same flag, same eCOUNT)."""
        if self._pending is None:
            raise RuntimeError("no command outstanding")
        return self._pending

    def abandon(self) -> None:
        """Give up on the outstanding command (the caller will resynchronise)."""
        self._pending = None
        self.decoder.reset()

    def receive(self, data: bytes) -> Reply | None:
        """Feed received bytes; the reply to the outstanding command once it is complete."""
        result: Reply | None = None
        for packet in self.decoder.feed(data):
            if result is not None or self._pending is None:
                self.stray += 1
                continue
            if packet.address != self.address or packet.seq != self.seq:
                self.stray += 1
                continue
            reply = self._open(packet.data)
            if reply is None:
                continue
            result = reply
            self._pending = None
            self.seq = not self.seq
        return result

    def _open(self, payload: bytes) -> Reply | None:
        if not payload:
            self.stray += 1
            return None
        if self._pending_encrypted:
            if payload[0] != STEX:
                # A slave that lost its key (power cut) answers a bare "key not set" (or another
                # bare error byte) in clear. Nothing in clear that carries data is believed.
                if len(payload) == 1 and payload[0] != OK and payload[0] in GENERIC_REPLIES:
                    return Reply(payload[0], b"", False)
                self.refused += 1
                log.warning(
                    "eSSP: refused a plain reply to an encrypted command: %s", payload.hex(" ")
                )
                return None
            assert self.encryption is not None
            try:
                inner = self.encryption.unwrap(payload)
            except EncryptionError as exc:
                self.refused += 1
                log.warning("eSSP: refused an encrypted reply: %s", exc)
                return None
            if not inner:
                self.refused += 1
                return None
            return Reply(inner[0], inner[1:], True)
        if payload[0] == STEX:
            # An encrypted reply to a plain command: we cannot check it; refuse it.
            self.refused += 1
            return None
        return Reply(payload[0], payload[1:], False)


# ---------------------------------------------------------------- SETUP REQUEST


@dataclass(frozen=True)
class Channel:
    number: int  # 1-based
    value: int  # in whole currency units, as the slave reports it
    country: str
    paise: int


@dataclass(frozen=True)
class SetupInfo:
    unit_type: int
    firmware: str
    country: str
    value_multiplier: int
    real_value_multiplier: int
    protocol_version: int
    channels: tuple[Channel, ...]
    security: tuple[int, ...] = field(default=())

    def channel_paise(self) -> dict[int, int]:
        return {ch.number: ch.paise for ch in self.channels}


class SetupError(ValueError):
    pass


def parse_setup(data: bytes) -> SetupInfo:
    """SETUP REQUEST reply data (after the 0xF0) of a note validator.

    Layout: unit type (1), firmware (4 ASCII), country (3 ASCII), value multiplier (3, big
    endian), n channels (1), channel values (n), channel security (n), real value multiplier
    (3, big endian), protocol version (1); protocol 6+ adds channel countries (3n ASCII) and
    channel values (4n, each 32-bit little endian).

    Values are whole currency units (rupees): legacy value x value multiplier, or the expanded
    32-bit value. Paise = rupees x 100.
    """
    if len(data) < 12:
        raise SetupError(f"SETUP REQUEST reply too short ({len(data)} bytes)")
    unit_type = data[0]
    firmware = data[1:5].decode("ascii", "replace")
    country = data[5:8].decode("ascii", "replace")
    multiplier = int.from_bytes(data[8:11], "big")
    n = data[11]
    need = 12 + 2 * n + 4
    if len(data) < need:
        raise SetupError(f"SETUP REQUEST reply has {len(data)} bytes, {n} channels need {need}")
    values = list(data[12 : 12 + n])
    security = tuple(data[12 + n : 12 + 2 * n])
    real_multiplier = int.from_bytes(data[12 + 2 * n : 15 + 2 * n], "big")
    protocol = data[15 + 2 * n]
    countries = [country] * n
    units = [v * (multiplier or 1) for v in values]
    if protocol >= 6 and len(data) >= need + 7 * n:
        base = need
        countries = [
            data[base + 3 * i : base + 3 * i + 3].decode("ascii", "replace") for i in range(n)
        ]
        base += 3 * n
        units = [int.from_bytes(data[base + 4 * i : base + 4 * i + 4], "little") for i in range(n)]
    channels = tuple(
        Channel(i + 1, units[i], countries[i], units[i] * 100) for i in range(n) if units[i]
    )
    return SetupInfo(
        unit_type, firmware, country, multiplier, real_multiplier, protocol, channels, security
    )


# ---------------------------------------------------------------- poll events


@dataclass(frozen=True)
class PollEvent:
    code: int
    data: bytes = b""

    @property
    def channel(self) -> int:
        return self.data[0] if self.data else 0

    def __str__(self) -> str:
        name = essp_status.event_name(self.code)
        return f"{name}({self.channel})" if self.data else name


def parse_events(data: bytes) -> tuple[list[PollEvent], bytes]:
    """Poll reply data (after 0xF0) -> events oldest first, plus any bytes not understood.

    An unknown event code stops the parse (its length is unknown); the rest is returned so the
    caller can log it.
    """
    events: list[PollEvent] = []
    i = 0
    while i < len(data):
        info = essp_status.EVENTS.get(data[i])
        if info is None or i + 1 + info.data_len > len(data):
            return events, bytes(data[i:])
        events.append(PollEvent(data[i], bytes(data[i + 1 : i + 1 + info.data_len])))
        i += 1 + info.data_len
    return events, b""


class Escrow(enum.Enum):
    UNDECIDED = "undecided"  # host sends HOLD instead of POLL
    ACCEPT = "accept"  # the next POLL stacks it
    RETURN = "return"  # REJECT sent, waiting for EC


@dataclass
class EscrowNote:
    note_id: str
    channel: int
    paise: int
    decision: Escrow = Escrow.UNDECIDED
    reject_sent: bool = False  # the slave acknowledged our REJECT


@dataclass
class PollOutcome:
    events: list[AcceptorEvent] = field(default_factory=list)
    rejects_to_explain: int = 0  # NoteRejected events waiting for LAST REJECT CODE
    device_reset: bool = False  # F1 seen: the slave lost its key and its settings


class NoteTracker:
    """Poll events -> shared acceptor events. One instance per driver, survives resyncs."""

    def __init__(self, channel_paise: dict[int, int] | None = None) -> None:
        self.channel_paise: dict[int, int] = dict(channel_paise or {})
        self.escrow: EscrowNote | None = None
        self.conditions: set[str] = set()
        self.status: DeviceStatus = essp_status.status_from_conditions(set())
        self._rejecting = False  # ED seen, EC not yet
        self.credits = 0

    def paise(self, channel: int) -> int:
        return self.channel_paise.get(channel, 0)

    def should_hold(self) -> bool:
        return self.escrow is not None and self.escrow.decision is Escrow.UNDECIDED

    def should_reject(self) -> bool:
        """The host chose to return the note and the slave has not acknowledged REJECT yet.

        Until it has, the host sends REJECT again instead of POLL: a POLL would stack the note.
        """
        return (
            self.escrow is not None
            and self.escrow.decision is Escrow.RETURN
            and not self.escrow.reject_sent
        )

    def reject_acknowledged(self) -> None:
        if self.escrow is not None:
            self.escrow.reject_sent = True

    def decide(self, decision: Escrow) -> bool:
        """Record the host's decision on the note in escrow; False if there is none."""
        if self.escrow is None or self.escrow.decision is not Escrow.UNDECIDED:
            return False
        self.escrow.decision = decision
        return True

    def on_poll(self, events: list[PollEvent]) -> PollOutcome:
        out = PollOutcome()
        for ev in events:
            self._note_event(ev, out)
        conditions = essp_status.update_conditions(self.conditions, [ev.code for ev in events])
        self.set_conditions(conditions, out)
        return out

    def set_conditions(self, conditions: set[str], out: PollOutcome | None = None) -> None:
        self.conditions = conditions
        status = essp_status.status_from_conditions(conditions)
        if status != self.status:
            self.status = status
            if out is not None:
                out.events.append(StatusChanged(status))

    def _note_event(self, ev: PollEvent, out: PollOutcome) -> None:
        code = ev.code
        if code == 0xF1:
            out.device_reset = True
        elif code == 0xEF:
            if ev.channel == 0:
                return
            if self.escrow is not None and self.escrow.channel == ev.channel:
                return  # the same note reported again
            if self.escrow is not None:
                log.warning(
                    "eSSP: new escrow on channel %d while note %s was in escrow",
                    ev.channel,
                    self.escrow.note_id,
                )
            note = EscrowNote(uuid.uuid4().hex, ev.channel, self.paise(ev.channel))
            self.escrow = note
            out.events.append(NoteInEscrow(note.note_id, note.paise))
        elif code == 0xEE:
            # The credit point. Each EE is one note in the cashbox.
            note = self.escrow
            self.escrow = None
            self.credits += 1
            if note is not None and note.channel == ev.channel:
                out.events.append(NoteStacked(note.note_id, note.paise))
            else:
                if note is not None:
                    log.error(
                        "eSSP: credit on channel %d but escrow was channel %d",
                        ev.channel,
                        note.channel,
                    )
                out.events.append(NoteStacked(uuid.uuid4().hex, self.paise(ev.channel)))
        elif code == 0xED:
            self._rejecting = True
        elif code == 0xEC:
            self._rejecting = False
            note = self.escrow
            if note is not None:
                self.escrow = None
                out.events.append(NoteReturned(note.note_id, note.paise))
            else:
                out.events.append(NoteRejected("unknown"))
                out.rejects_to_explain += 1
        elif code == 0xE1:
            note = self.escrow
            self.escrow = None
            if note is not None:
                out.events.append(NoteReturned(note.note_id, note.paise))
            else:
                out.events.append(NoteFoundAtPowerUp("validator", self.paise(ev.channel) or None))
        elif code == 0xE2:
            # A note the slave put in the cashbox while resetting: money the citizen gave.
            # Recovery decides where it goes; the escrow (if any) ends here without NoteStacked.
            self.escrow = None
            self.credits += 1
            out.events.append(NoteFoundAtPowerUp("stacker", self.paise(ev.channel) or None))
        elif code == 0xE6:
            log.warning("eSSP: fraud attempt on channel %d", ev.channel)

    def explain_rejects(self, out: PollOutcome, reason: str) -> None:
        """Fill in the reason of the NoteRejected events of `out` (from LAST REJECT CODE)."""
        for i, ev in enumerate(out.events):
            if isinstance(ev, NoteRejected) and ev.reason == "unknown":
                out.events[i] = NoteRejected(reason, ev.paise)
        out.rejects_to_explain = 0


def setup_request_reply(info: SetupInfo) -> bytes:
    """The reply data (after 0xF0) that `parse_setup` reads back into `info` (for tests)."""
    n = len(info.channels)
    legacy = bytes(min(ch.value, 255) for ch in info.channels)
    out = bytearray((info.unit_type,))
    out += info.firmware.encode("ascii")[:4].ljust(4, b"0")
    out += info.country.encode("ascii")[:3]
    out += info.value_multiplier.to_bytes(3, "big")
    out.append(n)
    out += legacy
    out += bytes(info.security or (2,) * n)
    out += info.real_value_multiplier.to_bytes(3, "big")
    out.append(info.protocol_version)
    if info.protocol_version >= 6:
        for ch in info.channels:
            out += ch.country.encode("ascii")[:3]
        for ch in info.channels:
            out += ch.value.to_bytes(4, "little")
    return bytes(out)
