"""Formatting for people: rupees with Indian grouping, dates, consumer numbers. No Kivy here."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

DEVANAGARI = re.compile("[\u0900-\u097f]")
LATIN_LETTER = re.compile("[A-Za-z]")
IST = timezone(timedelta(hours=5, minutes=30), "IST")


def group_indian(n: int) -> str:
    """1234567 -> "12,34,567": the last three digits, then groups of two."""
    digits = str(abs(int(n)))
    head, tail = digits[:-3], digits[-3:]
    groups: list[str] = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    return ",".join([*groups, tail])


def rupees(paise: int | None) -> str:
    """64000 -> "₹640"; 10000000 -> "₹1,00,000"; 123550 -> "₹1,235.50". Never shows paise
    as a unit: money on screen is rupees."""
    if paise is None:
        return ""
    rupee, rest = divmod(int(paise), 100)
    text = "₹" + group_indian(rupee)
    if rest:
        text += f".{rest:02d}"
    return text


def date_dmy(iso: str | None) -> str:
    """ "2026-12-05" -> "05-12-2026" (the order people in Rajasthan read dates)."""
    if not iso:
        return ""
    match = re.match(r"^(\d{4})-(\d{2})-(\d{2})", iso)
    if not match:
        return iso
    year, month, day = match.groups()
    return f"{day}-{month}-{year}"


def date_time_dmy(iso: str | None) -> str:
    """A moment from central (ISO 8601, UTC when no zone is given) as the receipt prints it,
    in India time: "2026-11-23T11:05:00.123Z" -> "23-11-2026 16:35". A bare date stays a date."""
    if not iso:
        return ""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", iso):
        return date_dmy(iso)
    try:
        moment = datetime.fromisoformat(iso.strip())
    except ValueError:
        return date_dmy(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(IST).strftime("%d-%m-%Y %H:%M")


def period_parts(period: str | None) -> tuple[str, str] | None:
    """ "2026-10" -> ("10", "2026"), for "अक्टूबर 2026"; None if not year-month."""
    match = re.match(r"^(\d{4})-(\d{2})$", period or "")
    if not match:
        return None
    return match.group(2), match.group(1)


def spaced_digits(digits: str) -> str:
    """ "210412345678" -> "2104 1234 5678": easier to check against the paper bill."""
    return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))


def script_of(text: str) -> str:
    """ "deva" (Devanagari only), "mixed" (Devanagari and Latin letters) or "latin"."""
    if DEVANAGARI.search(text or ""):
        return "mixed" if LATIN_LETTER.search(text) else "deva"
    return "latin"
