"""SMS receipts: proof the citizen takes home when paper fails. The citizen may give a mobile
number (the `mobile` intent, once per session, optional); central sends the receipt's and the
vouchers' text to it (POST /v1/sms, idempotent on the message id). The screen offers it by default
when the printer failed or the receipt is provisional (`sms_view`). A provisional receipt's SMS is
followed by the final one once central confirms the payment (`after_posted`, from the outbox).

The number is journaled once (`mobile_given`: encrypted at rest, with a masked copy,
terminal/journal_crypto.py) and shown only masked; each message is journaled `sms_sent` with
key `sms:<message id>`, so no receipt is sent twice, even across a restart.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any, Protocol

from terminal import catalogue
from terminal import events as E
from terminal.central import CentralError
from terminal.live_session import Handler, IntentError, JournalLike, LiveSession
from terminal.logs import log_event, mask_digits
from terminal.money import format_rupees
from terminal.session import Session

log = logging.getLogger("kiosk")

MOBILE = re.compile(r"[6-9][0-9]{9}")  # an Indian mobile number, without +91 or 0


class SmsCentral(Protocol):
    async def send_sms(self, message_id: str, mobile: str, text: str) -> None: ...


def provisional(s: Session) -> bool:
    return s.settled and s.amount_paise > 0 and s.receipt_no is None \
        and s.refund_voucher_id is None


def sms_view(s: Session) -> dict[str, Any]:
    """What the screen shows about SMS: offered by default when paper failed or the receipt is
    provisional; the number only masked."""
    paper_failed = bool(s.print_failed - s.printed)
    return {
        "offer": s.settled and s.mobile is None and (paper_failed or provisional(s)),
        "mobile_masked": mask_digits(s.mobile) if s.mobile else None,
        "sent": len(s.sms_sent),
    }


def messages(s: Session, helpline: str) -> list[tuple[str, str, bool]]:
    """(message id, text, provisional) for each document the session has."""
    provider = catalogue.PROVIDERS.get(s.provider, {"en": s.provider})["en"]
    who = f"{provider} consumer {mask_digits(s.consumer_number)}" if s.consumer_number else ""
    out = []
    if s.amount_paise and s.txn_id and s.refund_voucher_id is None:
        amount = format_rupees(s.amount_paise)
        if s.receipt_no is None:
            out.append((f"receipt:{s.txn_id}:provisional",
                        f"e-Mitra: {amount} for {who} taken, txn {s.txn_id}. Receipt PENDING: "
                        "the final receipt follows by SMS once the department confirms "
                        f"(usually within 24 hours). Help: {helpline}", True))
        else:
            advance = (f" {format_rupees(s.advance_paise)} credited to the account, deducted "
                       "from the next bill." if s.advance_paise else "")
            out.append((f"receipt:{s.txn_id}",
                        f"e-Mitra: {amount} paid for {who}. Receipt {s.receipt_no}, txn "
                        f"{s.txn_id}.{advance} Help: {helpline}", False))
    for voucher_id, paise in ((s.voucher_id, s.voucher_paise),
                              (s.refund_voucher_id, s.refund_paise)):
        if voucher_id:
            out.append((f"voucher:{voucher_id}",
                        f"e-Mitra voucher {voucher_id}: {format_rupees(paise)}"
                        f"{' for ' + who if who else ''}, valid 180 days at any e-Mitra kiosk or "
                        f"counter{' for this consumer' if who else ''}. Keep this SMS; if the slip "
                        f"is lost call {helpline}.", False))
    return out


class SmsReceipts:
    def __init__(self, central: SmsCentral, journal: JournalLike, live: LiveSession,
                 config: dict[str, Any]) -> None:
        self.central = central
        self.journal = journal
        self.live = live
        self.helpline: str = config["terminal"].get("helpline", "")

    def intents(self) -> Mapping[str, Handler]:
        return {"mobile": self.mobile}

    async def mobile(self, args: dict) -> None:
        """{"number": "98xxxxxxxx"}: once per session, once money is in or the session is done."""
        live = self.live
        number = "".join(str(args.get("number", ""))[:20].split())
        if not MOBILE.fullmatch(number):
            live.say("mobile_invalid")
            raise IntentError("mobile_invalid")
        s = live.session
        if s is None or not s.opened:
            raise IntentError("not_now")
        if s.mobile is not None:
            raise IntentError("mobile_already_given")
        ev = self.journal.record(s.session_id, E.MobileGiven(mobile=number),
                                 key=f"mobile:{s.session_id}")
        if ev is not None:
            s.apply(ev)
        if s.closed is None:
            live.say("sms_will_be_sent")  # completion sends it with the paper
            return
        sent = await self.send_for(s)
        live.say("sms_sent" if sent else "sms_failed")

    async def send_for(self, s: Session) -> bool:
        """Send every document of the session not sent yet; True when none is left to send."""
        if s.mobile is None:
            return False
        ok = True
        for message_id, text, temporary in messages(s, self.helpline):
            if message_id in s.sms_sent:
                continue
            try:
                await self.central.send_sms(message_id, s.mobile, text)
            except CentralError as exc:
                log_event(log, "sms not sent", logging.WARNING, session=s.session_id,
                          error=str(exc))
                ok = False
                continue
            ev = self.journal.record(
                s.session_id, E.SmsSent(doc=message_id.split(":")[0], message_id=message_id,
                                        provisional=temporary), key=f"sms:{message_id}")
            if ev is not None:
                s.apply(ev)
        return ok

    async def after_posted(self, s: Session) -> None:
        """The outbox posted a payment later: a citizen who gave a number gets the final receipt
        (after the provisional one, or instead of it when central was down) and anything that
        failed to go before."""
        if s.mobile is not None:
            await self.send_for(s)
