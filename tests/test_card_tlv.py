"""BER-TLV parser (drivers/card/tlv.py): EMV examples, malformed input, and hypothesis."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.card import tlv
from drivers.card.tlv import TLVError, encode, find, find_value, parse, parse_dol


def test_primitive_and_constructed():
    # 6F { 84 "1PAY.SYS.DDF01", A5 { 88 01 01, 5F2D "en" } }
    fci = encode(0x6F, encode(0x84, b"1PAY.SYS.DDF01") + encode(0xA5, bytes.fromhex("880101") + encode(0x5F2D, b"en")))  # noqa: E501  # fmt: skip
    (top,) = parse(fci)
    assert top.tag == 0x6F and top.constructed
    assert [c.tag for c in top.children] == [0x84, 0xA5]
    assert find_value([top], 0x88) == b"\x01"
    assert find_value([top], 0x5F2D) == b"en"
    assert top.find(0xA5).children[1].tag == 0x5F2D
    assert find([top], 0x9F38) is None


def test_multi_byte_tags_and_long_lengths():
    value = bytes(range(200))
    raw = encode(0xBF0C, encode(0x9F4D, value))
    assert raw[:3] == bytes.fromhex("BF0C81")  # 203 bytes -> long form, one length byte
    (top,) = parse(raw)
    assert top.tag == 0xBF0C and top.children[0].tag == 0x9F4D
    assert top.children[0].value == value
    big = encode(0x5A, bytes(300))
    assert big[:4] == bytes.fromhex("5A82012C")
    assert parse(big)[0].value == bytes(300)


def test_padding_between_objects_is_skipped():
    raw = (
        b"\x00\x00"
        + encode(0x5A, b"\x12\x34")
        + b"\xff"
        + encode(0x5F24, b"\x28\x12\x31")
        + b"\x00"
    )
    assert [n.tag for n in parse(raw)] == [0x5A, 0x5F24]


def test_dol():
    raw = bytes.fromhex("9F0206 9F0306 9F1A02 9505 5F2A02 9A03 9C01 9F3704".replace(" ", ""))
    assert parse_dol(raw) == (
        (0x9F02, 6), (0x9F03, 6), (0x9F1A, 2), (0x95, 5),
        (0x5F2A, 2), (0x9A, 3), (0x9C, 1), (0x9F37, 4),
    )  # fmt: skip
    assert parse_dol(b"") == ()
    with pytest.raises(TLVError):
        parse_dol(bytes.fromhex("9F"))


@pytest.mark.parametrize(
    "raw, words",
    [
        (bytes.fromhex("5A"), "length missing"),
        (bytes.fromhex("5A05 1234"), "needs 5 bytes"),
        (bytes.fromhex("9F"), "tag truncated"),
        (bytes.fromhex("9F8181818101 00"), "longer than 4"),
        (bytes.fromhex("5A80 1234 0000"), "indefinite"),
        (bytes.fromhex("5A85 0000000001 00"), "uses 5 bytes"),
        (bytes.fromhex("5A82 01"), "truncated"),
        (bytes.fromhex("7004 5F2040 53"), "needs 64 bytes"),  # a lie inside a template
    ],
)
def test_malformed_raises_tlverror_naming_the_problem(raw, words):
    with pytest.raises(TLVError, match=words):
        parse(raw)


def test_error_messages_never_carry_values():
    pan = bytes.fromhex("6521501234567890")
    raw = encode(0x70, encode(0x5A, pan)[:-1])  # the PAN object is one byte short
    with pytest.raises(TLVError) as info:
        parse(raw)
    assert "6521501234567890" not in str(info.value) and "5A" in str(info.value)
    assert "6521" not in repr(parse(encode(0x5A, pan))[0])


def test_nesting_depth_is_bounded():
    raw = b"\x01\x00"
    for _ in range(40):
        raw = encode(0x70, raw)
    with pytest.raises(TLVError, match="nested too deep"):
        parse(raw)


def test_non_bytes_input():
    with pytest.raises(TLVError):
        parse("5A0112")  # type: ignore[arg-type]


@settings(max_examples=3000, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_raise_anything_but_tlverror(data):
    try:
        nodes = parse(data)
    except TLVError:
        return
    for node in tlv.walk(nodes):  # what parsed is consistent
        assert isinstance(node.value, bytes)
    try:
        parse_dol(data)
    except TLVError:
        pass


# A strategy for well-formed trees: (tag, value) or (tag, [children]).
_primitive_tags = st.sampled_from([0x4F, 0x50, 0x57, 0x5A, 0x87, 0x5F20, 0x5F24, 0x9F26, 0x9F4D])
_constructed_tags = st.sampled_from([0x61, 0x6F, 0x70, 0x77, 0xA5, 0xBF0C])
_trees = st.recursive(
    st.tuples(_primitive_tags, st.binary(max_size=140)),
    lambda kids: st.tuples(_constructed_tags, st.lists(kids, min_size=1, max_size=4)),
    max_leaves=12,
)


def _encode_tree(node) -> bytes:
    tag, body = node
    if isinstance(body, list):
        return encode(tag, b"".join(_encode_tree(k) for k in body))
    return encode(tag, body)


def _shape(node):
    if node.constructed:
        return (node.tag, [_shape(c) for c in node.children])
    return (node.tag, node.value)


@settings(max_examples=400, deadline=None)
@given(st.lists(_trees, max_size=4))
def test_encode_then_parse_round_trips(trees):
    raw = b"".join(_encode_tree(t) for t in trees)
    assert [_shape(n) for n in parse(raw)] == [(t[0], _norm(t[1])) for t in trees]


def _norm(body):
    if isinstance(body, list):
        return [(k[0], _norm(k[1])) for k in body]
    return body


@settings(max_examples=500, deadline=None)
@given(st.lists(_trees, min_size=1, max_size=3), st.data())
def test_truncated_or_corrupted_encodings_raise_only_tlverror(trees, data):
    raw = bytearray(b"".join(_encode_tree(t) for t in trees))
    cut = data.draw(st.integers(0, len(raw)))
    flips = data.draw(
        st.lists(st.tuples(st.integers(0, len(raw) - 1), st.integers(0, 255)), max_size=3)
    )
    for pos, byte in flips:
        raw[pos] = byte
    try:
        parse(bytes(raw[:cut]))
    except TLVError:
        pass
