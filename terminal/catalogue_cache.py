"""The catalogue kept on disk and refreshed from central, and the home screen's tiles from it.

At start the cached copy (catalogue.json beside the journal) is validated and put in force, so
the home screen works while central is unreachable. In the background the kiosk asks central for
the catalogue; a new version that validates is written (atomically) and put in force. A copy that
does not validate, from disk or from central, is never used: the last good one stays in force
and an alarm is raised (maintenance's alarm board, so the engineer and the control room see it).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from terminal import catalogue
from terminal.catalogue import CatalogueError
from terminal.catalogue_builtin import BUILTIN
from terminal.logs import log_event

log = logging.getLogger("kiosk")

MAX_BYTES = 256 * 1024  # far above the reference catalogue (~10 KiB)
REFRESH_S = 900.0  # a catalogue changes rarely; a kiosk restart also refreshes
RETRY_S = 60.0  # after a failed fetch
ALARM_BAD_CACHE = "catalogue_cache_invalid"
ALARM_BAD_CENTRAL = "catalogue_invalid"
# The kinds of service this kiosk has a flow for: only these become home tiles (no dead tiles).
FLOW_KINDS = ("bill", "status", "certificate", "grievance", "application")

Fetch = Callable[[], Awaitable[Any]]
Alarm = Callable[[str, str], bool]  # raised now? (False: no alarm board yet, try later)


def cache_path(config: dict) -> Path:
    """catalogue.json in the journal's directory (the kiosk's var directory)."""
    journal = (config.get("journal") or {}).get("path") or "var/journal.sqlite"
    return Path(journal).parent / "catalogue.json"


class CatalogueCache:
    def __init__(self, path: Path, fetch: Fetch, alarm: Alarm,
                 changed: Callable[[], None] = lambda: None) -> None:
        self.path = path
        self.fetch = fetch
        self.alarm = alarm
        self.changed = changed
        self.pending_alarms: dict[str, str] = {}
        self.last_error: str | None = None
        self.load()

    def load(self) -> bool:
        """Put the cached copy in force; False (and an alarm) if there is none that is good."""
        try:
            with open(self.path, "rb") as handle:
                raw = handle.read(MAX_BYTES + 1)
        except FileNotFoundError:
            catalogue.install(catalogue.validate(BUILTIN))  # the first start: bills only
            return False
        except OSError as exc:
            catalogue.install(catalogue.validate(BUILTIN))
            self._bad(ALARM_BAD_CACHE, f"cannot read {self.path.name}: {exc.strerror}")
            return False
        try:
            if len(raw) > MAX_BYTES:
                raise CatalogueError(f"larger than {MAX_BYTES} bytes")
            checked = catalogue.validate(json.loads(raw))
        except (ValueError, RecursionError) as exc:  # CatalogueError is a ValueError
            catalogue.install(catalogue.validate(BUILTIN))  # no good copy was ever in force
            self._bad(ALARM_BAD_CACHE, f"cached catalogue refused: {str(exc)[:200]}")
            return False
        catalogue.install(checked)
        log_event(log, "catalogue loaded", version=checked["version"], source="cache")
        return True

    async def refresh(self) -> bool:
        """Ask central once. True when the catalogue in force is central's current one."""
        self._raise_pending()
        try:
            doc = await self.fetch()
        except Exception as exc:  # central down or refusing: keep what we have
            self.last_error = type(exc).__name__
            log_event(log, "catalogue fetch failed", logging.WARNING, error=str(exc)[:200])
            return False
        try:
            text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
            if len(text.encode()) > MAX_BYTES:
                raise CatalogueError(f"larger than {MAX_BYTES} bytes")
            checked = catalogue.validate(doc)
        except (ValueError, TypeError, RecursionError) as exc:
            self._bad(ALARM_BAD_CENTRAL, f"central's catalogue refused: {str(exc)[:200]}")
            return False
        self.last_error = None
        if checked["version"] == catalogue.version():
            return True
        self._write(text)
        catalogue.install(checked)
        log_event(log, "catalogue loaded", version=checked["version"], source="central")
        self.changed()
        return True

    async def run(self, refresh_s: float = REFRESH_S, retry_s: float = RETRY_S) -> None:
        """Refresh for as long as the kiosk runs (a task of the kiosk's)."""
        loop = asyncio.get_running_loop()
        while True:
            ok = await self.refresh()
            until = loop.time() + (refresh_s if ok else retry_s)
            while loop.time() < until:
                await asyncio.sleep(1.0)
                self._raise_pending()  # the alarm board comes up after the kiosk starts

    def _write(self, text: str) -> None:
        """Replace the cache atomically: a power cut leaves the old copy or the new one."""
        tmp = self.path.with_suffix(".json.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:  # in force anyway; cached again at the next refresh
            log_event(log, "catalogue not cached", logging.WARNING, error=str(exc))

    def _bad(self, code: str, message: str) -> None:
        log_event(log, "catalogue refused", logging.ERROR, code=code, error=message)
        self.pending_alarms[code] = message
        self._raise_pending()

    def _raise_pending(self) -> None:
        for code, message in list(self.pending_alarms.items()):
            if self.alarm(code, message):
                del self.pending_alarms[code]


# ---------------------------------------------------------------- the home screen


def payable(svc: dict[str, Any], services_now: dict[str, Any]) -> bool:
    """Can the citizen pay for this service now, by a tender it takes?"""
    tenders = svc["tenders"]
    return ("cash" in tenders and bool(services_now.get("cash_payment"))) or (
        "card" in tenders and bool(services_now.get("card_payment")))


def usable(svc: dict[str, Any], services_now: dict[str, Any]) -> bool:
    if svc["kind"] not in FLOW_KINDS or not services_now.get("lookup", True):
        return False
    if svc["kind"] == "application" and svc["fee_paise"] == 0:
        return False  # the fee is how an application is submitted (no free ones yet)
    if svc["kind"] == "bill" or svc["fee_paise"] > 0:
        return payable(svc, services_now)
    return True


def home_view(services_now: dict[str, Any]) -> dict[str, Any]:
    """state.home: the catalogue's categories, each with its services usable now. A category
    with none is left out, so every tile on the home screen leads somewhere."""
    cat = catalogue.current()
    tiles = []
    for code, category in cat["categories"].items():
        entries = []
        for svc in cat["services"].values():
            if svc["category"] != code or not usable(svc, services_now):
                continue
            providers = [p["code"] for p in cat["providers"].values()
                         if p["service"] == svc["code"]]
            if svc["kind"] == "bill" and not providers:
                continue
            entries.append({
                "service": svc["code"], "kind": svc["kind"], "name_en": svc["name_en"],
                "name_hi": svc["name_hi"], "fee_paise": svc["fee_paise"],
                "tenders": list(svc["tenders"]),
                "providers": providers if svc["kind"] == "bill" else [],
            })
        if entries:
            tiles.append({"category": code, "name_en": category["name_en"],
                          "name_hi": category["name_hi"], "services": entries})
    return {"version": cat["version"], "tiles": tiles}
