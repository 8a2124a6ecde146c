"""Attack: a second local process on the session socket (issue 10, "The session socket is not
trusted"). Real core, real aiohttp server on loopback, real WebSocket clients.

Each test here failed on the code before the fix: any process could connect and read the state,
a client that never reads grew the core without bound, connections were unlimited, and a deeply
nested message killed the connection with a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tracemalloc

import aiohttp
import pytest
from harness import KioskHarness

from terminal.api_messages import auth_headers


def _http_url(ws_url: str, path: str) -> str:
    return ws_url.replace("ws://", "http://", 1).rsplit("/", 1)[0] + path


async def test_no_token_no_connection_and_no_state(tmp_path):
    """Before: any local process got the snapshot (and could send intents)."""
    async with KioskHarness(tmp_path) as h, aiohttp.ClientSession() as http:
        for headers in ({}, {"Authorization": "Bearer not-the-token"}, {"Authorization": "x"}):
            with pytest.raises(aiohttp.WSServerHandshakeError) as err:
                await http.ws_connect(h.session_url, headers=headers)
            assert err.value.status == 401
            async with http.get(_http_url(h.session_url, "/state"), headers=headers) as r:
                assert r.status == 401
        # The screen's own token works, for both.
        ws = await http.ws_connect(h.session_url, headers=auth_headers(h.session_url))
        assert (await ws.receive_json())["type"] == "snapshot"
        await ws.close()
        async with http.get(_http_url(h.session_url, "/state"),
                            headers=auth_headers(h.session_url)) as r:
            assert r.status == 200 and (await r.json())["screen"] == "IDLE"


async def test_a_client_that_never_reads_does_not_grow_the_core(tmp_path):
    """Before: every state change was queued for ever for a stalled client (79 MB -> 2.5 GB)."""
    async with KioskHarness(tmp_path) as h, aiohttp.ClientSession() as http:
        stalled = await http.ws_connect(h.session_url, headers=auth_headers(h.session_url),
                                        max_msg_size=0)
        # It also pipelines intents whose replies it never reads.
        for i in range(300):
            await stalled.send_str(json.dumps(
                {"type": "intent", "id": i, "intent": "language", "args": {"language": "en"}}))
        await asyncio.sleep(0.2)
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for i in range(6000):
                h.core.kiosk._changed()  # a state change, as a note or a timer makes one
                if i % 200 == 0:
                    await asyncio.sleep(0)
            await asyncio.sleep(0.5)
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert grown < 4_000_000, f"core grew {grown / 1e6:.1f} MB for one stalled client"
        # The core still serves a well-behaved screen.
        async with h.client() as screen:
            assert (await screen.send("language", language="hi"))["ok"]
        await stalled.close()


async def test_connections_are_limited_and_the_refusal_is_logged_once(tmp_path, caplog):
    """Before: no limit (1,024 descriptors later no screen could connect; 190 MB of log)."""
    caplog.set_level(logging.INFO)
    async with KioskHarness(tmp_path, session_api={"max_connections": 3}) as h, \
            aiohttp.ClientSession() as http:
        headers = auth_headers(h.session_url)
        held = [await http.ws_connect(h.session_url, headers=headers) for _ in range(3)]
        statuses = []
        for _ in range(25):
            try:
                extra = await http.ws_connect(h.session_url, headers=headers)
                held.append(extra)
                statuses.append(101)
            except aiohttp.WSServerHandshakeError as exc:
                statuses.append(exc.status)
        assert statuses == [503] * 25
        refusals = [r for r in caplog.records if "connection refused" in r.getMessage()]
        assert 1 <= len(refusals) <= 2, [r.getMessage() for r in refusals]
        # A slot freed is a slot a screen can use again.
        await held.pop().close()
        await asyncio.sleep(0.2)
        async with h.client() as screen:
            assert screen.state["screen"] == "IDLE"
        for ws in held:
            await ws.close()


async def test_hostile_messages_get_a_clear_error_and_the_link_stays(tmp_path, caplog):
    """Before: a deeply nested message raised RecursionError out of the handler (connection
    dropped, traceback in the log); odd args went to the kiosk unchecked."""
    async with KioskHarness(tmp_path) as h, aiohttp.ClientSession() as http:
        ws = await http.ws_connect(h.session_url, headers=auth_headers(h.session_url))
        await ws.receive_json()

        async def reply(text: str) -> dict:
            await ws.send_str(text)
            while True:
                msg = await asyncio.wait_for(ws.receive(), 10)
                assert msg.type == aiohttp.WSMsgType.TEXT, msg
                data = json.loads(msg.data)
                if data["type"] == "result":
                    return data

        def intent(name, args, request_id=1):
            return json.dumps({"type": "intent", "id": request_id, "intent": name, "args": args})

        deep = "[" * 30_000 + "]" * 30_000  # under max_msg_size, past any recursion limit
        cases = [
            (deep, "bad_request"),
            ('{"type": "intent", "id": 1, "intent": "start", "args": ' + deep + "}",
             "bad_request"),
            (intent("start", {"provider": {"a": {"b": {"c": 1}}}}), "bad_request"),
            (intent("start", {f"k{i}": i for i in range(500)}), "bad_request"),
            (intent("start", {"provider": "J" * 5000}), "bad_request"),
            (intent("x" * 5000, {}), "unknown_intent"),
            (intent("__class__", {}), "unknown_intent"),
            (intent(["start"], {}), "bad_request"),
            (intent("start", ["JVVNL"]), "bad_request"),
            (json.dumps({"type": "intent", "id": {"deep": [1]}, "intent": "start", "args": {}}),
             "bad_request"),
            ("not json", "bad_request"),
        ]
        for text, key in cases:
            r = await reply(text)
            assert r["ok"] is False and r["message_key"] == key, (text[:80], r)
            assert "Traceback" not in r.get("detail", "")
        assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
        # Still the same, working connection.
        assert (await reply(intent("language", {"language": "en"})))["ok"] is True

        # Bigger than max_msg_size: closed with 1009 (message too big), not parsed.
        await ws.send_str(intent("scan", {"payload": "Q" * 300_000}))
        msg = await asyncio.wait_for(ws.receive(), 10)
        while msg.type == aiohttp.WSMsgType.TEXT:
            msg = await asyncio.wait_for(ws.receive(), 10)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert ws.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
