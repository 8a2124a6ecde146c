"""The paper a fee-paying service owes the citizen after its receipt (a grievance's number, an
application's acknowledgement): printed once the fee's session is DONE with the fee taken,
never for a session cancelled or timed out. A kiosk listener (Kiosk.add_listener) drives it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from drivers.base import PrintDocument
from terminal.logs import log_event
from terminal.service_lookup import SlipPrinter

log = logging.getLogger("kiosk")

Build = Callable[[dict[str, Any], dict[str, Any], int], PrintDocument]


class FeeSlip:
    def __init__(self, name: str, build: Build, terminal: dict[str, Any],
                 printer: Callable[[], SlipPrinter | None],
                 after: Callable[[], None] = lambda: None) -> None:
        self.after = after  # the session is over (paid, cancelled or timed out)
        self.name = name
        self.build = build
        self.terminal = terminal
        self.printer = printer
        self.due: dict[str, Any] | None = None  # what to print, with the fee's session id
        self.task: asyncio.Task | None = None

    def owe(self, session_id: str, data: dict[str, Any]) -> None:
        self.due = {"session_id": session_id, **data}

    def on_state(self, state: dict[str, Any]) -> None:
        """Every state the kiosk pushes: print when the owed session is DONE and paid."""
        due = self.due
        session = state.get("session") or {}
        if due is None or session.get("session_id") != due["session_id"]:
            return
        screen = state.get("screen")
        if screen not in ("DONE", "CANCELLED", "TIMEOUT"):
            return
        self.due = None
        self.after()
        if screen != "DONE" or not session.get("amount_paise"):
            return  # no fee taken (cancelled, or only a voucher): nothing was registered
        data = {**due, "receipt_no": session.get("receipt_no")}
        self.task = asyncio.get_running_loop().create_task(self._print(data),
                                                          name=f"{self.name}-slip")

    async def _print(self, data: dict[str, Any]) -> None:
        printer = self.printer()
        if printer is None:
            return
        try:
            await printer.print_document(self.build(data, self.terminal,
                                                    printer.paper_width_dots))
            log_event(log, f"{self.name} slip printed", session=data["session_id"])
        except Exception as exc:  # the number is on the screen and with central
            log_event(log, f"{self.name} slip not printed", logging.WARNING,
                      error=str(exc)[:200])
