"""Card reader over the real PC/SC stack: pcscd + vsmartcard's vpcd + our card emulator.

The emulator (sim/devices/card.py) runs as a separate process and talks to vpcd over TCP,
exactly as `python -m sim card` does, so pcscd sees a card as it would a real one. The first
tests need no pcscd: they drive the EMV / engineer flows against the emulator's card logic
in-process.

If no pcscd runs, the fixture starts `pcscd --foreground` and stops it at the end; a running
pcscd with vpcd listening is reused. Tests skip only when pcscd or vpcd is not installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import hmac
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from drivers.base import DeviceState
from drivers.card import (
    CardApplicationNotFound,
    CardDataError,
    CardInserted,
    CardRemoved,
    CardRemovedError,
    NoCardError,
    PinResult,
    ReaderAdded,
    ReaderRemoved,
    mask_pan,
)
from drivers.card.apdu import Command, exchange, pin_block
from drivers.card.emv import EmvSession, bcd, fill_dol
from drivers.card.engineer import EngineerCard, check
from sim.devices import card as simcard

ROOT = Path(__file__).resolve().parent.parent
VPCD_PORT = simcard.VPCD_PORT
READER = simcard.reader_name(VPCD_PORT)
LOCK_PATH = "/tmp/emitra-kiosk-vpcd.lock"
VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")

# ---------------------------------------------------------------------------------------------
# without pcscd: the flows against the emulator's card logic, in-process
# ---------------------------------------------------------------------------------------------


def _session(**profile) -> tuple[EmvSession, simcard.VirtualCard]:
    card = simcard.VirtualCard("emv", simcard.EmvProfile(**profile))
    return EmvSession(card.process), card


def test_mask_pan():
    assert mask_pan("6521501234567890") == "652150******7890"
    assert mask_pan("4111111111111111111") == "411111*********1111"
    assert mask_pan("1234") == "****"


def test_pin_block_and_bcd_and_dol():
    assert bytes(pin_block("1234")) == bytes.fromhex("241234FFFFFFFFFF")
    assert bytes(pin_block("123456789012")) == bytes.fromhex("2C123456789012FF")
    for bad in ("123", "12a4", "1234567890123", "١٢٣٤"):
        with pytest.raises(ValueError):
            pin_block(bad)
    assert bcd(12345, 6) == bytes.fromhex("000000012345")
    dol = ((0x9F02, 6), (0x9F1A, 2), (0x9F37, 4), (0x9F4E, 3), (0x9C, 1))
    values = {0x9F02: bcd(500, 6), 0x9F1A: bytes.fromhex("000356"), 0x9F37: b"\x01\x02"}
    # numeric: left-truncated / left-padded; others: right-padded; unknown: zeros
    assert fill_dol(dol, values) == bytes.fromhex("00000000050003560102000000000000")


def test_exchange_follows_61xx_and_6cxx():
    sent: list[bytes] = []
    answers = [bytes.fromhex("6C05"), bytes.fromhex("AABB6102"), bytes.fromhex("CCDD9000")]

    def transmit(apdu: bytes) -> bytes:
        sent.append(apdu)
        return answers.pop(0)

    resp = exchange(transmit, Command(0x80, 0xCA, 0x9F, 0x17, b"", 0))
    assert resp.ok and resp.data == bytes.fromhex("AABBCCDD")
    assert sent == [bytes.fromhex(h) for h in ("80CA9F1700", "80CA9F1705", "00C0000002")]


def test_emv_flow_in_process():
    session, card = _session()
    info = session.read()
    assert (info.pan_masked, info.expiry, info.name) == ("652150******7890", "2812", "SHARMA/ANITA")
    assert (info.aid, info.label) == ("A0000005241010", "RuPay")
    assert session.verify_pin("0000") == PinResult(False, 2, False)
    assert session.verify_pin("1234") == PinResult(True, 3, False)
    arqc = session.generate_ac(2500_00)
    assert arqc["cryptogram_type"] == "ARQC" and len(arqc["cryptogram"]) == 16
    assert arqc["cvm_results"] == "010002"
    assert "6521501234567890" not in repr(arqc) + repr(info)


@pytest.mark.parametrize("directory", ["pse", "ppse", "none"])
def test_application_choice_by_priority_then_preference(directory):
    # the card lists Visa first (priority 1) and RuPay second: the card's priority wins
    aids = [simcard.AID_VISA, simcard.AID_RUPAY]
    session, _ = _session(aids=aids, directory=directory)
    chosen = session.read()
    # without a directory there are no priorities: our preference (RuPay) decides
    assert chosen.aid == (simcard.AID_RUPAY if directory == "none" else simcard.AID_VISA)


def test_unknown_aid_and_malformed_record_in_process():
    session, _ = _session(aids=["A0000009999999"])
    with pytest.raises(CardApplicationNotFound):
        session.read()
    session, _ = _session(malformed_record=True)
    with pytest.raises(CardDataError, match="malformed TLV in record SFI 1 #2"):
        session.read()


def test_blocked_pin_answered_6983_when_counter_unreadable():
    card = simcard.VirtualCard("emv", simcard.EmvProfile(pin_tries=0))

    def transmit(apdu: bytes) -> bytes:
        if apdu[:4] == bytes.fromhex("80CA9F17"):  # a card that hides its try counter
            return bytes.fromhex("6A88")
        return card.process(apdu)

    session = EmvSession(transmit)
    session.read()
    assert session.verify_pin("1234") == PinResult(False, 0, True)


def test_engineer_in_process():
    card = simcard.VirtualCard("engineer")
    nonce = bytes(range(16))
    engineer_id, mac = EngineerCard(card.process).run(nonce)
    assert engineer_id == simcard.TEST_ENGINEER_ID
    assert check(engineer_id, nonce, mac, {engineer_id: simcard.TEST_ENGINEER_KEY}.get).ok
    with pytest.raises(CardApplicationNotFound, match="not an engineer card"):
        EngineerCard(simcard.VirtualCard("emv").process).run(nonce)


def test_status_before_open():
    from drivers.card.pcsc import CardReader

    status = CardReader(READER).status()
    assert status.state is DeviceState.OFFLINE and status.detail == ("not_opened",)


# ---------------------------------------------------------------------------------------------
# the real stack
# ---------------------------------------------------------------------------------------------


def _port_open(port: int) -> bool:
    """Something listens on `port` (read from /proc: connecting would look like a card)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table, encoding="ascii") as fh:
            for line in fh.readlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    return True
    return False


