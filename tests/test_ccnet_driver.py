"""The CCNET driver against the CCNET simulator over a real pty."""

from __future__ import annotations

import asyncio
import os
import time

import pytest
import pytest_asyncio

from drivers.acceptor import CCNETAcceptor, make_acceptor
from drivers.base import (
    DeviceError,
    DeviceState,
    NoteFoundAtPowerUp,
    NoteInEscrow,
    NoteRejected,
    NoteReturned,
    NoteStacked,
    StatusChanged,
)
from sim.devices.ccnet import CCNETSimulator

R100, R500, R2000 = 10_000, 50_000, 200_000


class Events:
    """Drains an acceptor's event stream into a list the test can wait on."""

    def __init__(self, acceptor: CCNETAcceptor) -> None:
        self.items: list = []
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._drain(acceptor))

    async def _drain(self, acceptor: CCNETAcceptor) -> None:
        async for event in acceptor.events():
            self.items.append(event)
            self._changed.set()

    def of(self, kind) -> list:
        return [e for e in self.items if isinstance(e, kind)]

    def mark(self) -> int:
        """Position to wait from: wait(..., after=mark) ignores older events."""
        return len(self.items)

    async def wait(self, predicate, timeout: float = 3.0, after: int = 0):
        deadline = time.monotonic() + timeout
        while True:
            for event in self.items[after:]:
                if predicate(event):
                    return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"event not seen in {timeout} s; got {self.items}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass

    async def wait_for(self, kind, timeout: float = 3.0, after: int = 0):
        return await self.wait(lambda e: isinstance(e, kind), timeout, after)

    async def wait_status(
        self, state: DeviceState, detail: str | None = None, timeout=3.0, after: int = 0
    ):
        return await self.wait(
            lambda e: (
                isinstance(e, StatusChanged)
                and e.status.state == state
                and (detail is None or detail in e.status.detail)
            ),
            timeout,
            after,
        )

    def stop(self) -> None:
        self._task.cancel()


def fast(sim: CCNETSimulator) -> CCNETSimulator:
    sim.accept_time = sim.stack_time = sim.return_time = 0.1
    sim.init_time = 0.15
    return sim


def make_driver(path: str, **options) -> CCNETAcceptor:
    options.setdefault("poll_interval", 0.05)
    options.setdefault("reply_timeout", 0.1)
    acceptor = make_acceptor("ccnet", path, **options)
    assert isinstance(acceptor, CCNETAcceptor)
    return acceptor


@pytest_asyncio.fixture
async def sim():
    simulator = fast(CCNETSimulator())
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest_asyncio.fixture
async def rig(sim):
    acceptor = make_driver(sim.path)
    events = Events(acceptor)
    await acceptor.open()
    yield sim, acceptor, events
    events.stop()
    await acceptor.close()


async def escrow(sim, acceptor, events, rupees: int) -> NoteInEscrow:
    sim.insert_note(rupees)
    return await events.wait(lambda e: isinstance(e, NoteInEscrow) and e.paise == rupees * 100)


# ---------------------------------------------------------------- open


async def test_open_reads_denominations_and_identity(rig):
    sim, acceptor, events = rig
    assert acceptor.denominations() == [1000, 2000, 5000, 10000, 20000, 50000, 200000]
    identity = acceptor.identity()
    assert identity["model"] == "SM-RU1353"
    assert identity["serial"] == "41K000123456"
    assert identity["asset"] == "00000000000001"
    assert acceptor.status().state == DeviceState.ONLINE
    assert "disabled" in acceptor.status().detail
    assert sim.enabled_mask == 0
    assert sim.commands_seen[:2] == [0x33, 0x30]  # POLL first (power-up note?), then RESET


async def test_open_without_device_raises_clear_error():
    master, slave = os.openpty()
    try:
        acceptor = make_driver(os.ttyname(slave), reply_timeout=0.05)
        with pytest.raises(DeviceError, match="no answer"):
            await acceptor.open()
        assert acceptor.status().state == DeviceState.OFFLINE
        await acceptor.close()
    finally:
        os.close(master)
        os.close(slave)


def test_factory_knows_ccnet_only():
    assert isinstance(make_acceptor("CCNET", "/dev/null"), CCNETAcceptor)
    with pytest.raises(ValueError, match="unknown"):
        make_acceptor("mdb", "/dev/null")


# ---------------------------------------------------------------- notes


