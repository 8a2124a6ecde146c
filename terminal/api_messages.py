"""The session API's vocabulary, shared by the core, the Kivy client and the headless demo.

Kept free of heavy imports so the screens can use it without loading the core.
Documented in docs/session-api.md.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PATH = "/session"

# Message types: the client sends intents, the core answers each with a result and pushes the
# session state (a snapshot on connect, then states).
MSG_INTENT, MSG_RESULT, MSG_SNAPSHOT, MSG_STATE = "intent", "result", "snapshot", "state"
STATE_TYPES = (MSG_SNAPSHOT, MSG_STATE)

# Client -> core: the intent names
START, CONSUMER, CONFIRM, BACK, CANCEL, FINISH = (
    "start", "consumer", "confirm", "back", "cancel", "finish"
)
LANGUAGE, MORE_TIME, VERIFY, SCAN = "language", "more_time", "verify", "scan"
VOUCHER = "voucher"  # {"code": voucher id typed} at the bill or paying step
MOBILE, REPRINT = "mobile", "reprint"  # SMS receipts' number; a citizen's copy of a receipt
PAY_PART = "pay_part"  # pay only the cash in, where the provider takes part payments
MAINTENANCE, PAY_CARD, CARD_PIN = "maintenance", "pay_card", "card_pin"
ACCESSIBILITY = "accessibility"  # {"on": bool}: large text, high contrast, slower timeouts
# The citizen services (terminal/status_service.py, certificate_service.py,
# grievance_service.py); a grievance's fee is then paid with confirm / pay_card like a bill.
STATUS_START, STATUS_LOOKUP, STATUS_PRINT = "status_start", "status_lookup", "status_print"
CERTIFICATE_START, CERTIFICATE_LOOKUP, CERTIFICATE_PRINT = (
    "certificate_start", "certificate_lookup", "certificate_print"
)
GRIEVANCE_START, GRIEVANCE_DETAILS, GRIEVANCE_PHOTO, GRIEVANCE_SUBMIT = (
    "grievance_start", "grievance_details", "grievance_photo", "grievance_submit"
)
APPLICATION_START, APPLICATION_ANSWERS, APPLICATION_SUBMIT = (
    "application_start", "application_answers", "application_submit"
)
APPLICATION_DOCUMENT = "application_document"  # {action: take | retake | keep | skip}
# Information (terminal/info_service.py): the scheme pages; info_image's result carries the
# open page's picture as data.
INFO_START, INFO_LIST, INFO_PAGE, INFO_IMAGE = "info_start", "info_list", "info_page", "info_image"
SERVICE_INTENTS = (
    STATUS_START, STATUS_LOOKUP, STATUS_PRINT, CERTIFICATE_START, CERTIFICATE_LOOKUP,
    CERTIFICATE_PRINT, GRIEVANCE_START, GRIEVANCE_DETAILS, GRIEVANCE_PHOTO, GRIEVANCE_SUBMIT,
    APPLICATION_START, APPLICATION_ANSWERS, APPLICATION_SUBMIT, APPLICATION_DOCUMENT,
    INFO_START, INFO_LIST, INFO_PAGE, INFO_IMAGE,
)
INTENTS = (
    START, CONSUMER, CONFIRM, BACK, CANCEL, FINISH, LANGUAGE, MORE_TIME, VERIFY, SCAN,
    MAINTENANCE, PAY_CARD, CARD_PIN, VOUCHER, MOBILE, REPRINT, PAY_PART, ACCESSIBILITY,
    *SERVICE_INTENTS,
)

# The `maintenance` intent's actions ({"action": ..., ...}); terminal/maintenance.py's action
# table maps each to its method and argument checks (docs/session-api.md).
MAINTENANCE_ACTIONS = (
    "enter", "leave", "alarms", "acknowledge_alarm", "cash_summary", "begin_collection",
    "collect_cash", "reprint_collection_slip", "test_print", "test_note", "identities",
    "fault_log", "outbox_view", "send_now", "network_test", "recent_receipts", "reprint",
    "restart",
)

# Screens (the session state; IDLE = attract/home, VERIFY = a QR check from the home screen)
SCREENS = (
    "IDLE", "VERIFY", "IDENTIFY", "BILL", "PAYING", "CARD", "POSTING", "RECEIPT", "DONE",
    "CANCELLED", "TIMEOUT", "RECOVERY", "STATUS", "CERTIFICATE", "GRIEVANCE", "APPLICATION",
    "INFO",
)

# Message keys the core sends in state.message.key, state.lookup.message_key or error results;
# the screens translate every one of them.
MESSAGE_KEYS = (
    # the payment
    "please_wait", "insert_note", "printing", "payment_successful", "paid_provisional",
    "voucher_issued", "print_failed_money_safe", "cancelled", "timed_out", "recovering",
    "consumer_number_invalid", "bill_not_found", "bill_already_paid", "nothing_due",
    "central_unavailable", "service_unavailable", "session_in_progress", "cannot_cancel_now",
    "note_returned", "note_too_large", "note_insert_flat", "note_not_accepted_now",
    "note_one_at_a_time", "note_not_recognised", "not_now", "unknown_intent", "bad_request",
    "device_problem_money_safe", "part_payment_not_offered",
    # vouchers taken in toward a bill (terminal/voucher_redeem.py)
    "voucher_used", "voucher_used_rest", "voucher_already_used", "voucher_expired",
    "voucher_not_found", "voucher_other_consumer", "voucher_code_invalid",
    # SMS receipts and reprints (terminal/sms_receipt.py, terminal/reprint.py)
    "mobile_invalid", "mobile_already_given", "sms_will_be_sent", "sms_sent", "sms_failed",
    "reprint_printed", "reprint_not_found", "reprint_too_old", "reprint_limit", "reprint_failed",
    "reprint_printer_unavailable",
    # QR codes (terminal/qr.py and the receipt / voucher check at central)
    "scan_qr", "qr_receipt_genuine", "qr_receipt_not_genuine", "qr_receipt_unknown",
    "qr_voucher_active", "qr_voucher_redeemed", "qr_check_unavailable", "qr_receipt_checking",
    "qr_voucher_valid", "qr_voucher_invalid", "qr_voucher_checking", "qr_bill_found",
    "qr_bill_provider_unknown", "qr_bill_provider_not_served", "qr_bill_number_invalid",
    "qr_upi_not_accepted", "qr_aadhaar_not_needed", "qr_emitra_damaged", "qr_empty",
    "qr_too_long", "qr_unreadable", "qr_not_recognised",
    # card payments (the steps, and terminal/card_payment.py outcomes)
    "insert_card", "card_insert_card", "card_reading", "card_enter_pin", "card_pin_wrong",
    "card_pin_invalid", "card_authorising", "card_error", "card_approved", "card_declined",
    "card_declined_funds", "card_declined_expired", "card_declined_limit", "card_pin_blocked",
    "card_removed", "card_central_unavailable", "card_insert_timeout", "card_reader_fault",
    "card_not_supported", "card_unreadable", "card_cancelled", "card_pin_timeout",
    "card_pin_too_many",
    # maintenance (terminal/maintenance.py errors)
    "not_in_maintenance", "wrong_pin", "locked", "bad_engineer_id", "busy", "cannot_acknowledge",
    "card_refused", "card_required", "no_acceptor", "no_printer", "no_such_alarm", "not_found",
    "pin_not_configured", "wrong_engineer",
)


# Message keys of the citizen services (status, certificates, grievances). The core sends them
# like MESSAGE_KEYS; they join MESSAGE_KEYS once screens/locale carries both languages for them
# (tests/test_ui_i18n.py checks every MESSAGE_KEYS entry has both).
SERVICE_MESSAGE_KEYS = (
    "status_enter_number", "status_number_invalid", "status_found", "status_not_found",
    "certificate_enter_number", "certificate_number_invalid", "certificate_genuine",
    "certificate_expired", "certificate_revoked", "certificate_not_genuine",
    "certificate_not_found", "slip_printed", "slip_print_failed", "grievance_choose",
    "grievance_department_invalid", "grievance_description_invalid", "grievance_mobile_invalid",
    "grievance_photo_offer", "grievance_photo_unavailable", "grievance_review", "form_fill",
    "form_has_errors", "form_review", "form_refused", "form_value_required", "form_value_length",
    "form_value_invalid", "form_date_invalid", "form_check_digit_wrong",
    # documents photographed for an application (terminal/application_service.py)
    "document_show", "document_keep_or_retake", "document_blurred", "document_too_dark",
    "document_too_big", "document_camera_unavailable",
    "info_choose", "info_page", "info_page_not_found", "info_image_unavailable",
)


def intent(name: str, request_id: int = 0, **args: Any) -> str:
    """The JSON text of an intent message."""
    return json.dumps({"type": MSG_INTENT, "id": request_id, "intent": name, "args": args})


def result(request_id: Any, ok: bool, message_key: str | None = None, detail: str = "") -> dict:
    reply: dict[str, Any] = {"type": MSG_RESULT, "id": request_id, "ok": ok}
    if not ok:
        reply["message_key"] = message_key
        reply["detail"] = detail
    return reply


def state_message(state: dict[str, Any], first: bool = False) -> dict[str, Any]:
    """The session state pushed to a client: a snapshot on connect, a state after."""
    return {"type": MSG_SNAPSHOT if first else MSG_STATE, "state": state}


def link_down(detail: str = "") -> dict[str, Any]:
    """The result a client gives itself when the core cannot answer (no link, no reply)."""
    return result(None, False, "please_wait", detail or "the core did not answer")


# -------------------------------------------------------------------- the connection token
# The core writes a fresh random token at every start; a client presents it as
# `Authorization: Bearer <token>` on the WebSocket upgrade (and on GET /state). A client finds
# it: given a token file, else the per-port copy in this user's runtime directory (written by a
# core of the same user: tests, the demo), else the file named by $EMITRA_SESSION_TOKEN_FILE
# (the screen's unit sets it, or `emitra-kiosk ui` from [session_api] token_file).

TOKEN_ENV = "EMITRA_SESSION_TOKEN_FILE"
MAX_TOKEN_BYTES = 256


def runtime_dir() -> Path:
    """This user's private directory for per-port token copies (not created here)."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base and Path(base).is_dir():
        return Path(base) / "emitra-kiosk"
    return Path(tempfile.gettempdir()) / f"emitra-kiosk-{os.getuid()}"


