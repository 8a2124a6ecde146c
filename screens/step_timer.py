"""Which timed steps the screen itself asks "more time?" on, and the card PIN's countdown line.

The core ends number entry, the bill and the wait for a card without asking (the paying screen's
question is the core's own): the screen asks shortly before. The PIN step is the exception: its
limit is the PIN-entry security timeout of the card flow (terminal/card_payment.py) and is never
extended, so the PIN screen only counts down and says that running out takes nothing."""

from __future__ import annotations

from typing import Any

LOCAL_ASK_SCREENS = ("IDENTIFY", "BILL")
CARD_PIN_STEPS = ("enter_pin", "pin_wrong", "pin_invalid")
PIN_COUNTDOWN_FROM_S = 30  # the PIN line appears with the header's countdown


def card_step(state: dict[str, Any]) -> str | None:
    """The card payment's step while the CARD screen is up, else None."""
    if state.get("screen") != "CARD":
        return None
    card = (state.get("session") or {}).get("card") or {}
    return card.get("step") or "insert_card"


def asks_locally(state: dict[str, Any]) -> bool:
    """Whether this state's step gets the screen's own "more time?" before the core ends it."""
    return state.get("screen") in LOCAL_ASK_SCREENS or card_step(state) == "insert_card"


def pin_time_text(app, state: dict[str, Any], seconds: int | None) -> str:
    """"Type the PIN within 25 s; if time runs out nothing is taken" near the end of the PIN
    step; "" otherwise."""
    if card_step(state) not in CARD_PIN_STEPS or seconds is None:
        return ""
    if seconds > PIN_COUNTDOWN_FROM_S:
        return ""
    return app.tr("card_pin_time_left", n=seconds)
