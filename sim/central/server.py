"""Reference central transaction API server (docs/central-api.md), aiohttp + SQLite.

Run standalone: ``python -m sim.central.server [--port N] [--db PATH] [--terminal ID=SECRET]``;
the base URL is printed alone on the first line of stdout, one log line per request goes to
stderr. Tests use :class:`CentralServer` or :func:`make_app` with the ``aiohttp_client`` fixture.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import logging
import re
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from sim.devices.card import TEST_AC_KEY

from . import seed
from .signing import AuthError, check_signature
from .store import ApiError, CentralStore

log = logging.getLogger("sim.central")

DEFAULT_TERMINALS = {"RJ-JPR-0001": "demo-secret"}
FAIL_MODES = ("none", "http500", "garbage", "slow")
COMMANDS = ("out_of_service", "in_service", "reload_config", "reboot_at_idle")
SLOW_SECONDS = 30.0
MAX_PAISE = 10**12  # ten thousand crore rupees; keeps every amount inside SQLite's int64
CARD_LIMIT_PAISE = 50_000_00  # card authorisations above this are declined ("limit")
INSUFFICIENT_FUNDS_SUFFIX = "0002"  # test cards whose PAN ends so are declined for funds

_DIGITS = re.compile(r"[0-9]{1,20}")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")
# first 6 and last 4 digits, the rest masked (a 12- to 19-digit PAN); a full PAN never matches
_PAN_MASKED = re.compile(r"[0-9]{6}\*{2,9}[0-9]{4}")
_EXPIRY = re.compile(r"[0-9]{2}(0[1-9]|1[0-2])")
_AID = re.compile(r"(?:[0-9A-Fa-f]{2}){5,16}")
_ARQC = re.compile(r"[0-9A-Fa-f]{16}")
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2}){1,252}")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class CentralState:
    """Everything the handlers share: the store, the terminals' secrets, the fault plan."""

    def __init__(
        self,
        store: CentralStore,
        terminals: dict[str, str],
        clock: Callable[[], float],
        card_ac_key: bytes = TEST_AC_KEY,
        card_limit_paise: int = CARD_LIMIT_PAISE,
    ) -> None:
        self.store = store
        self.terminals = dict(terminals)
        self.clock = clock
        self.card_ac_key = card_ac_key  # the issuer's key for the stand-in ARQC
        self.card_limit_paise = card_limit_paise
        self.fail_mode = "none"
        self.fail_remaining = 0
        self.slow_seconds = SLOW_SECONDS
        # terminal id (None = any terminal) -> commands for its next heartbeat
        self.commands: dict[str | None, list[dict[str, str]]] = {}

    def fail_next(self, mode: str, count: int = 1) -> None:
        if mode not in FAIL_MODES:
            raise ValueError(f"unknown fail mode {mode!r}; one of {', '.join(FAIL_MODES)}")
        if count < 0:
            raise ValueError("count must be >= 0")
        self.fail_mode = mode
        self.fail_remaining = 0 if mode == "none" else count

    def take_failure(self) -> str:
        if self.fail_mode == "none" or self.fail_remaining <= 0:
            return "none"
        self.fail_remaining -= 1
        mode = self.fail_mode
        if self.fail_remaining == 0:
            self.fail_mode = "none"
        return mode

    def queue_command(self, command: str, terminal_id: str | None = None) -> None:
        if command not in COMMANDS:
            raise ValueError(f"unknown command {command!r}; one of {', '.join(COMMANDS)}")
        self.commands.setdefault(terminal_id, []).append({"command": command})

    def take_commands(self, terminal_id: str) -> list[dict[str, str]]:
        return self.commands.pop(terminal_id, []) + self.commands.pop(None, [])


STATE = web.AppKey("central_state", CentralState)
# The authenticated terminal of a /v1 request (web.RequestKey exists from aiohttp 3.13 on).
TERMINAL_ID: Any = (
    web.RequestKey("terminal_id", str) if hasattr(web, "RequestKey") else "terminal_id"
)


# -- helpers -------------------------------------------------------------------------------------


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "bad_request", message)


