"""The session API: a local WebSocket where the screen (or the headless demo, or a test) gets
the session's state — a snapshot on connect, then every change — and sends the citizen's
intents. See docs/session-api.md."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import WSMsgType, web

from terminal.api_messages import PATH, result
from terminal.kiosk import IntentError, Kiosk

log = logging.getLogger("session_api")


class SessionAPI:
    def __init__(self, kiosk: Kiosk, host: str = "127.0.0.1", port: int = 8700) -> None:
        self.kiosk = kiosk
        self.host = host
        self.port = port
        self.app = web.Application()
        self.app.router.add_get(PATH, self._websocket)
        self.app.router.add_get("/state", self._state)
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self.url = ""

    async def start(self) -> str:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"ws://{self.host}:{port}{PATH}"
        return self.url

    async def stop(self) -> None:
        for ws in list(self._sockets):  # a connected screen must not hold up shutdown
            await ws.close(code=1001, message=b"core stopping")
        if self._runner:
            await self._runner.cleanup()

    async def _state(self, request: web.Request) -> web.Response:
        return web.json_response(self.kiosk.snapshot())

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=20)
        await ws.prepare(request)
        self._sockets.add(ws)
        outgoing: asyncio.Queue[dict] = asyncio.Queue()

        def on_change(snapshot: dict) -> None:
            outgoing.put_nowait({"type": "state", "state": snapshot})

        self.kiosk.add_listener(on_change)
        sender = asyncio.create_task(self._send_loop(ws, outgoing))
        await ws.send_json({"type": "snapshot", "state": self.kiosk.snapshot()})
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                reply = await self._handle(msg.data)
                await outgoing.put(reply)
        finally:
            self._sockets.discard(ws)
            self.kiosk.remove_listener(on_change)
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
        return ws

    async def _send_loop(self, ws: web.WebSocketResponse, queue: asyncio.Queue[dict]) -> None:
        while True:
            item = await queue.get()
            try:
                await ws.send_json(item)
            except (ConnectionError, RuntimeError):
                return

    async def _handle(self, text: str) -> dict[str, Any]:
        try:
            msg = json.loads(text)
            if not isinstance(msg, dict) or msg.get("type") != "intent":
                raise ValueError("not an intent message")
            name = msg["intent"]
            args = msg.get("args") or {}
            if not isinstance(name, str) or not isinstance(args, dict):
                raise ValueError("intent must be a string and args an object")
        except (ValueError, KeyError) as exc:
            return result(None, False, "bad_request", str(exc))
        request_id = msg.get("id")
        try:
            # Intents run as their own task so a slow one (fetching a bill) never blocks
            # another connection; the reply still comes back in order for this client.
            data = await asyncio.shield(asyncio.ensure_future(self.kiosk.intent(name, args)))
        except IntentError as exc:
            return result(request_id, False, exc.key, str(exc))
        except Exception as exc:  # never a traceback on the citizen's screen
            log.exception("intent %s failed", name)
            return result(request_id, False, "please_wait", f"internal error: {exc}")
        reply = result(request_id, True)
        if data:
            reply["data"] = data
        return reply
