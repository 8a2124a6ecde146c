"""The kiosk's own time zone ([terminal] timezone): what receipts, slips and the screen's clock
print. Stored times stay UTC; only what a person reads is local.

A fresh Debian machine may lack the tz database (no tzdata package): India's zone, the default,
then still works from a fixed +05:30 offset (India has had no daylight saving since 1945), and
UTC always works; any other name needs the database and is refused by config if it is missing.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "Asia/Kolkata"
_FIXED: dict[str, tzinfo] = {
    "Asia/Kolkata": timezone(timedelta(hours=5, minutes=30), "IST"),
    "Asia/Calcutta": timezone(timedelta(hours=5, minutes=30), "IST"),
    "UTC": UTC,
}
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}")


@functools.lru_cache(maxsize=8)
def zone(name: str = DEFAULT_ZONE) -> tzinfo:
    """The tzinfo for an IANA name; ValueError if the name is unknown here."""
    if not _NAME.fullmatch(name or ""):
        raise ValueError(f"not a time zone name: {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        if name in _FIXED:
            return _FIXED[name]
        raise ValueError(f"unknown time zone {name!r}") from None


def local(moment: datetime, name: str = DEFAULT_ZONE) -> datetime:
    """A moment (naive = UTC, as the journal stores it) in the kiosk's zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone(name))


def stamp(moment: datetime, name: str = DEFAULT_ZONE) -> str:
    """ "23-11-2026 16:35 IST": the day-month-year order people here read, with the zone's
    abbreviation so nobody has to guess whether a slip is in UTC."""
    when = local(moment, name)
    return f"{when:%d-%m-%Y %H:%M} {when.tzname() or name}"


def clock(moment: datetime, name: str = DEFAULT_ZONE) -> str:
    """ "16:35": the header clock."""
    return f"{local(moment, name):%H:%M}"


def known_zone(name: object, fallback: str = DEFAULT_ZONE) -> str:
    """`name` if it is a zone this machine knows, else `fallback` (a state from the core or a
    config typo must not stop the screen's clock)."""
    if isinstance(name, str):
        try:
            zone(name)
            return name
        except ValueError:
            pass
    return fallback
