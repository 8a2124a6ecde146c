"""CashCode CCNET bill validator simulator: the device's side of the wire.

A second, independent implementation of CCNET written from the validator's point of view. It
imports nothing from drivers/ (DESIGN.md): its framing, CRC and state machine are its own, so a
bug in the driver's framing cannot hide on both ends of the wire.

Layers, bottom up:
- `crc16_kermit`, `build_frame`, `FrameReader`: bytes <-> frames, without I/O.
- `CCNETSimulator`: the validator's state (power, notes, faults, pending events), fed by a
  serving task that owns a `PtyDevice` and a ticker task that moves notes along in time.
- `main()`: standalone runner with a line-based TCP control port.

Statistics (0x60) reply is simulator-defined: six 4-byte big-endian counters (notes inserted,
stacked, returned from escrow, rejected, power-ups, resets).
"""

from __future__ import annotations

import argparse
import asyncio
import enum
import json
import logging
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from sim.devices.ptyport import PtyDevice

log = logging.getLogger("sim.ccnet")

# ---------------------------------------------------------------------------------------------
# framing
# ---------------------------------------------------------------------------------------------

SYNC = 0x02
ADDRESS = 0x03  # bill validator
MIN_FRAME = 6  # SYNC ADR LNG one-byte-of-data CRC_L CRC_H (a bare command)

HOST_ACK = 0x00
HOST_NAK = 0xFF
ILLEGAL_COMMAND = 0x30


