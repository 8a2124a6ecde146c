"""Accessibility mode in the core (terminal/accessibility.py), through the session API against the
real core and simulators: the `accessibility` intent slows every step's timeout by [ui]
accessibility_timeout_factor, shows in the state, lasts for the session and then goes back to the
site's default; hostile args are refused."""

from __future__ import annotations

import asyncio

import pytest
from harness import KioskHarness
from test_flow import JVVNL_640, open_bill, paid

from terminal.api_messages import INTENTS
from terminal.config import ConfigError, load_config

SLOW = {"identify_timeout_s": 40, "cash_idle_timeout_s": 30, "more_time_timeout_s": 20}


def test_intent_is_part_of_the_vocabulary():
    assert "accessibility" in INTENTS


async def test_mode_triples_the_step_timeouts_and_ends_with_the_session(tmp_path):
    async with KioskHarness(tmp_path, payment=SLOW, ui={"accessibility_timeout_factor": 3.0}) \
            as h, h.client() as citizen:
        idle = await citizen.wait_for(lambda s: s["screen"] == "IDLE")
        assert idle["accessibility"] == {"on": False, "default": False, "timeout_factor": 1.0}
        # at home, before the session: the citizen's number entry gets 3 x 40 s
        assert (await citizen.send("accessibility", on=True))["ok"]
        on = await citizen.wait_for(lambda s: s["accessibility"]["on"])
        assert on["accessibility"]["timeout_factor"] == 3.0
        assert (await citizen.send("start", provider="JVVNL"))["ok"]
        identify = await citizen.wait_screen("IDENTIFY")
        assert 110 <= identify["seconds_left"] <= 120
        assert (await citizen.send("consumer", number=JVVNL_640[1]))["ok"]
        await citizen.wait_screen("BILL")
        assert (await citizen.send("confirm"))["ok"]
        paying = await citizen.wait_screen("PAYING")
        assert 80 <= paying["seconds_left"] <= 90  # 3 x 30 s of cash idle
        # off again during the session: the running step goes back to its own pace
        assert (await citizen.send("accessibility", on=False))["ok"]
        normal = await citizen.wait_for(lambda s: not s["accessibility"]["on"])
        assert normal["seconds_left"] <= 30
        assert (await citizen.send("accessibility", on=True))["ok"]
        await citizen.wait_for(lambda s: s["accessibility"]["on"])
        assert (await citizen.send("cancel"))["ok"]
        await citizen.wait_screen("CANCELLED")
        assert (await citizen.send("finish"))["ok"]
        home = await citizen.wait_for(lambda s: s["screen"] == "IDLE")
        assert home["accessibility"]["on"] is False  # the next citizen starts at the default


async def test_more_time_question_waits_longer_too(tmp_path):
    timeouts = {"cash_idle_timeout_s": 1, "more_time_timeout_s": 1}
    async with KioskHarness(tmp_path, payment=timeouts) as h, h.client() as citizen:
        assert (await citizen.send("accessibility", on=True))["ok"]
        await open_bill(citizen, *JVVNL_640)
        h.acceptor_sim.insert_note(50)
        await paid(citizen, 5000)
        asked = await citizen.wait_for(lambda s: s["ask_more_time"], timeout=6)
        started = asyncio.get_running_loop().time()
        assert asked["screen"] == "PAYING"
        await citizen.wait_screen("DONE", timeout=10)  # the voucher, after 2 x 1 s, not 1 s
        assert asyncio.get_running_loop().time() - started >= 1.4


async def test_site_default_on_and_reset_to_it(tmp_path):
    async with KioskHarness(tmp_path, ui={"accessibility": True}) as h, h.client() as citizen:
        idle = await citizen.wait_for(lambda s: s["screen"] == "IDLE")
        assert idle["accessibility"] == {"on": True, "default": True, "timeout_factor": 2.0}
        assert (await citizen.send("accessibility", on=False))["ok"]
        await citizen.wait_for(lambda s: not s["accessibility"]["on"])
        assert (await citizen.send("start", provider="JVVNL"))["ok"]
        await citizen.wait_screen("IDENTIFY")
        assert (await citizen.send("cancel"))["ok"]
        await citizen.wait_screen("CANCELLED")
        assert (await citizen.send("finish"))["ok"]
        home = await citizen.wait_for(lambda s: s["screen"] == "IDLE" and s["session"] is None)
        assert home["accessibility"]["on"] is True


@pytest.mark.parametrize("args", [
    {}, {"on": "yes"}, {"on": 1}, {"on": None}, {"on": True, "factor": 100},
    {"on": ["x"] * 3},
])
async def test_hostile_args_are_refused_and_change_nothing(tmp_path, args):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        reply = await citizen.send("accessibility", **args)
        assert not reply["ok"] and reply["message_key"] == "bad_request"
        state = await citizen.wait_for(lambda s: s["screen"] == "IDLE")
        assert state["accessibility"]["on"] is False


def test_config_factor_must_be_positive(tmp_path):
    with pytest.raises(ConfigError):
        load_config(overrides={"ui": {"accessibility_timeout_factor": 0}})
    with pytest.raises(ConfigError):
        load_config(overrides={"ui": {"accessibility": "yes"}})