async def json_object(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        body = json.loads(raw)
    except ValueError:
        raise bad_request("body is not valid JSON") from None
    if not isinstance(body, dict):
        raise bad_request("body must be a JSON object")
    return body


def want_str(body: dict[str, Any], key: str, *, nullable: bool = False) -> str | None:
    if key not in body:
        if nullable:
            return None
        raise bad_request(f"missing field {key!r}")
    value = body[key]
    if value is None and nullable:
        return None
    if not isinstance(value, str) or not value or len(value) > 100:
        raise bad_request(f"field {key!r} must be a non-empty string of at most 100 chars")
    return value


def want_id(body: dict[str, Any], key: str, *, nullable: bool = False) -> str | None:
    value = want_str(body, key, nullable=nullable)
    if value is not None and not _ID.fullmatch(value):
        raise bad_request(f"field {key!r} has characters outside [A-Za-z0-9._:-]")
    return value


def want_int(
    body: dict[str, Any], key: str, *, minimum: int = 0, required: bool = True
) -> int | None:
    if key not in body or body[key] is None:
        if required:
            raise bad_request(f"missing field {key!r}")
        return None
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_PAISE:
        raise bad_request(f"field {key!r} must be an integer from {minimum} to {MAX_PAISE} (paise)")
    return value


def is_loopback(remote: str | None) -> bool:
    return remote is not None and (remote == "::1" or remote.startswith("127."))


# -- middlewares ---------------------------------------------------------------------------------


@web.middleware
async def log_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.monotonic()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    finally:
        log.info(
            "%s %s %s %d %.1fms",
            request.get(TERMINAL_ID, "-"),
            request.method,
            request.path_qs,
            status,
            (time.monotonic() - started) * 1000,
        )


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves as JSON {"error", "message"}; never a traceback to the client."""
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message)
    except AuthError as exc:
        return error_response(401, exc.code, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            exc.status, "bad_request" if exc.status < 500 else "internal_error"
        )
        return error_response(exc.status, code, exc.reason)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unexpected error in %s %s", request.method, request.path_qs)
        return error_response(500, "internal_error", "unexpected server error")


def _is_api(request: web.Request) -> bool:
    return request.path.startswith("/v1/") and request.match_info.http_exception is None


@web.middleware
async def inject_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The test controls of POST /_sim/fail, applied to the signed API before anything else."""
    if not _is_api(request):
        return await handler(request)
    state = request.app[STATE]
    mode = state.take_failure()
    if mode == "http500":
        return error_response(500, "internal_error", "injected failure (http500)")
    if mode == "garbage":
        return web.Response(
            status=200, body=b'{"receipt_no": "RCPT-\x00<html>', content_type="application/json"
        )
    if mode == "slow":
        await asyncio.sleep(state.slow_seconds)
    return await handler(request)


@web.middleware
async def check_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not _is_api(request):
        return await handler(request)
    state = request.app[STATE]
    body = await request.read()
    now = state.clock()
    signed = check_signature(
        request.headers, request.method, request.raw_path, body, state.terminals, now
    )
    request[TERMINAL_ID] = signed.terminal_id
    if not state.store.remember_nonce(signed.terminal_id, signed.nonce, now):
        raise AuthError("replayed_nonce", "this nonce was already used by this terminal")
    return await handler(request)


# -- signed API ----------------------------------------------------------------------------------


async def get_services(request: web.Request) -> web.Response:
    return web.json_response({"services": seed.CATALOGUE})


async def get_bill(request: web.Request) -> web.Response:
    provider = request.query.get("provider", "")
    consumer = request.query.get("consumer", "")
    if not provider or not consumer:
        raise bad_request("query parameters 'provider' and 'consumer' are required")
    if not _DIGITS.fullmatch(consumer):
        raise bad_request("'consumer' must be 1 to 20 digits")
    if seed.provider_service(provider) is None:
        raise ApiError(404, "bill_not_found", f"unknown provider {provider!r}")
    bill = request.app[STATE].store.find_bill(provider, consumer)
    if bill is None:
        raise ApiError(404, "bill_not_found", f"no bill for {provider} consumer {consumer}")
    return web.json_response(bill)


async def post_payment(request: web.Request) -> web.Response:
    body = await json_object(request)
    want_id(body, "txn_id")
    want_id(body, "bill_id")
    want_str(body, "provider")
    consumer = want_str(body, "consumer_number")
    if not _DIGITS.fullmatch(consumer or ""):
        raise bad_request("'consumer_number' must be 1 to 20 digits")
    want_int(body, "amount_paise", minimum=1)
    want_int(body, "tendered_paise", required=False)
    want_int(body, "voucher_paise", required=False)
    want_id(body, "voucher_id", nullable=True)
    want_str(body, "paid_at", nullable=True)
    notes = body.get("notes")
    if notes is not None and (
        not isinstance(notes, list)
        or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in notes)
    ):
        raise bad_request("field 'notes' must be a list of positive integers (paise)")
    state = request.app[STATE]
    status, reply = state.store.post_payment(body, request[TERMINAL_ID], state.clock())
    return web.json_response(reply, status=status)


