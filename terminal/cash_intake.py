"""Cash intake: acceptor events -> escrow decisions and credits, note policy, notes found after a
restart, acceptor faults during a payment.

Every money step is journaled before the device or the screen acts on it: `note_stacking`
before STACK (so a restart knows whose note may be in the cassette, terminal/found_notes.py),
`credit` before the ACK and before the screen shows it. A journal that cannot be written turns
cash off (terminal/storage_guard.py): the note in escrow goes back, a credit that failed to
write is retried from the ticker.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Protocol

from drivers.base import (
    DeviceState,
    DeviceStatus,
    NoteFoundAtPowerUp,
    NoteInEscrow,
    NoteRejected,
    NoteReturned,
    NoteStacked,
    StatusChanged,
)
from terminal import events as E
from terminal.advance_credit import overshoot_limit
from terminal.found_notes import last_stack_intent
from terminal.live_session import JournalLike, LiveSession, SetDevice, new_id
from terminal.logs import log_event
from terminal.session import Session, State, allowed_notes, fold
from terminal.storage_guard import StorageGuard

log = logging.getLogger("kiosk")

# The session of a note no session could take: it becomes a voucher of its own.
VOUCHER_ONLY = E.SessionOpened(service="voucher", provider="", consumer_number="")
REJECT_MESSAGES = {
    "insertion": "note_insert_flat",
    "inhibited": "note_not_accepted_now",
    "remained_in_head": "note_insert_flat",
    "multiple_notes": "note_one_at_a_time",
}


def _returned(paise: int | None, reason: str, key: str) -> dict:
    """What the screen shows about the note just handed back."""
    return {"paise": paise, "reason": reason, "message_key": key}


class AcceptorLike(Protocol):
    """What cash intake needs of a drivers.base.BanknoteAcceptor."""

    def status(self) -> DeviceStatus: ...
    def events(self) -> AsyncIterator[object]: ...
    def drain_events(self) -> Iterable[object]: ...
    def denominations(self) -> Iterable[int]: ...
    def stacked_count(self) -> int | None: ...
    def credit_durable(self, note_id: str) -> None: ...
    async def enable(self, notes: set[int]) -> None: ...
    async def disable(self) -> None: ...
    async def stack(self) -> None: ...
    async def return_note(self) -> None: ...


class SessionEnds(Protocol):
    """How a session with cash in ends (completion) or without (the kiosk's cancel)."""

    async def settle(self, s: Session, recovery: bool = False, txn_id: str | None = None) -> None:
        ...
    async def cancel(self, s: Session, outcome: State) -> None: ...


class CashIntake:
    def __init__(
        self, acceptor: AcceptorLike | None, journal: JournalLike, live: LiveSession,
        storage: StorageGuard, ends: SessionEnds, *, terminal_id: str, accepted_paise: set[int],
        max_overpay_paise: int, device_status: Mapping[str, DeviceStatus], set_device: SetDevice,
    ) -> None:
        self.acceptor = acceptor
        self.journal = journal
        self.live = live
        self.storage = storage
        self.ends = ends
        self.terminal_id = terminal_id
        self.accepted_paise = accepted_paise
        self.max_overpay = max_overpay_paise
        self.device_status = device_status
        self.set_device = set_device
        self.enabled_notes: set[int] | None = None  # what the acceptor was last told
        self.advance_on = False  # [payment] advance_credit (voucher_redeem.voucher_flow sets it)

    def _limit(self, s: Session) -> int:
        """How far the last note may overshoot: per provider (terminal/advance_credit.py)."""
        return overshoot_limit(s.provider, self.max_overpay, self.advance_on)

    # ------------------------------------------------------------------ note policy

    def notes_allowed_now(self) -> set[int]:
        """The notes the session may take now: what the acceptor is told, and what the screen
        shows (from the rule, so a pushed credit never shows the notes before it)."""
        s = self.live.session
        if self.acceptor is None or s is None or s.state != State.PAYING:
            return set()
        known = set(self.acceptor.denominations()) or self.accepted_paise
        return allowed_notes(s.remaining_paise, self._limit(s), self.accepted_paise & known)

    async def update_acceptor(self) -> None:
        """Enable exactly the notes that may go in now (none outside PAYING)."""
        if self.acceptor is None:
            return
        notes = self.notes_allowed_now()
        if notes == self.enabled_notes:
            return
        self.enabled_notes = notes
        try:
            if notes:
                await self.acceptor.enable(notes)
            else:
                await self.acceptor.disable()
        except Exception as exc:
            log_event(log, "acceptor enable failed", logging.ERROR, error=str(exc))

    async def reconnected(self) -> None:
        """The watchdog re-opened the acceptor (now disabled): re-apply what the session needs."""
        self.enabled_notes = None
        await self.update_acceptor()

    async def at_start(self) -> None:
        """Notes the driver found in the path while opening belong to the sessions recovery
        is about to settle: attribute them first."""
        if self.acceptor is None:
            return
        for event in self.acceptor.drain_events():
            try:
                await self.on_event(event)
            except Exception:
                log.exception("acceptor event at start-up failed")
        await self.stacking_by_counter()

    # ------------------------------------------------------------------ acceptor events

    async def on_event(self, event: object) -> None:
        acceptor = self.acceptor
        assert acceptor is not None
        live = self.live
        s = live.session
        if isinstance(event, NoteInEscrow):
            take = s is not None and s.state == State.PAYING and event.paise in allowed_notes(
                s.remaining_paise, self._limit(s), self.accepted_paise)
            if not take:
                await acceptor.return_note()
                live.last_returned = _returned(event.paise, "too_much", "note_too_large")
                return
            assert s is not None
            # Durable before the device moves the note: whoever restarts after a power cut
            # from here on knows whose note may be in the cassette (terminal/found_notes.py).
            stacking = E.NoteStacking(note_id=event.note_id, paise=event.paise,
                                      device_count=acceptor.stacked_count())
            try:
                self.journal.record(s.session_id, stacking, key=f"stacking:{event.note_id}")
            except (sqlite3.Error, OSError) as exc:
                self.storage.append_failed(exc)  # cannot promise a credit: give it back
                await acceptor.return_note()
                live.last_returned = _returned(event.paise, "storage", "note_not_accepted_now")
                await self.settle_or_wait(s)
                return
            await acceptor.stack()
        elif isinstance(event, NoteStacked) and event.found_at_open:
            await self.found_stacked(event)
        elif isinstance(event, NoteStacked):
            await self.credit(event)
        elif isinstance(event, NoteReturned) and event.note_id == "returned-at-open":
            self.stacking_returned()
        elif isinstance(event, NoteReturned):
            if s is not None and s.opened:
                returned = E.NoteReturned(note_id=event.note_id, paise=event.paise)
                ev = self.journal.record(s.session_id, returned)
                if ev is not None:
                    s.apply(ev)
            if live.last_returned is None or live.last_returned.get("paise") != event.paise:
                live.last_returned = _returned(event.paise, "returned", "note_returned")
        elif isinstance(event, NoteRejected):
            key = REJECT_MESSAGES.get(event.reason, "note_not_recognised")
            live.last_returned = _returned(event.paise, event.reason, key)
        elif isinstance(event, StatusChanged):
            await self.acceptor_status(event.status)
        elif isinstance(event, NoteFoundAtPowerUp):
            await self.note_found_at_power_up(event)

    async def acceptor_status(self, status: DeviceStatus) -> None:
        """A fault during a payment: journal it for the engineer; tell the citizen the money is
        safe; if the acceptor cannot go on, complete the session with the cash already in."""
        previous = self.device_status.get("acceptor")
        self.set_device("acceptor", status)
        faulty = status.state in (DeviceState.HWERROR, DeviceState.USER_ERROR,
                                  DeviceState.FRAUD, DeviceState.OFFLINE)
        if not faulty or (previous is not None and previous.state == status.state
                          and previous.detail == status.detail):
            return
        s = self.live.session
        self.journal.record(s.session_id if s and s.opened else "-", E.Fault(
            device="acceptor", state=status.state.value, detail=tuple(status.detail),
            message=status.message, screen=s.state.value if s else "IDLE",
        ))
        if s is None or s.state != State.PAYING:
            return
        self.live.say("device_problem_money_safe")
        if status.state == DeviceState.OFFLINE:
            return  # the watchdog reconnects; the session waits (or times out into a voucher)
        if s.paid_paise > 0:
            await self.ends.settle(s)  # a jam or full cassette ends the taking of notes
        else:
            await self.ends.cancel(s, State.CANCELLED)
            self.live.say("service_unavailable")

    # ------------------------------------------------------------------ the credit point

    async def credit(self, event: NoteStacked, force_orphan: bool = False) -> None:
        """Durable first, then shown, then the next decision."""
        s = self.live.session
        taking = s is not None and s.opened and not s.settled
        if not force_orphan and not taking:
            # Reported late (the core restarted, or the session moved on): the journal's open
            # stacking says whose it is.
            if await self.credit_to_intent(None, event.paise):
                if self.acceptor is not None:
                    self.acceptor.credit_durable(event.note_id)
                return
        orphan = force_orphan or not taking
        if orphan:
            # A note stacked when no session can take it (e.g. stacked after a cancel): it
            # still belongs to a citizen, so it becomes a voucher of its own.
            s = Session(new_id("S", self.terminal_id))
            opened = self.journal.record(s.session_id, VOUCHER_ONLY)
            if opened is not None:
                s.apply(opened)
        assert s is not None
        try:
            note = E.Credit(note_id=event.note_id, paise=event.paise)
            ev = self.journal.record(s.session_id, note, key=f"credit:{event.note_id}")
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
        self.live.last_returned = None
        if orphan:
            await self.ends.settle(s, recovery=True)
            return
        self.live.touch()
        self.live.changed()  # durable, so shown now: not after the acceptor's ENABLE exchange
        if s.paid_paise >= s.due_paise:
            await self.ends.settle(s)
        else:
            await self.update_acceptor()

    # ------------------------------------------------------------------ the journal is full

    async def check_storage(self) -> None:
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
            await self.credit(event)
        if before != self.storage.problem:
            s = self.live.session
            if self.storage.problem is not None and s is not None and s.state == State.PAYING:
                await self.settle_or_wait(s)
            self.live.changed()

    async def settle_or_wait(self, s: Session) -> None:
        """The journal is full mid-payment: no more notes; cash already in ends as a voucher
        once it can be written; with none in, the session is cancelled."""
        if s.state != State.PAYING:
            return
        if s.paid_paise == 0:
            await self.ends.cancel(s, State.CANCELLED)
            self.live.say("service_unavailable")
            return
        try:
            await self.ends.settle(s)
        except (sqlite3.Error, OSError) as exc:
            self.storage.append_failed(exc)
            self.live.say("device_problem_money_safe")
            if self.acceptor is not None:
                self.enabled_notes = set()
                try:
                    await self.acceptor.disable()
                except Exception as err:
                    log_event(log, "acceptor disable failed", logging.ERROR, error=str(err))

    # ------------------------------------------------------------------ notes found after a restart

    async def note_found_at_power_up(self, event: NoteFoundAtPowerUp) -> None:
        """A note was in the acceptor's path when the power went. If the device says it went into
        the cashbox and what it was worth, it is the citizen's money: a voucher of its own,
        printed now. If its value is unknown, the engineer must reconcile (cash count)."""
        if event.where in ("stacker", "none") and await self.credit_to_intent(None, event.paise):
            return
        if event.where == "none":
            return  # an ordinary power-up with every stacked note accounted for
        self.journal.record("-", E.UnattributedNote(where=event.where, paise=event.paise))
        log_event(log, "note found in the acceptor at power-up", logging.WARNING,
                  where=event.where, paise=event.paise)
        if event.where == "stacker" and event.paise:
            s = self.live.session
            # During a payment the note is the citizen's at the machine; otherwise its own voucher.
            orphan = s is None or s.state != State.PAYING
            await self.credit(NoteStacked(new_id("P", self.terminal_id), event.paise),
                              force_orphan=orphan)

    async def stacking_by_counter(self) -> None:
        """Where the device keeps its own stacked counter (eSSP), it settles the last stacking
        the journal left open: one more note than before it means that note went in."""
        intent = last_stack_intent(self.journal)
        now = self.acceptor.stacked_count() if self.acceptor is not None else None
        if intent is None or not intent.unresolved or intent.device_count is None or now is None:
            return
        if now > intent.device_count:
            log_event(log, "device counter shows the last stacked note", logging.WARNING,
                      session=intent.session_id, before=intent.device_count, now=now)
            await self.credit_to_intent(None, intent.paise)
        else:
            self.stacking_returned()

    def stacking_returned(self) -> None:
        """The driver returned a note it found in escrow while opening: the last note the kiosk
        asked to stack went back to the citizen, so no later power-up may claim it."""
        intent = last_stack_intent(self.journal)
        if intent is not None and not intent.credited and not intent.returned:
            self.journal.record(intent.session_id,
                                E.NoteReturned(note_id=intent.note_id, paise=intent.paise))
            log_event(log, "note in escrow at start-up returned", session=intent.session_id)

    async def found_stacked(self, event: NoteStacked) -> None:
        """The validator was still reporting a note stacked when the driver opened: the core
        died between the device stacking it and acknowledging the report."""
        if not await self.credit_to_intent(event.note_id, event.paise):
            log_event(log, "stacked note with no stacking on record", logging.WARNING,
                      paise=event.paise)
            await self.note_found_at_power_up(NoteFoundAtPowerUp("stacker", event.paise))
        if self.acceptor is not None:
            self.acceptor.credit_durable(event.note_id)

    async def credit_to_intent(self, device_note_id: str | None, paise: int | None) -> bool:
        """Credit a note found after the core was away to the session that asked to stack it
        (terminal/found_notes.py). False when the journal has no such note to offer."""
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
        s = self.live.session
        if s is not None and s.session_id == intent.session_id:
            await self.credit(note)
            return True
        owner = fold(intent.session_id, list(self.journal.events(session_id=intent.session_id)))
        if owner.opened and not owner.settled and owner.closed is None:
            # Recovery (running now, or at the next start) settles it with this note in.
            credit = E.Credit(note_id=note.note_id, paise=note.paise)
            self.journal.record(owner.session_id, credit, key=f"credit:{note.note_id}")
            if not self.live.recovering:
                sid = owner.session_id
                owner = fold(sid, list(self.journal.events(session_id=sid)))
                await self.ends.settle(owner, recovery=True)
            return True
        await self.credit(note, force_orphan=True)  # its session is settled: a voucher of its own
        return True
