"""Application forms as central defines them in the catalogue (a JSON Schema subset for the
fields, a layout, Hindi and English labels): the definition checked before it is used
(`check_definition`, from terminal/catalogue.py), and a citizen's answers checked against it
(`check_answers`), including the Verhoeff check digit of Aadhaar numbers.

The subset: every field is a string with optional minLength / maxLength, pattern, enum, format
"date" (YYYY-MM-DD, a real day) and "x-check": "verhoeff". Patterns come from central, so they are
short, of plain characters, with no quantified group (no "(a+)+": nothing that backtracks
without end), and only run on answers already cut to the field's maxLength (at most 256).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

MAX_ANSWER = 256  # the session guard passes no string argument longer than this
MAX_ENUM = 64
FIELD_KEYS = {"type", "minLength", "maxLength", "pattern", "enum", "format", "x-check"}
PATTERN_CHARS = re.compile(r"[\^$\[\]0-9A-Za-z{},|()?*+\\ .-]{1,64}")
_QUANTIFIED_GROUP = re.compile(r"\)[+*?{]")

# Verhoeff's dihedral-group tables (multiplication, permutation, inverse).
_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6], [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4], [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
_P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2], [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]
_INV = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9]


class FormError(ValueError):
    """A form definition that must not be used."""


def _checksum(digits: str) -> int:
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _D[c][_P[i % 8][int(ch)]]
    return c


def verhoeff_ok(number: str) -> bool:
    """True when the last digit is the Verhoeff check digit of the others (Aadhaar's rule)."""
    return number.isascii() and number.isdigit() and _checksum(number) == 0


def verhoeff_digit(digits: str) -> str:
    """The check digit to append to `digits`."""
    return str(_INV[_checksum(digits + "0")])


def safe_pattern(pattern: Any) -> re.Pattern[str] | None:
    """A pattern from central, compiled, or None when it is not short, plain and bounded."""
    if not isinstance(pattern, str) or not PATTERN_CHARS.fullmatch(pattern) \
            or _QUANTIFIED_GROUP.search(pattern):
        return None
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _length(spec: dict[str, Any], key: str, default: int) -> int:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ANSWER:
        raise FormError(f"{key} must be 0..{MAX_ANSWER}")
    return value


def check_definition(schema: dict[str, Any]) -> None:
    """Raise FormError unless every field uses only the subset above, within its bounds."""
    for name, spec in schema["properties"].items():
        if not isinstance(spec, dict) or spec.get("type") != "string" \
                or not set(spec) <= FIELD_KEYS:
            raise FormError(f"field {name}: only string fields with {sorted(FIELD_KEYS)}")
        if _length(spec, "minLength", 0) > _length(spec, "maxLength", MAX_ANSWER):
            raise FormError(f"field {name}: minLength over maxLength")
        if "pattern" in spec and safe_pattern(spec["pattern"]) is None:
            raise FormError(f"field {name}: pattern not short, plain and bounded")
        enum = spec.get("enum")
        if enum is not None and (not isinstance(enum, list) or not 0 < len(enum) <= MAX_ENUM
                                 or not all(isinstance(e, str) and 0 < len(e) <= 64
                                            and e.isprintable() for e in enum)):
            raise FormError(f"field {name}: enum must be 1-{MAX_ENUM} short strings")
        if spec.get("format", "date") != "date" or spec.get("x-check", "verhoeff") != "verhoeff":
            raise FormError(f"field {name}: unknown format or check")


def _real_date(text: str) -> bool:
    try:
        return re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text) is not None \
            and date.fromisoformat(text) <= date.today()
    except ValueError:
        return False


def field_error(spec: dict[str, Any], value: str) -> str | None:
    """The message key of what is wrong with one answer, or None."""
    if len(value) < spec.get("minLength", 0) or len(value) > spec.get("maxLength", MAX_ANSWER):
        return "form_value_length"
    if not value.isprintable():
        return "form_value_invalid"
    pattern = safe_pattern(spec["pattern"]) if "pattern" in spec else None
    if pattern is not None and pattern.fullmatch(value) is None:
        return "form_value_invalid"
    if "enum" in spec and value not in spec["enum"]:
        return "form_value_invalid"
    if spec.get("format") == "date" and not _real_date(value):
        return "form_date_invalid"
    if spec.get("x-check") == "verhoeff" and not verhoeff_ok(value):
        return "form_check_digit_wrong"
    return None


def check_answers(schema: dict[str, Any], answers: dict[str, Any]
                  ) -> tuple[dict[str, str], dict[str, str]]:
    """(the answers kept, the errors by field). Unknown fields are dropped; an empty optional
    field is left out; a missing required field is `form_value_required`."""
    kept: dict[str, str] = {}
    errors: dict[str, str] = {}
    required = set(schema.get("required", []))
    for name, spec in schema["properties"].items():
        raw = answers.get(name)
        value = raw.strip() if isinstance(raw, str) else ""
        if not value:
            if name in required:
                errors[name] = "form_value_required"
            continue
        problem = field_error(spec, value)
        if problem:
            errors[name] = problem
        else:
            kept[name] = value
    return kept, errors


MAX_FORM_DOCUMENTS = 4
_DOC_CODE = re.compile(r"[a-z][a-z0-9_]{0,31}")


def check_documents(raw: Any) -> list[dict[str, Any]]:
    """The documents a form asks for, photographed at the kiosk: a list (maybe empty) of
    {code, label_en, label_hi, required}; raise FormError unless each is plain and short."""
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_FORM_DOCUMENTS:
        raise FormError(f"documents: a list of at most {MAX_FORM_DOCUMENTS}")
    out: list[dict[str, Any]] = []
    for doc in raw:
        if not isinstance(doc, dict) or set(doc) != {"code", "label_en", "label_hi", "required"}:
            raise FormError("documents: each is {code, label_en, label_hi, required}")
        if not isinstance(doc["code"], str) or not _DOC_CODE.fullmatch(doc["code"]):
            raise FormError("documents: code must be short lower-case letters and digits")
        for key in ("label_en", "label_hi"):
            if not isinstance(doc[key], str) or not 0 < len(doc[key]) <= 60 \
                    or not doc[key].isprintable():
                raise FormError(f"documents: {key} must be short printable text")
        if not isinstance(doc["required"], bool):
            raise FormError("documents: required must be true or false")
        out.append(dict(doc))
    if len({d["code"] for d in out}) != len(out):
        raise FormError("documents: codes must differ")
    return out
