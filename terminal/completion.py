"""Completion: settle -> post -> print -> close, for live sessions and for those found open at
boot (the same code), the refund voucher of a bill central refused for good, and the reprint of
failed documents when the printer comes back.

Each step is a journal event folded into the session (`Session.apply`), so a session rebuilt
from the journal after a power cut is exactly where the running kiosk left it: `settled` once
(its key), `posted` / `voucher_posted` by the outbox, `printed` per document (never twice),
`session_closed` last.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from drivers.base import DeviceState, DeviceStatus, PrintError
from terminal import events as E
from terminal.advance_credit import advance_cap
from terminal.advance_credit import enabled as advance_enabled
from terminal.live_session import JournalLike, LiveSession, SetDevice, new_id
from terminal.logs import log_event
from terminal.part_payment import split_part
from terminal.session import Session, State, fold, split

__all__ = ["Completion", "OutboxLike", "PrinterLike", "Redemptions", "money_flows", "printer_ok"]

log = logging.getLogger("kiosk")


class OutboxLike(Protocol):
    """What completion needs of terminal/outbox.Outbox."""

    busy_sessions: set[str]

    async def post_payment(self, s: Session) -> Any: ...

    async def post_voucher(self, s: Session) -> Any: ...


def money_flows(kiosk: Any) -> Any:
    """Vouchers, SMS receipts and reprints, wired into the kiosk (terminal/money_flows.py)."""
    from terminal.money_flows import build

    return build(kiosk)


class SmsLike(Protocol):
    async def send_for(self, s: Session) -> bool: ...


class Redemptions(Protocol):
    """Vouchers taken in toward a bill (terminal/voucher_redeem.py)."""

    async def wait(self, s: Session) -> None: ...

    async def resolve(self, s: Session) -> None: ...


class PrinterLike(Protocol):
    """What completion needs of a drivers.base.ReceiptPrinter."""

    paper_width_dots: int

    def status(self) -> DeviceStatus: ...

    async def print_document(self, document: Any) -> None: ...


def printer_ok(status: DeviceStatus) -> bool:
    return status.state in (DeviceState.ONLINE, DeviceState.BUSY) and not (
        {"paper_out", "cover_open"} & set(status.detail)
    )


class Completion:
    def __init__(
        self,
        journal: JournalLike,
        outbox: OutboxLike,
        printer: PrinterLike | None,
        live: LiveSession,
        config: dict,
        *,
        set_device: SetDevice,
        stop_intake: Callable[[], Awaitable[None]],
        on_cash_settled: Callable[[Session], None],
    ) -> None:
        self.journal = journal
        self.outbox = outbox
        self.printer = printer
        self.live = live
        self.config = config
        self.terminal_id: str = config["terminal"]["id"]
        self.set_device = set_device
        self.stop_intake = stop_intake  # the acceptor takes no more notes once settled
        self.on_cash_settled = on_cash_settled  # the audit photo of a cash payment
        self.finishing: asyncio.Task | None = None
        self.redemptions: Redemptions | None = None  # set with the voucher flow
        self.sms: SmsLike | None = None  # SMS receipts (terminal/sms_receipt.py)
        self.advance_on = advance_enabled(config)

    # ------------------------------------------------------------------ settle

    async def settle(self, s: Session, recovery: bool = False, txn_id: str | None = None,
                     partial: bool = False) -> None:
        """Decide where every paise taken goes (payment, advance credit, voucher), durably, once.
        A voucher redemption still waiting for central's answer is awaited first. `partial`: the
        citizen chose to pay only what is in (terminal/part_payment.py checked it is allowed)."""
        if self.redemptions is not None and not recovery:
            await self.redemptions.wait(s)
        tendered = s.paid_paise + s.card_paise
        if partial:
            amount, advance, voucher = split_part(tendered, s.due_paise)
        else:
            cap = advance_cap(s.provider, self.advance_on)
            amount, advance, voucher = split(tendered, s.due_paise, cap)
        txn_id = txn_id or s.redeem_txn_id  # the vouchers' redemption id is the payment's
        settled = E.Settled(
            txn_id=(txn_id or new_id("T", self.terminal_id)) if amount else None,
            amount_paise=amount,
            voucher_id=new_id("V", self.terminal_id) if voucher else None,
            voucher_paise=voucher,
            advance_paise=advance,
            tendered_paise=tendered,
            notes=tuple(s.notes),
            recovery=recovery,
        )
        ev = self.journal.record(s.session_id, settled, key=f"settled:{s.session_id}")
        if ev is None:
            return
        s.apply(ev)
        live = self.live
        if s is live.session and s.state in (State.PAYING, State.CARD):
            s.move(State.POSTING)
            await self.stop_intake()
        live.deadline = None
        live.ask_more_time = False
        live.say("please_wait")
        log_event(
            log, "settled", session=s.session_id, amount=amount, voucher=voucher, recovery=recovery
        )
        if not recovery and s.paid_paise:
            self.on_cash_settled(s)
        self.finishing = asyncio.create_task(self.complete(s), name=f"complete-{s.session_id}")

    # ------------------------------------------------------------------ post, print, close

    async def complete(self, s: Session) -> None:
        """Post, print, close. Used for live sessions and for those recovered at start-up."""
        live = self.live
        self.outbox.busy_sessions.add(s.session_id)
        try:
            shown = s is live.session
            if s.amount_paise and s.receipt_no is None:
                live.busy = shown
                live.changed()
                await self.outbox.post_payment(s)
                live.busy = False
            refunded = s.refund_voucher_id is not None  # central refused the bill for good
            if (s.voucher_id and not s.voucher_posted) or (refunded and not s.refund_posted):
                await self.outbox.post_voucher(s)
            if shown and s.state == State.POSTING:
                s.move(State.RECEIPT)
                live.say("printing")
                live.changed()
            if refunded and "refund_voucher" not in s.printed:
                await self.print_doc(s, "refund_voucher")  # never a receipt for a refused bill
            elif s.amount_paise and "receipt" not in s.printed:
                await self.print_doc(s, "receipt")
            if s.voucher_id and "voucher" not in s.printed:
                await self.print_doc(s, "voucher")
            if self.sms is not None and s.mobile is not None:
                await self.sms.send_for(s)  # the number was given before the paper came out
            ev = self.journal.record(
                s.session_id, E.SessionClosed(outcome="completed"), key=f"closed:{s.session_id}"
            )
            if ev is not None:
                s.apply(ev)
            if shown and s.state == State.RECEIPT:
                s.move(State.DONE)
                live.say(self._done_message(s, refunded))
                live.touch()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("completing session failed", extra={"fields": {"session": s.session_id}})
        finally:
            self.outbox.busy_sessions.discard(s.session_id)
            live.busy = False
            live.changed()

    @staticmethod
    def _done_message(s: Session, refunded: bool) -> str:
        if s.print_failed - s.printed:
            return "print_failed_money_safe"
        if refunded:
            return "payment_refused_refund_voucher"
        if s.amount_paise and s.receipt_no is None:
            return "paid_provisional"
        return "payment_successful" if s.amount_paise else "voucher_issued"

    async def print_doc(self, s: Session, doc: str) -> None:
        from terminal.printing import build_document  # receipts pull in Pillow: load lazily

        if self.printer is None:
            ev = self.journal.record(s.session_id, E.PrintFailed(doc=doc, error="no printer"))
            if ev is not None:
                s.apply(ev)
            return
        try:
            document = build_document(self.config, s, doc, self.printer.paper_width_dots)
            await self.printer.print_document(document)
        except (PrintError, Exception) as exc:  # any failure: the citizen still has proof later
            ev = self.journal.record(s.session_id, E.PrintFailed(doc=doc, error=str(exc)))
            if ev:
                s.apply(ev)
            self.set_device("printer", self.printer.status())
            log_event(
                log, "print failed", logging.ERROR, session=s.session_id, doc=doc, error=str(exc)
            )
            return
        key = f"printed:{doc}:{s.session_id}"
        ev = self.journal.record(s.session_id, E.Printed(doc=doc), key=key)
        if ev:
            s.apply(ev)

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
                await self.print_doc(s, doc)
                done += doc in s.printed
        if done:
            log_event(log, "reprinted after printer recovery", documents=done)
            self.live.changed()
        return done

    # ------------------------------------------------------------------ recovery at boot

    async def recover(self) -> None:
        """Complete every session the journal shows open (power cut, crash, kill)."""
        self.live.recovering = True
        try:
            await self._recover()
        finally:
            self.live.recovering = False
            self.live.changed()

    def _open_sessions(self) -> list[str]:
        open_ids: list[str] = []
        seen: set[str] = set()
        for ev in self.journal.events(kinds=("session_opened", "session_closed")):
            if ev.kind == "session_opened" and ev.session_id not in seen:
                seen.add(ev.session_id)
                open_ids.append(ev.session_id)
            elif ev.kind == "session_closed" and ev.session_id in open_ids:
                open_ids.remove(ev.session_id)
        return open_ids

    async def _recover(self) -> None:
        live = self.live
        for sid in self._open_sessions():
            s = fold(sid, list(self.journal.events(session_id=sid)))
            log_event(log, "recovering session", session=sid, paid=s.paid_paise, settled=s.settled)
            if s.redeeming and not s.settled and self.redemptions is not None:
                await self.redemptions.resolve(s)  # finish or reverse it before settling
            if not s.settled and s.paid_paise == 0 and s.card_paise == 0:
                self.journal.record(
                    sid, E.SessionClosed(outcome="interrupted"), key=f"closed:{sid}"
                )
                continue
            live.session = s
            s.move(State.RECOVERY)  # a folded session starts IDLE; RECOVERY is live state
            live.say("recovering")
            live.changed()
            if not s.settled:
                await self.settle(s, recovery=True)
                if self.finishing:
                    await self.finishing
            else:
                await self.complete(s)  # settled before the power went (recovered: see move)
            live.session = None
            live.say(None)
        live.changed()
