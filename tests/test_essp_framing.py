"""eSSP sans-I/O layers: framing (CRC, stuffing, decoder), encryption, link and note tracking."""

from __future__ import annotations

import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.acceptor import essp_status
from drivers.acceptor.essp_crypto import (
    STEX,
    EncryptionError,
    EncryptionLayer,
    KeyExchange,
    aes_key,
    is_prime,
    open_sealed,
    seal,
)
from drivers.acceptor.essp_framing import (
    PacketDecoder,
    crc16,
    encode_packet,
    stuff,
)
from drivers.acceptor.essp_protocol import (
    Channel,
    Cmd,
    Escrow,
    NoteTracker,
    PollEvent,
    SetupInfo,
    SSPLink,
    parse_events,
    parse_setup,
    setup_request_reply,
)
from drivers.base import (
    REJECT_REASONS,
    DeviceState,
    NoteFoundAtPowerUp,
    NoteInEscrow,
    NoteRejected,
    NoteReturned,
    NoteStacked,
    StatusChanged,
)

# Published example frames (ITL SSP manual / command reference).
SYNC_FRAME = bytes.fromhex("7F 80 01 11 65 82")
HOST_PROTOCOL_8 = bytes.fromhex("7F 80 02 06 08 03 94")
REPLY_OK = bytes.fromhex("7F 80 01 F0 23 80")
REPLY_FAIL = bytes.fromhex("7F 80 01 F8 10 00")

INR = {1: 1000, 2: 2000, 3: 5000, 4: 10000, 5: 20000, 6: 50000, 7: 200000}


# ---------------------------------------------------------------- CRC and frames


def test_crc_known_frames():
    assert crc16(bytes.fromhex("80 01 11")).to_bytes(2, "little") == bytes.fromhex("65 82")
    assert crc16(bytes.fromhex("80 02 06 08")).to_bytes(2, "little") == bytes.fromhex("03 94")
    assert crc16(bytes.fromhex("80 01 F0")).to_bytes(2, "little") == bytes.fromhex("23 80")
    assert encode_packet(True, 0, bytes((Cmd.SYNC,))) == SYNC_FRAME
    assert encode_packet(1, 0, bytes((Cmd.HOST_PROTOCOL_VERSION, 8))) == HOST_PROTOCOL_8
    assert encode_packet(True, 0, b"\xf0") == REPLY_OK
    assert encode_packet(True, 0, b"\xf8") == REPLY_FAIL


def test_decoder_reads_published_frames():
    dec = PacketDecoder()
    packets = dec.feed(SYNC_FRAME + REPLY_OK + HOST_PROTOCOL_8 + REPLY_FAIL)
    assert [(p.seq, p.address, p.data) for p in packets] == [
        (True, 0, b"\x11"),
        (True, 0, b"\xf0"),
        (True, 0, b"\x06\x08"),
        (True, 0, b"\xf8"),
    ]
    assert dec.bad_crc == dec.garbage == dec.truncated == 0


def test_stuffing_in_data():
    frame = encode_packet(False, 0, b"\xf0\x7f\x01\x7f\x7f")
    body = frame[1:]
    # every 0x7F after the STX is doubled, so the unstuffed body has 3 (+ any in the CRC)
    assert frame[0] == 0x7F
    assert body.count(b"\x7f\x7f") >= 3
    assert PacketDecoder().feed(frame)[0].data == b"\xf0\x7f\x01\x7f\x7f"


def _data_with_7f_in_crc() -> tuple[bytes, bytes]:
    for a in range(256):
        for b in range(256):
            data = bytes((0xF0, a, b))
            crc = crc16(bytes((0x00, 3)) + data).to_bytes(2, "little")
            if 0x7F in crc:
                return data, crc
    raise AssertionError("no CRC with 0x7F found")


def test_stuffing_in_crc():
    data, crc = _data_with_7f_in_crc()
    frame = encode_packet(False, 0, data)
    assert frame == b"\x7f" + stuff(bytes((0x00, 3)) + data + crc)
    assert len(frame) > 1 + 2 + len(data) + 2  # something was doubled
    assert PacketDecoder().feed(frame)[0].data == data