async def post_voucher(request: web.Request) -> web.Response:
    body = await json_object(request)
    want_id(body, "voucher_id")
    want_id(body, "txn_id", nullable=True)
    want_int(body, "amount_paise", minimum=1)
    want_str(body, "issued_at", nullable=True)
    state = request.app[STATE]
    status, reply = state.store.create_voucher(body, request[TERMINAL_ID], state.clock())
    return web.json_response(reply, status=status)


async def get_voucher(request: web.Request) -> web.Response:
    voucher_id = request.match_info["voucher_id"]
    return web.json_response(request.app[STATE].store.get_voucher(voucher_id))


async def redeem_voucher(request: web.Request) -> web.Response:
    body = await json_object(request)
    txn_id = want_id(body, "txn_id")
    assert txn_id is not None
    state = request.app[STATE]
    reply = state.store.redeem_voucher(request.match_info["voucher_id"], txn_id, state.clock())
    return web.json_response(reply)


async def verify_receipt(request: web.Request) -> web.Response:
    txn_id = request.query.get("txn_id", "")
    code = request.query.get("code", "")
    if not txn_id or not code:
        raise bad_request("query parameters 'txn_id' and 'code' are required")
    return web.json_response(request.app[STATE].store.verify_receipt(txn_id, code))


async def post_heartbeat(request: web.Request) -> web.Response:
    body = await json_object(request)
    state = request.app[STATE]
    terminal_id = request[TERMINAL_ID]
    state.store.add_heartbeat(terminal_id, state.clock(), body)
    return web.json_response({"ok": True, "commands": state.take_commands(terminal_id)})


