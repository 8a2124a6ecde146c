"""ITL eSSP simulator, driven byte by byte over its pty by a tiny host written here.

The host side (framing, CRC, stuffing, Diffie-Hellman, AES) is deliberately separate from the
simulator's code, so that a bug in one of them shows up as a failed exchange.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import tty
from pathlib import Path

import pytest
from Crypto.Cipher import AES

from sim.devices import essp
from sim.devices.essp import ESSPSimulator

ROOT = Path(__file__).resolve().parents[1]

GENERATOR = 982451653  # prime, from ITL's SET GENERATOR example
MODULUS = 2**64 - 59  # the largest 64-bit prime
FIXED_KEY = 0x0123456701234567

# ---------------------------------------------------------------------------------------------
# independent host implementation
# ---------------------------------------------------------------------------------------------


def host_crc(data: bytes) -> int:
    """CRC-16 x^16+x^15+x^2+1, seed 0xFFFF, processed bit by bit from the top."""
    reg = 0xFFFF
    for byte in data:
        for bit in range(7, -1, -1):
            top = (reg >> 15) & 1
            reg = (reg << 1) & 0xFFFF
            if top ^ ((byte >> bit) & 1):
                reg ^= 0x8005
    return reg


def host_frame(seqid: int, data: bytes) -> bytes:
    raw = bytes([seqid, len(data)]) + data
    crc = host_crc(raw)
    raw += crc.to_bytes(2, "little")
    out = bytearray([0x7F])
    for b in raw:
        out += b"\x7f\x7f" if b == 0x7F else bytes([b])
    return bytes(out)


def take_frame(buf: bytearray) -> tuple[int, bytes] | None:
    """Remove and return the first complete (seqid, data) from buf; None if incomplete.
    Raises ValueError on a CRC error (after dropping the bad frame)."""
    while True:
        start = buf.find(0x7F)
        if start < 0:
            buf.clear()
            return None
        del buf[:start]
        body = bytearray()
        j = 1
        restart = False
        while j < len(buf):
            b = buf[j]
            if b == 0x7F:
                if j + 1 >= len(buf):
                    return None
                if buf[j + 1] != 0x7F:
                    del buf[:j]
                    restart = True
                    break
                j += 1
            body.append(b)
            j += 1
            if len(body) >= 2 and len(body) == body[1] + 4:
                del buf[:j]
                if host_crc(bytes(body[:-2])) != int.from_bytes(body[-2:], "little"):
                    raise ValueError("bad CRC")
                return body[0], bytes(body[2:-2])
        if not restart:
            return None


class Link:
    """The host's end of the pty."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.fd)
        self.rx = bytearray()
        self.raw_log = bytearray()
        self._got = asyncio.Event()
        asyncio.get_running_loop().add_reader(self.fd, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, 4096)
        except OSError:
            return
        self.rx += data
        self.raw_log += data
        self._got.set()

    def send(self, frame: bytes) -> None:
        self.rx.clear()
        self.raw_log.clear()
        os.write(self.fd, frame)

    async def recv(self, timeout: float = 0.5) -> tuple[int, bytes] | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            got = take_frame(self.rx)
            if got is not None:
                return got
            left = deadline - loop.time()
            if left <= 0:
                return None
            self._got.clear()
            try:
                await asyncio.wait_for(self._got.wait(), left)
            except TimeoutError:
                return None

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self.fd)
        os.close(self.fd)


