"""The reference server's own check of request signatures (docs/central-api.md, "Signing").

Written from the server's side and independent of the terminal's signer: if both ends shared one
implementation, a bug in it would be invisible to every test. Pure functions, no I/O; the nonce
memory lives in the store (it must survive a restart).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

H_TERMINAL = "X-Terminal-Id"
H_TIMESTAMP = "X-Timestamp"
H_NONCE = "X-Nonce"
H_SIGNATURE = "X-Signature"

TIMESTAMP_WINDOW_S = 300
NONCE_MEMORY_S = 600

_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")
_NONCE_RE = re.compile(r"[0-9a-f]{32}")
_SIGNATURE_RE = re.compile(r"[0-9a-f]{64}")


H_REPLY_SIGNATURE = "X-Reply-Signature"


class AuthError(Exception):
    """A request that fails the signature check; always answered with 401.

    signer: the terminal whose signature did verify (stale timestamp, replayed nonce), so that
    the 401 can be signed for it and its clock corrected from the reply's Date; None otherwise.
    """

    def __init__(self, code: str, message: str, signer: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.signer = signer


@dataclass(frozen=True)
class SignedRequest:
    terminal_id: str
    timestamp: int
    nonce: str


def string_to_sign(method: str, path_qs: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """The five lines of the spec joined by LF, without a trailing newline."""
    lines = (method.upper(), path_qs, timestamp, nonce, hashlib.sha256(body).hexdigest())
    return "\n".join(lines).encode("utf-8")


def expected_signature(
    secret: str, method: str, path_qs: str, timestamp: str, nonce: str, body: bytes
) -> str:
    message = string_to_sign(method, path_qs, timestamp, nonce, body)
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def check_signature(
    headers: Mapping[str, str],
    method: str,
    path_qs: str,
    body: bytes,
    terminals: Mapping[str, str],
    now: float,
) -> SignedRequest:
    """Check everything but the nonce's freshness; raise AuthError or return who signed.

    Order: terminal known, headers well formed, signature right, timestamp in the window. The
    signature is checked before the timestamp so that an unauthenticated caller learns nothing
    about the server's clock, and before the nonce so that it cannot fill the nonce table.
    """
    terminal_id = headers.get(H_TERMINAL, "")
    if not terminal_id:
        raise AuthError("unknown_terminal", f"missing {H_TERMINAL} header")
    secret = terminals.get(terminal_id)
    if secret is None:
        raise AuthError("unknown_terminal", f"terminal {terminal_id!r} is not known")

    timestamp = headers.get(H_TIMESTAMP, "")
    nonce = headers.get(H_NONCE, "")
    signature = headers.get(H_SIGNATURE, "")
    for name, value, pattern, what in (
        (H_TIMESTAMP, timestamp, _TIMESTAMP_RE, "unix seconds as a decimal integer"),
        (H_NONCE, nonce, _NONCE_RE, "32 lowercase hex characters"),
        (H_SIGNATURE, signature, _SIGNATURE_RE, "64 lowercase hex characters"),
    ):
        if not value:
            raise AuthError("bad_signature", f"missing {name} header")
        if not pattern.fullmatch(value):
            raise AuthError("bad_signature", f"{name} must be {what}")

    want = expected_signature(secret, method, path_qs, timestamp, nonce, body)
    if not hmac.compare_digest(want, signature):
        raise AuthError("bad_signature", "signature does not match the request")

    ts = int(timestamp)
    if abs(now - ts) > TIMESTAMP_WINDOW_S:
        raise AuthError(
            "stale_timestamp",
            f"timestamp is {int(now - ts)} s away from server time (allowed ±{TIMESTAMP_WINDOW_S})",
            signer=terminal_id,
        )
    return SignedRequest(terminal_id=terminal_id, timestamp=ts, nonce=nonce)


def reply_string_to_sign(status: int, nonce: str, date: str, body: bytes) -> bytes:
    """The reply's five lines: a fixed tag (never a request method), status, the request's nonce,
    the Date header as sent, and the body's SHA-256; joined by LF, no trailing newline."""
    lines = ("REPLY", str(status), nonce, date, hashlib.sha256(body).hexdigest())
    return "\n".join(lines).encode("utf-8")


def reply_signature(secret: str, status: int, nonce: str, date: str, body: bytes) -> str:
    """What goes in X-Reply-Signature: the terminal can tell central's answer from a forgery."""
    message = reply_string_to_sign(status, nonce, date, body)
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def receipt_verification(receipt_key: str, txn_id: str, receipt_no: str) -> str:
    """First 16 hex chars of HMAC-SHA256(receipt key, txn_id + "|" + receipt_no)."""
    message = f"{txn_id}|{receipt_no}".encode()
    return hmac.new(receipt_key.encode("utf-8"), message, hashlib.sha256).hexdigest()[:16]
