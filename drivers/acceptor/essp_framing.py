"""ITL SSP framing, sans-I/O: CRC-16, byte stuffing, packet encoder and a stream decoder.

Frame on the wire: ``7F | SEQ/ID | LEN | DATA... | CRC_L | CRC_H``.

* SEQ/ID: bit 7 is the sequence flag, bits 0-6 the slave address (a note validator is 0x00).
* LEN counts DATA only.
* CRC-16, polynomial 0x8005, seed 0xFFFF, MSB first (not reflected), over SEQ/ID, LEN and DATA,
  sent low byte first. It is computed on the unstuffed bytes.
* Stuffing: every 0x7F after the STX (CRC bytes included) is sent twice; the receiver turns each
  ``7F 7F`` back into one 0x7F. A lone 0x7F therefore always starts a new frame.

Nothing here reads a port or sleeps. `PacketDecoder.feed()` accepts bytes in any chunking and
returns only complete frames whose CRC is right; anything else is skipped and counted.
"""

from __future__ import annotations

from dataclasses import dataclass

STX = 0x7F
SEQ_FLAG = 0x80
ADDRESS_MASK = 0x7F
CRC_SEED = 0xFFFF
CRC_POLY = 0x8005


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ CRC_POLY) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
        table.append(crc)
    return tuple(table)


_TABLE = _crc_table()


def crc16(data: bytes, seed: int = CRC_SEED) -> int:
    """SSP CRC-16 (poly 0x8005, not reflected) of `data`, as an int."""
    crc = seed
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _TABLE[((crc >> 8) ^ byte) & 0xFF]
    return crc


def crc_bytes(data: bytes) -> bytes:
    """The CRC as it is sent: low byte first."""
    return crc16(data).to_bytes(2, "little")


def stuff(body: bytes) -> bytes:
    """Double every 0x7F (body = everything after the STX)."""
    return body.replace(b"\x7f", b"\x7f\x7f")


@dataclass(frozen=True)
class Packet:
    """A received frame with a good CRC."""

    seq: bool  # the sequence flag (bit 7 of SEQ/ID)
    address: int
    data: bytes


def encode_packet(seq_flag: bool | int, address: int, data: bytes) -> bytes:
    """The stuffed bytes of one frame ready for the wire."""
    if not 0 <= address <= ADDRESS_MASK:
        raise ValueError(f"SSP address {address} out of range 0..127")
    if not 1 <= len(data) <= 255:
        raise ValueError(f"SSP data length {len(data)} out of range 1..255")
    seq_id = (SEQ_FLAG if seq_flag else 0) | address
    body = bytes((seq_id, len(data))) + bytes(data)
    return bytes((STX,)) + stuff(body + crc_bytes(body))


class PacketDecoder:
    """Byte stream -> valid frames. Never raises on input; bad bytes are counted and skipped.

    Counters: `bad_crc` (complete frame, wrong CRC), `garbage` (bytes outside any frame),
    `truncated` (a frame cut short by a new STX).
    """

    def __init__(self) -> None:
        self._body = bytearray()  # unstuffed bytes after the STX of the frame being read
        self._in_frame = False
        self._pending_7f = False  # inside a frame, the last byte was a 0x7F awaiting its pair
        self.bad_crc = 0
        self.garbage = 0
        self.truncated = 0
        self.good = 0

    def reset(self) -> None:
        self._body.clear()
        self._in_frame = False
        self._pending_7f = False

    def feed(self, data: bytes) -> list[Packet]:
        packets: list[Packet] = []
        for byte in data:
            if not self._in_frame:
                if byte == STX:
                    self._start()
                else:
                    self.garbage += 1
                continue
            if self._pending_7f:
                self._pending_7f = False
                if byte == STX:
                    self._add(STX, packets)
                else:
                    # A lone 0x7F: the frame we were reading was cut short; this is a new STX
                    # and `byte` is the first byte of the new frame.
                    self.truncated += 1
                    self._start()
                    self._add(byte, packets)
                continue
            if byte == STX:
                self._pending_7f = True
                continue
            self._add(byte, packets)
        return packets

    def _start(self) -> None:
        self._body.clear()
        self._in_frame = True
        self._pending_7f = False

    def _add(self, byte: int, packets: list[Packet]) -> None:
        self._body.append(byte)
        body = self._body
        if len(body) >= 2 and len(body) == body[1] + 4:
            frame = bytes(body)
            self._in_frame = False
            self._body = bytearray()
            if body[1] == 0:
                self.bad_crc += 1
                return
            if crc16(frame[:-2]) != int.from_bytes(frame[-2:], "little"):
                self.bad_crc += 1
                return
            self.good += 1
            packets.append(Packet(bool(frame[0] & SEQ_FLAG), frame[0] & ADDRESS_MASK, frame[2:-2]))
