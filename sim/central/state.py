"""What the reference central's handlers share: the store, the terminals' secrets, the fault
plan, the request keys, and the JSON helpers every handler uses."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from sim.devices.card import TEST_AC_KEY

from .store import ApiError, CentralStore

DEFAULT_TERMINALS = {"RJ-JPR-0001": "demo-secret"}
# none: answer normally; http500 / http429 / garbage: answer that instead of handling; slow: sleep
# before handling; late: handle (commit), then sleep before answering; lost: handle (commit), then
# drop the connection without an answer; unsigned: answer normally but without a reply signature.
FAIL_MODES = ("none", "http500", "http429", "garbage", "slow", "late", "lost", "unsigned")
COMMANDS = ("out_of_service", "in_service", "reload_config", "reboot_at_idle", "acknowledge_alarm")
COMMAND_ARGS = {"acknowledge_alarm": ("code", "note")}  # strings; code required
SLOW_SECONDS = 30.0
MAX_PAISE = 10**12  # ten thousand crore rupees; keeps every amount inside SQLite's int64
CARD_LIMIT_PAISE = 50_000_00  # card authorisations above this are declined ("limit")


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

    def queue_command(self, command: str, terminal_id: str | None = None, **args: str) -> None:
        if command not in COMMANDS:
            raise ValueError(f"unknown command {command!r}; one of {', '.join(COMMANDS)}")
        allowed = COMMAND_ARGS.get(command, ())
        if set(args) - set(allowed) or (allowed and not args.get(allowed[0])):
            raise ValueError(f"{command} takes {', '.join(allowed) or 'no arguments'}")
        self.commands.setdefault(terminal_id, []).append({"command": command, **args})

    def take_commands(self, terminal_id: str) -> list[dict[str, str]]:
        return self.commands.pop(terminal_id, []) + self.commands.pop(None, [])


STATE = web.AppKey("central_state", CentralState)
# The authenticated terminal of a /v1 request (web.RequestKey exists from aiohttp 3.13 on).
TERMINAL_ID: Any = (
    web.RequestKey("terminal_id", str) if hasattr(web, "RequestKey") else "terminal_id"
)
# (secret, nonce) to sign the reply with: set once the request's signature verified.
REPLY_TO: Any = (
    web.RequestKey("reply_to", tuple) if hasattr(web, "RequestKey") else "reply_to"
)


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


def is_loopback(remote: str | None) -> bool:
    return remote is not None and (remote == "::1" or remote.startswith("127."))
