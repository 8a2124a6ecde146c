"""Widgets of the citizen's screen: labels that pick a font that shapes their script, big
buttons, home tiles with drawn icons, a spinner. Looks live in kiosk.kv."""

from __future__ import annotations

import math
from pathlib import Path

from kivy.animation import Animation
from kivy.core.text import LabelBase
from kivy.graphics import Color, Ellipse, Line, Rectangle, RoundedRectangle, Triangle
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from screens.balance import balanced_width, glue_last_words, words_of
from screens.fmt import script_of

# Colours (WCAG AA on the light background; one accent; red only for problems, green for done).
BG = (0.96, 0.97, 0.98, 1)
INK = (0.09, 0.10, 0.12, 1)
MUTED = (0.27, 0.29, 0.33, 1)
ACCENT = (0.04, 0.34, 0.66, 1)
ACCENT_DARK = (0.02, 0.20, 0.42, 1)
GREEN = (0.05, 0.43, 0.20, 1)
RED = (0.68, 0.13, 0.11, 1)
AMBER = (0.55, 0.32, 0.0, 1)  # "check again": dark enough for white text and on white
WHITE = (1, 1, 1, 1)
CARD = (1, 1, 1, 1)
LINE = (0.70, 0.73, 0.78, 1)

FONT_CANDIDATES = {
    # Devanagari text: Noto Sans Devanagari (digits and ₹ included), else Lohit.
    "KDeva": (
        (
            "/usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf",
            "/usr/share/fonts/truetype/noto/NotoSansDevanagari-Bold.ttf",
        ),
        ("/usr/share/fonts/truetype/lohit-devanagari/Lohit-Devanagari.ttf", None),
    ),
    # Latin-only text: Noto Sans, else DejaVu Sans.
    "KLatin": (
        (
            "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
            "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
        ),
        (
            "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
            "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
        ),
    ),
    # Hindi and English in one label: Lohit Devanagari has Latin letters too.
    "KMixed": (
        ("/usr/share/fonts/truetype/lohit-devanagari/Lohit-Devanagari.ttf", None),
        (
            "/usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf",
            "/usr/share/fonts/truetype/noto/NotoSansDevanagari-Bold.ttf",
        ),
    ),
}
FONTS_READY: dict[str, bool] = {}


def register_fonts() -> dict[str, bool]:
    """Register KDeva / KLatin / KMixed with the first installed candidate of each."""
    for name, candidates in FONT_CANDIDATES.items():
        for regular, bold in candidates:
            if Path(regular).exists():
                bold_path = bold if bold and Path(bold).exists() else regular
                LabelBase.register(name, regular, None, bold_path, None)
                FONTS_READY[name] = True
                break
        else:
            FONTS_READY[name] = False
    return FONTS_READY


def font_for(text: str) -> tuple[str, str]:
    """(font_name, font_script_name) that shape `text` correctly: Devanagari needs a Devanagari
    font AND the Deva script (SDL2_ttf's HarfBuzz), or ि lands after its consonant."""
    script = script_of(text)
    if script == "latin":
        return ("KLatin", "Latn") if FONTS_READY.get("KLatin") else ("Roboto", "Zyyy")
    name = "KDeva" if script == "deva" else "KMixed"
    if not FONTS_READY.get(name):
        name = "KMixed" if FONTS_READY.get("KMixed") else "KDeva"
    return (name, "Deva") if FONTS_READY.get(name) else ("Roboto", "Zyyy")


