"""The card flow's timed steps (issue 14: every timed step shows its countdown): each step that
waits for the citizen tells the screen how long it waits (CardStep.timeout_s), "more time"
restarts the wait for the card, and never the PIN's limit (the PIN-entry security timeout).
In-process against a reader stand-in (the PC/SC stack is tests/test_card_payment.py's)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from drivers.card import EmvCard, PinResult
from terminal.card_payment import CardPayment, CardStep
from terminal.live_session import LiveSession
from terminal.session import Session, State

PIN_OK = "97531864"


class Reader:
    """No card until `insert()`; a card that reads and checks PIN_OK."""

    def __init__(self, present: bool = False) -> None:
        self.present = present
        self.changed = asyncio.Event()

    def insert(self) -> None:
        self.present = True
        self.changed.set()

    def events(self):
        async def stream():
            while True:
                await self.changed.wait()
                self.changed.clear()
                yield "changed"

        return stream()

    def card_present(self) -> bool:
        return self.present

    async def read_emv(self) -> EmvCard:
        return EmvCard("652150******7890", "2812", "SHARMA/ANITA", "A0000005241010", "RuPay")

    async def verify_pin(self, pin: str) -> PinResult:
        return PinResult(pin == PIN_OK, 2, False)

    async def generate_arqc(self, amount_paise: int, **kwargs: Any) -> dict:
        raise AssertionError("not reached")


class NoCentral:
    async def authorise_card(self, request):
        raise AssertionError("not reached")


async def test_each_waiting_step_says_how_long_it_waits():
    reader = Reader()
    pins = iter(["1", "11112222", None])  # malformed, wrong, then cancel

    async def keypad() -> str | None:
        return next(pins)

    steps: list[CardStep] = []
    payment = CardPayment(reader, NoCentral(), keypad, insert_timeout_s=5, pin_timeout_s=7,
                          on_step=steps.append)
    task = asyncio.create_task(payment.run(100, "T-steps"))
    await asyncio.sleep(0.05)
    reader.insert()
    outcome = await asyncio.wait_for(task, 5)
    assert outcome.message_key == "card_cancelled"
    assert [(s.step, s.timeout_s) for s in steps] == [
        ("insert_card", 5), ("reading", None), ("enter_pin", 7), ("pin_invalid", 7),
        ("pin_wrong", 7)]


async def test_more_time_restarts_the_wait_for_the_card_only():
    reader = Reader()
    steps: list[CardStep] = []
    pin_asked = asyncio.Event()

    async def keypad() -> str | None:
        pin_asked.set()
        await asyncio.sleep(30)
        return PIN_OK

    payment = CardPayment(reader, NoCentral(), keypad, insert_timeout_s=0.6, pin_timeout_s=0.6,
                          on_step=steps.append)
    started = time.monotonic()
    task = asyncio.create_task(payment.run(100, "T-more"))
    await asyncio.sleep(0.4)
    assert payment.more_insert_time()  # the wait starts again: 0.6 s from now
    assert [s.step for s in steps] == ["insert_card", "insert_card"]  # the screen is told
    await asyncio.sleep(0.4)  # past the first wait's end
    assert not task.done()
    reader.insert()
    await asyncio.wait_for(pin_asked.wait(), 2)
    assert not payment.more_insert_time()  # not for the PIN
    outcome = await asyncio.wait_for(task, 3)
    assert outcome.message_key == "card_pin_timeout"
    assert time.monotonic() - started < 2.5  # the PIN's 0.6 s was not extended

    steps.clear()
    late = CardPayment(Reader(), NoCentral(), keypad, insert_timeout_s=0.3, on_step=steps.append)
    outcome = await late.run(100, "T-gone")
    assert outcome.message_key == "card_insert_timeout"
    assert not late.more_insert_time()  # the wait is over: nothing to extend


def test_a_tap_on_the_card_screen_keeps_the_flows_deadline():
    now = [100.0]
    live = LiveSession(lambda: now[0], {"identify_timeout_s": 60, "cash_idle_timeout_s": 60,
                                        "done_screen_s": 20}, lambda: None)
    live.session = Session("S-1", state=State.CARD)
    asked: list[bool] = []
    live.card_more_time = lambda: asked.append(True) or True
    live.deadline = 130.0  # set by the card flow's step
    live.touch()
    assert asked == [True] and live.deadline == 130.0  # the flow re-sets it when it extends
