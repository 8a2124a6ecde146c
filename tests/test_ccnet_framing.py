"""CCNET framing, protocol state machine and status table: no I/O, no simulator."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.acceptor.ccnet_framing import (
    FrameDecoder,
    crc16_kermit,
    encode_frame,
)
from drivers.acceptor.ccnet_protocol import (
    ACK_FRAME,
    NAK_FRAME,
    Ack,
    BadFrame,
    BillTable,
    CCNETHost,
    Command,
    DeviceNak,
    Escrow,
    Identification,
    IllegalCommand,
    PollReply,
    PowerUpNote,
    ProtocolError,
    Rejected,
    ReplyReceived,
    Returned,
    Stacked,
    StackedRepeat,
    UnexpectedReply,
    build_mask,
    enable_bill_types_data,
    parse_bill_table,
    parse_mask,
)
from drivers.acceptor.ccnet_status import (
    POLL_STATES,
    reject_reason,
    status_for,
)
from drivers.base import REJECT_REASONS, DeviceState

POLL = bytes.fromhex("02 03 06 33 DA 81")
ACK = bytes.fromhex("02 03 06 00 C2 82")
NAK = bytes.fromhex("02 03 06 FF BA 8D")


def reply(data: bytes | str) -> bytes:
    """A validator reply frame (written out independently of the code under test's callers)."""
    return encode_frame(bytes.fromhex(data) if isinstance(data, str) else data)


def inr_table(values: list[int], country: bytes = b"INR") -> bytes:
    """GET BILL TABLE reply data for rupee values by bill type (0 = unused)."""
    out = bytearray()
    for value in values + [0] * (24 - len(values)):
        if not value:
            out += bytes(5)
            continue
        digit, exp = value, 0
        while digit % 10 == 0:
            digit //= 10
            exp += 1
        out += bytes([digit]) + country + bytes([exp])
    return bytes(out)


DEFAULT_TABLE = inr_table([10, 20, 50, 100, 200, 500, 2000])


def events_of(kind, events):
    return [e for e in events if isinstance(e, kind)]


# ---------------------------------------------------------------- CRC and frames


def test_crc_check_value():
    assert crc16_kermit(b"123456789") == 0x2189
    assert crc16_kermit(b"") == 0


def test_fixed_example_frames():
    assert encode_frame(b"\x33") == POLL
    assert encode_frame(b"\x00") == ACK == ACK_FRAME
    assert encode_frame(b"\xff") == NAK == NAK_FRAME
    enable = encode_frame(b"\x34" + bytes.fromhex("000028 000028"))
    assert enable[:3] == bytes([0x02, 0x03, 12]) and len(enable) == 12


def test_frame_length_limit():
    assert len(encode_frame(bytes(245))) == 250
    with pytest.raises(ValueError):
        encode_frame(bytes(246))


def test_decoder_whole_frames():
    decoder = FrameDecoder()
    frames = decoder.feed(POLL + ACK + NAK)
    assert [f.data for f in frames] == [b"\x33", b"\x00", b"\xff"]
    assert all(f.address == 3 for f in frames)
    assert decoder.errors == 0 and decoder.pending == 0


def test_decoder_every_split_point():
    stream = POLL + reply("80 05") + reply(b"\x41" + DEFAULT_TABLE) + NAK
    expected = [b"\x33", b"\x80\x05", b"\x41" + DEFAULT_TABLE, b"\xff"]
    for cut in range(len(stream) + 1):
        decoder = FrameDecoder()
        frames = decoder.feed(stream[:cut]) + decoder.feed(stream[cut:])
        assert [f.data for f in frames] == expected, cut
        assert decoder.errors == 0
    for cut1 in range(0, len(stream), 7):
        for cut2 in range(cut1, len(stream) + 1, 5):
            decoder = FrameDecoder()
            parts = (stream[:cut1], stream[cut1:cut2], stream[cut2:])
            frames = [f for part in parts for f in decoder.feed(part)]
            assert [f.data for f in frames] == expected


def test_decoder_byte_by_byte():
    decoder = FrameDecoder()
    frames = []
    for byte in reply("81 05"):
        frames += decoder.feed(bytes([byte]))
    assert [f.data for f in frames] == [b"\x81\x05"]


def test_decoder_skips_garbage_and_bad_crc():
    bad = bytearray(reply("81 05"))
    bad[3] ^= 0x5A
    decoder = FrameDecoder()
    frames = decoder.feed(b"\xaa\x55\x00" + bytes(bad) + reply("14"))
    assert [f.data for f in frames] == [b"\x14"]
    assert decoder.crc_errors == 1
    assert decoder.errors >= 2  # the garbage run and the damaged frame


def test_decoder_bad_length_and_truncation():
    decoder = FrameDecoder()
    assert decoder.feed(bytes([0x02, 0x03, 0x02]) + POLL)[0].data == b"\x33"
    assert decoder.length_errors >= 1
    assert decoder.feed(POLL[:4]) == []
    assert decoder.pending == 4
    assert decoder.reset() is True  # a truncated frame dropped on timeout: counted
    assert decoder.feed(ACK)[0].data == b"\x00"


@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=12))
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_decoder_never_raises_on_any_stream(stream, cuts):
    decoder = FrameDecoder()
    points = sorted({0, len(stream), *(c for c in cuts if c <= len(stream))})
    for a, b in zip(points, points[1:], strict=False):
        for frame in decoder.feed(stream[a:b]):
            assert frame.raw in stream  # a frame is only ever bytes that were on the line


