"""CCNET simulator driven as a host would: raw bytes over the real pty.

The frame builder and CRC here are the test's own (not the driver's, not the simulator's).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.devices.ccnet import CCNETSimulator, Frame, FrameReader

ROOT = Path(__file__).resolve().parents[1]

POLL, RESET, GET_STATUS, SET_SECURITY, ENABLE = 0x33, 0x30, 0x31, 0x32, 0x34
STACK, RETURN, IDENT, HOLD, BILL_TABLE, STATS = 0x35, 0x36, 0x37, 0x38, 0x41, 0x60
ACK_DATA, NAK_DATA, ILLEGAL = b"\x00", b"\xff", b"\x30"
ALL = b"\xff\xff\xff"
NONE = b"\x00\x00\x00"


def kermit(data: bytes) -> int:
    crc = 0
    for b in data:
        for bit in range(8):
            if (crc ^ (b >> bit)) & 1:
                crc = (crc >> 1) ^ 0x8408
            else:
                crc >>= 1
    return crc


def frame(data: bytes, adr: int = 3) -> bytes:
    head = bytes([2, adr, len(data) + 5]) + data
    c = kermit(head)
    return head + bytes([c & 0xFF, c >> 8])


def test_own_frame_builder_matches_fixed_examples() -> None:
    assert kermit(b"123456789") == 0x2189
    assert frame(b"\x33") == bytes.fromhex("02 03 06 33 DA 81")
    assert frame(b"\x00") == bytes.fromhex("02 03 06 00 C2 82")
    assert frame(b"\xff") == bytes.fromhex("02 03 06 FF BA 8D")


@settings(max_examples=300, deadline=None)
@given(
    garbage=st.binary(max_size=40),
    payload=st.binary(min_size=1, max_size=40),
    cuts=st.lists(st.integers(min_value=0, max_value=100), max_size=6),
)
def test_reader_finds_frame_after_garbage_in_any_chunking(garbage, payload, cuts) -> None:
    stream = garbage + frame(payload)
    reader = FrameReader()
    items = []
    last = 0
    for cut in sorted(c for c in cuts if c < len(stream)):
        items += reader.feed(stream[last:cut])
        last = cut
    items += reader.feed(stream[last:])
    items += reader.expire()
    assert Frame(3, payload) in items
    assert not reader.pending


class Host:
    """A minimal host on the slave side of the pty (non-blocking fd, polled from the loop)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        self.buf = bytearray()

    def close(self) -> None:
        os.close(self.fd)

    def raw(self, data: bytes) -> None:
        os.write(self.fd, data)

    def send(self, cmd: int, data: bytes = b"") -> None:
        self.raw(frame(bytes([cmd]) + data))

    def _pull(self) -> None:
        try:
            while chunk := os.read(self.fd, 4096):
                self.buf += chunk
        except BlockingIOError:
            pass

    async def recv_frame(self, timeout: float = 1.0) -> bytes:
        """Next whole frame as raw bytes (CRC not checked)."""
        end = time.monotonic() + timeout
        while True:
            self._pull()
            if self.buf and self.buf[0] != 2:
                raise AssertionError(f"reply does not start with SYNC: {bytes(self.buf).hex()}")
            if len(self.buf) >= 3 and len(self.buf) >= self.buf[2]:
                n = self.buf[2]
                out = bytes(self.buf[:n])
                del self.buf[:n]
                return out
            if time.monotonic() > end:
                raise TimeoutError(f"no reply; have {bytes(self.buf).hex()}")
            await asyncio.sleep(0.002)

    async def recv(self, timeout: float = 1.0) -> bytes:
        raw = await self.recv_frame(timeout)
        assert raw[1] == 3
        c = kermit(raw[:-2])
        assert raw[-2:] == bytes([c & 0xFF, c >> 8]), f"bad CRC in reply {raw.hex()}"
        return raw[3:-2]

    async def silence(self, seconds: float = 0.15) -> None:
        await asyncio.sleep(seconds)
        self._pull()
        assert not self.buf, f"unexpected bytes {bytes(self.buf).hex()}"

    async def cmd(self, cmd: int, data: bytes = b"", *, ack: bool = True) -> bytes:
        self.send(cmd, data)
        reply = await self.recv()
        if ack and reply not in (ACK_DATA, ILLEGAL):
            self.raw(frame(ACK_DATA))
        return reply

    async def poll(self, *, ack: bool = True) -> bytes:
        return await self.cmd(POLL, ack=ack)

    async def wait_for(self, state: int, timeout: float = 2.0, *, ack: bool = True) -> bytes:
        end = time.monotonic() + timeout
        seen = []
        while time.monotonic() < end:
            reply = await self.poll(ack=ack)
            if reply[0] == state:
                return reply
            seen.append(reply.hex())
            await asyncio.sleep(0.02)
        raise AssertionError(f"state {state:#x} not reached; saw {seen[-5:]}")

    async def reset_and_enable(self, enable: bytes = ALL, escrow: bytes = ALL) -> None:
        assert await self.cmd(RESET) == ACK_DATA
        await self.wait_for(0x19)
        assert await self.cmd(ENABLE, enable + escrow) == ACK_DATA
        await self.wait_for(0x14)


