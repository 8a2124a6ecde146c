"""The envelope and checksums of the e-Mitra back-to-back dialect (docs/central-api-emitra-b2b.md).

ENCDATA = base64( IV (16 random bytes) || AES-256-CBC(key, PKCS#5-padded UTF-8 JSON object) ),
key = SHA-256 of the shared AES secret. CBC alone does not authenticate, so nothing decrypted is
believed until its fields parse, its CHECKSUM (keyed by the SSO token nobody else holds) matches
and it names this request. Every failure here is a CodecError: the caller treats it as no answer.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from typing import Any

from Crypto.Cipher import AES

BLOCK = 16
MAX_FIELDS = 64  # no message of the dialect has more than 20 fields
MAX_VALUE_CHARS = 512


class CodecError(Exception):
    """ENCDATA that does not decrypt to a flat JSON object of short text fields."""


def derive_key(secret: str) -> bytes:
    """AES-256 key from the shared secret: SHA-256 of its UTF-8 bytes."""
    return hashlib.sha256(secret.encode("utf-8")).digest()


def _pad(data: bytes) -> bytes:
    n = BLOCK - len(data) % BLOCK
    return data + bytes([n]) * n


def _unpad(data: bytes) -> bytes:
    n = data[-1] if data else 0
    if not 1 <= n <= BLOCK or data[-n:] != bytes([n]) * n:
        raise CodecError("bad padding")
    return data[:-n]


def encrypt(key: bytes, plaintext: bytes, iv: bytes | None = None) -> str:
    """ENCDATA for `plaintext`; a fresh random IV unless a test fixes one."""
    iv = secrets.token_bytes(BLOCK) if iv is None else iv
    cipher = AES.new(key, AES.MODE_CBC, iv)
    return base64.b64encode(iv + cipher.encrypt(_pad(plaintext))).decode("ascii")


def decrypt(key: bytes, encdata: str | bytes) -> bytes:
    try:
        raw = base64.b64decode(encdata, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CodecError("not base64") from exc
    if len(raw) < 2 * BLOCK or len(raw) % BLOCK:
        raise CodecError("not an IV plus whole cipher blocks")
    cipher = AES.new(key, AES.MODE_CBC, raw[:BLOCK])
    return _unpad(cipher.decrypt(raw[BLOCK:]))


def seal(key: bytes, fields: dict[str, str]) -> str:
    """A message of the dialect (text fields only) as ENCDATA."""
    text = json.dumps(fields, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    return encrypt(key, text.encode("utf-8"))


def unseal(key: bytes, encdata: str | bytes) -> dict[str, str]:
    """The fields of a message, or CodecError: every value must be short text, no nesting."""
    plain = decrypt(key, encdata)
    try:
        payload: Any = json.loads(plain.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CodecError("not a JSON text") from exc
    if not isinstance(payload, dict) or len(payload) > MAX_FIELDS:
        raise CodecError("not a JSON object of fields")
    for name, value in payload.items():
        if not isinstance(value, str) or len(value) > MAX_VALUE_CHARS:
            raise CodecError(f"field {name[:40]!r} is not short text")
    return payload


def _md5(*parts: str) -> str:
    return hashlib.md5("|".join(parts).encode("utf-8"), usedforsecurity=False).hexdigest()


def request_checksum(ssoid: str, request_id: str, req_timestamp: str, sso_token: str) -> str:
    """CHECKSUM of a request: MD5 of "SSOID|REQUESTID|REQTIMESTAMP|SSOTOKEN", lowercase hex."""
    return _md5(ssoid, request_id, req_timestamp, sso_token)


REPLY_CHECKSUM_FIELDS = (
    "REQUESTID", "REQTIMESTAMP", "TRANSACTIONID", "RECEIPTNO", "TRANSAMT", "TRANSACTIONSTATUS",
    "STATUSCODE",
)


def reply_checksum(fields: dict[str, str], status_key: str, sso_token: str) -> str:
    """CHECKSUM of an answer: MD5 over the fields that decide what the kiosk does (missing ones
    count as ""), the call's status code (`status_key`) and the SSO token; REQTIMESTAMP echoes
    the request's, so an old answer replayed to a new request does not match."""
    values = [fields.get(status_key if k == "STATUSCODE" else k, "") for k in
              REPLY_CHECKSUM_FIELDS]
    return _md5(*values, sso_token)


def checksum_ok(want: str, got: Any) -> bool:
    return isinstance(got, str) and hmac.compare_digest(want, got.lower())
