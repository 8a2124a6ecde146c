"""The reference central's own e-Mitra back-to-back codec (docs/central-api-emitra-b2b.md).

Written from the server's side, apart from the kiosk's terminal/central/emitra_b2b_crypto.py: if
both ends shared one implementation, a bug in it would be invisible to every test. Pure
functions; ENCDATA = base64(IV || AES-256-CBC(SHA-256(secret), PKCS#5(JSON object))).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass

from Crypto.Cipher import AES
from Crypto.Util.Padding import pad, unpad


class SealError(Exception):
    """ENCDATA that is not a sealed flat JSON object of text fields."""


@dataclass(frozen=True)
class Merchant:
    """One kiosk as e-Mitra knows it; terminal_id ties it to the store's payments."""

    merchant_code: str
    aes_secret: str
    ssoid: str
    sso_token: str
    terminal_id: str

    @property
    def key(self) -> bytes:
        return hashlib.sha256(self.aes_secret.encode("utf-8")).digest()


def seal(key: bytes, fields: dict[str, str]) -> str:
    iv = os.urandom(16)
    body = json.dumps(fields, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return base64.b64encode(iv + AES.new(key, AES.MODE_CBC, iv).encrypt(pad(body, 16))).decode()


def unseal(key: bytes, encdata: str) -> dict[str, str]:
    try:
        raw = base64.b64decode(encdata.encode("ascii"), validate=True)
        if len(raw) < 32 or len(raw) % 16:
            raise SealError("not an IV plus cipher blocks")
        plain = unpad(AES.new(key, AES.MODE_CBC, raw[:16]).decrypt(raw[16:]), 16)
        fields = json.loads(plain.decode("utf-8"))
    except SealError:
        raise
    except (ValueError, UnicodeError, RecursionError) as exc:
        raise SealError(f"does not decrypt: {type(exc).__name__}") from None
    if not isinstance(fields, dict) or not all(
        isinstance(v, str) and len(v) <= 512 for v in fields.values()
    ):
        raise SealError("not a flat object of text fields")
    return fields


def md5_hex(*parts: str) -> str:
    return hashlib.md5("|".join(parts).encode("utf-8"), usedforsecurity=False).hexdigest()


def request_checksum_ok(merchant: Merchant, fields: dict[str, str], ref: str) -> bool:
    """CHECKSUM = MD5("SSOID|<ref>|REQTIMESTAMP|SSOTOKEN"); ref is the REQUESTID (or the
    TRANSACTIONID of a verify by TRANSACTIONID)."""
    want = md5_hex(merchant.ssoid, ref, fields.get("REQTIMESTAMP", ""), merchant.sso_token)
    return hmac.compare_digest(want, fields.get("CHECKSUM", "").lower())


def sign_answer(merchant: Merchant, answer: dict[str, str], status_key: str) -> dict[str, str]:
    """The answer with its CHECKSUM: MD5 over REQUESTID, REQTIMESTAMP, TRANSACTIONID, RECEIPTNO,
    TRANSAMT, TRANSACTIONSTATUS, the call's status code and the SSO token, "|"-joined."""
    parts = [answer.get(k, "") for k in (
        "REQUESTID", "REQTIMESTAMP", "TRANSACTIONID", "RECEIPTNO", "TRANSAMT",
        "TRANSACTIONSTATUS", status_key)]
    return {**answer, "CHECKSUM": md5_hex(*parts, merchant.sso_token)}


def to_rupees(paise: int) -> str:
    return f"{paise // 100}.{paise % 100:02d}"


def from_rupees(text: str) -> int | None:
    """"640.00" -> 64000; anything not exactly digits, a point and two digits -> None."""
    whole, dot, frac = text.partition(".")
    digits = whole + frac
    if not dot or not whole or len(frac) != 2 or not digits.isascii() or not digits.isdigit():
        return None
    if len(whole) > 12 or (len(whole) > 1 and whole[0] == "0"):
        return None
    return int(whole) * 100 + int(frac)
