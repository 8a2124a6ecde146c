"""Fuzz: what a card says back (APDU responses, BER-TLV records, the EMV and engineer flows).

tests/test_card_tlv.py already fuzzes `tlv.parse` / `parse_dol` on their own; this module fuzzes
the layers above them, fed by a card that answers anything:
- `apdu.Response.from_bytes`, `describe_sw`, `tries_left` and the 61xx / 6Cxx `exchange` loop;
- `EmvSession` (application selection, GPO / AFL, record parsing, PIN, GENERATE AC) against the
  simulator's valid card with every answer possibly mutated, and against a card that answers with
  random, EMV-shaped TLV;
- the engineer card's id / challenge answers.
Property: the result is a value or a `CardError` (the documented error of drivers.card), never
another exception; nothing leaks a full PAN; garbage never verifies a PIN or an engineer.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from drivers.card import CardDataError, CardError, EmvCard, PinResult
from drivers.card.apdu import (
    CID_NAMES,
    Command,
    Response,
    describe_sw,
    exchange,
    select_by_name,
    tries_left,
)
from drivers.card.emv import MASTERCARD, RUPAY, VISA, EmvSession, fill_dol
from drivers.card.engineer import ENGINEER_AID, EngineerCard, check, expected_mac
from drivers.card.tlv import TLVError, encode, parse_dol
from sim.devices.card import TEST_PAN, EmvProfile, VirtualCard

FUZZ = settings(
    max_examples=150,
    deadline=3000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MAX_APDUS = 120  # after this many commands the fake card goes silent (a CardDataError)
PIN = "1234"


# ---------------------------------------------------------------- APDU layer


@settings(max_examples=500, deadline=1000)
@given(st.binary(max_size=300))
def test_response_from_any_bytes(raw) -> None:
    try:
        resp = Response.from_bytes(raw)
    except CardDataError:
        assert len(raw) < 2
        return
    assert resp.data + resp.sw.to_bytes(2, "big") == raw
    assert resp.ok == (raw[-2:] == b"\x90\x00")
    assert repr(resp) == f"Response(len={len(raw) - 2}, sw={resp.sw:04X})"  # data never shown
    assert isinstance(resp.word, str) and resp.word


def test_every_status_word_has_a_word() -> None:
    for sw in range(0x10000):
        word = describe_sw(sw)
        assert re.fullmatch(r"[a-z0-9_]+|sw_[0-9A-F]{4}", word), (sw, word)
        left = tries_left(sw)
        assert left is None or (sw >> 4 == 0x63C and 0 <= left <= 15)


@settings(max_examples=400, deadline=1000)
@given(st.lists(st.binary(max_size=40), max_size=50), st.data())
@example([b"\x61\x00"] * 50, None)  # endless 61xx: refused, not looped
@example([b"\x6c\x05", b"\x6c\x05", b"\x90\x00"], None)
def test_exchange_with_any_answers(answers, data) -> None:
    sent: list[bytes] = []

    def transmit(apdu: bytes) -> bytes:
        sent.append(apdu)
        if len(sent) > len(answers):
            return data.draw(st.binary(max_size=40)) if data is not None else b"\x90\x00"
        return answers[len(sent) - 1]

    try:
        resp = exchange(transmit, select_by_name(RUPAY))
    except CardDataError:
        pass
    else:
        assert isinstance(resp, Response)
        assert resp.sw >> 8 != 0x61
    assert len(sent) <= 2 + 32
    for apdu in sent:  # everything we sent is a well-formed short APDU
        assert 4 <= len(apdu) <= 4 + 1 + 255 + 1


# ---------------------------------------------------------------- a card that answers anything

SW_CHOICES = st.one_of(
    st.just(0x9000),
    st.sampled_from([0x6A82, 0x6A83, 0x6A81, 0x6283, 0x6983, 0x6984, 0x6985, 0x6D00, 0x63C0]),
    st.integers(0x6100, 0x61FF),
    st.integers(0x6C00, 0x6CFF),
    st.integers(0x63C0, 0x63CF),
    st.integers(0, 0xFFFF),
)


def _sw(word: int) -> bytes:
    return word.to_bytes(2, "big")


@st.composite
def dol_bytes(draw) -> bytes:
    tags = st.sampled_from([0x9F02, 0x9F03, 0x9F1A, 0x95, 0x5F2A, 0x9A, 0x9C, 0x9F37, 0x9F35,
                            0x9F34, 0x9F66, 0x9F40, 0xDF01, 0x01, 0x9F7F])  # fmt: skip
    lengths = st.one_of(st.integers(0, 8), st.integers(0, 0x1FF))
    entries = draw(st.lists(st.tuples(tags, lengths), max_size=12))
    out = b""
    for tag, length in entries:
        # a DOL entry is a tag and a BER length, no value; reuse encode() for the length form
        out += encode(tag, bytes(length))[: -length or None]
    return out


def _aid():
    return st.one_of(
        st.sampled_from([RUPAY, VISA, MASTERCARD, ENGINEER_AID]),
        st.tuples(st.sampled_from([RUPAY, VISA, MASTERCARD]), st.binary(max_size=300)).map(
            lambda t: t[0] + t[1]
        ),
        st.binary(max_size=20),
    )


def _bcd_digits(min_size: int, max_size: int):
    return st.text("0123456789", min_size=min_size, max_size=max_size).map(
        lambda d: bytes.fromhex(d + ("F" if len(d) % 2 else ""))
    )


VALUES = {
    0x4F: _aid(),
    0x84: _aid(),
    0x50: st.binary(max_size=20),
    0x87: st.binary(max_size=2),
    0x88: st.one_of(st.integers(0, 40).map(lambda n: bytes([n])), st.binary(max_size=3)),
    0x9F38: dol_bytes(),
    0x8C: dol_bytes(),
    0x5A: st.one_of(_bcd_digits(0, 22), st.binary(max_size=12)),
    0x57: st.one_of(
        st.tuples(st.text("0123456789", max_size=20), st.text("0123456789DF", max_size=20)).map(
            lambda t: bytes.fromhex(((t[0] + "D" + t[1]) + "F")[: (len(t[0]) + len(t[1]) + 2) & ~1])
        ),
        st.binary(max_size=20),
    ),
    0x5F24: st.one_of(_bcd_digits(6, 6), st.binary(max_size=4)),
    0x5F20: st.binary(max_size=30),
    0x94: st.one_of(
        st.lists(
            st.tuples(st.integers(0, 32), st.integers(0, 4), st.integers(0, 4), st.integers(0, 3)),
            max_size=4,
        ).map(lambda es: b"".join(bytes([s << 3 & 0xFF, a, b, c]) for s, a, b, c in es)),
        st.binary(max_size=9),
    ),
    0x82: st.binary(max_size=3),
    0x9F17: st.binary(max_size=2),
    0x9F27: st.binary(max_size=2),
    0x9F36: st.binary(max_size=3),
    0x9F26: st.binary(max_size=9),
    0x9F10: st.binary(max_size=40),
    0x80: st.binary(max_size=40),
    0xDF01: st.one_of(st.text(max_size=20).map(lambda t: t.encode()), st.binary(max_size=20)),
}
CONSTRUCTED = {
    0x6F: [0x84, 0xA5],
    0xA5: [0x88, 0x50, 0x9F38, 0xBF0C, 0x87],
    0xBF0C: [0x61],
    0x61: [0x4F, 0x50, 0x87],
    0x70: [0x61, 0x5A, 0x57, 0x5F24, 0x5F20, 0x8C, 0x9F0B],
    0x77: [0x82, 0x94, 0x9F27, 0x9F36, 0x9F26, 0x9F10],
}


def tlv_tree(tag: int, depth: int = 0):
    if tag in CONSTRUCTED and depth < 4:
        kids = st.lists(
            st.sampled_from(CONSTRUCTED[tag]).flatmap(lambda t: tlv_tree(t, depth + 1)),
            max_size=5,
        )
        return kids.map(lambda ks: encode(tag, b"".join(ks)))
    return VALUES.get(tag, st.binary(max_size=16)).map(lambda v: encode(tag, v))


TOP_BY_INS = {
    0xA4: [0x6F],  # SELECT: an FCI
    0xB2: [0x70],  # READ RECORD
    0xA8: [0x80, 0x77],  # GPO: format 1 or 2
    0xCA: [0x9F17, 0xDF01],  # GET DATA
    0xAE: [0x80, 0x77],  # GENERATE AC
    0x88: [0x80],  # INTERNAL AUTHENTICATE (MAC as raw data)
    0xC0: [0x70, 0x77, 0x6F],
}


def answer_strategy(ins: int):
    structured = st.tuples(
        st.sampled_from(TOP_BY_INS.get(ins, [0x70])).flatmap(tlv_tree), SW_CHOICES
    ).map(lambda t: t[0] + _sw(t[1]))
    return st.one_of(structured, structured, st.binary(max_size=60))


MUTATIONS = st.sampled_from(["keep"] * 6 + ["sw", "random", "flip", "truncate", "append", "tlv"])


class FuzzCard:
    """The simulator's card (valid answers) with any answer replaced or damaged by hypothesis."""

    def __init__(self, data, card: VirtualCard | None, mutate: bool = True) -> None:
        self.data = data
        self.card = card
        self.mutate = mutate
        self.sent: list[bytes] = []
        self.answers: list[bytes] = []

    def __call__(self, apdu: bytes) -> bytes:
        assert 4 <= len(apdu) <= 261, "host sent a malformed APDU"
        self.sent.append(apdu)
        if len(self.sent) > MAX_APDUS:
            return b""  # the card went quiet: fewer than 2 bytes is a CardDataError
        ins = apdu[1]
        answer = self.card.process(apdu) if self.card is not None else b"\x6d\x00"
        how = self.data.draw(MUTATIONS) if (self.mutate or self.card is None) else "keep"
        if self.card is None:
            how = "tlv"
        if how == "sw" and len(answer) >= 2:
            answer = answer[:-2] + _sw(self.data.draw(SW_CHOICES))
        elif how == "random":
            answer = self.data.draw(st.binary(max_size=60))
        elif how == "flip" and answer:
            pos = self.data.draw(st.integers(0, len(answer) - 1))
            answer = answer[:pos] + bytes([self.data.draw(st.integers(0, 255))]) + answer[pos + 1 :]
        elif how == "truncate":
            answer = answer[: self.data.draw(st.integers(0, len(answer)))]
        elif how == "append":
            answer = answer[:-2] + self.data.draw(st.binary(max_size=20)) + answer[-2:]
        elif how == "tlv":
            answer = self.data.draw(answer_strategy(ins))
        self.answers.append(answer)
        return answer

    def verify_answers(self) -> list[bytes]:
        return [a for s, a in zip(self.sent, self.answers, strict=False) if s[1] == 0x20]


