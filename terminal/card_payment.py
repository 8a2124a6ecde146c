"""One card payment: card in, EMV read, offline PIN, ARQC, online authorisation by central.

`CardPayment.run(amount_paise, txn_id)` walks the steps and always returns a `CardOutcome`
(it never raises for anything the card, the citizen or central does):

1. wait for a card (a `CardInserted` from the reader, or one already in) up to `insert_timeout_s`;
2. `read_emv()` -> masked PAN, expiry, AID;
3. ask `get_pin()` (the screen's scrambled keypad; None = the citizen cancelled) and
   `verify_pin()`: a wrong PIN asks again while the card has tries left, a blocked card stops;
4. `generate_arqc(amount)` -> cryptogram, ATC and the CDOL1 data the card signed;
5. `central.authorise_card(request)` (idempotent on auth_id, so one retry is safe) ->
   approved (with a 6-digit auth code) or declined (with central's reason).

A card pulled out at any step before the request leaves for central ends in "card_error"; once
central has the request its answer stands (the kiosk is online-only and needs nothing more from
the card). Central unreachable, or answering nonsense, ends in "unavailable": never approved.

While it runs, the payment owns the reader's event stream. The PIN is held only in a local
variable for the one VERIFY and is never logged or kept; nothing here ever sees a full PAN
(drivers/card masks it to first 6 / last 4 before it leaves the driver).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from drivers.base import DeviceError
from drivers.card import (
    CardApplicationNotFound,
    CardRemovedError,
    EmvCard,
    NoCardError,
    PinResult,
)
from terminal.central.client import CentralError
from terminal.logs import log_event

log = logging.getLogger("terminal.card_payment")

CardStatus = Literal[
    "approved", "declined", "cancelled", "card_error", "pin_blocked", "unavailable"
]

# central's decline reason -> what the screen says; any other reason gets the generic message
DECLINE_MESSAGES = {
    "insufficient_funds": "card_declined_funds",
    "expired": "card_declined_expired",
    "limit": "card_declined_limit",
}
PIN_MIN, PIN_MAX = 4, 12


@dataclass(frozen=True)
class CardOutcome:
    """How one card payment ended. Holds no PIN and no full PAN."""

    status: CardStatus
    message_key: str
    auth_code: str | None = None
    pan_masked: str | None = None
    reason: str | None = None
    auth_id: str | None = None

    @property
    def approved(self) -> bool:
        return self.status == "approved"

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "message_key": self.message_key,
            "auth_code": self.auth_code,
            "pan_masked": self.pan_masked,
            "reason": self.reason,
            "auth_id": self.auth_id,
        }


@dataclass(frozen=True)
class CardStep:
    """Progress for the screen: insert_card, reading, enter_pin, pin_wrong, pin_invalid,
    authorising; tries_left when the card said (pin_wrong); timeout_s: the step's countdown."""

    step: str
    tries_left: int | None = None
    timeout_s: float | None = None


class CardReaderLike(Protocol):
    """What the payment needs of drivers.card.CardReader."""

    def events(self) -> AsyncIterator[Any]: ...

    def card_present(self) -> bool: ...

    async def read_emv(self) -> EmvCard: ...

    async def verify_pin(self, pin: str) -> PinResult: ...

    async def generate_arqc(self, amount_paise: int, **kwargs: Any) -> dict: ...


class CardAuthoriser(Protocol):
    """What the payment needs of central (ReferenceDialect.authorise_card)."""

    async def authorise_card(self, request: dict[str, Any]) -> dict[str, Any]: ...


GetPin = Callable[[], Awaitable[str | None]]


def scrambled_keypad(rng: random.Random | None = None) -> list[str]:
    """The ten digits in a random order, for the on-screen PIN keypad (a fresh order per PIN)."""
    digits = list("0123456789")
    (rng or secrets.SystemRandom()).shuffle(digits)
    return digits


def _pin_well_formed(pin: str) -> bool:
    return PIN_MIN <= len(pin) <= PIN_MAX and pin.isascii() and pin.isdigit()


def new_auth_id() -> str:
    return "A-" + secrets.token_hex(8)


class _Stop(Exception):
    """Ends the flow early with an outcome."""

    def __init__(self, outcome: CardOutcome) -> None:
        super().__init__(outcome.status)
        self.outcome = outcome


