"""The screen's words without a window: both gettext catalogues complete, every message key of
the session API translated, every key the screens ask for present, money in rupees."""

from __future__ import annotations

import gettext
import io
import re
from pathlib import Path

import pytest

from screens import fmt
from screens.content import (
    ATTRACT_HINTS,
    HOME_TILES,
    REASONS,
    SCANNER_POSITIONS,
    SERVICES,
    VERIFY_MESSAGE_KEYS,
    VERIFY_VERDICTS,
)
from screens.i18n import LANGUAGES, Translator, compile_mo, parse_po, po_path
from terminal.api_messages import MESSAGE_KEYS
from terminal.qr import QR_MESSAGE_KEYS

# Everything the core may put in state.message / state.lookup / a result: the session API's keys,
# plus the QR parser's and the screens' QR check keys (in case one is missing from MESSAGE_KEYS).
CORE_KEYS = tuple(dict.fromkeys((*MESSAGE_KEYS, *QR_MESSAGE_KEYS, *VERIFY_MESSAGE_KEYS)))

SCREENS = Path(__file__).resolve().parent.parent / "screens"
DEVANAGARI = re.compile("[\u0900-\u097f]")


def catalogue(lang: str) -> dict[str, str]:
    path = po_path(lang)
    return parse_po(path.read_text(encoding="utf-8"), str(path))


def keys_used_by_screens() -> set[str]:
    """Literal keys passed to app.tr(...) in the .kv file and the Python modules."""
    used: set[str] = set()
    pattern = re.compile(r"""\btr\(\s*["']([a-z0-9_]+)["']""")
    for path in [*SCREENS.glob("*.py"), *SCREENS.glob("*.kv")]:
        found = pattern.findall(path.read_text(encoding="utf-8"))
        used |= {key for key in found if not key.endswith("_")}  # "month_" + m: a prefix
    for _tid, _icon, title, subtitle, _service in HOME_TILES:
        used |= {title, subtitle}
    used |= {f"month_{m:02d}" for m in range(1, 13)}
    used |= set(ATTRACT_HINTS)
    used |= {f"service_{s}" for s in SERVICES}
    used |= {f"reason_{r}" for r in REASONS}
    used |= {f"verify_where_{p}" for p in SCANNER_POSITIONS}
    used |= {f"verify_status_{s}" for s in ("active", "redeemed")}
    return used


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_session_api_message_key_is_translated(lang):
    entries = catalogue(lang)
    missing = [key for key in CORE_KEYS if not entries.get(key)]
    assert not missing, f"{lang}: no text for {missing}"
    for key in CORE_KEYS:
        assert "_" not in entries[key], f"{lang}: {key} looks like a code: {entries[key]!r}"


def test_every_qr_verdict_has_a_mark_and_the_parser_keys_are_covered():
    assert set(QR_MESSAGE_KEYS) - {"qr_receipt_checking", "qr_voucher_checking"} <= set(
        VERIFY_VERDICTS
    )
    assert set(VERIFY_VERDICTS.values()) <= {"good", "bad", "warn", "info"}
    hi, en = catalogue("hi"), catalogue("en")
    assert hi["qr_upi_not_accepted"] == "यह यूपीआई का क्यूआर कोड है — इस मशीन पर यूपीआई से भुगतान नहीं होता"
    assert hi["qr_receipt_genuine"] == "यह रसीद असली है"
    assert hi["qr_aadhaar_not_needed"].startswith("आधार की ज़रूरत नहीं है")
    for key, verdict in VERIFY_VERDICTS.items():
        if verdict == "bad":  # never the citizen's fault: say what to do
            assert "हेल्पलाइन" in hi[key] and "helpline" in en[key], key


def test_catalogues_have_the_same_keys_and_hindi_is_hindi():
    hi, en = catalogue("hi"), catalogue("en")
    assert set(hi) == set(en)
    same_in_both = {"", "app_title", "lang_hi", "lang_en"}
    for key, text in hi.items():
        if key not in same_in_both and not key.startswith("help_step"):
            assert DEVANAGARI.search(text), f"hi {key} has no Hindi: {text!r}"


def test_every_key_the_screens_use_exists():
    entries = catalogue("hi")
    missing = sorted(k for k in keys_used_by_screens() if k not in entries)
    assert not missing


