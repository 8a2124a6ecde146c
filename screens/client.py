"""The screen's side of the session API (docs/session-api.md): one WebSocket to the core, kept
open; every snapshot/state goes to `on_state`, every connect/disconnect to `on_connection`.
If the core goes away (restart, crash) the link retries every second, for ever. Each connect
presents the core's token (terminal.api_messages.find_token)."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Callable
from typing import Any

import aiohttp

from terminal.api_messages import MSG_RESULT, STATE_TYPES, auth_headers, intent, link_down

log = logging.getLogger("screens.link")

RETRY_S = 1.0


class SessionLink:
    def __init__(
        self,
        url: str,
        on_state: Callable[[dict[str, Any]], None],
        on_connection: Callable[[bool], None],
        retry_s: float = RETRY_S,
        token_file: str | None = None,
    ) -> None:
        self.url = url
        self.token_file = token_file
        self.on_state = on_state
        self.on_connection = on_connection
        self.retry_s = retry_s
        self.connected = False
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._stopped = False

    async def run(self) -> None:
        """Connect, read, reconnect; returns only when stop() is called (or cancelled)."""
        async with aiohttp.ClientSession() as http:
            while not self._stopped:
                # The core writes a new token at every start: read it at every connect.
                headers = auth_headers(self.url, self.token_file)
                try:
                    async with http.ws_connect(
                        self.url, heartbeat=10, timeout=5, headers=headers
                    ) as ws:
                        self._ws = ws
                        await self._read(ws)
                except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                    log.debug("session API not reachable: %s", exc)
                finally:
                    self._ws = None
                    self._set_connected(False)
                    self._fail_pending()
                if not self._stopped:
                    await asyncio.sleep(self.retry_s)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            try:
                data = json.loads(msg.data)
            except ValueError:
                log.warning("unreadable message from the core")
                continue
            kind = data.get("type")
            if kind in STATE_TYPES and isinstance(data.get("state"), dict):
                try:
                    self._set_connected(True)
                    self.on_state(data["state"])
                except Exception:  # a drawing bug must not drop the link to the core
                    log.exception("drawing the state failed")
            elif kind == MSG_RESULT:
                future = self._pending.pop(data.get("id"), None)
                if future is not None and not future.done():
                    future.set_result(data)

    def _set_connected(self, connected: bool) -> None:
        if connected != self.connected:
            self.connected = connected
            self.on_connection(connected)

    def _fail_pending(self) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_result(link_down("the link to the core dropped"))
        self._pending.clear()

    async def send(self, name: str, /, timeout: float = 30.0, **args: Any) -> dict[str, Any]:
        """Send one intent (terminal.api_messages.INTENTS); the core's result message (or a
        please_wait failure if the link is down or the core does not answer)."""
        ws = self._ws
        if ws is None or ws.closed:
            return link_down("no link to the core")
        request_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            await ws.send_str(intent(name, request_id, **args))
            return await asyncio.wait_for(future, timeout)
        except (ConnectionError, RuntimeError, TimeoutError):
            self._pending.pop(request_id, None)
            return link_down()

    async def stop(self) -> None:
        self._stopped = True
        if self._ws is not None:
            await self._ws.close()
