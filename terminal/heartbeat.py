"""Remote monitoring: the health report, its HTTP server (/health, /metrics) and its push to
central, whose reply may carry commands (terminal/control_room.py: out of service, in
service, reload config, reboot at idle, acknowledge an alarm) applied only while no citizen is
being served.

The report holds no personal data: no consumer numbers, names or bills — device states, money
totals, queue depths, ids of transactions at most.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import importlib.metadata
import logging
import shutil
import sys
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from drivers.base import DeviceState
from terminal.central import CentralError
from terminal.control_room import COMMANDS, ControlRoom  # noqa: F401 - re-exported
from terminal.liveness import request_exit
from terminal.logs import log_event, mask_text
from terminal.maintenance import iso_to_epoch, maintenance_for

log = logging.getLogger("heartbeat")

PROCESS_STARTED = time.monotonic()
SCHEMA = 1
PAPER_STATES = ("ok", "low", "out", "unknown")


def software_version() -> str:
    try:
        return importlib.metadata.version("emitra-kiosk")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


def paper_state(status: Any) -> str:
    """ok / low / out / unknown, from the printer's status (no reply is unknown, not ok)."""
    if status is None:
        return "unknown"
    detail = set(status.detail)
    if "paper_out" in detail:
        return "out"
    if status.state not in (DeviceState.ONLINE, DeviceState.BUSY, DeviceState.USER_ERROR):
        return "unknown"
    if detail & {"paper_near_end", "paper_low"}:
        return "low"
    return "ok"


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _outbox(core: Any, now: float) -> dict[str, Any]:
    outbox = core.kiosk.outbox
    pending = outbox.pending()
    paid_at = [s.paid_at for s in pending if s.paid_at]
    oldest = min(paid_at) if paid_at else None
    # Only refusals central made final (each refunded by a voucher); older 401/429 refusals
    # are retried now and are not news for the control room.
    refused = core.journal.count(("refund_voucher", "voucher_refused"))
    return {
        "depth": len(pending),
        "pending_paise": sum(s.amount_paise + s.voucher_paise for s in pending),
        "oldest_pending_at": oldest,
        "oldest_age_s": round(now - iso_to_epoch(oldest), 1) if oldest else None,
        "refused": refused,
        "last_error": mask_text(outbox.last_error) if outbox.last_error else None,
    }


def _disk(core: Any) -> dict[str, Any]:
    path = Path(core.journal.path).resolve().parent
    try:
        usage = shutil.disk_usage(path)
    except OSError as exc:
        return {"path": str(path), "free_bytes": None, "total_bytes": None, "error": str(exc)}
    return {"path": str(path), "free_bytes": usage.free, "total_bytes": usage.total}


def _open_faults(devices: dict[str, Any], paper: str, outbox: dict[str, Any]) -> list[dict]:
    faults = []
    for name, status in devices.items():
        if status["state"] not in (DeviceState.ONLINE.value, DeviceState.BUSY.value):
            faults.append({"code": f"{name}_{status['state']}", "device": name, **status})
    if paper in ("low", "out"):
        faults.append({"code": f"paper_{paper}", "device": "printer"})
    if outbox["refused"]:
        faults.append({"code": "payments_refused_by_central", "count": outbox["refused"]})
    return faults


def build_health(core: Any, now: float | None = None) -> dict[str, Any]:
    """The heartbeat: what the control room needs to see, and nothing personal."""
    now = time.time() if now is None else now
    kiosk = core.kiosk
    devices = {
        name: {
            "state": st.state.value,
            "detail": list(st.detail),
            "message": mask_text(st.message),
        }
        for name, st in sorted(kiosk.device_status.items())
    }
    box = core.journal.cash_box_projection()  # same dict as cash_box(), no full fold
    box.pop("counts")
    paper = paper_state(kiosk.device_status.get("printer"))
    outbox = _outbox(core, now)
    maintenance = maintenance_for(core)
    alarms = maintenance.alarms()
    last_central = core.central.last_success
    snapshot = kiosk.snapshot()
    return {
        "schema": SCHEMA,
        "terminal_id": core.config["terminal"]["id"],
        "version": software_version(),
        "generated_at": _iso(now),
        "uptime_s": round(time.monotonic() - getattr(core, "started_monotonic", PROCESS_STARTED)),
        "screen": snapshot["screen"],
        "session_in_progress": kiosk.session is not None,
        "out_of_service_command": kiosk.out_of_service_command,
        "services": kiosk.services(),
        "devices": devices,
        "paper": paper,
        "cash_box": box,
        "collections_to_report": maintenance.unreported_collections(),
        "outbox": outbox,
        "central": {
            "last_success_at": _iso(last_central),
            "age_s": round(now - last_central, 1) if last_central else None,
        },
        "disk": _disk(core),
        "maintenance": {
            "enabled": maintenance.auth.enabled,
            "reason": None if maintenance.auth.enabled else "pin_not_configured",
            "active": maintenance.active,
            "engineer_id": maintenance.engineer,
            "pin_failures": maintenance.auth.failures,
        },
        "alarms": alarms,
        "open_faults": _open_faults(devices, paper, outbox),
    }


