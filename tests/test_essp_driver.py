"""ESSPAcceptor against the eSSP simulator over a real pty (encryption on)."""

from __future__ import annotations

import asyncio
import time

import pytest
import pytest_asyncio

from drivers.acceptor.essp import ESSPAcceptor
from drivers.acceptor.essp_crypto import EncryptionLayer
from drivers.acceptor.essp_framing import encode_packet
from drivers.acceptor.essp_protocol import Cmd, NoteTracker, SSPLink, parse_events
from drivers.base import (
    DeviceState,
    NoteFoundAtPowerUp,
    NoteInEscrow,
    NoteRejected,
    NoteReturned,
    NoteStacked,
    StatusChanged,
)
from sim.devices.essp import ESSPSimulator

INR_PAISE = [1000, 2000, 5000, 10000, 20000, 50000, 200000]


class Harness:
    def __init__(self, sim: ESSPSimulator, acceptor: ESSPAcceptor) -> None:
        self.sim = sim
        self.acceptor = acceptor
        self.events: list = []
        self._task = asyncio.create_task(self._collect())

    async def _collect(self) -> None:
        async for event in self.acceptor.events():
            self.events.append(event)

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    async def wait_for(self, predicate, timeout: float = 3.0, what: str = ""):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events:
                if predicate(event):
                    return event
            await asyncio.sleep(0.01)
        raise AssertionError(f"timed out waiting for {what or predicate}; events: {self.events}")

    async def wait_status(self, check, timeout: float = 3.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check(self.acceptor.status()):
                return self.acceptor.status()
            await asyncio.sleep(0.01)
        raise AssertionError(f"status stayed {self.acceptor.status()}; events: {self.events}")

    async def escrow(self, rupees: int) -> NoteInEscrow:
        await self.acceptor.enable(set(INR_PAISE))
        self.sim.insert_note(rupees)
        return await self.wait_for(lambda e: isinstance(e, NoteInEscrow), what="escrow")

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def _start(**sim_kwargs) -> Harness:
    sim = ESSPSimulator(**sim_kwargs)
    await sim.start()
    acceptor = ESSPAcceptor(sim.path, poll_interval=0.05, reply_timeout=0.15, retries=3)
    await acceptor.open()
    return Harness(sim, acceptor)


@pytest_asyncio.fixture
async def h():
    harness = await _start()
    yield harness
    await harness.acceptor.close()
    await harness.close()
    await harness.sim.stop()


@pytest.mark.asyncio
async def test_open_negotiates_key_and_reads_denominations(h: Harness):
    assert h.sim.key_negotiated
    assert h.acceptor.key_negotiations >= 1
    for cmd in (Cmd.SYNC, Cmd.SET_GENERATOR, Cmd.SET_MODULUS, Cmd.REQUEST_KEY_EXCHANGE):
        assert cmd in h.sim.commands_seen
    assert h.acceptor.denominations() == INR_PAISE
    ident = h.acceptor.identity()
    assert ident["serial"] == "1234567"
    assert ident["country"] == "INR"
    assert ident["dataset"] and ident["firmware"]
    assert h.acceptor.status().state is DeviceState.ONLINE
    assert not h.sim.enabled


@pytest.mark.asyncio
async def test_escrow_stack_exactly_one_credit(h: Harness):
    escrow = await h.escrow(500)
    assert escrow.paise == 50000
    await asyncio.sleep(0.3)  # undecided: the driver HOLDs, the note stays in escrow
    assert h.sim.state_name == "escrow" and not h.of(NoteStacked)
    await h.acceptor.stack()
    stacked = await h.wait_for(lambda e: isinstance(e, NoteStacked), what="stacked")
    assert stacked == NoteStacked(escrow.note_id, 50000)
    await h.acceptor.stack()  # nothing in escrow: must not stack anything
    await asyncio.sleep(0.3)
    assert len(h.of(NoteStacked)) == 1
    assert h.sim.stacked == [500] and h.sim.credits_reported == 1


@pytest.mark.asyncio
async def test_return_note(h: Harness):
    escrow = await h.escrow(100)
    await h.acceptor.return_note()
    returned = await h.wait_for(lambda e: isinstance(e, NoteReturned), what="returned")
    assert returned == NoteReturned(escrow.note_id, 10000)
    assert h.sim.returned == [100] and h.sim.stacked == []
    assert not h.of(NoteStacked)


@pytest.mark.asyncio
async def test_inhibited_note_is_rejected(h: Harness):
    await h.acceptor.enable({50000})
    assert h.sim.inhibit_mask == 1 << 5 and h.sim.enabled
    h.sim.insert_note(100)
    rejected = await h.wait_for(lambda e: isinstance(e, NoteRejected), what="rejected")
    assert rejected.reason == "inhibited"
    assert not h.of(NoteInEscrow) and h.sim.returned == [100]
    await h.acceptor.enable(set())
    assert not h.sim.enabled


@pytest.mark.asyncio
async def test_lost_and_corrupted_replies_resend_same_packet_one_credit(h: Harness):
    escrow = await h.escrow(2000)
    h.sim.corrupt_next_reply()  # a HOLD reply with a bad CRC
    await asyncio.sleep(0.3)
    await h.acceptor.stack()
    deadline = time.monotonic() + 2
    while h.sim.state_name != "stacking" and time.monotonic() < deadline:
        await asyncio.sleep(0.002)
    assert h.sim.state_name == "stacking"
    h.sim.drop_next_replies(2)  # the reply carrying the credit is lost twice
    stacked = await h.wait_for(lambda e: isinstance(e, NoteStacked), what="stacked")
    assert stacked == NoteStacked(escrow.note_id, 200000)
    await asyncio.sleep(0.3)
    assert len(h.of(NoteStacked)) == 1
    assert h.sim.credits_reported == 1 and h.sim.stacked == [2000]
    assert h.acceptor.resends >= 3
    # every resend was replayed by the device, never executed again (the driver keeps polling:
    # look between two polls, not while one is on the wire)
    deadline = time.monotonic() + 2
    while len(h.sim.commands_seen) != h.acceptor.commands_sent and time.monotonic() < deadline:
        await asyncio.sleep(0.005)
    assert len(h.sim.commands_seen) == h.acceptor.commands_sent
    assert h.acceptor.status().state is DeviceState.ONLINE


@pytest.mark.asyncio
async def test_credit_lost_through_every_resend_is_recovered_from_the_counter(h: Harness):
    """The reply carrying the credit and all its resends are lost; SYNC then discards the
    device's copy. The device's stacked counter (GET COUNTERS) still shows the note: the driver
    credits it to the note it held in escrow, exactly once."""
    escrow = await h.escrow(500)
    await h.acceptor.stack()
    deadline = time.monotonic() + 2
    while h.sim.state_name != "stacking" and time.monotonic() < deadline:
        await asyncio.sleep(0.002)
    assert h.sim.state_name == "stacking"
    h.sim.drop_next_replies(1 + h.acceptor.retries)  # the credit poll and every resend
    stacked = await h.wait_for(lambda e: isinstance(e, NoteStacked), timeout=8, what="stacked")
    assert stacked == NoteStacked(escrow.note_id, 50000)
    assert h.acceptor.recovered_credits == 1
    await asyncio.sleep(0.5)
    assert len(h.of(NoteStacked)) == 1 and h.sim.stacked == [500]
    # and the next note goes through normally, counted once
    h.events.clear()
    nxt = await h.escrow(100)
    await h.acceptor.stack()
    await h.wait_for(lambda e: isinstance(e, NoteStacked) and e.note_id == nxt.note_id)
    await asyncio.sleep(0.3)
    assert len(h.of(NoteStacked)) == 1 and h.acceptor.recovered_credits == 1
    assert h.sim.stacked == [500, 100]


@pytest.mark.asyncio
async def test_hold_keeps_note_past_escrow_timeout():
    h = await _start(escrow_timeout=0.5)
    try:
        escrow = await h.escrow(200)
        await h.acceptor.hold()
        await asyncio.sleep(1.5)  # three escrow timeouts
        assert h.sim.state_name == "escrow" and not h.of(NoteReturned)
        await h.acceptor.stack()
        stacked = await h.wait_for(lambda e: isinstance(e, NoteStacked), what="stacked")
        assert stacked.note_id == escrow.note_id and h.sim.stacked == [200]
    finally:
        await h.acceptor.close()
        await h.close()
        await h.sim.stop()


@pytest.mark.asyncio
async def test_faults_become_status_changes(h: Harness):
    def changed(state, word):
        return lambda e: (
            isinstance(e, StatusChanged) and e.status.state is state and word in e.status.detail
        )

    h.sim.jam(safe=True)
    await h.wait_for(changed(DeviceState.HWERROR, "jam_safe"), what="safe jam")
    h.sim.clear_jam()
    await h.wait_status(lambda s: s.state is DeviceState.ONLINE)
    h.sim.jam(safe=False)
    await h.wait_for(changed(DeviceState.HWERROR, "jam_unsafe"), what="unsafe jam")
    h.sim.clear_jam()
    await h.wait_status(lambda s: s.state is DeviceState.ONLINE)
    h.sim.set_stacker_full(True)
    await h.wait_for(changed(DeviceState.USER_ERROR, "stacker_full"), what="stacker full")
    h.sim.set_stacker_full(False)
    await h.wait_status(lambda s: s.state is DeviceState.ONLINE)
    h.sim.remove_cashbox()
    await h.wait_for(changed(DeviceState.USER_ERROR, "cashbox_removed"), what="cashbox out")
    h.sim.replace_cashbox()
    await h.wait_status(lambda s: s.state is DeviceState.ONLINE)
    h.sim.fraud(3)
    await h.wait_for(changed(DeviceState.FRAUD, "fraud"), what="fraud")
    await h.wait_status(lambda s: s.state is DeviceState.ONLINE)


@pytest.mark.asyncio
async def test_power_cut_note_into_cashbox_credited_after_recovery(h: Harness):
    await h.escrow(500)
    negotiations = h.acceptor.key_negotiations
    h.sim.power_cut(note_in="cashbox", downtime=1.0)
    await h.wait_for(
        lambda e: isinstance(e, StatusChanged) and e.status.state is DeviceState.OFFLINE,
        what="offline",
    )
    found = await h.wait_for(
        lambda e: isinstance(e, NoteFoundAtPowerUp), timeout=6.0, what="note found"
    )
    assert found == NoteFoundAtPowerUp("stacker", 50000)
    assert not h.of(NoteStacked) and not h.of(NoteReturned)
    assert h.sim.stacked == [500]
    await h.wait_status(lambda s: s.state is DeviceState.ONLINE)
    assert h.sim.key_negotiated and h.acceptor.key_negotiations > negotiations
    assert h.sim.enabled and h.sim.inhibit_mask == 0x7F  # the host's enable survives the reset
    # and the validator still works after it
    h.sim.insert_note(50)
    await h.wait_for(lambda e: isinstance(e, NoteInEscrow) and e.paise == 5000, what="escrow")
    await h.acceptor.stack()
    stacked = await h.wait_for(lambda e: isinstance(e, NoteStacked), what="stacked")
    assert stacked.paise == 5000
    assert len(h.of(NoteFoundAtPowerUp)) == 1


@pytest.mark.asyncio
async def test_power_cut_note_back_to_front(h: Harness):
    escrow = await h.escrow(10)
    h.sim.power_cut(note_in="front")
    returned = await h.wait_for(lambda e: isinstance(e, NoteReturned), what="returned")
    assert returned == NoteReturned(escrow.note_id, 1000)
    assert not h.of(NoteFoundAtPowerUp) and h.sim.stacked == []


def test_forged_plain_credit_refused_at_protocol_layer():
    """A plain reply claiming a credit (someone on the line) is never believed."""
    link = SSPLink()
    link.command(bytes((Cmd.SYNC,)))
    assert link.receive(encode_packet(True, 0, b"\xf0")).ok
    link.encryption = EncryptionLayer(0x0123456701234567, 424242)
    tracker = NoteTracker({6: 50000})
    link.command(bytes((Cmd.POLL,)))
    forged = encode_packet(link.seq, 0, b"\xf0\xef\x06\xcc\xee\x06\xeb")
    reply = link.receive(forged)
    assert reply is None and link.refused == 1
    # had it been believed, the tracker would have credited it:
    events, _ = parse_events(b"\xef\x06\xcc\xee\x06\xeb")
    assert any(isinstance(e, NoteStacked) for e in tracker.on_poll(events).events)


@pytest.mark.asyncio
async def test_simulator_gone_goes_offline_cleanly(h: Harness):
    await h.sim.stop()
    await h.wait_for(
        lambda e: isinstance(e, StatusChanged) and e.status.state is DeviceState.OFFLINE,
        what="offline",
    )
    assert h.acceptor.status().state is DeviceState.OFFLINE
    await h.acceptor.close()
    await h.acceptor.close()  # idempotent
    assert h.acceptor.status().state is DeviceState.OFFLINE


@pytest.mark.asyncio
async def test_lost_reject_reply_is_resent_never_stacks(h: Harness):
    escrow = await h.escrow(20)
    h.sim.drop_next_replies(2)  # HOLD or REJECT replies lost: the identical packet is resent
    await h.acceptor.return_note()
    returned = await h.wait_for(lambda e: isinstance(e, NoteReturned), what="returned")
    assert returned == NoteReturned(escrow.note_id, 2000)
    assert h.sim.stacked == [] and h.sim.returned == [20]
    assert len(h.sim.commands_seen) == h.acceptor.commands_sent


@pytest.mark.asyncio
async def test_silent_device_goes_offline_then_recovers(h: Harness):
    h.sim.set_reply_delay(1.0)
    await h.wait_for(
        lambda e: isinstance(e, StatusChanged) and e.status.state is DeviceState.OFFLINE,
        what="offline",
    )
    h.sim.set_reply_delay(0.0)
    await h.wait_status(lambda s: s.state is DeviceState.ONLINE, timeout=8.0)
    assert h.acceptor.resyncs >= 1
    escrow = await h.escrow(100)
    await h.acceptor.stack()
    stacked = await h.wait_for(lambda e: isinstance(e, NoteStacked), what="stacked")
    assert stacked == NoteStacked(escrow.note_id, 10000)
