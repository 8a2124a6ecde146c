"""The heartbeat's HTTP server: GET /health (JSON, terminal/health.py) and GET /metrics
(Prometheus, terminal/metrics.py), both behind a Bearer token; it refuses to start on a token
anybody could guess."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from terminal.core_view import CoreView
from terminal.health import build_health
from terminal.logs import log_event
from terminal.metrics import HealthCollector

log = logging.getLogger("heartbeat")


WEAK_TOKENS = ("", "change-me")
REFUSAL = (
    "heartbeat: refusing to start /health and /metrics: [heartbeat] token is empty or "
    "'change-me'; set a random one (systemd/install.sh does)"
)


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
        return web.json_response(build_health(self.core), headers={"Cache-Control": "no-store"})

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
