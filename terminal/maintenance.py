"""Maintenance mode, the facade: the engineer's login state (who, on which connection, the
auto-leave timer, the kiosk out of service meanwhile) and the ACTION TABLE, which maps every
action the screen may send (terminal/api_messages.MAINTENANCE_ACTIONS) to its method with its
argument checks. The work is done by one module per area:

    terminal/engineer_auth.py      PIN hashing, lockout, engineer card
    terminal/maint_cash.py         cash box summary, begin / collect, the slip (the pure parts:
                                   terminal/cash_collection.py)
    terminal/maint_diagnostics.py  device watch, test print, test note, identities, fault log,
                                   outbox view, network test
    terminal/maint_alarms.py       raise / acknowledge / list
    terminal/maint_receipts.py     recent receipts, reprint marked DUPLICATE

Every action is journaled (kind "maintenance", session "maintenance") with the engineer id; the
cash box is derived from the journal, never from a counter that a crash could lose.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from terminal.cash_collection import (  # noqa: F401 - re-exported for callers and tests
    acceptor_counters,
    cash_box,
    iso_to_epoch,
)
from terminal.engineer_auth import (  # noqa: F401 - re-exported for callers and tests
    ENGINEER_ID,
    LOCKOUT_ALARM,
    PIN,
    SESSION,
    AuthError,
    EngineerAuth,
    MaintenanceError,
    check_pin,
    hash_pin,
    hash_pin_cli,
    login_source,
    parse_pin_hash,
)
from terminal.journal import Event, Journal
from terminal.liveness import EXIT_RESTART_REQUESTED, request_exit
from terminal.logs import log_event
from terminal.maint_alarms import CASSETTE_ALARM, CONTROL_ROOM, Alarms  # noqa: F401
from terminal.maint_cash import CashDesk
from terminal.maint_diagnostics import FAULT_KINDS, Diagnostics  # noqa: F401
from terminal.maint_ports import MaintenanceCore
from terminal.maint_receipts import REPRINT_WINDOW, Reprints, duplicate_document  # noqa: F401
from terminal.service_mode import MAINTENANCE

log = logging.getLogger("maintenance")

_instances: weakref.WeakKeyDictionary[MaintenanceCore, Maintenance] = weakref.WeakKeyDictionary()


def maintenance_for(core: MaintenanceCore) -> Maintenance:
    """The one Maintenance of a core (created on first use)."""
    m = _instances.get(core)
    if m is None:
        m = Maintenance(core)
    return m


class Maintenance:
    def __init__(
        self,
        core: MaintenanceCore,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        card_check: Callable[[str], bool | Awaitable[bool]] | None = None,
        exit_hook: Callable[[int, str], Any] | None = None,
    ) -> None:
        self.core = core
        self.config = core.config
        self.section = core.config["maintenance"]
        self.journal: Journal = core.journal
        self.clock = clock
        self.wall = wall
        self.auth = EngineerAuth(self.section, self.journal, clock=wall, card_check=card_check)
        self.exit_hook = exit_hook or (lambda code, reason: request_exit(core, code, reason))
        self.engineer: str | None = None
        self.owner: str | None = None  # the connection that logged in
        self.last_touch = clock()
        self.collection_in_progress = False
        self._unsubscribe_acceptor: Callable[[], None] | None = None
        self.alarm_board = Alarms(self.record, self.auth.alarm)
        self.cash = CashDesk(self)
        self.diagnostics = Diagnostics(self)
        self.reprints = Reprints(self)
        self._task: asyncio.Task | None = None
        for ev in self.journal.events(session_id=SESSION, kinds=("maintenance",)):
            self.alarm_board.restore(ev)
            self.cash.note_collection(ev)
        _instances[core] = self
        if not self.auth.enabled:
            log_event(log, "maintenance off", logging.ERROR, reason=self.auth.problem,
                      fix="set [maintenance] pin_hash (emitra-kiosk hash-pin)")

    # ---------------------------------------------------------------- plumbing

    @property
    def active(self) -> bool:
        return self.engineer is not None

    def record(self, action: str, engineer_id: str | None = None, **data: Any) -> Event | None:
        """Journal one maintenance action (kind "maintenance") with who did it."""
        who = engineer_id or self.engineer or "-"
        key = data.pop("_key", None)
        return self.journal.append(
            "maintenance", SESSION, {"action": action, "engineer_id": who, **data}, key=key
        )

    def need_engineer(self) -> str:
        """The logged-in engineer's id, when the caller is the connection that logged in."""
        if self.engineer is None:
            raise MaintenanceError("not_in_maintenance", "log in first")
        source = login_source.get()
        if source is not None and source != self.owner:  # another screen connection
            raise MaintenanceError("not_in_maintenance", "logged in on another connection")
        self.touch()
        return self.engineer

    _need_engineer = need_engineer  # the name kiosk.py used before dispatch()

    def touch(self) -> None:
        """Engineer activity: restarts the auto-leave timer."""
        self.last_touch = self.clock()

    def _changed(self) -> None:
        self.core.kiosk.changed()

    # ---------------------------------------------------------------- lifecycle

    def _current(self) -> bool:
        """False once another Maintenance replaced this one for the core (tests do)."""
        return _instances.get(self.core) is self

    def start(self) -> Maintenance:
        """Watch devices (cassette alarm, status log), auto-leave, and take test notes."""
        if self._task is not None:
            return self
        kiosk = self.core.kiosk
        self._unsubscribe_acceptor = kiosk.subscribe_acceptor(self._claim_acceptor_event)
        kiosk.add_listener(self._on_snapshot)
        self._task = asyncio.create_task(self._watch(), name="maintenance-watch")
        return self

    async def stop(self) -> None:
        self.core.kiosk.remove_listener(self._on_snapshot)
        if self._unsubscribe_acceptor is not None:
            self._unsubscribe_acceptor()
            self._unsubscribe_acceptor = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            if not self._current():
                continue
            try:
                self.check_devices()
                self.check_idle()
            except Exception:
                log.exception("maintenance watch failed")

    def _on_snapshot(self, snapshot: dict) -> None:
        if self._current():
            self.check_devices()

    async def _claim_acceptor_event(self, event: object) -> bool:
        """The kiosk's acceptor subscription: a test note's events are ours (True = claimed)."""
        return self._current() and await self.on_acceptor_event(event)

    # ---------------------------------------------------------------- the action table

    async def dispatch(self, action: str, args: dict) -> dict[str, Any] | list[Any]:
        """Do one action the engineer's screen sent ({"action": ..., ...} of the maintenance
        intent). Every action but `enter` needs the engineer logged in on this connection.
        Unknown actions and bad arguments raise MaintenanceError("bad_request")."""
        entry = ACTIONS.get(action) if isinstance(action, str) else None
        if entry is None:
            raise MaintenanceError("bad_request", f"unknown action {str(action)[:40]!r}")
        if not isinstance(args, dict):
            raise MaintenanceError("bad_request", "maintenance arguments must be an object")
        if action != "enter":
            self._need_engineer()
        result = entry(self, args)
        if inspect.isawaitable(result):
            result = await result
        return result if result is not None else {}

    # ---------------------------------------------------------------- enter / leave

    async def enter(self, engineer_id: str, pin: str) -> dict[str, Any]:
        """Log an engineer in (PIN, card if configured). Not while a citizen is being served."""
        if self.core.kiosk.session is not None:
            raise MaintenanceError("session_in_progress", "wait until the citizen has finished")
        await self.auth.verify(engineer_id, pin)
        if self.core.kiosk.session is not None:  # a citizen started while the PIN was hashed
            raise MaintenanceError("session_in_progress", "wait until the citizen has finished")
        if self.engineer is not None and self.engineer != engineer_id:
            self.leave("replaced")
        self.engineer = engineer_id
        self.owner = login_source.get()  # only this connection may act as the engineer
        self.touch()
        # No citizen session may start while the engineer has the machine open.
        self.core.kiosk.service_mode.take_out(MAINTENANCE)
        self.record("entered", engineer_id)
        log_event(log, "maintenance entered", engineer=engineer_id)
        self._changed()
        return {"engineer_id": engineer_id, "auto_leave_s": self.section["auto_leave_s"]}

    def leave(self, reason: str = "engineer") -> None:
        if self.engineer is None:
            return
        engineer, self.engineer = self.engineer, None
        self.owner = None
        self.collection_in_progress = False
        self.diagnostics.cancel_test_note()
        self.core.kiosk.service_mode.put_back(MAINTENANCE)
        self.record("left", engineer, reason=reason)
        log_event(log, "maintenance left", engineer=engineer, reason=reason)
        self._changed()

    def check_idle(self) -> bool:
        """Leave after auto_leave_s without a touch. True when it left."""
        if self.engineer is not None and (
            self.clock() - self.last_touch >= self.section["auto_leave_s"]
        ):
            self.leave("inactivity")
            return True
        return False

    # ---------------------------------------------------------------- alarms

    def raise_alarm(self, code: str, message: str) -> None:
        self.alarm_board.raise_alarm(code, message)

    def acknowledge_alarm(self, code: str, note: str = "") -> None:
        """An engineer has looked into an alarm (journaled with the engineer id)."""
        self.alarm_board.acknowledge(code, self.need_engineer(), note)

    def acknowledge_alarm_from_control_room(self, code: str, note: str = "") -> None:
        """Central's `acknowledge_alarm` command (terminal/heartbeat.py): journaled with
        engineer_id "-" and by "control_room"."""
        self.alarm_board.acknowledge(code, "-", note, by=CONTROL_ROOM)
        self._changed()

    def alarms(self) -> list[dict[str, Any]]:
        return self.alarm_board.open()

    # ---------------------------------------------------------------- the areas' actions

    def check_devices(self) -> None:
        self.diagnostics.check_devices()

    @property
    def status_changes(self) -> deque[dict[str, Any]]:
        return self.diagnostics.status_changes

    def cash_summary(self) -> dict[str, Any]:
        return self.cash.cash_summary()

    def begin_collection(self) -> dict[str, Any]:
        return self.cash.begin_collection()

    async def collect_cash(
        self,
        engineer_id: str | None = None,
        counted: dict[str, int] | None = None,
        seal_no: str | None = None,
    ) -> dict[str, Any]:
        return await self.cash.collect_cash(engineer_id, counted, seal_no)

    async def reprint_collection_slip(self, collection_id: str) -> dict[str, Any]:
        return await self.cash.reprint_collection_slip(collection_id)

    def unreported_collections(self) -> list[dict[str, Any]]:
        return self.cash.unreported_collections()

    def collections_reported(self, collection_ids: list[str]) -> None:
        self.cash.collections_reported(collection_ids)

    async def test_print(self) -> dict[str, Any]:
        return await self.diagnostics.test_print()

    async def test_note(self, timeout_s: float = 60.0) -> dict[str, Any]:
        return await self.diagnostics.test_note(timeout_s)

    async def on_acceptor_event(self, event: object) -> bool:
        return await self.diagnostics.on_acceptor_event(event)

    def identities(self) -> dict[str, Any]:
        return self.diagnostics.identities()

    def fault_log(self, hours: float = 24.0, limit: int = 200) -> list[dict[str, Any]]:
        return self.diagnostics.fault_log(hours, limit)

    def outbox_view(self) -> dict[str, Any]:
        return self.diagnostics.outbox_view()

    def send_now(self) -> None:
        self.diagnostics.send_now()

    async def network_test(self, timeout_s: float = 5.0) -> dict[str, Any]:
        return await self.diagnostics.network_test(timeout_s)

    def recent_receipts(self) -> list[dict[str, Any]]:
        return self.reprints.recent_receipts()

    async def reprint(self, ref: str, doc: str | None = None) -> dict[str, Any]:
        return await self.reprints.reprint(ref, doc)

    def restart(self) -> None:
        """Restart the core (systemd starts it again at once)."""
        engineer = self.need_engineer()
        self.record("restart_requested", engineer)
        self.leave("restart")
        self.exit_hook(EXIT_RESTART_REQUESTED, f"restart requested by engineer {engineer}")


