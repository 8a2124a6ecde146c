"""Fuzz: ESC/POS real-time status replies (DLE EOT n) as the printer driver reads them.

Outside bytes reach drivers/printer/status.py through `EscposPrinter._ask` (one reply byte picked
out of whatever the line delivered) and `parse_status` (the bytes folded into a DeviceStatus).
Properties: nothing raises; a missing or malformed reply is never "ready to print"; the state is
exactly what an independent reading of the bit table says.
"""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from drivers.base import DeviceError, DeviceState, DeviceStatus
from drivers.printer.escpos_driver import EscposPrinter
from drivers.printer.status import (
    BLOCKING,
    QUERY_ORDER,
    STATUS_BITS,
    blocks_printing,
    is_status_byte,
    needs_error_cause,
    parse_status,
    request,
)

FUZZ = settings(max_examples=400, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
KNOWN_WORDS = {row[2] for row in STATUS_BITS} | set(BLOCKING) | {"disconnected"}

status_bytes = st.integers(0, 255).filter(is_status_byte)
any_byte = st.integers(0, 255)
reply = st.one_of(st.none(), any_byte, status_bytes)


def oracle_ready(replies: dict[int, int | None]) -> bool:
    """Independent of the table: printable only when 1, 2 and 4 answered with status-shaped bytes
    and none of offline / waiting / cover / paper end / error / paper out is set."""
    values = [replies.get(n) for n in QUERY_ORDER]
    if any(v is None or not is_status_byte(v) for v in values):
        return False
    r1, r2, r4 = values
    r3 = replies.get(3)
    if r3 is not None and (not is_status_byte(r3) or r3 & 0x6C):
        return False
    return not (r1 & 0x28 or r2 & 0x64 or r4 & 0x60)


def driver_shaped(r1, r2, r4, r3) -> dict[int, int | None]:
    """The dict the driver builds: stop at the first request without a reply; 3 only if asked."""
    replies: dict[int, int | None] = {}
    for n, value in zip(QUERY_ORDER, (r1, r2, r4), strict=True):
        replies[n] = value
        if value is None:
            break
    if needs_error_cause(replies) and r3 is not None:
        replies[3] = r3
    return replies


def check_status(status: DeviceStatus) -> None:
    assert isinstance(status, DeviceStatus)
    assert isinstance(status.state, DeviceState)
    assert status.state is not DeviceState.FRAUD
    assert set(status.detail) <= KNOWN_WORDS, status.detail
    assert isinstance(status.message, str)


@FUZZ
@given(st.dictionaries(st.integers(-3, 8), reply, max_size=6))
@example({3: 0x12})
@example({1: 0x12, 2: 0x12, 4: 0x12, 9: 0xFF})
@example({1: 0x12, 2: 0x12, 4: 0x12, 3: None})
def test_any_reply_dict_gives_a_status(replies) -> None:
    status = parse_status(replies)
    check_status(status)
    asked = [n for n in QUERY_ORDER if n in replies]
    if any(replies[n] is None for n in asked) or not replies:
        assert status.detail == ("no_reply",) and blocks_printing(status)
    if any(v is not None and not is_status_byte(v) for v in replies.values()):
        assert blocks_printing(status)


@FUZZ
@given(reply, reply, reply, reply)
@example(0x12, 0x12, 0x12, None)  # all clear
@example(0x12, 0x52, 0x12, 0x12)  # error bit, no cause named: still an error
@example(0x12, 0x12, 0x13, None)  # bit 0 set: not a status byte
@example(0x92, 0x12, 0x12, None)  # bit 7 set: not a status byte
def test_driver_shaped_replies_match_the_bit_oracle(r1, r2, r4, r3) -> None:
    replies = driver_shaped(r1, r2, r4, r3)
    status = parse_status(replies)
    check_status(status)
    assert (not blocks_printing(status)) == oracle_ready(replies), (replies, status)
    if not blocks_printing(status):
        assert status.state in (DeviceState.ONLINE, DeviceState.BUSY)


# ---------------------------------------------------------------- through the driver's read loop


class ScriptedLine:
    """A printer line that answers each DLE EOT n with scripted chunks (b"" = silence)."""

    def __init__(self, script: dict[int, list[bytes]], fail_on: int | None = None) -> None:
        self.script = script
        self.fail_on = fail_on
        self.pending: list[bytes] = []
        self.requests: list[int] = []

    async def open(self) -> None:
        pass

    async def write(self, data: bytes) -> None:
        assert data[:2] == b"\x10\x04" and len(data) == 3, data
        n = data[2]
        assert data == request(n)
        self.requests.append(n)
        if n == self.fail_on:
            raise DeviceError("line went away")
        self.pending = list(self.script.get(n, []))

    async def read(self, timeout: float) -> bytes:
        assert timeout > 0
        return self.pending.pop(0) if self.pending else b""

    def discard_input(self) -> None:
        self.pending = []

    async def close(self) -> None:
        pass


def first_status_byte(chunks: list[bytes]) -> int | None:
    for chunk in chunks:
        if not chunk:
            return None  # silence ends the wait
        for value in chunk:
            if is_status_byte(value):
                return value
    return None


async def refresh(line: ScriptedLine) -> DeviceStatus:
    printer = EscposPrinter(connection="serial", port="/dev/null", status_timeout=5.0)
    printer._transport = line  # the line is the outside world here
    printer._open = True
    return await printer.refresh_status()


chunks = st.lists(st.binary(min_size=0, max_size=12), max_size=5)


@FUZZ
@given(
    st.fixed_dictionaries({1: chunks, 2: chunks, 3: chunks, 4: chunks}),
    st.one_of(st.none(), st.sampled_from([1, 2, 3, 4])),
)
@example({1: [b"\x00\xff\x12"], 2: [b"\x12"], 3: [], 4: [b"\x12"]}, None)
@example({1: [b"\x12"], 2: [b"\x52"], 3: [b""], 4: [b"\x12"]}, None)
@example({1: [b"\x12"], 2: [b"\x12"], 3: [], 4: [b"\x12"]}, 4)
def test_driver_reads_any_line_noise_without_crashing_or_false_ready(script, fail_on) -> None:
    line = ScriptedLine(script, fail_on)
    status = asyncio.run(asyncio.wait_for(refresh(line), 5))
    check_status(status)
    assert len(line.requests) <= 4 and set(line.requests) <= {1, 2, 3, 4}
    if fail_on is not None and fail_on in line.requests:
        assert blocks_printing(status) and "disconnected" in status.detail
        return
    # What the driver should have seen: the first status-shaped byte for each request.
    seen: dict[int, int | None] = {}
    for n in QUERY_ORDER:
        seen[n] = first_status_byte(script[n])
        if seen[n] is None:
            break
    if needs_error_cause(seen):
        cause = first_status_byte(script[3])
        if cause is not None:
            seen[3] = cause
    assert (not blocks_printing(status)) == oracle_ready(seen), (script, status)
