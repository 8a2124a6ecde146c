"""The reference central's middlewares, outermost first: request log, reply signing, JSON errors,
request authentication, and the test fault plan (POST /_sim/fail)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from email.utils import formatdate
from typing import Any

from aiohttp import web

from .signing import H_NONCE, H_REPLY_SIGNATURE, AuthError, check_signature, reply_signature
from .state import REPLY_TO, STATE, TERMINAL_ID, error_response
from .store import ApiError

log = logging.getLogger("sim.central")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# request flag set by the "unsigned" fault
_UNSIGNED: Any = (
    web.RequestKey("sim_unsigned", bool) if hasattr(web, "RequestKey") else "sim_unsigned"
)


def _is_api(request: web.Request) -> bool:
    return request.path.startswith("/v1/") and request.match_info.http_exception is None


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
async def sign_replies(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Sign every answer to a request whose signature verified (errors included), over status,
    the request's nonce, the Date sent and the body: a forged or replayed reply cannot pass."""
    response = await handler(request)
    reply_to = request.get(REPLY_TO)
    if reply_to is None or request.get(_UNSIGNED) or not isinstance(response, web.Response):
        return response
    secret, nonce = reply_to
    body = response.body if isinstance(response.body, bytes) else b""
    date = formatdate(request.app[STATE].clock(), usegmt=True)
    response.headers["Date"] = date
    response.headers[H_REPLY_SIGNATURE] = reply_signature(
        secret, response.status, nonce, date, body
    )
    return response


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves as JSON {"error", "message"}; never a traceback to the client."""
    try:
        return await handler(request)
    except ApiError as exc:
        response = error_response(exc.status, exc.code, exc.message)
        if exc.status == 429:
            response.headers["Retry-After"] = "1"
        return response
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


@web.middleware
async def check_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not _is_api(request):
        return await handler(request)
    state = request.app[STATE]
    body = await request.read()
    now = state.clock()
    try:
        signed = check_signature(
            request.headers, request.method, request.raw_path, body, state.terminals, now
        )
    except AuthError as exc:
        if exc.signer is not None:
            request[REPLY_TO] = (state.terminals[exc.signer], request.headers[H_NONCE])
        raise
    request[TERMINAL_ID] = signed.terminal_id
    request[REPLY_TO] = (state.terminals[signed.terminal_id], signed.nonce)
    if not state.store.remember_nonce(signed.terminal_id, signed.nonce, now):
        raise AuthError("replayed_nonce", "this nonce was already used by this terminal")
    return await handler(request)


@web.middleware
async def inject_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The test controls of POST /_sim/fail, applied to signed API requests (after the check).
    Not to the scheme pages: the kiosk reads them in the background right after its catalogue,
    and a failure meant for the call a test makes next must not be taken by them."""
    if not _is_api(request) or request.path.startswith("/v1/schemes"):
        return await handler(request)
    state = request.app[STATE]
    mode = state.take_failure()
    if mode == "http500":
        return error_response(500, "internal_error", "injected failure (http500)")
    if mode == "http429":
        raise ApiError(429, "rate_limited", "injected failure (http429): slow down")
    if mode == "garbage":
        return web.Response(
            status=200, body=b'{"receipt_no": "RCPT-\x00<html>', content_type="application/json"
        )
    if mode == "slow":
        await asyncio.sleep(state.slow_seconds)
    if mode == "unsigned":
        request[_UNSIGNED] = True
    response = await handler(request)  # committed from here on
    if mode == "late":
        await asyncio.sleep(state.slow_seconds)
    elif mode == "lost" and request.transport is not None:
        request.transport.abort()  # the answer never leaves
    return response
