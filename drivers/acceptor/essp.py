"""ITL NV9 / NV10 / NV200 note validator over eSSP: the BanknoteAcceptor facade.

The only part of the eSSP driver that does I/O. It owns the SerialPort (9600 8N2), one asyncio
lock for the line, and a background task that polls. Frames, encryption and the meaning of
events live in the sans-I/O modules essp_framing, essp_crypto, essp_protocol and essp_status.

Escrow: on EF ch the driver emits NoteInEscrow and, until the host decides, sends HOLD instead
of POLL every poll period (a POLL would accept the note). stack() lets the next POLL accept it;
EE (credit) then yields NoteStacked with the same note_id. return_note() sends REJECT.
"""

from __future__ import annotations

import asyncio
import logging
import time

from drivers.acceptor import essp_status
from drivers.acceptor.essp_crypto import EncryptionLayer, KeyExchange, from_u64, u64
from drivers.acceptor.essp_protocol import (
    KEY_NOT_SET,
    Cmd,
    CommandFailed,
    Escrow,
    NoteTracker,
    Reply,
    SetupInfo,
    SSPLink,
    parse_events,
    parse_setup,
)
from drivers.acceptor.polling import PollingAcceptor
from drivers.base import (
    AcceptorEvent,
    DeviceError,
    DeviceState,
    DeviceStatus,
    NoteFoundAtPowerUp,
    NoteStacked,
)
from drivers.serial_port import SerialPort

log = logging.getLogger(__name__)

UNIT_TYPES = {0x00: "note validator", 0x03: "SMART hopper", 0x06: "SMART payout", 0x07: "NV11"}


class NoReply(Exception):
    """The slave did not answer a command after every retry."""


class _KeyLost(Exception):
    """The slave answered "key not set": it was reset and must be renegotiated."""