def _stream() -> tuple[bytes, list[bytes]]:
    data, _ = _data_with_7f_in_crc()
    payloads = [b"\x11", b"\xf0\x7f\x7f\xee\x04", data, b"\xf0\xef\x06", b"\xf0" + bytes(range(40))]
    frames = b"".join(encode_packet(i % 2, 0, p) for i, p in enumerate(payloads))
    return frames, payloads


def test_decoder_every_split_point():
    frames, payloads = _stream()
    for cut in range(len(frames) + 1):
        dec = PacketDecoder()
        got = dec.feed(frames[:cut]) + dec.feed(frames[cut:])
        assert [p.data for p in got] == payloads, cut
    for cut1 in range(0, len(frames), 3):
        for cut2 in range(cut1, len(frames), 5):
            dec = PacketDecoder()
            got = dec.feed(frames[:cut1]) + dec.feed(frames[cut1:cut2]) + dec.feed(frames[cut2:])
            assert [p.data for p in got] == payloads


def test_decoder_byte_by_byte():
    frames, payloads = _stream()
    dec = PacketDecoder()
    got = []
    for i in range(len(frames)):
        got += dec.feed(frames[i : i + 1])
    assert [p.data for p in got] == payloads


def test_garbage_bad_crc_truncated_are_skipped_and_counted():
    good = encode_packet(False, 0, b"\xf0\xee\x04")
    bad = bytearray(good)
    bad[-1] ^= 0x01
    truncated = good[:-3]
    dec = PacketDecoder()
    got = dec.feed(b"\x00\x01garbage" + bytes(bad) + truncated + good + b"\x55")
    assert [p.data for p in got] == [b"\xf0\xee\x04"]
    assert dec.bad_crc == 1
    assert dec.truncated == 1
    assert dec.garbage >= 9


def _credit_frame(seq: bool = False) -> bytes:
    return encode_packet(seq, 0, b"\xf0\xee\x04")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=20),
            st.sampled_from([b"\x7f", b"\x7f\x7f", b"\x7f\x00", b"\x7f\x80\x03"]),
            st.builds(lambda s: _credit_frame(s)[:-1], st.booleans()),  # truncated credit
            st.builds(lambda i: _flip(_credit_frame(), i), st.integers(0, 63)),  # corrupted
            st.sampled_from([encode_packet(False, 0, b"\xf0\xe8"), REPLY_OK]),
        ),
        max_size=12,
    ),
    st.lists(st.integers(0, 400), max_size=6),
)
def test_random_streams_never_raise_and_never_invent_a_credit(parts, cuts):
    stream = b"".join(parts)
    dec = PacketDecoder()
    tracker = NoteTracker(INR)
    bounds = sorted({min(c, len(stream)) for c in cuts} | {0, len(stream)})
    credited = 0
    for a, b in zip(bounds, bounds[1:], strict=False):
        for packet in dec.feed(stream[a:b]):
            # anything the decoder yields was on the wire as a complete, valid frame
            assert encode_packet(packet.seq, packet.address, packet.data) in stream
            if packet.data[:1] == b"\xf0":
                events, _ = parse_events(packet.data[1:])
                out = tracker.on_poll(events)
                credited += sum(isinstance(e, NoteStacked) for e in out.events)
    if credited:
        assert _credit_frame(False) in stream or _credit_frame(True) in stream