class KLabel(Label):
    """A label that always shapes its text, wraps to its width and (auto_height) grows to its
    text. `tid` names it for tests and the driver; shown=False hides it and takes no room."""

    tid = StringProperty("")
    shown = BooleanProperty(True)
    auto_height = BooleanProperty(True)
    inset = NumericProperty(0)
    pad = NumericProperty(8)
    # Type size in px at 1280x800: scaled by the window and, unless latin, +15 % for Hindi.
    base = NumericProperty(30)
    latin = BooleanProperty(False)
    # The header's words: not enlarged by accessibility mode (screens/accessibility.py), so the
    # brand, place and clock keep their room beside the buttons.
    chrome = BooleanProperty(False)
    # Titles: lines of even length (screens/balance.py), no word left alone on a line.
    balance = BooleanProperty(False)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._pick_font()
        self.bind(width=self._wrap, inset=self._wrap)
        self.bind(texture_size=self._fit, shown=self._fit, pad=self._fit)
        self._wrap()
        self._fit()

    def on_text(self, *_args) -> None:
        if self.balance and not self.markup:
            glued = glue_last_words(self.text)
            if glued != self.text:
                self.text = glued  # this handler runs again for the glued text
                return
        self._pick_font()
        self._wrap()
        self._fit()

    def on_font_size(self, *_args) -> None:
        self._wrap()

    def on_balance(self, *_args) -> None:
        if self.balance and not self.markup and self.text:
            self.text = glue_last_words(self.text)
        self._wrap()

    def _pick_font(self) -> None:
        name, script = font_for(self.text)
        if self.font_name != name:
            self.font_name = name
        if self.font_script_name != script:
            self.font_script_name = script

    def _wrap(self, *_args) -> None:
        limit = max(1, self.width - 2 * self.inset)
        if self.balance and self.text:
            limit = self._balanced(limit)
        self.text_size = (limit, None)

    def _balanced(self, limit: float) -> float:
        """Measure each word with this label's font, then narrow the wrap width (centred, so
        the title stays in the middle) until the lines are even."""
        from kivy.core.text import Label as CoreLabel

        probe = CoreLabel(font_name=self.font_name, font_size=self.font_size, bold=self.bold,
                          font_script_name=self.font_script_name)
        words = words_of(self.text.replace("\n", " "))  # a no-break pair is one word
        widths = [probe.get_extents(word)[0] for word in words]
        space = probe.get_extents("a a")[0] - probe.get_extents("aa")[0]
        # a little slack: the label's own wrap measures whole lines, not word by word
        return min(limit, balanced_width(widths, max(space, 1.0), limit) * 1.03 + 4)

    def _fit(self, *_args) -> None:
        if self.auto_height:
            visible = self.shown and bool(self.text)  # an empty label takes no room
            self.height = (self.texture_size[1] + self.pad) if visible else 0


class KButton(ButtonBehavior, KLabel):
    """A big touch target. kind: primary | secondary | danger_outline | key | lang."""

    kind = StringProperty("secondary")
    selected = BooleanProperty(False)
    auto_height = BooleanProperty(False)
    base = NumericProperty(32)
    tall = NumericProperty(104)  # height in px at 1280x800 (touch targets: at least 90)


class Box(BoxLayout):
    """A BoxLayout that can hide itself (shown=False: no height, no touches)."""

    tid = StringProperty("")
    shown = BooleanProperty(True)
    bg = ListProperty([0, 0, 0, 0])
    border = ListProperty([0, 0, 0, 0])


class Tile(ButtonBehavior, BoxLayout):
    """A home-screen tile: drawn icon, a two-line label, and "coming soon" when not offered."""

    tid = StringProperty("")
    icon = StringProperty("")
    title = StringProperty("")
    subtitle = StringProperty("")
    soon = BooleanProperty(False)
    # A title too long for one line ("Verify receipt or certificate") takes two lines at a
    # smaller size, so the icon above it keeps its size.
    compact = BooleanProperty(False)
    LONG_TITLE = 22

    def on_title(self, *_args) -> None:
        self.compact = len(self.title) > self.LONG_TITLE


