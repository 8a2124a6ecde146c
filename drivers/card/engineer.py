"""The field engineer's card: our own application, an id and a challenge / response.

Card application (the emulator in sim/devices/card.py implements the card's side):
- SELECT by name `ENGINEER_AID` (F0 'EMITRAK' 01, a proprietary AID) -> 9000 and an FCI.
- GET DATA, CLA 00, P1 P2 = DF 01 -> `DF01 L <engineer id, ASCII>`.
- INTERNAL AUTHENTICATE (00 88 00 00) with the host's nonce (8..64 bytes)
  -> 32 bytes, HMAC-SHA256(card key, nonce).

The key is held by central (and on the card); the kiosk asks a caller-supplied `key_lookup`
(engineer id -> key or None) and compares in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from drivers.card import CardApplicationNotFound, CardDataError, CardStatusError
from drivers.card.apdu import (
    Transmit,
    exchange,
    get_data,
    internal_authenticate,
    select_by_name,
)
from drivers.card.tlv import TLVError, find_value, parse

log = logging.getLogger("drivers.card.engineer")

ENGINEER_AID = bytes.fromhex("F0454D495452414B01")  # F0 "EMITRAK" 01
ENGINEER_ID_TAG = 0xDF01
MAC_SIZE = 32
NONCE_MIN, NONCE_MAX = 8, 64

KeyLookup = Callable[[str], bytes | None]


@dataclass(frozen=True)
class EngineerAuth:
    engineer_id: str
    ok: bool
    reason: str = ""  # "", "unknown_engineer", "bad_mac"


def new_nonce(size: int = 16) -> bytes:
    return secrets.token_bytes(size)


def expected_mac(key: bytes, nonce: bytes) -> bytes:
    return hmac.new(key, nonce, hashlib.sha256).digest()


def verify_response(engineer_id: str, nonce: bytes, mac: bytes, key_lookup: KeyLookup) -> bool:
    """True when `mac` is HMAC-SHA256(key of engineer_id, nonce)."""
    key = key_lookup(engineer_id)
    if not key:
        return False
    return hmac.compare_digest(expected_mac(key, nonce), mac)


def check(engineer_id: str, nonce: bytes, mac: bytes, key_lookup: KeyLookup) -> EngineerAuth:
    key = key_lookup(engineer_id)
    if not key:
        return EngineerAuth(engineer_id, False, "unknown_engineer")
    if not hmac.compare_digest(expected_mac(key, nonce), mac):
        return EngineerAuth(engineer_id, False, "bad_mac")
    return EngineerAuth(engineer_id, True)


class EngineerCard:
    """The engineer application behind a blocking `transmit`."""

    def __init__(self, transmit: Transmit) -> None:
        self._transmit = transmit

    def select(self) -> None:
        resp = exchange(self._transmit, select_by_name(ENGINEER_AID))
        if resp.sw in (0x6A82, 0x6A81):
            raise CardApplicationNotFound("not an engineer card (engineer application not found)")
        if not resp.ok:
            raise CardStatusError(f"SELECT engineer application: {resp.word}", resp.sw)

    def engineer_id(self) -> str:
        resp = exchange(self._transmit, get_data(ENGINEER_ID_TAG, cla=0x00))
        if not resp.ok:
            raise CardStatusError(f"engineer id not readable: {resp.word}", resp.sw)
        try:
            raw = find_value(parse(resp.data), ENGINEER_ID_TAG)
        except TLVError as exc:
            raise CardDataError(f"malformed TLV in engineer id: {exc}") from None
        if not raw:
            raise CardDataError("engineer card answered without an id (DF01)")
        try:
            text = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            raise CardDataError("engineer id is not ASCII") from None
        if not text or not text.isprintable():
            raise CardDataError("engineer id is empty or not printable")
        return text

    def challenge(self, nonce: bytes) -> bytes:
        if not NONCE_MIN <= len(nonce) <= NONCE_MAX:
            raise ValueError(f"nonce must be {NONCE_MIN}..{NONCE_MAX} bytes")
        resp = exchange(self._transmit, internal_authenticate(nonce))
        if not resp.ok:
            raise CardStatusError(f"INTERNAL AUTHENTICATE refused: {resp.word}", resp.sw)
        if len(resp.data) != MAC_SIZE:
            raise CardDataError(f"engineer card MAC is {len(resp.data)} bytes, not {MAC_SIZE}")
        return resp.data

    def run(self, nonce: bytes) -> tuple[str, bytes]:
        """SELECT, read the id, answer the challenge: (engineer_id, mac)."""
        self.select()
        engineer_id = self.engineer_id()
        mac = self.challenge(nonce)
        log.info("engineer card answered challenge id=%s", engineer_id)
        return engineer_id, mac
