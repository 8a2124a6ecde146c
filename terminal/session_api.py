"""The session API: a local WebSocket where the screen (or the headless demo, or a test) gets
the session's state — a snapshot on connect, then every change — and sends the citizen's
intents. See docs/session-api.md.

The socket is local but not trusted (docs/DESIGN.md, "Trust boundaries"): every connection
presents the token the core wrote at start; maintenance rights belong to the one connection
that logged in; every connection has a bounded send queue, and their number is bounded too.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections import deque
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from terminal.api_messages import MSG_SNAPSHOT, MSG_STATE, PATH, result, token_file_for
from terminal.engineer_auth import login_source
from terminal.kiosk import IntentError, Kiosk
from terminal.session_guard import BadMessage, RateLimitedLog, parse_intent
from terminal.session_token import SessionToken

log = logging.getLogger("session_api")
STOP_WAIT_S = 2.0  # at shutdown, how long a screen's connection may take to close

DEFAULTS: dict[str, Any] = {
    "token_file": "",
    "token_group": "",
    "max_connections": 8,
    "max_message_bytes": 65536,
    "send_queue_max": 64,
    "send_timeout_s": 30.0,
    "log_interval_s": 60.0,
}


class Outbox:
    """What is waiting to be sent to one client. States are whole snapshots, so at most one
    is queued (a newer one replaces it in place, keeping its order before later results);
    results are bounded, and `overflow` says the client stopped reading."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: deque[dict[str, Any]] = deque()
        self.overflow = False
        self._state: dict[str, Any] | None = None
        self._wake = asyncio.Event()

    def put_state(self, snapshot: dict) -> None:
        if self._state is not None:
            self._state["state"] = snapshot
            return
        self._state = {"type": MSG_STATE, "state": snapshot}
        self.items.append(self._state)
        self._wake.set()

    def put_result(self, reply: dict[str, Any]) -> None:
        if len(self.items) >= self.limit:
            self.overflow = True
        else:
            self.items.append(reply)
        self._wake.set()

    async def get(self) -> dict[str, Any]:
        while not self.items:
            self._wake.clear()
            await self._wake.wait()
        item = self.items.popleft()
        if item is self._state:
            self._state = None
        return item