class Icon(Widget):
    """Simple vector pictograms (no image files to ship): bolt, drop, phone, qr, search,
    receipt, tick, cross, info, warning, shield, note, arrow_down / arrow_left / arrow_right."""

    kind = StringProperty("")
    tint = ListProperty(list(ACCENT))

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.bind(pos=self._draw, size=self._draw, kind=self._draw, tint=self._draw)

    def _draw(self, *_args) -> None:
        self.canvas.clear()
        side = min(self.width, self.height)
        if side <= 0:
            return
        x0 = self.center_x - side / 2
        y0 = self.center_y - side / 2

        def p(fx: float, fy: float) -> tuple[float, float]:
            return x0 + fx * side, y0 + fy * side

        w = max(2.0, side * 0.06)
        with self.canvas:
            Color(*self.tint)
            kind = self.kind
            if kind == "bolt":
                Triangle(points=[*p(0.58, 0.98), *p(0.22, 0.42), *p(0.52, 0.46)])
                Triangle(points=[*p(0.48, 0.54), *p(0.78, 0.58), *p(0.40, 0.02)])
                Triangle(points=[*p(0.58, 0.98), *p(0.52, 0.46), *p(0.48, 0.54)])
                Triangle(points=[*p(0.52, 0.46), *p(0.78, 0.58), *p(0.48, 0.54)])
            elif kind == "drop":
                Ellipse(pos=p(0.2, 0.04), size=(side * 0.6, side * 0.6))
                Triangle(points=[*p(0.5, 0.98), *p(0.215, 0.43), *p(0.785, 0.43)])
            elif kind == "phone":
                RoundedRectangle(
                    pos=p(0.26, 0.02), size=(side * 0.48, side * 0.96), radius=[side * 0.08]
                )
                Color(*WHITE)
                Rectangle(pos=p(0.32, 0.18), size=(side * 0.36, side * 0.68))
                Color(*self.tint)
                Ellipse(pos=p(0.45, 0.055), size=(side * 0.1, side * 0.1))
            elif kind == "qr":
                for fx, fy in ((0.04, 0.60), (0.60, 0.60), (0.04, 0.04)):
                    Line(rectangle=(*p(fx, fy), side * 0.36, side * 0.36), width=w)
                    Rectangle(pos=p(fx + 0.11, fy + 0.11), size=(side * 0.14, side * 0.14))
                for fx, fy in ((0.62, 0.04), (0.80, 0.22), (0.62, 0.40), (0.84, 0.84 - 0.44)):
                    Rectangle(pos=p(fx, fy), size=(side * 0.14, side * 0.14))
            elif kind == "search":
                Line(circle=(*p(0.42, 0.58), side * 0.3), width=w * 1.3)
                Line(points=[*p(0.63, 0.36), *p(0.94, 0.05)], width=w * 1.8)
            elif kind == "receipt":
                Line(points=[*p(0.2, 0.02), *p(0.2, 0.98), *p(0.8, 0.98), *p(0.8, 0.02)], width=w)
                zig = []
                for i in range(7):
                    zig += [*p(0.2 + i * 0.1, 0.02 if i % 2 == 0 else 0.10)]
                Line(points=zig, width=w)
                for fy in (0.78, 0.62, 0.46, 0.30):
                    Line(points=[*p(0.32, fy), *p(0.68, fy)], width=w * 0.8)
            elif kind == "tick":
                Ellipse(pos=p(0, 0), size=(side, side))
                Color(*WHITE)
                Line(points=[*p(0.26, 0.52), *p(0.43, 0.34), *p(0.76, 0.68)], width=side * 0.07)
            elif kind == "cross":
                Ellipse(pos=p(0, 0), size=(side, side))
                Color(*WHITE)
                Line(points=[*p(0.3, 0.3), *p(0.7, 0.7)], width=side * 0.07, cap="round")
                Line(points=[*p(0.3, 0.7), *p(0.7, 0.3)], width=side * 0.07, cap="round")
            elif kind.startswith("arrow_"):
                # drawn pointing down, then turned: a shaft and a head
                turn = {"arrow_down": 0, "arrow_left": -90, "arrow_right": 90}.get(kind, 0)

                def r(fx: float, fy: float) -> tuple[float, float]:
                    dx, dy = fx - 0.5, fy - 0.5
                    a = math.radians(turn)
                    return p(
                        0.5 + dx * math.cos(a) - dy * math.sin(a),
                        0.5 + dx * math.sin(a) + dy * math.cos(a),
                    )

                Line(points=[*r(0.5, 0.96), *r(0.5, 0.36)], width=side * 0.08)
                Triangle(points=[*r(0.18, 0.42), *r(0.82, 0.42), *r(0.5, 0.04)])
            elif kind in ("info", "warning"):
                Ellipse(pos=p(0, 0), size=(side, side))
                Color(*WHITE)
                if kind == "info":
                    Ellipse(pos=p(0.44, 0.70), size=(side * 0.12, side * 0.12))
                    Rectangle(pos=p(0.45, 0.18), size=(side * 0.10, side * 0.44))
                else:
                    Rectangle(pos=p(0.45, 0.36), size=(side * 0.10, side * 0.44))
                    Ellipse(pos=p(0.44, 0.14), size=(side * 0.12, side * 0.12))
            elif kind == "shield":
                Triangle(points=[*p(0.1, 0.6), *p(0.9, 0.6), *p(0.5, 0.0)])
                Rectangle(pos=p(0.1, 0.6), size=(side * 0.8, side * 0.3))
                Triangle(points=[*p(0.1, 0.9), *p(0.5, 1.0), *p(0.9, 0.9)])
                Color(*WHITE)
                Line(points=[*p(0.3, 0.55), *p(0.45, 0.4), *p(0.72, 0.7)], width=side * 0.06)
            elif kind == "card":
                RoundedRectangle(pos=p(0.0, 0.18), size=(side, side * 0.64), radius=[side * 0.06])
                Color(*WHITE)
                Rectangle(pos=p(0.0, 0.60), size=(side, side * 0.1))
                RoundedRectangle(
                    pos=p(0.1, 0.30), size=(side * 0.2, side * 0.16), radius=[side * 0.02]
                )
            elif kind == "note":
                RoundedRectangle(pos=p(0.0, 0.22), size=(side, side * 0.56), radius=[side * 0.05])
                Color(*WHITE)
                Line(circle=(*p(0.5, 0.5), side * 0.16), width=w)


