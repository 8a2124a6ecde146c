"""CashCode CCNET bill validator: the facade implementing drivers.base.BanknoteAcceptor.

The I/O and the timing live here; framing is in `ccnet_framing`, the protocol rules (which reply
belongs to which command, ACK/NAK, credit-once, one STACK per note) in `ccnet_protocol`, and the
code -> status words table in `ccnet_status`.

One background task owns the wire. Each round it sends the host's queued commands (enable,
disable, hold), then POLL, then the escrow decision (STACK / RETURN) or an automatic HOLD while
the host has not decided. Every message is preceded by at least `gap` seconds of bus silence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from dataclasses import dataclass, field

from drivers.acceptor.ccnet_protocol import (
    ACK_FRAME,
    SLOW_COMMANDS,
    Ack,
    BadFrame,
    BillTable,
    CCNETHost,
    Command,
    DeviceNak,
    Escrow,
    Identification,
    PollReply,
    PowerUpNote,
    ProtocolEvent,
    Rejected,
    Reply,
    ReplyReceived,
    Returned,
    Stacked,
    StackedRepeat,
    StateSeen,
    enable_bill_types_data,
)
from drivers.acceptor.ccnet_status import POWER_UP_STATES, state_name, status_for
from drivers.acceptor.polling import PollingAcceptor
from drivers.base import (
    DeviceError,
    DeviceState,
    DeviceStatus,
    NoteFoundAtPowerUp,
    NoteInEscrow,
    NoteRejected,
    NoteReturned,
    NoteStacked,
)
from drivers.serial_port import SerialPort

log = logging.getLogger("drivers.acceptor.ccnet")

INIT_STATES = POWER_UP_STATES | {0x13, 0x1B}  # still starting up (or busy): keep waiting
SETUP_STATES = frozenset({0x10, 0x11, 0x12, 0x13, 0x19, 0x47})  # IDENTIFICATION etc. legal
# A note somewhere between the slot and the cassette when the driver opens: wait for it to
# settle (returning one left in escrow) instead of resetting it away unseen.
NOTE_IN_PATH = frozenset({0x15, 0x17, 0x18, 0x1A, 0x1C, 0x80, 0x81, 0x82})
STACKED = 0x81
FAST_POLL_S = 0.05
LATE_REPLY_QUIET_S = 0.1  # no byte for this long after a timeout: no late reply is coming
LATE_REPLY_MAX_S = 1.0
PLAIN_ACK_HOLD_S = 2.0
# Poll states the validator repeats until the host ACKs them (its event queue): cheated,
# rejecting, stacked, returned.
REPORTS = frozenset({0x1C, 0x45, 0x81, 0x82})


@dataclass
class _UnackedStack:
    """A "bill stacked" report the validator repeats until we ACK it; we ACK only once the
    core has said the credit is in its journal (an ACK is a promise that the note counts)."""

    note_id: str
    paise: int
    durable: asyncio.Event = field(default_factory=asyncio.Event)


class NoAnswer(DeviceError):
    """The validator did not answer (as opposed to the port itself failing)."""


class CCNETAcceptor(PollingAcceptor):
    """A CashCode (CCNET) bill validator on a serial port, every note stopping in escrow."""

    protocol_name = "ccnet"

    def __init__(
        self,
        port: str,
        *,
        country: str = "INR",
        poll_interval: float = 0.2,
        reply_timeout: float = 0.22,
        long_reply_timeout: float = 1.5,
        baudrate: int = 9600,
        hold_interval: float = 3.0,
        init_timeout: float = 5.0,
        retries: int = 3,
        gap: float = 0.02,
        confirm_credits: bool = False,
        ack_wait: float = 0.15,
    ) -> None:
        """confirm_credits: ACK a "stacked" report only after credit_durable() (the core's
        journal has it); else (standalone use, tests of the wire) ACK at once."""
        super().__init__(port, poll_interval=poll_interval)
        self.country = country
        self.reply_timeout = reply_timeout
        self.long_reply_timeout = long_reply_timeout
        self.baudrate = baudrate
        self.hold_interval = hold_interval
        self.init_timeout = init_timeout
        self.retries = max(1, retries)
        self.gap = gap
        self.confirm_credits = confirm_credits
        self.ack_wait = ack_wait
        self._unacked: _UnackedStack | None = None
        self._opening = False
        self._open_stacked_type: int | None = None

        self._proto = CCNETHost(country)
        self._requests: deque[tuple[Command, bytes, asyncio.Future[Reply | None]]] = deque()
        self._decision_waiters: list[asyncio.Future[None]] = []
        self._bill_values: dict[int, int] = {}
        self._enabled_types: frozenset[int] = frozenset()
        self._escrow_note: tuple[str, int] | None = None  # (note_id, paise)
        self._last_io = 0.0
        self._last_hold = 0.0
        self._failures = 0
        self._need_bill_table = False
        self.link_counters = {"timeouts": 0, "naks_sent": 0, "device_naks": 0, "retries": 0,
                              "late_replies_dropped": 0}
        self._reply_may_be_late = False
        self._plain_ack_hold_until = 0.0

    # ------------------------------------------------------------ contract

    def _make_port(self) -> SerialPort:
        return SerialPort(self.port_path, self.baudrate, "N", 1, name="CCNET bill validator")

    def _reset_for_open(self) -> None:
        self._proto = CCNETHost(self.country)
        self._escrow_note = None
        self._unacked = None
        self._open_stacked_type = None
        self._failures = 0
        self._reply_may_be_late = False

    async def _initialise_at_open(self) -> None:
        await self._initialise(first_poll=True)

    def _after_open(self) -> None:
        log.info(
            "ccnet open port=%s model=%s denominations=%s",
            self.port_path,
            self._identity.get("model", "?"),
            self.denominations(),
        )

    async def _leave_disabled(self) -> None:
        await self._exchange(Command.ENABLE_BILL_TYPES, bytes(6), attempts=1, quiet=True)

    def _after_polling(self) -> None:
        self._fail_waiters()

    def denominations(self) -> list[int]:
        return sorted(set(self._bill_values.values()))

    async def enable(self, accept_paise: set[int]) -> None:
        wanted = set(accept_paise)
        types = frozenset(t for t, paise in self._bill_values.items() if paise in wanted)
        unknown = wanted - {self._bill_values[t] for t in types}
        if unknown:
            log.warning("ccnet enable: values not in the bill table ignored: %s", sorted(unknown))
        self._enabled_types = types
        reply = await self._request(Command.ENABLE_BILL_TYPES, enable_bill_types_data(types, types))
        if reply is None:
            raise DeviceError(f"CCNET bill validator on {self.port_path}: no answer to ENABLE")
        if not isinstance(reply, Ack):
            log.warning("ccnet enable refused: %s (re-applied after the next reset)", reply)

    async def disable(self) -> None:
        await self.enable(set())

    async def stack(self) -> None:
        await self._decide(Command.STACK)

    async def return_note(self) -> None:
        await self._decide(Command.RETURN)

    async def hold(self) -> None:
        if not self._proto.undecided_escrow():
            log.info("ccnet hold: no undecided note in escrow")
            return
        self._last_hold = time.monotonic()
        await self._request(Command.HOLD)

    def credit_durable(self, note_id: str) -> None:
        pending = self._unacked
        if pending is not None and pending.note_id == note_id:
            pending.durable.set()
            self._wake.set()  # poll now: the repeated report gets its ACK at once

    # ------------------------------------------------------------ host requests

    async def _request(self, command: Command, data: bytes = b"") -> Reply | None:
        if not self._running():
            raise DeviceError(f"CCNET bill validator on {self.port_path} is not open")
        future: asyncio.Future[Reply | None] = asyncio.get_running_loop().create_future()
        self._requests.append((command, data, future))
        self._wake.set()
        return await future

    async def _decide(self, decision: Command) -> None:
        if not self._running():
            raise DeviceError(f"CCNET bill validator on {self.port_path} is not open")
        if not self._proto.decide(decision):
            log.warning("ccnet %s ignored: no undecided note in escrow", decision.name)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._decision_waiters.append(future)
        self._wake.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(future), timeout=5 * self.poll_interval + 2)

    def _wake_decision_waiters(self) -> None:
        waiters, self._decision_waiters = self._decision_waiters, []
        for future in waiters:
            if not future.done():
                future.set_result(None)

    def _fail_waiters(self) -> None:
        self._wake_decision_waiters()
        while self._requests:
            _, _, future = self._requests.popleft()
            if not future.done():
                future.set_result(None)

    # ------------------------------------------------------------ the poll task

    async def _poll_round(self) -> float:
        await self._round()
        return self._poll_wait()

    async def _round(self) -> None:
        while self._requests:
            command, data, future = self._requests.popleft()
            reply = None
            try:
                reply = await self._exchange(command, data)
            finally:  # the caller never waits forever, even if the port goes or we are cancelled
                if not future.done():
                    future.set_result(reply)
        reply = await self._exchange(Command.POLL)
        if not isinstance(reply, PollReply):
            return
        if reply.code in POWER_UP_STATES:
            await self._reinitialise()
            return
        if self._need_bill_table and reply.code in SETUP_STATES:
            await self._read_bill_table()
        action = self._proto.escrow_action()
        if action is not None:
            await self._exchange(action, retry_on_timeout=False)
            self._wake_decision_waiters()
        elif self._proto.undecided_escrow() and (
            time.monotonic() - self._last_hold >= self.hold_interval
        ):
            self._last_hold = time.monotonic()
            log.info("ccnet hold: host still deciding, escrow extended")
            await self._exchange(Command.HOLD)
        if self._proto.escrow is None:
            self._wake_decision_waiters()

    def _poll_wait(self) -> float:
        """Fast while notes are enabled or one is on its way (its report is what the citizen
        waits to see), the configured interval while the validator idles disabled."""
        moving = self._proto.last_state in NOTE_IN_PATH or self._unacked is not None
        taking = bool(self._enabled_types)  # a citizen is paying: a note may come any moment
        return min(self.poll_interval, FAST_POLL_S) if moving or taking else self.poll_interval

    async def _reinitialise(self) -> None:
        log.warning("ccnet power-up seen: resetting and reading the device again")
        self._escrow_note = None
        self._unacked = None  # a power-up forgets its unacknowledged report
        self._wake_decision_waiters()
        try:
            await self._initialise(first_poll=False)
        except NoAnswer as exc:
            log.warning("ccnet re-initialise failed: %s", exc)

    # ------------------------------------------------------------ start-up

    async def _initialise(self, *, first_poll: bool) -> None:
        """POLL (to learn about a note left in the path), RESET, wait out initialising,
        IDENTIFICATION, GET BILL TABLE, then the host's enable mask (none = disabled)."""
        where = f"CCNET bill validator on {self.port_path}"
        if first_poll:
            self._opening = True
            try:
                first = await self._exchange(Command.POLL)
                if first is None:
                    raise NoAnswer(
                        f"{where}: no answer to POLL at {self.baudrate} baud "
                        "(check power, cable, port name and the baud-rate DIP switch)"
                    )
                if isinstance(first, PollReply) and first.code in NOTE_IN_PATH:
                    if await self._settle_note_in_path(first):
                        return  # a stacked report waits for the core: no RESET to erase it
            finally:
                self._opening = False
        if not isinstance(await self._exchange(Command.RESET), Ack):
            raise NoAnswer(f"{where}: RESET not acknowledged")
        deadline = time.monotonic() + self.init_timeout
        while True:
            await asyncio.sleep(self.poll_interval)
            reply = await self._exchange(Command.POLL, attempts=1, quiet=True)
            if isinstance(reply, PollReply) and reply.code not in INIT_STATES:
                break
            if time.monotonic() > deadline:
                raise NoAnswer(f"{where}: still initialising after {self.init_timeout:.0f} s")
        reply = await self._exchange(Command.IDENTIFICATION)
        if isinstance(reply, Identification):
            self._identity = reply.as_dict()
        else:
            log.warning("ccnet identification unavailable: %s", reply)
        await self._read_bill_table()
        await self._exchange(
            Command.ENABLE_BILL_TYPES,
            enable_bill_types_data(self._enabled_types, self._enabled_types),
        )

    async def _settle_note_in_path(self, reply: PollReply) -> bool:
        """The host died with a note on its way: let it finish (a note left in escrow is
        returned: its session is gone). True when it ended stacked and unacknowledged: then it
        is reported as NoteStacked(found_at_open) and the device is set up without a RESET."""
        deadline = time.monotonic() + self.init_timeout + 10
        while reply.code != STACKED and reply.code in NOTE_IN_PATH:
            if time.monotonic() > deadline:
                log.error("ccnet note still in the path after waiting: resetting")
                return False
            action = self._proto.escrow_action()
            if action is not None:
                await self._exchange(action, retry_on_timeout=False)
            await asyncio.sleep(self.poll_interval)
            polled = await self._exchange(Command.POLL)
            if isinstance(polled, PollReply):
                reply = polled
        if reply.code != STACKED:
            return False
        bill_type = reply.arg if reply.arg is not None else self._open_stacked_type
        # Disabled (legal with the report pending) so IDENTIFICATION and the bill table may be read.
        await self._exchange(Command.ENABLE_BILL_TYPES, bytes(6))
        identification = await self._exchange(Command.IDENTIFICATION)
        if isinstance(identification, Identification):
            self._identity = identification.as_dict()
        await self._read_bill_table()
        paise = self._bill_values.get(bill_type) if bill_type is not None else None
        if paise is None:
            log.error("ccnet stacked report of unknown bill type %s at open: flagged", bill_type)
            self._emit(NoteFoundAtPowerUp("stacker", None))
            return False
        pending = _UnackedStack(uuid.uuid4().hex, paise)
        if not self.confirm_credits:
            pending.durable.set()
        self._unacked = pending
        log.warning("ccnet note stacked while the host was away note_id=%s paise=%d",
                    pending.note_id, paise)
        self._emit(NoteStacked(pending.note_id, paise, found_at_open=True))
        return True

    async def _read_bill_table(self) -> None:
        reply = await self._exchange(Command.GET_BILL_TABLE)
        if isinstance(reply, BillTable):
            self._bill_values = dict(self._proto.bill_values)
            self._need_bill_table = False
            if not self._bill_values:
                log.warning("ccnet bill table has no %s notes", self.country)
        else:
            self._need_bill_table = True
            log.warning("ccnet bill table unavailable (%s): will retry", reply)

    # ------------------------------------------------------------ one exchange

    async def _exchange(
        self,
        command: Command,
        data: bytes = b"",
        *,
        attempts: int | None = None,
        quiet: bool = False,
        retry_on_timeout: bool = True,
    ) -> Reply | None:
        """Send `command` and return its interpreted reply, or None when none came.

        Lost or damaged replies are retried (NAK for a damaged frame; the command again after a
        timeout) a bounded number of times; then the link is counted as failed (-> OFFLINE)
        unless `quiet`. A device NAK (it got our frame damaged) always allows a resend.
        DeviceError from the port propagates.
        """
        port = self._port
        if port is None:
            raise DeviceError(f"CCNET bill validator on {self.port_path} is not open")
        attempts = attempts or self.retries
        timeout = self.long_reply_timeout if command in SLOW_COMMANDS else self.reply_timeout
        for attempt in range(attempts):
            if attempt:
                self.link_counters["retries"] += 1
            if self._reply_may_be_late:
                await self._wait_for_quiet_line(port)
            frame = self._proto.send_command(command, data)
            port.discard_input()
            await self._write(frame)
            reply = await self._read_reply(timeout)
            if isinstance(reply, DeviceNak):
                self.link_counters["device_naks"] += 1
                continue
            if reply is not None:
                self._failures = 0
                return reply
            self._reply_may_be_late = True
            # A late reply may yet be taken for a later command's: until the line has had
            # time to settle, ACK only reports (which the validator repeats until ACKed, so
            # they are the head of its queue and ACKing them pops what we processed), never a
            # plain state (whose ACK would pop a report we have not seen).
            self._plain_ack_hold_until = time.monotonic() + PLAIN_ACK_HOLD_S
            self.link_counters["timeouts"] += 1
            if not retry_on_timeout:
                break
        self._proto.abandon()
        if not quiet:
            self._link_failed(command)
        return None

    async def _wait_for_quiet_line(self, port: SerialPort) -> None:
        """After a reply timed out, that reply may still be on its way. CCNET has no sequence
        numbers: taken as the answer to the next command (and ACKed), it would make the
        validator drop the report it sent in between (a "stacked" lost, seen in a random-kill
        run). So wait until the line is quiet before the next command."""
        self._reply_may_be_late = False
        deadline = time.monotonic() + LATE_REPLY_MAX_S
        while time.monotonic() < deadline:
            if not await port.read(LATE_REPLY_QUIET_S):
                return
            self.link_counters["late_replies_dropped"] += 1

    async def _write(self, data: bytes) -> None:
        assert self._port is not None
        wait = self._last_io + self.gap - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        await self._port.write(data)
        self._last_io = time.monotonic()

    async def _read_reply(self, timeout: float) -> Reply | None:
        assert self._port is not None
        deadline = time.monotonic() + timeout
        naks = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if self._proto.reply_timeout():
                    log.info("ccnet reply truncated: partial frame dropped")
                return None
            chunk = await self._port.read(remaining)
            if not chunk:
                continue
            self._last_io = time.monotonic()
            events = self._proto.receive(chunk)
            outgoing = self._proto.data_to_send()
            reply: Reply | None = None
            damaged = False
            for event in events:
                if isinstance(event, ReplyReceived):
                    reply = event.reply
                elif isinstance(event, BadFrame):
                    damaged = True
                else:
                    self._on_protocol_event(event)
            if isinstance(reply, PollReply) and reply.code == STACKED:
                if not await self._may_ack_stacked():
                    outgoing = b""  # the validator repeats the report; ACK when durable
            elif (isinstance(reply, PollReply) and reply.code not in REPORTS
                  and time.monotonic() < self._plain_ack_hold_until):
                outgoing = outgoing.replace(ACK_FRAME, b"")  # see _exchange: a late reply
            if outgoing:  # ACK/NAK answer the reply at once: the bus gap is before commands
                await self._port.write(outgoing)
                self._last_io = time.monotonic()
            if reply is not None:
                return reply
            if damaged:
                naks += 1
                self.link_counters["naks_sent"] += 1
                log.info("ccnet damaged reply: NAK sent (%d)", naks)
                if naks >= self.retries:
                    return None
                deadline = time.monotonic() + timeout

    async def _may_ack_stacked(self) -> bool:
        """ACK a "stacked" report only when its credit is durable in the core's journal."""
        if self._opening:
            return False  # not yet known whose note it is
        pending = self._unacked
        if pending is None:
            return True  # a repeat of a note already acknowledged
        if not pending.durable.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.ack_wait):
                    await pending.durable.wait()
        if pending.durable.is_set():
            self._unacked = None
            return True
        return False

    def _link_failed(self, command: Command) -> None:
        self._failures += 1
        log.warning("ccnet no reply to %s (failures=%d)", command.name, self._failures)
        if self._status.state != DeviceState.OFFLINE:
            self._set_status(
                DeviceStatus(DeviceState.OFFLINE, ("no_reply",), f"no reply to {command.name}")
            )

    # ------------------------------------------------------------ protocol events -> events

    def _on_protocol_event(self, event: ProtocolEvent) -> None:
        if isinstance(event, StateSeen):
            if event.changed:
                log.debug("ccnet state %s", state_name(event.code))
            status = status_for(event.code, event.data)
            if status is not None:
                self._set_status(status)
        elif isinstance(event, Escrow):
            self._on_escrow(event)
        elif isinstance(event, Stacked | StackedRepeat) and self._opening:
            self._open_stacked_type = event.bill_type  # settled by _settle_note_in_path
        elif isinstance(event, Stacked):
            note_id, paise = self._escrow_note or (uuid.uuid4().hex, event.paise or 0)
            self._escrow_note = None
            if event.paise is not None and event.paise != paise:
                log.error("ccnet stacked type %d differs from escrow", event.bill_type)
                paise = event.paise
            log.info("ccnet stacked note_id=%s paise=%d", note_id, paise)
            pending = _UnackedStack(note_id, paise)
            if not self.confirm_credits:
                pending.durable.set()
            self._unacked = pending
            self._emit(NoteStacked(note_id, paise))
            self._wake_decision_waiters()
        elif isinstance(event, StackedRepeat):
            log.info("ccnet repeated 'stacked' for bill type %d ignored", event.bill_type)
        elif isinstance(event, Returned):
            if self._escrow_note is not None:
                note_id, paise = self._escrow_note
                self._escrow_note = None
                log.info("ccnet returned note_id=%s paise=%d", note_id, paise)
                self._emit(NoteReturned(note_id, paise))
            self._wake_decision_waiters()
        elif isinstance(event, Rejected):
            log.info("ccnet rejected reason=%s code=0x%02x", event.reason, event.code)
            self._emit(NoteRejected(event.reason, None))
        elif isinstance(event, PowerUpNote):
            log.warning("ccnet power-up, note in the path: %s", event.where)
            self._escrow_note = None
            self._emit(NoteFoundAtPowerUp(event.where))

    def _on_escrow(self, event: Escrow) -> None:
        self._last_hold = time.monotonic()
        if self._opening:
            log.warning("ccnet note left in escrow at open (bill type %d): returning it",
                        event.bill_type)
            self._proto.decide(Command.RETURN)
            self._escrow_note = ("returned-at-open", 0)  # its value is the core's to know
            return
        if event.paise is None:
            # A bill type we do not know for our country: never offer it to the host.
            log.error("ccnet escrow of unknown bill type %d: returning it", event.bill_type)
            self._proto.decide(Command.RETURN)
            self._wake.set()
            return
        note_id = uuid.uuid4().hex
        self._escrow_note = (note_id, event.paise)
        log.info("ccnet escrow note_id=%s paise=%d", note_id, event.paise)
        self._emit(NoteInEscrow(note_id, event.paise))


__all__ = ["CCNETAcceptor", "NoAnswer"]
