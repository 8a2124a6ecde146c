"""The scheme pages kept on disk and refreshed from central, and served to the screen as the
"Information" service (intents info_start, info_page, info_image, info_list; the home tile).

On disk (`schemes/` beside the journal): index.json with the set's version and each page's words,
and each picture in its own file named by its SHA-256. A refresh writes new pictures first, then
replaces index.json atomically, then removes pictures no page names: a power cut leaves the old
set or the new one, whole. At start the cached set is checked again (words, and each picture
against its hash and decoded) and served, so the pages read the same while central is down.

Central's answers are hostile until terminal/scheme_pages.py passes them: a list or a page that
does not validate is never kept, the last good set stays, and an alarm is raised (like the
catalogue's, terminal/catalogue_cache.py). Central unreachable is no alarm: tried again later.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from terminal import scheme_pages
from terminal.logs import log_event
from terminal.scheme_pages import SchemeError

log = logging.getLogger("kiosk")

MAX_INDEX_BYTES = 256 * 1024
REFRESH_S = 900.0
RETRY_S = 60.0
ALARM_BAD_CACHE = "scheme_cache_invalid"
ALARM_BAD_CENTRAL = "scheme_pages_invalid"
EXTENSIONS = {"png": ".png", "jpeg": ".jpg"}

FetchIndex = Callable[[], Awaitable[Any]]
FetchPage = Callable[[str], Awaitable[Any]]
Alarm = Callable[[str, str], bool]  # raised now? (False: no alarm board yet, try later)


def cache_dir(config: dict) -> Path:
    """schemes/ in the journal's directory (the kiosk's var directory)."""
    journal = (config.get("journal") or {}).get("path") or "var/journal.sqlite"
    return Path(journal).parent / "schemes"


def _picture_name(entry: dict[str, Any]) -> str:
    return entry["image_sha256"] + EXTENSIONS[entry["image_type"]]


class SchemeCache:
    def __init__(self, directory: Path, fetch_index: FetchIndex, fetch_page: FetchPage,
                 alarm: Alarm, changed: Callable[[], None] = lambda: None) -> None:
        self.directory = directory
        self.fetch_index = fetch_index
        self.fetch_page = fetch_page
        self.alarm = alarm
        self.changed = changed
        self.version: str | None = None
        self.pages: list[dict[str, Any]] = []  # words and picture facts; pictures stay on disk
        self.pending_alarms: dict[str, str] = {}
        self.load()

    # ---------------------------------------------------------------- what the screen reads

    def page(self, code: str) -> dict[str, Any] | None:
        return next((p for p in self.pages if p["code"] == code), None)

    def picture_b64(self, code: str) -> dict[str, Any] | None:
        """A page's picture from disk as base64, checked against its hash (None if it is gone
        or changed under us: the page is then shown without it)."""
        entry = self.page(code)
        if entry is None:
            return None
        data = self._read_picture(entry)
        if data is None:
            return None
        return {"code": code, "type": entry["image_type"], "width": entry["width"],
                "height": entry["height"], "data_b64": base64.b64encode(data).decode()}

    # ---------------------------------------------------------------- the cache on disk

    def load(self) -> bool:
        """Serve the cached set; False (and an alarm, unless there is none yet) if not good."""
        path = self.directory / "index.json"
        try:
            with open(path, "rb") as handle:
                raw = handle.read(MAX_INDEX_BYTES + 1)
        except FileNotFoundError:
            return False
        except OSError as exc:
            self._bad(ALARM_BAD_CACHE, f"cannot read {path.name}: {exc.strerror}")
            return False
        try:
            if len(raw) > MAX_INDEX_BYTES:
                raise SchemeError(f"index.json is larger than {MAX_INDEX_BYTES} bytes")
            doc = json.loads(raw)
            if not isinstance(doc, dict) or not isinstance(doc.get("pages"), list) \
                    or len(doc["pages"]) > scheme_pages.MAX_PAGES:
                raise SchemeError("index.json is not a list of pages")
            version = scheme_pages.validate_index(
                {"version": doc.get("version"), "pages": doc["pages"]})["version"]
            pages = []
            for raw_entry in doc["pages"]:
                entry = scheme_pages.validate_cached(raw_entry)
                data = self._read_picture(entry)
                if data is None:
                    raise SchemeError(f"the picture of {entry['code']} is missing or changed")
                entry["width"], entry["height"] = scheme_pages.check_image(
                    data, entry["image_type"], f"cached page {entry['code']}")
                pages.append(entry)
        except (ValueError, RecursionError) as exc:  # SchemeError is a ValueError
            self._bad(ALARM_BAD_CACHE, f"cached scheme pages refused: {str(exc)[:200]}")
            return False
        self.version, self.pages = version, pages
        log_event(log, "scheme pages loaded", version=version, pages=len(pages), source="cache")
        return True

    def _read_picture(self, entry: dict[str, Any]) -> bytes | None:
        try:
            with open(self.directory / _picture_name(entry), "rb") as handle:
                data = handle.read(scheme_pages.MAX_IMAGE_BYTES + 1)
        except OSError:
            return None
        if hashlib.sha256(data).hexdigest() != entry["image_sha256"]:
            return None
        return data

    # ---------------------------------------------------------------- refresh from central

    async def refresh(self) -> bool:
        """Ask central once. True when the set served is central's current one."""
        self._raise_pending()
        try:
            listed = await self.fetch_index()
        except Exception as exc:  # central down or refusing: keep what we have
            log_event(log, "scheme pages fetch failed", logging.WARNING, error=str(exc)[:200])
            return False
        try:
            index = scheme_pages.validate_index(listed)
        except SchemeError as exc:
            self._bad(ALARM_BAD_CENTRAL, f"central's scheme list refused: {str(exc)[:200]}")
            return False
        if index["version"] == self.version:
            return True
        fresh = []
        for item in index["pages"]:
            kept = self.page(item["code"])
            if kept is not None and kept["version"] == item["version"]:
                fresh.append((kept, None))  # unchanged: its picture is already on disk
                continue
            try:
                doc = await self.fetch_page(item["code"])
            except Exception as exc:
                log_event(log, "scheme page fetch failed", logging.WARNING,
                          page=item["code"], error=str(exc)[:200])
                return False
            try:
                page = await asyncio.to_thread(  # decoding a picture: not on the loop
                    scheme_pages.validate_page, doc, item["code"], item["version"])
            except (SchemeError, RecursionError) as exc:
                self._bad(ALARM_BAD_CENTRAL, f"central's scheme page refused: {str(exc)[:200]}")
                return False
            data = page.pop("image")
            page["image_sha256"] = hashlib.sha256(data).hexdigest()
            fresh.append((page, data))
        if not self._write(index["version"], fresh):
            return False
        self.version, self.pages = index["version"], [entry for entry, _ in fresh]
        log_event(log, "scheme pages loaded", version=self.version, pages=len(self.pages),
                  source="central")
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

    def _write(self, version: str, fresh: list[tuple[dict[str, Any], bytes | None]]) -> bool:
        """Pictures, then index.json atomically, then the pictures no page names any more."""
        directory = self.directory
        try:
            directory.mkdir(parents=True, exist_ok=True)
            for entry, data in fresh:
                if data is not None:
                    self._atomic(directory / _picture_name(entry), data)
            index = {"version": version, "pages": [
                {k: entry[k] for k in ("code", "version", *scheme_pages.TEXT_FIELDS,
                                       "image_type", "image_sha256")}
                for entry, _ in fresh]}
            self._atomic(directory / "index.json",
                         json.dumps(index, ensure_ascii=False, indent=1).encode())
            named = {_picture_name(entry) for entry, _ in fresh}
            for path in directory.iterdir():  # and what a power cut left half-written
                if path.suffix in (*EXTENSIONS.values(), ".tmp") and path.name not in named:
                    path.unlink(missing_ok=True)
        except OSError as exc:
            log_event(log, "scheme pages not cached", logging.WARNING, error=str(exc))
            return False
        return True

    @staticmethod
    def _atomic(path: Path, data: bytes) -> None:
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    def _bad(self, code: str, message: str) -> None:
        log_event(log, "scheme pages refused", logging.ERROR, code=code, error=message)
        self.pending_alarms[code] = message
        self._raise_pending()

    def _raise_pending(self) -> None:
        for code, message in list(self.pending_alarms.items()):
            if self.alarm(code, message):
                del self.pending_alarms[code]
