"""HTTP for the e-Mitra back-to-back dialect: a form POST of MERCHANTCODE and ENCDATA, the answer
a sealed ENCDATA text. No HMAC headers: this dialect authenticates by its AES key and CHECKSUMs,
so the dialect (emitra_b2b.py) decides what an answer means; this module only bounds time and
size, and turns every transport failure into a retryable CentralError, as client.py does."""

from __future__ import annotations

import aiohttp

from terminal.central.client import MAX_REPLY_BYTES, CentralError, read_bounded

MAX_B2B_REPLY_BYTES = 16 * 1024  # a sealed answer is under 1 KiB


class B2BWire:
    def __init__(
        self, base_url: str, timeout_s: float, max_reply_bytes: int = MAX_B2B_REPLY_BYTES
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.max_reply_bytes = min(max_reply_bytes, MAX_REPLY_BYTES)
        self._session: aiohttp.ClientSession | None = None

    async def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def post(self, path: str, merchant_code: str, encdata: str) -> tuple[int, bytes]:
        """(HTTP status, body) of one form POST; CentralError(retryable) if there is none."""
        what = f"POST {path}"
        http = await self._http()
        try:
            async with http.post(
                self.base_url + path, data={"MERCHANTCODE": merchant_code, "ENCDATA": encdata}
            ) as response:
                return response.status, await self._read(response, what)
        except TimeoutError as exc:
            raise CentralError(f"central did not answer {what} in time", retryable=True) from exc
        except aiohttp.ClientError as exc:
            raise CentralError(f"central unreachable ({what}): {exc}", retryable=True) from exc

    async def _read(self, response: aiohttp.ClientResponse, what: str) -> bytes:
        return await read_bounded(response, self.max_reply_bytes, what)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
