"""Application status: the citizen types the application number (or scans the QR of the
acknowledgement slip) and sees the stage, its date, the office and what to do next, as central
answers (terminal/central/reference.py application_status); printable on a slip.

Intents: status_start, status_lookup {number}, status_print. No money, no session: the answer is
`state.lookup` with service "status" (screen STATUS).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any, Protocol

from terminal.central import CentralError
from terminal.live_session import Handler, IntentError
from terminal.logs import log_event, mask_digits
from terminal.service_lookup import LookupFlow

log = logging.getLogger("kiosk")

APPLICATION_NO = re.compile(r"[0-9]{10,16}")
HINDI_FIELDS = ("stage_hi", "office_hi")  # optional: without them the screen shows English
MAX_HINDI = 120  # characters, as every text central sends to be shown or printed
DEVANAGARI = re.compile(r"[\u0900-\u097F]")


def hindi_ok(value: object) -> bool:
    """Short printable text with Devanagari in it (a stage or office said in Hindi)."""
    return isinstance(value, str) and 0 < len(value) <= MAX_HINDI and value.isprintable() \
        and value.strip() == value and DEVANAGARI.search(value) is not None


def checked_hindi(status: dict[str, Any]) -> dict[str, Any]:
    """The answer with its Hindi stage and office, if central sent them; a malformed one makes
    the whole answer unusable (CentralError), as any other malformed field does."""
    for key in HINDI_FIELDS:
        if key in status and status[key] is not None and not hindi_ok(status[key]):
            raise CentralError(f"central sent a {key} that is not short Hindi text",
                               retryable=True)
    return {k: v for k, v in status.items() if k not in HINDI_FIELDS or v is not None}


class StatusCentral(Protocol):
    async def application_status(self, application_no: str) -> dict[str, Any]: ...


class StatusService(LookupFlow):
    service = "status"

    def __init__(self, central: StatusCentral, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.central = central

    def intents(self) -> Mapping[str, Handler]:
        return {"status_start": self.start, "status_lookup": self.lookup,
                "status_print": self.print}

    async def start(self, args: dict) -> None:
        self.begin("status_enter_number")

    async def lookup(self, args: dict) -> None:
        number = args.get("number")
        if not isinstance(number, str) or not APPLICATION_NO.fullmatch(number.strip()):
            raise self.refuse("status_number_invalid")
        await self.check(number.strip())

    async def from_qr(self, number: str) -> None:
        """The QR of an acknowledgement slip, scanned on the home screen."""
        if not APPLICATION_NO.fullmatch(number):
            raise IntentError("status_number_invalid")
        self.begin("status_enter_number")
        await self.check(number)

    async def check(self, number: str) -> None:
        self.checking("please_wait")
        try:
            status = checked_hindi(await self.central.application_status(number))
        except CentralError as exc:
            self.live.busy = False
            key = "status_not_found" if exc.code == "not_found" else "central_unavailable"
            log_event(log, "status check failed", logging.WARNING,
                      application=mask_digits(number), error=str(exc)[:200])
            raise self.refuse(key, str(exc)) from None
        log_event(log, "status shown", application=mask_digits(number), stage=status["status"])
        self.show("status_found", status, status)

    async def print(self, args: dict) -> None:
        from terminal.status_slip import build_status_slip

        await self.print_slip(build_status_slip)
