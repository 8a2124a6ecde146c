"""Vouchers taken back at the kiosk: at the bill and paying steps a voucher (its QR scanned, or its
id typed: the `voucher` intent) is checked with central, redeemed there for this bill's consumer,
and counts toward the amount due like a note.

Exactly once, whatever dies when: `voucher_redeeming` (the voucher, its value, the redemption's
txn id) is journaled BEFORE central is asked, `voucher_redeemed` after central answered and
before the citizen sees it. Central's redeem is idempotent on voucher id + txn id, so a restart
finishes an open intent by asking again (`resolve`); when central cannot be reached the
redemption is reversed instead (POST .../release, same ids), at once or later by the outbox
(`release_open`), and journaled `voucher_redeem_failed` ("released"). The redemption's txn id is
the session's payment txn id too (Completion.settle), so central can tie them together.

A voucher worth more than what is still due is redeemed whole: the fold counts it all, and the
settlement turns the rest into a new voucher (or an advance credit, terminal/advance_credit.py).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from typing import Any, Protocol

from terminal import events as E
from terminal.advance_credit import advance_cap
from terminal.advance_credit import enabled as advance_enabled
from terminal.cash_intake import SessionEnds
from terminal.central import CentralError
from terminal.live_session import Handler, IntentError, JournalLike, LiveSession, new_id
from terminal.logs import log_event
from terminal.session import Session, State

log = logging.getLogger("kiosk")

# A voucher id as this kiosk prints it (V-<terminal>-<stamp>-<hex>, refund vouchers end in -R);
# typed by the citizen, so spaces are dropped and letters upper-cased first.
VOUCHER_ID = re.compile(r"V-[A-Z0-9][A-Z0-9._:-]{4,96}")
# Central's final answers about a voucher, and what the citizen is told.
REFUSALS = {
    "voucher_not_found": "voucher_not_found",
    "already_redeemed": "voucher_already_used",
    "voucher_expired": "voucher_expired",
    "voucher_other_consumer": "voucher_other_consumer",
}


class VoucherCentral(Protocol):
    """What redemption needs of central (terminal/central/reference.py)."""

    async def voucher(self, voucher_id: str) -> dict[str, Any]: ...

    async def find_voucher(self, provider: str, consumer_number: str, code: str) -> str: ...

    async def redeem_voucher(
        self, voucher_id: str, txn_id: str, provider: str, consumer_number: str) -> int: ...

    async def release_voucher(self, voucher_id: str, txn_id: str) -> bool: ...


class Opener(Protocol):
    """The bill service: journals the session open before any money (bill_service.py)."""

    def open_in_journal(self, s: Session) -> None: ...


class AcceptorUpdate(Protocol):
    async def update_acceptor(self) -> None: ...


SHORT_CODE = re.compile(r"[0-9A-F]{6}")  # a voucher id's last part, printed big on the slip


def normalise(code: object) -> str | None:
    """The voucher id, or its short code, in what the citizen typed; None if neither."""
    if not isinstance(code, str) or len(code) > 120:
        return None
    text = "".join(code.split()).upper()
    if SHORT_CODE.fullmatch(text.removeprefix("V-")):  # the keypad starts with "V-"
        return text.removeprefix("V-")
    return text if VOUCHER_ID.fullmatch(text) else None


class VoucherRedeem:
    def __init__(
        self, central: VoucherCentral, journal: JournalLike, live: LiveSession, opener: Opener,
        cash: AcceptorUpdate, ends: SessionEnds, *, terminal_id: str,
    ) -> None:
        self.central = central
        self.journal = journal
        self.live = live
        self.opener = opener
        self.cash = cash
        self.ends = ends
        self.terminal_id = terminal_id
        self._in_flight: dict[str, asyncio.Future[None]] = {}  # session id -> done
        self.advance_on = False  # [payment] advance_credit: the rest of a voucher is credited

    def intents(self) -> Mapping[str, Handler]:
        return {"voucher": self.typed}

    async def typed(self, args: dict) -> None:
        """{"code": "<voucher id>" or its 6-character short code} typed on the keypad. A short
        code is looked up among this consumer's vouchers at central (a voucher is bound to the
        consumer it came from), then redeemed like the whole id."""
        voucher_id = normalise(args.get("code"))
        if voucher_id is None:
            self.live.say("voucher_code_invalid")
            raise IntentError("voucher_code_invalid")
        if SHORT_CODE.fullmatch(voucher_id):
            voucher_id = await self._by_short_code(voucher_id)
        await self.redeem(voucher_id)

    async def _by_short_code(self, code: str) -> str:
        s = self.live.need(State.BILL, State.PAYING)
        if s.bill is None or not s.provider or not s.consumer_number:
            raise IntentError("not_now")
        try:
            return await self.central.find_voucher(s.provider, s.consumer_number, code)
        except CentralError as exc:
            key = REFUSALS.get(exc.code or "", "central_unavailable")
            self.live.say(key)
            raise IntentError(key) from None

    async def scanned(self, voucher_id: str, verified: bool | None) -> None:
        """A voucher QR at the bill or paying step (terminal/qr_lookup.py). A code that fails
        the offline check is never sent to central."""
        if verified is False:
            self.live.say("qr_voucher_invalid")
            raise IntentError("qr_voucher_invalid")
        await self.redeem(voucher_id)

    async def redeem(self, voucher_id: str) -> None:
        live = self.live
        s = live.need(State.BILL, State.PAYING)
        if s.bill is None or s.remaining_paise <= 0 or s.settled:
            raise IntentError("not_now")
        if s.session_id in self._in_flight:
            raise IntentError("please_wait", "a voucher is being checked")
        if voucher_id in s.redeemed:
            live.say("voucher_already_used")
            raise IntentError("voucher_already_used")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._in_flight[s.session_id] = done
        live.busy = True
        live.say("please_wait")
        live.changed()
        try:
            key = await self._check_and_redeem(s, voucher_id)
        finally:
            live.busy = False
            del self._in_flight[s.session_id]
            done.set_result(None)
        live.say(key)
        live.touch()
        if key not in ("voucher_used", "voucher_used_rest"):
            raise IntentError(key)
        if s.paid_paise >= s.due_paise:
            await self.ends.settle(s)
        else:
            await self.cash.update_acceptor()

    async def _check_and_redeem(self, s: Session, voucher_id: str) -> str:
        try:
            info = await self.central.voucher(voucher_id)
        except CentralError as exc:
            return REFUSALS.get(exc.code or "", "central_unavailable")
        if info["status"] != "active":
            return "voucher_expired" if info["status"] == "expired" else "voucher_already_used"
        if self.live.session is not s or s.state not in (State.BILL, State.PAYING):
            return "not_now"  # cancelled or timed out while central answered
        if s.state == State.BILL:
            if not s.opened:
                self.opener.open_in_journal(s)
            s.move(State.PAYING)
        txn_id = s.redeem_txn_id or new_id("T", self.terminal_id)
        intent = E.VoucherRedeeming(voucher_id=voucher_id, paise=int(info["amount_paise"]),
                                    txn_id=txn_id)
        self._record(s, intent, f"redeeming:{s.session_id}:{voucher_id}")
        return await self._finish(s, voucher_id, txn_id)

    async def _finish(self, s: Session, voucher_id: str, txn_id: str) -> str:
        """Ask central to redeem (again: idempotent); journal what it answered."""
        try:
            paise = await self.central.redeem_voucher(
                voucher_id, txn_id, s.provider, s.consumer_number)
        except CentralError as exc:
            key = REFUSALS.get(exc.code or "")
            if key is not None:
                self._record(s, E.VoucherRedeemFailed(
                    voucher_id=voucher_id, txn_id=txn_id, code=exc.code or ""))
                log_event(log, "voucher refused", session=s.session_id, code=exc.code)
                return key
            log_event(log, "voucher redemption unanswered: releasing it", logging.WARNING,
                      session=s.session_id, error=str(exc))
            await self._release(s, voucher_id, txn_id)
            return "central_unavailable"
        self._record(s, E.VoucherRedeemed(voucher_id=voucher_id, paise=paise, txn_id=txn_id),
                     f"redeemed:{voucher_id}")
        log_event(log, "voucher redeemed", session=s.session_id, paise=paise)
        over = s.paid_paise - s.due_paise > advance_cap(s.provider, self.advance_on)
        return "voucher_used_rest" if over else "voucher_used"

    async def _release(self, s: Session, voucher_id: str, txn_id: str) -> bool:
        """Reverse a redemption central never confirmed; False when central is unreachable
        (the intent stays open: the outbox releases it later)."""
        try:
            released = await self.central.release_voucher(voucher_id, txn_id)
        except CentralError as exc:
            if exc.code == "voucher_not_found":
                released = False
            else:
                return False
        code = "released" if released else "already_redeemed"
        self._record(s, E.VoucherRedeemFailed(voucher_id=voucher_id, txn_id=txn_id, code=code))
        return True

    def _record(self, s: Session, event: E.JournalEvent, key: str | None = None) -> None:
        ev = self.journal.record(s.session_id, event, key=key)
        if ev is not None:
            s.apply(ev)

    # ------------------------------------------------------------------ completion and restarts

    async def wait(self, s: Session) -> None:
        """Completion settles only once a redemption in flight for the session has an answer."""
        done = self._in_flight.get(s.session_id)
        if done is not None:
            await asyncio.shield(done)

    async def resolve(self, s: Session) -> None:
        """A session found open at start-up: finish each redemption it asked for (central
        answers the same redemption again), or reverse it."""
        for voucher_id in list(s.redeeming):
            assert s.redeem_txn_id is not None
            await self._finish(s, voucher_id, s.redeem_txn_id)

    async def release_open(self, s: Session) -> bool:
        """The outbox: release what a settled or closed session left unanswered. True when
        nothing is left (a live session is the kiosk's, left alone)."""
        if not (s.settled or s.closed) or s.session_id in self._in_flight:
            return not s.redeeming
        for voucher_id in list(s.redeeming):
            assert s.redeem_txn_id is not None
            if not await self._release(s, voucher_id, s.redeem_txn_id):
                return False
        return True


class KioskParts(Protocol):
    """What `voucher_flow` wires together (terminal/kiosk.Kiosk)."""

    central: Any
    journal: Any
    live: LiveSession
    bills: Any
    cash: Any
    completion: Any
    outbox: Any
    qr: Any
    terminal_id: str
    config: dict[str, Any]


def voucher_flow(kiosk: KioskParts) -> VoucherRedeem:
    """Build the flow and hook it where vouchers meet the rest: completion waits for it and
    resolves it at start-up, the outbox releases what is left open, a scanned voucher QR at the
    bill or paying step comes here; cash intake learns whether advance credit is on."""
    flow = VoucherRedeem(kiosk.central, kiosk.journal, kiosk.live, kiosk.bills, kiosk.cash,
                         kiosk, terminal_id=kiosk.terminal_id)
    kiosk.completion.redemptions = flow
    kiosk.outbox.redemptions = flow
    kiosk.qr.on_voucher = flow.scanned
    kiosk.cash.advance_on = flow.advance_on = advance_enabled(kiosk.config)
    return flow
