"""Personal fields of journal events, encrypted at rest.

The journal must outlive a stolen SD card without telling who paid what: the values of personal
fields (consumer number and name, phone, Aadhaar, and the bill id, which central may build from
the consumer number) are replaced by "enc:v1:<base64 nonce|ciphertext|tag>" (AES-256-GCM, the
field name as associated data so a token cannot be moved to another field). Beside each one the
event keeps what display and lookups need without the key: `<field>_masked` (last 4 digits, or
"Ra**** Ku***" for names) and, for numbers, `<field>_hmac` (HMAC-SHA256, keyed, for lookups).

The key is 32 random bytes (base64 in a file only the kiosk user can read, 0600), made at first
use. Everything else in the event stays readable JSON, so `sqlite3` still shows the money.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from terminal.logs import mask_digits, mask_name

PREFIX = "enc:v1:"
KEY_FILE_ENV = "EMITRA_JOURNAL_KEY_FILE"
KEY_FILE_NAME = "journal.key"
MASKED_SUFFIX = "_masked"
HASH_SUFFIX = "_hmac"
_NONCE = 12
_TAG = 16

_digits: Callable[[str], str] = mask_digits
_name: Callable[[str], str] = mask_name

# field -> (how its display copy is masked (None: no copy), whether a lookup hash is kept).
PERSONAL_FIELDS: dict[str, tuple[Callable[[str], str] | None, bool]] = {
    "consumer_number": (_digits, True),
    "consumer_name": (_name, False),
    "consumer_name_hi": (_name, False),
    "name": (_name, False),
    "mobile": (_digits, True),
    "mobile_number": (_digits, True),
    "phone": (_digits, True),
    "phone_number": (_digits, True),
    "aadhaar": (_digits, True),
    "aadhaar_number": (_digits, True),
    "email": (None, False),
    "address": (None, False),
    "bill_id": (None, False),  # the reference central's ids embed the consumer number
}


class JournalKeyError(Exception):
    """The journal key is missing, unreadable or not the one this journal was written with."""


def _subkey(master: bytes, label: bytes) -> bytes:
    return hmac.new(master, b"emitra-journal/" + label, hashlib.sha256).digest()


def read_key(path: Path) -> bytes:
    """The 32-byte key from its file (base64 text), or a JournalKeyError saying what is wrong."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise JournalKeyError(f"journal key {path} is missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise JournalKeyError(f"journal key {path} cannot be read: {exc}") from None
    try:
        key = base64.b64decode(text, validate=True)
    except binascii.Error:
        key = b""
    if len(key) != 32:
        raise JournalKeyError(f"journal key {path} is not a 32-byte base64 key")
    return key


def create_key(path: Path) -> bytes:
    """A new random key, written 0600 (O_EXCL: two processes starting at once share one key)."""
    key = secrets.token_bytes(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_key(path)
    try:
        os.write(fd, base64.b64encode(key) + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    # The directory entry too: a key lost in a power cut would leave sealed fields unreadable.
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return key


class FieldCipher:
    """Seals and opens personal fields with one key, derived once (appends stay microseconds)."""

    def __init__(self, master: bytes) -> None:
        self._aead = AESGCM(_subkey(master, b"aes-gcm/v1"))  # one object: ~2 us a field
        self._mac = hmac.new(_subkey(master, b"lookup-hmac/v1"), digestmod=hashlib.sha256)
        self.key_id = _subkey(master, b"key-id")[:8].hex()

    # ---------------------------------------------------------------- one value

    def seal(self, field: str, value: Any) -> str:
        nonce = secrets.token_bytes(_NONCE)
        plain = json.dumps(value, ensure_ascii=False).encode()
        sealed = self._aead.encrypt(nonce, plain, field.encode())  # ciphertext | 16-byte tag
        return PREFIX + base64.b64encode(nonce + sealed).decode("ascii")

    def open(self, field: str, token: str) -> Any:
        try:
            raw = base64.b64decode(token[len(PREFIX):], validate=True)
        except binascii.Error:
            raise JournalKeyError(f"field {field!r}: damaged token") from None
        if len(raw) < _NONCE + _TAG:
            raise JournalKeyError(f"field {field!r}: damaged token")
        try:
            plain = self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], field.encode())
        except InvalidTag:
            raise JournalKeyError(
                f"field {field!r} does not decrypt: wrong journal key, or the journal was altered"
            ) from None
        return json.loads(plain)

    def lookup_hash(self, value: str) -> str:
        """Keyed hash of a number: equal numbers match, the number cannot be guessed back."""
        mac = self._mac.copy()
        mac.update(value.encode())
        return mac.hexdigest()

    # ---------------------------------------------------------------- event data

    def protect(self, data: dict[str, Any]) -> dict[str, Any]:
        """A copy of `data` with personal values sealed (the same dict if it has none)."""
        out: dict[str, Any] | None = None
        for key, value in data.items():
            new = self._protect_value(value)
            spec = PERSONAL_FIELDS.get(key)
            if spec is not None and _sealable(value):
                out = dict(data) if out is None else out
                out[key] = self.seal(key, value)
                mask, lookup = spec
                if mask is not None and isinstance(value, str):
                    out[key + MASKED_SUFFIX] = mask(value)
                if lookup and isinstance(value, str):
                    out[key + HASH_SUFFIX] = self.lookup_hash(value)
            elif new is not value:
                out = dict(data) if out is None else out
                out[key] = new
        return data if out is None else out

    def _protect_value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return self.protect(value)
        if isinstance(value, list):
            items = [self._protect_value(v) for v in value]
            return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
        return value


def _sealable(value: Any) -> bool:
    """Empty values (a voucher session has no consumer) stay as they are: nothing to hide. A value
    that merely looks like a token (a hostile bill's name) is sealed too, so it reads back."""
    return value not in (None, "")


def has_personal(data: Any) -> bool:
    """Whether any (nested) field of the event is personal and non-empty: most events (credits,
    prints) are not, and never touch the key."""
    if isinstance(data, dict):
        return any(
            (key in PERSONAL_FIELDS and _sealable(value)) or has_personal(value)
            for key, value in data.items()
        )
    if isinstance(data, list):
        return any(has_personal(v) for v in data)
    return False


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def reveal(data: Any, cipher: FieldCipher | None) -> Any:
    """Event data as the caller appended it: tokens opened, masked/hash copies dropped. Clear
    values of old journals pass through. A token without a cipher is a JournalKeyError."""
    if isinstance(data, list):
        return [reveal(v, cipher) for v in data]
    if not isinstance(data, dict):
        return data
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in PERSONAL_FIELDS and is_sealed(value):
            if cipher is None:
                raise JournalKeyError(f"field {key!r} is encrypted and no journal key is loaded")
            out[key] = cipher.open(key, value)
        elif isinstance(value, (dict, list)):
            out[key] = reveal(value, cipher)
        else:
            out[key] = value
    for key, value in data.items():
        if key in PERSONAL_FIELDS and is_sealed(value):
            out.pop(key + MASKED_SUFFIX, None)
            out.pop(key + HASH_SUFFIX, None)
    return out