def check_card(card: EmvCard) -> None:
    assert isinstance(card, EmvCard)
    digits = card.pan_masked.replace("*", "")
    assert re.fullmatch(r"[0-9]{6}\*+[0-9]{4}|\**", card.pan_masked), card.pan_masked
    assert len(digits) <= 10
    assert re.fullmatch(r"[0-9]{2}(0[1-9]|1[0-2])", card.expiry), card.expiry
    assert card.name.isprintable() or card.name == ""
    assert re.fullmatch(r"[0-9A-F]+", card.aid)


def run_emv(fake: FuzzCard) -> None:
    session = EmvSession(fake)
    try:
        card = session.read()
    except CardError:
        return
    check_card(card)
    assert TEST_PAN not in repr(card)
    try:
        result = session.verify_pin(PIN)
    except CardError:
        result = None
    if result is not None:
        assert isinstance(result, PinResult)
        if result.ok:  # only when the card's answer to VERIFY really was 9000
            assert any(a[-2:] == b"\x90\x00" for a in fake.verify_answers())
        if result.tries_left is not None:
            assert 0 <= result.tries_left <= 255
    try:
        ac = session.generate_ac(64000)
    except CardError:
        return
    assert ac["cryptogram_type"] in CID_NAMES.values()
    assert re.fullmatch(r"[0-9A-F]{16}", ac["cryptogram"])
    assert 0 <= ac["atc"] <= 0xFFFF
    assert ac["amount_paise"] == 64000 and ac["pan_masked"] == card.pan_masked
    assert TEST_PAN not in repr(ac)


