"""What the screens offer and say, as data (no Kivy here, so tests can read it)."""

from __future__ import annotations

HOME_TILES = (
    # (tile id, icon, title key, subtitle key, what it opens: a bill service the core offers,
    #  VERIFY = the QR check (intent "verify"), or None = not on this machine yet)
    ("tile_electricity", "bolt", "service_electricity", "tile_pay", "electricity"),
    ("tile_water", "drop", "service_water", "tile_pay", "water"),
    ("tile_phone", "phone", "service_phone", "tile_pay", "phone"),
    ("tile_verify", "qr", "tile_verify", "tile_verify_sub", "verify"),
    ("tile_status", "search", "tile_status", "tile_status_sub", None),
    ("tile_reprint", "receipt", "tile_reprint", "tile_reprint_sub", None),
)

VERIFY = "verify"

ATTRACT_HINTS = ("attract_hint_1", "attract_hint_2", "attract_hint_3")

# services.reasons from the core -> words for citizens (reason_<name> in the catalogues)
REASONS = (
    "acceptor_unavailable",
    "printer_unavailable",
    "printer_out_of_paper",
    "out_of_service_by_control_room",
    "journal_storage_full",
    "other",
)

SERVICES = ("electricity", "water", "phone")

# The QR check (state.lookup): every message key the VERIFY screen may show, and how each one
# is marked. The mark's SHAPE carries the meaning (tick / cross / exclamation / i), colour only
# repeats it: good = tick, green; bad = cross, red; warn = "!"; info = "i".
VERIFY_VERDICTS = {
    "qr_receipt_genuine": "good",
    "qr_voucher_active": "good",
    "qr_voucher_valid": "good",
    "qr_receipt_not_genuine": "bad",
    "qr_voucher_invalid": "bad",
    "qr_receipt_unknown": "warn",
    "qr_check_unavailable": "warn",
    "qr_emitra_damaged": "warn",
    "qr_voucher_redeemed": "info",
    "qr_upi_not_accepted": "info",
    "qr_aadhaar_not_needed": "info",
    "qr_bill_found": "info",
    "qr_bill_provider_unknown": "info",
    "qr_bill_provider_not_served": "info",
    "qr_bill_number_invalid": "info",
    "qr_empty": "info",
    "qr_too_long": "info",
    "qr_unreadable": "info",
    "qr_not_recognised": "info",
}
VERIFY_MESSAGE_KEYS = (
    "scan_qr",
    "qr_receipt_checking",
    "qr_voucher_checking",
    "device_problem_money_safe",
    *VERIFY_VERDICTS,
)
# Where the QR scanner sits on this cabinet ([ui] scanner_position): which hint and arrow to show.
SCANNER_POSITIONS = ("below", "right", "left")
