"""Test-only controls of the reference central (unsigned, loopback only): the fault plan, the
store's rows, queued heartbeat commands."""

from __future__ import annotations

from aiohttp import web

from .state import COMMAND_ARGS, COMMANDS, FAIL_MODES, STATE, bad_request, is_loopback, json_object
from .store import ApiError


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
    args = {k: body[k] for k in COMMAND_ARGS.get(command, ()) if k in body}
    if any(not isinstance(v, str) for v in args.values()):
        raise bad_request(f"the arguments of {command} must be strings")
    try:
        request.app[STATE].queue_command(command, terminal_id, **args)
    except ValueError as exc:
        raise bad_request(str(exc)) from None
    return web.json_response({"ok": True})
