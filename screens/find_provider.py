"""The provider finder: a citizen who does not know which company's bill they hold types the
first digits of the number printed on it, the kiosk suggests the company whose numbers start so
(catalogue number_hint.prefixes via terminal/number_hint.suggest), and a tap on it starts that
company's session with the digits already typed (app.pending_digits). A local screen: nothing
reaches the core until the citizen picks (the core's "start" intent, as from the providers
screen). Reached from the providers screen's "don't know the company?" (provider_hint)."""

from __future__ import annotations

from typing import Any

from kivy.factory import Factory
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout

from screens import hindi_text
from screens.provider_hint import providers_of
from screens.views import KioskScreen
from screens.widgets import ACCENT, ACCENT_DARK, INK, MUTED, RED, Box, KButton, KLabel
from terminal.number_hint import suggest

MAX_DIGITS = 16
MAX_SUGGESTIONS = 3


class FindProviderScreen(KioskScreen):
    """Type the first digits of the number on the bill; tap the company the kiosk suggests."""

    prompt_key = "find_provider_title"

    def __init__(self, **kwargs) -> None:
        super().__init__(name="find_provider", **kwargs)
        self.digits = ""
        self._drawn: object = None
        root = BoxLayout(orientation="vertical")
        self.body = body = BoxLayout(orientation="horizontal", padding=(28, 20), spacing=28)
        left = BoxLayout(orientation="vertical", spacing=14)
        self.title = KLabel(tid="find_title", base=40, bold=True, balance=True, color=INK)
        self.number = KLabel(tid="find_digits", base=56, latin=True, bold=True, size_hint_y=1)
        number_box = Box(size_hint_y=None, height=110, bg=[1, 1, 1, 1], border=list(ACCENT),
                         padding=10)
        self.number_box = number_box
        number_box.add_widget(self.number)
        self.verdict = KLabel(tid="find_verdict", base=30, bold=True, color=ACCENT_DARK)
        self.picks = BoxLayout(orientation="vertical", spacing=12, size_hint_y=None)
        self.picks.bind(minimum_height=self.picks.setter("height"))
        for widget in (self.title, number_box, self.verdict, self.picks, Factory.Filler()):
            left.add_widget(widget)
        self.keypad = keypad = GridLayout(cols=3, spacing=16, size_hint_x=0.8)
        for key in [*"123456789", "delete", "0"]:
            if key == "delete":
                button = KButton(tid="find_key_delete", kind="key")
                self._delete = button
            else:
                button = KButton(tid=f"find_key_{key}", text=key, kind="key", base=48)
                button.latin = True
            button.size_hint_y = 1
            button.bind(on_release=lambda _w, k=key: self.key(k))
            keypad.add_widget(button)
        body.add_widget(left)
        body.add_widget(keypad)
        footer = Factory.Footer()
        self.back = KButton(tid="back", size_hint_x=None, width=240)
        self.back.bind(on_release=lambda *_a: self._back())
        footer.add_widget(self.back)
        footer.add_widget(Factory.Filler())
        footer.add_widget(Factory.HelpButton())
        root.add_widget(body)
        root.add_widget(footer)
        self.add_widget(root)
        self._app = None

    def shown(self, app) -> None:
        self.digits = ""
        self._drawn = None
        self.update(app, app.state)

    def _back(self) -> None:
        if self._app is not None:
            self._app.go_local("providers")

    def key(self, key: str) -> None:
        if key == "delete":
            self.digits = self.digits[:-1]
        elif key.isdigit() and len(self.digits) < MAX_DIGITS:
            self.digits += key
        if self._app is not None:
            self.update(self._app, self._app.state)

    def pick(self, code: str) -> None:
        app = self._app
        if app is None:
            return
        app.pending_digits = self.digits
        app.start_session(code)

    def update(self, app, state: dict[str, Any]) -> None:
        self._app = app
        s = app.s
        self.body.padding, self.body.spacing = (28 * s, 20 * s), 28 * s
        self.body.orientation = "vertical" if app.portrait else "horizontal"  # keypad below
        self.keypad.size_hint_x = 1 if app.portrait else 0.8
        self.number_box.height, self.keypad.spacing = 110 * s, 16 * s
        self.back.width = 240 * s
        self.title.text = app.tr("find_provider_title")
        self.back.text = app.tr("btn_back")
        self._delete.text = app.tr("key_delete")
        self.number.text = " ".join(self.digits[i:i + 4] for i in range(0, len(self.digits), 4)) \
            or app.tr("find_provider_empty")
        self.number.color = list(INK if self.digits else MUTED)
        providers = providers_of(state, app.local_service)
        found = suggest(providers, self.digits)[:MAX_SUGGESTIONS]
        sure = bool(found) and any(
            self.digits.startswith(p) for p in (found[0].get("number_hint") or {}).get(
                "prefixes", []))
        if not self.digits:
            self.verdict.text, self.verdict.color = app.tr("find_provider_hint"), list(MUTED)
        elif not found:
            self.verdict.text, self.verdict.color = app.tr("find_provider_none"), list(RED)
        else:
            key = "find_provider_sure" if sure and len(found) == 1 else "find_provider_maybe"
            self.verdict.text, self.verdict.color = app.tr(key), list(ACCENT_DARK)
        drawn = (app.lang, tuple(p.get("code") for p in found))
        if drawn != self._drawn:
            self._drawn = drawn
            self.picks.clear_widgets()
            for provider in found:
                code = str(provider.get("code", ""))
                button = KButton(tid=f"find_pick_{code}", kind="secondary", tall=104,
                                 markup=True)
                button.text = hindi_text.provider_markup(app, provider, code, button.font_size,
                                                         two_lines=True)
                button.bind(on_release=lambda _w, c=code: self.pick(c))
                self.picks.add_widget(button)
        self.set_problem(app, app.notice)
