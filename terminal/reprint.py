"""Reprint for the citizen: a copy of a receipt (or a voucher) of this kiosk, asked for by typing
the receipt number or by showing the receipt's QR on the home screen ("verify a receipt", then
"print again"), within `[payment] reprint_window_s` of the payment. The copy says
"दूसरी प्रति / DUPLICATE" with the reprint time (terminal/printing.py `duplicate`), is journaled
`reprinted`, and a document is copied at most MAX_COPIES times (paper is not free).

The journal is the truth: only a payment this kiosk journaled can be reprinted; a QR must have
been found genuine by central first (terminal/qr_lookup.py leaves the verdict in `live.lookup`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from terminal import events as E
from terminal.completion import PrinterLike, printer_ok
from terminal.live_session import Handler, IntentError, JournalLike, LiveSession, SetDevice
from terminal.logs import log_event
from terminal.session import Session, fold

log = logging.getLogger("kiosk")

RECEIPT_NO = re.compile(r"RCPT-[0-9]{6,12}")
MAX_COPIES = 2
DEFAULT_WINDOW_S = 24 * 3600


class CitizenReprint:
    def __init__(self, journal: JournalLike, live: LiveSession, printer: PrinterLike | None,
                 config: dict[str, Any], *, set_device: SetDevice,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.journal = journal
        self.live = live
        self.printer = printer
        self.config = config
        self.window_s = float(config["payment"].get("reprint_window_s", DEFAULT_WINDOW_S))
        self.set_device = set_device
        self.now = now

    def intents(self) -> Mapping[str, Handler]:
        return {"reprint": self.reprint}

    async def reprint(self, args: dict) -> None:
        """{"receipt_no": "RCPT-000123"} typed, or {} after a receipt QR was found genuine."""
        live = self.live
        if live.in_progress():
            raise IntentError("session_in_progress")
        typed = args.get("receipt_no")
        if typed is not None:
            number = "".join(str(typed)[:40].split()).upper()
            if not RECEIPT_NO.fullmatch(number):
                return self._answer("reprint_not_found", None)
            sid, source = self._by("receipt_no", number), "receipt_no"
        else:
            shown = (live.lookup or {}).get("result") or {}
            if shown.get("kind") != "receipt" or shown.get("result") != "genuine":
                raise IntentError("not_now", "no genuine receipt QR on the screen")
            sid, source = self._by("txn_id", str(shown.get("txn_id"))), "qr"
        if sid is None:
            return self._answer("reprint_not_found", None)
        s = fold(sid, list(self.journal.events(session_id=sid)))
        doc = "receipt" if s.amount_paise and s.refund_voucher_id is None else (
            "refund_voucher" if s.refund_voucher_id else "voucher")
        key = self._refusal(s, doc)
        if key is None:
            key = await self._print(s, doc, source)
        self._answer(key, s, doc)

    def _by(self, field: str, value: str) -> str | None:
        for ev in self.journal.events(kinds=("posted",)):
            if ev.data.get(field) == value:
                return ev.session_id
        return None

    def _refusal(self, s: Session, doc: str) -> str | None:
        paid = s.paid_at and datetime.strptime(s.paid_at, "%Y-%m-%dT%H:%M:%S.%fZ")
        if not paid or (self.now() - paid.replace(tzinfo=UTC)).total_seconds() > self.window_s:
            return "reprint_too_old"
        copies = [e for e in self.journal.events(session_id=s.session_id, kinds=("reprinted",))
                  if e.data.get("doc") == doc]
        if len(copies) >= MAX_COPIES:
            return "reprint_limit"
        if self.printer is None or not printer_ok(self.printer.status()):
            return "reprint_printer_unavailable"
        return None

    async def _print(self, s: Session, doc: str, source: str) -> str:
        from terminal.printing import build_document  # Pillow: load lazily

        assert self.printer is not None
        try:
            document = build_document(self.config, s, doc, self.printer.paper_width_dots,
                                      duplicate=True)
            await self.printer.print_document(document)
        except Exception as exc:  # the paper jammed or ran out: say so, nothing is owed
            self.set_device("printer", self.printer.status())
            log_event(log, "citizen reprint failed", logging.WARNING, session=s.session_id,
                      error=str(exc))
            return "reprint_failed"
        self.journal.record(s.session_id, E.Reprinted(doc=doc, source=source))
        log_event(log, "citizen reprint", session=s.session_id, doc=doc, source=source)
        return "reprint_printed"

    def _answer(self, key: str, s: Session | None, doc: str = "") -> None:
        live = self.live
        live.end()
        result: dict[str, Any] = {"kind": "reprint", "doc": doc or None}
        if s is not None:
            result.update(receipt_no=s.receipt_no, amount_paise=s.amount_paise)
        live.lookup = {"status": "done", "message_key": key, "result": result}
        live.touch()
        if key != "reprint_printed":
            raise IntentError(key)