@given(
    st.binary(max_size=245),
    st.integers(0, 255),
    st.binary(max_size=40).filter(lambda b: 0x02 not in b),
    st.binary(max_size=40),
    st.integers(0, 400),
)
def test_round_trip_through_noise(data, address, before, after, cut):
    frame = encode_frame(data, address)
    stream = before + frame + after
    cut = min(cut, len(stream))
    decoder = FrameDecoder()
    frames = decoder.feed(stream[:cut]) + decoder.feed(stream[cut:])
    assert (address, data) in [(f.address, f.data) for f in frames]


# ---------------------------------------------------------------- bill table, masks, ident


def test_bill_table_values_and_country():
    data = bytearray(DEFAULT_TABLE)
    data[7 * 5 : 8 * 5] = b"\x05USD\x01"  # a foreign note: ignored
    data[8 * 5 : 9 * 5] = b"\x05INR\x81"  # 5 x 10^-1 rupee = 50 paise
    table = parse_bill_table(bytes(data))
    values = table.for_country("INR")
    assert values == {0: 1000, 1: 2000, 2: 5000, 3: 10000, 4: 20000, 5: 50000, 6: 200000, 8: 50}
    assert {e.bill_type for e in table.entries} == set(range(9))
    assert parse_bill_table(bytes(data)).for_country("USD") == {7: 5000}
    assert parse_bill_table(bytes(120)).entries == ()


def test_masks():
    assert build_mask([0]) == b"\x00\x00\x01"
    assert build_mask([23]) == b"\x80\x00\x00"
    assert build_mask([3, 5]) == b"\x00\x00\x28"
    assert build_mask([8]) == b"\x00\x01\x00"
    assert build_mask([]) == bytes(3)
    assert parse_mask(b"\x80\x01\x28") == {23, 8, 5, 3}
    assert enable_bill_types_data({3, 5}, {3, 5}) == bytes.fromhex("000028000028")
    with pytest.raises(ValueError):
        build_mask([24])


def host_with_table() -> CCNETHost:
    host = CCNETHost("INR")
    host.send_command(Command.GET_BILL_TABLE)
    events = host.receive(reply(DEFAULT_TABLE))
    assert isinstance(events[0].reply, BillTable)
    assert host.data_to_send() == ACK
    return host


def test_identification():
    host = CCNETHost()
    host.send_command(Command.IDENTIFICATION)
    data = b"SM-RU1353      " + b"41K000123456" + bytes.fromhex("00000000000001")
    (event,) = host.receive(reply(data))
    assert event.reply == Identification("SM-RU1353", "41K000123456", b"\0" * 6 + b"\1")
    assert event.reply.as_dict()["asset"] == "00000000000001"
    assert host.data_to_send() == ACK


# ---------------------------------------------------------------- replies per command


def test_reply_is_interpreted_for_its_command():
    host = CCNETHost()
    host.send_command(Command.GET_BILL_TABLE)
    # A short frame that would be "bill stacked" as a poll reply is not a bill table.
    events = host.receive(reply("81 05"))
    assert isinstance(events[0].reply, UnexpectedReply)
    assert not events_of(Stacked, events)
    assert host.data_to_send() == b""  # nothing ACKed that we could not use

    host.send_command(Command.POLL)
    events = host.receive(reply(DEFAULT_TABLE))  # a bill table is not a state
    assert isinstance(events[0].reply, UnexpectedReply)