class Host:
    """Just enough of an eSSP host: sequence flag, key exchange, encrypted packets."""

    def __init__(self, link: Link, address: int = 0) -> None:
        self.link = link
        self.address = address
        self.flag = 0x80
        self.key: bytes | None = None
        self.count = 0
        self.last_sent: bytes = b""

    def wrap(self, data: bytes) -> bytes:
        assert self.key is not None
        plain = bytes([len(data)]) + self.count.to_bytes(4, "little") + data
        plain += os.urandom((16 - (len(plain) + 2) % 16) % 16)
        plain += host_crc(plain).to_bytes(2, "little")
        self.count += 1
        return b"\x7e" + AES.new(self.key, AES.MODE_ECB).encrypt(plain)

    def unwrap(self, data: bytes) -> bytes:
        assert self.key is not None and data[0] == 0x7E
        plain = AES.new(self.key, AES.MODE_ECB).decrypt(data[1:])
        assert host_crc(plain[:-2]) == int.from_bytes(plain[-2:], "little"), "eCRC"
        count = int.from_bytes(plain[1:5], "little")
        assert count == self.count, f"reply count {count}, host count {self.count}"
        return plain[5 : 5 + plain[0]]

    async def cmd(
        self, *data: int, encrypt: bool | None = None, timeout: float = 0.5
    ) -> bytes | None:
        """Send a command with the next sequence flag; the reply DATA (decrypted), or None."""
        payload = bytes(data)
        if encrypt is None:
            encrypt = self.key is not None
        if payload[0] == 0x11:
            self.flag = 0x80
        else:
            self.flag ^= 0x80
        if encrypt:
            payload = self.wrap(payload)
        self.last_sent = host_frame(self.flag | self.address, payload)
        self.link.send(self.last_sent)
        return await self._reply(timeout)

    async def resend(self, timeout: float = 0.5) -> bytes | None:
        """Retransmit the last packet unchanged (same flag), as after a lost reply."""
        self.link.send(self.last_sent)
        return await self._reply(timeout)

    async def _reply(self, timeout: float) -> bytes | None:
        got = await self.link.recv(timeout)
        if got is None:
            return None
        seqid, data = got
        assert seqid == self.flag | self.address
        if data[0] == 0x7E and self.key is not None:
            return self.unwrap(data)
        return data

    async def sync(self) -> None:
        assert await self.cmd(0x11, encrypt=False) == b"\xf0"

    async def negotiate(self) -> None:
        await self.sync()
        assert await self.cmd(0x4A, *GENERATOR.to_bytes(8, "little"), encrypt=False) == b"\xf0"
        assert await self.cmd(0x4B, *MODULUS.to_bytes(8, "little"), encrypt=False) == b"\xf0"
        host_rnd = 2 + secrets.randbelow(2**40)
        inter = pow(GENERATOR, host_rnd, MODULUS)
        reply = await self.cmd(0x4C, *inter.to_bytes(8, "little"), encrypt=False)
        assert reply is not None and reply[0] == 0xF0 and len(reply) == 9
        slave_inter = int.from_bytes(reply[1:], "little")
        shared = pow(slave_inter, host_rnd, MODULUS)
        self.key = FIXED_KEY.to_bytes(8, "little") + shared.to_bytes(8, "little")
        self.count = 0

    async def poll(self) -> bytes:
        reply = await self.cmd(0x07)
        assert reply is not None and reply[0] == 0xF0, reply
        return reply[1:]

    async def start_accepting(self, mask: int = 0x7F) -> None:
        assert await self.cmd(0x06, 7) == b"\xf0"
        assert await self.cmd(0x02, mask & 0xFF, mask >> 8) == b"\xf0"
        assert await self.cmd(0x0A) == b"\xf0"
        await self.poll()  # drain the power-up events


@pytest.fixture
async def rig():
    made: list[tuple[ESSPSimulator, Link]] = []

    async def factory(**kwargs) -> tuple[ESSPSimulator, Host]:
        kwargs.setdefault("escrow_timeout", 5.0)
        sim = ESSPSimulator(**kwargs)
        await sim.start()
        link = Link(sim.path)
        made.append((sim, link))
        return sim, Host(link, kwargs.get("address", 0))

    yield factory
    for sim, link in made:
        link.close()
        await sim.stop()


async def keyed(rig, **kwargs) -> tuple[ESSPSimulator, Host]:
    sim, host = await rig(**kwargs)
    await host.negotiate()
    return sim, host


