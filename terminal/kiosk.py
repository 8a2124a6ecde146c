"""The kiosk controller: one citizen session at a time. It keeps intents, timers and the
registry of flows; the work is theirs: bill_service (the bill payment service), cash_intake
(acceptor events -> credits, note policy), completion (settle -> post -> print -> close,
reprints, recovery at boot), qr_lookup (scanned QR codes), snapshot (what the screen sees), with
live_session holding what the journal does not. Every money step is journaled before it is shown
or acted on and folded from its event. A new service is a flow module plus its screens,
registered here (`register()`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from drivers.base import BanknoteAcceptor, DeviceStatus, ReceiptPrinter
from terminal import events as E
from terminal import scan_events
from terminal.accessibility import Accessibility, ScaledTimeouts
from terminal.bill_service import CONSUMER_NUMBER, BillCentral, BillService
from terminal.card_payment import CardReaderLike
from terminal.cash_intake import REJECT_MESSAGES, CashIntake
from terminal.citizen_services import CitizenServices
from terminal.completion import Completion, money_flows, printer_ok
from terminal.device_board import BoardFields, DeviceBoard
from terminal.journal import Journal
from terminal.live_session import (
    Flow,
    Handler,
    IntentError,
    LiveFields,
    LiveSession,
    new_id,
    set_id_zone,
)
from terminal.logs import log_event
from terminal.outbox import Outbox
from terminal.qr_lookup import QrLookup, ReceiptChecker
from terminal.scan_events import EventSource
from terminal.service_mode import ServiceMode
from terminal.session import Bill, Session, State
from terminal.snapshot import MaintenanceLike, maintenance_view
from terminal.snapshot import snapshot as snapshot_view
from terminal.storage_guard import StorageGuard

log = logging.getLogger("kiosk")

__all__ = ["CONSUMER_NUMBER", "REJECT_MESSAGES", "IntentError", "Kiosk", "new_id"]


class Central(BillCentral, ReceiptChecker, Protocol):
    """What the kiosk's flows need of central (the outbox takes the rest)."""


class MaintenanceFacade(MaintenanceLike, Protocol):
    """terminal/maintenance.Maintenance: its action table behind dispatch()."""

    async def dispatch(self, action: str, args: dict) -> Any: ...


class AuditCamera(EventSource, Protocol):
    async def save_audit_photo(self, name: str, directory: str) -> Any: ...


AcceptorHandler = Callable[[object], Awaitable[bool]]  # True: claimed, the session never sees it


