"""Apply for a service: a form the catalogue defines (terminal/form_engine.py checks the
definition and every answer, Aadhaar's Verhoeff digit included), reviewed, submitted to central,
the fee paid through the bill money path like a grievance's, then the acknowledgement slip with
the application number and the QR the status service reads.

Intents: application_start {service}, application_answers {answers: {field: text}},
application_submit. The answers are personal data: kept in memory only until central has them
and the fee's session is over, never logged nor journaled (the journal holds the fee like any
bill: the application number as its consumer number, encrypted). Not done here: the Devanagari
keyboard and document capture (the screen's and a later flow's work).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from terminal import catalogue
from terminal.catalogue_cache import usable
from terminal.central import CentralError
from terminal.fee_slip import FeeSlip
from terminal.form_engine import check_answers
from terminal.live_session import Handler, IntentError, LiveSession, new_id
from terminal.logs import log_event, mask_digits
from terminal.service_lookup import SlipPrinter
from terminal.session import Bill, Session, State

log = logging.getLogger("kiosk")


class ApplicationCentral(Protocol):
    async def submit_application(self, request: dict[str, Any]) -> tuple[str, Bill]: ...


def _slip(data: dict[str, Any], terminal: dict[str, Any], width: int) -> Any:
    from terminal.status_slip import build_acknowledgement_slip  # Pillow: loaded when used

    return build_acknowledgement_slip(data, terminal, width)


class ApplicationService:
    def __init__(self, central: ApplicationCentral, live: LiveSession, *,
                 terminal: dict[str, Any], services: Callable[[], dict[str, Any]],
                 printer: Callable[[], SlipPrinter | None]) -> None:
        self.central = central
        self.live = live
        self.terminal = terminal
        self.services = services
        self.answers: dict[str, str] = {}
        self.form: dict[str, Any] | None = None
        self.service: dict[str, Any] | None = None
        self.slip = FeeSlip("acknowledgement", _slip, terminal, printer, after=self._forget)

    def intents(self) -> Mapping[str, Handler]:
        return {"application_start": self.start, "application_answers": self.fill,
                "application_submit": self.submit}

    def _forget(self) -> None:
        self.answers, self.form, self.service = {}, None, None

    async def start(self, args: dict) -> None:
        live = self.live
        if live.in_progress():
            raise IntentError("session_in_progress")
        svc = catalogue.service(str(args.get("service", "")))
        if svc is None or svc["kind"] != "application":
            raise IntentError("bad_request", "not an application service")
        form = catalogue.current()["forms"].get(svc["form"])
        fee_provider = next((p for p in catalogue.current()["providers"].values()
                             if p["service"] == svc["code"]), None)
        if form is None or fee_provider is None or not usable(svc, self.services()):
            raise IntentError("service_unavailable")
        live.end()
        sid = new_id("S", self.terminal["id"])
        live.session = Session(sid, service=svc["code"], provider=fee_provider["code"])
        live.session.move(State.IDENTIFY)
        self.service, self.form, self.answers = svc, form, {}
        self.slip.due = None
        self._show("form", {})
        live.say("form_fill")
        live.touch()
        log_event(log, "application started", session=sid, service=svc["code"])

    def _show(self, step: str, errors: dict[str, str]) -> None:
        assert self.form is not None and self.service is not None
        self.live.lookup = {
            "service": "application", "step": step, "application": self.service["code"],
            "fee_paise": self.service["fee_paise"],
            "form": {k: self.form[k] for k in ("code", "title_en", "title_hi", "schema",
                                               "layout", "labels")},
            "answers": dict(self.answers), "errors": errors,
        }

    def _mine(self) -> Session:
        s = self.live.need(State.IDENTIFY)
        if self.form is None or self.service is None or s.service != self.service["code"]:
            raise IntentError("not_now", "no application being filled in")
        return s

    async def fill(self, args: dict) -> None:
        """Check all answers given; with no error the form is ready for review."""
        self._mine()
        assert self.form is not None
        answers = args.get("answers")
        if not isinstance(answers, dict):
            raise IntentError("bad_request", "answers must be an object")
        kept, errors = check_answers(self.form["schema"], answers)
        self.answers = kept
        self._show("form" if errors else "review", errors)
        self.live.touch()
        if errors:
            self.live.say("form_has_errors")
            raise IntentError("form_has_errors", ", ".join(sorted(errors)))
        self.live.say("form_review")

    async def submit(self, args: dict) -> None:
        s = self._mine()
        live = self.live
        svc = self.service
        assert svc is not None
        if (live.lookup or {}).get("step") not in ("review", "fee") or live.busy:
            raise IntentError("not_now", "the form is not ready to send")
        live.busy = True
        live.say("please_wait")
        live.changed()
        try:
            number, bill = await self.central.submit_application(
                {"request_id": s.session_id, "service": svc["code"], "answers": self.answers})
        except CentralError as exc:
            live.busy = False
            key = "form_refused" if exc.code == "bad_request" else "central_unavailable"
            live.say(key)
            log_event(log, "application not submitted", logging.WARNING,
                      session=s.session_id, status=exc.status)
            raise IntentError(key) from None
        live.busy = False
        if live.session is not s or s.state != State.IDENTIFY:
            return
        if bill.provider != s.provider or bill.due_paise != svc["fee_paise"] \
                or bill.status != "unpaid":
            log_event(log, "application fee refused", logging.ERROR, session=s.session_id)
            live.say("central_unavailable")
            raise IntentError("central_unavailable")
        s.consumer_number = number
        s.bill = bill
        s.move(State.BILL)
        self.slip.owe(s.session_id, {"application_no": number,
                                     "service_name_en": svc["name_en"],
                                     "service_name_hi": svc["name_hi"]})
        lookup = live.lookup or {}
        lookup.update({"step": "fee", "application_no": number})
        live.say(None)
        live.touch()
        log_event(log, "application submitted", session=s.session_id,
                  application=mask_digits(number))