def test_style_guide_words():
    hi = catalogue("hi")
    expected = {
        "key_continue": "आगे बढ़ें",
        "btn_back": "वापस",
        "btn_cancel": "रद्द करें",
        "key_delete": "मिटाएँ",
        "amount_due": "बिल की रकम",
        "amount_paid": "आपने डाले",
        "amount_remaining": "और डालने हैं",
        "insert_note": "नोट डालें",
        "accepted_notes": "ये नोट डाल सकते हैं",
        "note_returned_title": "यह नोट वापस आ गया है — ले लें",
        "note_insert_flat": "नोट सीधा डालें",
        "please_wait": "थोड़ा रुकें",
        "payment_successful": "भुगतान हो गया",
        "take_receipt": "अपनी रसीद लें",
        "voucher_label": "बचे पैसे की पर्ची (वाउचर)",
        "voucher_hint": "अगली बार बिल भरते समय काम आएगी",
        "tile_verify_sub": "क्यूआर कोड दिखाएँ",
        "tile_verify": "प्रमाण-पत्र जाँचें",
        "scan_qr": "क्यूआर कोड दिखाएँ",
        "tile_status": "आवेदन की स्थिति",
        "more_time_title": "और समय चाहिए?",
        "btn_no_finish": "नहीं, खत्म करें",
        "take_both_slips": "अपनी दोनों पर्चियाँ लें",
        "take_card": "अपना कार्ड निकालें",
        "identify_hint": "दाईं ओर के बटन से नंबर दबाएँ",
        "qr_receipt_not_genuine": "यह रसीद हमारे रिकॉर्ड में नहीं मिली — मदद के लिए हेल्पलाइन पर फ़ोन करें",
        "service_unavailable": "माफ़ कीजिए, यह सेवा अभी बंद है",
        "money_safe": "आपका पैसा सुरक्षित है",
        "oos_title": "मशीन अभी बंद है",
        "btn_help": "मदद",
        "thank_you": "धन्यवाद",
        "service_electricity": "बिजली बिल",
        "service_water": "पानी का बिल",
        "service_phone": "फ़ोन बिल",
        "tile_pay": "बिल भरें",
        "print_failed_money_safe": "रसीद नहीं छप सकी — आपका पैसा सुरक्षित है",
    }
    for key, words in expected.items():
        assert hi[key] == words, key


def test_our_msgfmt_round_trips_through_stdlib_gettext():
    for lang in LANGUAGES:
        entries = catalogue(lang)
        translations = gettext.GNUTranslations(io.BytesIO(compile_mo(entries)))
        for key, text in entries.items():
            if key:
                assert translations.gettext(key) == text


def test_translator_falls_back_without_showing_a_key():
    t = Translator()
    assert t.text("insert_note", "hi") == "नोट डालें"
    assert t.text("insert_note", "en") == "Insert a note"
    assert t.text("no_such_key", "hi") == t.text("bad_request", "hi")
    assert t.text("oos_helpline", "hi", number="181") == "हेल्पलाइन: 181"


def test_po_errors_name_the_line():
    with pytest.raises(ValueError, match=":2:"):
        parse_po('msgid "a"\nmsgid "b"\n', "x.po")


@pytest.mark.parametrize(
    "paise, text",
    [
        (0, "₹0"),
        (64000, "₹640"),
        (123550, "₹1,235.50"),
        (10000000, "₹1,00,000"),
        (12564000, "₹1,25,640"),
        (1000000000, "₹1,00,00,000"),
    ],
)
def test_rupees_with_indian_grouping(paise, text):
    assert fmt.rupees(paise) == text


def test_dates_and_numbers_for_people():
    assert fmt.date_dmy("2026-12-05") == "05-12-2026"
    assert fmt.date_time_dmy("2026-11-23T11:05:00.123Z") == "23-11-2026 16:35"  # IST
    assert fmt.date_time_dmy("2026-11-23") == "23-11-2026"
    assert fmt.period_parts("2026-10") == ("10", "2026")
    assert fmt.spaced_digits("210412345678") == "2104 1234 5678"
    assert fmt.script_of("नोट डालें") == "deva"
    assert fmt.script_of("रसीद संख्या: RCPT-1") == "mixed"
    assert fmt.script_of("₹640") == "latin"
