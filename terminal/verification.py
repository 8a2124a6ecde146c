"""QR payloads printed on receipts and vouchers, and the codes that make them verifiable.

Receipt QR: "EMITRA1|R|<txn_id>|<code>" where code is central's `verification` value for a posted
payment, or provisional_code(...) while central has not answered. Voucher QR:
"EMITRA1|V|<voucher_id>|<code>" with code = voucher_code(...).
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "EMITRA1"
KINDS = {"R": "receipt", "V": "voucher"}
_CODE_CHARS = frozenset("0123456789abcdefABCDEF")


def _hmac16(secret: str, message: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256)
    return digest.hexdigest()[:16]


def voucher_code(secret: str, voucher_id: str, amount_paise: int) -> str:
    """First 16 hex chars of HMAC-SHA256(secret, "<voucher_id>|<amount_paise>")."""
    return _hmac16(secret, f"{voucher_id}|{int(amount_paise)}")


def provisional_code(secret: str, txn_id: str, amount_paise: int) -> str:
    """Code for a receipt printed before central answered: HMAC over "<txn_id>|<amount_paise>"."""
    return _hmac16(secret, f"{txn_id}|{int(amount_paise)}")


def _check_field(name: str, value: str) -> None:
    if not value or "|" in value or not value.isprintable():
        raise ValueError(f"{name} must be non-empty printable text without '|': {value!r}")


def receipt_qr(txn_id: str, code: str) -> str:
    _check_field("txn_id", txn_id)
    _check_field("code", code)
    return f"{PREFIX}|R|{txn_id}|{code}"


def voucher_qr(voucher_id: str, code: str) -> str:
    _check_field("voucher_id", voucher_id)
    _check_field("code", code)
    return f"{PREFIX}|V|{voucher_id}|{code}"


def parse_qr(payload: str) -> tuple[str, str, str] | None:
    """("R" | "V", id, code) for one of our payloads, else None (any other QR)."""
    if not isinstance(payload, str):
        return None
    parts = payload.strip().split("|")
    if len(parts) != 4 or parts[0] != PREFIX or parts[1] not in KINDS:
        return None
    kind, ident, code = parts[1], parts[2], parts[3]
    if not ident or not ident.isprintable() or not code or not set(code) <= _CODE_CHARS:
        return None
    return kind, ident, code.lower()
