"""ITL eSSP (NV9 / NV10 / NV200) note validator simulator, written from the device's side.

Speaks SSP over a pty: `7F | SEQ/ID | LEN | DATA | CRCL CRCH`, CRC-16 polynomial 0x8005 seed
0xFFFF (not reflected) over SEQ/ID..DATA, every 0x7F after the STX sent twice. On top of it the
eSSP encryption layer: DATA = `7E` + AES-128-ECB blocks of
`eLENGTH | eCOUNT (4, little endian) | eDATA | random packing | eCRCL eCRCH`.

Choices (checked against ITL's manual GA138 and ITL's reference host library):
- AES key bytes = fixed key (8 bytes little endian) + negotiated key (8 bytes little endian):
  the 128-bit key as a little-endian number has the fixed part in its lower 64 bits.
- SET GENERATOR / SET MODULUS / REQUEST KEY EXCHANGE carry 64-bit numbers little endian; the
  reply to REQUEST KEY EXCHANGE is F0 + the slave inter key (8 bytes little endian).
- Counter: reset to 0 when a key is negotiated. A command must carry the count the device expects
  (N); the device then expects N+1 next and its encrypted reply carries N+1 (what the ITL
  library checks: it compares the reply count with its own counter after incrementing it for
  the command, and does not increment it again on receipt). A packet whose count is not the
  expected one, or whose eCRC fails, is discarded without a reply.
- With `encryption_required`, before a key exists only SYNC, key negotiation and the read-only
  identity commands (host protocol, setup request, serial, firmware, dataset, last reject code)
  are accepted in plain; everything else answers FA. Once a key exists, only SYNC and key
  (re)negotiation are accepted in plain; every other plain command answers FA.
- Sequence flag: a packet with the same flag as the previous one gets the previous reply again
  without being executed (as the manual says, whatever its content). SYNC is always executed
  and makes the device expect flag 0 next.

Runs standalone: `python -m sim.devices.essp` prints the pty path on its first line and the
control port on the second.
"""

from __future__ import annotations

import argparse
import asyncio
import enum
import json
import logging
import secrets
import signal
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from Crypto.Cipher import AES

from sim.devices.ptyport import PtyDevice

log = logging.getLogger("sim.essp")

STX = 0x7F
STEX = 0x7E

# commands
CMD_RESET = 0x01
CMD_SET_INHIBITS = 0x02
CMD_SETUP_REQUEST = 0x05
CMD_HOST_PROTOCOL = 0x06
CMD_POLL = 0x07
CMD_REJECT = 0x08
CMD_DISABLE = 0x09
CMD_ENABLE = 0x0A
CMD_GET_SERIAL = 0x0C
CMD_SYNC = 0x11
CMD_LAST_REJECT = 0x17
CMD_HOLD = 0x18
CMD_FIRMWARE = 0x20
CMD_DATASET = 0x21
CMD_SET_GENERATOR = 0x4A
CMD_SET_MODULUS = 0x4B
CMD_KEY_EXCHANGE = 0x4C
CMD_POLL_WITH_ACK = 0x56
CMD_EVENT_ACK = 0x57
CMD_GET_COUNTERS = 0x58
CMD_RESET_COUNTERS = 0x59

# generic replies
OK = 0xF0
UNKNOWN = 0xF2
WRONG_PARAMS = 0xF3
OUT_OF_RANGE = 0xF4
CANNOT_PROCESS = 0xF5
FAIL = 0xF8
KEY_NOT_SET = 0xFA

# poll events
EV_SLAVE_RESET = 0xF1
EV_READ = 0xEF
EV_CREDIT = 0xEE
EV_REJECTING = 0xED
EV_REJECTED = 0xEC
EV_STACKING = 0xCC
EV_STACKED = 0xEB
EV_SAFE_JAM = 0xEA
EV_UNSAFE_JAM = 0xE9
EV_DISABLED = 0xE8
EV_STACKER_FULL = 0xE7
EV_FRAUD = 0xE6
EV_CASHBOX_REPLACED = 0xE4
EV_CASHBOX_REMOVED = 0xE3
EV_CLEARED_INTO_CASHBOX = 0xE2
EV_CLEARED_FROM_FRONT = 0xE1
EV_CHANNEL_DISABLE = 0xB5
EV_INITIALISING = 0xB6

# events that need EVENT ACK when read with POLL WITH ACK
_ACK_EVENTS = {EV_CREDIT, EV_CLEARED_INTO_CASHBOX, EV_FRAUD}

