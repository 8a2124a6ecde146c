"""Part payment: a provider that takes part payments (the catalogue's `partial_payment`, e.g.
PHED water) lets a citizen who has put in less than the bill pay just that much and go, instead
of a voucher for it. The cash in is posted as the payment; the bill stays open at central for
the rest, and the receipt says what is still due.

Only at the paying step, only with cash in and the bill not yet covered (a covered bill settles
by itself), only when no voucher redemption or card payment is on its way. The money then takes
the one road every payment takes (Completion.settle, journaled before it is shown).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from terminal import catalogue
from terminal.live_session import Handler, IntentError, LiveSession
from terminal.session import Session, State

PAY_PART = "pay_part"

Settle = Callable[..., Awaitable[None]]  # Completion.settle(s, partial=True)


def allowed(provider: str | None) -> bool:
    p = catalogue.provider(provider or "")
    return bool(p and p.get("partial_payment"))


def offer(s: Session | None) -> dict[str, Any] | None:
    """What the paying screen shows: {"paise": cash in, "rest_paise": still due} or None."""
    if s is None or s.state != State.PAYING or not allowed(s.provider):
        return None
    if s.card_paise or s.paid_paise <= 0 or s.paid_paise >= s.due_paise:
        return None
    return {"paise": s.paid_paise, "rest_paise": s.due_paise - s.paid_paise}


def split_part(tendered_paise: int, due_paise: int) -> tuple[int, int, int]:
    """(payment, advance, voucher) of a part payment: all of it is the payment."""
    if not 0 < tendered_paise < due_paise:
        raise ValueError(f"a part payment is 1 to {due_paise - 1} paise, not {tendered_paise}")
    return tendered_paise, 0, 0


class PartPayment:
    def __init__(self, live: LiveSession, settle: Settle) -> None:
        self.live = live
        self.settle = settle

    def intents(self) -> Mapping[str, Handler]:
        return {PAY_PART: self.pay_part}

    async def pay_part(self, args: dict) -> None:
        s = self.live.session
        if s is None or s.state != State.PAYING:
            raise IntentError("not_now", "a part payment is made at the paying step")
        if not allowed(s.provider):
            raise IntentError("part_payment_not_offered", f"{s.provider} takes no part payment")
        if offer(s) is None:
            raise IntentError("not_now", "no cash in, or the bill is already covered")
        await self.settle(s, partial=True)
