"""Bounds on what comes in over the session socket, checked before anything reaches the kiosk:
JSON nesting depth (before json.loads, which recurses), a known intent name, flat-ish args of
bounded size. A violation is a clear `bad_request`/`unknown_intent`, never a traceback.
Also a log line that repeats at most once per interval (a flood must not fill the disk)."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from terminal.api_messages import INTENTS, MSG_INTENT
from terminal.logs import log_event

MAX_DEPTH = 4  # message -> args -> one nested object/list -> scalars
MAX_ARGS = 16
MAX_ITEMS = 32  # in a nested list / object (e.g. a count per denomination)
MAX_KEY = 32
MAX_STR = 256
MAX_PAYLOAD = 32768  # a scanned QR (terminal/qr.py answers qr_too_long past 16 KiB)
MAX_ID = 64

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(r"[\[\]{}]")
Scalar = (str, int, float, bool, type(None))


class BadMessage(Exception):
    """A message refused before it reaches the kiosk; `key` is the result's message_key."""

    def __init__(self, key: str, detail: str) -> None:
        super().__init__(detail)
        self.key = key
        self.request_id: Any = None  # echoed in the reply, so the client's wait ends


def nesting_depth(text: str, limit: int) -> int:
    """Bracket depth outside strings; stops counting once past `limit`."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
        else:
            depth -= 1
    return deepest


def _check_str(key: str, value: str) -> None:
    limit = MAX_PAYLOAD if key == "payload" else MAX_STR
    if len(value) > limit:
        raise BadMessage("bad_request", f"args.{key[:MAX_KEY]}: longer than {limit} characters")


def _check_args(args: Any) -> dict[str, Any]:
    if args is None:
        return {}
    if not isinstance(args, dict):
        raise BadMessage("bad_request", "args must be an object")
    if len(args) > MAX_ARGS:
        raise BadMessage("bad_request", f"at most {MAX_ARGS} args")
    for key, value in args.items():
        if len(key) > MAX_KEY:
            raise BadMessage("bad_request", f"arg names are at most {MAX_KEY} characters")
        if isinstance(value, str):
            _check_str(key, value)
        elif isinstance(value, (list, dict)):
            items = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
            if len(items) > MAX_ITEMS:
                raise BadMessage("bad_request", f"args.{key}: at most {MAX_ITEMS} items")
            for sub_key, item in items:
                if not isinstance(item, Scalar) or len(str(sub_key)) > MAX_KEY:
                    raise BadMessage("bad_request", f"args.{key}: only plain values inside")
                if isinstance(item, str):
                    _check_str(key, item)
        elif not isinstance(value, Scalar):
            raise BadMessage("bad_request", f"args.{key}: unsupported type")
    return args


def parse_intent(text: str) -> tuple[Any, str, dict[str, Any]]:
    """(request id, intent name, args) of an intent message, or BadMessage."""
    if nesting_depth(text, MAX_DEPTH) > MAX_DEPTH:
        raise BadMessage("bad_request", f"nested deeper than {MAX_DEPTH} levels")
    try:
        msg = json.loads(text)
    except (ValueError, RecursionError):
        raise BadMessage("bad_request", "not JSON") from None
    if not isinstance(msg, dict) or msg.get("type") != MSG_INTENT:
        raise BadMessage("bad_request", "not an intent message")
    request_id = msg.get("id")
    if not isinstance(request_id, Scalar) or len(str(request_id)) > MAX_ID:
        raise BadMessage("bad_request", "id must be a short plain value")
    try:
        name = msg.get("intent")
        if not isinstance(name, str):
            raise BadMessage("bad_request", "intent must be a string")
        if name not in INTENTS:
            raise BadMessage("unknown_intent", f"unknown intent {name[:40]!r}")
        return request_id, name, _check_args(msg.get("args"))
    except BadMessage as exc:
        exc.request_id = request_id
        raise


class RateLimitedLog:
    """One log line per `key` per `interval_s`; the next one says how many were left out."""

    def __init__(self, logger: logging.Logger, interval_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.logger = logger
        self.interval_s = interval_s
        self.clock = clock
        self._last: dict[str, float] = {}
        self._skipped: dict[str, int] = {}

    def __call__(self, key: str, event: str, level: int = logging.WARNING, **fields: Any) -> None:
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval_s:
            self._skipped[key] = self._skipped.get(key, 0) + 1
            return
        self._last[key] = now
        skipped = self._skipped.pop(key, 0)
        if skipped:
            fields["repeated"] = skipped
        log_event(self.logger, event, level, **fields)