class CardPayment:
    """One card payment for an amount; `run()` once per payment (a new object each time)."""

    def __init__(
        self,
        reader: CardReaderLike,
        central: CardAuthoriser,
        get_pin: GetPin,
        *,
        insert_timeout_s: float = 60.0,
        pin_timeout_s: float = 60.0,
        auth_timeout_s: float = 20.0,
        auth_attempts: int = 2,
        retry_delay_s: float = 0.5,
        max_pin_prompts: int = 6,
        on_step: Callable[[CardStep], None] | None = None,
        new_id: Callable[[], str] = new_auth_id,
    ) -> None:
        self.reader = reader
        self.central = central
        self.get_pin = get_pin
        self.insert_timeout_s = insert_timeout_s
        self.pin_timeout_s = pin_timeout_s
        self.auth_timeout_s = auth_timeout_s
        self.auth_attempts = max(1, auth_attempts)
        self.retry_delay_s = retry_delay_s
        self.max_pin_prompts = max_pin_prompts
        self.on_step = on_step
        self.new_id = new_id
        # the authorisation request as sent (masked PAN, no PIN): to re-post it idempotently
        self.last_request: dict[str, Any] | None = None
        self._removed = asyncio.Event()
        self._card: EmvCard | None = None
        self._insert_timer: asyncio.Timeout | None = None  # while waiting for the card

    # ---------------------------------------------------------------- the flow

    async def run(self, amount_paise: int, txn_id: str) -> CardOutcome:
        if isinstance(amount_paise, bool) or not isinstance(amount_paise, int) or amount_paise <= 0:
            raise ValueError("amount_paise must be a positive int")
        if not txn_id:
            raise ValueError("txn_id is required")
        self._removed, self._card, self.last_request = asyncio.Event(), None, None
        watcher: asyncio.Task[None] | None = None
        try:
            await self._wait_for_card()
            watcher = asyncio.create_task(self._watch_removal())
            outcome = await self._after_insert(amount_paise, txn_id)
        except _Stop as stop:
            outcome = stop.outcome
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
        log_event(
            log,
            "card payment ended",
            txn_id=txn_id,
            amount_paise=amount_paise,
            status=outcome.status,
            reason=outcome.reason,
            message_key=outcome.message_key,
            pan=outcome.pan_masked,
            auth_id=outcome.auth_id,
        )
        return outcome

    async def _after_insert(self, amount_paise: int, txn_id: str) -> CardOutcome:
        self._step("reading")
        card = await self._card_call(self.reader.read_emv())
        self._card = card
        log_event(log, "card read", txn_id=txn_id, pan=card.pan_masked, aid=card.aid)
        await self._pin_dialogue()
        self._check_present()
        arqc = await self._card_call(self.reader.generate_arqc(amount_paise))
        self._check_present()  # pulled before the request left: nothing sent, nothing to undo
        request = {
            "auth_id": self.new_id(),
            "txn_id": txn_id,
            "amount_paise": amount_paise,
            "pan_masked": card.pan_masked,
            "expiry": card.expiry,
            "aid": arqc.get("aid") or card.aid,
            "arqc": arqc["cryptogram"],
            "cdol1_data": arqc["cdol1_data"],
            "atc": arqc["atc"],
        }
        self.last_request = request
        self._step("authorising")
        return await self._authorise(request)

    # ---------------------------------------------------------------- steps

    def _step(self, step: str, tries_left: int | None = None,
              timeout_s: float | None = None) -> None:
        if self.on_step is not None:
            try:
                self.on_step(CardStep(step, tries_left, timeout_s))
            except Exception:  # the screen's trouble must not lose the payment
                log.exception("card payment on_step callback failed")

    def _outcome(self, status: CardStatus, message_key: str, **kw: Any) -> CardOutcome:
        pan = self._card.pan_masked if self._card is not None else None
        return CardOutcome(status, message_key, pan_masked=pan, **kw)

    def _stop(self, status: CardStatus, message_key: str, **kw: Any) -> _Stop:
        return _Stop(self._outcome(status, message_key, **kw))

    async def _wait_for_card(self) -> None:
        if self.reader.card_present():
            return
        self._step("insert_card", timeout_s=self.insert_timeout_s)
        events = self.reader.events()
        try:
            async with asyncio.timeout(self.insert_timeout_s) as timer:
                self._insert_timer = timer
                # the reader's state is updated before each event is queued, so card_present()
                # after any event tells the truth even about stale events in the queue
                while not self.reader.card_present():
                    await anext(events)
        except TimeoutError:
            raise self._stop("cancelled", "card_insert_timeout", reason="insert_timeout") from None
        except StopAsyncIteration:  # the reader was closed
            raise self._stop("card_error", "card_reader_fault", reason="reader_closed") from None
        finally:
            self._insert_timer = None
            with contextlib.suppress(Exception):
                await events.aclose()

    def more_insert_time(self) -> bool:
        """More time while waiting for the card: the wait starts again (the screen is told).
        Never the PIN's: pin_timeout_s is the PIN-entry security timeout (nothing is taken)."""
        timer = self._insert_timer
        if timer is None:
            return False
        timer.reschedule(asyncio.get_running_loop().time() + self.insert_timeout_s)
        self._step("insert_card", timeout_s=self.insert_timeout_s)
        return True

    async def _watch_removal(self) -> None:
        """Sets _removed when the card leaves (or the reader goes) while the payment runs."""
        if not self.reader.card_present():
            self._removed.set()
            return
        events = self.reader.events()
        try:
            async for _ in events:
                if not self.reader.card_present():
                    self._removed.set()
                    return
            self._removed.set()  # reader closed
        finally:
            with contextlib.suppress(Exception):
                await events.aclose()

    def _check_present(self) -> None:
        if self._removed.is_set() or not self.reader.card_present():
            raise self._stop("card_error", "card_removed", reason="card_removed")

    async def _card_call(self, call: Awaitable[Any]) -> Any:
        """One driver operation; card trouble becomes a card_error outcome."""
        try:
            return await call
        except (CardRemovedError, NoCardError):
            raise self._stop("card_error", "card_removed", reason="card_removed") from None
        except CardApplicationNotFound:
            raise self._stop("card_error", "card_not_supported", reason="no_application") from None
        except DeviceError as exc:  # CardDataError, CardStatusError, reader trouble
            log_event(log, "card error", level=logging.WARNING, error=type(exc).__name__)
            raise self._stop("card_error", "card_unreadable", reason="card_unreadable") from None

    async def _ask_pin(self) -> str | None:
        """get_pin(), raced against the card leaving and the PIN timeout."""
        self._check_present()
        entry = asyncio.ensure_future(self.get_pin())
        gone = asyncio.ensure_future(self._removed.wait())
        try:
            done, _ = await asyncio.wait(
                {entry, gone}, timeout=self.pin_timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for fut in (entry, gone):
                if not fut.done():
                    fut.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await gone
        if entry in done:
            try:
                return entry.result()
            except Exception as exc:  # the keypad's trouble: no PIN, nothing sent to the card
                log_event(log, "pin entry failed", level=logging.WARNING, error=type(exc).__name__)
                raise self._stop("cancelled", "card_cancelled", reason="pin_entry_failed") from None
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await entry
        if gone in done:
            raise self._stop("card_error", "card_removed", reason="card_removed")
        raise self._stop("cancelled", "card_pin_timeout", reason="pin_timeout")

    async def _pin_dialogue(self) -> None:
        self._step("enter_pin", timeout_s=self.pin_timeout_s)
        for _ in range(self.max_pin_prompts):
            pin = await self._ask_pin()
            if pin is None:
                raise self._stop("cancelled", "card_cancelled", reason="cancelled")
            if not _pin_well_formed(pin):
                del pin
                self._step("pin_invalid", timeout_s=self.pin_timeout_s)
                continue
            result = await self._card_call(self.reader.verify_pin(pin))
            del pin
            if result.ok:
                return
            if result.blocked or result.tries_left == 0:
                raise self._stop("pin_blocked", "card_pin_blocked", reason="pin_blocked")
            self._step("pin_wrong", result.tries_left, self.pin_timeout_s)
        raise self._stop("cancelled", "card_pin_too_many", reason="pin_prompts_exhausted")

    async def _authorise(self, request: dict[str, Any]) -> CardOutcome:
        auth_id = request["auth_id"]
        last_error = "unreachable"
        for attempt in range(1, self.auth_attempts + 1):
            try:
                async with asyncio.timeout(self.auth_timeout_s):
                    reply = await self.central.authorise_card(request)
                break
            except TimeoutError:
                last_error, retryable = "timeout", True
            except CentralError as exc:
                retryable = exc.retryable
                last_error = exc.code or (f"http_{exc.status}" if exc.status else "unreachable")
            log_event(
                log,
                "card authorisation failed",
                level=logging.WARNING,
                auth_id=auth_id,
                attempt=attempt,
                error=last_error,
            )
            if not retryable or attempt == self.auth_attempts:
                return self._outcome(
                    "unavailable", "card_central_unavailable", reason=last_error, auth_id=auth_id
                )
            await asyncio.sleep(self.retry_delay_s)  # same auth_id: central decides once
        status = reply.get("status")
        if status == "approved":
            code = reply.get("auth_code")
            if not (isinstance(code, str) and len(code) == 6 and code.isascii() and code.isdigit()):
                return self._outcome(
                    "unavailable", "card_central_unavailable", reason="bad_reply", auth_id=auth_id
                )
            return self._outcome("approved", "card_approved", auth_code=code, auth_id=auth_id)
        if status == "declined":
            reason = str(reply.get("reason") or "declined")
            key = DECLINE_MESSAGES.get(reason, "card_declined")
            return self._outcome("declined", key, reason=reason, auth_id=auth_id)
        return self._outcome(
            "unavailable", "card_central_unavailable", reason="bad_reply", auth_id=auth_id
        )
