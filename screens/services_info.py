"""Scheme information: the list of scheme pages (a big button per scheme), then a page with its
picture beside its words; "back" goes from a page to the list and from the list to the home
tiles. The words come in the state (`lookup.page`, terminal/info_service.py); the picture comes
as the result of `info_image`, asked for once per page opened, so the state stays small."""

from __future__ import annotations

import asyncio
from typing import Any

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

from screens.services_picture import framed_picture
from screens.services_views import ServiceScreen, line, lookup_of, title
from screens.widgets import MUTED, RED, KButton, KLabel

PICTURE_TALL = 300  # px at 1280x800
MAX_PARAGRAPHS = 30  # a page's words are at most 1,500 characters (terminal/scheme_pages.py)


def in_language(app, item: dict[str, Any], field: str) -> str:
    return str(item.get(f"{field}_{app.lang}") or item.get(f"{field}_en") or "")


class InfoScreen(ServiceScreen):
    prompt_key = "info_choose"

    def __init__(self, **kwargs) -> None:
        super().__init__(name="info", **kwargs)
        self.picture: dict[str, Any] | None = None  # the open page's, from info_image
        self._asked_for: str | None = None
        self._task: asyncio.Task | None = None

    def update(self, app, state: dict[str, Any]) -> None:
        lookup = lookup_of(state)
        page = lookup.get("page") if isinstance(lookup.get("page"), dict) else None
        code = str(page.get("code")) if page else None
        if code != self._asked_for:
            self._asked_for = code
            self.picture = None
            if code:
                self.ask_picture(app, code)
        self.set_back(app)
        self.set_extra(app, None)
        shown = self.picture.get("code") if self.picture else None
        key = (app.lang, repr(lookup.get("pages")), repr(page), shown, app.notice)
        if not self.redraw(key):
            return
        if page:
            self.prompt_key = "info_page"
            self.draw_page(app, page)
        else:
            self.prompt_key = "info_choose"
            self.draw_list(app, [p for p in lookup.get("pages") or [] if isinstance(p, dict)])

    def ask_picture(self, app, code: str) -> None:
        """info_image for the page just opened; drawn when it comes (a page whose picture
        cannot be had is shown without one)."""

        async def fetch() -> None:
            reply = await app.link.send("info_image", code=code)
            data = reply.get("data") if reply.get("ok") else None
            if isinstance(data, dict) and data.get("code") == code == self._asked_for:
                self.picture = data
                app.render()

        self._task = asyncio.get_event_loop().create_task(fetch())

    def draw_list(self, app, pages: list[dict[str, Any]]) -> None:
        body = self.ids.body
        body.add_widget(title(app.tr("svc_info_title"), "svc_title"))
        body.add_widget(line(app.tr("svc_info_prompt"), "svc_prompt", color=MUTED))
        if app.notice:
            body.add_widget(line(app.tr(app.notice), "message", color=RED, bold=True))
        grid = GridLayout(cols=1 if app.portrait else 2, spacing=16 * app.s, size_hint_y=None)
        grid.bind(minimum_height=grid.setter("height"))
        for page in pages:
            choice = KButton(tid=f"info_{page.get('code')}", text=in_language(app, page, "title"),
                             kind="secondary", tall=118, base=32)
            choice.bind(on_release=lambda _w, c=page.get("code"): self.open(app, c))
            grid.add_widget(choice)
        scroll = ScrollView(do_scroll_x=False, bar_width=8 * app.s)
        scroll.add_widget(grid)
        body.add_widget(scroll)

    def draw_page(self, app, page: dict[str, Any]) -> None:
        body = self.ids.body
        body.add_widget(title(in_language(app, page, "title"), "svc_title", base=42))
        split = BoxLayout(orientation="vertical" if app.portrait else "horizontal",
                          spacing=28 * app.s)
        words = BoxLayout(orientation="vertical", size_hint_y=None, spacing=14 * app.s)
        words.bind(minimum_height=words.setter("height"))
        paragraphs = [p for p in in_language(app, page, "body").split("\n") if p.strip()]
        for index, paragraph in enumerate(paragraphs[:MAX_PARAGRAPHS]):
            words.add_widget(KLabel(text=paragraph.strip(), tid=f"svc_info_body_{index}",
                                    base=30, halign="left", pad=4))
        scroll = ScrollView(do_scroll_x=False, bar_width=8 * app.s, size_hint_x=0.58)
        scroll.add_widget(words)
        split.add_widget(scroll)
        side = BoxLayout(orientation="vertical", size_hint_x=0.42, spacing=8 * app.s)
        picture = self.picture
        if picture and picture.get("code") == page.get("code"):
            side.add_widget(framed_picture(app, str(picture.get("data_b64") or ""),
                                           str(picture.get("type") or ""), "svc_info_picture",
                                           PICTURE_TALL))
        side.add_widget(Widget())
        split.add_widget(side)
        body.add_widget(split)

    def open(self, app, code: Any) -> None:
        self.alive(app)
        app.send_intent("info_page", code=code)

    def go_back(self, app) -> None:
        if (lookup_of(app.state).get("page") or None) is not None:
            app.send_intent("info_list")
            return
        app._verify_back = True  # "back" from the list: the home tiles, not the attract screen
        app.send_intent("finish")

    def hidden(self, app) -> None:
        super().hidden(app)
        self._asked_for = None
        self.picture = None
