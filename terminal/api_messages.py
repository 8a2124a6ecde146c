"""The session API's vocabulary, shared by the core, the Kivy client and the headless demo.

Kept free of heavy imports so the screens can use it without loading the core.
Documented in docs/session-api.md.
"""

from __future__ import annotations

import json
from typing import Any

PATH = "/session"

# Client -> core
INTENTS = ("start", "consumer", "confirm", "back", "cancel", "finish", "language", "more_time",
           "verify", "scan", "maintenance")

# Screens (the session state; IDLE = attract/home)
SCREENS = (
    "IDLE",
    "IDENTIFY",
    "BILL",
    "PAYING",
    "POSTING",
    "RECEIPT",
    "DONE",
    "CANCELLED",
    "TIMEOUT",
    "RECOVERY",
)

# Message keys the core sends in state.message.key or error results; the screens translate them.
MESSAGE_KEYS = (
    "please_wait",
    "insert_note",
    "printing",
    "payment_successful",
    "paid_provisional",
    "voucher_issued",
    "print_failed_money_safe",
    "cancelled",
    "timed_out",
    "recovering",
    "consumer_number_invalid",
    "bill_not_found",
    "bill_already_paid",
    "nothing_due",
    "central_unavailable",
    "service_unavailable",
    "session_in_progress",
    "cannot_cancel_now",
    "note_returned",
    "note_too_large",
    "note_insert_flat",
    "note_not_accepted_now",
    "note_one_at_a_time",
    "note_not_recognised",
    "not_now",
    "unknown_intent",
    "bad_request",
)


def intent(name: str, request_id: int = 0, **args: Any) -> str:
    """The JSON text of an intent message."""
    return json.dumps({"type": "intent", "id": request_id, "intent": name, "args": args})


def result(request_id: Any, ok: bool, message_key: str | None = None, detail: str = "") -> dict:
    reply: dict[str, Any] = {"type": "result", "id": request_id, "ok": ok}
    if not ok:
        reply["message_key"] = message_key
        reply["detail"] = detail
    return reply
