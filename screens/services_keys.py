"""Keypads for the citizen services: the 3x4 number pad of the style guide, and an on-screen
keyboard for short text (a certificate number, a name, a complaint in a few words).

The keyboard has three layouts: Latin capitals and digits, Devanagari (vowels, consonants and
matras as keys), and phonetic entry — Latin letters typed on the Latin layout become Devanagari
(the owner turns them with screens/services_phonetic.py). Keys call `on_key(key)` with the text
to add, or "delete", "space", "continue"; the owner keeps the value (nothing is typed into a
hidden TextInput, so nothing depends on an IME the kiosk image may not have)."""

from __future__ import annotations

from collections.abc import Callable

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout

from screens.widgets import KButton

DIGIT_ROWS = ("123", "456", "789")
LATIN_ROWS = ("1234567890", "QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM")
# Devanagari: the vowels, then the consonants in the order of the alphabet, then the matras,
# halant, anusvara and visarga (what a school chart shows).
DEVA_ROWS = (
    ("अ", "आ", "इ", "ई", "उ", "ऊ", "ए", "ऐ", "ओ", "औ", "ऋ"),
    ("क", "ख", "ग", "घ", "च", "छ", "ज", "झ", "ट", "ठ", "ड"),
    ("ढ", "ण", "त", "थ", "द", "ध", "न", "प", "फ", "ब", "भ"),
    ("म", "य", "र", "ल", "व", "श", "ष", "स", "ह", "ञ", "ङ"),
    ("ा", "ि", "ी", "ु", "ू", "े", "ै", "ो", "ौ", "ं", "्"),
)
KEYBOARD_LAYOUTS = ("latin", "deva", "phonetic")

KeyHandler = Callable[[str], None]


def key_label(key: str) -> str:
    """A matra alone is drawn on a dotted circle (◌ि), as Hindi primers print it."""
    if len(key) == 1 and ("\u093e" <= key <= "\u094d" or key in "\u0902\u0903"):
        return "\u25cc" + key
    return key


class DigitPad(GridLayout):
    """0-9 with delete and continue, 3x4, keys at least 90 px high on a 1280x800 panel."""

    def __init__(self, app, on_key: KeyHandler, prefix: str = "svc_key", **kwargs) -> None:
        super().__init__(cols=3, spacing=16 * app.s, **kwargs)
        order = [*"".join(DIGIT_ROWS), "delete", "0", "continue"]
        for key in order:
            if key == "delete":
                button = KButton(tid=f"{prefix}_delete", text=app.tr("key_delete"), kind="key")
            elif key == "continue":
                button = KButton(tid=f"{prefix}_continue", text=app.tr("key_continue"),
                                 kind="primary")
            else:
                button = KButton(tid=f"{prefix}_{key}", text=key, kind="key", base=48,
                                 latin=True)
            button.size_hint_y = 1
            button.bind(on_release=lambda _w, k=key: on_key(k))
            self.add_widget(button)

    def set_ready(self, ready: bool) -> None:
        """Continue is greyed until something is typed."""
        for child in self.children:
            if child.tid.endswith("_continue"):
                child.disabled = not ready


class TextKeyboard(BoxLayout):
    """Rows of letter keys plus a bottom row: layout switch, space, delete, continue."""

    def __init__(self, app, on_key: KeyHandler, layout: str = "latin",
                 layouts: tuple[str, ...] = ("latin",), on_layout: KeyHandler | None = None,
                 current: str | None = None, space: bool = True, **kwargs) -> None:
        super().__init__(orientation="vertical", spacing=8 * app.s, **kwargs)
        rows = DEVA_ROWS if layout == "deva" else LATIN_ROWS
        for row in rows:
            line = BoxLayout(spacing=6 * app.s)
            for key in row:
                button = KButton(tid=f"kb_{key}", text=key_label(key), kind="key", base=30,
                                 latin=layout != "deva")
                button.size_hint_y = 1
                button.inset = 2 * app.s
                button.bind(on_release=lambda _w, k=key: on_key(k))
                line.add_widget(button)
            self.add_widget(line)
        bottom = BoxLayout(spacing=8 * app.s, size_hint_y=1.1)
        for other in layouts:
            if other == (current or layout):
                continue
            switch = KButton(tid=f"kb_layout_{other}", text=app.tr(f"kb_layout_{other}"),
                             kind="secondary", base=26)
            switch.size_hint_y, switch.size_hint_x = 1, 1.2
            switch.bind(on_release=lambda _w, o=other: on_layout and on_layout(o))
            bottom.add_widget(switch)
        for key, tid, kind, weight in (("space", "kb_space", "key", 2.0),
                                       ("delete", "kb_delete", "key", 1.0),
                                       ("continue", "kb_continue", "primary", 1.3)):
            if key == "space" and not space:
                continue
            text = app.tr({"space": "kb_space", "delete": "key_delete",
                           "continue": "key_continue"}[key])
            button = KButton(tid=tid, text=text, kind=kind, base=28)
            button.size_hint_y, button.size_hint_x = 1, weight
            button.bind(on_release=lambda _w, k=key: on_key(k))
            bottom.add_widget(button)
        self.add_widget(bottom)


def apply_key(value: str, key: str, limit: int, allowed: Callable[[str], bool] | None = None,
              ) -> str:
    """The value after one key: delete drops the last character, space adds one (not twice),
    anything else is appended while under `limit` and `allowed`."""
    if key == "delete":
        return value[:-1]
    if key == "space":
        return value + " " if value and not value.endswith(" ") and len(value) < limit \
            else value
    if key == "continue":
        return value
    if len(value) + len(key) > limit or (allowed is not None and not allowed(key)):
        return value
    return value + key