def test_ack_only_for_data_replies():
    host = CCNETHost()
    for command in (Command.RESET, Command.ENABLE_BILL_TYPES, Command.SET_SECURITY):
        host.send_command(command, bytes(6) if command == Command.ENABLE_BILL_TYPES else b"")
        (event,) = host.receive(ACK)
        assert event == ReplyReceived(command, Ack())
        assert host.data_to_send() == b""  # never ACK an ACK
    host.send_command(Command.ENABLE_BILL_TYPES, bytes(6))
    (event,) = host.receive(reply("30"))
    assert isinstance(event.reply, IllegalCommand)
    assert host.data_to_send() == b""
    host.send_command(Command.POLL)
    events = host.receive(reply("19"))
    assert events[0].reply == PollReply(0x19)
    assert host.data_to_send() == ACK
    assert host.outstanding is None


def test_nak_on_damaged_reply_and_device_nak():
    host = CCNETHost()
    host.send_command(Command.POLL)
    bad = bytearray(reply("14"))
    bad[3] ^= 0x5A
    events = host.receive(bytes(bad))
    assert events_of(BadFrame, events)
    assert host.data_to_send() == NAK
    assert host.outstanding == Command.POLL  # the repeat is still awaited
    events = host.receive(reply("14"))
    assert events[0].reply == PollReply(0x14)
    # The validator NAKs our frame: the command stays outstanding, to be resent.
    host.send_command(Command.RESET)
    (event,) = host.receive(NAK)
    assert isinstance(event.reply, DeviceNak)
    assert host.outstanding == Command.RESET
    assert host.data_to_send() == b""


def test_unsolicited_frames_ignored():
    host = CCNETHost()
    assert host.receive(reply("81 05")) == []
    assert host.unsolicited == 1
    host.send_command(Command.POLL)
    assert host.receive(encode_frame(b"\x81\x05", address=0x05)) == []


# ---------------------------------------------------------------- the note cycle


def poll(host: CCNETHost, data: str):
    host.send_command(Command.POLL)
    events = host.receive(reply(data))
    assert host.data_to_send() == ACK
    return events


def test_credit_exactly_once_with_repeated_stacked():
    host = host_with_table()
    assert events_of(Escrow, poll(host, "15") + poll(host, "80 05") + poll(host, "80 05")) == [
        Escrow(5, 50000)
    ]
    assert host.decide(Command.STACK)
    assert not host.decide(Command.RETURN)  # the first decision stands
    assert host.escrow_action() == Command.STACK
    host.send_command(Command.STACK)
    host.receive(ACK)
    assert host.escrow_action() is None
    with pytest.raises(ProtocolError):
        host.send_command(Command.STACK)  # never two STACKs for one note
    poll(host, "17")
    first = poll(host, "81 05")
    again = poll(host, "81 05")  # our ACK was lost: the validator says it again
    assert events_of(Stacked, first) == [Stacked(5, 50000)]
    assert events_of(Stacked, again) == [] and events_of(StackedRepeat, again)
    poll(host, "14")
    # The next physical note is a new cycle and is credited.
    poll(host, "15")
    poll(host, "80 03")
    host.decide(Command.STACK)
    host.send_command(Command.STACK)
    host.receive(ACK)
    assert events_of(Stacked, poll(host, "81 03")) == [Stacked(3, 10000)]


def test_stacked_without_cycle_is_not_credit():
    host = host_with_table()
    assert events_of(Stacked, poll(host, "81 05")) == []
    assert host.repeats_ignored == 1


def test_lost_stack_answer_resent_only_if_still_in_escrow():
    host = host_with_table()
    poll(host, "80 05")
    host.decide(Command.STACK)
    host.send_command(Command.STACK)
    host.abandon()  # no answer came
    assert host.escrow_action() is None  # not until a poll shows where the note is
    poll(host, "17")  # it did obey: stacking
    assert host.escrow_action() is None

    host = host_with_table()
    poll(host, "80 05")
    host.decide(Command.STACK)
    host.send_command(Command.STACK)
    host.abandon()
    poll(host, "80 05")  # still waiting in escrow: the STACK never arrived
    assert host.escrow_action() == Command.STACK


def test_stack_without_escrow_refused():
    host = host_with_table()
    assert not host.decide(Command.STACK)
    with pytest.raises(ProtocolError):
        host.send_command(Command.STACK)


def test_return_reject_and_power_up():
    host = host_with_table()
    poll(host, "80 02")
    host.decide(Command.RETURN)
    host.send_command(Command.RETURN)
    host.receive(ACK)
    poll(host, "18")
    assert events_of(Returned, poll(host, "82 02")) == [Returned(2, 5000)]
    assert events_of(Returned, poll(host, "82 02")) == []

    rejected = poll(host, "1C 68") + poll(host, "1C 68")
    assert events_of(Rejected, rejected) == [Rejected(0x68, "inhibited")]

    ups = poll(host, "12") + poll(host, "12") + poll(host, "13")
    assert events_of(PowerUpNote, ups) == [PowerUpNote("stacker")]


