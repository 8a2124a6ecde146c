"""Service catalogue and demo bills of the reference central server.

The five bills named in docs/central-api.md come first and must not change: the demo, the flow
tests and the screenshots rely on them. The rest are extra demo data (one already paid).
"""

from __future__ import annotations

from typing import Any

# service -> providers, in the order the kiosk shows them.
CATALOGUE: list[dict[str, Any]] = [
    {
        "service": "electricity",
        "providers": [
            {
                "code": "JVVNL",
                "name_en": "Jaipur Vidyut Vitran Nigam",
                "name_hi": "जयपुर विद्युत वितरण निगम",
            },
            {
                "code": "AVVNL",
                "name_en": "Ajmer Vidyut Vitran Nigam",
                "name_hi": "अजमेर विद्युत वितरण निगम",
            },
            {
                "code": "JdVVNL",
                "name_en": "Jodhpur Vidyut Vitran Nigam",
                "name_hi": "जोधपुर विद्युत वितरण निगम",
            },
        ],
    },
    {
        "service": "water",
        "providers": [
            {
                "code": "PHED",
                "name_en": "Public Health Engineering Department",
                "name_hi": "जन स्वास्थ्य अभियांत्रिकी विभाग",
            },
        ],
    },
    {
        "service": "phone",
        "providers": [
            {
                "code": "BSNL",
                "name_en": "Bharat Sanchar Nigam Limited",
                "name_hi": "भारत संचार निगम लिमिटेड",
            },
        ],
    },
]


def provider_service(code: str) -> str | None:
    """The service a provider code belongs to, or None for an unknown provider."""
    for entry in CATALOGUE:
        for provider in entry["providers"]:
            if provider["code"] == code:
                return entry["service"]
    return None


# (provider, consumer_number, consumer_name, period, due_paise, due_date, status)
_BILLS: list[tuple[str, str, str, str, int, str, str]] = [
    # The five bills of the spec.
    ("JVVNL", "210412345678", "Ramesh Kumar", "2026-10", 64000, "2026-12-05", "unpaid"),
    ("AVVNL", "110298765432", "Sunita Devi", "2026-10", 123550, "2026-12-07", "unpaid"),
    ("JdVVNL", "310455566677", "Mohan Lal Choudhary", "2026-10", 200000, "2026-12-10", "unpaid"),
    ("PHED", "5012345678", "Geeta Sharma", "2026-10", 35000, "2026-12-15", "unpaid"),
    ("BSNL", "0141222333", "Abdul Rahman", "2026-11", 49900, "2026-12-01", "unpaid"),
    # Extra demo bills.
    ("JVVNL", "210487654321", "Kavita Meena", "2026-10", 18760, "2026-12-05", "unpaid"),
    ("JVVNL", "210400000001", "Vikram Singh Rathore", "2026-10", 52000, "2026-12-05", "paid"),
    ("AVVNL", "110211122233", "Pooja Jain", "2026-10", 9550, "2026-12-07", "unpaid"),
    ("JdVVNL", "310411122233", "Bhanwar Lal", "2026-10", 45000, "2026-12-10", "unpaid"),
    ("PHED", "5098765432", "Suresh Yadav", "2026-10", 12000, "2026-12-15", "unpaid"),
    ("BSNL", "0291555666", "Anita Bishnoi", "2026-11", 79900, "2026-12-01", "unpaid"),
    # A phone bill as large as the JVVNL one: BSNL takes no advance payment, so an overshoot
    # of it becomes a voucher (tests/test_flow.py, tests/test_crash.py, the random-kill runs).
    ("BSNL", "0141640640", "Farida Khan", "2026-11", 64000, "2026-12-01", "unpaid"),
    ("BSNL", "0141350350", "Naresh Gupta", "2026-11", 35000, "2026-12-01", "unpaid"),
]


# The account holder's name as the utility also keeps it in Devanagari (the kiosk shows it,
# masked, on Hindi screens). Not every bill has one: Kavita Meena's and Anita Bishnoi's do not,
# so the Latin fallback is exercised too.
NAMES_HI = {
    "Ramesh Kumar": "रमेश कुमार",
    "Sunita Devi": "सुनीता देवी",
    "Mohan Lal Choudhary": "मोहन लाल चौधरी",
    "Geeta Sharma": "गीता शर्मा",
    "Abdul Rahman": "अब्दुल रहमान",
    "Vikram Singh Rathore": "विक्रम सिंह राठौड़",
    "Pooja Jain": "पूजा जैन",
    "Bhanwar Lal": "भंवर लाल",
    "Suresh Yadav": "सुरेश यादव",
}


def bill_id(provider: str, consumer_number: str, period: str) -> str:
    return f"B-{provider.upper()}-{consumer_number}-{period.replace('-', '')}"


def seed_bills() -> list[dict[str, Any]]:
    """The seeded bills as rows for the store (fresh dicts on every call)."""
    rows = []
    for provider, consumer, name, period, due, due_date, status in _BILLS:
        service = provider_service(provider)
        assert service is not None, provider
        rows.append(
            {
                "bill_id": bill_id(provider, consumer, period),
                "provider": provider,
                "service": service,
                "consumer_number": consumer,
                "consumer_name": name,
                "consumer_name_hi": NAMES_HI.get(name, ""),
                "period": period,
                "due_paise": due,
                "due_date": due_date,
                "status": status,
            }
        )
    return rows