class Kiosk(LiveFields, BoardFields):
    """kiosk.session, .message, .lookup ...: the live session's fields (LiveFields).
    kiosk.board (statuses, the services rule, change events) and kiosk.service_mode (out of
    service and why); .device_status, .services(), .out_of_service_command delegate to them."""

    def __init__(
        self,
        config: dict,
        journal: Journal,
        central: Central,
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
        self.maintenance: MaintenanceFacade | None = None  # set by the core
        self.card_reader: CardReaderLike | None = None  # set by the core when [card] is on
        # Maintenance's test note: subscribers that may claim an acceptor event first.
        self._acceptor_handlers: list[AcceptorHandler] = []
        self.camera: AuditCamera | None = None  # set by the core when [camera] is enabled
        self.outbox = Outbox(journal, central, config)
        self._listeners: list[Callable[[dict], None]] = []
        self._tasks: set[asyncio.Task] = set()  # finished ones drop out (_spawn)
        self._seq = 0
        min_free_mb = config.get("journal", {}).get("min_free_mb", 1)
        self.storage = StorageGuard(journal.path, int(min_free_mb * (1 << 20)), clock)
        self.service_mode = ServiceMode()
        self.board = DeviceBoard(
            self.service_mode,
            storage_problem=lambda: self.storage.problem,
            card_reader=lambda: self.card_reader is not None,
        )
        self.board.subscribe(self._device_changed)
        self.live = LiveSession(clock, config["payment"], self._changed)
        set_id_zone(config["terminal"].get("timezone"))  # ids carry the slips' local date
        self.accessibility = Accessibility.for_live(self.live, config)  # scales the timeouts
        pay = config["payment"]
        self.cash = CashIntake(
            acceptor, journal, self.live, self.storage, self,
            terminal_id=self.terminal_id,
            accepted_paise={r * 100 for r in config["acceptor"]["accepted_notes"]},
            max_overpay_paise=pay["max_overpay_paise"],
            device_status=self.board.status,
            set_device=self.board.set,
        )
        self.completion = Completion(
            journal, self.outbox, printer, self.live, config,
            set_device=self.board.set,
            stop_intake=self.cash.update_acceptor,
            on_cash_settled=self._audit_photo,
        )
        slowed_card = {**config, "card": ScaledTimeouts(config["card"], self.accessibility)}
        self.bills = BillService(
            central, journal, self.live, self.cash, self,
            config=slowed_card, printer=printer, card_reader=lambda: self.card_reader,
            services=self.services, set_device=self.board.set,
        )
        self.qr = QrLookup(central, journal, self.live, self.bills,
                           voucher_secret=config["central"]["secret"])
        self._intents: dict[str, Handler] = {
            "language": self._intent_language,
            "more_time": self._intent_more_time,
            "finish": self._intent_finish,
            "maintenance": self._intent_maintenance,
        }
        self.register(self.bills)
        self.register(self.accessibility)
        self.register(self.qr)
        self.register(money_flows(self))  # vouchers taken back, SMS receipts, reprints
        self.citizen = CitizenServices(self)  # catalogue; status, certificates, grievances
        for flow in self.citizen.flows:
            self.register(flow)

    def register(self, flow: Flow) -> None:
        """Add a flow's intents (a service: terminal/bill_service.py is the example)."""
        for name, handler in flow.intents().items():
            if name in self._intents:
                raise ValueError(f"intent {name!r} is already registered")
            self._intents[name] = handler

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Recover open sessions from the journal, then start consuming device events."""
        if self.printer is not None:
            self.board.seed("printer", self.printer.status())
        self.live.recovering = True
        if self.acceptor is not None:
            self.board.seed("acceptor", self.acceptor.status())
            await self.cash.at_start()
            self._spawn(self._acceptor_loop(), "acceptor-events")
        await self.recover()
        self._spawn(self._ticker(), "session-ticker")
        self._spawn(self.citizen.run(), "catalogue-refresh")
        self.outbox.start()

    async def stop(self) -> None:
        await self.outbox.stop()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if self.completion.finishing:
            self.completion.finishing.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task:
        """A background task of the kiosk's, forgotten once it is done (no list that only grows)."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def add_listener(self, listener: Callable[[dict], None]) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[dict], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def changed(self) -> None:
        """Push a fresh snapshot to every listener (the screen, maintenance's device watch)."""
        self._seq += 1
        self.accessibility.observe()  # a session ended: back to the site's default
        snap = self.snapshot()
        for listener in list(self._listeners):
            try:
                listener(snap)
            except Exception:  # a broken screen connection must not stop the money path
                log.exception("state listener failed")

    _changed = changed  # the old name

    # ------------------------------------------------------------------ what the screen sees

    def snapshot(self) -> dict[str, Any]:
        services_now = self.services()
        return snapshot_view(
            seq=self._seq,
            live=self.live,
            now=self.clock(),
            language=self.language,
            terminal=self.config["terminal"],
            services_now=services_now,
            device_status=self.board.status,
            maintenance=maintenance_view(self.maintenance),
            accepted_now_paise=self.cash.notes_allowed_now(),
            info_tile=self.citizen.info.home_tile(services_now),  # the scheme pages' tile
            accessibility=self.accessibility.view(),
        )

    # ------------------------------------------------------------------ intents

    async def intent(self, name: str, args: dict[str, Any]) -> Any:
        """Apply one intent; raises IntentError with a message key when it cannot. Returns data
        for the caller (only maintenance actions have any)."""
        handler = self._intents.get(name) if isinstance(name, str) else None
        if handler is None:
            raise IntentError("unknown_intent", f"unknown intent {name!r}")
        if self.live.recovering and name != "language":
            raise IntentError("please_wait", "completing sessions found open at start-up")
        if name != "maintenance":
            self.live.touch()
        try:
            return await handler(args)
        finally:
            self._changed()

    async def _intent_language(self, args: dict) -> None:
        lang = args.get("language")
        if lang not in ("hi", "en"):
            raise IntentError("bad_request", "language must be hi or en")
        self.language = lang

    async def _intent_more_time(self, args: dict) -> None:
        self.live.ask_more_time = False

    async def _intent_finish(self, args: dict) -> None:
        live = self.live
        live.lookup = None
        if live.session is not None and not live.in_progress():
            live.end()
            live.touch()

    async def _intent_maintenance(self, args: dict) -> Any:
        """The engineer's screen: {"action": ..., ...}. The maintenance facade owns the action
        table (Maintenance.dispatch): every action but `enter` needs a logged-in engineer; each
        is journaled by terminal/maintenance.py."""
        from terminal.maintenance import MaintenanceError

        m = self.maintenance
        if m is None:
            raise IntentError("service_unavailable", "maintenance is not available")
        action = args.get("action")
        if not isinstance(action, str):
            raise IntentError("bad_request", "maintenance action must be a string")
        try:
            return await m.dispatch(action, args)
        except MaintenanceError as exc:
            raise IntentError(exc.key, str(exc)) from None

    # ------------------------------------------------------------------ session endings
    # (cash_intake.SessionEnds: how a session with cash in ends, and one without)

    async def settle(self, s: Session, **how: Any) -> None:  # recovery, txn_id, partial
        await self.completion.settle(s, **how)

    async def cancel(self, s: Session, outcome: State) -> None:
        was_paying = s.state == State.PAYING
        s.move(outcome)
        if was_paying:
            await self.cash.update_acceptor()
        if s.opened:
            closed = E.SessionClosed(outcome=outcome.value.lower())
            ev = self.journal.record(s.session_id, closed, key=f"closed:{s.session_id}")
            if ev is not None:
                s.apply(ev)
        self.live.say("cancelled" if outcome == State.CANCELLED else "timed_out")
        self.live.touch()
        log_event(log, "session ended without cash", session=s.session_id, outcome=outcome.value)

    # ------------------------------------------------------------------ device events

    async def on_scan(self, payload: str) -> None:
        await self.qr.on_scan(payload)

    async def scanner_loop(self, scanner: EventSource) -> None:
        """Consume a QR scanner's events for as long as the core runs."""
        await self._scan_events(scanner, "scanner")

    async def camera_loop(self, camera: EventSource) -> None:
        """QR codes seen by the camera count as scans; a face in view wakes the screen."""
        await self._scan_events(camera, "camera")

    async def _scan_events(self, source: EventSource, device: str) -> None:
        await scan_events.consume(source, device, on_scan=self.on_scan, live=self.live,
                                  set_device=self.board.set, changed=self._changed)

    def _audit_photo(self, s: Session) -> None:
        """A photo at each cash payment, kept locally for the configured days (never blocks)."""
        cam = self.config["camera"]
        if self.camera is None or not cam["audit_photos"]:
            return
        name = s.txn_id or s.voucher_id or s.session_id
        self._spawn(self.camera.save_audit_photo(name, cam["photo_dir"]), "audit-photo")

    async def _acceptor_loop(self) -> None:
        assert self.acceptor is not None
        async for event in self.acceptor.events():
            try:
                await self._on_acceptor_event(event)
            except Exception:
                log.exception("acceptor event handling failed")
            self._changed()

    def subscribe_acceptor(self, handler: AcceptorHandler) -> Callable[[], None]:
        """See acceptor events before the session does (maintenance's test note): a handler
        that returns True claims the event. Returns the unsubscribe function."""
        self._acceptor_handlers.append(handler)
        return lambda: self._acceptor_handlers.remove(handler)

    async def _on_acceptor_event(self, event: object) -> None:
        for handler in list(self._acceptor_handlers):
            if await handler(event):
                return
        await self.cash.on_event(event)

    async def acceptor_reconnected(self) -> None:
        """The watchdog re-opened the acceptor (now disabled): re-apply what the session needs."""
        await self.cash.reconnected()

    def _device_changed(self, name: str, previous: DeviceStatus | None,
                        status: DeviceStatus) -> None:
        """A board event: the printer is back, so the day's failed documents are reprinted."""
        if name == "printer" and printer_ok(status) and not (previous and printer_ok(previous)):
            self._spawn(self.reprint_failed(), "reprint")

    async def reprint_failed(self, within_s: float = 24 * 3600) -> int:
        return await self.completion.reprint_failed(within_s)

    # ------------------------------------------------------------------ recovery and timers

    async def recover(self) -> None:
        """Complete every session the journal shows open (power cut, crash, kill)."""
        await self.completion.recover()

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            try:
                await self._tick()
            except Exception:
                log.exception("timer tick failed")

    async def _tick(self) -> None:
        await self.cash.check_storage()
        live = self.live
        s = live.session
        if live.deadline is None or self.clock() < live.deadline:
            return
        if s is None:
            if live.lookup is not None:  # a finished or abandoned QR check: back home
                live.lookup = None
                live.deadline = None
                self._changed()
            return
        if s.state in (State.IDENTIFY, State.BILL):
            await self.cancel(s, State.TIMEOUT)
        elif s.state == State.PAYING:
            if not live.ask_more_time:
                live.ask_more_time = True
                live.deadline = self.clock() + live.payment["more_time_timeout_s"]
            elif s.paid_paise > 0:
                await self.settle(s)  # the citizen left with cash in: a voucher, never a loss
            else:
                await self.cancel(s, State.TIMEOUT)
        elif not live.in_progress():
            live.end()
        self._changed()

    def bill_of(self, s: Session) -> Bill | None:
        return s.bill
