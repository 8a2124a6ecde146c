"""QR lookup: what a scanned QR means where the citizen is, and central's check of a receipt or
voucher shown on the home screen ("verify a receipt").

On the number screen a bill QR fills in the consumer number; on the home screen (or an ended
session's screen) it starts that bill, and a receipt or voucher QR is checked: a voucher's
signature and amount here (terminal/qr.py), a receipt or a voucher's state at central. A scan
while paying or printing means nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from terminal import catalogue
from terminal.central import CentralError
from terminal.live_session import ENDED, Handler, IntentError, JournalLike, LiveSession
from terminal.logs import log_event
from terminal.qr import QrResult
from terminal.session import State

log = logging.getLogger("kiosk")


class ReceiptChecker(Protocol):
    """What the lookup needs of central (terminal/central/reference.py)."""

    async def verify_receipt(self, txn_id: str, code: str) -> dict[str, Any]: ...

    async def voucher(self, voucher_id: str) -> dict[str, Any]: ...


class BillStarter(Protocol):
    """The bill service's intents a bill QR drives (terminal/bill_service.py)."""

    async def start(self, args: dict) -> None: ...

    async def consumer(self, args: dict) -> None: ...


class QrLookup:
    def __init__(
        self,
        central: ReceiptChecker,
        journal: JournalLike,
        live: LiveSession,
        bills: BillStarter,
        *,
        voucher_secret: str | None,
    ) -> None:
        self.central = central
        self.journal = journal
        self.live = live
        self.bills = bills
        self.voucher_secret = voucher_secret
        # Other services' QR codes (terminal/service_qr.py kinds -> their flow's handler).
        self.routes: dict[str, Callable[..., Awaitable[None]]] = {}
        # A voucher QR at the bill or paying step: (voucher id, offline check) to the voucher
        # flow (terminal/voucher_redeem.py), which takes it toward the bill.
        self.on_voucher: Callable[[str, bool | None], Awaitable[None]] | None = None

    def add_route(self, kind: str, handler: Callable[..., Awaitable[None]]) -> None:
        """A flow that answers a kind of QR of ours: "application" (number) or "certificate"
        (number, code), scanned on the home screen."""
        self.routes[kind] = handler

    def intents(self) -> Mapping[str, Handler]:
        return {"verify": self.verify, "scan": self.scan}

    async def verify(self, args: dict) -> None:
        """Home screen: "verify a receipt" — wait for a QR from the scanner or the camera."""
        live = self.live
        if live.in_progress():
            raise IntentError("session_in_progress")
        live.end()
        live.lookup = {"status": "waiting", "message_key": "scan_qr", "result": None}
        live.touch()  # the check times out back to the home screen

    async def scan(self, args: dict) -> None:
        """A QR decoded by the screen's camera (the serial scanner calls on_scan directly)."""
        payload = args.get("payload")
        if not isinstance(payload, str):
            raise IntentError("bad_request", "payload must be a string")
        await self.on_scan(payload)

    async def on_scan(self, payload: str) -> None:
        """What a scanned QR means depends on where the citizen is."""
        from terminal.qr import parse_citizen_qr
        from terminal.service_qr import parse_service_qr

        service = parse_service_qr(payload)
        if service is not None and service[0] in self.routes:
            if self.live.in_progress():
                return  # in a payment: a scan now means nothing
            kind, fields = service
            log_event(log, "qr scanned", kind=kind)
            self.live.lookup = None
            await self.routes[kind](*fields)
            return
        result = parse_citizen_qr(
            payload, voucher_secret=self.voucher_secret, voucher_amount=self.voucher_amount
        )
        log_event(log, "qr scanned", kind=result.kind, message=result.message_key)
        live = self.live
        live.touch()
        s = live.session
        bill_found = result.kind == "bill" and result.message_key == "qr_bill_found"
        if result.kind == "voucher" and self.on_voucher is not None and s is not None \
                and s.state in (State.BILL, State.PAYING):
            await self.on_voucher(result.fields["voucher_id"], result.verified)
            return
        if s is not None and s.state in (State.IDENTIFY, State.BILL):
            if bill_found and catalogue.bill_provider(s.provider) is None:
                live.say("not_now")  # a grievance's form: a bill QR means nothing here
            elif bill_found:
                provider = result.fields["provider"]
                s.provider = provider
                s.service = catalogue.PROVIDERS[provider]["service"]
                await self.bills.consumer({"number": result.fields["consumer_number"]})
            else:
                live.say(result.message_key)
            return
        if s is not None and s.state not in ENDED:
            return  # paying or printing: a scan now means nothing
        if bill_found:
            live.lookup = None
            await self.bills.start({"provider": result.fields["provider"]})
            await self.bills.consumer({"number": result.fields["consumer_number"]})
            return
        live.end()
        live.lookup = {"status": "checking", "message_key": result.message_key,
                       "result": {"kind": result.kind}}
        live.changed()
        live.lookup = {"status": "done", **await self.check_online(result)}
        live.touch()

    def voucher_amount(self, voucher_id: str) -> int | None:
        for ev in self.journal.events(kinds=("settled", "refund_voucher")):
            if ev.data.get("voucher_id") != voucher_id:
                continue
            return ev.data["voucher_paise"] if ev.kind == "settled" else ev.data["amount_paise"]
        return None

    async def check_online(self, result: QrResult) -> dict:
        """Ask central about a receipt or voucher; other codes are answered from the parse."""
        fields = dict(result.fields)
        shown: dict[str, Any] = {"kind": result.kind}
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