def device_summary(core: Any) -> tuple:
    """What makes the pusher push at once when it changes."""
    kiosk = core.kiosk
    m = maintenance_for(core)
    return (
        tuple(
            (name, st.state.value, tuple(st.detail))
            for name, st in sorted(kiosk.device_status.items())
        ),
        tuple(sorted(a["code"] for a in m.alarms())),
        tuple(c["collection_id"] for c in m.unreported_collections()),
        kiosk.out_of_service_command,
        m.active,
    )


# -------------------------------------------------------------------- Prometheus


class HealthCollector:
    """Gauges computed from a fresh build_health at every scrape."""

    def __init__(self, core: Any) -> None:
        self.core = core

    def collect(self) -> Iterable[Any]:
        h = build_health(self.core)
        info = InfoMetricFamily("emitra_kiosk", "Terminal id and software version")
        info.add_metric([], {"terminal_id": h["terminal_id"], "version": h["version"]})
        yield info
        yield _gauge("emitra_uptime_seconds", "Seconds since the core started", h["uptime_s"])

        state = GaugeMetricFamily(
            "emitra_device_state", "1 for the state each device is in", labels=["device", "state"]
        )
        detail = GaugeMetricFamily(
            "emitra_device_detail",
            "Detail words of each device's status",
            labels=["device", "detail"],
        )
        up = GaugeMetricFamily("emitra_device_up", "1 if the device is usable", labels=["device"])
        for name, st in h["devices"].items():
            for s in DeviceState:
                state.add_metric([name, s.value], 1.0 if st["state"] == s.value else 0.0)
            for word in st["detail"]:
                detail.add_metric([name, word], 1.0)
            up.add_metric([name], 1.0 if st["state"] in ("online", "busy") else 0.0)
        yield state
        yield detail
        yield up

        paper = GaugeMetricFamily("emitra_paper_state", "1 for the paper state", labels=["state"])
        for p in PAPER_STATES:
            paper.add_metric([p], 1.0 if h["paper"] == p else 0.0)
        yield paper

        box = h["cash_box"]
        notes = GaugeMetricFamily(
            "emitra_cash_box_notes",
            "Notes in the cash box since the last collection, by denomination",
            labels=["denomination_rupees"],
        )
        for row in box["by_denomination"]:
            notes.add_metric([str(row["rupees"])], row["count"])
        yield notes
        yield _gauge("emitra_cash_box_paise", "Cash box total (paise)", box["total_paise"])
        yield _gauge("emitra_cash_box_notes_total", "Notes since the last collection", box["notes"])

        ob = h["outbox"]
        yield _gauge("emitra_outbox_depth", "Payments/vouchers not yet confirmed", ob["depth"])
        yield _gauge(
            "emitra_outbox_oldest_age_seconds",
            "Age of the oldest unconfirmed entry",
            ob["oldest_age_s"] or 0,
        )
        yield _gauge("emitra_outbox_refused", "Entries central refused", ob["refused"])
        last = self.core.central.last_success
        yield _gauge(
            "emitra_central_last_success_timestamp_seconds",
            "Unix time of the last good answer from central (0 = never)",
            last or 0,
        )
        screen = GaugeMetricFamily("emitra_screen", "The current screen", labels=["screen"])
        screen.add_metric([h["screen"]], 1.0)
        yield screen
        yield _gauge(
            "emitra_session_in_progress", "1 while a citizen is served", h["session_in_progress"]
        )
        yield _gauge(
            "emitra_out_of_service", "1 if put out of service", h["out_of_service_command"]
        )
        yield _gauge(
            "emitra_cash_payment_available",
            "1 if cash payment is open",
            h["services"]["cash_payment"],
        )
        if h["disk"]["free_bytes"] is not None:
            yield _gauge(
                "emitra_disk_free_bytes", "Free bytes for the journal", h["disk"]["free_bytes"]
            )
        alarm = GaugeMetricFamily("emitra_alarm", "1 for each active alarm", labels=["code"])
        for a in h["alarms"]:
            alarm.add_metric([a["code"]], 1.0)
        yield alarm
        yield _gauge("emitra_open_faults", "Open faults", len(h["open_faults"]))
        yield _gauge(
            "emitra_maintenance_active",
            "1 while an engineer is logged in",
            h["maintenance"]["active"],
        )


def _gauge(name: str, doc: str, value: Any) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=float(value))


# -------------------------------------------------------------------- the HTTP server


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

    def __init__(self, core: Any) -> None:
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


# -------------------------------------------------------------------- push to central


