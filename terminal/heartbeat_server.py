"""The heartbeat's HTTP server: GET /health (JSON, terminal/health.py), GET /metrics
(Prometheus, terminal/metrics.py), and POST/DELETE /drain (terminal/drain.py: stop taking new
citizens before an upgrade, and back), all behind a Bearer token; /drain also only from this
machine. It refuses to start on a token anybody could guess."""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Callable

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from terminal.core_view import CoreView
from terminal.drain import drain_for
from terminal.health import build_health
from terminal.logs import log_event
from terminal.metrics import HealthCollector

log = logging.getLogger("heartbeat")


WEAK_TOKENS = ("", "change-me")
REFUSAL = (
    "heartbeat: refusing to start /health and /metrics: [heartbeat] token is empty or "
    "'change-me'; set a random one (the emitra-kiosk package's postinst writes one into "
    "/etc/emitra-kiosk/site.toml)"
)


def _loopback(remote: str | None) -> bool:
    """127.0.0.0/8, ::1, or ::ffff:127.x (a dual-stack socket's view of an IPv4 peer)."""
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


class WeakTokenError(RuntimeError):
    """The heartbeat token is one anybody could guess: the server does not start."""


def weak_token(token: str) -> bool:
    return token.strip() in WEAK_TOKENS


class HeartbeatServer:
    """GET /health (JSON) and GET /metrics (Prometheus), both behind a Bearer token."""

    def __init__(self, core: CoreView) -> None:
        self.core = core
        section = core.config["heartbeat"]
        self.host: str = section["bind"]
        self.port: int = section["port"]
        self._token = section["token"].encode()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(HealthCollector(core))
        self._runner: web.AppRunner | None = None
        self.url = ""

    def authorised(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not self._token:
            # Still compare, so a missing header costs the same as a wrong one.
            hmac.compare_digest(b"-", self._token)
            return False
        return hmac.compare_digest(token.strip().encode(), self._token)

    @web.middleware
    async def _auth(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        if not self.authorised(request):
            return web.json_response(
                {"error": "unauthorised", "message": "Authorization: Bearer <token> required"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="emitra-kiosk"'},
            )
        return await handler(request)

    async def health(self, request: web.Request) -> web.Response:
        drain_for(self.core).apply()  # a drain waiting for a session end that sent no event
        return web.json_response(build_health(self.core), headers={"Cache-Control": "no-store"})

    async def drain(self, request: web.Request) -> web.Response:
        """POST: take the kiosk out of service for new citizens (the one being served
        finishes); DELETE: back in service. Answers with /health's drain and idle fields."""
        if not _loopback(request.remote):
            # The heartbeat may listen on every interface for the control room's /health;
            # closing the kiosk is for the machine's own package manager only.
            return web.json_response(
                {"error": "forbidden", "message": "/drain is served to this machine only"},
                status=403,
            )
        drain = drain_for(self.core)
        if request.method == "POST":
            drain.request()
        else:
            drain.cancel()
        health = build_health(self.core)
        body = {"drain": health["drain"], "idle": health["idle"],
                "session_in_progress": health["session_in_progress"]}
        return web.json_response(body, headers={"Cache-Control": "no-store"})

    async def metrics(self, request: web.Request) -> web.Response:
        body = generate_latest(self.registry)
        return web.Response(
            body=body, headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"}
        )

    async def start(self) -> str:
        if weak_token(self.core.config["heartbeat"]["token"]):
            raise WeakTokenError(REFUSAL)
        app = web.Application(middlewares=[self._auth])
        app.router.add_get("/health", self.health, allow_head=False)
        app.router.add_get("/metrics", self.metrics, allow_head=False)
        app.router.add_post("/drain", self.drain)
        app.router.add_delete("/drain", self.drain)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        await web.TCPSite(runner, self.host, self.port).start()
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self.port = port
        self.url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        log_event(log, "heartbeat server", url=self.url)
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