# ---------------------------------------------------------------------------------------------
# framing
# ---------------------------------------------------------------------------------------------


def test_crc_matches_manual_examples() -> None:
    # examples from ITL's SSP manual
    assert essp.build_frame(0x80, b"\x11") == bytes.fromhex("7F80011165 82")
    assert essp.build_frame(0x80, b"\xf0") == bytes.fromhex("7F8001F02380")
    assert essp.build_frame(0x80, bytes.fromhex("F0EE01EB")) == bytes.fromhex("7F8004F0EE01EBB948")
    assert essp.build_frame(0x80, bytes.fromhex("4C79C89CE2DE060000")) == bytes.fromhex(
        "7F80094C79C89CE2DE0600009D52"
    )
    for data in (b"\x11", b"\x02\x7f\x00", bytes(range(200))):
        assert essp.crc16(b"\x80" + bytes([len(data)]) + data) == host_crc(
            b"\x80" + bytes([len(data)]) + data
        )
        assert essp.build_frame(0x80, data) == host_frame(0x80, data)


def test_parser_unstuffs_and_resyncs_on_lone_stx() -> None:
    parser = essp.FrameParser()
    good = host_frame(0x00, b"\x02\x7f\x00")
    assert b"\x7f\x7f" in good
    # garbage, a truncated frame cut by a lone STX, then the good frame
    assert parser.feed(b"\x01\x02" + good[:4] + good) == [(0x00, b"\x02\x7f\x00")]
    broken = bytearray(host_frame(0x80, b"\x07"))
    broken[-1] ^= 1
    assert parser.feed(bytes(broken)) == []
    assert parser.bad_frames == 1


async def test_stuffed_bytes_on_the_wire(rig) -> None:
    sim, host = await rig(encryption_required=False, serial_number=0x7F017F7F)
    await host.sync()
    assert await host.cmd(0x02, 0x7F, 0x00) == b"\xf0"  # 7F goes out as 7F 7F
    assert sim.inhibit_mask == 0x7F
    reply = await host.cmd(0x0C)
    assert reply == b"\xf0\x7f\x01\x7f\x7f"
    assert host.link.raw_log.count(b"\x7f\x7f") >= 3


# ---------------------------------------------------------------------------------------------
# sequence flag
# ---------------------------------------------------------------------------------------------


async def test_sync_then_flag_toggles(rig) -> None:
    sim, host = await rig(encryption_required=False)
    await host.sync()
    flags = []
    for _ in range(4):
        assert await host.cmd(0x0C) == b"\xf0" + (1234567).to_bytes(4, "big")
        flags.append(host.flag)
    assert flags == [0x00, 0x80, 0x00, 0x80]
    assert sim.commands_seen == [0x11, 0x0C, 0x0C, 0x0C, 0x0C]


async def test_repeated_packet_replays_without_executing(rig) -> None:
    sim, host = await rig(encryption_required=False)
    await host.sync()
    await host.start_accepting()
    sim.insert_note(100)
    assert await host.poll() == b"\xef\x00"
    assert await host.poll() == b"\xef\x04"
    assert await host.poll() == b"\xcc"
    sim.drop_next_replies(1)  # the reply carrying the credit is lost on the line
    assert await host.cmd(0x07) is None
    polls_before = sim.commands_seen.count(0x07)
    again = await host.resend()
    assert again == b"\xf0\xee\x04\xeb"
    again2 = await host.resend()
    assert again2 == again
    assert sim.commands_seen.count(0x07) == polls_before  # replays are not executed
    assert sim.credits_reported == 1 and sim.stacked == [100]
    assert await host.poll() == b""  # a new poll reports no second credit


async def test_corrupted_reply_then_retry(rig) -> None:
    sim, host = await rig(encryption_required=False)
    await host.sync()
    sim.corrupt_next_reply()
    with pytest.raises(ValueError):
        await host.cmd(0x0C)
    assert await host.resend() == b"\xf0" + (1234567).to_bytes(4, "big")
    assert sim.commands_seen.count(0x0C) == 1