async def test_escrow_then_stack_credits_once(rig):
    sim, acceptor, events = rig
    await acceptor.enable({R100, R500})
    assert sim.enabled_mask == sim.escrow_mask == 0b101000
    note = await escrow(sim, acceptor, events, 500)
    await acceptor.stack()
    await acceptor.stack()  # a second request for the same note does nothing
    stacked = await events.wait_for(NoteStacked)
    assert stacked == NoteStacked(note.note_id, R500)
    await asyncio.sleep(0.3)
    assert events.of(NoteStacked) == [stacked]
    assert sim.stacked == [500]
    assert sim.commands_seen.count(0x35) == 1


async def test_return_note(rig):
    sim, acceptor, events = rig
    await acceptor.enable({R100, R500})
    note = await escrow(sim, acceptor, events, 100)
    await acceptor.return_note()
    returned = await events.wait_for(NoteReturned)
    assert returned == NoteReturned(note.note_id, R100)
    assert sim.returned == [100] and sim.stacked == []
    assert not events.of(NoteStacked)


async def test_inhibited_note_rejected(rig):
    sim, acceptor, events = rig
    await acceptor.enable({R100, R500})
    sim.insert_note(2000)
    rejected = await events.wait_for(NoteRejected)
    assert rejected == NoteRejected("inhibited", None)
    await asyncio.sleep(0.2)
    assert len(events.of(NoteRejected)) == 1
    assert not events.of(NoteInEscrow)


async def test_disable_sends_zero_masks(rig):
    sim, acceptor, events = rig
    await acceptor.enable({R500})
    assert sim.enabled_mask == 1 << 5
    await acceptor.disable()
    assert sim.enabled_mask == sim.escrow_mask == 0


class LosesAckAfterStacked(CCNETSimulator):
    """Our ACK of the first 'bill stacked' reply is lost on the wire: the unit says it again."""

    stacked_reports = 0
    ack_lost = False

    async def _on_item(self, item) -> None:
        data = getattr(item, "data", b"")
        event = self._reported_event
        if data == b"\x00" and event is not None and event.code == 0x81:
            self.stacked_reports += 1
            if not self.ack_lost:
                self.ack_lost = True
                return  # this ACK never reached the validator
        await super()._on_item(item)


async def test_lost_ack_repeated_stacked_is_one_credit():
    sim = fast(LosesAckAfterStacked())
    await sim.start()
    acceptor = make_driver(sim.path)
    events = Events(acceptor)
    try:
        await acceptor.open()
        await acceptor.enable({R500})
        note = await escrow(sim, acceptor, events, 500)
        await acceptor.stack()
        await events.wait_for(NoteStacked)
        await asyncio.sleep(0.4)
        assert sim.ack_lost and sim.stacked_reports == 2  # 0x81 was on the line twice
        assert events.of(NoteStacked) == [NoteStacked(note.note_id, R500)]
        assert sim.stacked == [500]
    finally:
        events.stop()
        await acceptor.close()
        await sim.stop()


async def test_escrow_is_held_while_host_undecided():
    sim = fast(CCNETSimulator(escrow_timeout=1.0))
    await sim.start()
    acceptor = make_driver(sim.path, hold_interval=0.4)
    events = Events(acceptor)
    try:
        await acceptor.open()
        await acceptor.enable({R500})
        note = await escrow(sim, acceptor, events, 500)
        await asyncio.sleep(2.5)
        assert sim.state_name in ("escrow", "holding")
        assert 0x38 in sim.commands_seen  # HOLD
        assert not events.of(NoteReturned)
        await acceptor.stack()
        assert (await events.wait_for(NoteStacked)).note_id == note.note_id
        assert sim.stacked == [500]
    finally:
        events.stop()
        await acceptor.close()
        await sim.stop()


# ---------------------------------------------------------------- link faults


async def test_corrupt_reply_recovers(rig):
    sim, acceptor, events = rig
    await acceptor.enable({R500})
    sim.corrupt_next_reply()
    await asyncio.sleep(0.2)
    assert sim.naks_seen >= 1 and acceptor.link_counters["naks_sent"] >= 1
    assert acceptor.status().state == DeviceState.ONLINE
    note = await escrow(sim, acceptor, events, 500)
    sim.corrupt_next_reply()  # the answer to STACK (or the next poll) arrives damaged
    await acceptor.stack()
    assert await events.wait_for(NoteStacked) == NoteStacked(note.note_id, R500)
    await asyncio.sleep(0.3)
    assert len(events.of(NoteStacked)) == 1 and sim.stacked == [500]


