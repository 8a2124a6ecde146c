"""The reference central's service catalogue (GET /v1/catalogue) and the demo records behind the
citizen services: application statuses, certificates, and the gas provider's bills.

Everything a kiosk shows or charges for a service is data here, not code on the kiosk: the
citizen fee (the e-Mitra schedule: an application ₹10, a grievance ₹5, a utility bill nothing),
the tenders each service takes at the kiosk, consumer-number rules per provider, partial and
advance payment per provider, and the application form definitions. Bump VERSION on any change:
kiosks cache the catalogue by version. Provider names are those kiosks showed before the catalogue
came from central (screens and their screenshots rely on them).
"""

from __future__ import annotations

from typing import Any

from . import seed

VERSION = "2026.12.4"
GRIEVANCE_PROVIDER = "SAMPARK"  # the grievance fee is a bill of Rajasthan Sampark's
APPLICATION_PROVIDER = "RJSJE"  # the pension application's fee: the department's bill
# max_overshoot_paise: how far the last note may go past what is due. Electricity and water take
# advance payment (the overshoot is credited to the consumer's account): ₹5,000, above the largest
# note. Another provider's overshoot becomes a voucher bound to the consumer: up to ₹500 on a bill
# (a ₹640 bill can be paid with two ₹500 notes), ₹100 on a ₹5 or ₹10 fee.
ADVANCE_OVERSHOOT = 500000
VOUCHER_OVERSHOOT = 50000
FEE_OVERSHOOT = 10000


def _names(en: str, hi: str) -> dict[str, str]:
    return {"name_en": en, "name_hi": hi}


def _rule(pattern: str, min_len: int, max_len: int) -> dict[str, Any]:
    return {"pattern": pattern, "min_len": min_len, "max_len": max_len}


CATEGORIES = [
    {"code": "bills", **_names("Pay a bill", "बिल जमा करें")},
    {"code": "applications", **_names("Apply for a service", "सेवा के लिए आवेदन")},
    {"code": "status", **_names("Application status", "आवेदन की स्थिति")},
    {"code": "certificates", **_names("Verify a certificate", "प्रमाण पत्र सत्यापन")},
    {"code": "grievance", **_names("Register a grievance", "शिकायत दर्ज करें")},
]

_BILL = {"kind": "bill", "category": "bills", "tenders": ["cash", "card"], "fee_paise": 0}
SERVICES = [
    {"code": "electricity", **_BILL, **_names("Electricity bill", "बिजली बिल")},
    {"code": "water", **_BILL, **_names("Water bill", "पानी का बिल")},
    {"code": "phone", **_BILL, **_names("Phone / broadband bill", "फ़ोन / ब्रॉडबैंड बिल")},
    {"code": "gas", **_BILL, **_names("Gas bill", "गैस बिल")},
    {"code": "application_status", "kind": "status", "category": "status", "tenders": [],
     "fee_paise": 0, **_names("Application status", "आवेदन की स्थिति")},
    {"code": "certificate_verify", "kind": "certificate", "category": "certificates",
     "tenders": [], "fee_paise": 0, **_names("Verify a certificate", "प्रमाण पत्र सत्यापन")},
    {"code": "grievance", "kind": "grievance", "category": "grievance",
     "tenders": ["cash", "card"], "fee_paise": 500, **_names("Grievance", "शिकायत")},
    {"code": "old_age_pension", "kind": "application", "category": "applications",
     "tenders": ["cash", "card"], "fee_paise": 1000, "form": "old_age_pension",
     **_names("Old-age pension", "वृद्धावस्था पेंशन")},
]