class BusySpinner(Widget):
    """A turning arc: shows that something is happening (waits longer than a second)."""

    angle = NumericProperty(0)
    tint = ListProperty(list(ACCENT))

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.bind(pos=self._draw, size=self._draw, angle=self._draw)
        self._anim: Animation | None = None

    def start(self) -> None:
        if self._anim is None:
            self._anim = Animation(angle=360, duration=1.2)
            self._anim.bind(on_complete=self._again)
            self._anim.start(self)

    def _again(self, *_args) -> None:
        self.angle = 0
        if self._anim is not None:
            self._anim.start(self)

    def stop(self) -> None:
        if self._anim is not None:
            self._anim.cancel(self)
            self._anim = None

    def _draw(self, *_args) -> None:
        self.canvas.clear()
        radius = min(self.width, self.height) / 2 * 0.85
        if radius <= 0:
            return
        with self.canvas:
            Color(*LINE)
            Line(circle=(self.center_x, self.center_y, radius), width=max(3.0, radius * 0.1))
            Color(*self.tint)
            start = self.angle
            Line(
                circle=(self.center_x, self.center_y, radius, start, start + 100),
                width=max(3.0, radius * 0.1),
                cap="round",
            )
            # a dot at the head, so motion is visible even on slow panels
            head = math.radians(90 - (start + 100))
            dot = max(4.0, radius * 0.14)
            Ellipse(
                pos=(
                    self.center_x + radius * math.cos(head) - dot / 2,
                    self.center_y + radius * math.sin(head) - dot / 2,
                ),
                size=(dot, dot),
            )
