"""A headless client of the session API: what the demo and the flow tests use to act as the
citizen. It keeps the latest state and lets a caller wait for a condition on it."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from terminal.api_messages import MSG_RESULT, STATE_TYPES, find_token, intent


class SessionClient:
    """`token` / `token_file` as the core wrote it; by default the client finds the token of
    the core at `url` (terminal.api_messages.find_token), as the screen does."""

    def __init__(
        self, url: str, *, token: str | None = None, token_file: str | Path | None = None
    ) -> None:
        self.url = url
        self.token = token
        self.token_file = token_file
        self.state: dict[str, Any] = {}
        self.states: list[dict[str, Any]] = []  # every state seen, in order
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task | None = None
        self._ids = itertools.count(1)
        self._results: dict[int, asyncio.Future] = {}
        self._changed = asyncio.Condition()

    async def __aenter__(self) -> SessionClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def connect(self, timeout: float = 10.0) -> None:
        token = self.token or find_token(self.url, self.token_file)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = aiohttp.ClientSession()
        try:
            self._ws = await self._http.ws_connect(self.url, timeout=timeout, headers=headers)
        except BaseException:
            await self._http.close()
            raise
        self._reader = asyncio.create_task(self._read())
        await self.wait_for(lambda s: bool(s), timeout)

    async def _read(self) -> None:
        assert self._ws is not None
        async for msg in self._ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            if data["type"] in STATE_TYPES:
                async with self._changed:
                    self.state = data["state"]
                    self.states.append(data["state"])
                    self._changed.notify_all()
            elif data["type"] == MSG_RESULT:
                future = self._results.pop(data.get("id"), None)
                if future and not future.done():
                    future.set_result(data)

    async def send(self, name: str, /, timeout: float = 15.0, **args: Any) -> dict[str, Any]:
        """Send an intent (terminal.api_messages.INTENTS) and return the core's result."""
        assert self._ws is not None
        request_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._results[request_id] = future
        await self._ws.send_str(intent(name, request_id, **args))
        return await asyncio.wait_for(future, timeout)

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0
    ) -> dict[str, Any]:
        """Wait until the state satisfies predicate; returns that state."""

        async def waiting() -> dict[str, Any]:
            async with self._changed:
                await self._changed.wait_for(lambda: bool(self.state) and predicate(self.state))
                return self.state

        try:
            return await asyncio.wait_for(waiting(), timeout)
        except TimeoutError:
            raise TimeoutError(
                f"state never matched within {timeout}s; last screen "
                f"{self.state.get('screen')!r}, session {self.state.get('session')!r}"
            ) from None

    async def wait_screen(self, *screens: str, timeout: float = 10.0) -> dict[str, Any]:
        return await self.wait_for(lambda s: s.get("screen") in screens, timeout)

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