# -------------------------------------------------------------------- the action table
# Every action the screen may send (terminal/api_messages.MAINTENANCE_ACTIONS), with its
# argument checks. A test keeps the two lists equal.


def _text(args: dict, name: str, *, required: bool = True, limit: int = 200) -> str:
    value = args.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or len(value) > limit or (required and not value):
        raise MaintenanceError("bad_request", f"{name} must be a string of 1 to {limit} characters")
    return value


def _doc(args: dict) -> str | None:
    doc = args.get("doc")
    if doc not in (None, "receipt", "voucher"):
        raise MaintenanceError("bad_request", "doc must be receipt or voucher")
    return doc


def _leave(m: Maintenance, args: dict) -> dict[str, Any]:
    m.leave()
    return {}


def _acknowledge(m: Maintenance, args: dict) -> dict[str, Any]:
    code = _text(args, "code", limit=120)
    m.acknowledge_alarm(code, _text(args, "note", required=False))
    return {"acknowledged": code, "alarms": m.alarms()}


ACTIONS: dict[str, Callable[[Maintenance, dict], Any]] = {
    # `enter` keeps its old leniency: whatever is sent is compared as text (a wrong id or PIN).
    "enter": lambda m, a: m.enter(str(a.get("engineer_id", "")), str(a.get("pin", ""))),
    "leave": _leave,
    "alarms": lambda m, a: m.alarms(),
    "acknowledge_alarm": _acknowledge,
    "cash_summary": lambda m, a: m.cash_summary(),
    "begin_collection": lambda m, a: m.begin_collection(),
    # with the engineer's count: {"counted": {"50000": n, ...}} and the seal/bag number
    # {"seal_no": "SB12345"} (both checked by cash_collection: a bad one is bad_request)
    "collect_cash": lambda m, a: m.collect_cash(counted=a.get("counted"), seal_no=a.get("seal_no")),
    "reprint_collection_slip": lambda m, a: m.reprint_collection_slip(
        _text(a, "collection_id", limit=80)
    ),
    "test_print": lambda m, a: m.test_print(),
    "test_note": lambda m, a: m.test_note(),
    "identities": lambda m, a: m.identities(),
    "fault_log": lambda m, a: m.fault_log(),
    "outbox_view": lambda m, a: m.outbox_view(),
    "send_now": lambda m, a: m.send_now(),
    "network_test": lambda m, a: m.network_test(),
    "recent_receipts": lambda m, a: m.recent_receipts(),
    "reprint": lambda m, a: m.reprint(_text(a, "ref", limit=80), _doc(a)),
    "restart": lambda m, a: m.restart(),
}