def crc16_kermit(data: bytes) -> int:
    """CRC-16/KERMIT: reflected poly 0x8408, init 0, no final xor."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            if crc & 1:
                crc = (crc >> 1) ^ 0x8408
            else:
                crc >>= 1
    return crc


def build_frame(data: bytes, address: int = ADDRESS) -> bytes:
    """SYNC ADR LNG data CRC (low byte first); LNG counts the whole frame."""
    length = len(data) + 5
    if length > 250:
        raise ValueError("frame too long for the short form")
    body = bytes([SYNC, address, length]) + data
    crc = crc16_kermit(body)
    return body + bytes([crc & 0xFF, crc >> 8])


def _frame_valid(frame: bytes | bytearray) -> bool:
    crc = crc16_kermit(bytes(frame[:-2]))
    return frame[-2] == (crc & 0xFF) and frame[-1] == (crc >> 8)


@dataclass(frozen=True)
class Frame:
    address: int
    data: bytes  # command byte (or ACK/NAK) then its data


@dataclass(frozen=True)
class BadFrame:
    """A complete frame for our address whose CRC failed: answer NAK."""

    raw: bytes


class FrameReader:
    """Turns a byte stream from the host into Frame / BadFrame items. No I/O.

    Garbage is skipped by resynchronising on a later SYNC that starts a frame with a valid CRC.
    A complete frame for our address with a bad CRC becomes a BadFrame (-> NAK), unless a later
    SYNC inside it might still turn into a valid frame once more bytes arrive; then the decision
    waits until more bytes come or `expire()` is called (the line went quiet).
    """

    def __init__(self) -> None:
        self.buf = bytearray()

    @property
    def pending(self) -> bool:
        return bool(self.buf)

    def feed(self, data: bytes) -> list[Frame | BadFrame]:
        self.buf += data
        return self._scan(final=False)

    def expire(self) -> list[Frame | BadFrame]:
        """The line went quiet: decide about whatever is left, drop incomplete bytes."""
        return self._scan(final=True)

    def _complete_valid_at(self, j: int) -> bool:
        buf = self.buf
        if len(buf) - j < 3 or buf[j] != SYNC:
            return False
        lng = buf[j + 2]
        return lng >= MIN_FRAME and len(buf) - j >= lng and _frame_valid(buf[j : j + lng])

    def _could_become_frame_at(self, j: int) -> bool:
        buf = self.buf
        avail = len(buf) - j
        if avail < 3:
            return True
        lng = buf[j + 2]
        return lng >= MIN_FRAME and avail < lng

    def _later_start(self, start: int, end: int, *, incomplete_ok: bool) -> int | None:
        """First SYNC in buf[start:end] that starts a valid frame (or might, if incomplete_ok)."""
        j = self.buf.find(SYNC, start, end)
        while j >= 0:
            if self._complete_valid_at(j):
                return j
            if incomplete_ok and self._could_become_frame_at(j):
                return j
            j = self.buf.find(SYNC, j + 1, end)
        return None

    def _scan(self, *, final: bool) -> list[Frame | BadFrame]:
        out: list[Frame | BadFrame] = []
        buf = self.buf
        while True:
            i = buf.find(SYNC)
            if i < 0:
                buf.clear()
                return out
            del buf[:i]
            if len(buf) < 3:
                if final:
                    buf.clear()
                return out
            lng = buf[2]
            if lng < MIN_FRAME:  # not a short-form frame start (LNG=0 long frames unsupported)
                del buf[0]
                continue
            if len(buf) < lng:
                j = self._later_start(1, len(buf), incomplete_ok=False)
                if j is not None:
                    del buf[:j]
                    continue
                if final:
                    del buf[0]
                    continue
                return out
            if _frame_valid(buf[:lng]):
                out.append(Frame(buf[1], bytes(buf[3 : lng - 2])))
                del buf[:lng]
                continue
            # bad CRC: garbage before a real frame, or a damaged frame?
            j = self._later_start(1, len(buf), incomplete_ok=False)
            if j is not None:
                del buf[:j]
                continue
            if not final and self._later_start(1, lng, incomplete_ok=True) is not None:
                return out  # wait: the real frame may still be arriving
            if buf[1] == ADDRESS:
                out.append(BadFrame(bytes(buf[:lng])))
                del buf[:lng]
            else:
                del buf[0]


# ---------------------------------------------------------------------------------------------
# the device
# ---------------------------------------------------------------------------------------------

STATE_NAMES: dict[int, str] = {
    0x10: "power_up",
    0x11: "power_up_bill_in_validator",
    0x12: "power_up_bill_in_stacker",
    0x13: "initialize",
    0x14: "idling",
    0x15: "accepting",
    0x17: "stacking",
    0x18: "returning",
    0x19: "unit_disabled",
    0x1A: "holding",
    0x1B: "busy",
    0x1C: "rejecting",
    0x41: "drop_cassette_full",
    0x42: "cassette_out_of_position",
    0x43: "validator_jammed",
    0x44: "cassette_jammed",
    0x45: "cheated",
    0x46: "pause",
    0x47: "failure",
    0x80: "escrow",
    0x81: "bill_stacked",
    0x82: "bill_returned",
}

# IDENTIFICATION / GET BILL TABLE are legal only in these states
_SETUP_STATES = {0x10, 0x11, 0x12, 0x13, 0x19, 0x47}

REJECT_IDENTIFICATION = 0x65
REJECT_INHIBIT = 0x68

DEFAULT_BILL_TABLE = [10, 20, 50, 100, 200, 500, 2000]


class Phase(enum.Enum):
    """Where the note being handled is."""

    ACCEPTING = 0x15
    ESCROW = 0x80
    HOLDING = 0x1A
    STACKING = 0x17
    RETURNING = 0x18


@dataclass
class _Note:
    value: int
    bill_type: int | None
    reject_reason: int | None
    phase: Phase = Phase.ACCEPTING
    remaining: float = 0.0


@dataclass(eq=False)
class _Event:
    """A POLL report that must be seen: consumed only when the host ACKs the reply carrying it."""

    code: int
    data: int | None = None

    def payload(self) -> bytes:
        return bytes([self.code]) if self.data is None else bytes([self.code, self.data])


def encode_bill_value(value: int) -> tuple[int, int]:
    """Rupees -> (digit, exponent) with digit x 10^exponent == value, digit <= 255."""
    digit, exponent = value, 0
    while digit and digit % 10 == 0:
        digit //= 10
        exponent += 1
    if digit > 255:
        raise ValueError(f"bill value {value} cannot be encoded as digit x 10^exponent")
    return digit, exponent


def _mask_bytes(mask: int) -> bytes:
    return mask.to_bytes(3, "big")


class CCNETSimulator:
    """A CashCode validator on a pty. Public methods are what a citizen or a fault does."""

    tick = 0.01  # s, state machine step
    byte_timeout = 0.05  # s of silence after which a partial frame is dropped / decided

    def __init__(
        self,
        *,
        bill_table: list[int] | None = None,
        country: str = "INR",
        paced: bool = False,
        escrow_timeout: float = 10.0,
        part_number: str = "SM-RU1353",
        serial_number: str = "41K000123456",
        asset_number: bytes = b"\x00\x00\x00\x00\x00\x00\x01",
    ) -> None:
        table = list(DEFAULT_BILL_TABLE if bill_table is None else bill_table)
        if len(table) > 24:
            raise ValueError("a CCNET bill table has at most 24 entries")
        if len(country) != 3 or not country.isascii():
            raise ValueError("country must be 3 ASCII characters")
        if len(asset_number) != 7:
            raise ValueError("asset_number must be 7 bytes")
        for value in table:
            if value:
                encode_bill_value(value)
        self.bill_table: list[int] = table + [0] * (24 - len(table))
        self.country = country
        self.paced = paced
        self.escrow_timeout = escrow_timeout
        self.part_number = part_number
        self.serial_number = serial_number
        self.asset_number = bytes(asset_number)

        # timings (s); tests may shorten them
        self.accept_time = 0.3
        self.stack_time = 0.3
        self.return_time = 0.3
        self.init_time = 0.5

        # host settings
        self.enabled_mask = 0
        self.escrow_mask = 0
        self.security_mask = 0

        # what happened
        self.stacked: list[int] = []
        # Tests: called the instant a note lands in the cassette (e.g. to freeze the host there).
        self.on_stacked = None
        # Benchmarks: on_report_sent(kind, t) once a reply carrying a "stacked" (0x81) report has
        # been written for the first time (t = time.time() when the write returned; paced, that
        # is a byte time or more after the last byte reached the host);
        # on_report_acked(kind, t) when the host's ACK of that report arrives. kind is "stacked".
        # Both run on the simulator's loop and must be quick.
        self.on_report_sent: Callable[[str, float], None] | None = None
        self.on_report_acked: Callable[[str, float], None] | None = None
        self._announced_event: _Event | None = None
        self.returned: list[int] = []
        self.removed: list[int] = []  # notes an engineer pulled out while clearing a jam
        self.commands_seen: list[int] = []
        self.acks_seen = 0
        self.naks_seen = 0
        self.stats = {
            "inserted": 0,
            "stacked": 0,
            "returned": 0,
            "rejected": 0,
            "power_ups": 1,
            "resets": 0,
        }

        # device state
        self._boot: int | None = 0x10  # a freshly powered unit waits for RESET
        self._init_remaining = 0.0
        self._note: _Note | None = None
        self._note_in_validator: int | None = None  # from a power cut, returned at RESET
        self._queue: deque[tuple[int, int | None]] = deque()
        self._events: deque[_Event] = deque()
        self._failure: int | None = None
        self._jam: int | None = None
        self._cassette_present = True
        self._cassette_full = False
        self._pause_remaining = 0.0

        # link state and link faults
        self._last_reply: bytes | None = None
        self._reported_event: _Event | None = None
        self._drop_frames = 0
        self._lose_replies = 0
        self._corrupt_next = False
        self._reply_delay = 0.0

        self._reader = FrameReader()
        self._pty: PtyDevice | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._running = False
        self._link_lock = asyncio.Lock()
        self._last_rx = 0.0

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        self._pty = PtyDevice(paced=self.paced)
        # a host that stops reading must not block the whole loop on a full pty buffer:
        # a write that cannot go through raises, is logged, and the reply is lost on the wire
        os.set_blocking(self._pty.master, False)
        self._pty.start()
        self._running = True
        self._tasks = [
            asyncio.create_task(self._serve(), name="ccnet-serve"),
            asyncio.create_task(self._ticker(), name="ccnet-tick"),
        ]
        log.info("ccnet simulator on %s", self._pty.path)

    @property
    def path(self) -> str:
        if self._pty is None:
            raise RuntimeError("simulator not started")
        return self._pty.path

    async def stop(self) -> None:
        self._running = False
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=1.0)
            for task in pending:  # should not happen; never hang the caller
                log.warning("task %s did not stop", task.get_name())
                task.cancel()
        if self._pty is not None:
            self._pty.close()
            self._pty = None
        log.info("ccnet simulator stopped")

    # -- what a citizen does ----------------------------------------------------------------

    def insert_note(self, rupees: int, *, reject_reason: int | None = None) -> None:
        self._queue.append((rupees, reject_reason))
        if self._boot is not None or self._init_remaining > 0 or not self.enabled_mask:
            log.info("note %d queued: unit disabled", rupees)
        else:
            log.info("note %d queued", rupees)

    # -- faults -----------------------------------------------------------------------------

    def jam(self, where: str = "validator") -> None:
        if where not in ("validator", "cassette"):
            raise ValueError("jam where: 'validator' or 'cassette'")
        self._jam = 0x43 if where == "validator" else 0x44
        log.info("%s jammed", where)

    def clear_jam(self) -> None:
        """The engineer clears the jam; a note caught in it is taken out by hand (`removed`)."""
        if self._jam is not None and self._note is not None:
            self.removed.append(self._note.value)
            log.info("jam cleared: note %d removed by hand", self._note.value)
            self._note = None
        self._jam = None
        log.info("jam cleared")

    def set_cassette_full(self, full: bool = True) -> None:
        self._cassette_full = full
        log.info("drop cassette %s", "full" if full else "not full")

    def remove_cassette(self) -> None:
        self._cassette_present = False
        log.info("cassette removed")

    def insert_cassette(self) -> None:
        self._cassette_present = True
        log.info("cassette inserted")

    def cheat(self) -> None:
        self._events.append(_Event(0x45))
        log.info("cheat attempt")

    def fail(self, code: int = 0x50) -> None:
        self._failure = code & 0xFF
        log.info("failure 0x%02X", self._failure)

    def pause(self, seconds: float = 1.0) -> None:
        self._pause_remaining = seconds
        log.info("pause %.2f s", seconds)

    def power_cut(self, note_in: str | None = None) -> None:
        """Power lost and back. A note in flight goes to where `note_in` says (inferred if None)."""
        if note_in not in (None, "validator", "stacker"):
            raise ValueError("note_in: None, 'validator' or 'stacker'")
        note = self._note
        where = note_in
        if where is None and note is not None:
            where = "stacker" if note.phase is Phase.STACKING else "validator"
        if note is not None:
            if where == "stacker":
                self.stacked.append(note.value)
                self.stats["stacked"] += 1
            else:
                self._note_in_validator = note.value
        self._note = None
        self._events.clear()
        self._reported_event = None
        self._last_reply = None
        self.enabled_mask = self.escrow_mask = self.security_mask = 0
        self._init_remaining = 0.0
        self._pause_remaining = 0.0
        self._boot = {None: 0x10, "validator": 0x11, "stacker": 0x12}[where]
        self.stats["power_ups"] += 1
        log.info("power cut (note in %s): reporting 0x%02X until RESET", where, self._boot)

    # -- link faults ------------------------------------------------------------------------

    def drop_next_replies(self, n: int = 1) -> None:
        """Ignore the next n host frames entirely: not executed, not answered."""
        self._drop_frames += n

    def lose_next_replies(self, n: int = 1) -> None:
        """Execute the next n host frames but lose their replies on the wire."""
        self._lose_replies += n

    def corrupt_next_reply(self) -> None:
        self._corrupt_next = True

    def set_reply_delay(self, seconds: float) -> None:
        self._reply_delay = max(0.0, seconds)

    # -- observation ------------------------------------------------------------------------

    @property
    def state_name(self) -> str:
        code = self._poll_payload()[0][0]
        return STATE_NAMES.get(code, f"0x{code:02x}")

    @property
    def queued(self) -> list[int]:
        return [value for value, _ in self._queue]

    # -- state ------------------------------------------------------------------------------

    def _base_status(self) -> tuple[int, int | None]:
        """What the device is doing, ignoring events waiting to be reported."""
        if self._boot is not None:
            return self._boot, None
        if self._init_remaining > 0:
            return 0x13, None
        if self._failure is not None:
            return 0x47, self._failure
        if self._jam is not None:
            return self._jam, None
        if not self._cassette_present:
            return 0x42, None
        if self._cassette_full:
            return 0x41, None
        if self._pause_remaining > 0:
            return 0x46, None
        if self._note is not None:
            phase = self._note.phase
            if phase is Phase.ESCROW:
                return 0x80, self._note.bill_type
            return phase.value, None
        return (0x14 if self.enabled_mask else 0x19), None

    def _poll_payload(self) -> tuple[bytes, _Event | None]:
        code, data = self._base_status()
        if code not in (0x10, 0x11, 0x12, 0x13) and self._events:
            event = self._events[0]
            return event.payload(), event
        return (bytes([code]) if data is None else bytes([code, data])), None

    def _blocked(self) -> bool:
        return self._base_status()[0] in (
            0x10,
            0x11,
            0x12,
            0x13,
            0x41,
            0x42,
            0x43,
            0x44,
            0x46,
            0x47,
        )

    def _advance(self, dt: float) -> None:
        if self._boot is not None:
            return
        if self._init_remaining > 0:
            self._init_remaining -= dt
            if self._init_remaining <= 0:
                self._init_remaining = 0.0
                log.info("initialized: %s", "idling" if self.enabled_mask else "unit disabled")
            return
        if self._pause_remaining > 0:
            self._pause_remaining = max(0.0, self._pause_remaining - dt)
        if self._blocked():
            return
        note = self._note
        if note is not None:
            note.remaining -= dt
            if note.remaining <= 0:
                self._phase_done(note)
            return
        if self._queue and not self._events and self.enabled_mask:
            value, reason = self._queue.popleft()
            bill_type = next((i for i, v in enumerate(self.bill_table) if v == value), None)
            self._note = _Note(value, bill_type, reason, Phase.ACCEPTING, self.accept_time)
            self.stats["inserted"] += 1
            log.info("note %d taken in: accepting", value)

    def _phase_done(self, note: _Note) -> None:
        if note.phase is Phase.ACCEPTING:
            reason = note.reject_reason
            if reason is None and note.bill_type is None:
                reason = REJECT_IDENTIFICATION
            if reason is None and not self.enabled_mask >> note.bill_type & 1:
                reason = REJECT_INHIBIT
            if reason is not None:
                self._note = None
                self.returned.append(note.value)
                self.stats["rejected"] += 1
                self._events.append(_Event(0x1C, reason & 0xFF))
                log.info("note %d rejected, reason 0x%02X", note.value, reason & 0xFF)
            elif self.escrow_mask >> note.bill_type & 1:
                note.phase, note.remaining = Phase.ESCROW, self.escrow_timeout
                log.info("note %d in escrow (bill type %d)", note.value, note.bill_type)
            else:
                note.phase, note.remaining = Phase.STACKING, self.stack_time
                log.info("note %d stacking by itself", note.value)
        elif note.phase in (Phase.ESCROW, Phase.HOLDING):
            note.phase, note.remaining = Phase.RETURNING, self.return_time
            log.info("escrow timed out: returning note %d", note.value)
        elif note.phase is Phase.STACKING:
            self._note = None
            self.stacked.append(note.value)
            self.stats["stacked"] += 1
            self._events.append(_Event(0x81, note.bill_type))
            if self.on_stacked is not None:
                self.on_stacked(note.value)
            log.info("note %d stacked (bill type %d)", note.value, note.bill_type)
        elif note.phase is Phase.RETURNING:
            self._note = None
            self.returned.append(note.value)
            self.stats["returned"] += 1
            self._events.append(_Event(0x82, note.bill_type))
            log.info("note %d returned (bill type %d)", note.value, note.bill_type)

    # -- commands ---------------------------------------------------------------------------

    def _handle_command(self, data: bytes) -> tuple[bytes, bool]:
        """Execute one host command; return (reply data, reply expects the host's ACK)."""
        cmd, args = data[0], data[1:]
        self.commands_seen.append(cmd)
        ack, illegal = b"\x00", bytes([ILLEGAL_COMMAND])
        base = self._base_status()[0]
        note = self._note
        in_escrow = note is not None and note.phase in (Phase.ESCROW, Phase.HOLDING)
        if cmd == 0x33 and not args:  # POLL
            payload, event = self._poll_payload()
            self._reported_event = event
            return payload, True
        if cmd == 0x30 and not args:  # RESET
            self._reset()
            return ack, False
        if cmd == 0x31 and not args:  # GET STATUS
            return _mask_bytes(self.enabled_mask) + _mask_bytes(self.security_mask), True
        if cmd == 0x32 and len(args) == 3:  # SET SECURITY
            self.security_mask = int.from_bytes(args, "big")
            return ack, False
        if cmd == 0x34 and len(args) == 6:  # ENABLE BILL TYPES
            if self._boot is not None:
                return illegal, False
            self.enabled_mask = int.from_bytes(args[:3], "big")
            self.escrow_mask = int.from_bytes(args[3:], "big")
            log.info("enable 0x%06X escrow 0x%06X", self.enabled_mask, self.escrow_mask)
            return ack, False
        if cmd == 0x35 and not args:  # STACK
            if not in_escrow:
                return illegal, False
            assert note is not None
            note.phase, note.remaining = Phase.STACKING, self.stack_time
            log.info("STACK: stacking note %d", note.value)
            return ack, False
        if cmd == 0x36 and not args:  # RETURN
            if not in_escrow:
                return illegal, False
            assert note is not None
            note.phase, note.remaining = Phase.RETURNING, self.return_time
            log.info("RETURN: returning note %d", note.value)
            return ack, False
        if cmd == 0x38 and not args:  # HOLD
            if not in_escrow:
                return illegal, False
            assert note is not None
            note.phase, note.remaining = Phase.HOLDING, self.escrow_timeout
            log.info("HOLD: holding note %d", note.value)
            return ack, False
        if cmd == 0x37 and not args:  # IDENTIFICATION
            if base not in _SETUP_STATES:
                return illegal, False
            return self._identification(), True
        if cmd == 0x41 and not args:  # GET BILL TABLE
            if base not in _SETUP_STATES:
                return illegal, False
            return self._bill_table_bytes(), True
        if cmd == 0x60 and not args:  # REQUEST STATISTICS
            keys = ("inserted", "stacked", "returned", "rejected", "power_ups", "resets")
            return b"".join(self.stats[k].to_bytes(4, "big") for k in keys), True
        log.info("illegal command 0x%02X (%d data bytes) in state 0x%02X", cmd, len(args), base)
        return illegal, False

    def _reset(self) -> None:
        note = self._note
        if note is not None:
            if note.phase is Phase.STACKING:
                self.stacked.append(note.value)
                self.stats["stacked"] += 1
            else:
                self.returned.append(note.value)
        if self._note_in_validator is not None:
            self.returned.append(self._note_in_validator)
            self._note_in_validator = None
        self._note = None
        self._events.clear()
        self._reported_event = None
        self._failure = None
        self._pause_remaining = 0.0
        self._boot = None
        self.enabled_mask = self.escrow_mask = 0
        self._init_remaining = self.init_time
        self.stats["resets"] += 1
        log.info("RESET: initializing")

    def _identification(self) -> bytes:
        part = self.part_number.encode("ascii")[:15].ljust(15, b" ")
        serial = self.serial_number.encode("ascii")[:12].ljust(12, b" ")
        return part + serial + self.asset_number

    def _bill_table_bytes(self) -> bytes:
        out = bytearray()
        country = self.country.encode("ascii")
        for value in self.bill_table:
            if not value:
                out += bytes(5)
                continue
            digit, exponent = encode_bill_value(value)
            out += bytes([digit]) + country + bytes([exponent])
        return bytes(out)

    # -- link -------------------------------------------------------------------------------

    async def _on_item(self, item: Frame | BadFrame) -> None:
        if isinstance(item, BadFrame):
            log.info("bad CRC from host: NAK")
            await self._write(build_frame(bytes([HOST_NAK])))
            return
        if item.address != ADDRESS:
            log.debug("frame for address 0x%02X ignored", item.address)
            return
        if not item.data:
            return
        if self._drop_frames > 0:
            self._drop_frames -= 1
            log.info("host frame %s dropped (no reply)", item.data.hex())
            return
        head = item.data[0]
        if head == HOST_ACK and len(item.data) == 1:
            self.acks_seen += 1
            event, self._reported_event = self._reported_event, None
            if event is not None and self._events and self._events[0] is event:
                self._events.popleft()
                log.info("event %s acknowledged", event.payload().hex())
                if event.code == 0x81 and self.on_report_acked is not None:
                    self.on_report_acked("stacked", time.time())
            self._last_reply = None
            return
        if head == HOST_NAK and len(item.data) == 1:
            self.naks_seen += 1
            if self._last_reply is not None:
                log.info("host NAK: resending last reply")
                await self._send(self._last_reply)
            return
        self._reported_event = None
        reply, _needs_ack = self._handle_command(item.data)
        frame = build_frame(reply)
        self._last_reply = frame
        reported = self._reported_event
        await self._send(frame)
        self._announce(reported)

    def _announce(self, event: _Event | None) -> None:
        """Instrumentation only: tell a benchmark when a "stacked" report first left the wire."""
        if event is None or event.code != 0x81 or event is self._announced_event:
            return
        self._announced_event = event
        if self.on_report_sent is not None:
            self.on_report_sent("stacked", time.time())

    async def _send(self, frame: bytes) -> None:
        if self._lose_replies > 0:
            self._lose_replies -= 1
            log.info("reply %s lost", frame.hex())
            return
        if self._reply_delay:
            await asyncio.sleep(self._reply_delay)
        if self._corrupt_next:
            self._corrupt_next = False
            damaged = bytearray(frame)
            damaged[3] ^= 0x5A
            frame = bytes(damaged)
            log.info("reply corrupted")
        await self._write(frame)

    async def _write(self, frame: bytes) -> None:
        if self._pty is None:
            return
        try:
            await self._pty.write(frame)
        except BlockingIOError:
            log.warning("host is not reading: reply %s lost", frame.hex())

    async def _serve(self) -> None:
        # pty.read() without a timeout on purpose: on Python 3.11 asyncio.wait_for() drops a
        # cancellation that arrives together with data, and the task would never stop.
        # Stale partial frames are expired by the ticker instead.
        pty = self._pty
        assert pty is not None
        while self._running:
            try:
                data = await pty.read()
                if not data:
                    continue
                self._last_rx = time.monotonic()
                async with self._link_lock:
                    for item in self._reader.feed(data):
                        await self._on_item(item)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("ccnet serve loop error (continuing)")
                await asyncio.sleep(self.tick)

    async def _expire_stale_input(self) -> None:
        if not self._reader.pending or self._link_lock.locked():
            return
        if time.monotonic() - self._last_rx < self.byte_timeout:
            return
        async with self._link_lock:
            for item in self._reader.expire():
                await self._on_item(item)

    async def _ticker(self) -> None:
        last = time.monotonic()
        while self._running:
            await asyncio.sleep(self.tick)
            now = time.monotonic()
            try:
                self._advance(now - last)
                await self._expire_stale_input()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("ccnet state machine error (continuing)")
            last = now


# ---------------------------------------------------------------------------------------------
# standalone runner
# ---------------------------------------------------------------------------------------------


def _control(sim: CCNETSimulator, line: str) -> str:
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
            sim.jam(args[0] if args else "validator")
        elif cmd == "clear":
            sim.clear_jam()
        elif cmd == "cassette_full":
            sim.set_cassette_full(True)
        elif cmd == "cassette_ok":
            sim.set_cassette_full(False)
        elif cmd == "remove_cassette":
            sim.remove_cassette()
        elif cmd == "insert_cassette":
            sim.insert_cassette()
        elif cmd == "power_cut":
            sim.power_cut(args[0] if args else None)
        elif cmd == "cheat":
            sim.cheat()
        elif cmd == "fail":
            sim.fail(int(args[0], 16) if args else 0x50)
        elif cmd == "pause":
            sim.pause(float(args[0]) if args else 1.0)
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
                    "stacked": sim.stacked,
                    "returned": sim.returned,
                    "removed": sim.removed,
                    "queued": sim.queued,
                    "enabled_mask": sim.enabled_mask,
                    "escrow_mask": sim.escrow_mask,
                }
            )
        else:
            return f"error unknown command {cmd}"
    except (ValueError, IndexError) as exc:
        return f"error {exc}"
    return "ok"


async def _run(args: argparse.Namespace) -> int:
    sim = CCNETSimulator(
        bill_table=args.bill_table,
        country=args.country,
        paced=args.paced,
        escrow_timeout=args.escrow_timeout,
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
        prog="sim acceptor --protocol ccnet", description="CashCode CCNET bill validator simulator"
    )
    parser.add_argument("--protocol", default="ccnet", choices=["ccnet"])
    parser.add_argument("--control-port", type=int, default=0)
    parser.add_argument("--paced", action="store_true", help="write replies at 9600-baud speed")
    parser.add_argument("--escrow-timeout", type=float, default=10.0)
    parser.add_argument("--country", default="INR")
    parser.add_argument(
        "--bill-table",
        type=lambda s: [int(v) for v in s.split(",")],
        default=None,
        help="comma-separated rupee values by bill type",
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
