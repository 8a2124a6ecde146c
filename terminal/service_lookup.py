"""What the look-up services share (terminal/status_service.py, certificate_service.py): a
check from the home screen that holds no money and no session, shown as `state.lookup` with
its `service` (the snapshot names the screen after it), timed out home by the kiosk's ticker like
a receipt check, and an optional slip on the receipt printer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from drivers.base import DeviceStatus, PrintDocument
from terminal.live_session import IntentError, LiveSession, SetDevice
from terminal.logs import log_event

log = logging.getLogger("kiosk")


class SlipPrinter(Protocol):
    paper_width_dots: int

    async def print_document(self, document: PrintDocument) -> None: ...

    def status(self) -> DeviceStatus: ...


class LookupFlow:
    """One look-up service: `begin` shows its entry screen, `show` its answer, `print_slip`
    prints the answer. Subclasses give `service` and the intents."""

    service = ""

    def __init__(self, live: LiveSession, printer: Callable[[], SlipPrinter | None],
                 terminal: dict[str, Any], set_device: SetDevice,
                 lookup_allowed: Callable[[], bool]) -> None:
        self.live = live
        self.printer = printer
        self.terminal = terminal
        self.set_device = set_device
        self.lookup_allowed = lookup_allowed
        self.answer: dict[str, Any] | None = None  # the last answer, for the slip
        self.printed = False

    def begin(self, message_key: str) -> None:
        live = self.live
        if live.in_progress():
            raise IntentError("session_in_progress")
        if not self.lookup_allowed():
            raise IntentError("service_unavailable")
        live.end()
        self.answer = None
        self.printed = False
        live.lookup = {"service": self.service, "status": "entry", "message_key": message_key,
                       "result": None, "printed": False}
        live.touch()

    def mine(self) -> dict[str, Any]:
        """The lookup, if it is this service's; else not_now."""
        lookup = self.live.lookup
        if self.live.in_progress() or not lookup or lookup.get("service") != self.service:
            raise IntentError("not_now", f"no {self.service} check open")
        return lookup

    def refuse(self, key: str, detail: str = "") -> IntentError:
        lookup = self.mine()
        lookup.update({"status": "entry", "message_key": key, "result": None})
        self.live.touch()
        return IntentError(key, detail)

    def checking(self, key: str) -> None:
        if self.mine().get("status") == "checking":
            raise IntentError("please_wait", "a check is already in progress")
        self.mine().update({"status": "checking", "message_key": key, "result": None})
        self.live.busy = True
        self.live.changed()

    def show(self, key: str, result: dict[str, Any], answer: dict[str, Any] | None) -> None:
        self.live.busy = False
        self.answer = answer
        self.printed = False
        self.live.lookup = {"service": self.service, "status": "done", "message_key": key,
                            "result": result, "printed": False}
        self.live.touch()

    async def print_slip(self, build: Callable[[dict[str, Any], dict[str, Any], int],
                                                PrintDocument]) -> None:
        lookup = self.mine()
        if self.answer is None:
            raise IntentError("not_now", "nothing to print")
        if self.printed:
            raise IntentError("not_now", "already printed")  # one slip per answer
        printer = self.printer()
        if printer is None:
            raise IntentError("service_unavailable", "no printer")
        try:
            await printer.print_document(build(self.answer, self.terminal,
                                               printer.paper_width_dots))
        except Exception as exc:  # paper out, offline: say so, the citizen may ask again
            self.set_device("printer", printer.status())
            log_event(log, "slip print failed", logging.WARNING, service=self.service,
                      error=str(exc)[:200])
            lookup["message_key"] = "slip_print_failed"
            raise IntentError("slip_print_failed") from None
        self.printed = True
        lookup.update({"printed": True, "message_key": "slip_printed"})
        self.live.touch()