# reject codes (LAST REJECT CODE)
REJECT_NONE = 0x00
REJECT_NOT_RECOGNISED = 0x02
REJECT_BY_HOST = 0x08
REJECT_ESCROW_TIMEOUT = 0x13
REJECT_DISABLED_BY_HOST = 0x0C

_PLAIN_ALWAYS = {CMD_SYNC, CMD_SET_GENERATOR, CMD_SET_MODULUS, CMD_KEY_EXCHANGE}
_PLAIN_BEFORE_KEY = {
    CMD_HOST_PROTOCOL,
    CMD_SETUP_REQUEST,
    CMD_GET_SERIAL,
    CMD_FIRMWARE,
    CMD_DATASET,
    CMD_LAST_REJECT,
}

DEFAULT_CHANNELS = [10, 20, 50, 100, 200, 500, 2000]
DEFAULT_PROTOCOL = 6
FIRMWARE_SHORT = b"0410"
FIRMWARE_FULL = b"NV02004100000000"
DATASET = b"INR01610"
COUNTRY = b"INR"
REAL_VALUE_MULTIPLIER = 100  # paise per rupee


# ---------------------------------------------------------------------------------------------
# framing
# ---------------------------------------------------------------------------------------------


def crc16(data: bytes | bytearray) -> int:
    """SSP CRC: polynomial 0x8005, seed 0xFFFF, MSB first, no reflection, no final XOR."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def build_frame(seqid: int, data: bytes, *, crc_xor: int = 0) -> bytes:
    """A complete stuffed SSP frame for SEQ/ID byte `seqid` and DATA `data` (`crc_xor` != 0
    makes a frame with a wrong CRC, for fault injection)."""
    if not 1 <= len(data) <= 255:
        raise ValueError("SSP data must be 1..255 bytes")
    body = bytes([seqid, len(data)]) + data
    crc = crc16(body) ^ crc_xor
    body += bytes([crc & 0xFF, crc >> 8])
    return bytes([STX]) + body.replace(b"\x7f", b"\x7f\x7f")


class FrameParser:
    """Turns received bytes into (seqid, data) for every frame whose CRC is right.

    A lone STX (one not followed by a second STX) inside a frame restarts reception with the
    next byte as the address byte, as the manual describes.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._inside = False
        self._stx_seen = False
        self.bad_frames = 0

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        out: list[tuple[int, bytes]] = []
        for byte in data:
            if not self._inside:
                if byte == STX:
                    self._inside = True
                    self._buf.clear()
                    self._stx_seen = False
                continue
            if self._stx_seen:
                self._stx_seen = False
                if byte == STX:
                    self._buf.append(STX)
                else:
                    self._buf = bytearray([byte])
            elif byte == STX:
                self._stx_seen = True
                continue
            else:
                self._buf.append(byte)
            frame = self._complete()
            if frame is not None:
                out.append(frame)
        return out

    def _complete(self) -> tuple[int, bytes] | None:
        buf = self._buf
        if len(buf) < 2 or len(buf) < buf[1] + 4:
            return None
        self._inside = False
        length = buf[1]
        body, crc = bytes(buf[: length + 2]), buf[length + 2] | (buf[length + 3] << 8)
        if length == 0 or crc16(body) != crc:
            self.bad_frames += 1
            return None
        return body[0], body[2:]


# ---------------------------------------------------------------------------------------------
# encryption helpers
# ---------------------------------------------------------------------------------------------


def is_probable_prime(n: int) -> bool:
    """Deterministic Miller-Rabin for 64-bit numbers."""
    if n < 2:
        return False
    small = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)
    for p in small:
        if n % p == 0:
            return n == p
    d, r = n - 1, 0
    while d % 2 == 0:
        d //= 2
        r += 1
    for a in small:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def aes_key(fixed_key: int, negotiated_key: int) -> bytes:
    return fixed_key.to_bytes(8, "little") + negotiated_key.to_bytes(8, "little")


def encrypt_payload(key: bytes, count: int, data: bytes) -> bytes:
    """`7E` + AES-ECB(eLENGTH, eCOUNT, eDATA, packing, eCRC)."""
    plain = bytes([len(data)]) + count.to_bytes(4, "little") + data
    pad = (-(len(plain) + 2)) % 16
    plain += secrets.token_bytes(pad)
    crc = crc16(plain)
    plain += bytes([crc & 0xFF, crc >> 8])
    return bytes([STEX]) + AES.new(key, AES.MODE_ECB).encrypt(plain)


