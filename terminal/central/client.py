"""Signed, time-limited HTTP to central (aiohttp). Knows signing and errors, not the dialect."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp


class CentralError(Exception):
    """A request to central failed.

    retryable: the same request may succeed later (network down, timeout, 5xx, garbage reply);
    False: central understood and refused it (4xx) — retrying the same thing will not help.
    """

    def __init__(
        self, message: str, *, retryable: bool, status: int | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.code = code


def sign(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    """HMAC-SHA256 over the five lines of docs/central-api.md."""
    message = "\n".join(
        [method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest()]
    ).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class CentralClient:
    def __init__(
        self, base_url: str, terminal_id: str, secret: str, timeout_s: float = 10.0, clock=time.time
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.terminal_id = terminal_id
        self.secret = secret
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.clock = clock
        self._session: aiohttp.ClientSession | None = None
        self.last_success: float | None = None  # time.time() of the last good answer

    async def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Send one signed request. Returns (status, JSON object) for 2xx and 4xx answers that
        carry a JSON error; raises CentralError for everything else."""
        if query:
            path = f"{path}?{urlencode(query)}"
        raw = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        timestamp = str(int(self.clock()))
        nonce = secrets.token_hex(16)
        headers = {
            "X-Terminal-Id": self.terminal_id,
            "X-Timestamp": timestamp,
            "X-Nonce": nonce,
            "X-Signature": sign(self.secret, method, path, timestamp, nonce, raw),
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        http = await self._http()
        try:
            async with http.request(
                method, self.base_url + path, data=raw or None, headers=headers
            ) as response:
                status = response.status
                text = await response.text()
        except TimeoutError as exc:
            raise CentralError(
                f"central did not answer {method} {path} in time", retryable=True
            ) from exc
        except aiohttp.ClientError as exc:
            raise CentralError(
                f"central unreachable ({method} {path}): {exc}", retryable=True
            ) from exc
        if status >= 500:
            raise CentralError(
                f"central error {status} on {method} {path}", retryable=True, status=status
            )
        try:
            payload = json.loads(text)
        except ValueError:
            raise CentralError(
                f"central sent a reply that is not JSON ({method} {path}, status {status})",
                retryable=True,
                status=status,
            ) from None
        if not isinstance(payload, dict):
            raise CentralError(
                f"central sent an unexpected reply to {method} {path}",
                retryable=True,
                status=status,
            )
        self.last_success = time.time()
        if status >= 400:
            raise CentralError(
                payload.get("message") or f"central refused {method} {path}",
                retryable=False,
                status=status,
                code=payload.get("error"),
            )
        return status, payload

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
