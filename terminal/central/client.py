"""Signed, time-limited HTTP to central (aiohttp). Knows signing, reply authentication, clock
correction and which errors are final, not the dialect.

A reply counts only if central signed it for this request's nonce (docs/central-api.md, "Reply
signature"); anything else — a forgery, a reply meant for another request, a proxy's error page,
a body too large to be an answer — is a network fault: retryable, never a success or a refusal.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from itertools import accumulate
from typing import Any
from urllib.parse import urlencode

import aiohttp

from terminal.logs import log_event

log = logging.getLogger("central")

MAX_REPLY_BYTES = 64 * 1024  # no answer of the API is near this; a bigger one is an attack
MAX_JSON_DEPTH = 32  # the deepest answer (services) nests 5; json.loads recurses per level
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
SKEW_TOLERANCE_S = 2.0  # Date has 1 s resolution: corrections below this are noise
# Central's business refusals: retrying the same request can never change the answer.
FINAL_CODES = frozenset(
    {
        "already_paid",
        "bill_not_found",
        "amount_mismatch",
        "idempotency_conflict",
        "voucher_not_found",
        "already_redeemed",
    }
)
H_REPLY_SIGNATURE = "X-Reply-Signature"


class CentralError(Exception):
    """A request to central failed.

    retryable: the same request may succeed later (network down, timeout, 5xx, 401/429, an
    unauthenticated or garbage reply); False only for central's business refusals (FINAL_CODES).
    retry_after: seconds central asked us to wait (429 Retry-After), if it said.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.code = code
        self.retry_after = retry_after


def sign(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    """HMAC-SHA256 over the five lines of docs/central-api.md."""
    message = "\n".join(
        [method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest()]
    ).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def reply_mac(secret: str, status: int, nonce: str, date: str, body: bytes) -> str:
    """What central must put in X-Reply-Signature for this answer to this request."""
    message = "\n".join(
        ["REPLY", str(status), nonce, date, hashlib.sha256(body).hexdigest()]
    ).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _retry_after(value: str | None) -> float | None:
    try:
        return min(3600.0, max(0.0, float(value))) if value else None
    except ValueError:
        return None


async def read_bounded(response: aiohttp.ClientResponse, limit: int, what: str) -> bytes:
    """A reply's body, never more than `limit` bytes of it in memory (whatever the headers
    claim: a lying Content-Length or an endless chunked body is refused, retryably)."""
    if (response.content_length or 0) > limit:
        raise CentralError(f"central's reply to {what} is too large", retryable=True)
    chunks: list[bytes] = []
    size = 0
    while chunk := await response.content.readany():
        size += len(chunk)
        if size > limit:
            raise CentralError(f"central's reply to {what} is too large", retryable=True)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Brackets nested deeper than `limit` outside strings: json.loads would recurse into
    them (b"[" * 5000 is a RecursionError), and no answer of the API is shaped like that."""
    brackets = _STRINGS.sub(b"", body).translate(None, delete=_NOT_BRACKETS)
    steps = (1 if b in b"[{" else -1 for b in brackets)
    return any(depth > limit for depth in accumulate(steps))


_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class CentralClient:
    def __init__(
        self,
        base_url: str,
        terminal_id: str,
        secret: str,
        timeout_s: float = 10.0,
        clock: Callable[[], float] = time.time,
        max_reply_bytes: int = MAX_REPLY_BYTES,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.terminal_id = terminal_id
        self.secret = secret
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.clock = clock
        self.max_reply_bytes = max_reply_bytes
        self.skew_s = 0.0  # central's clock minus ours, from signed Date headers
        self.time_checked_at: float | None = None  # time.monotonic() of the last Date read
        self._session: aiohttp.ClientSession | None = None
        self.last_success: float | None = None  # time.time() of the last good answer

    async def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    def now(self) -> float:
        """Our best idea of central's time: the local clock plus the measured skew."""
        return self.clock() + self.skew_s

    async def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        max_reply_bytes: int | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Send one signed request. Returns (status, JSON object) for an authenticated 2xx;
        raises CentralError for everything else (retryable unless a business refusal).
        `max_reply_bytes`: a larger bound for the one answer that carries a picture."""
        if query:
            path = f"{path}?{urlencode(query)}"
        raw = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        timestamp = str(int(self.now()))
        nonce = secrets.token_hex(16)
        headers = {
            "X-Terminal-Id": self.terminal_id,
            "X-Timestamp": timestamp,
            "X-Nonce": nonce,
            "X-Signature": sign(self.secret, method, path, timestamp, nonce, raw),
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        what = f"{method} {path.partition('?')[0]}"
        http = await self._http()
        try:
            async with http.request(
                method, self.base_url + path, data=raw or None, headers=headers
            ) as response:
                status = response.status
                text = await self._read(response, what, max_reply_bytes)
                reply_headers = response.headers
        except TimeoutError as exc:
            raise CentralError(f"central did not answer {what} in time", retryable=True) from exc
        except aiohttp.ClientError as exc:
            raise CentralError(f"central unreachable ({what}): {exc}", retryable=True) from exc
        self._authenticate(status, nonce, reply_headers, text, what)
        return self._interpret(status, reply_headers, text, what)

    async def _read(self, response: aiohttp.ClientResponse, what: str,
                    limit: int | None = None) -> bytes:
        return await read_bounded(response, limit or self.max_reply_bytes, what)

    def _authenticate(
        self, status: int, nonce: str, headers: Any, body: bytes, what: str
    ) -> None:
        """Central's signature over this request's nonce, or a network fault. Then the clock."""
        date = headers.get("Date", "")
        got = headers.get(H_REPLY_SIGNATURE, "")
        want = reply_mac(self.secret, status, nonce, date, body)
        if not got or not date or not hmac.compare_digest(want, got.lower()):
            raise CentralError(
                f"reply to {what} (status {status}) is not signed by central",
                retryable=True,
                status=status,
                code="unauthenticated_reply",
            )
        try:
            central_now = parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            return
        skew = central_now - self.clock()
        self.time_checked_at = time.monotonic()
        if abs(skew - self.skew_s) > SKEW_TOLERANCE_S:
            log_event(
                log, "clock corrected from central", logging.WARNING,
                skew_s=round(skew, 1), was_s=round(self.skew_s, 1),
            )
            self.skew_s = skew

    def _interpret(
        self, status: int, headers: Any, body: bytes, what: str
    ) -> tuple[int, dict[str, Any]]:
        """An authenticated reply: success, a final business refusal, or retry later."""
        if status >= 500:
            raise CentralError(f"central error {status} on {what}", retryable=True, status=status)
        try:
            payload = None if _too_deep(body) else json.loads(body)
        except (ValueError, RecursionError):
            payload = None
        if not isinstance(payload, dict):
            raise CentralError(
                f"central sent a reply that is not a JSON object ({what}, status {status})",
                retryable=True,
                status=status,
            )
        self.last_success = time.time()
        if status >= 400:
            code = payload.get("error")
            code = code if isinstance(code, str) else None
            raise CentralError(
                str(payload.get("message") or f"central refused {what}")[:200],
                retryable=code not in FINAL_CODES,
                status=status,
                code=code,
                retry_after=_retry_after(headers.get("Retry-After")),
            )
        return status, payload

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
