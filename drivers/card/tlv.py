"""BER-TLV as EMV uses it (EMV Book 3, Annex B), without I/O.

`parse()` turns bytes into a list of `Tlv` nodes (constructed tags parsed recursively) and never
raises anything but `TLVError` on malformed input. Error messages name the offset and the tag,
never the value bytes: a record's values may hold the PAN.

Rules applied:
- tag: one byte, or more when the low five bits of the first byte are all ones; each following
  byte has b8 set while another byte follows. At most `MAX_TAG_BYTES` bytes.
- length: short form (< 0x80) or long form 0x81..0x84 followed by that many bytes. The indefinite
  form (0x80) is not allowed in EMV.
- '00' and 'FF' bytes may appear before, between or after objects as padding; they are skipped.
- a constructed object (b6 of the first tag byte set) holds further objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

MAX_TAG_BYTES = 4
MAX_LENGTH_BYTES = 4
MAX_DEPTH = 16
MAX_DOL_LENGTH = 255  # a DOL entry's length is one byte (EMV Book 3, 5.4)


class TLVError(ValueError):
    """Malformed BER-TLV. `offset` is where in the input the problem was found."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(f"{message} (at offset {offset})")
        self.offset = offset


@dataclass(frozen=True)
class Tlv:
    tag: int
    value: bytes
    children: tuple[Tlv, ...] = field(default=(), repr=False)

    @property
    def constructed(self) -> bool:
        return is_constructed(self.tag)

    def find(self, tag: int) -> Tlv | None:
        """First object with `tag` at or below this one (depth first)."""
        return find(self.children, tag) if self.tag != tag else self

    def __repr__(self) -> str:  # never print values: they may be card data
        return f"Tlv(tag={self.tag:X}, len={len(self.value)}, children={len(self.children)})"


def is_constructed(tag: int) -> bool:
    first = tag
    while first > 0xFF:
        first >>= 8
    return bool(first & 0x20)


def _read_tag(data: bytes, pos: int) -> tuple[int, int]:
    start = pos
    first = data[pos]
    tag = first
    pos += 1
    if first & 0x1F == 0x1F:
        while True:
            if pos >= len(data):
                raise TLVError("tag truncated", start)
            byte = data[pos]
            tag = (tag << 8) | byte
            pos += 1
            if pos - start > MAX_TAG_BYTES:
                raise TLVError("tag longer than 4 bytes", start)
            if not byte & 0x80:
                break
    return tag, pos


def _read_length(data: bytes, pos: int, tag: int) -> tuple[int, int]:
    if pos >= len(data):
        raise TLVError(f"length missing for tag {tag:X}", pos)
    first = data[pos]
    pos += 1
    if first < 0x80:
        return first, pos
    count = first & 0x7F
    if count == 0:
        raise TLVError(f"indefinite length for tag {tag:X}", pos - 1)
    if count > MAX_LENGTH_BYTES:
        raise TLVError(f"length of tag {tag:X} uses {count} bytes", pos - 1)
    if pos + count > len(data):
        raise TLVError(f"length of tag {tag:X} truncated", pos - 1)
    return int.from_bytes(data[pos : pos + count], "big"), pos + count


def _parse(data: bytes, base: int, depth: int) -> tuple[Tlv, ...]:
    if depth > MAX_DEPTH:
        raise TLVError("templates nested too deep", base)
    out: list[Tlv] = []
    pos = 0
    while pos < len(data):
        if data[pos] in (0x00, 0xFF):  # padding between objects
            pos += 1
            continue
        tag_at = pos
        tag, pos = _read_tag(data, pos)
        length, pos = _read_length(data, pos, tag)
        if pos + length > len(data):
            raise TLVError(
                f"value of tag {tag:X} needs {length} bytes, {len(data) - pos} left", base + tag_at
            )
        value = bytes(data[pos : pos + length])
        children = _parse(value, base + pos, depth + 1) if is_constructed(tag) else ()
        out.append(Tlv(tag, value, children))
        pos += length
    return tuple(out)


def parse(data: bytes | bytearray) -> tuple[Tlv, ...]:
    """All top-level objects in `data`, constructed ones with their children. Raises TLVError."""
    if not isinstance(data, bytes | bytearray):
        raise TLVError(f"expected bytes, got {type(data).__name__}")
    return _parse(bytes(data), 0, 0)


def walk(nodes: Iterable[Tlv]) -> Iterator[Tlv]:
    """Every object, depth first."""
    for node in nodes:
        yield node
        yield from walk(node.children)


def find(nodes: Iterable[Tlv], tag: int) -> Tlv | None:
    """First object with `tag` anywhere in `nodes` (depth first), or None."""
    for node in walk(nodes):
        if node.tag == tag:
            return node
    return None


def find_value(nodes: Iterable[Tlv], tag: int) -> bytes | None:
    node = find(nodes, tag)
    return None if node is None else node.value


def parse_dol(data: bytes | bytearray) -> tuple[tuple[int, int], ...]:
    """A Data Object List (PDOL, CDOL1...): tag and length pairs, no values. Raises TLVError.

    A length above `MAX_DOL_LENGTH` is refused: filling it would build a value of that size.
    """
    if not isinstance(data, bytes | bytearray):
        raise TLVError(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    out: list[tuple[int, int]] = []
    pos = 0
    while pos < len(data):
        tag_at = pos
        tag, pos = _read_tag(data, pos)
        length, pos = _read_length(data, pos, tag)
        if length > MAX_DOL_LENGTH:
            raise TLVError(f"DOL entry for tag {tag:X} asks for {length} bytes", tag_at)
        out.append((tag, length))
    return tuple(out)


def tag_bytes(tag: int) -> bytes:
    if tag < 0:
        raise TLVError("negative tag")
    return tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")


def encode_length(length: int) -> bytes:
    if length < 0:
        raise TLVError("negative length")
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    if len(body) > MAX_LENGTH_BYTES:
        raise TLVError("length too large")
    return bytes([0x80 | len(body)]) + body


def encode(tag: int, value: bytes) -> bytes:
    """One object: tag, length (shortest form), value."""
    return tag_bytes(tag) + encode_length(len(value)) + bytes(value)