# ---------------------------------------------------------------------------------------------
# setup, key exchange, encryption rules
# ---------------------------------------------------------------------------------------------


async def test_setup_request_layout(rig) -> None:
    sim, host = await rig(encryption_required=False)
    await host.sync()
    assert await host.cmd(0x06, 9) == b"\xf8"
    assert await host.cmd(0x06, 7) == b"\xf0"
    r = await host.cmd(0x05)
    assert r is not None and r[0] == 0xF0
    d = r[1:]
    assert d[0] == 0x00 and d[1:5] == b"0410" and d[5:8] == b"INR"
    mult = int.from_bytes(d[8:11], "big")
    n = d[11]
    assert n == 7 and mult == 10
    assert [v * mult for v in d[12 : 12 + n]] == [10, 20, 50, 100, 200, 500, 2000]
    assert list(d[12 + n : 12 + 2 * n]) == [2] * n
    assert int.from_bytes(d[12 + 2 * n : 15 + 2 * n], "big") == 100
    assert d[15 + 2 * n] == 7
    countries = d[16 + 2 * n : 16 + 5 * n]
    assert countries == b"INR" * n
    expanded = [
        int.from_bytes(d[16 + 5 * n + 4 * i : 20 + 5 * n + 4 * i], "little") for i in range(n)
    ]
    assert expanded == [10, 20, 50, 100, 200, 500, 2000]
    assert len(d) == 16 + 9 * n


async def test_key_exchange_then_encrypted_poll(rig) -> None:
    sim, host = await keyed(rig)
    assert sim.key_negotiated
    assert await host.cmd(0x4C, 1, 2, 3, encrypt=False) == b"\xf3"  # wrong length
    reply = await host.cmd(0x07)  # encrypted; Host.unwrap checks eCRC and count
    assert reply == b"\xf0\xf1\xe8"  # reset, disabled
    assert host.link.raw_log[3] == 0x7E  # the reply went out encrypted
    for _ in range(3):
        assert await host.poll() == b"\xe8"
    assert host.count == 4


async def test_plain_money_commands_refused_when_encryption_required(rig) -> None:
    sim, host = await rig()
    await host.sync()
    # identity commands are fine in plain before a key exists
    assert (await host.cmd(0x0C))[0] == 0xF0
    for cmd in ((0x0A,), (0x02, 0xFF, 0x00), (0x07,), (0x18,), (0x08,), (0x01,)):
        assert await host.cmd(*cmd) == b"\xfa", cmd
    assert not sim.enabled and sim.inhibit_mask == 0
    await host.negotiate()
    await host.start_accepting()
    sim.insert_note(500)
    # a forger on the line (or a confused host) sending plain POLLs gets nothing done
    for _ in range(6):
        assert await host.cmd(0x07, encrypt=False) == b"\xfa"
        assert await host.cmd(0x0C, encrypt=False) == b"\xfa"
    assert sim.credits_reported == 0 and sim.stacked == []
    assert sim.state_name == "idle"
    # the real host still can
    assert await host.poll() == b"\xef\x00"


async def test_replayed_encrypted_packet_refused(rig) -> None:
    sim, host = await keyed(rig)
    await host.start_accepting()
    sim.insert_note(200)
    assert await host.poll() == b"\xef\x00"
    assert await host.poll() == b"\xef\x05"
    assert await host.poll() == b"\xcc"
    assert await host.poll() == b"\xee\x05\xeb"
    credit_poll = host.last_sent
    assert sim.credits_reported == 1
    # an attacker replays the recorded POLL with the other sequence flag: an old counter
    _, payload = take_frame(bytearray(credit_poll))
    forged = host_frame((host.flag ^ 0x80) | 0, payload)
    sim.insert_note(200)
    host.link.send(forged)
    assert await host.link.recv(0.3) is None  # discarded without a reply
    assert sim.credits_reported == 1
    # a forged encrypted packet under a wrong key is discarded as well
    real = host.key, host.count, host.flag
    host.key = bytes(16)
    assert await host.cmd(0x07, timeout=0.3) is None
    host.key, host.count, host.flag = real
    # the genuine host carries on with the next counter
    assert await host.poll() == b"\xef\x00"


