"""CCNET framing, sans-I/O: CRC-16/KERMIT, frame encoding and a resynchronising decoder.

A CCNET frame is ``02 | ADR | LNG | DATA | CRC_L CRC_H``. LNG counts the whole frame (SYNC
through CRC), so the shortest frame (no data) is 4 + 2 = 5 bytes and a bare command is 6.
The CRC is CRC-16/KERMIT (reflected polynomial 0x8408, init 0, no final XOR) over SYNC through
the last data byte, sent low byte first.

Nothing here reads a port or sleeps: the decoder takes bytes in any chunking and hands back
complete frames whose CRC checked. Garbage, truncated frames and bad CRCs never raise; each is
counted and the decoder resynchronises on the next SYNC byte.
"""

from __future__ import annotations

from dataclasses import dataclass

SYNC = 0x02
ADDRESS_BILL_VALIDATOR = 0x03
HEADER_LEN = 3  # SYNC, ADR, LNG
CRC_LEN = 2
MIN_FRAME_LEN = HEADER_LEN + CRC_LEN  # a frame with no data at all
MAX_FRAME_LEN = 250  # longer frames use LNG = 0 and an extended length; we never need them


def _make_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _make_table()


def crc16_kermit(data: bytes) -> int:
    """CRC-16/KERMIT (the CCNET CRC) of `data`; crc16_kermit(b"123456789") == 0x2189."""
    crc = 0
    for byte in data:
        crc = (crc >> 8) ^ _CRC_TABLE[(crc ^ byte) & 0xFF]
    return crc


def encode_frame(data: bytes, address: int = ADDRESS_BILL_VALIDATOR) -> bytes:
    """One frame carrying `data` (a command byte and its parameters, or reply data)."""
    length = MIN_FRAME_LEN + len(data)
    if length > MAX_FRAME_LEN:
        raise ValueError(f"CCNET frame of {length} bytes needs the extended length form")
    body = bytes((SYNC, address & 0xFF, length)) + bytes(data)
    crc = crc16_kermit(body)
    return body + bytes((crc & 0xFF, crc >> 8))


@dataclass(frozen=True)
class Frame:
    """A frame that arrived with a good CRC."""

    address: int
    data: bytes

    @property
    def raw(self) -> bytes:
        return encode_frame(self.data, self.address)


class FrameDecoder:
    """Feed bytes in any chunking; get complete, CRC-checked frames back.

    Counters (for logs and tests): `crc_errors` (a whole frame arrived but its CRC was wrong),
    `garbage_bytes` (bytes skipped while looking for SYNC or after a bad length byte) and
    `errors` (every skip, whatever the cause: one per bad frame or run of garbage).
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.crc_errors = 0
        self.length_errors = 0
        self.garbage_bytes = 0
        self.errors = 0
        self.frames = 0
        self._in_garbage = False

    @property
    def pending(self) -> int:
        """Bytes held waiting for the rest of a frame (or after garbage)."""
        return len(self._buf)

    def reset(self, count: bool = True) -> bool:
        """Forget any partial frame (before sending a new message, or on a reply timeout).

        Returns True when something was dropped (a truncated frame: counted as an error unless
        `count` is False, e.g. the rest of a frame already counted as damaged).
        """
        dropped = bool(self._buf)
        if dropped and count:
            self.errors += 1
            self.garbage_bytes += len(self._buf)
        self._buf.clear()
        self._in_garbage = False
        return dropped

    def _skip(self, count: int, error: bool = False) -> None:
        """Drop `count` bytes; a new error unless already inside a counted run of noise."""
        self.garbage_bytes += count
        if error or not self._in_garbage:
            self.errors += 1
        self._in_garbage = True
        del self._buf[:count]

    def feed(self, data: bytes) -> list[Frame]:
        """Add received bytes; return every complete frame now available, oldest first."""
        self._buf.extend(data)
        frames: list[Frame] = []
        while self._buf:
            start = self._buf.find(SYNC)
            if start < 0:
                self._skip(len(self._buf))
                break
            if start > 0:
                self._skip(start)
            if len(self._buf) < HEADER_LEN:
                break
            length = self._buf[2]
            if length < MIN_FRAME_LEN or length > MAX_FRAME_LEN:
                # LNG = 0 (extended form) is never used by a bill validator: treat as noise.
                self.length_errors += 1
                self._skip(1, error=True)
                continue
            if len(self._buf) < length:
                break
            candidate = bytes(self._buf[:length])
            crc = crc16_kermit(candidate[:-CRC_LEN])
            if candidate[-2] != crc & 0xFF or candidate[-1] != crc >> 8:
                self.crc_errors += 1
                # resync on the next SYNC, which may lie inside this candidate
                self._skip(1, error=True)
                continue
            del self._buf[:length]
            self._in_garbage = False
            self.frames += 1
            frames.append(Frame(address=candidate[1], data=candidate[HEADER_LEN:-CRC_LEN]))
        return frames
