"""Apply for a service: a form the catalogue defines (terminal/form_engine.py checks the
definition and every answer, Aadhaar's Verhoeff digit included), reviewed, submitted to central,
the fee paid through the bill money path like a grievance's, then the acknowledgement slip with
the application number and the QR the status service reads.

Intents: application_start {service}, application_answers {answers: {field: text}},
application_document {action: take | retake | keep | skip} (the documents the form asks for,
terminal/application_documents.py), application_submit (the documents uploaded one by one,
then the answers naming them). The answers and documents are personal data: never logged nor
journaled (the journal holds the fee like any bill: the application number as its consumer
number, encrypted); on disk only encrypted (terminal/application_store.py), until central has
confirmed the application or it is given up (terminal/application_drafts.py).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from terminal import catalogue
from terminal.application_documents import DocumentCapture, check_and_encode
from terminal.application_drafts import ApplicationDrafts
from terminal.application_store import Draft
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

    async def upload_application_document(self, request: dict[str, Any]) -> str: ...


class FrameSource(Protocol):
    def latest_frame(self) -> Any: ...


def _slip(data: dict[str, Any], terminal: dict[str, Any], width: int) -> Any:
    from terminal.status_slip import build_acknowledgement_slip  # Pillow: loaded when used

    return build_acknowledgement_slip(data, terminal, width)


class ApplicationService:
    def __init__(self, central: ApplicationCentral, live: LiveSession, *,
                 terminal: dict[str, Any], services: Callable[[], dict[str, Any]],
                 printer: Callable[[], SlipPrinter | None], drafts: ApplicationDrafts,
                 camera: Callable[[], FrameSource | None]) -> None:
        self.central = central
        self.live = live
        self.terminal = terminal
        self.services = services
        self.drafts = drafts
        self.camera = camera
        self.answers: dict[str, str] = {}
        self.form: dict[str, Any] | None = None
        self.service: dict[str, Any] | None = None
        self.capture = DocumentCapture([])
        self.draft: Draft | None = None  # on disk, encrypted, from the first answers on
        self.slip = FeeSlip("acknowledgement", _slip, terminal, printer, after=self._forget)

    def intents(self) -> Mapping[str, Handler]:
        return {"application_start": self.start, "application_answers": self.fill,
                "application_document": self.document, "application_submit": self.submit}

    def _forget(self) -> None:
        self.answers, self.form, self.service = {}, None, None
        self.capture = DocumentCapture([])

    def on_state(self, state: dict[str, Any]) -> None:
        """A kiosk listener: once the application's session is over, its draft goes (see
        terminal/application_drafts.py for how)."""
        draft = self.draft
        if draft is None:
            return
        session = state.get("session") or {}
        screen = state.get("screen")
        if session.get("session_id") == draft.session_id \
                and screen not in ("DONE", "CANCELLED", "TIMEOUT", "IDLE"):
            return
        self.draft = None
        paid = screen == "DONE" and session.get("session_id") == draft.session_id \
            and bool(session.get("amount_paise"))
        self.drafts.finished(draft, paid)
        if self.live.session is None or self.live.session.session_id != draft.session_id:
            self._forget()

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
        if form["documents"] and self.camera() is None:
            raise IntentError("service_unavailable", "the form asks for documents: no camera")
        if self.draft is not None:  # an earlier one not yet seen to its end: given up
            self.drafts.finished(self.draft, paid=False)  # (central refuses if it was paid)
        live.end()
        sid = new_id("S", self.terminal["id"])
        live.session = Session(sid, service=svc["code"], provider=fee_provider["code"])
        live.session.move(State.IDENTIFY)
        self.service, self.form, self.answers = svc, form, {}
        self.capture = DocumentCapture(list(form.get("documents", [])))
        self.draft = None
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
            "documents": [{k: d[k] for k in ("code", "label_en", "label_hi", "required")}
                          for d in self.capture.asked],
            "documents_kept": list(self.capture.kept),
            "document": self.capture.view() if step == "documents" else None,
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
        self.live.touch()
        if errors:
            self._show("form", errors)
            self.live.say("form_has_errors")
            raise IntentError("form_has_errors", ", ".join(sorted(errors)))
        s = self._mine()
        if self.draft is None:
            assert self.service is not None
            self.draft = Draft(s.session_id, self.service["code"])
        self.draft.answers = kept
        await self._save(self.draft)
        if self.live.session is s:
            self._next_step()

    async def _save(self, draft: Draft) -> None:
        """The draft on disk before the step is shown done; a disk that refuses it ends here
        with a plain refusal (the citizen cannot go on without the power-cut safety)."""
        try:
            await asyncio.to_thread(self.drafts.save, draft)
        except OSError as exc:
            log_event(log, "application draft not saved", logging.ERROR,
                      session=draft.session_id, error=type(exc).__name__)
            raise self._refuse("service_unavailable") from None

    def _next_step(self) -> None:
        """The next document to photograph, or the review once all are kept (or skipped)."""
        if self.capture.current() is not None:
            self._show("documents", {})
            self.live.say("document_show")
        else:
            self._show("review", {})
            self.live.say("form_review")

    async def document(self, args: dict) -> None:
        s = self._mine()
        if (self.live.lookup or {}).get("step") != "documents" or self.live.busy:
            raise IntentError("not_now", "no document asked for now")
        doc = self.capture.current()
        assert doc is not None and self.draft is not None
        action = args.get("action")
        self.live.touch()
        if action in ("take", "retake"):
            cam = self.camera()
            frame = cam.latest_frame() if cam is not None else None
            if frame is None:
                raise self._refuse("document_camera_unavailable")
            problem, jpeg = await asyncio.to_thread(check_and_encode, frame)
            if self.live.session is not s or self.capture.current() is not doc:
                return  # cancelled, or another tap moved on, while the photo was checked
            await asyncio.to_thread(self.capture.show, jpeg, problem)
            self._show("documents", {})
            if problem is not None:
                raise self._refuse(problem)
            self.live.say("document_keep_or_retake")
        elif action == "keep":
            if self.capture.pending is None:
                raise IntentError("not_now", "take the photo first")
            pending, draft = self.capture.pending, self.draft
            draft.documents[doc["code"]] = pending
            await self._save(draft)
            if self.live.session is not s:
                return
            self.capture.kept[doc["code"]] = pending
            self.capture.show(None)
            self._next_step()
        elif action == "skip" and not doc["required"]:
            self.capture.skipped.add(doc["code"])
            self.capture.show(None)
            self._next_step()
        else:
            raise IntentError("bad_request", "action: take, retake, keep or skip (optional)")

    def _refuse(self, key: str) -> IntentError:
        self.live.say(key)
        return IntentError(key)

    async def submit(self, args: dict) -> None:
        s = self._mine()
        live = self.live
        svc = self.service
        assert svc is not None
        if (live.lookup or {}).get("step") not in ("review", "fee") or live.busy:
            raise IntentError("not_now", "the form is not ready to send")
        draft = self.draft
        if draft is None:
            raise IntentError("not_now", "the form is not ready to send")
        if not draft.sent:
            draft.sent = True  # from here central may hold it: withdrawn if given up
            try:
                await self._save(draft)
            except IntentError:
                draft.sent = False
                raise
        live.busy = True
        live.say("please_wait")
        live.changed()
        try:
            number, bill = await self._send(s.session_id, svc["code"])
        except CentralError as exc:
            live.busy = False
            key = "form_refused" if exc.code == "bad_request" else "central_unavailable"
            live.say(key)
            log_event(log, "application not submitted", logging.WARNING,
                      session=s.session_id, status=exc.status)
            raise IntentError(key) from None
        live.busy = False
        self.drafts.store.crash_point("application_replied")  # test hook: the reply lost
        if draft.application_no != number:
            draft.application_no = number  # for the record; recovery needs only "sent"
            with contextlib.suppress(OSError):
                await asyncio.to_thread(self.drafts.save, draft)
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

    async def _send(self, request_id: str, service: str) -> tuple[str, Bill]:
        """Each document (idempotent), then the answers naming them by their sha256."""
        named = []
        for code, jpeg in self.capture.kept.items():
            digest = await self.central.upload_application_document(
                {"request_id": request_id, "service": service, "code": code,
                 "jpeg_b64": base64.b64encode(jpeg).decode()})
            if digest != hashlib.sha256(jpeg).hexdigest():
                raise CentralError("central holds another document than the one sent",
                                   retryable=True)
            named.append({"code": code, "sha256": digest})
        return await self.central.submit_application(
            {"request_id": request_id, "service": service, "answers": self.answers,
             "documents": named})