def _pcscd_running() -> bool:
    return subprocess.run(["pgrep", "-x", "pcscd"], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def pcscd():
    if not shutil.which("pcscd"):
        pytest.skip("pcscd is not installed (apt package pcscd; `make deps` installs it)")
    if not VPCD_DRIVER.exists():
        pytest.skip("vsmartcard-vpcd is not installed (`make deps` installs it)")
    pytest.importorskip("smartcard", reason="pyscard is not installed")
    # vpcd has one virtual slot per port: two test runs on this machine must take turns
    with open(LOCK_PATH, "a+") as lock:
        deadline = time.monotonic() + 120
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(f"another test run held {LOCK_PATH} (the vpcd reader) for 120 s")
                time.sleep(0.2)
        daemon = Pcscd(owned=not _pcscd_running())
        try:
            if daemon.owned:
                daemon.start()
            else:
                daemon.wait_for_vpcd()
            yield daemon
        finally:
            daemon.stop()


class Pcscd:
    """The pcscd the tests use; only one this module started (owned) is ever stopped."""

    def __init__(self, owned: bool) -> None:
        self.owned = owned
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        assert self.owned and self.proc is None
        self.proc = subprocess.Popen(
            ["pcscd", "--foreground"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.wait_for_vpcd()

    def wait_for_vpcd(self) -> None:
        deadline = time.monotonic() + 10
        while not _port_open(VPCD_PORT):
            if self.proc is not None and self.proc.poll() is not None:
                pytest.fail(f"pcscd exited with {self.proc.returncode} at start")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"pcscd runs but nothing listens on the vpcd port {VPCD_PORT}: was it "
                    "started before vsmartcard-vpcd was installed? Restart it."
                )
            time.sleep(0.05)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Emulator:
    """`python -m sim.devices.card ...` in its own process; stop() pulls the card out."""

    def __init__(self, *args: str) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sim.devices.card", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()))
        reader.start()
        reader.join(10)
        if not line or not line[0].strip():
            self.stop()
            raise AssertionError(f"card emulator printed no reader name: {self.stderr()}")
        self.reader = line[0].strip()

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        return self.proc.stderr.read() if self.proc.stderr else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe:
                pipe.close()


@pytest.fixture
def emulators():
    running: list[Emulator] = []

    def start(*args: str) -> Emulator:
        emu = Emulator(*args)
        running.append(emu)
        return emu

    yield start
    for emu in running:
        emu.stop()


@pytest.fixture
async def reader(pcscd):
    from drivers.card.pcsc import CardReader

    r = CardReader(READER)
    await r.open()
    yield r
    await r.close()


async def next_event(events, kind, timeout: float = 8.0):
    """The next event of type `kind` (others are skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no {kind.__name__} within {timeout} s")
        ev = await asyncio.wait_for(anext(events), remaining)
        if isinstance(ev, kind):
            return ev


async def drain(reader) -> None:
    """Drop queued events (e.g. the snapshot of a card that has left since)."""
    while True:
        try:  # a timed-out generator is finished: take a fresh one each time
            await asyncio.wait_for(anext(reader.events()), 0.05)
        except TimeoutError:
            return


async def insert(reader, emulators, *args: str):
    # the previous test's card may still be on its way out of pcscd's state
    deadline = time.monotonic() + 5
    while reader.card_present():
        assert time.monotonic() < deadline, "a card is still in the reader from before"
        await asyncio.sleep(0.05)
    await drain(reader)
    events = reader.events()
    emu = emulators(*args)
    assert emu.reader == READER
    ev = await next_event(events, CardInserted)
    assert ev.reader == READER
    return emu, events, ev


async def test_reader_appears_and_absent_reader_is_offline(pcscd):
    from drivers.card.pcsc import CardReader

    async with CardReader() as any_reader:
        ev = await next_event(any_reader.events(), ReaderAdded)
        assert ev.reader.startswith("Virtual PCD")
        assert any_reader.status().state is DeviceState.ONLINE

    async with CardReader("Nonexistent Reader 00 00") as missing:
        status = missing.status()
        assert status.state is DeviceState.OFFLINE and status.detail == ("reader_absent",)
        with pytest.raises(NoCardError):
            await missing.read_emv()


async def test_emv_card_read_pin_arqc_then_removed(reader, emulators, caplog):
    caplog.set_level(logging.DEBUG)
    assert reader.status().detail == ("no_card",)
    with pytest.raises(NoCardError):
        await reader.read_emv()

    emu, events, inserted = await insert(reader, emulators, "--pin", "4826")
    assert inserted.atr_hex == simcard.VirtualCard("emv").atr.hex().upper()
    assert reader.status().state is DeviceState.ONLINE
    assert reader.status().detail == ("card_present",)

    # any PC/SC program sees the card: plain pyscard, none of our driver code
    from smartcard.System import readers

    (raw_reader,) = [r for r in readers() if str(r) == READER]
    conn = raw_reader.createConnection()
    conn.connect()
    data, sw1, sw2 = conn.transmit(list(bytes.fromhex("00A404000E") + b"1PAY.SYS.DDF01" + b"\x00"))
    assert (sw1, sw2) == (0x90, 0x00) and data[0] == 0x6F
    conn.disconnect()

    card = await reader.read_emv()
    assert card.pan_masked == "652150******7890"
    assert (card.expiry, card.name, card.aid, card.label) == (
        "2812",
        "SHARMA/ANITA",
        "A0000005241010",
        "RuPay",
    )

    assert await reader.verify_pin("1111") == PinResult(False, 2, False)
    assert await reader.verify_pin("4826") == PinResult(True, 3, False)

    arqc = await reader.generate_arqc(1234_50)
    assert arqc["cryptogram_type"] == "ARQC" and arqc["cid"] == "80"
    assert arqc["amount_paise"] == 1234_50 and arqc["currency"] == "0356"
    assert arqc["pan_masked"] == "652150******7890"
    # the card's MAC over exactly the CDOL1 data the driver sent (see the emulator's docstring)
    cdol = bytes.fromhex(arqc["cdol1_data"])
    assert cdol[:6] == bytes.fromhex("000000123450")
    expect = hmac.new(simcard.TEST_AC_KEY, cdol + arqc["atc"].to_bytes(2, "big"), hashlib.sha256)
    assert arqc["cryptogram"] == expect.digest()[:8].hex().upper()
    second = await reader.generate_arqc(100)
    assert second["atc"] == arqc["atc"] + 1

    # an EMV card is not an engineer card
    with pytest.raises(CardApplicationNotFound, match="not an engineer card"):
        await reader.engineer_challenge(os.urandom(16))

    emu.stop()
    assert (await next_event(events, CardRemoved)).reader == READER
    assert reader.status().detail == ("no_card",)

    # neither the full PAN nor the PIN (its block) went to the log
    assert "6521501234567890" not in caplog.text
    assert "244826" not in caplog.text.upper()
    assert "652150******7890" in caplog.text


async def test_pin_counts_down_to_blocked(reader, emulators):
    await insert(reader, emulators, "--pin-tries", "2")
    await reader.read_emv()
    assert await reader.verify_pin("0000") == PinResult(False, 1, False)
    assert await reader.verify_pin("0000") == PinResult(False, 0, True)
    assert await reader.verify_pin("1234") == PinResult(False, 0, True)  # right PIN, too late


async def test_blocked_card_from_the_start(reader, emulators):
    await insert(reader, emulators, "--pin-tries", "0")
    # verify_pin reads the card first by itself
    assert await reader.verify_pin("1234") == PinResult(False, 0, True)


async def test_card_pulled_mid_read(reader, emulators):
    emu, events, _ = await insert(reader, emulators, "--pull-after", "4")
    with pytest.raises(CardRemovedError, match="card removed or not answering"):
        await reader.read_emv()
    assert (await next_event(events, CardRemoved)).reader == READER
    assert reader.status().detail == ("no_card",)
    with pytest.raises(NoCardError):
        await reader.read_emv()
    emu.stop()


async def test_unknown_aid(reader, emulators):
    await insert(reader, emulators, "--aid", "A0000009999999")
    with pytest.raises(CardApplicationNotFound, match="no RuPay/Visa/Mastercard"):
        await reader.read_emv()


async def test_malformed_tlv_in_a_record(reader, emulators):
    await insert(reader, emulators, "--malformed-record")
    with pytest.raises(CardDataError, match="malformed TLV in record"):
        await reader.read_emv()
    # the reader stays usable
    assert reader.status().state is DeviceState.ONLINE


async def test_engineer_card_challenge(reader, emulators):
    await insert(reader, emulators, "--kind", "engineer", "--engineer-id", "ENG-RJ-0099")
    nonce = os.urandom(16)
    engineer_id, mac = await reader.engineer_challenge(nonce)
    assert engineer_id == "ENG-RJ-0099"
    assert mac == hmac.new(simcard.TEST_ENGINEER_KEY, nonce, hashlib.sha256).digest()

    keys = {"ENG-RJ-0099": simcard.TEST_ENGINEER_KEY}
    ok = await reader.engineer_login(keys.get)
    assert ok.ok and ok.engineer_id == "ENG-RJ-0099"
    wrong = await reader.engineer_login({"ENG-RJ-0099": b"not the key" * 3}.get)
    assert not wrong.ok and wrong.reason == "bad_mac"
    unknown = await reader.engineer_login({}.get)
    assert not unknown.ok and unknown.reason == "unknown_engineer"
    # the same nonce twice gives the same MAC; a different nonce does not
    assert (await reader.engineer_challenge(nonce))[1] == mac
    assert (await reader.engineer_challenge(os.urandom(16)))[1] != mac


async def test_pcscd_restart_gives_reader_removed_then_added(reader, emulators, pcscd):
    """Readers vanish with pcscd and come back with it; the card monitor recovers."""
    if not pcscd.owned:
        pytest.skip("a pcscd was already running: not restarting a daemon this test did not start")
    emu, events, _ = await insert(reader, emulators)
    pcscd.stop()
    assert (await next_event(events, CardRemoved)).reader == READER
    assert (await next_event(events, ReaderRemoved)).reader == READER
    status = reader.status()
    assert status.state is DeviceState.OFFLINE and status.detail == ("reader_absent",)
    emu.stop()  # it has seen vpcd go away already

    pcscd.start()
    assert (await next_event(events, ReaderAdded)).reader == READER
    emulators()  # a card again, in the new daemon
    assert (await next_event(events, CardInserted)).reader == READER
    card = await reader.read_emv()
    assert card.label == "RuPay"
