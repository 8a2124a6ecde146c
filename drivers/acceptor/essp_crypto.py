"""eSSP encryption layer, sans-I/O: Diffie-Hellman key agreement and the encrypted packet.

Key agreement (all numbers 64-bit, sent little-endian in 8 bytes):

1. host -> SET GENERATOR (0x4A) g, SET MODULUS (0x4B) p   (both primes)
2. host picks a secret random a, sends REQUEST KEY EXCHANGE (0x4C) with A = g^a mod p
3. slave replies OK + B = g^b mod p; both sides now hold K = B^a mod p = A^b mod p

AES-128 key: 16 bytes = the 64-bit fixed key (from config) little-endian in bytes 0-7, then the
negotiated 64-bit key K little-endian in bytes 8-15 (the byte order ITL's own host SDK uses).

Encrypted packet (it replaces the DATA of a normal SSP frame):
``7E | AES-128-ECB( eLENGTH | eCOUNT (4 bytes LE) | eDATA | packing | eCRC_L eCRC_H )``
where eLENGTH = len(eDATA), packing is random bytes bringing the whole block run to a multiple
of 16, and eCRC is the SSP CRC-16 over eLENGTH..packing.

The counter: starts at 0 after each key agreement. The host encrypts a command with its counter
N, then counts N+1; the slave's reply must carry N+1, else it is refused (a replayed or forged
reply). A reply does not advance the counter again, so the next command goes out with N+1. This is
how ITL's host SDK counts (commands 0, 1, 2 ..., replies 1, 2, 3 ...); `count_replies=True`
switches to the other reading of the spec text (both ends also count each decrypted packet:
commands 0, 2, 4 ..., replies 1, 3, 5 ...).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from Crypto.Cipher import AES

from drivers.acceptor.essp_framing import crc16

STEX = 0x7E
BLOCK = 16
_OVERHEAD = 7  # eLENGTH + eCOUNT + eCRC

# Miller-Rabin with these bases is deterministic for every n < 3.3e24 (so every 64-bit number).
_MR_BASES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)


class EncryptionError(Exception):
    """An encrypted packet that must not be acted upon (bad form, bad CRC, wrong counter)."""


def is_prime(n: int) -> bool:
    if n < 2:
        return False
    for p in _MR_BASES:
        if n % p == 0:
            return n == p
    d, r = n - 1, 0
    while d % 2 == 0:
        d //= 2
        r += 1
    for a in _MR_BASES:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def random_prime(bits: int = 63) -> int:
    """A random prime with exactly `bits` bits (< 2**64 for bits <= 64)."""
    while True:
        n = secrets.randbits(bits) | (1 << (bits - 1)) | 1
        if is_prime(n):
            return n


def u64(value: int) -> bytes:
    return value.to_bytes(8, "little")


def from_u64(data: bytes) -> int:
    if len(data) != 8:
        raise ValueError(f"expected 8 bytes, got {len(data)}")
    return int.from_bytes(data, "little")


@dataclass
class KeyExchange:
    """The host's half of one Diffie-Hellman agreement."""

    generator: int
    modulus: int
    host_random: int
    host_inter: int

    @classmethod
    def new(cls) -> KeyExchange:
        generator, modulus = random_prime(), random_prime()
        while generator == modulus:
            modulus = random_prime()
        # ITL's SDK keeps the generator the larger of the two; some firmware may check it.
        if generator < modulus:
            generator, modulus = modulus, generator
        host_random = secrets.randbelow(modulus - 2) + 1
        return cls(generator, modulus, host_random, pow(generator, host_random, modulus))

    def key(self, slave_inter: int) -> int:
        """The negotiated 64-bit key from the slave's intermediate key."""
        if not 0 < slave_inter < self.modulus:
            raise EncryptionError(f"slave intermediate key {slave_inter} out of range")
        return pow(slave_inter, self.host_random, self.modulus)


def aes_key(fixed_key: int, negotiated_key: int) -> bytes:
    """The 16-byte AES key: fixed key LE in bytes 0-7, negotiated key LE in bytes 8-15."""
    return u64(fixed_key & 0xFFFFFFFFFFFFFFFF) + u64(negotiated_key & 0xFFFFFFFFFFFFFFFF)


def seal(key: bytes, count: int, data: bytes) -> bytes:
    """One encrypted packet (0x7E + ciphertext) holding `data` with counter `count`."""
    if not 1 <= len(data) <= 255 - 1 - _OVERHEAD - (BLOCK - 1):
        raise ValueError(f"eSSP data length {len(data)} out of range")
    plain_len = _OVERHEAD + len(data)
    pack = (-plain_len) % BLOCK
    body = (
        bytes((len(data),))
        + (count & 0xFFFFFFFF).to_bytes(4, "little")
        + bytes(data)
        + secrets.token_bytes(pack)
    )
    body += crc16(body).to_bytes(2, "little")
    return bytes((STEX,)) + AES.new(key, AES.MODE_ECB).encrypt(body)


def open_sealed(key: bytes, packet: bytes) -> tuple[int, bytes]:
    """(counter, data) of an encrypted packet; EncryptionError if it is not a good one."""
    if not packet or packet[0] != STEX:
        raise EncryptionError("not an encrypted packet")
    cipher = packet[1:]
    if not cipher or len(cipher) % BLOCK:
        raise EncryptionError(f"encrypted length {len(cipher)} is not a multiple of 16")
    body = AES.new(key, AES.MODE_ECB).decrypt(cipher)
    length = body[0]
    if _OVERHEAD + length > len(body) or len(body) - _OVERHEAD - length >= BLOCK:
        raise EncryptionError(f"eLENGTH {length} does not fit {len(body)} bytes")
    if crc16(body[:-2]) != int.from_bytes(body[-2:], "little"):
        raise EncryptionError("eCRC mismatch (wrong key or corrupted)")
    count = int.from_bytes(body[1:5], "little")
    return count, bytes(body[5 : 5 + length])


class EncryptionLayer:
    """The host's encryption state after a key agreement: key and packet counter."""

    def __init__(self, fixed_key: int, negotiated_key: int, *, count_replies: bool = False):
        self.key = aes_key(fixed_key, negotiated_key)
        self.count = 0
        self.count_replies = count_replies
        self.refused = 0

    def wrap(self, data: bytes) -> bytes:
        """Encrypt a command with the current counter, then advance the counter."""
        packet = seal(self.key, self.count, data)
        self.count = (self.count + 1) & 0xFFFFFFFF
        return packet

    def unwrap(self, packet: bytes) -> bytes:
        """Decrypt a reply; it must carry the expected counter (refused otherwise)."""
        try:
            count, data = open_sealed(self.key, packet)
        except EncryptionError:
            self.refused += 1
            raise
        if count != self.count:
            self.refused += 1
            raise EncryptionError(f"eCOUNT {count} != expected {self.count} (replayed reply?)")
        if self.count_replies:
            self.count = (self.count + 1) & 0xFFFFFFFF
        return data