_ELECTRICITY = _rule("^[0-9]{6,16}$", 6, 16)  # K-numbers are 12 digits; old ones are shorter
PROVIDERS = [
    {"code": "JVVNL", "service": "electricity", **_names(
        "Jaipur Vidyut Vitran Nigam (JVVNL)", "जयपुर विद्युत वितरण निगम"),
     "consumer_number": _ELECTRICITY, "partial_payment": False, "advance_payment": True,
     "max_overshoot_paise": ADVANCE_OVERSHOOT,
     "number_hint": {"prefixes": ["21"], "box": [0.52, 0.2, 0.42, 0.16]}},
    {"code": "AVVNL", "service": "electricity", **_names(
        "Ajmer Vidyut Vitran Nigam (AVVNL)", "अजमेर विद्युत वितरण निगम"),
     "consumer_number": _ELECTRICITY, "partial_payment": False, "advance_payment": True,
     "max_overshoot_paise": ADVANCE_OVERSHOOT,
     "number_hint": {"prefixes": ["11"], "box": [0.06, 0.2, 0.42, 0.16]}},
    {"code": "JdVVNL", "service": "electricity", **_names(
        "Jodhpur Vidyut Vitran Nigam (JdVVNL)", "जोधपुर विद्युत वितरण निगम"),
     "consumer_number": _ELECTRICITY, "partial_payment": False, "advance_payment": True,
     "max_overshoot_paise": ADVANCE_OVERSHOOT,
     "number_hint": {"prefixes": ["31"], "box": [0.52, 0.42, 0.42, 0.16]}},
    {"code": "PHED", "service": "water", **_names(
        "Public Health Engineering Dept. (PHED)", "जन स्वास्थ्य अभियांत्रिकी विभाग"),
     "consumer_number": _rule("^[0-9]{6,16}$", 6, 16), "partial_payment": True,
     "advance_payment": True, "max_overshoot_paise": ADVANCE_OVERSHOOT},
    {"code": "BSNL", "service": "phone", **_names(
        "BSNL phone and broadband", "बीएसएनएल फ़ोन और ब्रॉडबैंड"),
     "consumer_number": _rule("^0[0-9]{9,10}$", 10, 11), "partial_payment": False,
     "advance_payment": False, "max_overshoot_paise": VOUCHER_OVERSHOOT},
    {"code": "RSGL", "service": "gas", **_names(
        "Rajasthan State Gas (RSGL)", "राजस्थान स्टेट गैस लिमिटेड"),
     "consumer_number": _rule("^[0-9]{10}$", 10, 10), "partial_payment": False,
     "advance_payment": False, "max_overshoot_paise": VOUCHER_OVERSHOOT},
    {"code": APPLICATION_PROVIDER, "service": "old_age_pension", **_names(
        "Social Justice and Empowerment Dept. (application fee)",
        "सामाजिक न्याय एवं अधिकारिता विभाग (आवेदन शुल्क)"),
     "consumer_number": _rule("^[0-9]{13}$", 13, 13), "partial_payment": False,
     "advance_payment": False, "max_overshoot_paise": FEE_OVERSHOOT},
    {"code": GRIEVANCE_PROVIDER, "service": "grievance", **_names(
        "Rajasthan Sampark (grievance fee)", "राजस्थान संपर्क (शिकायत शुल्क)"),
     "consumer_number": _rule("^[0-9]{13}$", 13, 13), "partial_payment": False,
     "advance_payment": False, "max_overshoot_paise": FEE_OVERSHOOT},
]


def _complaint(code: str, en: str, hi: str) -> dict[str, str]:
    return {"code": code, **_names(en, hi)}


DEPARTMENTS = [
    {"code": "PHED", **_names("Water supply (PHED)", "जल आपूर्ति (जन स्वास्थ्य अभियांत्रिकी)"),
     "categories": [
         {"code": "no_supply", **_names("No water supply", "पानी नहीं आ रहा"), "complaints": [
             _complaint("days", "No water for several days", "कई दिनों से पानी नहीं"),
             _complaint("low_pressure", "Very low pressure", "बहुत कम दबाव"),
         ]},
         {"code": "quality", **_names("Dirty water", "गंदा पानी"), "complaints": [
             _complaint("muddy", "Muddy or smelly water", "मटमैला या बदबूदार पानी"),
         ]},
     ]},
    {"code": "ENERGY", **_names("Electricity", "बिजली"), "categories": [
        {"code": "outage", **_names("Power cut", "बिजली कटौती"), "complaints": [
            _complaint("long_outage", "Power cut for hours", "घंटों से बिजली नहीं"),
            _complaint("transformer", "Transformer burnt", "ट्रांसफार्मर जल गया"),
        ]},
        {"code": "billing", **_names("Wrong bill", "गलत बिल"), "complaints": [
            _complaint("too_high", "Bill far too high", "बिल बहुत ज़्यादा"),
        ]},
    ]},
    {"code": "FOOD", **_names("Ration (food and civil supplies)", "राशन (खाद्य एवं नागरिक आपूर्ति)"),
     "categories": [
         {"code": "ration", **_names("Ration not given", "राशन नहीं मिला"), "complaints": [
             _complaint("denied", "Dealer refused ration", "डीलर ने राशन देने से मना किया"),
             _complaint("short", "Less ration than due", "कम राशन मिला"),
         ]},
     ]},
]

