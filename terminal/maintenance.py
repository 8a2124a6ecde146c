"""Maintenance mode, the back end: engineer login, device tests, cash collection, fault log,
outbox, network test, reprints, restart. The screens (screens/) call these methods.

Every action is journaled as kind "maintenance", session "maintenance", with the engineer id, so
a collection or a test note is as durable and auditable as a payment. The cash box is derived
from the journal (credits + test notes since the last collection), never from a counter that a
crash could lose.

Alarms (visible in the heartbeat): PIN lockout (5 wrong PINs lock maintenance for 15 minutes,
per [maintenance]) and "cassette removed without a collection in progress".
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import secrets
import ssl
import time
import weakref
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from drivers.base import (
    Feed,
    ImageBlock,
    NoteInEscrow,
    NoteRejected,
    NoteReturned,
    NoteStacked,
    PrintDocument,
    QRBlock,
    TextLine,
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
from terminal.journal import Event, Journal, utc_now
from terminal.liveness import EXIT_RESTART_REQUESTED, request_exit
from terminal.logs import log_event, mask_text
from terminal.session import fold

log = logging.getLogger("maintenance")

CASSETTE_ALARM = "cassette_removed_without_collection"
REPRINT_WINDOW = timedelta(hours=24)
FAULT_KINDS = ("fault", "print_failed", "post_refused", "voucher_refused", "unattributed_note")
FAULT_ACTIONS = {
    "alarm_raised",
    "pin_lockout",
    "collection_slip_failed",
    "test_print_failed",
    "cassette_removed",
}
# Never shown outside the money path: personal data in journal events.
PERSONAL_KEYS = {"consumer_number", "consumer_name", "name", "mobile", "phone", "address"}


# -------------------------------------------------------------------- the cash box


def iso_to_epoch(at: str) -> float:
    return datetime.strptime(at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


def cash_box(journal: Journal) -> dict[str, Any]:
    """What the cassette holds according to the journal: every note stacked since the last
    collection — citizens' credits, engineers' test notes and notes found in the stacker at
    power-up — by denomination. Pure function of the journal."""
    counts: Counter[int] = Counter()
    credited = test = unattributed = unknown_unattributed = 0
    last: dict[str, Any] | None = None
    since: str | None = None
    last_seq = 0
    for ev in journal.events(kinds=("credit", "maintenance", "unattributed_note")):
        last_seq = ev.seq
        if ev.kind == "credit":
            counts[ev.data["paise"]] += 1
            credited += ev.data["paise"]
        elif ev.kind == "unattributed_note":
            if ev.data.get("where") == "stacker":
                paise = ev.data.get("paise")
                if paise:
                    counts[paise] += 1
                    unattributed += paise
                else:
                    unknown_unattributed += 1
        elif ev.data.get("action") == "test_note":
            counts[ev.data["paise"]] += 1
            test += ev.data["paise"]
        elif ev.data.get("action") == "cash_collected":
            counts.clear()
            credited = test = unattributed = unknown_unattributed = 0
            since = ev.at
            last = {
                "collection_id": ev.data["collection_id"],
                "at": ev.at,
                "engineer_id": ev.data["engineer_id"],
                "total_paise": ev.data["total_paise"],
                "notes": ev.data["notes"],
            }
    by_denomination = [
        {"paise": value, "rupees": value // 100, "count": counts[value]}
        for value in sorted(counts, reverse=True)
    ]
    return {
        "since": since,
        "counts": dict(counts),  # paise -> notes (int keys; not for JSON)
        "by_denomination": by_denomination,
        "notes": sum(counts.values()),
        "total_paise": sum(v * c for v, c in counts.items()),
        "credited_paise": credited,
        "test_notes_paise": test,
        "unattributed_paise": unattributed,
        "unattributed_unknown_notes": unknown_unattributed,
        "last_collection": last,
        "journal_seq": last_seq,
    }


def acceptor_counters(acceptor: Any) -> dict[str, Any]:
    """The acceptor's own note counters, when its driver exposes any (note_counters())."""
    reader = getattr(acceptor, "note_counters", None)
    if not callable(reader):
        return {"available": False, "reason": "not available: the driver reports no counters"}
    try:
        counters = reader()
    except Exception as exc:
        return {"available": False, "reason": f"not available: {exc}"}
    return {"available": True, "counts": dict(counters)}


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    """Event data for screens and heartbeats: no personal fields, long digit runs masked."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in PERSONAL_KEYS:
            continue
        out[key] = mask_text(value) if isinstance(value, str) else value
    return out


# -------------------------------------------------------------------- maintenance mode


_instances: weakref.WeakKeyDictionary[Any, Maintenance] = weakref.WeakKeyDictionary()


def maintenance_for(core: Any) -> Maintenance:
    """The one Maintenance of a core (created on first use)."""
    m = _instances.get(core)
    if m is None:
        m = Maintenance(core)
    return m


class Maintenance:
    def __init__(
        self,
        core: Any,
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
        self._saved_out_of_service: bool | None = None
        self._test_note: asyncio.Future[dict[str, Any]] | None = None
        self._test_stacking: set[str] = set()
        self._cassette_out = False
        self._device_seen: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.status_changes: deque[dict[str, Any]] = deque(maxlen=200)
        self._alarms: dict[str, dict[str, Any]] = {}
        self._unreported: dict[str, dict[str, Any]] = {}
        self._task: asyncio.Task | None = None
        self._restore()
        _instances[core] = self
        if not self.auth.enabled:
            log_event(log, "maintenance off", logging.ERROR, reason=self.auth.problem,
                      fix="set [maintenance] pin_hash (emitra-kiosk hash-pin)")

    # ---------------------------------------------------------------- plumbing

    @property
    def active(self) -> bool:
        return self.engineer is not None

    def _record(self, action: str, engineer_id: str | None = None, **data: Any) -> Event | None:
        who = engineer_id or self.engineer or "-"
        key = data.pop("_key", None)
        return self.journal.append(
            "maintenance", SESSION, {"action": action, "engineer_id": who, **data}, key=key
        )

    def _need_engineer(self) -> str:
        if self.engineer is None:
            raise MaintenanceError("not_in_maintenance", "log in first")
        source = login_source.get()
        if source is not None and source != self.owner:  # another screen connection
            raise MaintenanceError("not_in_maintenance", "logged in on another connection")
        self.touch()
        return self.engineer

    def touch(self) -> None:
        """Engineer activity: restarts the auto-leave timer."""
        self.last_touch = self.clock()

    def _changed(self) -> None:
        changed = getattr(self.core.kiosk, "_changed", None)
        if callable(changed):
            changed()

    # ---------------------------------------------------------------- lifecycle

    def _current(self) -> bool:
        """False once another Maintenance replaced this one for the core (tests do)."""
        return _instances.get(self.core) is self

    def start(self) -> Maintenance:
        """Watch devices (cassette alarm, status log), auto-leave, and take test notes."""
        if self._task is not None:
            return self
        install_note_interceptor(self.core, self)
        add_listener = getattr(self.core.kiosk, "add_listener", None)
        if callable(add_listener):
            add_listener(self._on_snapshot)
        self._task = asyncio.create_task(self._watch(), name="maintenance-watch")
        return self

    async def stop(self) -> None:
        remove = getattr(self.core.kiosk, "remove_listener", None)
        if callable(remove):
            remove(self._on_snapshot)
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
        kiosk = self.core.kiosk
        if self._saved_out_of_service is None:
            self._saved_out_of_service = kiosk.out_of_service_command
        kiosk.out_of_service_command = True
        self._record("entered", engineer_id)
        log_event(log, "maintenance entered", engineer=engineer_id)
        self._changed()
        return {"engineer_id": engineer_id, "auto_leave_s": self.section["auto_leave_s"]}

    def leave(self, reason: str = "engineer") -> None:
        if self.engineer is None:
            return
        engineer, self.engineer = self.engineer, None
        self.owner = None
        self.collection_in_progress = False
        if self._test_note is not None and not self._test_note.done():
            self._test_note.set_result({"result": "cancelled"})
        if self._saved_out_of_service is not None:
            self.core.kiosk.out_of_service_command = self._saved_out_of_service
            self._saved_out_of_service = None
        self._record("left", engineer, reason=reason)
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

    def _restore(self) -> None:
        for ev in self.journal.events(session_id=SESSION, kinds=("maintenance",)):
            action = ev.data.get("action")
            if action == "alarm_raised":
                self._alarms[ev.data["code"]] = {
                    "code": ev.data["code"],
                    "since": ev.at,
                    "message": ev.data.get("message", ""),
                }
            elif action == "alarm_cleared":
                self._alarms.pop(ev.data["code"], None)
            self._note_collection(ev)

    def raise_alarm(self, code: str, message: str) -> None:
        if code in self._alarms:
            return
        ev = self._record("alarm_raised", code=code, message=message)
        self._alarms[code] = {"code": code, "since": ev.at if ev else utc_now(), "message": message}
        log_event(log, "alarm", logging.ERROR, code=code, message=message)

    def acknowledge_alarm(self, code: str, note: str = "") -> None:
        """An engineer has looked into an alarm (journaled with the engineer id)."""
        engineer = self._need_engineer()
        if code == LOCKOUT_ALARM:
            raise MaintenanceError("cannot_acknowledge", "a PIN lockout ends by itself")
        if self._alarms.pop(code, None) is None:
            raise MaintenanceError("no_such_alarm", code)
        self._record("alarm_cleared", engineer, code=code, note=note[:200])

    def alarms(self) -> list[dict[str, Any]]:
        out = list(self._alarms.values())
        lockout = self.auth.alarm()
        if lockout:
            out.append(lockout)
        return out

    def check_devices(self) -> None:
        """Cassette-removed alarm, and a log of device status changes for the fault log."""
        for name, status in list(self.core.kiosk.device_status.items()):
            seen = (status.state.value, tuple(status.detail))
            if self._device_seen.get(name) != seen:
                self._device_seen[name] = seen
                self.status_changes.append(
                    {
                        "at": utc_now(),
                        "kind": "device_status",
                        "device": name,
                        "state": seen[0],
                        "detail": list(seen[1]),
                        "message": status.message,
                    }
                )
        acceptor = self.core.kiosk.device_status.get("acceptor")
        out = acceptor is not None and "cassette_removed" in acceptor.detail
        if out and not self._cassette_out:
            if self.collection_in_progress and self.engineer is not None:
                self._record("cassette_removed", during="collection")
            else:
                self._record("cassette_removed", during="no_collection")
                self.raise_alarm(CASSETTE_ALARM, "cash cassette removed without a collection")
        elif not out and self._cassette_out:
            self._record("cassette_inserted")
        self._cassette_out = out

    # ---------------------------------------------------------------- cash

    def cash_summary(self) -> dict[str, Any]:
        """Notes by denomination since the last collection, cross-checked with the acceptor."""
        engineer = self._need_engineer()
        summary = self._summary()
        self._record("cash_summary_viewed", engineer, total_paise=summary["total_paise"])
        return summary

    def _summary(self) -> dict[str, Any]:
        box = cash_box(self.journal)
        counters = acceptor_counters(self.core.acceptor)
        if counters["available"]:
            counters["matches_journal"] = {int(k): v for k, v in counters["counts"].items()} == {
                k: v for k, v in box["counts"].items() if v
            }
        # Every note value the engineer may find in the cassette, for the count on the screen.
        notes = sorted(self._accepted_paise() | set(box["counts"]), reverse=True)
        return {**box, "acceptor_counters": counters, "denominations": notes}

    def _accepted_paise(self) -> set[int]:
        return {int(r) * 100 for r in self.config["acceptor"]["accepted_notes"]}

    def begin_collection(self) -> dict[str, Any]:
        """The engineer is about to take the cassette out: no alarm for that. Returns the cash
        summary (what the collection screen shows and counts against)."""
        engineer = self._need_engineer()
        self.collection_in_progress = True
        summary = self._summary()
        self._record("collection_started", engineer, total_paise=summary["total_paise"])
        return {**summary, "collection_in_progress": True}

    async def collect_cash(
        self, engineer_id: str | None = None, counted: dict[str, int] | None = None
    ) -> dict[str, Any]:
        """Journal the collection (it resets the cash box) with the engineer's count per
        denomination ({"50000": n}) and the acceptor's counter (cash_counted), alarm on a
        difference, print the slip, report to central."""
        from terminal import cash_collection as cc

        engineer = self._need_engineer()
        if engineer_id is not None and engineer_id != engineer:
            raise MaintenanceError("wrong_engineer", "collect as the logged-in engineer")
        try:
            notes = None if counted is None else cc.parse_counted(counted, self._accepted_paise())
        except cc.CountError as exc:
            raise MaintenanceError("bad_request", str(exc)) from None
        device = await cc.read_device_counter(self.core.acceptor)  # before the box is counted
        if self.core.kiosk.session is not None:
            raise MaintenanceError("session_in_progress")
        # Count and record in one step without an await between: no credit can slip in.
        box = cash_box(self.journal)
        baseline = cc.last_device_total(self.journal)
        terminal = self.config["terminal"]
        collection_id = (
            f"C-{terminal['id']}-{datetime.now(UTC).strftime('%y%m%d%H%M%S')}-"
            f"{secrets.token_hex(2).upper()}"
        )
        ev = self._record(
            "cash_collected",
            engineer,
            collection_id=collection_id,
            counts={str(k): v for k, v in box["counts"].items()},
            notes=box["notes"],
            total_paise=box["total_paise"],
            credited_paise=box["credited_paise"],
            test_notes_paise=box["test_notes_paise"],
            unattributed_paise=box["unattributed_paise"],
            since=box["since"],
            _key=f"collection:{collection_id}",
        )
        count = cc.count_record(collection_id, engineer, box, notes, device, baseline)
        self.journal.append(cc.COUNT_KIND, SESSION, count, key=f"cash_counted:{collection_id}")
        self.collection_in_progress = False
        if ev is not None:
            self._note_collection(ev)
        if count["problems"]:
            self.raise_alarm(f"{cc.COUNT_ALARM}:{collection_id}", cc.alarm_message(count))
        log_event(
            log,
            "cash collected",
            engineer=engineer,
            collection=collection_id,
            total=box["total_paise"],
            notes=box["notes"],
            counted=count["counted_paise"],
            difference=count["difference_paise"],
        )
        result = {
            "collection_id": collection_id,
            "at": ev.at if ev else utc_now(),
            "engineer_id": engineer,
            "counts": box["counts"],
            "by_denomination": box["by_denomination"],
            "notes": box["notes"],
            "total_paise": box["total_paise"],
            "count": count,
        }
        result.update(await self._print_slip(result))
        return result

    async def _print_slip(self, c: dict[str, Any]) -> dict[str, Any]:
        from terminal.cash_collection import slip_with_count
        from terminal.receipts import CollectionSlip, build_collection_slip

        printer = self.core.printer
        terminal = self.config["terminal"]
        try:
            if printer is None:
                raise RuntimeError("no printer")
            slip = CollectionSlip(
                terminal_id=terminal["id"],
                location=terminal["location"],
                engineer_id=c["engineer_id"],
                collected_at=datetime.fromtimestamp(iso_to_epoch(c["at"]), UTC),
                counts=dict(c["counts"]),
                total_paise=c["total_paise"],
            )
            doc = build_collection_slip(slip, printer.paper_width_dots)
            await printer.print_document(slip_with_count(doc, c.get("count")))
        except Exception as exc:
            self._record(
                "collection_slip_failed",
                c["engineer_id"],
                collection_id=c["collection_id"],
                error=str(exc),
            )
            return {"printed": False, "error": str(exc)}
        self._record("collection_slip_printed", c["engineer_id"], collection_id=c["collection_id"])
        return {"printed": True, "error": None}

    async def reprint_collection_slip(self, collection_id: str) -> dict[str, Any]:
        from terminal.cash_collection import find_count

        self._need_engineer()
        for ev in self.journal.events(session_id=SESSION, kinds=("maintenance",)):
            if ev.data.get("action") == "cash_collected" and (
                ev.data["collection_id"] == collection_id
            ):
                c = {
                    "collection_id": collection_id,
                    "at": ev.at,
                    "engineer_id": ev.data["engineer_id"],
                    "counts": {int(k): v for k, v in ev.data["counts"].items()},
                    "total_paise": ev.data["total_paise"],
                    "count": find_count(self.journal, collection_id),
                }
                return await self._print_slip(c)
        raise MaintenanceError("not_found", collection_id)

    def unreported_collections(self) -> list[dict[str, Any]]:
        """Collections central has not yet acknowledged (sent in every heartbeat until then)."""
        return list(self._unreported.values())

    def collections_reported(self, collection_ids: list[str]) -> None:
        for cid in collection_ids:
            if self._unreported.pop(cid, None) is not None:
                self.journal.append(
                    "maintenance",
                    SESSION,
                    {"action": "collection_reported", "engineer_id": "-", "collection_id": cid},
                    key=f"collection_reported:{cid}",
                )

    def _note_collection(self, ev: Event) -> None:
        if ev.data.get("action") == "cash_collected":
            self._unreported[ev.data["collection_id"]] = {
                "collection_id": ev.data["collection_id"],
                "at": ev.at,
                "engineer_id": ev.data["engineer_id"],
                "counts_paise": ev.data["counts"],
                "notes": ev.data["notes"],
                "total_paise": ev.data["total_paise"],
            }
        elif ev.data.get("action") == "collection_reported":
            self._unreported.pop(ev.data["collection_id"], None)

    # ---------------------------------------------------------------- device tests

    async def test_print(self) -> dict[str, Any]:
        engineer = self._need_engineer()
        printer = self.core.printer
        if printer is None:
            raise MaintenanceError("no_printer")
        doc = self._test_page(engineer, printer.paper_width_dots)
        try:
            await printer.print_document(doc)
        except Exception as exc:
            self._record("test_print_failed", engineer, error=str(exc))
            return {"printed": False, "error": str(exc), "status": printer.status().to_dict()}
        self._record("test_print", engineer)
        return {"printed": True, "error": None, "status": printer.status().to_dict()}

    def _test_page(self, engineer: str, width: int) -> PrintDocument:
        from terminal.receipts import HINDI_BODY_PX, format_ist, render_text_image

        terminal = self.config["terminal"]
        cols = width // 12
        blocks: list[Any] = [
            TextLine("e-Mitra Plus", align="center", bold=True, double=True),
            TextLine("PRINTER TEST PAGE", align="center", bold=True),
            TextLine("-" * cols),
            TextLine(f"Kiosk    : {terminal['id']}"),
            TextLine(f"Engineer : {engineer}"),
            TextLine(f"Time     : {format_ist(datetime.now(UTC))}"),
            TextLine("-" * cols),
            TextLine("ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789"),
            TextLine("Bold line", bold=True),
            TextLine("Right aligned", align="right"),
            ImageBlock(render_text_image("परीक्षण पृष्ठ — हिंदी ठीक छपी है", width, HINDI_BODY_PX)),
            Feed(1),
            QRBlock(f"EMITRA|TEST|{terminal['id']}"),
            TextLine("=" * cols),
        ]
        return PrintDocument(
            blocks=tuple(blocks),
            name="test_page",
            cut=True,
            meta={"kind": "test_page", "engineer_id": engineer},
        )

    async def test_note(self, timeout_s: float = 60.0) -> dict[str, Any]:
        """Take one note: it is stacked and journaled as a test note, credited to nobody."""
        engineer = self._need_engineer()
        acceptor = self.core.acceptor
        if acceptor is None:
            raise MaintenanceError("no_acceptor")
        if self._test_note is not None and not self._test_note.done():
            raise MaintenanceError("busy", "a test note is already waiting")
        if self.core.kiosk.session is not None:
            raise MaintenanceError("session_in_progress")
        accepted = {r * 100 for r in self.config["acceptor"]["accepted_notes"]}
        notes = (set(acceptor.denominations()) & accepted) or accepted
        self._test_note = asyncio.get_running_loop().create_future()
        self._record("test_note_started", engineer)
        try:
            await acceptor.enable(notes)
            result = await asyncio.wait_for(asyncio.shield(self._test_note), timeout_s)
        except TimeoutError:
            result = {"result": "no_note"}
        except Exception as exc:
            result = {"result": "error", "error": str(exc)}
        finally:
            with contextlib.suppress(Exception):
                await acceptor.disable()
            self._test_note = None
        if result["result"] != "stacked":
            self._record("test_note_ended", engineer, **result)
        self.touch()
        return result

    async def on_acceptor_event(self, event: object) -> bool:
        """Acceptor events during a test note are the test's, not a citizen's: True = taken."""
        waiting = self._test_note is not None and not self._test_note.done()
        if isinstance(event, NoteInEscrow) and waiting:
            self._test_stacking.add(event.note_id)
            await self.core.acceptor.stack()
            return True
        if isinstance(event, NoteStacked) and event.note_id in self._test_stacking:
            self._test_stacking.discard(event.note_id)
            self._record(
                "test_note",
                paise=event.paise,
                note_id=event.note_id,
                _key=f"test_note:{event.note_id}",
            )
            log_event(log, "test note stacked", paise=event.paise, engineer=self.engineer)
            if self._test_note is not None and not self._test_note.done():
                self._test_note.set_result({"result": "stacked", "paise": event.paise})
            return True
        if isinstance(event, NoteReturned) and event.note_id in self._test_stacking:
            self._test_stacking.discard(event.note_id)
            if waiting:
                self._test_note.set_result({"result": "returned", "paise": event.paise})
            return True
        if isinstance(event, NoteRejected) and waiting:
            self._test_note.set_result(
                {"result": "rejected", "reason": event.reason, "paise": event.paise}
            )
            return True
        return False

    def identities(self) -> dict[str, Any]:
        engineer = self._need_engineer()
        out: dict[str, Any] = {}
        for name, device in (("acceptor", self.core.acceptor), ("printer", self.core.printer)):
            if device is None:
                out[name] = {"present": False}
                continue
            identity = getattr(device, "identity", None)
            info = identity() if callable(identity) else {}
            out[name] = {
                "present": True,
                "driver": type(device).__name__,
                **(info or {"model": "not reported by the device"}),
                "status": self.core.kiosk.device_status.get(name, device.status()).to_dict(),
            }
        self._record("identities_viewed", engineer)
        return out

    # ---------------------------------------------------------------- logs, outbox, network

    def fault_log(self, hours: float = 24.0, limit: int = 200) -> list[dict[str, Any]]:
        engineer = self._need_engineer()
        cutoff = (datetime.now(UTC) - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        rows: list[dict[str, Any]] = []
        for ev in self.journal.events(kinds=(*FAULT_KINDS, "maintenance")):
            if ev.at < cutoff:
                continue
            if ev.kind == "maintenance" and ev.data.get("action") not in FAULT_ACTIONS:
                continue
            rows.append(
                {"at": ev.at, "kind": ev.kind, "session_id": ev.session_id, **_clean(ev.data)}
            )
        rows.extend(c for c in self.status_changes if c["at"] >= cutoff)
        rows.sort(key=lambda r: r["at"], reverse=True)
        self._record("fault_log_viewed", engineer)
        return rows[:limit]

    def outbox_view(self) -> dict[str, Any]:
        engineer = self._need_engineer()
        outbox = self.core.kiosk.outbox
        now = self.wall()
        entries = []
        for s in outbox.pending():
            entries.append(
                {
                    "session_id": s.session_id,
                    "txn_id": s.txn_id,
                    "provider": s.provider,
                    "amount_paise": s.amount_paise,
                    "voucher_id": s.voucher_id,
                    "voucher_paise": s.voucher_paise,
                    "paid_at": s.paid_at,
                    "age_s": round(now - iso_to_epoch(s.paid_at), 1) if s.paid_at else None,
                }
            )
        self._record("outbox_viewed", engineer, depth=len(entries))
        return {
            "depth": len(entries),
            "entries": entries,
            "last_error": mask_text(outbox.last_error) if outbox.last_error else None,
        }

    def send_now(self) -> None:
        engineer = self._need_engineer()
        self.core.kiosk.outbox.kick()
        self._record("outbox_send_now", engineer)

    async def network_test(self, timeout_s: float = 5.0) -> dict[str, Any]:
        """DNS of the central host, TCP connect (and TLS for https), a signed GET /v1/services."""
        engineer = self._need_engineer()
        url = urlsplit(self.config["central"]["url"])
        host = url.hostname or ""
        port = url.port or (443 if url.scheme == "https" else 80)
        steps: list[dict[str, Any]] = []

        async def step(name: str, work: Callable[[], Awaitable[Any]]) -> bool:
            started = time.monotonic()
            try:
                detail = await asyncio.wait_for(work(), timeout_s)
            except Exception as exc:
                steps.append(
                    {
                        "step": name,
                        "ok": False,
                        "ms": _ms(started),
                        "error": str(exc) or type(exc).__name__,
                    }
                )
                return False
            steps.append({"step": name, "ok": True, "ms": _ms(started), "detail": detail})
            return True

        loop = asyncio.get_running_loop()

        async def dns() -> list[str]:
            infos = await loop.getaddrinfo(host, port, type=1)  # SOCK_STREAM
            return sorted({info[4][0] for info in infos})

        async def connect(tls: bool) -> str:
            context = ssl.create_default_context() if tls else None
            _, writer = await asyncio.open_connection(host, port, ssl=context)
            peer = writer.get_extra_info("peername")
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            return str(peer[0]) if peer else ""

        async def api() -> str:
            services = await self.core.central.services()
            return f"{len(services)} services"

        ok = await step("dns", dns)
        ok = ok and await step("tcp", lambda: connect(False))
        if ok and url.scheme == "https":
            ok = await step("tls", lambda: connect(True))
        ok = ok and await step("central_api", api)
        self._record(
            "network_test",
            engineer,
            ok=ok,
            steps=[{k: v for k, v in s.items() if k != "detail"} for s in steps],
        )
        return {"ok": ok, "host": host, "port": port, "steps": steps}

    # ---------------------------------------------------------------- reprint, restart

    def recent_receipts(self) -> list[dict[str, Any]]:
        """Receipts and vouchers of the last 24 h (for the reprint screen), newest first."""
        self._need_engineer()
        cutoff = (datetime.now(UTC) - REPRINT_WINDOW).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        out = []
        for ev in self.journal.events(kinds=("settled",)):
            if ev.at >= cutoff:
                out.append(
                    {
                        "session_id": ev.session_id,
                        "txn_id": ev.data.get("txn_id"),
                        "amount_paise": ev.data.get("amount_paise", 0),
                        "voucher_id": ev.data.get("voucher_id"),
                        "voucher_paise": ev.data.get("voucher_paise", 0),
                        "at": ev.at,
                    }
                )
        return list(reversed(out))

    async def reprint(self, ref: str, doc: str | None = None) -> dict[str, Any]:
        """Reprint a receipt (txn id / session id) or voucher (voucher id) of the last 24 h,
        marked DUPLICATE."""
        engineer = self._need_engineer()
        found = next(
            (
                r
                for r in self.recent_receipts()
                if ref in (r["session_id"], r["txn_id"], r["voucher_id"])
            ),
            None,
        )
        if found is None:
            raise MaintenanceError("not_found", "no receipt with that id in the last 24 hours")
        s = fold(found["session_id"], list(self.journal.events(session_id=found["session_id"])))
        if doc is None:
            doc = "voucher" if ref == s.voucher_id or not s.amount_paise else "receipt"
        if (doc == "receipt" and not s.amount_paise) or (doc == "voucher" and not s.voucher_id):
            raise MaintenanceError("not_found", f"that session has no {doc}")
        printer = self.core.printer
        if printer is None:
            raise MaintenanceError("no_printer")
        try:
            document = duplicate_document(self.config, s, doc, printer.paper_width_dots)
            await printer.print_document(document)
        except Exception as exc:
            self._record("reprint_failed", engineer, session=s.session_id, doc=doc, error=str(exc))
            return {"printed": False, "error": str(exc)}
        self._record("reprint", engineer, session=s.session_id, txn_id=s.txn_id, doc=doc)
        return {"printed": True, "error": None, "doc": doc, "session_id": s.session_id}

    def restart(self) -> None:
        """Restart the core (systemd starts it again at once)."""
        engineer = self._need_engineer()
        self._record("restart_requested", engineer)
        self.leave("restart")
        self.exit_hook(EXIT_RESTART_REQUESTED, f"restart requested by engineer {engineer}")


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def duplicate_document(config: dict, s: Any, doc: str, width_dots: int) -> PrintDocument:
    """The receipt / voucher as first printed, marked DUPLICATE."""
    from terminal.printing import build_document

    if "duplicate" in inspect.signature(build_document).parameters:
        return build_document(config, s, doc, width_dots, duplicate=True)
    from terminal.receipts import HI, HINDI_TITLE_PX, render_text_image

    original = build_document(config, s, doc, width_dots)
    mark = (
        ImageBlock(render_text_image(HI["duplicate"], width_dots, HINDI_TITLE_PX)),
        TextLine("*** DUPLICATE ***", align="center", bold=True, double=True),
        TextLine(f"Reprinted {datetime.now(UTC).strftime('%Y-%m-%d %H:%M')} UTC", align="center"),
    )
    return PrintDocument(
        blocks=mark + tuple(original.blocks) + mark[1:2],
        name=original.name,
        cut=original.cut,
        meta={**original.meta, "duplicate": True},
    )


def install_note_interceptor(core: Any, maintenance: Maintenance) -> None:
    """Let maintenance take acceptor events during a test note, before the kiosk sees them.

    Uses kiosk.intercept_acceptor_event when the kiosk offers that hook; otherwise wraps the
    kiosk's event handler on this instance.
    """
    kiosk = core.kiosk
    if hasattr(kiosk, "intercept_acceptor_event"):
        kiosk.intercept_acceptor_event = maintenance.on_acceptor_event
        return
    if getattr(kiosk, "_maintenance_wrapped", False):
        return
    original = kiosk._on_acceptor_event

    async def handler(event: object) -> None:
        current = _instances.get(core)  # the core's Maintenance now, not the first one
        if current is not None and await current.on_acceptor_event(event):
            return
        await original(event)

    kiosk._on_acceptor_event = handler
    kiosk._maintenance_wrapped = True


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
    # with the engineer's count: {"counted": {"50000": n, ...}} (checked by cash_collection)
    "collect_cash": lambda m, a: m.collect_cash(counted=a.get("counted")),
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