def fast(sim: CCNETSimulator) -> CCNETSimulator:
    sim.accept_time = sim.stack_time = sim.return_time = 0.05
    sim.init_time = 0.1
    return sim


@pytest.fixture
async def sim():
    s = fast(CCNETSimulator(escrow_timeout=2.0))
    await s.start()
    yield s
    await s.stop()


@pytest.fixture
async def host(sim):
    h = Host(sim.path)
    yield h
    h.close()


async def test_power_up_reset_initialize_disabled(sim, host) -> None:
    assert await host.poll() == b"\x10"
    assert sim.state_name == "power_up"
    assert await host.cmd(ENABLE, ALL + ALL) == ILLEGAL  # must be RESET first
    assert await host.cmd(RESET) == ACK_DATA
    await host.silence(0.05)  # the host does not ACK an ACK; nothing more comes
    assert await host.poll() == b"\x13"
    await host.wait_for(0x19)
    assert sim.state_name == "unit_disabled"
    assert await host.cmd(SET_SECURITY, b"\x00\x00\x7f") == ACK_DATA
    assert await host.cmd(ENABLE, b"\x00\x00\x7f" + b"\x00\x00\x01") == ACK_DATA
    assert await host.cmd(GET_STATUS) == b"\x00\x00\x7f" + b"\x00\x00\x7f"
    assert await host.poll() == b"\x14"
    assert (sim.enabled_mask, sim.escrow_mask) == (0x7F, 0x01)
    assert await host.cmd(ENABLE, NONE + NONE) == ACK_DATA
    assert await host.poll() == b"\x19"
    assert await host.cmd(0x99) == ILLEGAL
    assert len(await host.cmd(STATS)) == 24


async def test_bill_table_and_identification(sim, host) -> None:
    await host.cmd(RESET)
    await host.wait_for(0x19)
    table = await host.cmd(BILL_TABLE)
    assert len(table) == 120
    values = []
    for i in range(24):
        digit, country, exp = table[i * 5], table[i * 5 + 1 : i * 5 + 4], table[i * 5 + 4]
        if i < 7:
            assert country == b"INR"
            assert exp & 0x80 == 0 and digit <= 9
            values.append(digit * 10**exp)
        else:
            assert table[i * 5 : i * 5 + 5] == bytes(5)
    assert values == [10, 20, 50, 100, 200, 500, 2000]
    assert table[25:30] == b"\x05INR\x02" and table[0:5] == b"\x01INR\x01"

    ident = await host.cmd(IDENT)
    assert len(ident) == 34
    assert ident[:15] == b"SM-RU1353      "
    assert ident[15:27] == b"41K000123456"
    assert ident[27:] == b"\x00\x00\x00\x00\x00\x00\x01"

    # not legal while idling
    assert await host.cmd(ENABLE, ALL + ALL) == ACK_DATA
    await host.wait_for(0x14)
    assert await host.cmd(IDENT) == ILLEGAL
    assert await host.cmd(BILL_TABLE) == ILLEGAL


async def test_escrow_stack_event_once_with_ack(sim, host) -> None:
    await host.reset_and_enable()
    sim.insert_note(500)
    assert (await host.wait_for(0x15))[0] == 0x15
    assert await host.wait_for(0x80) == b"\x80\x05"
    assert sim.state_name == "escrow"
    assert await host.cmd(STACK) == ACK_DATA
    await host.wait_for(0x17)
    assert await host.wait_for(0x81) == b"\x81\x05"
    assert await host.poll() == b"\x14"  # consumed by the ACK: reported once
    assert sim.stacked == [500]
    assert sim.commands_seen.count(STACK) == 1
    assert await host.cmd(STACK) == ILLEGAL  # nothing in escrow now
    assert sim.commands_seen.count(STACK) == 2


async def test_stacked_event_repeats_until_acked(sim, host) -> None:
    await host.reset_and_enable(escrow=NONE)  # stacks by itself
    sim.insert_note(100)
    assert await host.wait_for(0x81, ack=False) == b"\x81\x03"
    assert await host.poll(ack=False) == b"\x81\x03"  # not ACKed: same event again
    assert sim.state_name == "bill_stacked"
    assert await host.poll(ack=True) == b"\x81\x03"
    assert await host.poll() == b"\x14"
    assert sim.stacked == [100]


