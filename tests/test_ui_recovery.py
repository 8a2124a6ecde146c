"""The recovery screen. The real core completes interrupted sessions in Core.start() BEFORE its
session API listens, so no screen can ever see state RECOVERY from it today; until it does, this
one test serves a canned RECOVERY snapshot (the shape of docs/session-api.md) from a tiny
WebSocket server. Every other UI test runs against the real core (tests/test_ui.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from aiohttp import web

from screens.drive_client import UIProcess

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("kivy") is None, reason="kivy is not installed"
)

ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "screens"


def recovery_state(language: str) -> dict:
    return {
        "seq": 1,
        "screen": "RECOVERY",
        "language": language,
        "terminal": {"id": "RJ-JPR-0001", "location": "Jaipur Collectorate", "helpline": "181"},
        "catalogue": [],
        "services": {"cash_payment": True, "lookup": True, "out_of_service": False, "reasons": []},
        "devices": {},
        "busy": True,
        "message": {"key": "recovering"},
        "ask_more_time": False,
        "seconds_left": None,
        "session": {
            "session_id": "S-1",
            "service": "electricity",
            "provider": "JVVNL",
            "consumer_masked": "XXXXXXXX5678",
            "bill": None,
            "due_paise": 64000,
            "paid_paise": 50000,
            "remaining_paise": 14000,
            "notes_paise": [50000],
            "accepted_now_paise": [],
            "last_returned": None,
            "cash_in_machine": True,
            "txn_id": None,
            "receipt_no": None,
            "provisional": False,
            "amount_paise": 0,
            "voucher": None,
            "printed": [],
            "print_failed": [],
            "recovered": True,
        },
    }


@pytest.mark.parametrize("lang", ["hi", "en"])
async def test_recovery_screen_says_money_is_safe(tmp_path, lang):
    async def session(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "snapshot", "state": recovery_state(lang)})
        async for _msg in ws:
            pass
        return ws

    app = web.Application()
    app.router.add_get("/session", session)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    ui = UIProcess(f"ws://127.0.0.1:{port}/session", language=lang)
    try:
        # This core never shows the attract screen: do not wait for "ready".
        await ui.start(log_dir=tmp_path, ready=False)
        shown = await ui.wait("recovery", timeout=15)
        safe = "आपका पैसा सुरक्षित है" if lang == "hi" else "Your money is safe"
        assert shown["texts"]["money_safe"] == safe
        assert ("पिछला भुगतान" if lang == "hi" else "last payment") in shown["texts"][
            "recovery_title"
        ]
        await ui.screenshot(ARTIFACTS / f"recovery-{lang}.png")
    finally:
        await ui.close()
        await runner.cleanup()
