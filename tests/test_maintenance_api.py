"""Maintenance through the session API, as the engineer's screen uses it: PIN, lockout, cash
collection, test print, leaving; no citizen session while an engineer is in."""

from harness import KioskHarness

DEMO_PIN = "246810"  # the default hash in config/default.toml


async def test_engineer_session_over_the_session_api(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as screen:
        # A citizen pays first, so there is cash to collect.
        await screen.send("start", provider="PHED")
        await screen.send("consumer", number="5012345678")
        await screen.send("confirm")
        await screen.wait_screen("PAYING")
        for rupees in (200, 100, 50):
            h.acceptor_sim.insert_note(rupees)
        await screen.wait_screen("DONE", timeout=20)
        await screen.send("finish")

        wrong = await screen.send("maintenance", action="enter", engineer_id="E42", pin="1111")
        assert wrong["ok"] is False
        assert (await screen.send("maintenance", action="cash_summary"))["ok"] is False

        entered = await screen.send("maintenance", action="enter", engineer_id="E42",
                                    pin=DEMO_PIN)
        assert entered["ok"], entered
        state = await screen.wait_for(lambda s: (s["maintenance"] or {}).get("active"))
        assert state["maintenance"]["engineer_id"] == "E42"
        assert state["services"]["cash_payment"] is False
        refused = await screen.send("start", provider="JVVNL")
        assert refused["ok"] is False

        summary = await screen.send("maintenance", action="cash_summary")
        assert summary["ok"] and "data" in summary
        collected = await screen.send("maintenance", action="collect_cash")
        assert collected["ok"], collected
        printed = await screen.send("maintenance", action="test_print")
        assert printed["ok"], printed
        bad = await screen.send("maintenance", action="format_disk")
        assert bad["ok"] is False and bad["message_key"] == "bad_request"

        assert (await screen.send("maintenance", action="leave"))["ok"]
        state = await screen.wait_for(lambda s: not s["maintenance"]["active"])
        assert state["services"]["cash_payment"] is True
        assert DEMO_PIN not in str(screen.states)


async def test_five_wrong_pins_lock_maintenance(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as screen:
        for _ in range(5):
            r = await screen.send("maintenance", action="enter", engineer_id="E1", pin="0000")
            assert r["ok"] is False
        state = await screen.wait_for(lambda s: s["maintenance"]["locked"])
        assert state["maintenance"]["alarms"]
        right = await screen.send("maintenance", action="enter", engineer_id="E1", pin=DEMO_PIN)
        assert right["ok"] is False  # locked even with the right PIN