async def test_return_from_escrow(sim, host) -> None:
    await host.reset_and_enable()
    sim.insert_note(2000)
    assert await host.wait_for(0x80) == b"\x80\x06"
    assert await host.cmd(RETURN) == ACK_DATA
    await host.wait_for(0x18)
    assert await host.wait_for(0x82) == b"\x82\x06"
    assert await host.poll() == b"\x14"
    assert sim.returned == [2000] and sim.stacked == []


async def test_escrow_timeout_returns_note() -> None:
    sim = fast(CCNETSimulator(escrow_timeout=0.25))
    await sim.start()
    host = Host(sim.path)
    try:
        await host.reset_and_enable()
        sim.insert_note(50)
        assert await host.wait_for(0x80) == b"\x80\x02"
        assert await host.wait_for(0x82, timeout=1.5) == b"\x82\x02"
        assert sim.returned == [50]
    finally:
        host.close()
        await sim.stop()


async def test_hold_legal_only_in_escrow(sim, host) -> None:
    await host.reset_and_enable()
    assert await host.cmd(HOLD) == ILLEGAL
    assert await host.cmd(RETURN) == ILLEGAL
    sim.escrow_timeout = 0.3
    sim.insert_note(200)
    await host.wait_for(0x80)
    await asyncio.sleep(0.2)
    assert await host.cmd(HOLD) == ACK_DATA  # restarts the escrow timer
    assert await host.poll() == b"\x1a"
    await asyncio.sleep(0.2)  # past the first deadline, within the second
    assert await host.poll() == b"\x1a"
    assert await host.cmd(STACK) == ACK_DATA
    assert await host.wait_for(0x81) == b"\x81\x04"
    assert sim.stacked == [200]


async def test_inhibited_and_unknown_notes_rejected(sim, host) -> None:
    await host.reset_and_enable(enable=b"\x00\x00\x08")  # only type 3 (100)
    sim.insert_note(500)
    assert await host.wait_for(0x1C) == b"\x1c\x68"
    assert await host.poll() == b"\x14"
    sim.insert_note(30)
    assert await host.wait_for(0x1C) == b"\x1c\x65"
    sim.insert_note(100, reject_reason=0x61)
    assert await host.wait_for(0x1C) == b"\x1c\x61"
    assert sim.returned == [500, 30, 100] and sim.stacked == []


async def test_disabled_unit_keeps_note_queued(sim, host) -> None:
    await host.cmd(RESET)
    await host.wait_for(0x19)
    sim.insert_note(100)
    await asyncio.sleep(0.2)
    assert await host.poll() == b"\x19"
    assert sim.queued == [100]
    assert await host.cmd(ENABLE, ALL + ALL) == ACK_DATA
    assert await host.wait_for(0x80) == b"\x80\x03"


async def test_nak_resends_same_reply(sim, host) -> None:
    await host.cmd(RESET)
    await host.wait_for(0x19)
    host.send(BILL_TABLE)
    first = await host.recv_frame()
    host.raw(frame(NAK_DATA))
    assert await host.recv_frame() == first
    host.raw(frame(ACK_DATA))
    await host.silence(0.05)


async def test_bad_crc_nak_and_resync(sim, host) -> None:
    host.raw(bytes.fromhex("02 03 06 33 DA 82"))
    assert await host.recv() == NAK_DATA
    host.raw(b"\xaa\x55\x02\x03\x02\x03")  # garbage with stray SYNCs, then a real POLL
    host.raw(frame(b"\x33"))
    assert await host.recv() == b"\x10"  # answered once, after resynchronising
    host.raw(frame(ACK_DATA))
    await host.silence(0.1)


async def test_garbage_then_poll_answered_once(sim, host) -> None:
    host.raw(b"\xaa\x02\x03\x40\x01" + frame(b"\x33"))
    assert await host.recv() == b"\x10"
    host.raw(frame(b"\x33", adr=0x05))  # another address on the bus
    await host.silence(0.15)


async def test_link_faults(sim, host) -> None:
    sim.drop_next_replies(1)
    host.send(POLL)
    await host.silence(0.1)
    sim.corrupt_next_reply()
    host.send(POLL)
    raw = await host.recv_frame()
    c = kermit(raw[:-2])
    assert raw[-2:] != bytes([c & 0xFF, c >> 8])
    host.raw(frame(NAK_DATA))
    assert await host.recv() == b"\x10"
    host.raw(frame(ACK_DATA))
    sim.set_reply_delay(0.1)
    t0 = time.monotonic()
    assert await host.poll() == b"\x10"
    assert time.monotonic() - t0 >= 0.09
    assert sim.commands_seen == [POLL, POLL]  # the dropped frame was not executed


