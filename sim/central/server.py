"""Reference central transaction API server (docs/central-api.md), aiohttp + SQLite.

Run standalone: ``python -m sim.central.server [--port N] [--db PATH] [--terminal ID=SECRET]``;
the base URL is printed alone on the first line of stdout, one log line per request goes to
stderr. Tests use :class:`CentralServer` or :func:`make_app` with the ``aiohttp_client`` fixture.
The handlers are in handlers.py and controls.py, the middlewares in middleware.py.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from sim.devices.card import TEST_AC_KEY

from . import (
    application_routes,
    b2b_routes,
    catalogue_routes,
    controls,
    handlers,
    scheme_routes,
    services_store,
    voucher_routes,
)
from .middleware import check_auth, inject_faults, json_errors, log_requests, sign_replies
from .state import CARD_LIMIT_PAISE, DEFAULT_TERMINALS, STATE, CentralState
from .store import CentralStore

__all__ = ["CentralServer", "CentralState", "make_app", "main"]


# -- assembly ------------------------------------------------------------------------------------


def _build_app(state: CentralState, close_store: bool) -> web.Application:
    app = web.Application(
        middlewares=[log_requests, sign_replies, json_errors, check_auth, inject_faults],
        client_max_size=256 * 1024,
    )
    app[STATE] = state
    r = app.router
    b2b_routes.register(app)  # e-Mitra back-to-back (/b2b/) over the same store
    r.add_get("/v1/services", handlers.get_services, allow_head=False)
    r.add_get("/v1/bills", handlers.get_bill, allow_head=False)
    r.add_post("/v1/payments", handlers.post_payment)
    r.add_post("/v1/vouchers", handlers.post_voucher)
    r.add_get("/v1/vouchers/{voucher_id}", handlers.get_voucher, allow_head=False)
    r.add_post("/v1/vouchers/{voucher_id}/redeem", handlers.redeem_voucher)
    r.add_get("/v1/receipts/verify", handlers.verify_receipt, allow_head=False)
    r.add_post("/v1/heartbeat", handlers.post_heartbeat)
    r.add_post("/v1/card/authorisations", handlers.post_card_authorisation)
    catalogue_routes.add_routes(r)  # the catalogue and the citizen services
    application_routes.add_routes(r)
    scheme_routes.add_routes(r)  # the scheme pages (Information)
    voucher_routes.attach(app)  # voucher terms, release, advance credits
    services_store.attach(app, state.store, state.store.receipt_key, close_with_app=close_store)
    r.add_post("/_sim/fail", controls.sim_fail)
    r.add_get("/_sim/payments", controls.sim_payments, allow_head=False)
    r.add_get("/_sim/vouchers", controls.sim_vouchers, allow_head=False)
    r.add_get("/_sim/heartbeats", controls.sim_heartbeats, allow_head=False)
    r.add_post("/_sim/commands", controls.sim_commands)
    if close_store:

        async def _close(app: web.Application) -> None:
            app[STATE].store.close()

        app.on_cleanup.append(_close)
    return app


def make_app(
    db_path: str | Path = ":memory:",
    terminals: dict[str, str] | None = None,
    receipt_key: str = "central-receipt-key",
    clock: Callable[[], float] = time.time,
    card_ac_key: bytes = TEST_AC_KEY,
    card_limit_paise: int = CARD_LIMIT_PAISE,
) -> web.Application:
    store = CentralStore(db_path, receipt_key=receipt_key)
    state = CentralState(
        store,
        DEFAULT_TERMINALS if terminals is None else terminals,
        clock,
        card_ac_key=card_ac_key,
        card_limit_paise=card_limit_paise,
    )
    return _build_app(state, close_store=True)


class CentralServer:
    """The app on 127.0.0.1 (port 0 = a free port), with the test controls as methods.

    The store stays open after stop(), so payments() etc. can still be read afterwards.
    """

    def __init__(
        self,
        db_path: str | Path = ":memory:",
        terminals: dict[str, str] | None = None,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        receipt_key: str = "central-receipt-key",
        clock: Callable[[], float] = time.time,
        card_ac_key: bytes = TEST_AC_KEY,
        card_limit_paise: int = CARD_LIMIT_PAISE,
    ) -> None:
        self.store = CentralStore(db_path, receipt_key=receipt_key)
        self.state = CentralState(
            self.store,
            DEFAULT_TERMINALS if terminals is None else terminals,
            clock,
            card_ac_key=card_ac_key,
            card_limit_paise=card_limit_paise,
        )
        self.app = _build_app(self.state, close_store=False)
        self.host = host
        self.port = port
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self.port = port
        self.url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    def close_databases(self) -> None:
        """For good: stop() alone keeps the stores open, so a test can start the same central
        again on the same database; whoever ends its life closes them (three file
        descriptors each, which a long test run would otherwise run out of)."""
        self.app[services_store.SERVICES].close()
        self.store.close()

    async def __aenter__(self) -> CentralServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def payments(self) -> list[dict[str, Any]]:
        return self.store.payments()

    def vouchers(self) -> list[dict[str, Any]]:
        return self.store.vouchers()

    def heartbeats(self) -> list[dict[str, Any]]:
        return self.store.heartbeats()

    def card_authorisations(self) -> list[dict[str, Any]]:
        return self.store.card_authorisations()

    def applications(self) -> list[dict[str, Any]]:
        return self.app[services_store.SERVICES].applications()

    def grievances(self) -> list[dict[str, Any]]:
        return self.app[services_store.SERVICES].grievances()

    def fail_next(self, mode: str, count: int = 1) -> None:
        self.state.fail_next(mode, count)

    def queue_command(self, command: str, terminal_id: str | None = None, **args: str) -> None:
        """Deliver {"command": command, **args} in the reply to the next heartbeat (of
        terminal_id); acknowledge_alarm takes code= and note=."""
        self.state.queue_command(command, terminal_id, **args)


# -- command line --------------------------------------------------------------------------------


def _terminal_arg(text: str) -> tuple[str, str]:
    terminal_id, sep, secret = text.partition("=")
    if not sep or not terminal_id or not secret:
        raise argparse.ArgumentTypeError(f"expected ID=SECRET, got {text!r}")
    return terminal_id, secret


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sim.central.server",
        description="Reference central transaction API server (docs/central-api.md).",
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port (default 0: a free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument("--db", default="central.sqlite", help="SQLite file (central.sqlite)")
    parser.add_argument(
        "--terminal",
        action="append",
        type=_terminal_arg,
        default=[],
        metavar="ID=SECRET",
        help="a terminal and its signing secret (repeatable; default RJ-JPR-0001=demo-secret)",
    )
    parser.add_argument("--receipt-key", default="central-receipt-key")
    parser.add_argument(
        "--card-limit",
        type=int,
        default=CARD_LIMIT_PAISE,
        metavar="PAISE",
        help=f"card authorisations above this are declined (default {CARD_LIMIT_PAISE})",
    )
    args = parser.parse_args(argv)
    terminals = dict(args.terminal) or dict(DEFAULT_TERMINALS)
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(message)s"
    )
    return asyncio.run(_serve(args, terminals))


async def _serve(args: argparse.Namespace, terminals: dict[str, str]) -> int:
    server = CentralServer(
        db_path=args.db,
        terminals=terminals,
        port=args.port,
        host=args.host,
        receipt_key=args.receipt_key,
        card_limit_paise=args.card_limit,
    )
    url = await server.start()
    print(url, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()
        server.store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