class HeartbeatPusher:
    """Posts build_health to central every push_interval_s and at once when the device summary
    changes; applies the commands of the reply only when no citizen is being served."""

    def __init__(
        self,
        core: Any,
        *,
        check_s: float = 0.5,
        min_gap_s: float = 1.0,
        exit_hook: Callable[[int, str], Any] | None = None,
    ) -> None:
        self.core = core
        self.interval: float = core.config["heartbeat"]["push_interval_s"]
        self.check_s = check_s
        self.min_gap_s = min_gap_s
        self.exit_hook = exit_hook or (lambda code, reason: request_exit(core, code, reason))
        # tests replace exit_hook after construction: the control room asks for it each time
        self.control = ControlRoom(core, lambda code, reason: self.exit_hook(code, reason))
        self.pushes = 0
        self.failures = 0
        self.last_push: float | None = None  # monotonic
        self.last_error: str | None = None
        self._summary: tuple | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    def push_soon(self) -> None:
        self._wake.set()

    def report(self) -> dict[str, Any]:
        health = build_health(self.core)
        health["commands"] = self.control.report()
        health["push"] = {"failures": self.failures, "last_error": self.last_error}
        return health

    async def push(self) -> bool:
        """One heartbeat to central; True when central answered."""
        self._summary = device_summary(self.core)
        health = self.report()
        self.last_push = time.monotonic()
        try:
            commands = await self.core.central.heartbeat(health)
        except CentralError as exc:
            self.failures += 1
            self.last_error = mask_text(str(exc))
            log_event(log, "heartbeat push failed", logging.WARNING, error=self.last_error)
            return False
        self.pushes += 1
        self.last_error = None
        reported = [c["collection_id"] for c in health["collections_to_report"]]
        if reported:
            maintenance_for(self.core).collections_reported(reported)
        self.control.receive(commands)
        self.control.apply_pending()
        return True

    # Central's commands (terminal/control_room.py), under the names tests and tools know.

    @property
    def pending(self) -> deque[str]:
        return self.control.pending

    @property
    def applied(self) -> deque[dict[str, Any]]:
        return self.control.applied

    @property
    def reboot_requested(self) -> bool:
        return self.control.reboot_requested

    def apply_pending(self) -> None:
        self.control.apply_pending()

    async def run(self) -> None:
        next_push = time.monotonic()
        while True:
            now = time.monotonic()
            changed = device_summary(self.core) != self._summary
            gap_ok = self.last_push is None or now - self.last_push >= self.min_gap_s
            if now >= next_push or ((changed or self._wake.is_set()) and gap_ok):
                self._wake.clear()
                try:
                    ok = await self.push()
                except Exception:
                    log.exception("heartbeat push crashed")
                    ok = False
                delay = self.interval if ok else min(self.interval, 15.0)
                next_push = time.monotonic() + delay
            try:
                self.apply_pending()
            except Exception:
                log.exception("applying central's commands failed")
            if self._wake.is_set():  # a push asked for within min_gap_s: wait out the gap
                await asyncio.sleep(self.check_s)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.check_s)

    def start(self) -> HeartbeatPusher:
        self._task = asyncio.create_task(self.run(), name="heartbeat-push")
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class HeartbeatService:
    """What start_heartbeat returns: the server, the pusher and maintenance's watcher."""

    def __init__(self, server: HeartbeatServer | None, pusher: HeartbeatPusher, maintenance):
        self.server = server
        self.pusher = pusher
        self.maintenance = maintenance
        self.stopped = False

    @property
    def url(self) -> str:
        return self.server.url if self.server else ""

    async def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        await self.pusher.stop()
        await self.maintenance.stop()
        if self.server is not None:
            await self.server.stop()


_services: weakref.WeakKeyDictionary[Any, HeartbeatService] = weakref.WeakKeyDictionary()


async def start_heartbeat(core: Any) -> HeartbeatService:
    """Start /health + /metrics (if [heartbeat] enabled), the push to central, and the
    maintenance watcher (cassette alarm, auto-leave, test notes) whose alarms the heartbeat
    reports. Once per core: a second call returns the running service."""
    running = _services.get(core)
    if running is not None and not running.stopped:
        return running
    maintenance = maintenance_for(core).start()
    server = None
    if core.config["heartbeat"]["enabled"]:
        if weak_token(core.config["heartbeat"]["token"]):
            # Not a warning: a guessable token would show the cash box to anyone.
            log_event(log, "heartbeat server not started", logging.ERROR, reason=REFUSAL)
            print(f"emitra-kiosk: {REFUSAL}", file=sys.stderr, flush=True)
        else:
            server = HeartbeatServer(core)
            await server.start()
    pusher = HeartbeatPusher(core).start()
    service = HeartbeatService(server, pusher, maintenance)
    _services[core] = service
    return service