class ESSPAcceptor(PollingAcceptor):
    """An ITL eSSP note validator (NV9, NV10, NV200) on a serial port."""

    protocol_name = "essp"

    def __init__(
        self,
        port: str,
        *,
        address: int = 0,
        fixed_key: int = 0x0123456701234567,
        encryption: bool = True,
        poll_interval: float = 0.2,
        reply_timeout: float = 0.3,
        retries: int = 3,
        protocol_version: int = 7,
        country: str = "INR",
    ) -> None:
        super().__init__(port, poll_interval=poll_interval)
        self.address = address
        self.fixed_key = fixed_key
        self.encryption = encryption
        self.reply_timeout = reply_timeout
        self.retries = retries
        self.protocol_version = protocol_version
        self.country = country

        self._link = SSPLink(address)
        self._tracker = NoteTracker()
        self._lock = asyncio.Lock()
        self._setup: SetupInfo | None = None
        self._accept_channels: set[int] = set()  # what the host wants enabled (kept over resyncs)
        self._needs_resync = False
        self._backoff = poll_interval
        # Counters for logs, tests and the bench.
        self.key_negotiations = 0
        self.resyncs = 0
        # Reconciling with the device's own stacked-note counter after a resync (see
        # _reconcile_counter): the counter value and our credits reported at the last check.
        self._counter_base: int | None = None
        self._credits_at_base = 0
        self._credits_reported = 0
        self.recovered_credits = 0
        self.commands_sent = 0  # distinct commands (a resend is not a new command)
        self.resends = 0

    # ------------------------------------------------------------ contract

    def _make_port(self) -> SerialPort:
        return SerialPort(self.port_path, 9600, parity="N", stopbits=2, name="essp")

    def _reset_for_open(self) -> None:
        self._needs_resync = False
        self._link = SSPLink(self.address)

    async def _initialise_at_open(self) -> None:
        try:
            async with self._lock:
                await self._initialise(first=True)
        except (NoReply, CommandFailed, _KeyLost, ValueError) as exc:
            raise DeviceError(f"essp: {self.port_path}: cannot initialise: {exc}") from exc

    def _after_open(self) -> None:
        self._set_status(self._tracker.status)

    async def _leave_disabled(self) -> None:
        if not self._needs_resync:  # a line out of step would only answer garbage
            async with self._lock:
                await self._command(bytes((Cmd.DISABLE,)))

    def denominations(self) -> list[int]:
        if self._setup is None:
            return []
        return sorted({p for p in self._tracker.channel_paise.values() if p})

    async def enable(self, accept_paise: set[int]) -> None:
        """Accept only these values. Raises DeviceError if the device does not take it; while
        the device is being resynchronised the setting is kept and applied by the resync."""
        channels = {ch for ch, p in self._tracker.channel_paise.items() if p in accept_paise}
        unknown = set(accept_paise) - set(self._tracker.channel_paise.values())
        if unknown:
            log.warning("essp: no channel for %s paise; not enabled", sorted(unknown))
        self._accept_channels = channels
        await self._push_enable()

    async def disable(self) -> None:
        self._accept_channels = set()
        if self._port is None:
            return  # not open: accepting nothing already
        await self._push_enable()

    async def _push_enable(self) -> None:
        if self._port is None:
            raise DeviceError(f"essp: {self.port_path} is not open")
        async with self._lock:
            if self._needs_resync:
                self._wake.set()
                return
            try:
                await self._apply_enable()
            except (NoReply, _KeyLost, CommandFailed) as exc:
                self._needs_resync = True
                self._wake.set()
                raise DeviceError(f"essp: {self.port_path}: enable/disable failed: {exc}") from exc

    async def stack(self) -> None:
        if not self._tracker.decide(Escrow.ACCEPT):
            log.warning("essp: stack() with no undecided note in escrow; ignored")
            return
        self._wake.set()  # poll now: the POLL is what accepts the note

    async def return_note(self) -> None:
        if not self._tracker.decide(Escrow.RETURN):
            log.warning("essp: return_note() with no undecided note in escrow; ignored")
            return
        self._wake.set()  # the poll task sends REJECT (again, until the slave acknowledges it)

    async def hold(self) -> None:
        self._wake.set()  # the poll task sends HOLD every period while the note is undecided

    # ------------------------------------------------------------ helpers for tests / bench

    @property
    def link(self) -> SSPLink:
        return self._link

    @property
    def tracker(self) -> NoteTracker:
        return self._tracker

    # ------------------------------------------------------------ line I/O

    async def _exchange(self, data: bytes) -> Reply:
        """Send one command and wait for its reply; resend the identical frame on timeout.

        Raises NoReply after 1 + `retries` attempts, DeviceError if the port is lost.
        Must be called with the lock held.
        """
        port = self._port
        if port is None:
            raise DeviceError(f"essp: {self.port_path} is not open")
        wire = self._link.command(data)
        self.commands_sent += 1
        for attempt in range(1 + self.retries):
            if attempt:
                log.info("essp: no reply to 0x%02x, resending (attempt %d)", data[0], attempt + 1)
                wire = self._link.resend()
                self.resends += 1
            await port.write(wire)
            deadline = time.monotonic() + self.reply_timeout
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                chunk = await port.read(remaining)
                if not chunk:
                    continue
                reply = self._link.receive(chunk)
                if reply is not None:
                    return reply
        self._link.abandon()
        raise NoReply(f"no reply to command 0x{data[0]:02x} from {self.port_path}")

    async def _command(self, data: bytes) -> bytes:
        """Exchange and require OK; the reply data after the 0xF0."""
        reply = await self._exchange(data)
        if reply.code == KEY_NOT_SET and not reply.encrypted:
            raise _KeyLost("slave says key not set")
        if not reply.ok:
            raise CommandFailed(data[0], reply.code)
        return reply.data

    # ------------------------------------------------------------ initialisation

    async def _sync(self) -> None:
        assert self._port is not None
        self._port.discard_input()
        self._link.encryption = None
        self._link.decoder.reset()
        await self._command(bytes((Cmd.SYNC,)))

    async def _negotiate_key(self) -> None:
        kx = KeyExchange.new()
        self._link.encryption = None
        await self._command(bytes((Cmd.SET_GENERATOR,)) + u64(kx.generator))
        await self._command(bytes((Cmd.SET_MODULUS,)) + u64(kx.modulus))
        data = await self._command(bytes((Cmd.REQUEST_KEY_EXCHANGE,)) + u64(kx.host_inter))
        if len(data) < 8:
            raise ValueError(f"key exchange reply has {len(data)} bytes, want 8")
        key = kx.key(from_u64(data[:8]))
        self._link.encryption = EncryptionLayer(self.fixed_key, key)
        self.key_negotiations += 1
        log.info("essp: encryption key negotiated (#%d)", self.key_negotiations)

    async def _set_protocol(self) -> int:
        for version in range(self.protocol_version, 3, -1):
            try:
                await self._command(bytes((Cmd.HOST_PROTOCOL_VERSION, version)))
                return version
            except CommandFailed as exc:
                if exc.code != 0xF8:
                    raise
        raise ValueError("slave accepts no protocol version >= 4")

    async def _initialise(self, *, first: bool) -> None:
        """SYNC, key, protocol; on the first open also identity and denominations."""
        await self._sync()
        if self.encryption:
            await self._negotiate_key()
        version = await self._set_protocol()
        if first or self._setup is None:
            setup = parse_setup(await self._command(bytes((Cmd.SETUP_REQUEST,))))
            self._setup = setup
            self._tracker.channel_paise = {
                ch.number: ch.paise
                for ch in setup.channels
                if not self.country or ch.country == self.country
            }
            if setup.country != self.country:
                log.warning("essp: device currency %s, configured %s", setup.country, self.country)
            identity = {
                "protocol": "essp",
                "model": UNIT_TYPES.get(setup.unit_type, f"unit type 0x{setup.unit_type:02x}"),
                "country": setup.country,
                "firmware": setup.firmware,
                "protocol_version": version,
                "encryption": self.encryption,
                "port": self.port_path,
            }
            serial = await self._command(bytes((Cmd.GET_SERIAL,)))
            if len(serial) >= 4:
                identity["serial"] = str(int.from_bytes(serial[:4], "big"))
            for cmd, key in ((Cmd.GET_FIRMWARE, "firmware"), (Cmd.GET_DATASET, "dataset")):
                try:
                    text = await self._command(bytes((cmd,)))
                except CommandFailed:
                    continue
                identity[key] = text.decode("ascii", "replace").strip("\x00 ")
            self._identity = identity
        await self._apply_enable()
        self._needs_resync = False
        await self._reconcile_counter(first)

    async def _stacked_count(self) -> int | None:
        """The device's count of notes stacked (GET COUNTERS, first counter), or None."""
        try:
            data = await self._command(bytes((Cmd.GET_COUNTERS,)))
        except CommandFailed:
            return None
        if len(data) < 5:
            return None
        return int.from_bytes(data[1:5], "little")

    async def _reconcile_counter(self, first: bool) -> None:
        """A credit whose reply was lost through every resend is gone once SYNC runs: the device
        replays only its last reply. Its own stacked counter still knows. After a resync, one
        poll first (so a reset's E1/E2 events are reported and counted), then every note the
        device stacked that we never reported is credited to the note we held in escrow, or,
        if we held none, flagged for reconciliation with its value unknown."""
        # At the first open too: events the device queued while the host was away (a credit
        # it never got to report) reach the core before recovery settles open sessions.
        await self._poll_once()
        count = await self._stacked_count()
        if count is None:
            return
        if not first and self._counter_base is not None:
            missing = (count - self._counter_base) - (
                self._credits_reported - self._credits_at_base
            )
            for _ in range(max(0, missing)):
                note = self._tracker.escrow
                self.recovered_credits += 1
                if note is not None:
                    self._tracker.escrow = None
                    log.warning("essp: credit lost on the line recovered from the counter")
                    self._emit(NoteStacked(note.note_id, note.paise))
                else:
                    log.warning("essp: the device stacked a note we never saw: flagged")
                    self._emit(NoteFoundAtPowerUp("stacker", None))
        self._counter_base = count
        self._credits_at_base = self._credits_reported

    def stacked_count(self) -> int | None:
        if self._counter_base is None:
            return None
        return self._counter_base + (self._credits_reported - self._credits_at_base)

    async def _apply_enable(self) -> None:
        mask = 0
        for ch in self._accept_channels:
            mask |= 1 << (ch - 1)
        await self._command(bytes((Cmd.SET_INHIBITS, mask & 0xFF, (mask >> 8) & 0xFF)))
        await self._command(bytes((Cmd.ENABLE if mask else Cmd.DISABLE,)))

    # ------------------------------------------------------------ polling

    def _emit(self, event: AcceptorEvent) -> None:
        if isinstance(event, NoteStacked) or (
            isinstance(event, NoteFoundAtPowerUp) and event.where == "stacker"
        ):
            self._credits_reported += 1
        super()._emit(event)

    async def _poll_round(self) -> float:
        """One poll (after a resync when the line fell out of step); the wait before the next:
        fast while a note is in escrow or notes are enabled (the citizen waits for the credit),
        the configured interval while idle, backing off while the device does not answer."""
        try:
            async with self._lock:
                if self._closing:
                    return 0.0
                if self._needs_resync:
                    self.resyncs += 1
                    await self._initialise(first=False)
                    self._set_status(self._tracker.status)
                await self._poll_once()
            moving = self._tracker.escrow is not None or bool(self._accept_channels)
            self._backoff = min(self.poll_interval, 0.05) if moving else self.poll_interval
        except (NoReply, _KeyLost, CommandFailed, ValueError) as exc:
            if self._closing:
                return 0.0
            log.warning("essp: %s; resynchronising", exc)
            self._needs_resync = True
            if isinstance(exc, NoReply):
                self._set_status(DeviceStatus(DeviceState.OFFLINE, ("no_reply",), str(exc)))
                self._backoff = min(max(self._backoff * 2, self.poll_interval), 2.0)
            else:
                self._backoff = self.poll_interval
        except DeviceError:
            raise  # the port is gone: the polling base reports it and the watchdog reopens
        except Exception:  # a bug must not kill the acceptor silently
            log.exception("essp: unexpected error in poll loop")
            self._needs_resync = True
            self._backoff = 1.0
        return self._backoff

    async def _poll_once(self) -> None:
        """One HOLD (note undecided in escrow), REJECT (host said return) or POLL, and what
        follows from its reply."""
        if self._tracker.should_reject():
            reply = await self._exchange(bytes((Cmd.REJECT,)))
            if reply.code == KEY_NOT_SET and not reply.encrypted:
                raise _KeyLost("slave says key not set")
            if not reply.ok:  # F5: no note in escrow any more (timed out, reset): POLL tells
                log.warning("essp: REJECT answered 0x%02x", reply.code)
            self._tracker.reject_acknowledged()
        elif self._tracker.should_hold():
            reply = await self._exchange(bytes((Cmd.HOLD,)))
            if reply.code == KEY_NOT_SET and not reply.encrypted:
                raise _KeyLost("slave says key not set")
            if reply.ok:
                return
            # The slave has no note to hold (it timed out or was reset): POLL to learn why.
            log.warning("essp: HOLD answered 0x%02x; polling", reply.code)
        reply = await self._exchange(bytes((Cmd.POLL,)))
        if reply.code == KEY_NOT_SET and not reply.encrypted:
            raise _KeyLost("slave says key not set")
        if not reply.ok:
            raise CommandFailed(Cmd.POLL, reply.code)
        events, rest = parse_events(reply.data)
        if rest:
            log.warning("essp: poll reply bytes not understood: %s", rest.hex(" "))
        if events:
            log.debug("essp: poll: %s", ", ".join(str(e) for e in events))
        outcome = self._tracker.on_poll(events)
        if outcome.rejects_to_explain:
            # The events of this reply are emitted whatever happens to this query: the reply
            # may also carry a credit, and the slave will not report it again.
            code = None
            try:
                data = await self._command(bytes((Cmd.LAST_REJECT_CODE,)))
                code = data[0] if data else None
            except CommandFailed:
                pass
            except (NoReply, _KeyLost) as exc:
                log.warning("essp: LAST REJECT CODE: %s", exc)
                self._needs_resync = True
            self._tracker.explain_rejects(outcome, essp_status.reject_reason(code))
        for event in outcome.events:
            self._emit(event)
        if outcome.device_reset:
            # The slave lost its key, protocol level, inhibits and enable: set them up again.
            log.warning("essp: slave reset (F1); renegotiating")
            await self._initialise(first=False)
