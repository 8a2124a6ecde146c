"""The home screen's tiles (what to draw comes from screens/home_plan.py): a tile lays its icon
above its words when it is tall enough, beside them when the grid holds many tiles, and its
title steps down in size (never below body text) until title and subtitle fit inside it.
Looks live in layout.kv (<HomeTile>)."""

from __future__ import annotations

from kivy.clock import Clock
from kivy.core.text import Label as CoreLabel
from kivy.graphics import Color, Ellipse, Line, Rectangle, Triangle
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout

from screens.home_plan import grid_shape
from screens.widgets import WHITE, Icon, font_for

TITLE_BASES = (34, 32, 30, 28)  # px at 1280x800 before the Hindi +15 %; 28: body text
# Where 28 does not fit (large text: type x 1.25, still as big as normal's 30; or a crowded grid)
LARGE_TEXT_BASES = (26, 24)
TALL_ENOUGH = 180  # px at 1280x800: below this a tile puts its icon beside its words
WIDE_RATIO = 1.7  # a tile this much wider than tall also puts it beside them


class HomeIcon(Icon):
    """The shared pictograms plus the citizen services': flame (gas), certificate, megaphone
    (complaint), form (application)."""

    tid = StringProperty("")  # named for the layout test (its size), never tapped

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        # Drawn once more after the frame's layout settles (tiles move when the grid reflows).
        self._again = Clock.create_trigger(self._draw, -1)
        self.bind(pos=self._again, size=self._again)

    def _draw(self, *args) -> None:
        if self.kind not in ("flame", "certificate", "megaphone", "form"):
            super()._draw(*args)
            return
        self.canvas.clear()
        side = min(self.width, self.height)
        if side <= 0:
            return
        x0, y0 = self.center_x - side / 2, self.center_y - side / 2

        def p(fx: float, fy: float) -> tuple[float, float]:
            return x0 + fx * side, y0 + fy * side

        w = max(2.0, side * 0.06)
        with self.canvas:
            Color(*self.tint)
            if self.kind == "flame":
                Ellipse(pos=p(0.18, 0.02), size=(side * 0.64, side * 0.6))
                Triangle(points=[*p(0.44, 0.98), *p(0.19, 0.4), *p(0.72, 0.46)])
                Triangle(points=[*p(0.8, 0.8), *p(0.52, 0.4), *p(0.82, 0.3)])
                Color(*WHITE)
                Ellipse(pos=p(0.37, 0.08), size=(side * 0.26, side * 0.24))
                Triangle(points=[*p(0.5, 0.5), *p(0.38, 0.22), *p(0.62, 0.22)])
            elif self.kind == "certificate":
                Line(rectangle=(*p(0.08, 0.22), side * 0.84, side * 0.72), width=w)
                for fy in (0.78, 0.66):
                    Line(points=[*p(0.2, fy), *p(0.8, fy)], width=w * 0.8)
                Ellipse(pos=p(0.52, 0.16), size=(side * 0.3, side * 0.3))
                Triangle(points=[*p(0.55, 0.2), *p(0.62, 0.0), *p(0.67, 0.2)])
                Triangle(points=[*p(0.67, 0.2), *p(0.72, 0.0), *p(0.79, 0.2)])
            elif self.kind == "megaphone":
                Triangle(points=[*p(0.3, 0.62), *p(0.86, 0.94), *p(0.86, 0.18)])
                Triangle(points=[*p(0.3, 0.62), *p(0.3, 0.44), *p(0.86, 0.18)])
                Rectangle(pos=p(0.08, 0.42), size=(side * 0.24, side * 0.22))
                Line(points=[*p(0.18, 0.42), *p(0.26, 0.08), *p(0.38, 0.08), *p(0.34, 0.44)],
                     width=w)
            else:  # form: a page with lines and a pen
                Line(points=[*p(0.14, 0.02), *p(0.14, 0.98), *p(0.7, 0.98), *p(0.7, 0.5)],
                     width=w)
                Line(points=[*p(0.14, 0.02), *p(0.5, 0.02)], width=w)
                for fy in (0.8, 0.64, 0.48):
                    Line(points=[*p(0.26, fy), *p(0.58, fy)], width=w * 0.8)
                Line(points=[*p(0.56, 0.12), *p(0.92, 0.56)], width=w * 1.8)
                Triangle(points=[*p(0.5, 0.04), *p(0.53, 0.18), *p(0.6, 0.1)])


class HomeTile(ButtonBehavior, BoxLayout):
    """A home tile: icon, title, subtitle; greyed (`soon`) and untappable when stopped."""

    tid = StringProperty("")
    icon = StringProperty("")
    title = StringProperty("")
    subtitle = StringProperty("")
    soon = BooleanProperty(False)
    wide = BooleanProperty(False)  # icon beside the words
    title_base = NumericProperty(TITLE_BASES[0])
    sub_base = NumericProperty(26)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.bind(size=self._fit, title=self._fit, subtitle=self._fit, wide=self._fit)
        from kivy.app import App

        app = App.get_running_app()
        if app is not None:
            app.bind(k=self._fit)  # larger type (accessibility mode): fit the title again

    def _fit(self, *_args) -> None:
        """The largest title size at which title and subtitle fit the room the words have."""
        words = self.ids.get("words")
        if words is None or self.width <= 1 or self.height <= 1:
            return
        from kivy.app import App

        app = App.get_running_app()
        s = app.s if app else 1.0
        k = app.k if app else 1.15
        inner_h = self.height - 2 * self.padding[1]
        if self.wide:
            room_w = self.width - 2 * self.padding[0] - self.ids.icon.width - self.spacing
            room_h = inner_h
        else:
            room_w = self.width - 2 * self.padding[0]
            room_h = inner_h - self.spacing - 64 * s  # the icon keeps 64 px at least
        pad = (2 if self.wide else 8) * s  # each label's own
        # Large text, or a crowded grid (ten tiles from the catalogue and the scheme pages):
        # smaller steps before words would spill out of the tile.
        for sub_base in (26, 22):
            sub_h = text_height(self.subtitle, sub_base * k, room_w, bold=False) + pad
            for base in (*TITLE_BASES, *LARGE_TEXT_BASES):
                if text_height(self.title, base * k, room_w, bold=True) + pad + sub_h <= room_h:
                    break
            else:
                continue
            break
        self.title_base = base
        self.sub_base = sub_base


def text_height(text: str, size: float, width: float, bold: bool) -> float:
    """Height of `text` wrapped to `width` at font `size` (as the tile's labels draw it)."""
    if not text or width <= 1:
        return 0.0
    name, script = font_for(text)
    label = CoreLabel(text=text, font_size=size, font_name=name, font_script_name=script,
                      bold=bold, text_size=(width, None), halign="center")
    label.refresh()
    return float(label.texture.size[1]) if label.texture else 0.0


def lay_out(grid, count: int, s: float) -> None:
    """Columns for `count` tiles in `grid`, and each tile's arrangement for the size it gets."""
    gap = grid.spacing[0]
    cols, rows = grid_shape(count, grid.width, grid.height, gap)
    if grid.cols != cols:
        grid.cols = cols
    tile_w = (grid.width - (cols - 1) * gap) / cols
    tile_h = (grid.height - (rows - 1) * gap) / rows
    wide = tile_h < TALL_ENOUGH * s or tile_w >= WIDE_RATIO * tile_h
    for tile in grid.children:
        tile.wide = wide
