"""Store-and-forward to central. The outbox is a view of the journal, not a second store: a
payment is pending while its `settled` event has no `posted` event (the journal's pending
projection, kept in the same transaction as each event), so nothing is pending in memory only.
Every post carries the terminal's transaction id as idempotency key: a retry after a lost answer
never makes a second payment. Central is one destination (terminal/central/link.py): while it is
down one probe at a time goes out on an exponential clock; once it answers the queue drains in
order with a few requests in flight, so central, not the kiosk, sets the rate. Only central's
business refusals are final (client.py FINAL_CODES); a final refusal of money already taken
becomes a refund voucher plus an alarm. Nothing goes out before the clock is trusted.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from terminal.central import CentralError
from terminal.central.link import Link
from terminal.central.refusals import about_the_entry, refund_voucher_id, refusal_is_final
from terminal.journal import Journal
from terminal.logs import log_event
from terminal.session import Session, fold
from terminal.voucher_posting import payment_body, voucher_args

log = logging.getLogger("outbox")

DRAIN_IN_FLIGHT = 4  # requests in flight while draining a backlog ([central] drain_in_flight)
ALARM_SESSION = "maintenance"  # where terminal/maintenance.py journals and restores alarms
REFUSED_ALARM = "payment_refused_by_central"


class _Skipped(Exception):
    """Not sent: central is down and a probe is already out (or not yet due)."""


def needs_payment(s: Session) -> bool:
    return bool(s.amount_paise) and s.receipt_no is None and s.refund_voucher_id is None


def needs_work(s: Session) -> bool:
    return (
        needs_payment(s)
        or bool(s.voucher_id and not s.voucher_posted)
        or bool(s.refund_voucher_id and not s.refund_posted)
    )


class Outbox:
    def __init__(self, journal: Journal, central, config: dict, clock=time.monotonic) -> None:
        section = config["central"]
        self.journal = journal
        self.central = central
        self.initial = section["retry_initial_s"]
        self.ceiling = section["retry_max_s"]
        self.in_flight_max = max(1, int(section.get("drain_in_flight", DRAIN_IN_FLIGHT)))
        self.clock = clock
        self.link = Link(self.initial, self.ceiling, clock)
        self._in_flight: set[str] = set()
        # session id -> (delay, monotonic time) for entries central answered with a non-final 4xx
        self._entry_wait: dict[str, tuple[float, float]] = {}
        # The worker's copy of pending() in settle order, rebuilt when it runs dry.
        self._queue: deque[Session] | None = None
        # Sessions the kiosk is completing right now; the worker leaves them to it.
        self.busy_sessions: set[str] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.last_error: str | None = None
        self.attempts = 0  # requests sent to central (tests, bench)
        # (code, message) of a final refusal -> Maintenance.raise_alarm; unset, journaled here.
        self.on_alarm: Callable[[str, str], Any] | None = None
        self.check_clock: Callable[[], Awaitable[None]] | None = None  # terminal/clock_trust.py
        self.redemptions: Any = None  # terminal/voucher_redeem.py: releases what is left open
        self.sms: Any = None  # terminal/sms_receipt.py: the final receipt after a provisional one

    # ------------------------------------------------------------------ one attempt

    async def _send(self, call: Callable[[], Awaitable[Any]], *, live: bool) -> Any:
        """One request through the link: skipped while down unless it may be the probe."""
        if not self.link.may_probe(live=live):
            raise _Skipped
        probe = self.link.down
        if probe:
            self.link.probing = True
        self.attempts += 1
        try:
            if self.check_clock is not None:  # nothing goes out with a time nobody checked
                await self.check_clock()
            result = await call()
        except CentralError as exc:
            self.last_error = str(exc)
            if exc.retryable and not about_the_entry(exc):
                self.link.failed(str(exc), self._pending_hint(), exc.retry_after, probe=probe)
            else:
                self.link.answered(self._pending_hint())
            raise
        finally:
            if probe:
                self.link.probing = False
        self.link.answered(self._pending_hint())
        self.last_error = None
        return result

    def _pending_hint(self) -> int:
        return len(self._in_flight) + (len(self._queue) if self._queue is not None else 0)

    def _requeue(self, s: Session) -> None:
        """The kiosk's own attempt did not get through: the worker takes it from here."""
        if self._queue is not None and all(q.session_id != s.session_id for q in self._queue):
            self._queue.append(s)
        self._wake.set()

    async def post_payment(self, s: Session, *, live: bool = True) -> bool:
        """Try once to post the session's payment; True when central confirmed it."""
        assert s.txn_id and s.bill is not None
        if s.receipt_no is not None or s.txn_id in self._in_flight:
            return s.receipt_no is not None
        if s.refund_voucher_id is not None:
            return False  # refused for good and refunded: never posted again
        if self.journal.has_key(f"posted:{s.txn_id}"):
            self._refresh(s, ("posted",))
            return True
        self._in_flight.add(s.txn_id)
        try:
            posted = await self._send(lambda: self.central.post_payment(payment_body(s)), live=live)
        except _Skipped:
            if live:
                self._requeue(s)
            return False
        except CentralError as exc:
            if exc.retryable:
                log.debug("post failed, will retry: %s %s", s.txn_id, exc)
                if about_the_entry(exc):
                    self._entry_failed(s.session_id)
                elif live:
                    self._requeue(s)
            else:
                self._refused(s, exc)
            return False
        finally:
            self._in_flight.discard(s.txn_id)
        ev = self.journal.append(
            "posted",
            s.session_id,
            {
                "txn_id": s.txn_id,
                "receipt_no": posted.receipt_no,
                "verification": posted.verification,
            },
            key=f"posted:{s.txn_id}",
        )
        if ev is not None:
            s.apply(ev)
        else:  # posted by a concurrent attempt: refresh from the journal
            self._refresh(s, ("posted",))
        log_event(
            log, "payment posted", session=s.session_id, txn=s.txn_id, receipt=posted.receipt_no
        )
        return True

    def _refresh(self, s: Session, kinds: tuple[str, ...]) -> None:
        for e in self.journal.events(session_id=s.session_id, kinds=kinds):
            s.apply(e)

    def _refused(self, s: Session, exc: CentralError) -> None:
        """A final refusal of money already taken: a refund voucher for it, and an alarm."""
        assert s.txn_id
        ev = self.journal.append(
            "post_refused",
            s.session_id,
            {"id": s.txn_id, "code": exc.code, "message": str(exc)[:200], "final": True},
            key=f"post_refused:{s.txn_id}",
        )
        if ev is not None:
            s.apply(ev)
        self._issue_refund(s)

    def _issue_refund(self, s: Session) -> None:
        assert s.txn_id
        voucher_id = refund_voucher_id(s.txn_id)
        ev = self.journal.append(
            "refund_voucher",
            s.session_id,
            {
                "voucher_id": voucher_id,
                "txn_id": s.txn_id,
                # the advance went with the refused payment: it comes back with it
                "amount_paise": s.amount_paise + s.advance_paise,
                "code": s.refused_code,
            },
            key=f"refund_voucher:{s.txn_id}",
        )
        if ev is None:
            self._refresh(s, ("refund_voucher",))
            return
        s.apply(ev)
        message = (
            f"central refused payment {s.txn_id} ({s.refused_code}); "
            f"{s.amount_paise + s.advance_paise} paise refunded as voucher {voucher_id}"
        )
        log_event(
            log, "central refused a payment: refund voucher issued", logging.ERROR,
            session=s.session_id, txn=s.txn_id, code=s.refused_code, voucher=voucher_id,
            paise=s.amount_paise,
        )
        code = f"{REFUSED_ALARM}:{s.txn_id}"
        if self.on_alarm is not None:
            self.on_alarm(code, message)
        else:
            self.journal.append(
                "maintenance",
                ALARM_SESSION,
                {"action": "alarm_raised", "engineer_id": "-", "code": code, "message": message},
                key=f"alarm:{code}",
            )

    async def post_voucher(self, s: Session, *, live: bool = True) -> bool:
        """Register the session's vouchers (overpayment, refund) with central."""
        ok = True
        for voucher_id, paise, issued_at, done in (
            (s.voucher_id, s.voucher_paise, s.paid_at, s.voucher_posted),
            (s.refund_voucher_id, s.refund_paise, s.refund_issued_at, s.refund_posted),
        ):
            if voucher_id and not done:
                ok = await self._post_one_voucher(s, voucher_id, paise, issued_at, live) and ok
        return ok

    async def _post_one_voucher(
        self, s: Session, voucher_id: str, paise: int, issued_at: str | None, live: bool
    ) -> bool:
        if voucher_id in self._in_flight:
            return False
        self._in_flight.add(voucher_id)
        try:
            await self._send(
                lambda: self.central.post_voucher(
                    voucher_id, s.txn_id, paise, issued_at or "", **voucher_args(s)),
                live=live,
            )
        except _Skipped:
            if live:
                self._requeue(s)
            return False
        except CentralError as exc:
            if exc.retryable:
                if about_the_entry(exc):
                    self._entry_failed(s.session_id)
                elif live:
                    self._requeue(s)
            else:  # a voucher central will not take: the engineer must see it
                self.journal.append(
                    "voucher_refused",
                    s.session_id,
                    {"id": voucher_id, "code": exc.code, "message": str(exc)[:200]},
                    key=f"voucher_refused:{voucher_id}",
                )
                log_event(
                    log, "central refused a voucher", logging.ERROR,
                    session=s.session_id, id=voucher_id, code=exc.code,
                )
            return False
        finally:
            self._in_flight.discard(voucher_id)
        ev = self.journal.append(
            "voucher_posted",
            s.session_id,
            {"voucher_id": voucher_id},
            key=f"voucher_posted:{voucher_id}",
        )
        if ev is not None:
            s.apply(ev)
        else:
            self._refresh(s, ("voucher_posted",))
        return True

    # ------------------------------------------------------------------ the pending view

    def pending(self) -> list[Session]:
        """Sessions with a payment or voucher central has not confirmed (nor refused for good),
        in settle order: the journal's pending projection names them (terminal/projections.py),
        and only those sessions are folded."""
        sessions: dict[str, None] = {}
        for row in self.journal.pending_projection():
            sessions[row["session_id"]] = None
        return [fold(sid, list(self.journal.events(session_id=sid))) for sid in sessions]

    def depth(self) -> int:
        """Sessions with something central has not confirmed (no fold: the projection)."""
        return len({row["session_id"] for row in self.journal.pending_projection()})

    # ------------------------------------------------------------------ the retry worker

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox")

    def kick(self) -> None:
        """Try now (e.g. the network came back, or an engineer pressed send)."""
        self.link.reset()
        self._queue = None
        self._wake.set()

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                await self.flush()
            except Exception:
                log.exception("outbox pass failed")
            if self.link.down:
                timeout = max(0.05, self.link.wait_s())
            else:
                timeout = self.ceiling if not self._queue else 0.05
            self._wake.clear()
            try:
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def flush(self) -> int:
        """One pass: nothing while a probe is not due; else a probe, then (once central answers)
        the queue in order with in_flight_max requests out. Returns sessions completed."""
        if not self.link.may_probe():
            return 0
        if not self._queue:
            self._queue = deque(self.pending())
        queue = self._queue
        done = 0

        async def take_one() -> bool:
            """The next entry; False when central went down on it (it stays first in line)."""
            nonlocal done
            s = queue.popleft()
            if s.session_id in self.busy_sessions or not self._entry_due(s.session_id):
                return True
            if await self._work(s):
                done += 1
                return True
            if self.link.down:
                if all(q.session_id != s.session_id for q in queue):
                    queue.appendleft(s)
                return False
            return True  # refused or broken: off the queue; pending() shows it if still due

        async def worker() -> None:
            while queue and self.link.may_probe() and await take_one():
                pass

        if not self.link.confirmed:  # a probe (or the first request): one entry, alone
            if not queue or not await take_one():
                return done
        await asyncio.gather(*(worker() for _ in range(min(self.in_flight_max, len(queue)))))
        return done

    def _entry_due(self, session_id: str) -> bool:
        wait = self._entry_wait.get(session_id)
        return wait is None or self.clock() >= wait[1]

    def _entry_failed(self, session_id: str) -> None:
        delay = self._entry_wait.get(session_id, (self.initial / 2, 0.0))[0] * 2
        delay = min(self.ceiling, delay)
        self._entry_wait[session_id] = (delay, self.clock() + delay)
        log_event(log, "central turned an entry down, will retry it alone", logging.WARNING,
                  session=session_id, retry_in_s=delay, error=self.last_error)

    async def _work(self, s: Session) -> bool:
        """Everything central still needs of one session; True when nothing is left."""
        try:
            if self.redemptions is not None and not await self.redemptions.release_open(s):
                return False
            if needs_payment(s) and refusal_is_final(s):
                self._issue_refund(s)  # an old journal's final refusal, never refunded
            if needs_payment(s) and not await self.post_payment(s, live=False):
                return not needs_work(s)
            if not await self.post_voucher(s, live=False):
                return False
        except Exception:
            log.exception("outbox entry failed", extra={"fields": {"session": s.session_id}})
            return False
        if needs_work(s):
            return False
        self._entry_wait.pop(s.session_id, None)
        if self.sms is not None:
            await self.sms.after_posted(s)
        return True

