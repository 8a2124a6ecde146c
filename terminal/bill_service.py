"""The bill payment service: provider -> consumer number -> bill from central -> pay in cash
(terminal/cash_intake.py) or by card (terminal/card_payment.py) -> completion.

Its intents: start, consumer, confirm, pay_card, card_pin, back, cancel. Money comes in only
after `session_opened` and `bill` are journaled (`open_in_journal`); from then on every step is
a journal event folded into the session.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from drivers.base import DeviceStatus
from terminal import catalogue
from terminal import events as E
from terminal.card_payment import CardAuthoriser, CardReaderLike, CardStep
from terminal.cash_intake import SessionEnds
from terminal.catalogue_cache import payable
from terminal.central import CentralError
from terminal.live_session import (
    Handler,
    IntentError,
    JournalLike,
    LiveSession,
    SetDevice,
    new_id,
)
from terminal.logs import log_event
from terminal.session import CANCELLABLE, Bill, Session, State

log = logging.getLogger("kiosk")

CONSUMER_NUMBER = catalogue.CONSUMER_NUMBER  # the outer bound; each provider's rule is data


class BillCentral(CardAuthoriser, Protocol):
    """What the bill service needs of central."""

    async def fetch_bill(self, provider: str, consumer_number: str) -> Bill: ...


class PrinterStatus(Protocol):
    async def refresh_status(self) -> DeviceStatus: ...


class CashStart(Protocol):
    """Cash intake, as the bill service starts it (terminal/cash_intake.CashIntake)."""

    async def update_acceptor(self) -> None: ...


class BillService:
    def __init__(
        self,
        central: BillCentral,
        journal: JournalLike,
        live: LiveSession,
        cash: CashStart,
        ends: SessionEnds,
        *,
        config: dict,
        printer: PrinterStatus | None,
        card_reader: Callable[[], CardReaderLike | None],
        services: Callable[[], dict[str, Any]],
        set_device: SetDevice,
    ) -> None:
        self.central = central
        self.journal = journal
        self.live = live
        self.cash = cash
        self.ends = ends
        self.config = config
        self.terminal_id: str = config["terminal"]["id"]
        self.printer = printer
        self.card_reader = card_reader  # set by the core after the kiosk is made
        self.services = services
        self.set_device = set_device
        self.pin_future: asyncio.Future | None = None
        self.card_task: asyncio.Task | None = None

    def intents(self) -> Mapping[str, Handler]:
        return {"start": self.start, "consumer": self.consumer, "confirm": self.confirm,
                "pay_card": self.pay_card, "card_pin": self.card_pin, "back": self.back,
                "cancel": self.cancel}

    async def start(self, args: dict) -> None:
        live = self.live
        if live.in_progress():
            raise IntentError("session_in_progress")
        provider = args.get("provider", "")
        if not isinstance(provider, str) or catalogue.bill_provider(provider) is None:
            raise IntentError("bad_request", f"unknown provider {provider!r}")
        service = catalogue.service(catalogue.PROVIDERS[provider]["service"])
        if service is None or not payable(service, self.services()):
            raise IntentError("service_unavailable")  # the home shows no such tile now
        live.end()
        live.lookup = None
        sid = new_id("S", self.terminal_id)
        live.session = Session(
            sid, service=catalogue.PROVIDERS[provider]["service"], provider=provider
        )
        live.session.move(State.IDENTIFY)
        live.say(None)
        live.last_returned = None
        live.touch()
        log_event(log, "session started", session=sid, provider=provider)

    async def consumer(self, args: dict) -> None:
        live = self.live
        s = live.need(State.IDENTIFY, State.BILL)
        if catalogue.bill_provider(s.provider) is None:
            raise IntentError("not_now", "this session has no consumer number to look up")
        number = str(args.get("number", "")).strip()
        if not catalogue.consumer_number_ok(s.provider, number):
            live.say("consumer_number_invalid")
            raise IntentError("consumer_number_invalid")
        if live.lookup_in_flight:
            # One lookup per session at a time: a second answer must never pair one consumer's
            # number with another's bill (two screens, or the screen and the scanner).
            raise IntentError("please_wait", "a bill lookup is already in progress")
        if s.state == State.BILL:
            s.move(State.IDENTIFY)
            s.bill = None
        s.consumer_number = number
        live.busy = True
        live.lookup_in_flight = True
        live.say("please_wait")
        live.changed()
        try:
            bill = await self.central.fetch_bill(s.provider, number)
        except CentralError as exc:
            live.busy = False
            key = (
                "bill_not_found"
                if exc.code == "bill_not_found"
                else "consumer_number_invalid" if exc.code == "bad_request"
                else "central_unavailable"
            )
            live.say(key)
            log_event(
                log, "bill fetch failed", logging.WARNING, session=s.session_id, error=str(exc)
            )
            raise IntentError(key, str(exc)) from None
        finally:
            live.lookup_in_flight = False
        live.busy = False
        if live.session is not s or s.state != State.IDENTIFY:
            return  # cancelled while we waited
        if bill.consumer_number != number or bill.provider != s.provider:
            live.say("central_unavailable")
            log_event(log, "bill for another consumer refused", logging.ERROR,
                      session=s.session_id)
            raise IntentError("central_unavailable", "central answered for another consumer")
        if bill.status == "paid":
            live.say("bill_already_paid")
            raise IntentError("bill_already_paid")
        if bill.due_paise <= 0:
            live.say("nothing_due")
            raise IntentError("nothing_due")
        s.bill = bill
        s.move(State.BILL)
        live.say(None)
        live.touch()

    async def confirm(self, args: dict) -> None:
        live = self.live
        s = live.need(State.BILL)
        assert s.bill is not None
        if self.printer is not None:
            status = await self.printer.refresh_status()
            self.set_device("printer", status)
        if not self.services()["cash_payment"]:
            live.say("service_unavailable")
            raise IntentError("service_unavailable")
        if not s.opened:  # a declined card may have opened it already
            self.open_in_journal(s)
        s.move(State.PAYING)
        live.say("insert_note")
        live.touch()
        await self.cash.update_acceptor()

    def open_in_journal(self, s: Session) -> None:
        """The session exists in the journal from here on: money may now come in."""
        assert s.bill is not None
        for ev in (
            self.journal.record(s.session_id, E.SessionOpened(
                service=s.service, provider=s.provider, consumer_number=s.consumer_number)),
            self.journal.record(s.session_id, E.Bill(**s.bill.to_dict())),
        ):
            if ev is not None:
                s.apply(ev)

    async def back(self, args: dict) -> None:
        s = self.live.need(State.BILL)
        s.bill = None
        s.move(State.IDENTIFY)
        self.live.touch()

    async def cancel(self, args: dict) -> None:
        live = self.live
        s = live.session
        if s is None:
            return
        if s.state == State.CARD:
            step = (live.card_state or {}).get("step")
            if step == "authorising":
                raise IntentError("cannot_cancel_now")
            if self.pin_future is not None and not self.pin_future.done():
                self.pin_future.set_result(None)  # the card flow ends as cancelled -> BILL
            elif self.card_task is not None:
                self.card_task.cancel()
                live.card_state = None
                s.move(State.BILL)
            return
        if s.state in CANCELLABLE or (s.state == State.PAYING and s.paid_paise == 0):
            await self.ends.cancel(s, State.CANCELLED)
        elif s.state == State.PAYING:
            # Cash is in: the session can only complete. Stopping early means a voucher.
            await self.ends.settle(s)
        else:
            raise IntentError("cannot_cancel_now")

    # ------------------------------------------------------------------ paying by card

    async def pay_card(self, args: dict) -> None:
        """BILL -> CARD: insert the card, PIN on a scrambled keypad, authorisation at central."""
        live = self.live
        s = live.need(State.BILL)
        if self.card_reader() is None or not self.services()["card_payment"]:
            raise IntentError("service_unavailable")
        if not s.opened:
            self.open_in_journal(s)
        s.move(State.CARD)
        live.say("insert_card")
        live.card_state = {"step": "insert_card", "tries_left": None, "keypad": None}
        txn_id = new_id("T", self.terminal_id)
        self.card_task = asyncio.create_task(self._card_flow(s, txn_id), name="card-payment")

    async def card_pin(self, args: dict) -> None:
        self.live.need(State.CARD)
        pin = args.get("pin")
        if not isinstance(pin, str) or self.pin_future is None or self.pin_future.done():
            raise IntentError("not_now")
        self.pin_future.set_result(pin)

    async def _get_pin(self) -> str | None:
        self.pin_future = asyncio.get_running_loop().create_future()
        try:
            return await self.pin_future
        finally:
            self.pin_future = None

    def _card_step(self, step: CardStep) -> None:
        from terminal.card_payment import scrambled_keypad

        asks_pin = step.step in ("enter_pin", "pin_wrong", "pin_invalid")
        self.live.card_state = {
            "step": step.step,
            "tries_left": step.tries_left,
            "keypad": scrambled_keypad() if asks_pin else None,
        }
        # the step's own time limit, so the screen counts down to when the flow gives up
        self.live.deadline = (
            None if step.timeout_s is None else self.live.clock() + step.timeout_s
        )
        self.live.say(f"card_{step.step}")
        self.live.changed()

    async def _card_flow(self, s: Session, txn_id: str) -> None:
        from terminal.card_payment import CardOutcome, CardPayment

        live = self.live
        card = self.config["card"]
        reader = self.card_reader()
        assert reader is not None
        payment = CardPayment(
            reader,
            self.central,
            self._get_pin,
            insert_timeout_s=card["insert_timeout_s"],
            pin_timeout_s=card["pin_timeout_s"],
            on_step=self._card_step,
        )
        live.card_more_time = payment.more_insert_time
        try:
            outcome = await payment.run(s.due_paise, txn_id)
        except Exception:
            log.exception("card payment failed")
            outcome = CardOutcome("card_error", "card_error")
        finally:
            live.card_more_time = None
        if outcome.approved:
            authorised = E.CardAuthorised(
                auth_id=outcome.auth_id,
                auth_code=outcome.auth_code,
                pan_masked=outcome.pan_masked,
                amount_paise=s.due_paise,
                txn_id=txn_id,
            )
            ev = self.journal.record(s.session_id, authorised, key=f"card:{outcome.auth_id}")
            if ev is not None:
                s.apply(ev)
            live.card_state = None
            await self.ends.settle(s, txn_id=txn_id)
        elif live.session is s and s.state == State.CARD:
            # Declined, cancelled or a card problem: nothing was taken; cash or cancel remain.
            live.card_state = None
            s.move(State.BILL)
            live.say(outcome.message_key)
            live.touch()
        live.changed()