async def test_dropped_replies_retried_then_offline_then_back(rig):
    sim, acceptor, events = rig
    sim.drop_next_replies(2)  # within the retry budget: no status change
    await asyncio.sleep(0.5)
    assert not events.of(StatusChanged) or all(
        e.status.state != DeviceState.OFFLINE for e in events.of(StatusChanged)
    )
    sim.drop_next_replies(12)
    await events.wait_status(DeviceState.OFFLINE, "no_reply")
    back = events.mark()
    await events.wait_status(DeviceState.ONLINE, after=back)
    assert acceptor.status().state == DeviceState.ONLINE


# ---------------------------------------------------------------- device faults


async def test_jam_reported_and_cleared(rig):
    sim, acceptor, events = rig
    sim.jam("validator")
    status = (await events.wait_status(DeviceState.HWERROR, "jam")).status
    assert "jam_validator" in status.detail
    cleared = events.mark()
    sim.clear_jam()
    await events.wait_status(DeviceState.ONLINE, after=cleared)
    sim.jam("cassette")
    await events.wait_status(DeviceState.HWERROR, "jam_cassette")
    sim.clear_jam()


async def test_cassette_full_and_removed(rig):
    sim, acceptor, events = rig
    sim.set_cassette_full(True)
    await events.wait_status(DeviceState.HWERROR, "stacker_full")
    sim.set_cassette_full(False)
    sim.remove_cassette()
    await events.wait_status(DeviceState.USER_ERROR, "cassette_removed")
    sim.insert_cassette()
    await asyncio.sleep(0.2)
    assert acceptor.status().state == DeviceState.ONLINE


async def test_power_cut_note_in_stacker_found_after_reopen(sim):
    acceptor = make_driver(sim.path)
    events = Events(acceptor)
    try:
        await acceptor.open()
        await acceptor.close()
        sim.power_cut(note_in="stacker")
        reopened = events.mark()
        await acceptor.open()
        found = await events.wait_for(NoteFoundAtPowerUp, after=reopened)
        assert found == NoteFoundAtPowerUp("stacker")
        assert acceptor.status().state == DeviceState.ONLINE
    finally:
        events.stop()
        await acceptor.close()


async def test_power_cut_while_running_reinitialises(rig):
    sim, acceptor, events = rig
    await acceptor.enable({R500})
    cut = events.mark()
    sim.power_cut(note_in="validator")
    found = await events.wait_for(NoteFoundAtPowerUp, after=cut)
    assert found.where == "validator"
    await events.wait_status(DeviceState.ONLINE, "idling", after=events.items.index(found))
    assert sim.enabled_mask == 1 << 5  # the host's mask is restored after the reset
    # The fresh unit's first power-up says "none" (nothing in the path); the cut says where.
    assert [e.where for e in events.of(NoteFoundAtPowerUp)] == ["none", "validator"]


async def test_port_lost_goes_offline_quietly(sim):
    acceptor = make_driver(sim.path)
    events = Events(acceptor)
    try:
        await acceptor.open()
        await sim.stop()
        status = (await events.wait_status(DeviceState.OFFLINE)).status
        assert status.detail in (("port_lost",), ("no_reply",))
        await asyncio.sleep(0.3)
        assert acceptor.status().state == DeviceState.OFFLINE
        with pytest.raises(DeviceError):
            await acceptor.enable({R500})
    finally:
        events.stop()
        await acceptor.close()
        await acceptor.close()  # idempotent


async def test_a_late_reply_is_not_taken_for_the_next_one(rig):
    """CCNET has no sequence numbers. A reply that comes after its timeout must not be taken as
    the answer to the next POLL: its ACK would make the validator drop the "stacked" report it
    sent in between (a note in the cassette credited to nobody, seen in a random-kill run)."""
    sim, acceptor, events = rig
    await acceptor.enable({R500})
    sim.stack_time = 0.2
    note = await escrow(sim, acceptor, events, 500)
    await acceptor.stack()
    sim.set_reply_delay(0.2)  # the next reply (still "stacking") comes after the driver gave up
    await asyncio.sleep(0.12)
    sim.set_reply_delay(0.0)
    stacked = await events.wait_for(NoteStacked, timeout=3.0)
    assert stacked == NoteStacked(note.note_id, R500) and sim.stacked == [500]
    assert not events.of(NoteReturned)  # it went into the cassette, not back