@FUZZ
@given(st.data(), st.sampled_from(["pse", "ppse", "none"]))
def test_emv_flow_with_damaged_answers(data, directory) -> None:
    run_emv(FuzzCard(data, VirtualCard("emv", EmvProfile(directory=directory))))


def test_a_verify_answered_61xx_is_not_a_right_pin() -> None:
    """Found by the fuzz run: VERIFY answered "61 00" (more data) and the GET RESPONSE "90 00"
    made a PIN the card never accepted count as right. Only VERIFY's own word counts."""
    card = VirtualCard("emv", EmvProfile(directory="pse"))

    def transmit(apdu: bytes) -> bytes:
        if apdu[1] == 0x20:  # VERIFY
            return b"\x61\x00"
        if apdu[1] == 0xC0:  # GET RESPONSE
            return b"\x90\x00"
        return card.process(apdu)

    session = EmvSession(transmit)
    session.read()
    with pytest.raises(CardError):
        result = session.verify_pin(PIN)
        assert not result.ok  # never reached when it raises; fails the test if it says ok


@FUZZ
@given(st.data())
def test_emv_flow_with_random_emv_shaped_answers(data) -> None:
    run_emv(FuzzCard(data, None))


def test_emv_flow_with_the_valid_card_still_reads() -> None:
    """The fuzz card with no mutation is the simulator's card: the flow works end to end."""

    class NoDraw:
        def draw(self, strategy):  # pragma: no cover - never called with mutate=False
            raise AssertionError

    fake = FuzzCard(NoDraw(), VirtualCard("emv", EmvProfile()), mutate=False)
    session = EmvSession(fake)
    check_card(session.read())
    assert session.verify_pin(PIN).ok
    assert session.generate_ac(64000)["cryptogram_type"] == "ARQC"