def _flip(frame: bytes, bit: int) -> bytes:
    out = bytearray(frame)
    i = 1 + (bit // 8) % (len(out) - 1)  # never the STX
    out[i] ^= 1 << (bit % 8)
    return bytes(out)


@given(st.binary(max_size=300))
def test_decoder_total_on_any_bytes(data):
    PacketDecoder().feed(data)


# ---------------------------------------------------------------- encryption


def test_primes_and_key_agreement():
    assert is_prime(2) and is_prime(0xFFFFFFFFFFFFFFC5)  # largest 64-bit prime
    assert not is_prime(1) and not is_prime(0xFFFFFFFFFFFFFFC5 - 2)
    assert not is_prime(3215031751)  # strong pseudoprime to bases 2, 3, 5, 7
    kx = KeyExchange.new()
    assert is_prime(kx.generator) and is_prime(kx.modulus)
    assert kx.generator < 2**64 and kx.modulus < 2**64
    slave_random = secrets.randbelow(kx.modulus - 2) + 1
    slave_inter = pow(kx.generator, slave_random, kx.modulus)
    assert kx.key(slave_inter) == pow(kx.host_inter, slave_random, kx.modulus)


def test_aes_key_byte_order():
    key = aes_key(0x0123456701234567, 0x1122334455667788)
    assert key == bytes.fromhex("6745230167452301 8877665544332211")


@pytest.mark.parametrize("length", [1, 2, 8, 9, 10, 24, 25, 57, 100])
def test_seal_round_trip_and_packing(length):
    key = aes_key(0x0123456701234567, 987654321)
    data = secrets.token_bytes(length)
    packet = seal(key, 42, data)
    assert packet[0] == STEX
    assert (len(packet) - 1) % 16 == 0
    assert len(packet) - 1 - 16 < 7 + length <= len(packet) - 1
    assert open_sealed(key, packet) == (42, data)


def test_sealed_packet_refused_with_wrong_key_or_corruption():
    key = aes_key(1, 2)
    packet = seal(key, 0, b"\xf0\xee\x04")
    with pytest.raises(EncryptionError):
        open_sealed(aes_key(1, 3), packet)
    broken = bytearray(packet)
    broken[5] ^= 0x40
    with pytest.raises(EncryptionError):
        open_sealed(key, bytes(broken))
    with pytest.raises(EncryptionError):
        open_sealed(key, packet[:-1])
    with pytest.raises(EncryptionError):
        open_sealed(key, b"\xf0\xee\x04")


class _Device:
    """A minimal slave-side counter (as ITL's firmware counts): command N, reply N+1."""

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.count = 0

    def handle(self, packet: bytes, reply: bytes) -> bytes:
        count, _ = open_sealed(self.key, packet)
        assert count == self.count
        self.count += 1
        return seal(self.key, self.count, reply)


def test_encryption_layer_counter_and_replay_refused():
    host = EncryptionLayer(0x0123456701234567, 555)
    device = _Device(host.key)
    replies = []
    for i in range(3):
        packet = host.wrap(bytes((Cmd.POLL,)))
        replies.append(device.handle(packet, b"\xf0" + bytes((i,))))
        assert host.unwrap(replies[-1]) == b"\xf0" + bytes((i,))
    assert host.count == 3
    # replaying an older reply (old counter) is refused
    host.wrap(bytes((Cmd.POLL,)))
    with pytest.raises(EncryptionError):
        host.unwrap(replies[1])
    assert host.refused == 1


# ---------------------------------------------------------------- link


def _device_reply(link: SSPLink, wire: bytes, data: bytes, device: _Device | None) -> bytes:
    packet = PacketDecoder().feed(wire)[0]
    payload = device.handle(packet.data, data) if device else data
    return encode_packet(packet.seq, packet.address, payload)


def test_link_sequence_flag_and_identical_resend():
    link = SSPLink()
    wire = link.command(bytes((Cmd.SYNC,)))
    assert wire == SYNC_FRAME
    assert link.resend() == wire
    assert link.receive(REPLY_OK).ok
    poll = link.command(bytes((Cmd.POLL,)))
    assert poll[1] == 0x00  # flag clear after SYNC
    assert link.resend() == poll
    # a reply carrying the wrong flag (a stale one) is not taken
    assert link.receive(encode_packet(True, 0, b"\xf0\xee\x01")) is None
    assert link.stray == 1
    assert link.receive(encode_packet(False, 0, b"\xf0")).ok
    assert link.command(bytes((Cmd.POLL,)))[1] == 0x80


def test_link_encrypted_resend_is_byte_identical_and_reply_matched():
    link = SSPLink()
    link.command(bytes((Cmd.SYNC,)))
    link.receive(REPLY_OK)
    link.encryption = EncryptionLayer(0x0123456701234567, 777)
    device = _Device(link.encryption.key)
    wire = link.command(bytes((Cmd.POLL,)))
    again = link.resend()
    assert again == wire and link.encryption.count == 1
    reply = link.receive(_device_reply(link, again, b"\xf0\xee\x04", device))
    assert reply is not None and reply.encrypted and reply.data == b"\xee\x04"


def test_plain_reply_claiming_a_credit_is_refused_when_encrypted():
    link = SSPLink()
    link.command(bytes((Cmd.SYNC,)))
    link.receive(REPLY_OK)
    link.encryption = EncryptionLayer(0x0123456701234567, 99)
    device = _Device(link.encryption.key)
    wire = link.command(bytes((Cmd.POLL,)))
    forged = encode_packet(False, 0, b"\xf0\xef\x06\xee\x06")
    assert link.receive(forged) is None
    assert link.refused == 1
    # and a replayed encrypted reply of an earlier exchange is refused too
    old = seal(link.encryption.key, 0, b"\xf0\xee\x06")
    assert link.receive(encode_packet(False, 0, old)) is None
    assert link.refused == 2
    # the genuine reply still gets through
    reply = link.receive(_device_reply(link, wire, b"\xf0", device))
    assert reply is not None and reply.ok and reply.data == b""


def test_plain_key_not_set_is_reported():
    link = SSPLink()
    link.encryption = EncryptionLayer(1, 2)
    link.command(bytes((Cmd.POLL,)))
    reply = link.receive(encode_packet(link.seq, 0, b"\xfa"))
    assert reply is not None and reply.code == 0xFA and not reply.encrypted


# ---------------------------------------------------------------- setup and events


def _setup() -> SetupInfo:
    values = [10, 20, 50, 100, 200, 500, 2000]
    chans = tuple(Channel(i + 1, v, "INR", v * 100) for i, v in enumerate(values))
    return SetupInfo(0, "0400", "INR", 1, 100, 7, chans, (2,) * 7)


def test_setup_request_protocol_7():
    data = setup_request_reply(_setup())
    info = parse_setup(data)
    assert info.country == "INR" and info.protocol_version == 7 and info.firmware == "0400"
    assert info.channel_paise() == INR


def test_setup_request_legacy_protocol():
    data = bytearray(b"\x00" + b"0300" + b"INR" + (10).to_bytes(3, "big") + b"\x03")
    data += bytes((1, 2, 5)) + bytes((2, 2, 2)) + (100).to_bytes(3, "big") + b"\x05"
    info = parse_setup(bytes(data))
    assert info.channel_paise() == {1: 1000, 2: 2000, 3: 5000}


def test_setup_request_too_short():
    with pytest.raises(ValueError):
        parse_setup(b"\x00abc")


def test_parse_several_events():
    events, rest = parse_events(bytes.fromhex("F1 E8 EF 00 EF 06 CC EE 06 EB E2 03 E7"))
    assert [(e.code, e.data) for e in events] == [
        (0xF1, b""),
        (0xE8, b""),
        (0xEF, b"\x00"),
        (0xEF, b"\x06"),
        (0xCC, b""),
        (0xEE, b"\x06"),
        (0xEB, b""),
        (0xE2, b"\x03"),
        (0xE7, b""),
    ]
    assert rest == b""
    events, rest = parse_events(bytes.fromhex("E8 99 01 EE"))
    assert [e.code for e in events] == [0xE8] and rest == bytes.fromhex("99 01 EE")


def _ev(hexstr: str) -> list[PollEvent]:
    return parse_events(bytes.fromhex(hexstr))[0]


def test_tracker_escrow_stack_credit_once():
    t = NoteTracker(INR)
    out = t.on_poll(_ev("EF 00"))
    assert out.events == []
    out = t.on_poll(_ev("EF 06"))
    (escrow,) = out.events
    assert isinstance(escrow, NoteInEscrow) and escrow.paise == 50000
    assert t.should_hold()
    assert t.on_poll(_ev("EF 06")).events == []  # repeated, same note
    assert t.decide(Escrow.ACCEPT) and not t.should_hold()
    assert not t.decide(Escrow.ACCEPT)  # never twice
    assert t.on_poll(_ev("CC")).events == []
    out = t.on_poll(_ev("EE 06 EB"))
    assert out.events == [NoteStacked(escrow.note_id, 50000)]
    assert t.on_poll(_ev("")).events == []


def test_tracker_return_and_reject():
    t = NoteTracker(INR)
    (escrow,) = t.on_poll(_ev("EF 03")).events
    t.decide(Escrow.RETURN)
    assert t.on_poll(_ev("ED")).events == []
    assert t.on_poll(_ev("EC")).events == [NoteReturned(escrow.note_id, 5000)]
    out = t.on_poll(_ev("EF 00 ED EC"))
    assert out.rejects_to_explain == 1
    t.explain_rejects(out, essp_status.reject_reason(0x06))
    assert out.events == [NoteRejected("inhibited")]


def test_tracker_power_up_notes():
    t = NoteTracker(INR)
    (escrow,) = t.on_poll(_ev("EF 07")).events
    out = t.on_poll(_ev("F1 E2 07"))
    assert out.device_reset
    assert out.events == [NoteFoundAtPowerUp("stacker", 200000)]
    assert t.escrow is None
    (escrow,) = t.on_poll(_ev("EF 01")).events
    assert t.on_poll(_ev("F1 E1 01")).events == [NoteReturned(escrow.note_id, 1000)]
    assert t.on_poll(_ev("E1 02")).events == [NoteFoundAtPowerUp("validator", 2000)]


def test_tracker_credit_without_escrow_is_still_a_credit():
    t = NoteTracker(INR)
    (ev,) = t.on_poll(_ev("EE 04")).events
    assert isinstance(ev, NoteStacked) and ev.paise == 10000


def test_status_table():
    t = NoteTracker(INR)
    (ev,) = t.on_poll(_ev("E8")).events
    assert ev == StatusChanged(t.status) and t.status.state is DeviceState.ONLINE
    assert t.status.detail == ("disabled",)
    (ev,) = t.on_poll(_ev("EA")).events
    assert ev.status.state is DeviceState.HWERROR and "jam_safe" in ev.status.detail
    assert t.on_poll(_ev("EA")).events == []  # repeated while jammed: no new event
    (ev,) = t.on_poll(_ev("E7")).events
    assert ev.status.state is DeviceState.USER_ERROR and "stacker_full" in ev.status.detail
    (ev,) = t.on_poll(_ev("E3")).events
    assert ev.status.detail == ("cashbox_removed",)
    assert t.on_poll(_ev("")).events == []  # stays removed until replaced
    (ev,) = t.on_poll(_ev("E4")).events
    assert ev.status.state is DeviceState.ONLINE and ev.status.detail == ()
    (ev,) = t.on_poll(_ev("E6 02")).events
    assert ev.status.state is DeviceState.FRAUD
    (ev,) = t.on_poll(_ev("B6")).events
    assert ev.status.state is DeviceState.BUSY and ev.status.detail == ("initialising",)
    (ev,) = t.on_poll(_ev("E0")).events
    assert ev.status.detail == ("note_path_open",)


def test_reject_codes_map_to_shared_words():
    for code in range(0x20):
        assert essp_status.reject_reason(code) in REJECT_REASONS
    assert essp_status.reject_reason(0x06) == "inhibited"
    assert essp_status.reject_reason(None) == "unknown"
    assert essp_status.reject_reason(0xFE) == "unknown"