class SessionAPI:
    def __init__(self, kiosk: Kiosk, host: str = "127.0.0.1", port: int = 8700) -> None:
        self.kiosk = kiosk
        self.host = host
        self.port = port
        config = getattr(kiosk, "config", {}) or {}
        self.settings = {**DEFAULTS, **(config.get("session_api") or {})}
        self.token = SessionToken(token_file_for(config), self.settings["token_group"])
        self.app = web.Application(client_max_size=4096)
        self.app.router.add_get(PATH, self._websocket)
        self.app.router.add_get("/state", self._state)
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self._admitted = 0
        self._ids = itertools.count(1)
        self._log = RateLimitedLog(log, self.settings["log_interval_s"])
        self.url = ""

    async def start(self) -> str:
        # A screen's handler must not hold up shutdown for aiohttp's default 60 s (seen: a core
        # that took a minute to stop after SIGTERM, past a test's and systemd's patience).
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=STOP_WAIT_S)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.token.publish(port)
        self.url = f"ws://{self.host}:{port}{PATH}"
        return self.url

    async def stop(self) -> None:
        self.token.withdraw()
        for ws in list(self._sockets):  # a connected screen must not hold up shutdown
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STOP_WAIT_S):
                    await ws.close(code=1001, message=b"core stopping")
        if self._runner:
            await self._runner.cleanup()

    # ---------------------------------------------------------------- admission

    def _refusal(self, request: web.Request) -> web.Response | None:
        """401 without the token, 503 when full; each logged at most once per interval."""
        if not self.token.matches(request.headers.get("Authorization", "")):
            self._log("token", "session connection refused", reason="no valid token",
                      path=request.path)
            return web.json_response(
                {"error": "unauthorised", "message": "Authorization: Bearer <token> required"},
                status=401, headers={"WWW-Authenticate": 'Bearer realm="emitra-kiosk"'},
            )
        if request.path == PATH and self._admitted >= self.settings["max_connections"]:
            self._log("full", "session connection refused", reason="too many connections",
                      limit=self.settings["max_connections"])
            return web.json_response(
                {"error": "busy", "message": "too many connections"}, status=503
            )
        return None

    async def _state(self, request: web.Request) -> web.Response:
        return self._refusal(request) or web.json_response(self.kiosk.snapshot())

    # ---------------------------------------------------------------- one connection

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        self._admitted += 1
        try:
            return await self._serve(request)
        finally:
            self._admitted -= 1

    async def _serve(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=20, max_msg_size=self.settings["max_message_bytes"])
        await ws.prepare(request)
        conn = f"ws-{next(self._ids)}"
        login_source.set(conn)  # this handler's task; the intents it starts inherit it
        self._sockets.add(ws)
        outbox = Outbox(self.settings["send_queue_max"])
        outbox.put_result({"type": MSG_SNAPSHOT, "state": self.kiosk.snapshot()})
        self.kiosk.add_listener(outbox.put_state)
        sender = asyncio.create_task(self._send_loop(request, ws, outbox))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                outbox.put_result(await self._handle(conn, msg.data))
                if outbox.overflow:
                    self._log("overflow", "session connection dropped",
                              reason="client does not read", connection=conn)
                    break
        finally:
            self._sockets.discard(ws)
            self.kiosk.remove_listener(outbox.put_state)
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
            self._end_login(conn)
            if not ws.closed:
                await self._close(request, ws, WSCloseCode.POLICY_VIOLATION)
        return ws

    async def _send_loop(
        self, request: web.Request, ws: web.WebSocketResponse, outbox: Outbox
    ) -> None:
        while True:
            item = await outbox.get()
            try:
                await asyncio.wait_for(ws.send_str(json.dumps(item)),
                                       self.settings["send_timeout_s"])
            except TimeoutError:
                self._log("stalled", "session connection dropped", reason="send timed out")
                if request.transport is not None:
                    request.transport.abort()
                return
            except (ConnectionError, RuntimeError):
                return

    async def _close(self, request: web.Request, ws: web.WebSocketResponse, code: int) -> None:
        try:
            await asyncio.wait_for(ws.close(code=code), 1.0)
        except (TimeoutError, ConnectionError, RuntimeError):
            if request.transport is not None:
                request.transport.abort()

    def _end_login(self, conn: str) -> None:
        """The engineer's login ends with the connection that made it."""
        m = self.kiosk.maintenance
        if m is None:
            return
        if getattr(m, "owner", None) == conn:
            m.leave("connection_closed")
        m.auth.forget_source(conn)

    # ---------------------------------------------------------------- intents

    async def _handle(self, conn: str, text: str) -> dict[str, Any]:
        try:
            request_id, name, args = parse_intent(text)
        except BadMessage as exc:
            return result(exc.request_id, False, exc.key, str(exc))
        if name == "maintenance" and args.get("action") != "enter":
            m = self.kiosk.maintenance
            if m is None or not m.active or getattr(m, "owner", None) != conn:
                return result(request_id, False, "not_in_maintenance",
                              "no engineer is logged in on this connection")
        try:
            # Intents run as their own task so a slow one (fetching a bill) never blocks
            # another connection; the reply still comes back in order for this client.
            data = await asyncio.shield(asyncio.ensure_future(self.kiosk.intent(name, args)))
        except IntentError as exc:
            return result(request_id, False, exc.key, str(exc))
        except Exception as exc:  # never a traceback on the citizen's screen
            log.exception("intent %s failed", name)
            return result(request_id, False, "please_wait", f"internal error: {type(exc).__name__}")
        reply = result(request_id, True)
        if data:
            reply["data"] = data
        return reply