async def test_power_cut_note_in_stacker(sim, host) -> None:
    await host.reset_and_enable()
    sim.insert_note(100)
    await host.wait_for(0x80)
    sim.power_cut(note_in="stacker")
    assert sim.stacked == [100]
    for _ in range(3):
        assert await host.poll() == b"\x12"
        await asyncio.sleep(0.05)
    assert await host.cmd(ENABLE, ALL + ALL) == ILLEGAL
    assert await host.cmd(STACK) == ILLEGAL
    assert await host.poll() == b"\x12"
    assert (sim.enabled_mask, sim.escrow_mask) == (0, 0)
    assert await host.cmd(RESET) == ACK_DATA
    assert await host.poll() == b"\x13"
    await host.wait_for(0x19)
    assert sim.stacked == [100] and sim.returned == []


async def test_power_cut_in_escrow_goes_back_at_reset(sim, host) -> None:
    await host.reset_and_enable()
    sim.insert_note(20)
    await host.wait_for(0x80)
    sim.power_cut()
    assert await host.poll() == b"\x11"
    await host.cmd(RESET)
    await host.wait_for(0x19)
    assert sim.returned == [20] and sim.stacked == []


async def test_jam_cassette_and_failure(sim, host) -> None:
    await host.reset_and_enable()
    sim.jam()
    assert await host.poll() == b"\x43"
    sim.insert_note(100)
    await asyncio.sleep(0.15)
    assert await host.poll() == b"\x43"  # a jammed unit takes nothing in
    sim.clear_jam()
    assert await host.wait_for(0x80) == b"\x80\x03"
    sim.jam("cassette")
    assert await host.poll() == b"\x44"
    sim.clear_jam()
    assert sim.removed == [100]
    assert await host.poll() == b"\x14"
    sim.remove_cassette()
    assert await host.poll() == b"\x42"
    sim.insert_cassette()
    sim.set_cassette_full()
    assert await host.poll() == b"\x41"
    sim.set_cassette_full(False)
    sim.cheat()
    assert await host.poll() == b"\x45"
    assert await host.poll() == b"\x14"
    sim.fail(0x52)
    assert await host.poll() == b"\x47\x52"
    assert len(await host.cmd(IDENT)) == 34  # legal in failure
    await host.cmd(RESET)
    await host.wait_for(0x19)


async def test_host_reopens_port(sim, host) -> None:
    assert await host.poll() == b"\x10"
    host.close()
    again = Host(sim.path)
    try:
        assert await again.poll() == b"\x10"
    finally:
        again.close()
    host.fd = os.open(sim.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)


async def test_paced_replies_take_line_time() -> None:
    sim = fast(CCNETSimulator(paced=True))
    await sim.start()
    host = Host(sim.path)
    try:
        await host.cmd(RESET)
        await host.wait_for(0x19)
        t0 = time.monotonic()
        host.send(BILL_TABLE)
        raw = await host.recv_frame()
        assert len(raw) == 125
        assert time.monotonic() - t0 >= 0.1  # ~1 ms per byte at 9600 baud
    finally:
        host.close()
        await sim.stop()


async def test_standalone_main_control_socket() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from sim.devices.ccnet import main; main()",
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        path = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode().strip()
        assert path.startswith("/dev/")
        control = (await asyncio.wait_for(proc.stdout.readline(), 5)).decode().strip()
        assert control.startswith("control: 127.0.0.1:")
        port = int(control.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)

        async def ask(line: str) -> str:
            writer.write(line.encode() + b"\n")
            await writer.drain()
            return (await asyncio.wait_for(reader.readline(), 5)).decode().strip()

        host = Host(path)
        try:
            assert await host.cmd(RESET) == ACK_DATA
            await host.wait_for(0x19, timeout=3)
            assert await host.cmd(ENABLE, ALL + NONE) == ACK_DATA
            assert await ask("insert 100") == "ok"
            assert await host.wait_for(0x81, timeout=3) == b"\x81\x03"
            assert await ask("insert 500 reject=6A") == "ok"
            assert await host.wait_for(0x1C, timeout=3) == b"\x1c\x6a"
            assert (await ask("bogus")).startswith("error")
            status = await ask("status")
            assert status.startswith("ok ")
            info = json.loads(status[3:])
            assert info["stacked"] == [100] and info["returned"] == [500]
            assert await ask("jam cassette") == "ok"
            assert await host.poll() == b"\x44"
        finally:
            host.close()
            writer.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = await asyncio.wait_for(proc.wait(), 5)
        assert rc == 0