def want_match(body: dict[str, Any], key: str, pattern: re.Pattern[str], what: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise bad_request(f"field {key!r} must be {what}")
    return value


def expected_arqc(key: bytes, cdol1_data: bytes, atc: int) -> str:
    """The card emulator's stand-in cryptogram: HMAC-SHA256(key, CDOL1 data || ATC)[:8]."""
    mac = hmac.new(key, cdol1_data + atc.to_bytes(2, "big"), hashlib.sha256).digest()
    return mac[:8].hex().upper()


def card_decision(state: CentralState, body: dict[str, Any]) -> str | None:
    """The reference issuer's answer: the decline reason, or None to approve.

    The cryptogram must verify and cover the amount asked (CDOL1 starts with the amount
    authorised, 9F02, 6 bytes BCD); then the card must not be expired (valid through the end of
    its expiry month, server clock, UTC), the amount within the limit, and funds sufficient.
    """
    cdol1 = bytes.fromhex(body["cdol1_data"])
    want = expected_arqc(state.card_ac_key, cdol1, body["atc"])
    if not hmac.compare_digest(want, body["arqc"].upper()):
        return "bad_cryptogram"
    if len(cdol1) < 6 or cdol1[:6].hex() != f"{body['amount_paise']:012d}":
        return "bad_cryptogram"
    now = time.gmtime(state.clock())
    yy, mm = int(body["expiry"][:2]), int(body["expiry"][2:])
    if (2000 + yy, mm) < (now.tm_year, now.tm_mon):
        return "expired"
    if body["amount_paise"] > state.card_limit_paise:
        return "limit"
    if body["pan_masked"].endswith(INSUFFICIENT_FUNDS_SUFFIX):
        return "insufficient_funds"
    return None


async def post_card_authorisation(request: web.Request) -> web.Response:
    body = await json_object(request)
    want_id(body, "auth_id")
    want_id(body, "txn_id")
    want_int(body, "amount_paise", minimum=1)
    want_match(body, "pan_masked", _PAN_MASKED, "a masked PAN: first 6 and last 4 digits only")
    want_match(body, "expiry", _EXPIRY, "the card's expiry as YYMM")
    want_match(body, "aid", _AID, "the application id in hex (5 to 16 bytes)")
    want_match(body, "arqc", _ARQC, "the 8-byte cryptogram in hex")
    want_match(body, "cdol1_data", _HEX, "the CDOL1 data sent to the card, in hex")
    atc = body.get("atc")
    if isinstance(atc, bool) or not isinstance(atc, int) or not 0 <= atc <= 0xFFFF:
        raise bad_request("field 'atc' must be an integer from 0 to 65535")
    state = request.app[STATE]
    status, reply = state.store.authorise_card(
        body, request[TERMINAL_ID], state.clock(), lambda b: card_decision(state, b)
    )
    log.info(
        "card authorisation %s pan=%s amount=%d -> %s %s",
        body["auth_id"],
        body["pan_masked"],
        body["amount_paise"],
        reply["status"],
        reply.get("reason") or "",
    )
    return web.json_response(reply, status=status)


# -- test-only controls (unsigned, loopback only) ------------------------------------------------


def _loopback_only(request: web.Request) -> None:
    if not is_loopback(request.remote):
        raise ApiError(403, "forbidden", "test controls answer on loopback only")


async def sim_fail(request: web.Request) -> web.Response:
    _loopback_only(request)
    body = await json_object(request)
    mode = body.get("mode")
    count = body.get("count", 1)
    if mode not in FAIL_MODES:
        raise bad_request(f"'mode' must be one of {', '.join(FAIL_MODES)}")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise bad_request("'count' must be an integer >= 0")
    state = request.app[STATE]
    state.fail_next(mode, count)
    return web.json_response({"ok": True, "mode": state.fail_mode, "count": state.fail_remaining})


async def sim_payments(request: web.Request) -> web.Response:
    _loopback_only(request)
    return web.json_response({"payments": request.app[STATE].store.payments()})


async def sim_vouchers(request: web.Request) -> web.Response:
    _loopback_only(request)
    return web.json_response({"vouchers": request.app[STATE].store.vouchers()})


async def sim_heartbeats(request: web.Request) -> web.Response:
    _loopback_only(request)
    return web.json_response({"heartbeats": request.app[STATE].store.heartbeats()})


async def sim_commands(request: web.Request) -> web.Response:
    _loopback_only(request)
    body = await json_object(request)
    command = body.get("command")
    terminal_id = body.get("terminal_id")
    if command not in COMMANDS:
        raise bad_request(f"'command' must be one of {', '.join(COMMANDS)}")
    if terminal_id is not None and not isinstance(terminal_id, str):
        raise bad_request("'terminal_id' must be a string or null")
    request.app[STATE].queue_command(command, terminal_id)
    return web.json_response({"ok": True})


# -- assembly ------------------------------------------------------------------------------------


def _build_app(state: CentralState, close_store: bool) -> web.Application:
    app = web.Application(
        middlewares=[log_requests, json_errors, inject_faults, check_auth],
        client_max_size=256 * 1024,
    )
    app[STATE] = state
    r = app.router
    r.add_get("/v1/services", get_services, allow_head=False)
    r.add_get("/v1/bills", get_bill, allow_head=False)
    r.add_post("/v1/payments", post_payment)
    r.add_post("/v1/vouchers", post_voucher)
    r.add_get("/v1/vouchers/{voucher_id}", get_voucher, allow_head=False)
    r.add_post("/v1/vouchers/{voucher_id}/redeem", redeem_voucher)
    r.add_get("/v1/receipts/verify", verify_receipt, allow_head=False)
    r.add_post("/v1/heartbeat", post_heartbeat)
    r.add_post("/v1/card/authorisations", post_card_authorisation)
    r.add_post("/_sim/fail", sim_fail)
    r.add_get("/_sim/payments", sim_payments, allow_head=False)
    r.add_get("/_sim/vouchers", sim_vouchers, allow_head=False)
    r.add_get("/_sim/heartbeats", sim_heartbeats, allow_head=False)
    r.add_post("/_sim/commands", sim_commands)
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

    def fail_next(self, mode: str, count: int = 1) -> None:
        self.state.fail_next(mode, count)

    def queue_command(self, command: str, terminal_id: str | None = None) -> None:
        """Deliver {"command": command} in the reply to the next heartbeat (of terminal_id)."""
        self.state.queue_command(command, terminal_id)


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