def private_dir_ok(path: Path) -> bool:
    """A directory we own, not a symlink, that no one else can read or write."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077


def index_path(port: int) -> Path:
    return runtime_dir() / f"session-{port}.token"


def token_file_for(config: dict) -> Path:
    """[session_api] token_file, or session.token next to the journal."""
    configured = (config.get("session_api") or {}).get("token_file") or ""
    if configured:
        return Path(configured)
    journal = (config.get("journal") or {}).get("path") or "var/journal.sqlite"
    return Path(journal).parent / "session.token"


def read_token(path: str | Path) -> str | None:
    try:
        with open(path, "rb") as handle:
            text = handle.read(MAX_TOKEN_BYTES).decode("ascii", "replace").strip()
    except OSError:
        return None
    return text or None


def find_token(url: str, token_file: str | Path | None = None) -> str | None:
    """The token for the core at `url` (see above), or None when none is readable."""
    if token_file:
        return read_token(token_file)
    port = urlsplit(url).port
    if port and private_dir_ok(runtime_dir()):
        token = read_token(index_path(port))
        if token:
            return token
    env = os.environ.get(TOKEN_ENV)
    return read_token(env) if env else None


def auth_headers(url: str, token_file: str | Path | None = None) -> dict[str, str]:
    token = find_token(url, token_file)
    return {"Authorization": f"Bearer {token}"} if token else {}