def test_escrow_gone_back_to_idle_is_returned_not_credited():
    host = host_with_table()
    poll(host, "80 06")
    events = poll(host, "19")
    assert events_of(Returned, events) == [Returned(6, 200000)]
    assert events_of(Stacked, events) == []


# ---------------------------------------------------------------- hypothesis: no false credit

frame_pieces = st.one_of(
    st.binary(max_size=12),
    st.sampled_from(["80 05", "81 05", "81 02", "14", "17", "82 05", "1C 60"]).map(reply),
    st.sampled_from(["81 05", "81 02"])
    .map(reply)
    .flatmap(
        lambda f: st.integers(0, len(f) - 1).map(
            lambda i: f[:i] + bytes([f[i] ^ 0x01]) + f[i + 1 :]
        )
    ),
    st.sampled_from(["81 05", "81 02"])
    .map(reply)
    .flatmap(lambda f: st.integers(1, len(f) - 1).map(lambda i: f[:i])),
)


@given(st.lists(frame_pieces, max_size=8), st.lists(st.integers(0, 120), max_size=8))
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_no_credit_unless_a_valid_stacked_frame_was_on_the_line(pieces, cuts):
    host = host_with_table()
    poll(host, "80 05")  # a note in escrow: a credit is possible from here
    host.decide(Command.STACK)
    host.send_command(Command.STACK)
    host.receive(ACK)
    host.send_command(Command.POLL)
    stream = b"".join(pieces)
    points = sorted({0, len(stream), *(c for c in cuts if c <= len(stream))})
    events = []
    for a, b in zip(points, points[1:], strict=False):
        events += host.receive(stream[a:b])
        host.data_to_send()
    credits = events_of(Stacked, events)
    assert len(credits) <= 1
    for credit in credits:
        assert reply(bytes([0x81, credit.bill_type])) in stream


@given(
    st.lists(
        st.sampled_from(
            ["15", "80 05", "17", "81 05", "14", "19", "1A", "82 05", "1C 60", "41", "43"]
        ),
        max_size=30,
    )
)
def test_credits_never_exceed_note_cycles(states):
    host = host_with_table()
    credits = 0
    for state in states:
        credits += len(events_of(Stacked, poll(host, state)))
    # one credit per 0x81 that follows a fresh accepting/escrow/stacking state
    cycles, armed = 0, False
    for state in states:
        code = int(state[:2], 16)
        if code in (0x15, 0x17, 0x80):
            armed = True
        elif code == 0x81 and armed:
            cycles, armed = cycles + 1, False
        elif code in (0x82, 0x1C, 0x14, 0x19):
            armed = False
    assert credits == cycles


# ---------------------------------------------------------------- status table


def test_reject_reasons_map_to_shared_words():
    expected = {
        0x60: "insertion", 0x61: "not_recognised", 0x62: "remained_in_head",
        0x63: "multiple_notes", 0x64: "conveying", 0x65: "not_recognised",
        0x66: "not_recognised", 0x67: "not_recognised", 0x68: "inhibited",
        0x69: "not_recognised", 0x6A: "operation", 0x6C: "length", 0x6D: "not_recognised",
        0x92: "barcode", 0x93: "barcode", 0x94: "barcode", 0x95: "barcode",
        0x6B: "unknown", 0x00: "unknown",
    }  # fmt: skip
    for code, word in expected.items():
        assert reject_reason(code) == word
        assert word in REJECT_REASONS


def test_status_table():
    assert status_for(0x14).state == DeviceState.ONLINE
    assert status_for(0x19).detail == ("disabled",)
    assert status_for(0x13).detail == ("initialising",)
    jam = status_for(0x43)
    assert jam.state == DeviceState.HWERROR and "jam" in jam.detail
    assert "jam_validator" in jam.detail
    assert "jam_cassette" in status_for(0x44).detail
    assert status_for(0x41).detail == ("stacker_full",)
    assert status_for(0x42).state == DeviceState.USER_ERROR
    assert status_for(0x42).detail == ("cassette_removed",)
    assert status_for(0x45).state == DeviceState.FRAUD
    assert status_for(0x46).detail == ("paused",)
    failure = status_for(0x47, b"\x50")
    assert failure.state == DeviceState.HWERROR and "failure:stack_motor" in failure.detail
    assert "failure:capacitance_canal" in status_for(0x47, b"\x5f").detail
    assert "power_up_note_in_validator" in status_for(0x11).detail
    assert status_for(0x81, b"\x05") is None and status_for(0x82, b"\x05") is None
    assert status_for(0x77).state == DeviceState.HWERROR
    for code, info in POLL_STATES.items():
        assert 0x10 <= code <= 0x82 and info.name
