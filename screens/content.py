"""What the screens offer and say, as data (no Kivy here, so tests can read it)."""

from __future__ import annotations

HOME_TILES = (
    # (tile id, icon, title key, subtitle key, service offered by the core or None = not yet)
    ("tile_electricity", "bolt", "service_electricity", "tile_pay", "electricity"),
    ("tile_water", "drop", "service_water", "tile_pay", "water"),
    ("tile_phone", "phone", "service_phone", "tile_pay", "phone"),
    ("tile_verify", "qr", "tile_verify", "tile_verify_sub", None),
    ("tile_status", "search", "tile_status", "tile_status_sub", None),
    ("tile_reprint", "receipt", "tile_reprint", "tile_reprint_sub", None),
)

ATTRACT_HINTS = ("attract_hint_1", "attract_hint_2", "attract_hint_3")

# services.reasons from the core -> words for citizens (reason_<name> in the catalogues)
REASONS = (
    "acceptor_unavailable",
    "printer_unavailable",
    "printer_out_of_paper",
    "out_of_service_by_control_room",
    "other",
)

SERVICES = ("electricity", "water", "phone")
