"""The serial QR scanner driver against the scanner simulator over a real pty."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.base import DeviceState, StatusChanged
from drivers.scanner import LineError, LineFramer, Scanned, SerialScanner
from sim.devices.scanner import ScannerSimulator

RECEIPT = "EMITRA1|R|T-20261123-0001|0123456789abcdef"


async def next_scan(events, timeout: float = 2.0) -> Scanned:
    """The next Scanned event (status changes skipped)."""
    while True:
        event = await asyncio.wait_for(anext(events), timeout)
        if isinstance(event, Scanned):
            return event


async def no_scan(events, within: float = 0.3) -> None:
    with pytest.raises(TimeoutError):
        await next_scan(events, within)


@pytest.fixture
async def rig(request):
    suffix = getattr(request, "param", "\r")
    sim = ScannerSimulator(suffix=suffix)
    await sim.start()
    scanner = SerialScanner(sim.path, suffix=suffix)
    await scanner.open()
    yield sim, scanner, scanner.events()
    await scanner.close()
    await sim.stop()


@pytest.mark.parametrize("rig", ["\r", "\r\n", "\n"], indirect=True)
async def test_payloads_with_each_suffix(rig):
    sim, scanner, events = rig
    assert scanner.status().state == DeviceState.ONLINE
    for payload in (RECEIPT, "BILL|JVVNL|210412345678", "जयपुर बिल", "upi://pay?pa=a@b&am=1"):
        sim.scan(payload)
        event = await next_scan(events)
        assert event == Scanned(payload, "scanner")
    assert scanner.counters()["scans"] == 4
    assert "EMITRA1" not in repr(Scanned(RECEIPT))  # payloads stay out of logs


async def test_crlf_scanner_on_cr_kiosk():
    """A scanner left at CRLF while the kiosk expects CR: the stray LF is not part of a scan."""
    sim = ScannerSimulator(suffix="\r\n")
    await sim.start()
    scanner = SerialScanner(sim.path, suffix="\r")
    await scanner.open()
    events = scanner.events()
    try:
        sim.scan("first")
        sim.scan("second")
        assert (await next_scan(events)).payload == "first"
        assert (await next_scan(events)).payload == "second"
    finally:
        await scanner.close()
        await sim.stop()


async def test_split_writes(rig):
    sim, _scanner, events = rig
    data = (RECEIPT + "\r").encode()
    for i in range(0, len(data), 5):
        await sim.send_raw(data[i : i + 5])
        await asyncio.sleep(0.005)
    assert (await next_scan(events)).payload == RECEIPT
    # two scans in one write
    await sim.send_raw(b"one\rtwo\r")
    assert (await next_scan(events)).payload == "one"
    assert (await next_scan(events)).payload == "two"


async def test_garbage_and_invalid_utf8_are_dropped_and_counted(rig):
    sim, scanner, events = rig
    await sim.send_raw(b"\x00\x01\x02noise\x7f\r")
    await sim.send_raw(b"\xff\xfe\xc3(\r")
    await sim.send_raw(b"\r\r\r")  # empty lines: nothing
    sim.scan(RECEIPT)
    assert (await next_scan(events)).payload == RECEIPT
    assert scanner.errors["garbage"] == 1
    assert scanner.errors["invalid_utf8"] == 1
    assert scanner.status().state == DeviceState.ONLINE


async def test_overlong_line_dropped(rig):
    sim, scanner, events = rig
    await sim.send_raw(b"A" * 3000)
    await sim.send_raw(b"B" * 3000)  # 6000 bytes, no suffix yet
    await sim.send_raw(b"C" * 100 + b"\r")
    sim.scan(RECEIPT)
    assert (await next_scan(events)).payload == RECEIPT
    assert scanner.errors["overlong"] == 1
    # exactly at the limit is still a scan
    sim.scan("D" * 4096)
    assert (await next_scan(events)).payload == "D" * 4096


async def test_port_lost_goes_offline_and_reopens():
    sim = ScannerSimulator()
    await sim.start()
    path = sim.path
    scanner = SerialScanner(path)
    await scanner.open()
    events = scanner.events()
    assert (await asyncio.wait_for(anext(events), 1)).status.state == DeviceState.ONLINE
    sim.unplug()
    event = await asyncio.wait_for(anext(events), 3)
    assert isinstance(event, StatusChanged)
    assert event.status.state == DeviceState.OFFLINE
    assert scanner.status().state == DeviceState.OFFLINE
    # The watchdog's reconnect: open() again; the port is gone, so it raises DeviceError.
    with pytest.raises(Exception) as info:
        await scanner.open()
    assert type(info.value).__name__ == "DeviceError"
    # A new device appears (the simulator again); the same driver reconnects to it.
    sim2 = ScannerSimulator()
    await sim2.start()
    scanner.path = sim2.path
    await scanner.open()
    assert scanner.status().state == DeviceState.ONLINE
    sim2.scan("after reconnect")
    assert (await next_scan(events)).payload == "after reconnect"
    await scanner.close()
    assert scanner.status().state == DeviceState.OFFLINE
    await scanner.close()  # twice is fine
    await sim2.stop()


async def test_open_missing_port_raises_device_error():
    from drivers.base import DeviceError

    scanner = SerialScanner("/dev/does-not-exist-scanner")
    with pytest.raises(DeviceError):
        await scanner.open()
    assert scanner.status().state == DeviceState.OFFLINE


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=600), max_size=20), st.sampled_from(["\r", "\r\n", "\n"]))
def test_framer_never_raises(chunks, suffix):
    framer = LineFramer(suffix, max_line=256)
    for chunk in chunks:
        for event in framer.feed(chunk):
            if isinstance(event, Scanned):
                assert 0 < len(event.payload.encode()) <= 256
            else:
                assert isinstance(event, LineError)
                assert event.reason in {"overlong", "invalid_utf8", "garbage"}
    assert len(framer._buf) <= 256 + len(suffix)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=50),
        max_size=10,
    ),
    st.integers(1, 7),
)
def test_framer_round_trip_any_split(payloads, step):
    payloads = [p for p in payloads if p.strip("\r\n")]
    data = "".join(p + "\r\n" for p in payloads).encode()
    framer = LineFramer("\r\n")
    got = []
    for i in range(0, len(data), step):
        got += [e.payload for e in framer.feed(data[i : i + step]) if isinstance(e, Scanned)]
    assert got == payloads