async def test_encrypted_packet_without_key_answers_key_not_set(rig) -> None:
    sim, host = await rig()
    await host.sync()
    host.key = bytes(16)
    assert await host.cmd(0x07) == b"\xfa"


# ---------------------------------------------------------------------------------------------
# notes
# ---------------------------------------------------------------------------------------------


async def test_full_note_cycle(rig) -> None:
    sim, host = await keyed(rig)
    await host.start_accepting()
    sim.insert_note(2000)
    events = [await host.poll() for _ in range(5)]
    assert events == [b"\xef\x00", b"\xef\x07", b"\xcc", b"\xee\x07\xeb", b""]
    assert sim.stacked == [2000] and sim.credits_reported == 1
    counters = await host.cmd(0x58)
    assert counters[:2] == b"\xf0\x05" and int.from_bytes(counters[2:6], "little") == 1


async def test_hold_keeps_note_in_escrow(rig) -> None:
    sim, host = await keyed(rig, escrow_timeout=0.4)
    await host.start_accepting()
    assert await host.cmd(0x18) == b"\xf5"  # nothing in escrow
    sim.insert_note(50)
    await host.poll()
    assert await host.poll() == b"\xef\x03"
    for _ in range(5):
        await asyncio.sleep(0.2)
        assert await host.cmd(0x18) == b"\xf0"
    assert sim.state_name == "escrow"
    assert await host.poll() == b"\xcc"
    assert await host.poll() == b"\xee\x03\xeb"
    assert sim.stacked == [50]


async def test_reject_from_escrow(rig) -> None:
    sim, host = await keyed(rig)
    await host.start_accepting()
    assert await host.cmd(0x08) == b"\xf5"
    sim.insert_note(100)
    await host.poll()
    assert await host.poll() == b"\xef\x04"
    assert await host.cmd(0x08) == b"\xf0"
    assert await host.poll() == b"\xed\xec"
    assert await host.cmd(0x17) == b"\xf0\x08"
    assert sim.returned == [100] and sim.stacked == [] and sim.credits_reported == 0


async def test_escrow_timeout_rejects(rig) -> None:
    sim, host = await keyed(rig, escrow_timeout=0.3)
    await host.start_accepting()
    sim.insert_note(100)
    await host.poll()
    assert await host.poll() == b"\xef\x04"
    await asyncio.sleep(0.5)
    assert sim.state_name == "rejecting"  # timed out while nobody polled
    assert await host.poll() == b"\xed\xec"
    assert sim.returned == [100]
    assert await host.cmd(0x17) == b"\xf0\x13"
    assert sim.credits_reported == 0


async def test_inhibited_and_unknown_notes_rejected(rig) -> None:
    sim, host = await keyed(rig)
    await host.start_accepting(mask=0x01)  # only ₹10
    sim.insert_note(500)
    assert await host.poll() == b"\xef\x00"
    assert await host.poll() == b"\xed"
    assert await host.poll() == b"\xec"
    assert await host.cmd(0x17) == b"\xf0\x0c"
    sim.insert_note(30)  # not in the dataset
    assert await host.poll() == b"\xef\x00"
    assert await host.poll() == b"\xed"
    assert await host.poll() == b"\xec"
    assert await host.cmd(0x17) == b"\xf0\x02"
    sim.insert_note(10, reject_reason=0x1C)  # a double note
    await host.poll()
    assert await host.poll() == b"\xed"
    await host.poll()
    assert await host.cmd(0x17) == b"\xf0\x1c"
    assert sim.returned == [500, 30, 10] and sim.credits_reported == 0
    assert await host.cmd(0x02, 0x00, 0x00) == b"\xf0"
    assert await host.poll() == b"\xb5"  # all channels inhibited (protocol 7)


