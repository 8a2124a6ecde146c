"""The catalogue a kiosk uses at its very first start, before it has ever reached central and so
has no cached copy: the bill services and providers the kiosk shipped with (the same table the
kiosk had before the catalogue came from central). Bills need nothing else to be paid, so a new
kiosk can serve citizens at once; the services that need central's data (status, certificates,
grievances, applications) appear with central's catalogue. Never used once a catalogue from
central has been validated and cached (terminal/catalogue_cache.py)."""

from __future__ import annotations

from typing import Any

ADVANCE_SERVICES = ("electricity", "water")  # their providers take advance payment
ADVANCE_OVERSHOOT_PAISE = 500000  # ₹5,000: above the largest note, the account takes it all
VOUCHER_OVERSHOOT_PAISE = 50000  # ₹500: an overshoot that becomes a voucher


def _provider(code: str, service: str, en: str, hi: str) -> dict[str, Any]:
    advance = service in ADVANCE_SERVICES
    return {"code": code, "service": service, "name_en": en, "name_hi": hi,
            "consumer_number": {"pattern": "^[0-9]{6,16}$", "min_len": 6, "max_len": 16},
            "partial_payment": False, "advance_payment": advance,
            "max_overshoot_paise": ADVANCE_OVERSHOOT_PAISE if advance
            else VOUCHER_OVERSHOOT_PAISE}


def _bill(code: str, en: str, hi: str) -> dict[str, Any]:
    return {"code": code, "kind": "bill", "category": "bills", "tenders": ["cash", "card"],
            "fee_paise": 0, "name_en": en, "name_hi": hi}


BUILTIN: dict[str, Any] = {
    "version": "builtin-2",
    "categories": [{"code": "bills", "name_en": "Pay a bill", "name_hi": "बिल जमा करें"}],
    "services": [
        _bill("electricity", "Electricity bill", "बिजली बिल"),
        _bill("water", "Water bill", "पानी का बिल"),
        _bill("phone", "Phone bill", "फ़ोन बिल"),
    ],
    "providers": [
        _provider("JVVNL", "electricity", "Jaipur Vidyut Vitran Nigam (JVVNL)",
                  "जयपुर विद्युत वितरण निगम"),
        _provider("AVVNL", "electricity", "Ajmer Vidyut Vitran Nigam (AVVNL)",
                  "अजमेर विद्युत वितरण निगम"),
        _provider("JdVVNL", "electricity", "Jodhpur Vidyut Vitran Nigam (JdVVNL)",
                  "जोधपुर विद्युत वितरण निगम"),
        _provider("PHED", "water", "Public Health Engineering Dept. (PHED)",
                  "जन स्वास्थ्य अभियांत्रिकी विभाग"),
        _provider("BSNL", "phone", "BSNL landline", "बीएसएनएल लैंडलाइन"),
    ],
    "departments": [],
    "forms": [],
}
