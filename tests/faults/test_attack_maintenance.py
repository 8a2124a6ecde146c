"""Attack: the engineer login (issue 10, "The session socket is not trusted"). Real core, real
WebSocket clients on loopback, real scrypt.

Each test here failed on the code before the fix: a second client used the engineer's login
(journaled as the engineer), guesses sent at once were all hashed and the right one was accepted
after the lockout, the demo PIN opened a kiosk with no PIN configured, and a heartbeat token of
"change-me" or "" only gave a warning.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest
from harness import KioskHarness

from terminal.config import load_config
from terminal.heartbeat import build_health, start_heartbeat

DEMO_PIN = "246810"  # sim/rig.py's test PIN


async def test_a_second_connection_cannot_use_the_engineers_login(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as engineer, h.client() as intruder:
        entered = await engineer.send("maintenance", action="enter", engineer_id="E42",
                                      pin=DEMO_PIN)
        assert entered["ok"], entered
        for action in ("collect_cash", "cash_summary", "restart", "leave", "outbox_view"):
            r = await intruder.send("maintenance", action=action)
            assert r["ok"] is False and r["message_key"] == "not_in_maintenance", (action, r)
        events = [ev.data["action"] for ev in h.core.journal.events(kinds=("maintenance",))]
        assert "collected" not in events and "left" not in events
        assert h.core.kiosk.maintenance.active
        assert (await engineer.send("maintenance", action="cash_summary"))["ok"]
        # The login ends with the connection that made it.
        await engineer.close()
        await intruder.wait_for(lambda s: not (s["maintenance"] or {}).get("active"), 5)
        left = [ev.data for ev in h.core.journal.events(kinds=("maintenance",))
                if ev.data.get("action") == "left"]
        assert left and left[-1]["reason"] == "connection_closed"


async def test_guesses_sent_at_once_are_counted_before_the_hash(tmp_path):
    """Before: all guesses passed the lock test, all were hashed, and the right PIN sent with
    them was accepted after the fifth wrong one had locked maintenance."""
    async with KioskHarness(tmp_path, session_api={"max_connections": 16}) as h:
        clients = [h.client() for _ in range(13)]
        for c in clients:
            await c.connect()
        try:
            wrong = [c.send("maintenance", action="enter", engineer_id="E1", pin="000000")
                     for c in clients[:12] for _ in range(3)]
            right = clients[12].send("maintenance", action="enter", engineer_id="E1",
                                     pin=DEMO_PIN)
            results = await asyncio.gather(*wrong, right)
        finally:
            for c in clients:
                await c.close()
        assert results[-1]["ok"] is False, "the right PIN was accepted among 36 wrong ones"
        assert not h.core.kiosk.maintenance.active
        actions = [ev.data["action"] for ev in h.core.journal.events(kinds=("maintenance",))]
        assert actions.count("pin_failed") <= 5, f"{actions.count('pin_failed')} PINs hashed"
        assert "pin_lockout" in actions and "entered" not in actions
        assert all(not r["ok"] for r in results)


async def test_no_pin_hash_no_maintenance_and_health_says_so(tmp_path, caplog):
    """Before: the default config carried the demo PIN's hash, so every kiosk opened to it."""
    caplog.set_level(logging.INFO)
    assert load_config()["maintenance"]["pin_hash"] == ""
    async with KioskHarness(tmp_path, maintenance={"pin_hash": ""},
                            heartbeat={"token": "t-123456"}) as h, h.client() as screen:
        await start_heartbeat(h.core)
        r = await screen.send("maintenance", action="enter", engineer_id="E1", pin=DEMO_PIN)
        assert r["ok"] is False and r["message_key"] == "pin_not_configured"
        health = build_health(h.core)["maintenance"]
        assert health["enabled"] is False and health["reason"] == "pin_not_configured"
        assert any("maintenance off" in rec.getMessage() for rec in caplog.records)


@pytest.mark.parametrize("token", ["change-me", "", "  "])
async def test_default_heartbeat_token_refuses_to_serve(tmp_path, token, capsys):
    """Before: "change-me" gave a warning and /health answered anyone who knew the default."""
    async with KioskHarness(tmp_path, heartbeat={"token": token}) as h:
        service = await start_heartbeat(h.core)
        assert service.server is None
        assert "refusing to start" in capsys.readouterr().err
        port = h.core.config["heartbeat"]["port"]
        if port:
            async with aiohttp.ClientSession() as http:
                with pytest.raises(aiohttp.ClientConnectionError):
                    await http.get(f"http://127.0.0.1:{port}/health",
                                   headers={"Authorization": "Bearer change-me"})