async def test_jam_reported_until_cleared(rig) -> None:
    sim, host = await keyed(rig)
    await host.start_accepting()
    sim.insert_note(100)
    await host.poll()
    assert await host.poll() == b"\xef\x04"
    sim.jam(safe=False)
    for _ in range(3):
        assert await host.poll() == b"\xe9"
    assert sim.state_name == "unsafe_jam"
    sim.clear_jam()
    assert await host.poll() == b"\xed\xec"
    sim.jam(safe=True)
    assert await host.poll() == b"\xea"
    sim.clear_jam()
    assert sim.credits_reported == 0


async def test_faults_reported(rig) -> None:
    sim, host = await keyed(rig)
    await host.start_accepting()
    sim.set_stacker_full(True)
    sim.remove_cashbox()
    assert await host.poll() == b"\xe7\xe3"
    sim.set_stacker_full(False)
    sim.replace_cashbox()
    sim.fraud(2)
    assert await host.poll() == b"\xe4\xe6\x02"
    assert await host.poll() == b""


async def test_power_cut_with_note_into_cashbox(rig) -> None:
    sim, host = await keyed(rig)
    await host.start_accepting()
    sim.insert_note(500)
    await host.poll()
    assert await host.poll() == b"\xef\x06"
    sim.power_cut("cashbox")
    assert not sim.key_negotiated
    assert await host.cmd(0x07) == b"\xfa"  # our key is gone with the power
    await host.negotiate()
    assert await host.poll() == b"\xf1\xb6\xe2\x06\xe8"
    assert sim.stacked == [500] and sim.credits_reported == 1
    assert await host.poll() == b"\xe8"


async def test_power_cut_with_note_in_front(rig) -> None:
    sim, host = await keyed(rig)
    await host.start_accepting()
    sim.insert_note(20)
    await host.poll()
    assert await host.poll() == b"\xef\x02"
    sim.power_cut()
    await host.negotiate()
    assert await host.poll() == b"\xf1\xb6\xe1\x02\xe8"
    assert sim.returned == [20] and sim.credits_reported == 0


async def test_reset_drops_key(rig) -> None:
    sim, host = await keyed(rig)
    assert await host.cmd(0x01) == b"\xf0"
    assert not sim.key_negotiated
    assert await host.cmd(0x07) == b"\xfa"
    await host.negotiate()
    assert await host.poll() == b"\xf1\xe8"


async def test_poll_with_ack_repeats_credit_until_acked(rig) -> None:
    sim, host = await keyed(rig)
    await host.start_accepting()
    sim.insert_note(100)
    for _ in range(3):
        await host.poll()
    first = await host.cmd(0x56)
    assert first == b"\xf0\xee\x04\xeb"
    assert await host.cmd(0x56) == first
    assert await host.cmd(0x57) == b"\xf0"
    assert await host.cmd(0x57) == b"\xf5"
    assert await host.cmd(0x56) == b"\xf0"
    assert sim.credits_reported == 1


# ---------------------------------------------------------------------------------------------
# standalone runner
# ---------------------------------------------------------------------------------------------


async def test_main_prints_path_and_serves_control() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.devices.essp", "--plain", "--escrow-timeout", "2"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        path = proc.stdout.readline().strip()
        control = proc.stdout.readline().strip()
        assert path.startswith("/dev/pts/")
        assert control.startswith("control: 127.0.0.1:")
        port = int(control.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            f = s.makefile("rw")
            for line, expect in (
                ("insert 100", "ok"),
                ("jam sideways", "error"),
                ("bogus", "error"),
                ("status", "ok {"),
            ):
                f.write(line + "\n")
                f.flush()
                assert f.readline().startswith(expect), line
        link = Link(path)
        try:
            host = Host(link)
            await host.sync()
            assert await host.cmd(0x07) == b"\xf0\xf1\xe8"
        finally:
            link.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
