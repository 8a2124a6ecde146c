"""The kiosk controller: one citizen session at a time, driven by intents and device events.

Every money step is journaled (durable) before it is shown or acted on; completion after a crash
runs through the same `_complete()` as normal running. The screen learns everything through
`snapshot()` pushed to listeners (the session API).
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from drivers.base import (
    BanknoteAcceptor,
    DeviceState,
    DeviceStatus,
    NoteFoundAtPowerUp,
    NoteInEscrow,
    NoteRejected,
    NoteReturned,
    NoteStacked,
    PrintError,
    ReceiptPrinter,
    StatusChanged,
)
from terminal import catalogue
from terminal.central import CentralError
from terminal.journal import Journal
from terminal.logs import log_event, mask_digits, mask_name
from terminal.outbox import Outbox
from terminal.session import (
    CANCELLABLE,
    Bill,
    Session,
    State,
    allowed_notes,
    fold,
    settlement,
)
from terminal.storage_guard import StorageGuard

log = logging.getLogger("kiosk")

CONSUMER_NUMBER = re.compile(r"^\d{6,16}$")
UNKNOWN_STATUS = DeviceStatus(DeviceState.OFFLINE, ("not_connected",))
REJECT_MESSAGES = {
    "insertion": "note_insert_flat",
    "inhibited": "note_not_accepted_now",
    "remained_in_head": "note_insert_flat",
    "multiple_notes": "note_one_at_a_time",
}


# Maintenance actions the screen may ask for (terminal/maintenance.py Maintenance methods).
MAINTENANCE_ACTIONS = {
    "leave", "cash_summary", "collect_cash", "test_print", "test_note", "identities",
    "fault_log", "outbox_view", "send_now", "network_test", "recent_receipts", "reprint",
    "restart", "alarms",
}


def new_id(prefix: str, terminal_id: str) -> str:
    stamp = datetime.now(UTC).strftime("%y%m%d%H%M%S")
    return f"{prefix}-{terminal_id}-{stamp}-{secrets.token_hex(3).upper()}"


class IntentError(Exception):
    """An intent that cannot be done now; `key` is the message shown to the citizen."""

    def __init__(self, key: str, detail: str = "") -> None:
        super().__init__(detail or key)
        self.key = key


class Kiosk:
    def __init__(
        self,
        config: dict,
        journal: Journal,
        central: Any,
        acceptor: BanknoteAcceptor | None,
        printer: ReceiptPrinter | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.terminal_id: str = config["terminal"]["id"]
        self.journal = journal
        self.central = central
        self.acceptor = acceptor
        self.printer = printer
        self.clock = clock
        self.language: str = config["terminal"]["language"]
        pay = config["payment"]
        self.max_overpay = pay["max_overpay_paise"]
        self.accepted_paise = {r * 100 for r in config["acceptor"]["accepted_notes"]}
        self.session: Session | None = None
        self.busy = False
        self.message: dict | None = None
        self.last_returned: dict | None = None
        self.ask_more_time = False
        self.deadline: float | None = None
        self.device_status: dict[str, DeviceStatus] = {
            "acceptor": UNKNOWN_STATUS,
            "printer": UNKNOWN_STATUS,
        }
        self.out_of_service_command = False
        self.maintenance = None  # terminal/maintenance.Maintenance, set by the core
        self.card_reader = None  # drivers/card CardReader when [card] is enabled
        self.card_state: dict | None = None
        self._pin_future: asyncio.Future | None = None
        self._card_task: asyncio.Task | None = None
        # Maintenance's test note: a hook that may claim an acceptor event before the session.
        self.intercept_acceptor_event = None
        self.camera = None  # set by the core when [camera] is enabled
        self.presence = False  # a face in front of the machine (wakes the attract screen)
        # A QR check in progress on the home screen (verify a receipt / voucher), or None.
        self.lookup: dict | None = None
        self.outbox = Outbox(journal, central, config)
        self._listeners: list[Callable[[dict], None]] = []
        self._tasks: list[asyncio.Task] = []
        self._finishing: asyncio.Task | None = None
        self._seq = 0
        self.recovering = False
        self._enabled_notes: set[int] | None = None
        self._lookup_in_flight = False
        min_free_mb = config.get("journal", {}).get("min_free_mb", 1)
        self.storage = StorageGuard(journal.path, int(min_free_mb * (1 << 20)), clock)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Recover open sessions from the journal, then start consuming device events."""
        if self.printer is not None:
            self.device_status["printer"] = self.printer.status()
        self.recovering = True
        if self.acceptor is not None:
            self.device_status["acceptor"] = self.acceptor.status()
            # Notes the driver found in the path while opening belong to the sessions recovery
            # is about to settle: attribute them first.
            for event in self.acceptor.drain_events():
                try:
                    await self._on_acceptor_event(event)
                except Exception:
                    log.exception("acceptor event at start-up failed")
            await self._stacking_by_counter()
            self._tasks.append(asyncio.create_task(self._acceptor_loop(), name="acceptor-events"))
        await self.recover()
        self._tasks.append(asyncio.create_task(self._ticker(), name="session-ticker"))
        self.outbox.start()

    async def stop(self) -> None:
        await self.outbox.stop()
        for task in self._tasks:
            task.cancel()
        if self._finishing:
            self._finishing.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    def add_listener(self, listener: Callable[[dict], None]) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[dict], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _changed(self) -> None:
        self._seq += 1
        snap = self.snapshot()
        for listener in list(self._listeners):
            try:
                listener(snap)
            except Exception:  # a broken screen connection must not stop the money path
                log.exception("state listener failed")

    # ------------------------------------------------------------------ what the screen sees

    def services(self) -> dict[str, Any]:
        acc = self.device_status["acceptor"].state
        prn = self.device_status["printer"]
        printer_ok = (
            prn.state in (DeviceState.ONLINE, DeviceState.BUSY) and "paper_out" not in prn.detail
        )
        acceptor_ok = acc in (DeviceState.ONLINE, DeviceState.BUSY)
        reasons = []
        if not acceptor_ok:
            reasons.append("acceptor_unavailable")
        if not printer_ok:
            reasons.append(
                "printer_out_of_paper" if "paper_out" in prn.detail else "printer_unavailable"
            )
        storage_ok = self.storage.problem is None
        if not storage_ok:
            reasons.append(self.storage.problem)
        cash = acceptor_ok and printer_ok and storage_ok and not self.out_of_service_command
        if self.out_of_service_command:
            reasons.append("out_of_service_by_control_room")
        card_status = self.device_status.get("card")
        card = (
            self.card_reader is not None
            and card_status is not None
            and card_status.state in (DeviceState.ONLINE, DeviceState.BUSY)
            and printer_ok
            and not self.out_of_service_command
        )
        return {
            "cash_payment": cash,
            "card_payment": card,
            "lookup": not self.out_of_service_command,
            "out_of_service": not cash and self.out_of_service_command,
            "reasons": reasons,
        }

    def _maintenance_state(self) -> dict[str, Any] | None:
        m = self.maintenance
        if m is None:
            return None
        return {"active": m.active, "engineer_id": m.engineer, "locked": m.auth.locked(),
                "alarms": [a.get("code") for a in m.alarms()]}

    def snapshot(self) -> dict[str, Any]:
        s = self.session
        state: dict[str, Any] = {
            "seq": self._seq,
            "screen": s.state.value if s else ("VERIFY" if self.lookup else State.IDLE.value),
            "lookup": self.lookup,
            "presence": self.presence,
            "maintenance": self._maintenance_state(),
            "language": self.language,
            "terminal": {
                "id": self.terminal_id,
                "location": self.config["terminal"]["location"],
                "helpline": self.config["terminal"]["helpline"],
            },
            "catalogue": catalogue.catalogue(),
            "services": self.services(),
            "devices": {k: v.to_dict() for k, v in self.device_status.items()},
            "busy": self.busy,
            "message": self.message,
            "ask_more_time": self.ask_more_time,
            "seconds_left": None
            if self.deadline is None
            else max(0, round(self.deadline - self.clock())),
            "session": None,
        }
        if s is None:
            return state
        bill = s.bill
        state["session"] = {
            "session_id": s.session_id,
            "service": s.service,
            "provider": s.provider,
            "consumer_masked": mask_digits(s.consumer_number) if s.consumer_number else "",
            "bill": None
            if bill is None
            else {
                "consumer_name_masked": mask_name(bill.consumer_name),
                "period": bill.period,
                "due_paise": bill.due_paise,
                "due_date": bill.due_date,
                "status": bill.status,
            },
            "due_paise": s.due_paise,
            "paid_paise": s.paid_paise,
            "remaining_paise": s.remaining_paise,
            "notes_paise": s.notes,
            "accepted_now_paise": sorted(self._notes_allowed_now()),
            "last_returned": self.last_returned,
            "cash_in_machine": s.paid_paise > 0,
            "txn_id": s.txn_id,
            "receipt_no": s.receipt_no,
            "provisional": s.settled and s.amount_paise > 0 and s.receipt_no is None
            and s.refund_voucher_id is None,
            "refund_voucher": None if not s.refund_voucher_id
            else {"id": s.refund_voucher_id, "paise": s.refund_paise},
            "amount_paise": s.amount_paise,
            "voucher": None if not s.voucher_id else {"id": s.voucher_id, "paise": s.voucher_paise},
            "printed": sorted(s.printed),
            "print_failed": sorted(s.print_failed - s.printed),
            "recovered": s.recovered,
            "card": self.card_state,
            "paid_by_card": None
            if not s.card
            else {"pan_masked": s.card["pan_masked"], "auth_code": s.card["auth_code"]},
        }
        return state

    # ------------------------------------------------------------------ intents

    async def intent(self, name: str, args: dict[str, Any]) -> Any:
        """Apply one intent; raises IntentError with a message key when it cannot. Returns data
        for the caller (only maintenance actions have any)."""
        handler = getattr(self, f"_intent_{name}", None)
        if handler is None:
            raise IntentError("unknown_intent", f"unknown intent {name!r}")
        if self.recovering and name != "language":
            raise IntentError("please_wait", "completing sessions found open at start-up")
        if name != "maintenance":
            self._touch()
        try:
            return await handler(args)
        finally:
            self._changed()

    def _touch(self) -> None:
        """Citizen activity: restart the inactivity timer of the current step."""
        self.ask_more_time = False
        s = self.session
        pay = self.config["payment"]
        if s is None:
            self.deadline = (self.clock() + pay["identify_timeout_s"]) if self.lookup else None
        elif s.state in (State.IDENTIFY, State.BILL):
            self.deadline = self.clock() + pay["identify_timeout_s"]
        elif s.state == State.PAYING:
            self.deadline = self.clock() + pay["cash_idle_timeout_s"]
        elif s.state in (State.DONE, State.CANCELLED, State.TIMEOUT):
            self.deadline = self.clock() + pay["done_screen_s"]
        else:
            self.deadline = None

    async def _intent_language(self, args: dict) -> None:
        lang = args.get("language")
        if lang not in ("hi", "en"):
            raise IntentError("bad_request", "language must be hi or en")
        self.language = lang

    async def _intent_more_time(self, args: dict) -> None:
        self.ask_more_time = False

    async def _intent_start(self, args: dict) -> None:
        if self.session is not None and self.session.state not in (
            State.DONE,
            State.CANCELLED,
            State.TIMEOUT,
        ):
            raise IntentError("session_in_progress")
        if not self.services()["cash_payment"]:
            raise IntentError("service_unavailable")
        provider = args.get("provider", "")
        if provider not in catalogue.PROVIDERS:
            raise IntentError("bad_request", f"unknown provider {provider!r}")
        self._end_session()
        sid = new_id("S", self.terminal_id)
        self.session = Session(
            sid, service=catalogue.PROVIDERS[provider]["service"], provider=provider
        )
        self.session.move(State.IDENTIFY)
        self.message = None
        self.last_returned = None
        self._touch()
        log_event(log, "session started", session=sid, provider=provider)

    async def _intent_consumer(self, args: dict) -> None:
        s = self._need(State.IDENTIFY, State.BILL)
        number = str(args.get("number", "")).strip()
        if not CONSUMER_NUMBER.match(number):
            self.message = {"key": "consumer_number_invalid"}
            raise IntentError("consumer_number_invalid")
        if self._lookup_in_flight:
            # One lookup per session at a time: a second answer must never pair one consumer's
            # number with another's bill (two screens, or the screen and the scanner).
            raise IntentError("please_wait", "a bill lookup is already in progress")
        if s.state == State.BILL:
            s.move(State.IDENTIFY)
            s.bill = None
        s.consumer_number = number
        self.busy = True
        self._lookup_in_flight = True
        self.message = {"key": "please_wait"}
        self._changed()
        try:
            bill = await self.central.fetch_bill(s.provider, number)
        except CentralError as exc:
            self.busy = False
            key = (
                "bill_not_found"
                if exc.code == "bill_not_found"
                else (
                    "consumer_number_invalid"
                    if exc.code == "bad_request"
                    else "central_unavailable"
                )
            )
            self.message = {"key": key}
            log_event(
                log, "bill fetch failed", logging.WARNING, session=s.session_id, error=str(exc)
            )
            raise IntentError(key, str(exc)) from None
        finally:
            self._lookup_in_flight = False
        self.busy = False
        if self.session is not s or s.state != State.IDENTIFY:
            return  # cancelled while we waited
        if bill.consumer_number != number or bill.provider != s.provider:
            self.message = {"key": "central_unavailable"}
            log_event(log, "bill for another consumer refused", logging.ERROR,
                      session=s.session_id)
            raise IntentError("central_unavailable", "central answered for another consumer")
        if bill.status == "paid":
            self.message = {"key": "bill_already_paid"}
            raise IntentError("bill_already_paid")
        if bill.due_paise <= 0:
            self.message = {"key": "nothing_due"}
            raise IntentError("nothing_due")
        s.bill = bill
        s.move(State.BILL)
        self.message = None
        self._touch()

    async def _intent_confirm(self, args: dict) -> None:
        s = self._need(State.BILL)
        assert s.bill is not None
        if self.printer is not None:
            status = await self.printer.refresh_status()
            self._set_device("printer", status)
        if not self.services()["cash_payment"]:
            self.message = {"key": "service_unavailable"}
            raise IntentError("service_unavailable")
        if not s.opened:  # a declined card may have opened it already
            self._open_in_journal(s)
        s.move(State.PAYING)
        self.message = {"key": "insert_note"}
        self._touch()
        await self._update_acceptor()

    def _open_in_journal(self, s: Session) -> None:
        """The session exists in the journal from here on: money may now come in."""
        assert s.bill is not None
        self.journal.append(
            "session_opened",
            s.session_id,
            {"service": s.service, "provider": s.provider, "consumer_number": s.consumer_number},
        )
        self.journal.append("bill", s.session_id, s.bill.to_dict())
        s.opened = True

    # ------------------------------------------------------------------ paying by card

    async def _intent_pay_card(self, args: dict) -> None:
        """BILL -> CARD: insert the card, PIN on a scrambled keypad, authorisation at central."""
        s = self._need(State.BILL)
        if self.card_reader is None or not self.services()["card_payment"]:
            raise IntentError("service_unavailable")
        if not s.opened:
            self._open_in_journal(s)
        s.move(State.CARD)
        self.message = {"key": "insert_card"}
        self.card_state = {"step": "insert_card", "tries_left": None, "keypad": None}
        txn_id = new_id("T", self.terminal_id)
        self._card_task = asyncio.create_task(self._card_flow(s, txn_id), name="card-payment")

    async def _intent_card_pin(self, args: dict) -> None:
        self._need(State.CARD)
        pin = args.get("pin")
        if not isinstance(pin, str) or self._pin_future is None or self._pin_future.done():
            raise IntentError("not_now")
        self._pin_future.set_result(pin)

    async def _get_pin(self) -> str | None:
        self._pin_future = asyncio.get_running_loop().create_future()
        try:
            return await self._pin_future
        finally:
            self._pin_future = None

    def _card_step(self, step) -> None:
        from terminal.card_payment import scrambled_keypad

        asks_pin = step.step in ("enter_pin", "pin_wrong", "pin_invalid")
        self.card_state = {
            "step": step.step,
            "tries_left": step.tries_left,
            "keypad": scrambled_keypad() if asks_pin else None,
        }
        self.message = {"key": f"card_{step.step}"}
        self._changed()

    async def _card_flow(self, s: Session, txn_id: str) -> None:
        from terminal.card_payment import CardOutcome, CardPayment

        card = self.config["card"]
        payment = CardPayment(
            self.card_reader,
            self.central,
            self._get_pin,
            insert_timeout_s=card["insert_timeout_s"],
            pin_timeout_s=card["pin_timeout_s"],
            on_step=self._card_step,
        )
        try:
            outcome = await payment.run(s.due_paise, txn_id)
        except Exception:
            log.exception("card payment failed")
            outcome = CardOutcome("card_error", "card_error")
        if outcome.approved:
            data = {
                "auth_id": outcome.auth_id,
                "auth_code": outcome.auth_code,
                "pan_masked": outcome.pan_masked,
                "amount_paise": s.due_paise,
                "txn_id": txn_id,
            }
            ev = self.journal.append(
                "card_authorised", s.session_id, data, key=f"card:{outcome.auth_id}"
            )
            if ev is not None:
                s.apply(ev)
            self.card_state = None
            await self._settle(s, txn_id=txn_id)
        elif self.session is s and s.state == State.CARD:
            # Declined, cancelled or a card problem: nothing was taken; cash or cancel remain.
            self.card_state = None
            s.move(State.BILL)
            self.message = {"key": outcome.message_key}
            self._touch()
        self._changed()

    async def _intent_back(self, args: dict) -> None:
        s = self._need(State.BILL)
        s.bill = None
        s.move(State.IDENTIFY)
        self._touch()

    async def _intent_cancel(self, args: dict) -> None:
        s = self.session
        if s is None:
            return
        if s.state == State.CARD:
            step = (self.card_state or {}).get("step")
            if step == "authorising":
                raise IntentError("cannot_cancel_now")
            if self._pin_future is not None and not self._pin_future.done():
                self._pin_future.set_result(None)  # the card flow ends as cancelled -> BILL
            elif self._card_task is not None:
                self._card_task.cancel()
                self.card_state = None
                s.move(State.BILL)
            return
        if s.state in CANCELLABLE or (s.state == State.PAYING and s.paid_paise == 0):
            await self._cancel(s, State.CANCELLED)
        elif s.state == State.PAYING:
            # Cash is in: the session can only complete. Stopping early means a voucher.
            await self._settle(s)
        else:
            raise IntentError("cannot_cancel_now")

    async def _intent_maintenance(self, args: dict) -> Any:
        """The engineer's screen: {"action": ..., ...}. Every action but `enter` needs a
        logged-in engineer; each is journaled by terminal/maintenance.py."""
        from terminal.maintenance import MaintenanceError

        m = self.maintenance
        if m is None:
            raise IntentError("service_unavailable", "maintenance is not available")
        action = args.get("action")
        if not isinstance(action, str):
            raise IntentError("bad_request", "maintenance action must be a string")
        try:
            if action == "enter":
                return await m.enter(str(args.get("engineer_id", "")), str(args.get("pin", "")))
            if action not in MAINTENANCE_ACTIONS:
                raise IntentError("bad_request", f"unknown maintenance action {action!r}")
            m._need_engineer()
            if action == "leave":
                m.leave()
                return {}
            if action == "reprint":
                return await m.reprint(str(args.get("ref", "")), args.get("doc"))
            if action == "collect_cash":  # with the engineer's count: {"50000": n, ...}
                return await m.collect_cash(counted=args.get("counted"))
            result = getattr(m, action)()
            if asyncio.iscoroutine(result):
                result = await result
            return result if result is not None else {}
        except MaintenanceError as exc:
            raise IntentError(exc.key, str(exc)) from None

    async def _intent_verify(self, args: dict) -> None:
        """Home screen: "verify a receipt" — wait for a QR from the scanner or the camera."""
        if self.session is not None and self.session.state not in (
            State.DONE, State.CANCELLED, State.TIMEOUT
        ):
            raise IntentError("session_in_progress")
        self._end_session()
        self.lookup = {"status": "waiting", "message_key": "scan_qr", "result": None}
        self._touch()  # the check times out back to the home screen

    async def _intent_scan(self, args: dict) -> None:
        """A QR decoded by the screen's camera (the serial scanner calls on_scan directly)."""
        payload = args.get("payload")
        if not isinstance(payload, str):
            raise IntentError("bad_request", "payload must be a string")
        await self.on_scan(payload)

    async def on_scan(self, payload: str) -> None:
        """What a scanned QR means depends on where the citizen is."""
        from terminal.qr import parse_citizen_qr

        result = parse_citizen_qr(
            payload,
            voucher_secret=self.config["central"]["secret"],
            voucher_amount=self._voucher_amount,
        )
        log_event(log, "qr scanned", kind=result.kind, message=result.message_key)
        self._touch()
        s = self.session
        if s is not None and s.state in (State.IDENTIFY, State.BILL):
            if result.kind == "bill" and result.message_key == "qr_bill_found":
                provider = result.fields["provider"]
                s.provider = provider
                s.service = catalogue.PROVIDERS[provider]["service"]
                await self._intent_consumer({"number": result.fields["consumer_number"]})
            else:
                self.message = {"key": result.message_key}
            return
        if s is not None and s.state not in (State.DONE, State.CANCELLED, State.TIMEOUT):
            return  # paying or printing: a scan now means nothing
        if result.kind == "bill" and result.message_key == "qr_bill_found":
            self.lookup = None
            await self._intent_start({"provider": result.fields["provider"]})
            await self._intent_consumer({"number": result.fields["consumer_number"]})
            return
        self._end_session()
        self.lookup = {"status": "checking", "message_key": result.message_key,
                       "result": {"kind": result.kind}}
        self._changed()
        self.lookup = {"status": "done", **await self._check_online(result)}
        self._touch()

    def _voucher_amount(self, voucher_id: str) -> int | None:
        for ev in self.journal.events(kinds=("settled", "refund_voucher")):
            if ev.data.get("voucher_id") != voucher_id:
                continue
            return ev.data["voucher_paise"] if ev.kind == "settled" else ev.data["amount_paise"]
        return None

    async def _check_online(self, result) -> dict:
        """Ask central about a receipt or voucher; other codes are answered from the parse."""
        fields = dict(result.fields)
        shown = {"kind": result.kind}
        try:
            if result.kind == "receipt":
                verdict = await self.central.verify_receipt(fields["txn_id"], fields["code"])
                verdict_word = verdict.get("result")
                key = {"genuine": "qr_receipt_genuine", "not_genuine": "qr_receipt_not_genuine"
                       }.get(verdict_word if isinstance(verdict_word, str) else "",
                             "qr_receipt_unknown")
                shown.update({k: verdict.get(k) for k in
                              ("result", "receipt_no", "amount_paise", "provider", "paid_at")})
                shown["txn_id"] = fields["txn_id"]
                return {"message_key": key, "result": shown}
            if result.kind == "voucher":
                if result.verified is False:
                    return {"message_key": "qr_voucher_invalid", "result": shown}
                info = await self.central.voucher(fields["voucher_id"])
                shown.update({"voucher_id": fields["voucher_id"],
                              "amount_paise": info.get("amount_paise"),
                              "status": info.get("status")})
                key = "qr_voucher_active" if info.get("status") == "active" \
                    else "qr_voucher_redeemed"
                return {"message_key": key, "result": shown}
        except CentralError as exc:
            if exc.code == "voucher_not_found":
                return {"message_key": "qr_voucher_invalid", "result": shown}
            log_event(log, "qr check failed", logging.WARNING, error=str(exc))
            return {"message_key": "qr_check_unavailable", "result": shown}
        return {"message_key": result.message_key, "result": shown}

    async def _intent_finish(self, args: dict) -> None:
        self.lookup = None
        s = self.session
        if s is not None and s.state in (State.DONE, State.CANCELLED, State.TIMEOUT):
            self._end_session()
            self._touch()

    def _need(self, *states: State) -> Session:
        s = self.session
        if s is None or s.state not in states:
            raise IntentError("not_now", f"intent not valid in {s.state.value if s else 'IDLE'}")
        return s

    # ------------------------------------------------------------------ session endings

    async def _cancel(self, s: Session, outcome: State) -> None:
        was_paying = s.state == State.PAYING
        s.move(outcome)
        if was_paying:
            await self._update_acceptor()
        if s.opened:
            self.journal.append(
                "session_closed",
                s.session_id,
                {"outcome": outcome.value.lower()},
                key=f"closed:{s.session_id}",
            )
        self.message = {"key": "cancelled" if outcome == State.CANCELLED else "timed_out"}
        self._touch()
        log_event(log, "session ended without cash", session=s.session_id, outcome=outcome.value)

    def _end_session(self) -> None:
        s = self.session
        if s is not None and s.state in (State.DONE, State.CANCELLED, State.TIMEOUT):
            self.session = None
            self.message = None
            self.last_returned = None
            self.deadline = None

    # ------------------------------------------------------------------ money

    def _notes_allowed_now(self) -> set[int]:
        """The notes the session may take now: what the acceptor is told, and what the screen
        shows (from the rule, so a pushed credit never shows the notes before it)."""
        s = self.session
        if self.acceptor is None or s is None or s.state != State.PAYING:
            return set()
        known = set(self.acceptor.denominations()) or self.accepted_paise
        return allowed_notes(s.remaining_paise, self.max_overpay, self.accepted_paise & known)

    async def _update_acceptor(self) -> None:
        """Enable exactly the notes that may go in now (none outside PAYING)."""
        if self.acceptor is None:
            return
        notes = self._notes_allowed_now()
        if notes == self._enabled_notes:
            return
        self._enabled_notes = notes
        try:
            if notes:
                await self.acceptor.enable(notes)
            else:
                await self.acceptor.disable()
        except Exception as exc:
            log_event(log, "acceptor enable failed", logging.ERROR, error=str(exc))

    async def scanner_loop(self, scanner) -> None:
        """Consume a QR scanner's (or camera's) events for as long as the core runs."""
        from drivers.scanner import Scanned

        async for event in scanner.events():
            try:
                if isinstance(event, Scanned):
                    await self.on_scan(event.payload)
                elif isinstance(event, StatusChanged):
                    self._set_device("scanner", event.status)
            except IntentError as exc:
                self.message = {"key": exc.key}
            except Exception:
                log.exception("scan handling failed")
            self._changed()

    async def camera_loop(self, camera) -> None:
        """QR codes seen by the camera count as scans; a face in view wakes the screen."""
        from drivers.camera import PresenceChanged
        from drivers.scanner import Scanned

        async for event in camera.events():
            try:
                if isinstance(event, Scanned):
                    await self.on_scan(event.payload)
                elif isinstance(event, PresenceChanged):
                    self.presence = event.present
                elif isinstance(event, StatusChanged):
                    self._set_device("camera", event.status)
            except IntentError as exc:
                self.message = {"key": exc.key}
            except Exception:
                log.exception("camera event handling failed")
            self._changed()

    def _audit_photo(self, s: Session) -> None:
        """A photo at each cash payment, kept locally for the configured days (never blocks)."""
        cam = self.config["camera"]
        if self.camera is None or not cam["audit_photos"]:
            return
        name = s.txn_id or s.voucher_id or s.session_id
        self._tasks.append(asyncio.create_task(
            self.camera.save_audit_photo(name, cam["photo_dir"]), name="audit-photo"))

    async def _acceptor_loop(self) -> None:
        assert self.acceptor is not None
        async for event in self.acceptor.events():
            try:
                await self._on_acceptor_event(event)
            except Exception:
                log.exception("acceptor event handling failed")
            self._changed()

    async def _on_acceptor_event(self, event: object) -> None:
        assert self.acceptor is not None
        if self.intercept_acceptor_event and await self.intercept_acceptor_event(event):
            return
        s = self.session
        if isinstance(event, NoteInEscrow):
            take = (
                s is not None
                and s.state == State.PAYING
                and event.paise
                in allowed_notes(s.remaining_paise, self.max_overpay, self.accepted_paise)
            )
            if take:
                assert s is not None
                # Durable before the device moves the note: whoever restarts after a power cut
                # from here on knows whose note may be in the cassette (terminal/found_notes.py).
                stacking = {"note_id": event.note_id, "paise": event.paise}
                count = self.acceptor.stacked_count()
                if count is not None:
                    stacking["device_count"] = count
                try:
                    self.journal.append(
                        "note_stacking", s.session_id, stacking, key=f"stacking:{event.note_id}"
                    )
                except (sqlite3.Error, OSError) as exc:
                    self.storage.append_failed(exc)  # cannot promise a credit: give it back
                    await self.acceptor.return_note()
                    self.last_returned = {"paise": event.paise, "reason": "storage",
                                          "message_key": "note_not_accepted_now"}
                    await self._settle_or_wait(s)
                    return
                await self.acceptor.stack()
            else:
                await self.acceptor.return_note()
                self.last_returned = {
                    "paise": event.paise,
                    "reason": "too_much",
                    "message_key": "note_too_large",
                }
        elif isinstance(event, NoteStacked) and event.found_at_open:
            await self._found_stacked(event)
        elif isinstance(event, NoteStacked):
            await self._credit(event)
        elif isinstance(event, NoteReturned) and event.note_id == "returned-at-open":
            self._stacking_returned()
        elif isinstance(event, NoteReturned):
            if s is not None and s.opened:
                self.journal.append(
                    "note_returned", s.session_id, {"note_id": event.note_id, "paise": event.paise}
                )
            if self.last_returned is None or self.last_returned.get("paise") != event.paise:
                self.last_returned = {
                    "paise": event.paise,
                    "reason": "returned",
                    "message_key": "note_returned",
                }
        elif isinstance(event, NoteRejected):
            self.last_returned = {
                "paise": event.paise,
                "reason": event.reason,
                "message_key": REJECT_MESSAGES.get(event.reason, "note_not_recognised"),
            }
        elif isinstance(event, StatusChanged):
            await self._acceptor_status(event.status)
        elif isinstance(event, NoteFoundAtPowerUp):
            await self._note_found_at_power_up(event)

    async def _acceptor_status(self, status: DeviceStatus) -> None:
        """A fault during a payment: journal it for the engineer; tell the citizen the money is
        safe; if the acceptor cannot go on, complete the session with the cash already in."""
        previous = self.device_status.get("acceptor")
        self._set_device("acceptor", status)
        faulty = status.state in (DeviceState.HWERROR, DeviceState.USER_ERROR,
                                  DeviceState.FRAUD, DeviceState.OFFLINE)
        if not faulty or (previous is not None and previous.state == status.state
                          and previous.detail == status.detail):
            return
        s = self.session
        self.journal.append("fault", s.session_id if s and s.opened else "-", {
            "device": "acceptor", "state": status.state.value, "detail": list(status.detail),
            "message": status.message, "screen": s.state.value if s else "IDLE",
        })
        if s is None or s.state != State.PAYING:
            return
        self.message = {"key": "device_problem_money_safe"}
        if status.state == DeviceState.OFFLINE:
            return  # the watchdog reconnects; the session waits (or times out into a voucher)
        if s.paid_paise > 0:
            await self._settle(s)  # a jam or full cassette ends the taking of notes
        else:
            await self._cancel(s, State.CANCELLED)
            self.message = {"key": "service_unavailable"}

    async def _note_found_at_power_up(self, event: NoteFoundAtPowerUp) -> None:
        """A note was in the acceptor's path when the power went. If the device says it went into
        the cashbox and what it was worth, it is the citizen's money: a voucher of its own,
        printed now. If its value is unknown, the engineer must reconcile (cash count)."""
        if event.where in ("stacker", "none") and await self._credit_to_intent(None, event.paise):
            return
        if event.where == "none":
            return  # an ordinary power-up with every stacked note accounted for
        self.journal.append("unattributed_note", "-", {"where": event.where,
                                                       "paise": event.paise})
        log_event(log, "note found in the acceptor at power-up", logging.WARNING,
                  where=event.where, paise=event.paise)
        if event.where == "stacker" and event.paise:
            s = self.session
            # During a payment the note is the citizen's at the machine; otherwise its own voucher.
            orphan = s is None or s.state != State.PAYING
            await self._credit(NoteStacked(new_id("P", self.terminal_id), event.paise),
                               force_orphan=orphan)

    async def _stacking_by_counter(self) -> None:
        """Where the device keeps its own stacked counter (eSSP), it settles the last stacking
        the journal left open: one more note than before it means that note went in."""
        from terminal.found_notes import last_stack_intent

        intent = last_stack_intent(self.journal)
        now = self.acceptor.stacked_count() if self.acceptor is not None else None
        if intent is None or not intent.unresolved or intent.device_count is None or now is None:
            return
        if now > intent.device_count:
            log_event(log, "device counter shows the last stacked note", logging.WARNING,
                      session=intent.session_id, before=intent.device_count, now=now)
            await self._credit_to_intent(None, intent.paise)
        else:
            self._stacking_returned()

    def _stacking_returned(self) -> None:
        """The driver returned a note it found in escrow while opening: the last note the kiosk
        asked to stack went back to the citizen, so no later power-up may claim it."""
        from terminal.found_notes import last_stack_intent

        intent = last_stack_intent(self.journal)
        if intent is not None and not intent.credited and not intent.returned:
            self.journal.append("note_returned", intent.session_id,
                                {"note_id": intent.note_id, "paise": intent.paise})
            log_event(log, "note in escrow at start-up returned", session=intent.session_id)

    async def _found_stacked(self, event: NoteStacked) -> None:
        """The validator was still reporting a note stacked when the driver opened: the core
        died between the device stacking it and acknowledging the report."""
        if not await self._credit_to_intent(event.note_id, event.paise):
            log_event(log, "stacked note with no stacking on record", logging.WARNING,
                      paise=event.paise)
            await self._note_found_at_power_up(NoteFoundAtPowerUp("stacker", event.paise))
        if self.acceptor is not None:
            self.acceptor.credit_durable(event.note_id)

    async def _credit_to_intent(self, device_note_id: str | None, paise: int | None) -> bool:
        """Credit a note found after the core was away to the session that asked to stack it
        (terminal/found_notes.py). False when the journal has no such note to offer."""
        from terminal.found_notes import last_stack_intent

        intent = last_stack_intent(self.journal)
        if intent is None or intent.returned:
            return False
        if paise is not None and paise != intent.paise:
            log_event(log, "found note differs from the last stacking", logging.ERROR,
                      found=paise, expected=intent.paise, session=intent.session_id)
            return False
        if intent.credited:
            if device_note_id is None:
                return False  # a power-up note after a credited stacking: someone else's
            log_event(log, "stacked report repeated after restart: already credited",
                      session=intent.session_id, note=intent.note_id)
            return True
        note = NoteStacked(intent.note_id, intent.paise)
        log_event(log, "note stacked while the core was away: credited", logging.WARNING,
                  session=intent.session_id, paise=intent.paise)
        s = self.session
        if s is not None and s.session_id == intent.session_id:
            await self._credit(note)
            return True
        owner = fold(intent.session_id, list(self.journal.events(session_id=intent.session_id)))
        if owner.opened and not owner.settled and owner.closed is None:
            # Recovery (running now, or at the next start) settles it with this note in.
            self.journal.append(
                "credit", owner.session_id, {"note_id": note.note_id, "paise": note.paise},
                key=f"credit:{note.note_id}",
            )
            if not self.recovering:
                sid = owner.session_id
                owner = fold(sid, list(self.journal.events(session_id=sid)))
                await self._settle(owner, recovery=True)
            return True
        await self._credit(note, force_orphan=True)  # its session is settled: a voucher of its own
        return True

    async def _credit(self, event: NoteStacked, force_orphan: bool = False) -> None:
        """The credit point. Durable first, then shown, then the next decision."""
        s = self.session
        taking = s is not None and s.opened and not s.settled
        if not force_orphan and not taking:
            # Reported late (the core restarted, or the session moved on): the journal's open
            # stacking says whose it is.
            if await self._credit_to_intent(None, event.paise):
                if self.acceptor is not None:
                    self.acceptor.credit_durable(event.note_id)
                return
        if force_orphan or not taking:
            # A note stacked when no session can take it (e.g. stacked after a cancel): it
            # still belongs to a citizen, so it becomes a voucher of its own.
            s = Session(new_id("S", self.terminal_id))
            self.journal.append(
                "session_opened",
                s.session_id,
                {"service": "voucher", "provider": "", "consumer_number": ""},
            )
            s.opened = True
            orphan = True
        else:
            orphan = False
        try:
            ev = self.journal.append(
                "credit",
                s.session_id,
                {"note_id": event.note_id, "paise": event.paise},
                key=f"credit:{event.note_id}",
            )
        except (sqlite3.Error, OSError) as exc:
            # The note is in the cassette but not yet in the journal: never ACK it, never show
            # it; retried from the ticker as soon as the journal takes writes again.
            self.storage.append_failed(exc)
            self.storage.unjournaled.append(event)
            log_event(log, "credit not journaled: will retry", logging.CRITICAL,
                      session=s.session_id, paise=event.paise, error=str(exc))
            return
        if self.acceptor is not None:
            self.acceptor.credit_durable(event.note_id)  # now the device may hear our ACK
        if ev is None:
            return  # the same physical note again: already credited
        s.apply(ev)
        log_event(log, "credit", session=s.session_id, paise=event.paise, paid=s.paid_paise)
        self.last_returned = None
        if orphan:
            await self._settle(s, recovery=True)
            return
        self._touch()
        self._changed()  # durable, so shown now: not after the acceptor's ENABLE exchange
        if s.paid_paise >= s.due_paise:
            await self._settle(s)
        else:
            await self._update_acceptor()

    async def _settle(self, s: Session, recovery: bool = False, txn_id: str | None = None) -> None:
        """Decide where every credited paise goes (payment and/or voucher), durably, once."""
        amount, voucher = settlement(s.paid_paise + s.card_paise, s.due_paise)
        data = {
            "txn_id": (txn_id or new_id("T", self.terminal_id)) if amount else None,
            "amount_paise": amount,
            "voucher_id": new_id("V", self.terminal_id) if voucher else None,
            "voucher_paise": voucher,
            "tendered_paise": s.paid_paise + s.card_paise,
            "notes": s.notes,
            "recovery": recovery,
        }
        ev = self.journal.append("settled", s.session_id, data, key=f"settled:{s.session_id}")
        if ev is None:
            return
        s.apply(ev)
        if s is self.session and s.state in (State.PAYING, State.CARD):
            s.move(State.POSTING)
            await self._update_acceptor()
        self.deadline = None
        self.ask_more_time = False
        self.message = {"key": "please_wait"}
        log_event(
            log, "settled", session=s.session_id, amount=amount, voucher=voucher, recovery=recovery
        )
        if not recovery and s.paid_paise:
            self._audit_photo(s)
        self._finishing = asyncio.create_task(self._complete(s), name=f"complete-{s.session_id}")

    async def _complete(self, s: Session) -> None:
        """Post, print, close. Used for live sessions and for those recovered at start-up."""
        self.outbox.busy_sessions.add(s.session_id)
        try:
            live = s is self.session
            if s.amount_paise and s.receipt_no is None:
                self.busy = live
                self._changed()
                await self.outbox.post_payment(s)
                self.busy = False
            refunded = s.refund_voucher_id is not None  # central refused the bill for good
            if (s.voucher_id and not s.voucher_posted) or (refunded and not s.refund_posted):
                await self.outbox.post_voucher(s)
            if live and s.state == State.POSTING:
                s.move(State.RECEIPT)
                self.message = {"key": "printing"}
                self._changed()
            if refunded and "refund_voucher" not in s.printed:
                await self._print(s, "refund_voucher")  # never a receipt for a refused bill
            elif s.amount_paise and "receipt" not in s.printed:
                await self._print(s, "receipt")
            if s.voucher_id and "voucher" not in s.printed:
                await self._print(s, "voucher")
            self.journal.append(
                "session_closed",
                s.session_id,
                {"outcome": "completed"},
                key=f"closed:{s.session_id}",
            )
            s.closed = "completed"
            if live and s.state == State.RECEIPT:
                s.move(State.DONE)
                if s.print_failed - s.printed:
                    self.message = {"key": "print_failed_money_safe"}
                elif refunded:
                    self.message = {"key": "payment_refused_refund_voucher"}
                elif s.amount_paise and s.receipt_no is None:
                    self.message = {"key": "paid_provisional"}
                else:
                    self.message = {
                        "key": "payment_successful" if s.amount_paise else "voucher_issued"
                    }
                self._touch()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("completing session failed", extra={"fields": {"session": s.session_id}})
        finally:
            self.outbox.busy_sessions.discard(s.session_id)
            self.busy = False
            self._changed()

    async def _print(self, s: Session, doc: str) -> None:
        from terminal.printing import build_document  # receipts pull in Pillow: load lazily

        if self.printer is None:
            self.journal.append("print_failed", s.session_id, {"doc": doc, "error": "no printer"})
            s.print_failed.add(doc)
            return
        try:
            document = build_document(self.config, s, doc, self.printer.paper_width_dots)
            await self.printer.print_document(document)
        except (PrintError, Exception) as exc:  # any failure: the citizen still has proof later
            ev = self.journal.append("print_failed", s.session_id, {"doc": doc, "error": str(exc)})
            if ev:
                s.apply(ev)
            self._set_device("printer", self.printer.status())
            log_event(
                log, "print failed", logging.ERROR, session=s.session_id, doc=doc, error=str(exc)
            )
            return
        ev = self.journal.append(
            "printed", s.session_id, {"doc": doc}, key=f"printed:{doc}:{s.session_id}"
        )
        if ev:
            s.apply(ev)

    async def acceptor_reconnected(self) -> None:
        """The watchdog re-opened the acceptor (now disabled): re-apply what the session needs."""
        self._enabled_notes = None
        await self._update_acceptor()

    def _set_device(self, name: str, status: DeviceStatus) -> None:
        previous = self.device_status.get(name)
        if previous != status:
            self.device_status[name] = status
            log_event(log, "device status", device=name, **status.to_dict())
            if name == "printer" and self._printer_ok(status) and not (
                previous is not None and self._printer_ok(previous)
            ):
                self._tasks.append(asyncio.create_task(self.reprint_failed(), name="reprint"))

    @staticmethod
    def _printer_ok(status: DeviceStatus) -> bool:
        return status.state in (DeviceState.ONLINE, DeviceState.BUSY) and not (
            {"paper_out", "cover_open"} & set(status.detail)
        )

    async def reprint_failed(self, within_s: float = 24 * 3600) -> int:
        """The printer is back: print every receipt or voucher of the last day that failed and
        was never printed since. `printed` is journaled per document, so none prints twice."""
        failed: dict[str, set[str]] = {}
        cutoff = datetime.now(UTC).timestamp() - within_s
        for ev in self.journal.events(kinds=("print_failed", "printed")):
            at = datetime.strptime(ev.at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
            if ev.kind == "print_failed" and at.timestamp() >= cutoff:
                failed.setdefault(ev.session_id, set()).add(ev.data["doc"])
            elif ev.kind == "printed" and ev.session_id in failed:
                failed[ev.session_id].discard(ev.data["doc"])
        done = 0
        for sid, docs in failed.items():
            if not docs or sid in self.outbox.busy_sessions:
                continue
            s = fold(sid, list(self.journal.events(session_id=sid)))
            for doc in sorted(docs):
                await self._print(s, doc)
                done += doc in s.printed
        if done:
            log_event(log, "reprinted after printer recovery", documents=done)
            self._changed()
        return done

    # ------------------------------------------------------------------ recovery and timers

    async def recover(self) -> None:
        """Complete every session the journal shows open (power cut, crash, kill)."""
        self.recovering = True
        try:
            await self._recover()
        finally:
            self.recovering = False
            self._changed()

    async def _recover(self) -> None:
        open_ids: list[str] = []
        seen: set[str] = set()
        for ev in self.journal.events(kinds=("session_opened", "session_closed")):
            if ev.kind == "session_opened" and ev.session_id not in seen:
                seen.add(ev.session_id)
                open_ids.append(ev.session_id)
            elif ev.kind == "session_closed" and ev.session_id in open_ids:
                open_ids.remove(ev.session_id)
        for sid in open_ids:
            s = fold(sid, list(self.journal.events(session_id=sid)))
            log_event(log, "recovering session", session=sid, paid=s.paid_paise, settled=s.settled)
            if not s.settled and s.paid_paise == 0 and s.card_paise == 0:
                self.journal.append(
                    "session_closed", sid, {"outcome": "interrupted"}, key=f"closed:{sid}"
                )
                continue
            self.session = s
            s.state = State.RECOVERY
            self.message = {"key": "recovering"}
            self._changed()
            if not s.settled:
                await self._settle(s, recovery=True)
                if self._finishing:
                    await self._finishing
            else:
                s.recovered = True
                await self._complete(s)
            self.session = None
            self.message = None
        self._changed()

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            try:
                await self._tick()
            except Exception:
                log.exception("timer tick failed")

    async def _tick(self) -> None:
        await self._check_storage()
        s = self.session
        if self.deadline is None or self.clock() < self.deadline:
            return
        if s is None:
            if self.lookup is not None:  # a finished or abandoned QR check: back home
                self.lookup = None
                self.deadline = None
                self._changed()
            return
        pay = self.config["payment"]
        if s.state in (State.IDENTIFY, State.BILL):
            await self._cancel(s, State.TIMEOUT)
        elif s.state == State.PAYING:
            if not self.ask_more_time:
                self.ask_more_time = True
                self.deadline = self.clock() + pay["more_time_timeout_s"]
            elif s.paid_paise > 0:
                await self._settle(s)  # the citizen left with cash in: a voucher, never a loss
            else:
                await self._cancel(s, State.TIMEOUT)
        elif s.state in (State.DONE, State.CANCELLED, State.TIMEOUT):
            self._end_session()
        self._changed()

    async def _check_storage(self) -> None:
        """Watch the room under the journal; with room again, retry the credits that failed
        to write, then let cash back in."""
        before = self.storage.problem
        if before is not None:
            free = self.storage.free_bytes()
            if free is not None and free >= self.storage.min_free_bytes:
                self.storage.append_worked()  # worth a try: a failing retry sets it again
        self.storage.check(force=before is not None)
        pending, self.storage.unjournaled = self.storage.unjournaled, []
        for event in pending:
            await self._credit(event)
        if before != self.storage.problem:
            s = self.session
            if self.storage.problem is not None and s is not None and s.state == State.PAYING:
                await self._settle_or_wait(s)
            self._changed()

    async def _settle_or_wait(self, s: Session) -> None:
        """The journal is full mid-payment: no more notes; cash already in ends as a voucher
        once it can be written; with none in, the session is cancelled."""
        if s.state != State.PAYING:
            return
        if s.paid_paise == 0:
            await self._cancel(s, State.CANCELLED)
            self.message = {"key": "service_unavailable"}
            return
        try:
            await self._settle(s)
        except (sqlite3.Error, OSError) as exc:
            self.storage.append_failed(exc)
            self.message = {"key": "device_problem_money_safe"}
            if self.acceptor is not None:
                self._enabled_notes = set()
                try:
                    await self.acceptor.disable()
                except Exception as err:
                    log_event(log, "acceptor disable failed", logging.ERROR, error=str(err))

    def bill_of(self, s: Session) -> Bill | None:
        return s.bill
