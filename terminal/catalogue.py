"""Services and providers the kiosk offers (names in both languages, for screens and receipts)."""

from __future__ import annotations

PROVIDERS: dict[str, dict[str, str]] = {
    "JVVNL": {
        "service": "electricity",
        "en": "Jaipur Vidyut Vitran Nigam (JVVNL)",
        "hi": "जयपुर विद्युत वितरण निगम",
    },
    "AVVNL": {
        "service": "electricity",
        "en": "Ajmer Vidyut Vitran Nigam (AVVNL)",
        "hi": "अजमेर विद्युत वितरण निगम",
    },
    "JdVVNL": {
        "service": "electricity",
        "en": "Jodhpur Vidyut Vitran Nigam (JdVVNL)",
        "hi": "जोधपुर विद्युत वितरण निगम",
    },
    "PHED": {
        "service": "water",
        "en": "Public Health Engineering Dept. (PHED)",
        "hi": "जन स्वास्थ्य अभियांत्रिकी विभाग",
    },
    "BSNL": {"service": "phone", "en": "BSNL landline", "hi": "बीएसएनएल लैंडलाइन"},
}

SERVICES: dict[str, dict[str, str]] = {
    "electricity": {"en": "Electricity bill", "hi": "बिजली बिल"},
    "water": {"en": "Water bill", "hi": "पानी का बिल"},
    "phone": {"en": "Phone bill", "hi": "फ़ोन बिल"},
}


def providers_for(service: str) -> list[str]:
    return [code for code, p in PROVIDERS.items() if p["service"] == service]


def catalogue() -> list[dict]:
    """The service list as sent to the screen."""
    return [
        {
            "service": s,
            "name_en": names["en"],
            "name_hi": names["hi"],
            "providers": [
                {"code": c, "name_en": PROVIDERS[c]["en"], "name_hi": PROVIDERS[c]["hi"]}
                for c in providers_for(s)
            ],
        }
        for s, names in SERVICES.items()
    ]