FORMS = [
    {
        "code": "old_age_pension",
        "title_en": "Old-age pension application",
        "title_hi": "वृद्धावस्था पेंशन आवेदन",
        "schema": {
            "type": "object",
            "required": ["name", "date_of_birth", "jan_aadhaar", "mobile"],
            "properties": {
                "name": {"type": "string", "minLength": 2, "maxLength": 60},
                "date_of_birth": {"type": "string", "format": "date"},
                "jan_aadhaar": {"type": "string", "pattern": "^[0-9]{10}$"},
                "aadhaar": {"type": "string", "pattern": "^[0-9]{12}$", "x-check": "verhoeff"},
                "mobile": {"type": "string", "pattern": "^[6-9][0-9]{9}$"},
                "district": {"type": "string", "enum": ["Jaipur", "Ajmer", "Jodhpur"]},
            },
        },
        "layout": [
            {"title_en": "Applicant", "title_hi": "आवेदक",
             "fields": ["name", "date_of_birth", "mobile"]},
            {"title_en": "Identity", "title_hi": "पहचान",
             "fields": ["jan_aadhaar", "aadhaar", "district"]},
        ],
        "labels": {
            "name": {"en": "Full name", "hi": "पूरा नाम"},
            "date_of_birth": {"en": "Date of birth", "hi": "जन्म तिथि"},
            "jan_aadhaar": {"en": "Jan Aadhaar number", "hi": "जन आधार संख्या"},
            "aadhaar": {"en": "Aadhaar number", "hi": "आधार संख्या"},
            "mobile": {"en": "Mobile number", "hi": "मोबाइल नंबर"},
            "district": {"en": "District", "hi": "ज़िला"},
        },
        "documents": [
            {"code": "aadhaar_photo", "label_en": "Aadhaar card photo",
             "label_hi": "आधार कार्ड की फ़ोटो", "required": True},
            {"code": "income_proof", "label_en": "Income proof",
             "label_hi": "आय का प्रमाण", "required": True},
        ],
    },
]


def catalogue() -> dict[str, Any]:
    """The catalogue document as served (a fresh structure on every call)."""
    import copy

    return copy.deepcopy({
        "version": VERSION, "categories": CATEGORIES, "services": SERVICES,
        "providers": PROVIDERS, "departments": DEPARTMENTS, "forms": FORMS,
    })


def provider(code: str) -> dict[str, Any] | None:
    return next((p for p in PROVIDERS if p["code"] == code), None)


def service(code: str) -> dict[str, Any] | None:
    return next((s for s in SERVICES if s["code"] == code), None)


def department(code: str) -> dict[str, Any] | None:
    return next((d for d in DEPARTMENTS if d["code"] == code), None)


# Gas bills (the other providers' bills are seed.py's): (consumer, name, period, due, due date)
_GAS_BILLS = [
    ("4100200300", "Farida Khan", "2026-11", 84500, "2026-12-12"),
    ("4100200301", "Harish Purohit", "2026-11", 61200, "2026-12-12"),
]


def gas_bills() -> list[dict[str, Any]]:
    return [
        {"bill_id": seed.bill_id("RSGL", number, period), "provider": "RSGL", "service": "gas",
         "consumer_number": number, "consumer_name": name, "period": period, "due_paise": due,
         "due_date": due_date, "status": "unpaid"}
        for number, name, period, due, due_date in _GAS_BILLS
    ]


# Applications: number -> (service, stage, stage date, office, status, next step en / hi,
# stage hi, office hi)
APPLICATIONS = {
    "2026110400101": ("old_age_pension", "Verified by the Tehsildar", "2026-11-20",
                      "Tehsil office, Sanganer, Jaipur", "in_progress",
                      "Nothing to do now; wait for sanction.",
                      "अभी कुछ नहीं करना है; स्वीकृति की प्रतीक्षा करें।",
                      "तहसीलदार ने जाँच कर ली है", "तहसील कार्यालय, सांगानेर, जयपुर"),
    "2026110400102": ("labour_card", "Documents returned", "2026-11-25",
                      "Labour office, Ajmer", "awaiting_citizen",
                      "Upload a clear copy of your bank passbook.",
                      "बैंक पासबुक की साफ़ प्रति अपलोड करें।",
                      "दस्तावेज़ लौटाए गए", "श्रम कार्यालय, अजमेर"),
    "2026110400103": ("ration_card", "Approved", "2026-11-28",
                      "District supply office, Jodhpur", "approved",
                      "Collect the ration card at your e-Mitra.",
                      "राशन कार्ड अपने ई-मित्र से प्राप्त करें।",
                      "मंज़ूर हो गया", "ज़िला रसद कार्यालय, जोधपुर"),
}

# Certificates: number -> (type, holder, issued on, issued by, status, details)
CERTIFICATES = {
    "RJCC2026000451": ("caste", "Sita Ram Meghwal", "2026-03-14", "Tehsildar, Sanganer",
                       "valid", {"caste": "Meghwal", "category": "SC"}),
    "RJDC2026000452": ("domicile", "Lakshmi Sharma", "2026-05-02", "SDM, Ajmer", "valid",
                       {"district": "Ajmer"}),
    "RJIC2026000453": ("income", "Govind Singh", "2025-09-10", "Tehsildar, Jodhpur",
                       "expired", {"annual_income_rupees": "96000"}),
    "RJBC2026000454": ("birth", "Aarav Jain", "2026-01-08", "Registrar, Jaipur Nagar Nigam",
                       "valid", {"date_of_birth": "2026-01-02", "place": "Jaipur"}),
    "RJMC2026000455": ("marriage", "Ravi Kumar & Pooja Kumari", "2026-02-20",
                       "Registrar of marriages, Jaipur", "revoked", {"date": "2026-02-14"}),
}
