"""Fuzz: intent messages on the session socket, through a real core and SessionAPI over a real
WebSocket on loopback (tests/harness.py: simulators, central, the core, in a thread here).

Random text, random JSON (deep nesting, huge strings, wrong types) and intent-shaped messages
with random names, ids and args. Property: each message gets one `result`; anything that is not
a well-formed intent is refused with `bad_request` / `unknown_intent`; a refusal's key is one
the screens know; the internal-error catch-all ("please_wait", "internal error") never answers;
the connection stays up; no money moves (nothing paid, no receipt, no voucher).
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import aiohttp
import pytest
from harness import KioskHarness
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from terminal import api_messages
from terminal.api_messages import INTENTS, MESSAGE_KEYS

FUZZ = settings(
    max_examples=150,
    deadline=None,  # a reply has its own 10 s bound below
    suppress_health_check=list(HealthCheck),
)
REFUSED = {"bad_request", "unknown_intent"}
REPLY_TIMEOUT = 10.0


class KioskThread:
    """The whole kiosk on its own event loop in a thread, and one raw WebSocket to it."""

    def __init__(self, workdir) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.harness = KioskHarness(workdir)
        self.http: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.reconnects = 0

    def run(self, coro, timeout: float = 30.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> None:
        self.thread.start()
        self.run(self.harness.__aenter__(), 60)
        self.run(self._connect())

    def stop(self) -> None:
        async def down() -> None:
            if self.ws is not None:
                await self.ws.close()
            if self.http is not None:
                await self.http.close()
            await self.harness.__aexit__(None, None, None)

        try:
            self.run(down(), 60)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)

    async def _connect(self) -> None:
        url = self.harness.session_url
        find_token = getattr(api_messages, "find_token", None)  # the socket may need a token
        token = find_token(url) if find_token else None
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if self.http is None:
            self.http = aiohttp.ClientSession()
        self.ws = await self.http.ws_connect(url, headers=headers, max_msg_size=0)

    async def _exchange(self, text: str) -> tuple[dict[str, Any] | None, bool]:
        """Send one text frame; (the result, whether the socket is still open)."""
        if self.ws is None or self.ws.closed:
            self.reconnects += 1
            await self._connect()
        assert self.ws is not None
        await self.ws.send_str(text)
        async with asyncio.timeout(REPLY_TIMEOUT):
            async for msg in self.ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                data = json.loads(msg.data)
                if data.get("type") == "result":
                    return data, True
        return None, False

    def exchange(self, text: str) -> tuple[dict[str, Any] | None, bool]:
        return self.run(self._exchange(text), REPLY_TIMEOUT + 5)

    def snapshot(self) -> dict[str, Any]:
        async def snap() -> dict[str, Any]:
            return self.harness.core.kiosk.snapshot()

        return self.run(snap())


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory):
    k = KioskThread(tmp_path_factory.mktemp("fuzz-session"))
    k.start()
    try:
        yield k
    finally:
        k.stop()


def check_no_money(kiosk: KioskThread) -> None:
    state = kiosk.snapshot()
    session = state.get("session")
    if session:
        assert session["paid_paise"] == 0 and not session["cash_in_machine"]
        assert session["receipt_no"] is None and session["voucher"] is None
        assert session["amount_paise"] == 0


def check_reply(reply: dict[str, Any] | None, open_: bool, *, must_refuse: bool) -> None:
    assert open_ and reply is not None, "no result, or the socket closed on us"
    assert reply["type"] == "result" and isinstance(reply["ok"], bool)
    if reply["ok"]:
        assert not must_refuse, reply
        return
    assert reply["message_key"] in MESSAGE_KEYS, reply
    assert "internal error" not in str(reply.get("detail", "")), reply
    if must_refuse:
        assert reply["message_key"] in REFUSED, reply


# ---------------------------------------------------------------- strategies

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**80), 2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
json_values = st.recursive(
    json_scalars,
    lambda kids: st.one_of(
        st.lists(kids, max_size=5), st.dictionaries(st.text(max_size=8), kids, max_size=5)
    ),
    max_leaves=20,
)


def nested(depth: int, kind: str) -> str:
    return ("[" * depth + "]" * depth) if kind == "list" else ('{"a":' * depth + "1" + "}" * depth)


not_intents = st.one_of(
    st.text(max_size=200),
    json_values.map(json.dumps),
    st.tuples(st.integers(1, 3000), st.sampled_from(["list", "dict"])).map(lambda t: nested(*t)),
    st.dictionaries(st.sampled_from(["type", "id", "args", "x"]), json_values, max_size=4).map(
        json.dumps
    ),
    st.integers(1, 60_000).map(lambda n: json.dumps({"type": "intent", "note": "x" * n})),
)


@FUZZ
@given(not_intents)
@example("")
@example("null")
@example("[]")
@example('{"type": "intent"}')  # no intent name
@example('{"type": "intent", "intent": 7}')
@example('{"type": "intent", "intent": "start", "args": []}')
@example('{"type": "intent", "intent": "start", "args": "x"}')
@example(nested(3000, "list"))  # deeper than json.loads can recurse
@example('{"type": "intent", "intent": "start", "args": ' + nested(2500, "dict") + "}")
@example("\ufeff\u202e{}")  # BOM and a right-to-left override
@example('{"type":"intent","intent":"__init__"}')
@example('{"type": "intent", "intent": "nope", "id": {"a": [1]}}')
def test_anything_not_an_intent_is_a_bad_request(kiosk, text) -> None:
    reply, open_ = kiosk.exchange(text)
    check_reply(reply, open_, must_refuse=True)
    check_no_money(kiosk)


intent_names = st.one_of(
    st.sampled_from(INTENTS),
    st.text(max_size=40),
    st.sampled_from(["_changed", "__class__", "intent", "start ", "START", "", "\x00"]),
)
intent_messages = st.fixed_dictionaries(
    {"type": st.just("intent"), "intent": intent_names},
    optional={
        "id": json_values,
        "args": st.one_of(
            st.dictionaries(
                st.sampled_from(
                    [
                        "service",
                        "provider",
                        "number",
                        "payload",
                        "pin",
                        "action",
                        "language",
                        "engineer_id",
                        "count",
                        "x",
                    ]
                ),  # fmt: skip
                json_values,
                max_size=4,
            ),
            json_values,
        ),
    },
)


@FUZZ
@given(intent_messages)
@example({"type": "intent", "intent": "start", "args": {"service": ["electricity"]}})
@example({"type": "intent", "intent": "start", "args": {"provider": []}})  # found by CI's fuzz run
@example({"type": "intent", "intent": "start", "args": {"provider": {"JVVNL": 1}}})
@example({"type": "intent", "intent": "consumer", "args": {"number": 10**30}})
@example({"type": "intent", "intent": "scan", "args": {"payload": {"a": 1}}})
@example({"type": "intent", "intent": "scan", "args": {"payload": "x" * 20_000}})
@example({"type": "intent", "intent": "language", "args": {"language": None}})
@example({"type": "intent", "intent": "maintenance", "args": {"action": ["login"], "pin": 1}})
@example({"type": "intent", "intent": "card_pin", "args": {"pin": {"digits": [1, 2]}}})
@example({"type": "intent", "intent": "verify", "args": {"payload": "EMITRA1|R|" + "T" * 9000}})
def test_intent_shaped_messages_never_crash_or_pay(kiosk, message) -> None:
    reply, open_ = kiosk.exchange(json.dumps(message))
    known = isinstance(message["intent"], str) and message["intent"] in INTENTS
    check_reply(reply, open_, must_refuse=not known)
    if "id" in message and reply is not None:
        assert reply["id"] in (message["id"], None)
    check_no_money(kiosk)


def test_connection_survived_the_fuzz(kiosk) -> None:
    """After all of the above, the same socket still answers a well-formed intent."""
    reply, open_ = kiosk.exchange(api_messages.intent("language", 99, language="en"))
    assert open_ and reply is not None and reply["id"] == 99, reply
    assert kiosk.reconnects == 0
