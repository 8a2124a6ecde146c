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
        # a seal number that is not 3-20 letters and digits: refused, nothing collected
        for bad in ("X", "SEAL#1", "A" * 41, 42):
            refused = await screen.send("maintenance", action="collect_cash", seal_no=bad)
            assert refused["ok"] is False and refused["message_key"] == "bad_request", refused
        assert (await screen.send("maintenance", action="cash_summary"))["data"][
            "total_paise"] == 35000
        collected = await screen.send("maintenance", action="collect_cash",
                                      counted={"20000": 1, "10000": 1, "5000": 1},
                                      seal_no="rj 0042 bag")
        assert collected["ok"], collected
        assert collected["data"]["seal_no"] == "RJ0042BAG"
        assert collected["data"]["count"]["difference_paise"] == 0
        (journaled,) = [e.data for e in h.core.journal.events(kinds=("maintenance",))
                        if e.data["action"] == "cash_collected"]
        assert journaled["seal_no"] == "RJ0042BAG" and journaled["engineer_id"] == "E42"
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


def test_the_action_table_is_the_api_list():
    from terminal.api_messages import MAINTENANCE_ACTIONS
    from terminal.maintenance import ACTIONS

    assert set(ACTIONS) == set(MAINTENANCE_ACTIONS)
    assert {"begin_collection", "acknowledge_alarm"} <= set(ACTIONS)


async def test_dispatch_checks_actions_and_arguments(tmp_path):
    import pytest

    from terminal.maintenance import Maintenance, MaintenanceError

    async with KioskHarness(tmp_path) as h:
        m = Maintenance(h.core)
        for action, args in (("format_disk", {}), (["enter"], {}), ("leave", [])):
            with pytest.raises(MaintenanceError) as err:
                await m.dispatch(action, args)
            assert err.value.key == "bad_request", (action, args)
        with pytest.raises(MaintenanceError) as err:
            await m.dispatch("begin_collection", {})
        assert err.value.key == "not_in_maintenance"
        assert (await m.dispatch("enter", {"engineer_id": "E42", "pin": DEMO_PIN}))["engineer_id"]
        begun = await m.dispatch("begin_collection", {})
        assert begun["collection_in_progress"] is True and "denominations" in begun
        assert m.collection_in_progress
        for action, args in (
            ("acknowledge_alarm", {}),
            ("acknowledge_alarm", {"code": 7}),
            ("reprint", {"ref": "x", "doc": "passport"}),
            ("reprint_collection_slip", {"collection_id": ["C-1"]}),
        ):
            with pytest.raises(MaintenanceError) as err:
                await m.dispatch(action, args)
            assert err.value.key == "bad_request", (action, args)
        with pytest.raises(MaintenanceError) as err:
            await m.dispatch("acknowledge_alarm", {"code": "nothing_here", "note": "x"})
        assert err.value.key == "no_such_alarm"
        m.raise_alarm("cassette_removed_without_collection", "test")
        done = await m.dispatch("acknowledge_alarm", {"code": "cassette_removed_without_collection",
                                                      "note": "seen"})
        assert done["alarms"] == []
        faults = await m.dispatch("fault_log", {})
        assert any(r.get("action") == "alarm_cleared" and r.get("note") == "seen" for r in faults)
        assert await m.dispatch("leave", {}) == {}
        assert not m.active
