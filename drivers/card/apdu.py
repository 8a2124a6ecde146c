"""ISO 7816-4 command APDUs, status words, and the T=0 exchange rules (61xx, 6Cxx).

Sans-I/O: commands become bytes here; `exchange()` drives any blocking
`transmit(bytes) -> bytes` callable (the response data followed by SW1 SW2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from drivers.card import CardDataError
from drivers.card.tlv import encode

Transmit = Callable[[bytes], bytes]

# ---------------------------------------------------------------- status words

SW_OK = 0x9000

# One table from raw status words to a word the rest of the driver (and a log line) uses.
STATUS_WORDS: dict[int, str] = {
    0x9000: "ok",
    0x6283: "selected_file_invalidated",
    0x6700: "wrong_length",
    0x6881: "logical_channel_not_supported",
    0x6882: "secure_messaging_not_supported",
    0x6982: "security_status_not_satisfied",
    0x6983: "authentication_method_blocked",
    0x6984: "reference_data_invalidated",
    0x6985: "conditions_of_use_not_satisfied",
    0x6986: "command_not_allowed",
    0x6A80: "incorrect_data",
    0x6A81: "function_not_supported",
    0x6A82: "file_not_found",
    0x6A83: "record_not_found",
    0x6A86: "incorrect_p1_p2",
    0x6A88: "referenced_data_not_found",
    0x6B00: "wrong_p1_p2",
    0x6D00: "ins_not_supported",
    0x6E00: "cla_not_supported",
    0x6F00: "no_precise_diagnosis",
}


def describe_sw(sw: int) -> str:
    """A word for a status word, e.g. 'ok', 'file_not_found', 'pin_tries_left_2'."""
    if sw in STATUS_WORDS:
        return STATUS_WORDS[sw]
    sw1, sw2 = sw >> 8, sw & 0xFF
    if sw1 == 0x61:
        return f"more_data_{sw2}"
    if sw1 == 0x6C:
        return f"wrong_le_use_{sw2}"
    if sw1 == 0x63 and sw2 & 0xF0 == 0xC0:
        return f"verify_failed_tries_left_{sw2 & 0x0F}"
    return f"sw_{sw:04X}"


def tries_left(sw: int) -> int | None:
    """The retry counter in a 63Cx answer, else None."""
    if sw >> 4 == 0x63C:
        return sw & 0x0F
    return None


@dataclass(frozen=True)
class Response:
    data: bytes
    sw: int

    @property
    def ok(self) -> bool:
        return self.sw == SW_OK

    @property
    def word(self) -> str:
        return describe_sw(self.sw)

    def __repr__(self) -> str:  # data may be card data: never shown
        return f"Response(len={len(self.data)}, sw={self.sw:04X})"

    @classmethod
    def from_bytes(cls, raw: bytes) -> Response:
        if len(raw) < 2:
            raise CardDataError(f"card answer of {len(raw)} bytes has no status word")
        return cls(bytes(raw[:-2]), (raw[-2] << 8) | raw[-1])


# ---------------------------------------------------------------- commands


@dataclass(frozen=True)
class Command:
    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None  # None: no Le; 0..256 (256 sent as 00)

    def to_bytes(self) -> bytes:
        """Short-form APDU (Lc <= 255, Le <= 256)."""
        for name in ("cla", "ins", "p1", "p2"):
            if not 0 <= getattr(self, name) <= 0xFF:
                raise ValueError(f"APDU {name} out of range")
        if len(self.data) > 255:
            raise ValueError("APDU data longer than 255 bytes (extended length not supported)")
        out = bytes([self.cla, self.ins, self.p1, self.p2])
        if self.data:
            out += bytes([len(self.data)]) + bytes(self.data)
        if self.le is not None:
            if not 0 <= self.le <= 256:
                raise ValueError("APDU Le out of range")
            out += bytes([self.le & 0xFF])
        return out

    def with_le(self, le: int) -> Command:
        return Command(self.cla, self.ins, self.p1, self.p2, self.data, le)

    def __repr__(self) -> str:  # VERIFY carries the PIN: never show data
        head = f"{self.cla:02X} {self.ins:02X} {self.p1:02X} {self.p2:02X}"
        return f"Command({head}, lc={len(self.data)})"


def select_by_name(name: bytes, first: bool = True) -> Command:
    """SELECT by DF name (AID or '1PAY.SYS.DDF01'); first or next occurrence."""
    return Command(0x00, 0xA4, 0x04, 0x00 if first else 0x02, bytes(name), 0)


def read_record(sfi: int, record: int) -> Command:
    if not 1 <= sfi <= 30 or not 1 <= record <= 0xFF:
        raise ValueError("READ RECORD: SFI 1..30, record 1..255")
    return Command(0x00, 0xB2, record, (sfi << 3) | 0x04, b"", 0)


def get_processing_options(pdol_data: bytes) -> Command:
    return Command(0x80, 0xA8, 0x00, 0x00, encode(0x83, pdol_data), 0)


def get_data(tag: int, cla: int = 0x80) -> Command:
    return Command(cla, 0xCA, (tag >> 8) & 0xFF, tag & 0xFF, b"", 0)


def verify_plaintext_pin(pin_block: bytes) -> Command:
    """VERIFY, P2 = 80: plaintext offline PIN (EMV Book 3, 6.5.12)."""
    return Command(0x00, 0x20, 0x00, 0x80, bytes(pin_block))


# GENERATE AC reference control parameter (P1, b8-b7)
AC_AAC = 0x00
AC_TC = 0x40
AC_ARQC = 0x80
CID_NAMES = {0x00: "AAC", 0x40: "TC", 0x80: "ARQC", 0xC0: "RFU"}


def generate_ac(reference: int, cdol_data: bytes) -> Command:
    return Command(0x80, 0xAE, reference, 0x00, bytes(cdol_data), 0)


def internal_authenticate(challenge: bytes) -> Command:
    return Command(0x00, 0x88, 0x00, 0x00, bytes(challenge), 0)


def get_response(le: int) -> Command:
    return Command(0x00, 0xC0, 0x00, 0x00, b"", le)


def pin_block(pin: str) -> bytearray:
    """ISO 9564 format 2 plaintext PIN block: '2' N, the digits, 'F' padding, 8 bytes.

    Returned as a bytearray so the caller can wipe it after use.
    """
    if not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 12):
        raise ValueError("PIN must be 4 to 12 digits")
    nibbles = [0x2, len(pin)] + [int(ch) for ch in pin]
    nibbles += [0xF] * (16 - len(nibbles))
    block = bytearray(8)
    for i in range(8):
        block[i] = (nibbles[2 * i] << 4) | nibbles[2 * i + 1]
    nibbles.clear()
    return block


# ---------------------------------------------------------------- exchange


def exchange(transmit: Transmit, command: Command, max_chain: int = 32) -> Response:
    """Send `command`; follow 61xx with GET RESPONSE and resend on 6Cxx with the right Le."""
    resp = Response.from_bytes(transmit(command.to_bytes()))
    if resp.sw >> 8 == 0x6C:
        resp = Response.from_bytes(transmit(command.with_le(resp.sw & 0xFF).to_bytes()))
    data = resp.data
    for _ in range(max_chain):
        if resp.sw >> 8 != 0x61:
            return Response(data, resp.sw)
        resp = Response.from_bytes(transmit(get_response(resp.sw & 0xFF or 256).to_bytes()))
        data += resp.data
    raise CardDataError("card kept answering 61xx")