def scripted(*answers: bytes):
    """A card that gives these answers in order, then 6D00 to anything."""
    queue = list(answers)
    return lambda apdu: queue.pop(0) if queue else b"\x6d\x00"


def test_pdol_bigger_than_a_command_is_card_data_error() -> None:
    """Found by the fuzz above: a PDOL asking 2 x 200 bytes made GPO raise ValueError."""
    fci = encode(0x6F, encode(0x84, RUPAY) + encode(0xA5, encode(0x9F38, bytes.fromhex("9F0281C89F0381C8"))))  # noqa: E501  # fmt: skip
    card = scripted(b"\x6a\x82", b"\x6a\x82", fci + b"\x90\x00")
    with pytest.raises(CardDataError, match="asks for"):
        EmvSession(card).read()


def test_overlong_aid_in_the_directory_is_skipped() -> None:
    """Found by the fuzz above: a 300-byte AID starting with RuPay's was SELECTed (ValueError)."""
    long_aid = RUPAY + bytes(300)
    fci = encode(0x6F, encode(0x84, b"2PAY.SYS.DDF01") + encode(0xA5, encode(0xBF0C, encode(0x61, encode(0x4F, long_aid)))))  # noqa: E501  # fmt: skip
    sent: list[bytes] = []
    answers = [b"\x6a\x82", fci + b"\x90\x00"]

    def card(apdu: bytes) -> bytes:
        sent.append(apdu)
        return answers.pop(0) if answers else b"\x6a\x82"

    with pytest.raises(CardError):
        EmvSession(card).read()
    # fell back to the list of AIDs: SELECTed each of ours, never the long one
    assert all(len(a) <= 4 + 1 + 16 + 1 for a in sent)


# ---------------------------------------------------------------- DOLs as the card sends them


@FUZZ
@given(st.binary(max_size=60))
@example(bytes.fromhex("9F0284FFFFFFFF"))  # a 4 GB amount field: refused, not allocated
@example(bytes.fromhex("9F0281FF9F0381FF"))  # 510 bytes: more than one APDU can carry
def test_dol_lengths_are_bounded(raw) -> None:
    try:
        dol = parse_dol(raw)
    except TLVError:
        return
    assert all(0 <= length <= 255 for _, length in dol)
    assert len(fill_dol(dol, {})) == sum(length for _, length in dol)


# ---------------------------------------------------------------- the engineer card

KEY = bytes(range(32))
NONCE = bytes(range(16))


@FUZZ
@given(st.data())
def test_engineer_card_with_any_answers(data) -> None:
    card = VirtualCard("engineer", engineer_id="ENG-7", engineer_key=KEY)
    fake = FuzzCard(data, card)
    try:
        engineer_id, mac = EngineerCard(fake).run(NONCE)
    except CardError:
        return
    assert isinstance(engineer_id, str) and engineer_id and engineer_id.isprintable()
    auth = check(engineer_id, NONCE, mac, lambda eid: KEY if eid == "ENG-7" else None)
    if auth.ok:  # only a card that really holds the key (the unmutated answer) gets in
        assert engineer_id == "ENG-7" and mac == expected_mac(KEY, NONCE)


@pytest.mark.parametrize("le", [None, 0, 255, 256])
def test_commands_we_build_are_short_apdus(le) -> None:
    raw = Command(0x00, 0xB2, 1, 0x0C, b"\x01" * 255, le).to_bytes()
    assert len(raw) == 4 + 1 + 255 + (le is not None)
