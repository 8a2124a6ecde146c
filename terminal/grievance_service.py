"""Grievance (Rajasthan Sampark style): department and category from the catalogue, a short
description (a common complaint, or typed text), a mobile number, an optional webcam photo, then
the fee, then the grievance number printed.

The fee is paid through the same money path as a bill: central registers the grievance and
answers with its fee as a bill of the grievance provider (terminal/central/reference.py
register_grievance); the session moves to BILL with that bill and from there the bill service's
intents (confirm, pay_card, cancel, back) take it through cash intake or the card, settle, post,
receipt — journaled exactly like a bill payment. Once the session is DONE the grievance slip with
the full number is printed.

Intents: grievance_start, grievance_details {department, category, complaint?, description?,
mobile}, grievance_photo {action: take | retake | skip}, grievance_submit. Personal data: the
mobile number is kept whole only until central has it, shown and logged masked; the description
and the photo are never logged nor journaled. The photo is shown to the citizen before it is sent
(a small preview in `lookup.draft.photo`, at most MAX_PREVIEW_B64 characters) and kept only in
memory: gone once central has it, and when the session ends without sending (`on_state`).
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from terminal import catalogue
from terminal.catalogue_cache import usable
from terminal.central import CentralError
from terminal.fee_slip import FeeSlip
from terminal.live_session import Handler, IntentError, LiveSession, new_id
from terminal.logs import log_event, mask_digits
from terminal.service_lookup import SlipPrinter
from terminal.session import Bill, Session, State

log = logging.getLogger("kiosk")

MOBILE = re.compile(r"[6-9][0-9]{9}")
MAX_DESCRIPTION = 250  # the session guard passes no argument over 256 characters
MAX_PHOTO_BYTES = 100_000
PHOTO_SIZE = (320, 240)
PREVIEW_SIZE = (240, 180)  # what the review screen shows; the state stays small
MAX_PREVIEW_B64 = 30_000
ENDED_SCREENS = ("DONE", "CANCELLED", "TIMEOUT")


class GrievanceCentral(Protocol):
    async def register_grievance(self, request: dict[str, Any]) -> tuple[str, Bill]: ...


class FrameSource(Protocol):
    def latest_frame(self) -> Any: ...


def jpeg_of(frame: Any) -> bytes:
    """A camera frame (BGR array) as a small JPEG for central."""
    from PIL import Image

    img = Image.fromarray(frame[..., ::-1] if getattr(frame, "ndim", 2) == 3 else frame)
    img.thumbnail(PHOTO_SIZE)
    out = io.BytesIO()
    img.convert("RGB").save(out, "JPEG", quality=70)
    return out.getvalue()


def preview_of(photo: bytes) -> dict[str, Any] | None:
    """A downscaled JPEG of the photo for the screen, as base64 of at most MAX_PREVIEW_B64
    characters (lower quality until it fits; None if it never does)."""
    import base64

    from PIL import Image

    img = Image.open(io.BytesIO(photo))
    img.thumbnail(PREVIEW_SIZE)
    img = img.convert("RGB")
    for quality in (70, 55, 40, 25):
        out = io.BytesIO()
        img.save(out, "JPEG", quality=quality)
        text = base64.b64encode(out.getvalue()).decode()
        if len(text) <= MAX_PREVIEW_B64:
            return {"jpeg_b64": text, "width": img.width, "height": img.height}
    return None


def _slip(data: dict[str, Any], terminal: dict[str, Any], width: int) -> Any:
    from terminal.status_slip import build_grievance_slip  # Pillow: loaded when first printed

    return build_grievance_slip(data, terminal, width)


class GrievanceService:
    def __init__(
        self,
        central: GrievanceCentral,
        live: LiveSession,
        *,
        terminal: dict[str, Any],
        services: Callable[[], dict[str, Any]],
        camera: Callable[[], FrameSource | None],
        printer: Callable[[], SlipPrinter | None],
    ) -> None:
        self.central = central
        self.live = live
        self.terminal = terminal
        self.services = services
        self.camera = camera
        self.printer = printer
        self.draft: dict[str, Any] = {}
        self.mobile = ""  # whole, until central has it
        self.photo: bytes | None = None
        self.session_id: str | None = None  # the grievance's session, while one is written
        self.slip = FeeSlip("grievance", _slip, terminal, printer, after=self._forget)

    def intents(self) -> Mapping[str, Handler]:
        return {"grievance_start": self.start, "grievance_details": self.details,
                "grievance_photo": self.take_photo, "grievance_submit": self.submit}

    @staticmethod
    def fee_service() -> dict[str, Any] | None:
        return next((s for s in catalogue.current()["services"].values()
                     if s["kind"] == "grievance"), None)

    async def start(self, args: dict) -> None:
        live = self.live
        if live.in_progress():
            raise IntentError("session_in_progress")
        svc = self.fee_service()
        if svc is None or not usable(svc, self.services()):
            raise IntentError("service_unavailable")
        fee_provider = next((p for p in catalogue.current()["providers"].values()
                             if p["service"] == svc["code"]), None)
        if fee_provider is None:
            raise IntentError("service_unavailable", "no provider for the grievance fee")
        live.end()
        sid = new_id("S", self.terminal["id"])
        live.session = Session(sid, service=svc["code"], provider=fee_provider["code"])
        live.session.move(State.IDENTIFY)
        self.draft = {"step": "details", "fee_paise": svc["fee_paise"]}
        self.mobile, self.photo, self.slip.due = "", None, None
        self.session_id = sid
        self._show()
        live.say("grievance_choose")
        live.touch()
        log_event(log, "grievance started", session=sid)

    def _forget(self) -> None:
        """The fee's session is over: nothing of the citizen's stays in memory."""
        self.mobile, self.photo, self.draft = "", None, {}

    def on_state(self, state: dict[str, Any]) -> None:
        """Every state the kiosk pushes (a listener): the slip owed after the fee, and the photo
        dropped as soon as the grievance's session is over, sent or not."""
        self.slip.on_state(state)
        if self.session_id is None:
            return
        session = state.get("session") or {}
        if session.get("session_id") == self.session_id \
                and state.get("screen") not in ENDED_SCREENS:
            return
        self.session_id = None
        self.photo = None
        if self.draft.get("photo"):
            self.draft["photo"] = None
        lookup = self.live.lookup
        if lookup is not None and lookup.get("service") == "grievance" \
                and (lookup.get("draft") or {}).get("photo"):
            lookup["draft"] = {**lookup["draft"], "photo": None}
            asyncio.get_running_loop().call_soon(self.live.changed)  # a state without it

    def _show(self) -> None:
        """The form as the screen sees it (state.lookup, service "grievance")."""
        departments = [
            {"code": d["code"], "name_en": d["name_en"], "name_hi": d["name_hi"],
             "categories": d["categories"]}
            for d in catalogue.current()["departments"].values()
        ]
        self.live.lookup = {"service": "grievance", "draft": dict(self.draft),
                            "departments": departments}

    def _mine(self) -> Session:
        s = self.live.need(State.IDENTIFY)
        if s.service != (self.fee_service() or {}).get("code") or not self.draft:
            raise IntentError("not_now", "no grievance being written")
        return s

    async def details(self, args: dict) -> None:
        self._mine()
        dept = catalogue.department(str(args.get("department", "")))
        if dept is None:
            raise self._refuse("grievance_department_invalid")
        category = next((c for c in dept["categories"] if c["code"] == args.get("category")),
                        None)
        if category is None:
            raise self._refuse("grievance_department_invalid")
        complaint = args.get("complaint")
        chosen = next((c for c in category["complaints"] if c["code"] == complaint), None)
        if complaint is not None and chosen is None:
            raise self._refuse("grievance_description_invalid")
        text = args.get("description", "")
        if not isinstance(text, str) or len(text) > MAX_DESCRIPTION \
                or not all(c.isprintable() or c == "\n" for c in text):
            raise self._refuse("grievance_description_invalid")
        text = text.strip()
        if not text and chosen is None:
            raise self._refuse("grievance_description_invalid")
        mobile = args.get("mobile")
        if not isinstance(mobile, str) or not MOBILE.fullmatch(mobile):
            raise self._refuse("grievance_mobile_invalid")
        self.mobile = mobile
        self.draft.update({
            "step": "photo", "department": dept["code"], "department_name_en": dept["name_en"],
            "department_name_hi": dept["name_hi"], "category": category["code"],
            "category_name_en": category["name_en"], "category_name_hi": category["name_hi"],
            "complaint": chosen["code"] if chosen else None, "description": text,
            "mobile_masked": mask_digits(mobile), "photo": None,
        })
        self._show()
        self.live.say("grievance_photo_offer")
        self.live.touch()

    def _refuse(self, key: str) -> IntentError:
        self.live.say(key)
        return IntentError(key)

    async def take_photo(self, args: dict) -> None:
        s = self._mine()
        if self.draft.get("step") not in ("photo", "review"):
            raise IntentError("not_now", "details first")
        action = args.get("action")
        preview: dict[str, Any] | None = None
        if action == "skip":
            self.photo = None
        elif action in ("take", "retake"):
            cam = self.camera()
            frame = cam.latest_frame() if cam is not None else None
            if frame is None:
                raise self._refuse("grievance_photo_unavailable")
            photo = await asyncio.to_thread(jpeg_of, frame)
            preview = await asyncio.to_thread(preview_of, photo)
            if len(photo) > MAX_PHOTO_BYTES or preview is None:
                raise self._refuse("grievance_photo_unavailable")
            if self.live.session is not s or s.state != State.IDENTIFY:
                return  # cancelled while the photo was made: nothing kept
            self.photo = photo
        else:
            raise IntentError("bad_request", "action: take, retake or skip")
        self.draft.update({"step": "review", "photo": None if self.photo is None
                           else {"bytes": len(self.photo), "preview": preview}})
        self._show()
        self.live.say("grievance_review")
        self.live.touch()

    async def submit(self, args: dict) -> None:
        """Register at central and show the fee as the bill to pay."""
        import base64

        s = self._mine()
        live = self.live
        if self.draft.get("step") != "review" or live.busy:
            raise IntentError("not_now", "the grievance is not ready to send")
        d = self.draft
        request = {"request_id": s.session_id, "department": d["department"],
                   "category": d["category"], "complaint": d["complaint"],
                   "description": d["description"], "mobile": self.mobile,
                   "photo_jpeg_b64": base64.b64encode(self.photo).decode() if self.photo
                   else None}
        live.busy = True
        live.say("please_wait")
        live.changed()
        try:
            number, bill = await self.central.register_grievance(request)
        except CentralError as exc:
            live.busy = False
            log_event(log, "grievance not registered", logging.WARNING, session=s.session_id,
                      error=str(exc)[:200])
            raise self._refuse("central_unavailable") from None
        live.busy = False
        if live.session is not s or s.state != State.IDENTIFY:
            return  # cancelled while central answered: the fee bill stays unpaid there
        if bill.provider != s.provider or bill.due_paise != d["fee_paise"] \
                or bill.status != "unpaid":
            log_event(log, "grievance fee refused", logging.ERROR, session=s.session_id)
            raise self._refuse("central_unavailable")
        s.consumer_number = number
        s.bill = bill
        s.move(State.BILL)
        self.slip.owe(s.session_id, {
            "grievance_no": number, "department": d["department_name_en"],
            "category": d["category_name_en"], "mobile_masked": d["mobile_masked"]})
        self.photo = None  # with central now; the mobile stays for a retried registration
        if d.get("photo"):
            d["photo"] = {"bytes": d["photo"]["bytes"]}  # the preview is not needed to pay
        live.lookup = {"service": "grievance", "grievance_no": number, "draft": dict(d),
                       "departments": []}
        live.say(None)
        live.touch()
        log_event(log, "grievance registered", session=s.session_id, grievance=number,
                  mobile=d["mobile_masked"])
