"""Information: the scheme pages central publishes, read at the kiosk (from the cache,
terminal/scheme_cache.py, so they read the same while central is unreachable). No money, no
session: a look-up from the home screen like the status check, shown as `state.lookup` with
service "info" (screen INFO), timed out home by the kiosk's ticker.

Intents: info_start (the list), info_page {code} (one page's words), info_image {code} (that
page's picture, returned as the intent's data so the state pushed to every screen stays small),
info_list (back to the list). `finish` goes home.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from terminal.live_session import Handler, IntentError, LiveSession
from terminal.scheme_cache import SchemeCache

SERVICE = "info"
TILE_NAMES = {"name_en": "Scheme information", "name_hi": "योजनाओं की जानकारी"}


class InfoService:
    def __init__(self, cache: SchemeCache, live: LiveSession,
                 lookup_allowed: Callable[[], bool]) -> None:
        self.cache = cache
        self.live = live
        self.lookup_allowed = lookup_allowed

    def intents(self) -> Mapping[str, Handler]:
        return {"info_start": self.start, "info_list": self.show_list,
                "info_page": self.show_page, "info_image": self.image}

    def home_tile(self, services_now: dict[str, Any]) -> dict[str, Any] | None:
        """The home tile (a category of state.home) while there are pages to read."""
        if not self.cache.pages or not services_now.get("lookup", True):
            return None
        return {"category": SERVICE, **TILE_NAMES, "services": [
            {"service": "schemes", "kind": SERVICE, **TILE_NAMES, "fee_paise": 0,
             "tenders": [], "providers": [], "pages": len(self.cache.pages)}]}

    def _mine(self) -> dict[str, Any]:
        lookup = self.live.lookup
        if self.live.in_progress() or not lookup or lookup.get("service") != SERVICE:
            raise IntentError("not_now", "no scheme pages open")
        return lookup

    async def start(self, args: dict) -> None:
        live = self.live
        if live.in_progress():
            raise IntentError("session_in_progress")
        if not self.lookup_allowed() or not self.cache.pages:
            raise IntentError("service_unavailable")
        live.end()
        live.lookup = {"service": SERVICE, "status": "list", "message_key": "info_choose",
                       "version": self.cache.version, "pages": self._titles(), "page": None}
        live.touch()

    def _titles(self) -> list[dict[str, str]]:
        return [{"code": p["code"], "title_en": p["title_en"], "title_hi": p["title_hi"]}
                for p in self.cache.pages]

    async def show_list(self, args: dict) -> None:
        lookup = self._mine()
        lookup.update({"status": "list", "message_key": "info_choose", "page": None,
                       "pages": self._titles()})
        self.live.touch()

    async def show_page(self, args: dict) -> None:
        lookup = self._mine()
        code = args.get("code")
        page = self.cache.page(code) if isinstance(code, str) else None
        if page is None:
            raise IntentError("info_page_not_found")
        lookup.update({"status": "page", "message_key": "info_page", "page": {
            "code": page["code"], "version": page["version"],
            **{k: page[k] for k in ("title_en", "title_hi", "body_en", "body_hi")},
            "image": {"type": page["image_type"], "width": page["width"],
                      "height": page["height"]}}})
        self.live.touch()

    async def image(self, args: dict) -> dict[str, Any]:
        """The open page's picture: {"code", "type", "width", "height", "data_b64"}."""
        lookup = self._mine()
        page = lookup.get("page") or {}
        if args.get("code") != page.get("code"):
            raise IntentError("not_now", "that page is not open")
        picture = self.cache.picture_b64(str(page["code"]))
        if picture is None:
            raise IntentError("info_image_unavailable")
        return picture