def decrypt_payload(key: bytes, payload: bytes) -> tuple[int, bytes] | None:
    """(count, data) from `7E`+blocks, or None when the blocks or the eCRC are wrong."""
    blocks = payload[1:]
    if not blocks or len(blocks) % 16:
        return None
    plain = AES.new(key, AES.MODE_ECB).decrypt(blocks)
    length = plain[0]
    if length == 0 or 7 + length > len(plain):
        return None
    if crc16(plain[:-2]) != plain[-2] | (plain[-1] << 8):
        return None
    return int.from_bytes(plain[1:5], "little"), plain[5 : 5 + length]


# ---------------------------------------------------------------------------------------------
# device model
# ---------------------------------------------------------------------------------------------


class Phase(enum.Enum):
    IDLE = "idle"
    READING = "reading"
    ESCROW = "escrow"
    STACKING = "stacking"
    REJECTING = "rejecting"


@dataclass
class _Note:
    rupees: int
    channel: int  # 0 = value not in the dataset
    reject_reason: int | None = None


def _multiplier_for(values: list[int]) -> int:
    """Value multiplier so each channel value fits one byte; 0 = only the expanded values."""
    for mult in (1, 10, 100, 1000):
        if all(v % mult == 0 and 1 <= v // mult <= 255 for v in values):
            return mult
    return 0


class ESSPSimulator:
    """NV9/NV200-like note validator on a pty. See the module docstring for protocol choices."""

    def __init__(
        self,
        *,
        channel_values: list[int] | None = None,
        escrow_timeout: float = 10.0,
        paced: bool = False,
        encryption_required: bool = True,
        fixed_key: int = 0x0123456701234567,
        serial_number: int = 1234567,
        address: int = 0,
    ) -> None:
        self.channel_values = list(channel_values or DEFAULT_CHANNELS)
        if not 1 <= len(self.channel_values) <= 16:
            raise ValueError("1..16 channels")
        self.escrow_timeout = escrow_timeout
        self.encryption_required = encryption_required
        self.fixed_key = fixed_key & 0xFFFFFFFFFFFFFFFF
        self.serial_number = serial_number
        self.address = address & 0x7F
        self._port = PtyDevice(baudrate=9600, bits_per_byte=11, paced=paced)
        self._parser = FrameParser()
        self._task: asyncio.Task[None] | None = None
        # observable results
        self.stacked: list[int] = []
        # Tests: called the instant a note lands in the cassette (e.g. to freeze the host there).
        self.on_stacked = None
        # Benchmarks: on_report_sent(kind, t) once a poll reply carrying a fresh credit (EE) event
        # has been written (t = time.time() when the write returned; paced, a byte time or more
        # after the last byte reached the host); kind is "credit". Replays of the same events
        # (a repeated flag, POLL WITH ACK until EVENT ACK) are not reported again. Runs on the
        # simulator's loop; must be quick.
        self.on_report_sent: Callable[[str, float], None] | None = None
        self._credit_in_reply = False
        self.returned: list[int] = []
        self.credits_reported = 0
        self.commands_seen: list[int] = []
        self.counters = {"stacked": 0, "stored": 0, "dispensed": 0, "transferred": 0, "rejected": 0}
        # faults
        self._drop = 0
        self._corrupt = False
        self._delay = 0.0
        self._jam: str | None = None  # "safe" / "unsafe"
        self._stacker_full = False
        self._cashbox_out = False
        self._off_until = 0.0
        self._after_reply: Callable[[], None] | None = None
        self._synced = False
        self._power_up(initial=True)

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._port.start()
        self._task = asyncio.create_task(self._serve(), name="essp-sim")

    @property
    def path(self) -> str:
        return self._port.path

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        self._port.close()

    # -- state visible to tests --------------------------------------------------------------

    @property
    def key_negotiated(self) -> bool:
        return self._key is not None

    @property
    def enabled(self) -> bool:
        return self._enabled

    @property
    def inhibit_mask(self) -> int:
        return self._inhibits

    @property
    def protocol_version(self) -> int:
        return self._protocol

    @property
    def state_name(self) -> str:
        if time.monotonic() < self._off_until:
            return "power_off"
        if self._jam:
            return f"{self._jam}_jam"
        if self._phase is not Phase.IDLE:
            return self._phase.value
        if self._cashbox_out:
            return "cashbox_removed"
        if self._stacker_full:
            return "stacker_full"
        return "idle" if self._enabled else "disabled"

    # -- note handling -----------------------------------------------------------------------

    def insert_note(self, rupees: int, *, reject_reason: int | None = None) -> None:
        """A citizen pushes a note into the bezel."""
        if not self._enabled or time.monotonic() < self._off_until:
            log.info("note ₹%d offered while disabled: bezel refuses it", rupees)
            self.returned.append(rupees)
            return
        channel = self.channel_values.index(rupees) + 1 if rupees in self.channel_values else 0
        self._pending.append(_Note(rupees, channel, reject_reason))

    # -- faults -------------------------------------------------------------------------------

    def jam(self, safe: bool = True) -> None:
        self._jam = "safe" if safe else "unsafe"

    def clear_jam(self) -> None:
        self._jam = None
        if self._note is not None and self._phase in (Phase.READING, Phase.ESCROW):
            self._start_reject(REJECT_NOT_RECOGNISED)

    def set_stacker_full(self, full: bool = True) -> None:
        self._stacker_full = full

    def remove_cashbox(self) -> None:
        self._cashbox_out = True

    def replace_cashbox(self) -> None:
        if self._cashbox_out:
            self._cashbox_out = False
            self._events.append(bytes([EV_CASHBOX_REPLACED]))

    def fraud(self, channel: int = 0) -> None:
        self._events.append(bytes([EV_FRAUD, channel & 0xFF]))

    def disable_channel_report(self) -> None:
        """The device loses its channel enables (all inhibited): B5 gets reported (protocol 7+)."""
        self._inhibits = 0

    def power_cut(self, note_in: str | None = None, *, downtime: float = 0.0) -> None:
        """Power fails and comes back. `note_in` overrides where a note in the path ends up:
        "front" (E1, returned) or "cashbox" (E2, stacked: the host must credit it). By default
        a note in escrow goes back to the front and a note already stacking into the cashbox."""
        if note_in not in (None, "front", "cashbox"):
            raise ValueError("note_in must be None, 'front' or 'cashbox'")
        note = self._note
        if note is None and note_in is not None and self._pending:
            note = self._pending.popleft()
        cleared: bytes | None = None
        if note is not None:
            where = note_in or ("cashbox" if self._phase is Phase.STACKING else "front")
            if where == "cashbox":
                self._stack(note)
                cleared = bytes([EV_CLEARED_INTO_CASHBOX, note.channel])
            else:
                self._return(note)
                cleared = bytes([EV_CLEARED_FROM_FRONT, note.channel])
        self._flush_pending()
        self._power_up()
        self._parser = FrameParser()
        self._events.extend([bytes([EV_SLAVE_RESET]), bytes([EV_INITIALISING])])
        if cleared:
            self._events.append(cleared)
        self._jam = None
        self._off_until = time.monotonic() + downtime

    def drop_next_replies(self, n: int = 1) -> None:
        self._drop += n

    def corrupt_next_reply(self) -> None:
        self._corrupt = True

    def set_reply_delay(self, seconds: float) -> None:
        self._delay = max(0.0, seconds)

    # -- internals: power / state ------------------------------------------------------------

    def _power_up(self, *, initial: bool = False) -> None:
        """Volatile state after power-up or RESET: disabled, all inhibited, no key, no sequence."""
        self._enabled = False
        self._inhibits = 0
        self._protocol = DEFAULT_PROTOCOL
        self._generator: int | None = None
        self._modulus: int | None = None
        self._key: bytes | None = None
        self._enc_count = 0
        self._last_flag: int | None = None
        self._last_reply: bytes | None = None
        self._phase = Phase.IDLE
        self._note: _Note | None = None
        self._pending: deque[_Note] = deque()
        self._escrow_deadline = 0.0
        self._last_reject = REJECT_NONE
        self._events: list[bytes] = []
        self._ack_pending: list[bytes] = []
        if initial:
            self._events.append(bytes([EV_SLAVE_RESET]))

    def _flush_pending(self) -> None:
        """Notes still waiting at the bezel go back to the citizen (power cut, reset)."""
        while self._pending:
            self.returned.append(self._pending.popleft().rupees)

    def _stack(self, note: _Note) -> None:
        self.stacked.append(note.rupees)
        self.credits_reported += 1
        self.counters["stacked"] += 1
        if self.on_stacked is not None:
            self.on_stacked(note.rupees)

    def _return(self, note: _Note) -> None:
        self.returned.append(note.rupees)
        self.counters["rejected"] += 1

    def _begin_reject(self, reason: int) -> bytes:
        """Move the note in the path to rejecting; returns the REJECTING event."""
        self._last_reject = reason
        self._phase = Phase.REJECTING
        return bytes([EV_REJECTING])

    def _start_reject(self, reason: int) -> None:
        self._events.append(self._begin_reject(reason))

    def _channel_enabled(self, channel: int) -> bool:
        return channel > 0 and bool(self._inhibits >> (channel - 1) & 1)

    def _tick(self) -> None:
        if (
            self._phase is Phase.ESCROW
            and not self._jam
            and time.monotonic() >= self._escrow_deadline
        ):
            log.info("escrow timeout: rejecting ₹%d", self._note.rupees if self._note else 0)
            self._start_reject(REJECT_ESCROW_TIMEOUT)

    def _poll_events(self) -> list[bytes]:
        """Advance the note path one step (a POLL accepts a note in escrow); all events since
        the last poll, oldest first."""
        self._tick()
        events, self._events = self._events, []
        if self._jam:
            events.append(bytes([EV_SAFE_JAM if self._jam == "safe" else EV_UNSAFE_JAM]))
        else:
            events.extend(self._advance())
        if self._stacker_full:
            events.append(bytes([EV_STACKER_FULL]))
        if self._cashbox_out:
            events.append(bytes([EV_CASHBOX_REMOVED]))
        if self._phase is Phase.IDLE and not self._enabled:
            events.append(bytes([EV_DISABLED]))
        elif self._enabled and self._inhibits == 0 and self._protocol >= 7:
            events.append(bytes([EV_CHANNEL_DISABLE]))
        if any(ev[0] == EV_CREDIT for ev in events):
            self._credit_in_reply = True  # instrumentation only (on_report_sent)
        return events

    def _advance(self) -> list[bytes]:
        note = self._note
        if self._phase is Phase.IDLE:
            if self._pending and self._enabled and not (self._stacker_full or self._cashbox_out):
                self._note = self._pending.popleft()
                self._phase = Phase.READING
                return [bytes([EV_READ, 0])]
            return []
        assert note is not None
        if self._phase is Phase.READING:
            if note.reject_reason is not None:
                return [self._begin_reject(note.reject_reason)]
            if note.channel == 0:
                return [self._begin_reject(REJECT_NOT_RECOGNISED)]
            if not self._channel_enabled(note.channel):
                return [self._begin_reject(REJECT_DISABLED_BY_HOST)]
            self._phase = Phase.ESCROW
            self._escrow_deadline = time.monotonic() + self.escrow_timeout
            return [bytes([EV_READ, note.channel])]
        if self._phase is Phase.ESCROW:  # this poll is the host's "accept"
            self._phase = Phase.STACKING
            return [bytes([EV_STACKING])]
        if self._phase is Phase.STACKING:
            self._stack(note)
            self._note, self._phase = None, Phase.IDLE
            log.info("credit ₹%d (channel %d)", note.rupees, note.channel)
            return [bytes([EV_CREDIT, note.channel]), bytes([EV_STACKED])]
        # REJECTING
        self._return(note)
        self._note, self._phase = None, Phase.IDLE
        return [bytes([EV_REJECTED])]

    # -- internals: commands -----------------------------------------------------------------

    def _execute(self, cmd: int, args: bytes, encrypted: bool) -> bytes:
        self.commands_seen.append(cmd)
        if self.encryption_required and not encrypted and cmd not in _PLAIN_ALWAYS:
            if self._key is not None or cmd not in _PLAIN_BEFORE_KEY:
                log.info("plain command %02X refused: encryption required", cmd)
                return bytes([KEY_NOT_SET])
        if self._phase is Phase.ESCROW and cmd not in (CMD_POLL, CMD_POLL_WITH_ACK):
            self._escrow_deadline = time.monotonic() + self.escrow_timeout
        handler = self._handlers().get(cmd)
        if handler is None:
            return bytes([UNKNOWN])
        return handler(args)

    def _handlers(self) -> dict[int, Callable[[bytes], bytes]]:
        return {
            CMD_RESET: self._cmd_reset,
            CMD_SET_INHIBITS: self._cmd_set_inhibits,
            CMD_SETUP_REQUEST: self._cmd_setup,
            CMD_HOST_PROTOCOL: self._cmd_host_protocol,
            CMD_POLL: self._cmd_poll,
            CMD_REJECT: self._cmd_reject,
            CMD_DISABLE: self._cmd_disable,
            CMD_ENABLE: self._cmd_enable,
            CMD_GET_SERIAL: self._cmd_serial,
            CMD_SYNC: self._cmd_sync,
            CMD_LAST_REJECT: self._cmd_last_reject,
            CMD_HOLD: self._cmd_hold,
            CMD_FIRMWARE: lambda a: bytes([OK]) + FIRMWARE_FULL,
            CMD_DATASET: lambda a: bytes([OK]) + DATASET,
            CMD_SET_GENERATOR: self._cmd_set_generator,
            CMD_SET_MODULUS: self._cmd_set_modulus,
            CMD_KEY_EXCHANGE: self._cmd_key_exchange,
            CMD_POLL_WITH_ACK: self._cmd_poll_with_ack,
            CMD_EVENT_ACK: self._cmd_event_ack,
            CMD_GET_COUNTERS: self._cmd_counters,
            CMD_RESET_COUNTERS: self._cmd_reset_counters,
        }

    def _cmd_reset(self, args: bytes) -> bytes:
        self._after_reply = self._do_reset
        return bytes([OK])

    def _do_reset(self) -> None:
        note, phase = self._note, self._phase
        self._flush_pending()
        self._power_up()
        self._jam = None
        self._events.append(bytes([EV_SLAVE_RESET]))
        if note is not None:
            if phase is Phase.STACKING:
                self._stack(note)
                self._events.append(bytes([EV_CLEARED_INTO_CASHBOX, note.channel]))
            else:
                self._return(note)
                self._events.append(bytes([EV_CLEARED_FROM_FRONT, note.channel]))

    def _cmd_set_inhibits(self, args: bytes) -> bytes:
        if not 1 <= len(args) <= 3:
            return bytes([WRONG_PARAMS])
        self._inhibits = int.from_bytes(args, "little") & ((1 << len(self.channel_values)) - 1)
        return bytes([OK])

    def _cmd_setup(self, args: bytes) -> bytes:
        values = self.channel_values
        n = len(values)
        mult = _multiplier_for(values)
        out = bytearray([OK, 0x00])
        out += FIRMWARE_SHORT + COUNTRY + mult.to_bytes(3, "big") + bytes([n])
        out += bytes(v // mult if mult else 0 for v in values)
        out += bytes([2 if mult else 0] * n)
        out += REAL_VALUE_MULTIPLIER.to_bytes(3, "big") + bytes([self._protocol])
        if self._protocol >= 6:
            out += COUNTRY * n
            for v in values:
                out += v.to_bytes(4, "little")
        return bytes(out)

    def _cmd_host_protocol(self, args: bytes) -> bytes:
        if len(args) != 1:
            return bytes([WRONG_PARAMS])
        if not 6 <= args[0] <= 8:
            return bytes([FAIL])
        self._protocol = args[0]
        return bytes([OK])

    def _cmd_poll(self, args: bytes) -> bytes:
        events = self._ack_pending + self._poll_events()
        self._ack_pending = []
        return bytes([OK]) + b"".join(events)

    def _cmd_poll_with_ack(self, args: bytes) -> bytes:
        if not self._ack_pending:
            events = self._poll_events()
            if any(ev[0] in _ACK_EVENTS for ev in events):
                self._ack_pending = events
            return bytes([OK]) + b"".join(events)
        return bytes([OK]) + b"".join(self._ack_pending)

    def _cmd_event_ack(self, args: bytes) -> bytes:
        if not self._ack_pending:
            return bytes([CANNOT_PROCESS])
        self._ack_pending = []
        return bytes([OK])

    def _cmd_reject(self, args: bytes) -> bytes:
        if self._phase is not Phase.ESCROW:
            return bytes([CANNOT_PROCESS])
        self._start_reject(REJECT_BY_HOST)
        return bytes([OK])

    def _cmd_hold(self, args: bytes) -> bytes:
        if self._phase is not Phase.ESCROW:
            return bytes([CANNOT_PROCESS])
        self._escrow_deadline = time.monotonic() + self.escrow_timeout
        return bytes([OK])

    def _cmd_disable(self, args: bytes) -> bytes:
        self._enabled = False
        return bytes([OK])

    def _cmd_enable(self, args: bytes) -> bytes:
        self._enabled = True
        return bytes([OK])

    def _cmd_serial(self, args: bytes) -> bytes:
        return bytes([OK]) + (self.serial_number & 0xFFFFFFFF).to_bytes(4, "big")

    def _cmd_sync(self, args: bytes) -> bytes:
        self._synced = True
        return bytes([OK])

    def _cmd_last_reject(self, args: bytes) -> bytes:
        return bytes([OK, self._last_reject])

    def _cmd_set_generator(self, args: bytes) -> bytes:
        if len(args) != 8:
            return bytes([WRONG_PARAMS])
        value = int.from_bytes(args, "little")
        if not is_probable_prime(value):
            return bytes([OUT_OF_RANGE])
        self._generator = value
        return bytes([OK])

    def _cmd_set_modulus(self, args: bytes) -> bytes:
        if len(args) != 8:
            return bytes([WRONG_PARAMS])
        value = int.from_bytes(args, "little")
        if not is_probable_prime(value):
            return bytes([OUT_OF_RANGE])
        self._modulus = value
        return bytes([OK])

    def _cmd_key_exchange(self, args: bytes) -> bytes:
        if len(args) != 8:
            return bytes([WRONG_PARAMS])
        g, p = self._generator, self._modulus
        if g is None or p is None or p < 5:
            return bytes([FAIL])
        host_inter = int.from_bytes(args, "little")
        secret = 2 + secrets.randbelow(p - 3)
        slave_inter = pow(g, secret, p)
        negotiated = pow(host_inter, secret, p)
        new_key = aes_key(self.fixed_key, negotiated)

        def install() -> None:
            self._key = new_key
            self._enc_count = 0
            log.info("encryption key negotiated")

        self._after_reply = install
        return bytes([OK]) + slave_inter.to_bytes(8, "little")

    def _cmd_counters(self, args: bytes) -> bytes:
        c = self.counters
        out = bytearray([OK, 5])
        for name in ("stacked", "stored", "dispensed", "transferred", "rejected"):
            out += (c[name] & 0xFFFFFFFF).to_bytes(4, "little")
        return bytes(out)

    def _cmd_reset_counters(self, args: bytes) -> bytes:
        for name in self.counters:
            self.counters[name] = 0
        return bytes([OK])

    # -- internals: packets ------------------------------------------------------------------

    def _handle_packet(self, seqid: int, data: bytes) -> bytes | None:
        """Reply DATA for one good frame, or None for no reply at all."""
        self._credit_in_reply = False
        if seqid & 0x7F != self.address:
            return None
        flag = seqid & 0x80
        plain_sync = data[0] == CMD_SYNC
        if not plain_sync and flag == self._last_flag and self._last_reply is not None:
            log.debug("repeated flag: replaying the last reply")
            return self._last_reply
        self._after_reply = None
        self._synced = False
        if data[0] == STEX:
            reply = self._handle_encrypted(data)
            if reply is None:
                return None
        else:
            reply = self._execute(data[0], data[1:], encrypted=False)
        if self._after_reply is not None:
            self._after_reply()
            self._after_reply = None
        if self._synced:
            self._last_flag = 0x80  # the next packet must carry flag 0
        else:
            self._last_flag = flag
        self._last_reply = reply
        return reply

    def _handle_encrypted(self, data: bytes) -> bytes | None:
        key = self._key
        if key is None:
            log.info("encrypted packet but no key negotiated")
            return bytes([KEY_NOT_SET])
        opened = decrypt_payload(key, data)
        if opened is None:
            log.warning("encrypted packet with a bad eCRC (wrong key?): discarded")
            return None
        count, inner = opened
        if count != self._enc_count:
            log.warning("encrypted packet count %d, expected %d: discarded", count, self._enc_count)
            return None
        self._enc_count = (self._enc_count + 1) & 0xFFFFFFFF
        reply = self._execute(inner[0], inner[1:], encrypted=True)
        return encrypt_payload(key, self._enc_count, reply)

    async def _serve(self) -> None:
        while True:
            data = await self._port.read(0.05)
            if data and time.monotonic() >= self._off_until:
                for seqid, payload in self._parser.feed(data):
                    reply = self._handle_packet(seqid, payload)
                    if reply is not None:
                        credit, self._credit_in_reply = self._credit_in_reply, False
                        await self._send(seqid, reply)
                        if credit and self.on_report_sent is not None:
                            self.on_report_sent("credit", time.time())
            self._tick()

    async def _send(self, seqid: int, reply: bytes) -> None:
        frame = build_frame(seqid, reply)
        if self._drop > 0:
            self._drop -= 1
            log.info("fault: reply dropped")
            return
        if self._corrupt:
            self._corrupt = False
            frame = build_frame(seqid, reply, crc_xor=0x5A5A)
            log.info("fault: reply corrupted")
        if self._delay:
            await asyncio.sleep(self._delay)
        await self._port.write(frame)


# ---------------------------------------------------------------------------------------------
# standalone runner
# ---------------------------------------------------------------------------------------------


def _control(sim: ESSPSimulator, line: str) -> str:
    words = line.split()
    if not words:
        return "error empty command"
    cmd, args = words[0].lower(), words[1:]
    try:
        if cmd == "insert":
            if not args:
                return "error usage: insert <rupees> [reject=<hex reason>]"
            reason = None
            for extra in args[1:]:
                key, _, value = extra.partition("=")
                if key != "reject" or not value:
                    return f"error unknown option {extra}"
                reason = int(value, 16)
            sim.insert_note(int(args[0]), reject_reason=reason)
        elif cmd == "jam":
            kind = args[0] if args else "safe"
            if kind not in ("safe", "unsafe"):
                return "error usage: jam [safe|unsafe]"
            sim.jam(safe=kind == "safe")
        elif cmd == "clear":
            sim.clear_jam()
        elif cmd == "stacker_full":
            sim.set_stacker_full(True)
        elif cmd == "stacker_ok":
            sim.set_stacker_full(False)
        elif cmd == "remove_cashbox":
            sim.remove_cashbox()
        elif cmd == "replace_cashbox":
            sim.replace_cashbox()
        elif cmd == "fraud":
            sim.fraud(int(args[0]) if args else 0)
        elif cmd == "power_cut":
            sim.power_cut(args[0] if args else None)
        elif cmd == "drop":
            sim.drop_next_replies(int(args[0]) if args else 1)
        elif cmd == "corrupt":
            sim.corrupt_next_reply()
        elif cmd == "delay":
            sim.set_reply_delay(float(args[0]) if args else 0.0)
        elif cmd == "status":
            return "ok " + json.dumps(
                {
                    "state": sim.state_name,
                    "enabled": sim.enabled,
                    "inhibit_mask": sim.inhibit_mask,
                    "key_negotiated": sim.key_negotiated,
                    "stacked": sim.stacked,
                    "returned": sim.returned,
                    "credits_reported": sim.credits_reported,
                    "counters": sim.counters,
                }
            )
        else:
            return f"error unknown command {cmd}"
    except (ValueError, IndexError) as exc:
        return f"error {exc}"
    return "ok"


async def _run(args: argparse.Namespace) -> int:
    sim = ESSPSimulator(
        channel_values=args.channels,
        escrow_timeout=args.escrow_timeout,
        paced=args.paced,
        encryption_required=not args.plain,
        fixed_key=args.fixed_key,
        serial_number=args.serial,
    )
    await sim.start()

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                text = line.decode("utf-8", "replace").strip()
                answer = _control(sim, text)
                log.info("control %r -> %s", text, answer.split(" ", 1)[0])
                writer.write(answer.encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(client, "127.0.0.1", args.control_port)
    port = server.sockets[0].getsockname()[1]
    print(sim.path, flush=True)
    print(f"control: 127.0.0.1:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()
        await sim.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="sim acceptor --protocol essp", description="ITL eSSP note validator simulator"
    )
    parser.add_argument("--protocol", default="essp", choices=["essp"])
    parser.add_argument("--control-port", type=int, default=0)
    parser.add_argument("--paced", action="store_true", help="write replies at 9600-baud speed")
    parser.add_argument("--plain", action="store_true", help="do not require encryption")
    parser.add_argument("--escrow-timeout", type=float, default=10.0)
    parser.add_argument("--serial", type=int, default=1234567)
    parser.add_argument("--fixed-key", type=lambda s: int(s, 0), default=0x0123456701234567)
    parser.add_argument(
        "--channels",
        type=lambda s: [int(v) for v in s.split(",")],
        default=None,
        help="comma-separated rupee values by channel (default 10,20,50,100,200,500,2000)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
