"""Store-and-forward to central. The outbox is a view of the journal, not a second store:
a payment is pending while its `settled` event has no `posted` event, so nothing can be
pending in memory only. Every post carries the terminal's transaction id as idempotency key,
so a retry after a lost answer never makes a second payment."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from terminal.central import CentralError
from terminal.journal import Journal
from terminal.logs import log_event
from terminal.session import Session, fold

log = logging.getLogger("outbox")


@dataclass
class _Backoff:
    delay: float
    next_try: float


class Outbox:
    def __init__(self, journal: Journal, central, config: dict, clock=time.monotonic) -> None:
        self.journal = journal
        self.central = central
        self.initial = config["central"]["retry_initial_s"]
        self.ceiling = config["central"]["retry_max_s"]
        self.clock = clock
        self._backoff: dict[str, _Backoff] = {}
        self._in_flight: set[str] = set()
        # Sessions the kiosk is completing right now; the worker leaves them to it.
        self.busy_sessions: set[str] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.last_error: str | None = None

    # ------------------------------------------------------------------ one attempt

    async def post_payment(self, s: Session) -> bool:
        """Try once to post the session's payment; True when central confirmed it."""
        assert s.txn_id and s.bill is not None
        if s.receipt_no is not None or s.txn_id in self._in_flight:
            return s.receipt_no is not None
        self._in_flight.add(s.txn_id)
        try:
            posted = await self.central.post_payment(
                {
                    "txn_id": s.txn_id,
                    "bill_id": s.bill.bill_id,
                    "provider": s.provider,
                    "consumer_number": s.consumer_number,
                    "amount_paise": s.amount_paise,
                    "tendered_paise": s.paid_paise,
                    "notes": s.notes,
                    "paid_at": s.paid_at,
                    "voucher_id": s.voucher_id,
                    "voucher_paise": s.voucher_paise,
                }
            )
        except CentralError as exc:
            self._failed(s.txn_id, s.session_id, exc, "post_refused")
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
            for e in self.journal.events(session_id=s.session_id, kinds=("posted",)):
                s.apply(e)
        self._backoff.pop(s.txn_id, None)
        self.last_error = None
        log_event(
            log, "payment posted", session=s.session_id, txn=s.txn_id, receipt=posted.receipt_no
        )
        return True

    async def post_voucher(self, s: Session) -> bool:
        assert s.voucher_id
        if s.voucher_posted or s.voucher_id in self._in_flight:
            return s.voucher_posted
        self._in_flight.add(s.voucher_id)
        try:
            await self.central.post_voucher(
                s.voucher_id, s.txn_id, s.voucher_paise, s.paid_at or ""
            )
        except CentralError as exc:
            self._failed(s.voucher_id, s.session_id, exc, "voucher_refused")
            return False
        finally:
            self._in_flight.discard(s.voucher_id)
        ev = self.journal.append(
            "voucher_posted",
            s.session_id,
            {"voucher_id": s.voucher_id},
            key=f"voucher_posted:{s.voucher_id}",
        )
        if ev is not None:
            s.apply(ev)
        s.voucher_posted = True
        self._backoff.pop(s.voucher_id, None)
        return True

    def _failed(self, key: str, session_id: str, exc: CentralError, refused_kind: str) -> None:
        self.last_error = str(exc)
        if not exc.retryable:
            # Central understood and said no: retrying will not change that. Keep it visible
            # for reconciliation (heartbeat, maintenance), never silently dropped.
            self.journal.append(
                refused_kind,
                session_id,
                {"id": key, "code": exc.code, "message": str(exc)},
                key=f"{refused_kind}:{key}",
            )
            log_event(
                log,
                "central refused",
                logging.ERROR,
                session=session_id,
                id=key,
                code=exc.code,
                error=str(exc),
            )
            return
        b = self._backoff.get(key)
        delay = self.initial if b is None else min(self.ceiling, b.delay * 2)
        self._backoff[key] = _Backoff(delay, self.clock() + delay)
        log_event(
            log,
            "post failed, will retry",
            logging.WARNING,
            session=session_id,
            id=key,
            retry_in_s=delay,
            error=str(exc),
        )
        self._wake.set()

    # ------------------------------------------------------------------ the pending view

    def pending(self) -> list[Session]:
        """Sessions with a payment or voucher central has not confirmed (and not refused)."""
        settled: dict[str, None] = {}
        for ev in self.journal.events(kinds=("settled",)):
            settled[ev.session_id] = None
        done_keys = {
            ev.key
            for ev in self.journal.events(
                kinds=("posted", "voucher_posted", "post_refused", "voucher_refused")
            )
        }
        out = []
        for sid in settled:
            s = fold(sid, list(self.journal.events(session_id=sid)))
            need_pay = (
                s.amount_paise
                and f"posted:{s.txn_id}" not in done_keys
                and f"post_refused:{s.txn_id}" not in done_keys
            )
            need_voucher = (
                s.voucher_id
                and f"voucher_posted:{s.voucher_id}" not in done_keys
                and f"voucher_refused:{s.voucher_id}" not in done_keys
            )
            if need_pay or need_voucher:
                out.append(s)
        return out

    def depth(self) -> int:
        return len(self.pending())

    # ------------------------------------------------------------------ the retry worker

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox")

    def kick(self) -> None:
        """Try everything now (e.g. the network came back, or an engineer pressed send)."""
        for b in self._backoff.values():
            b.next_try = 0
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
            waits = [b.next_try - self.clock() for b in self._backoff.values()]
            timeout = max(0.05, min(waits)) if waits else self.ceiling
            self._wake.clear()
            try:
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def flush(self) -> int:
        """One pass over pending entries whose backoff has expired. Returns how many were sent."""
        sent = 0
        now = self.clock()
        for s in self.pending():
            if s.session_id in self.busy_sessions:
                continue
            if s.amount_paise and s.receipt_no is None:
                b = self._backoff.get(s.txn_id or "")
                if b is None or b.next_try <= now:
                    sent += await self.post_payment(s)
            if s.voucher_id and not s.voucher_posted:
                b = self._backoff.get(s.voucher_id)
                if b is None or b.next_try <= now:
                    sent += await self.post_voucher(s)
        return sent
