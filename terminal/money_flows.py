"""The citizen's money beyond paying: vouchers taken back (terminal/voucher_redeem.py), SMS
receipts (terminal/sms_receipt.py), reprints (terminal/reprint.py) and part payments
(terminal/part_payment.py), built and hooked into the
kiosk in one place, and registered as one flow (`Kiosk.register(money_flows(self))`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from terminal.live_session import Flow, Handler
from terminal.part_payment import PartPayment
from terminal.reprint import CitizenReprint
from terminal.sms_receipt import SmsReceipts
from terminal.voucher_redeem import KioskParts, voucher_flow


class Flows:
    """Several flows registered as one (a clash of intent names raises, as in Kiosk.register)."""

    def __init__(self, *flows: Flow) -> None:
        self.flows = flows

    def intents(self) -> Mapping[str, Handler]:
        out: dict[str, Handler] = {}
        for flow in self.flows:
            for name, handler in flow.intents().items():
                if name in out:
                    raise ValueError(f"intent {name!r} is already registered")
                out[name] = handler
        return out


def build(kiosk: Any) -> Flows:
    parts: KioskParts = kiosk
    vouchers = voucher_flow(parts)
    sms = SmsReceipts(kiosk.central, kiosk.journal, kiosk.live, kiosk.config)
    kiosk.completion.sms = sms  # sends the documents when the session completes
    kiosk.outbox.sms = sms  # the final receipt after a provisional one
    reprint = CitizenReprint(kiosk.journal, kiosk.live, kiosk.printer, kiosk.config,
                             set_device=kiosk.board.set)
    part = PartPayment(kiosk.live, kiosk.settle)  # pay less where the provider allows it
    return Flows(vouchers, sms, reprint, part)
