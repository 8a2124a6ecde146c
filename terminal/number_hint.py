"""A provider's help for finding the consumer number, as central's catalogue may give it
(optional; docs/central-api.md): where the number is printed on its bill, and the first digits
its numbers start with, so the kiosk can suggest the company to a citizen who does not know it.

    "number_hint": {"prefixes": ["21"], "box": [0.52, 0.18, 0.42, 0.16]}

`box` is x, y, width, height as fractions of the bill's page, from its top-left corner. Like
everything from central it is hostile until checked: a short list of short digit strings, four
numbers within the page; anything else refuses the catalogue (catalogue.validate says where).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

MAX_PREFIXES = 8
MAX_PREFIX_LEN = 8


class NumberHintError(ValueError):
    """A number_hint that must not be used (the message says what is wrong)."""


def check(raw: Any) -> dict[str, Any] | None:
    """The checked hint (a new structure), None when the provider gives none."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or not set(raw) <= {"prefixes", "box"}:
        raise NumberHintError("number_hint must be an object of prefixes and box")
    out: dict[str, Any] = {}
    prefixes = raw.get("prefixes", [])
    if not isinstance(prefixes, list) or len(prefixes) > MAX_PREFIXES or not all(
        isinstance(p, str) and 1 <= len(p) <= MAX_PREFIX_LEN and p.isascii() and p.isdigit()
        for p in prefixes
    ):
        raise NumberHintError(
            f"number_hint.prefixes must be at most {MAX_PREFIXES} strings of 1-"
            f"{MAX_PREFIX_LEN} digits")
    out["prefixes"] = list(dict.fromkeys(prefixes))
    box = raw.get("box")
    if box is not None:
        if not isinstance(box, list) or len(box) != 4 or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            and 0 <= v <= 1 for v in box
        ):
            raise NumberHintError("number_hint.box must be four fractions from 0 to 1")
        x, y, w, h = (float(v) for v in box)
        if w <= 0 or h <= 0 or x + w > 1 or y + h > 1:
            raise NumberHintError("number_hint.box must lie within the bill's page")
        out["box"] = [x, y, w, h]
    return out


def matches(prefixes: Iterable[str], digits: str) -> str:
    """How typed digits fit a provider's prefixes: "yes" (they start with one), "maybe" (too
    few digits yet, but one starts with them), "no"."""
    found = "no"
    for prefix in prefixes:
        if digits.startswith(prefix):
            return "yes"
        if prefix.startswith(digits):
            found = "maybe"
    return found


def suggest(providers: Iterable[Mapping[str, Any]], digits: str) -> list[Mapping[str, Any]]:
    """The providers a number starting with `digits` may belong to, surest first: those whose
    prefix the digits already start with, then those still possible. None for no digits, and
    none of the providers that give no prefixes (the kiosk cannot tell for them)."""
    if not digits or not digits.isdigit():
        return []
    sure: list[Mapping[str, Any]] = []
    maybe: list[Mapping[str, Any]] = []
    for provider in providers:
        hint = provider.get("number_hint") or {}
        fit = matches(hint.get("prefixes") or (), digits)
        if fit == "yes":
            sure.append(provider)
        elif fit == "maybe":
            maybe.append(provider)
    return sure + maybe
