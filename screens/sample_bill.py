"""A small drawn sample bill on the number-entry screen, with the box where the consumer number
is printed highlighted: "where on my bill is the number?" answered by a picture, not a sentence.

The box's place comes from the provider's catalogue entry (number_hint.box, fractions of the
page from its top-left, terminal/number_hint.py); a provider that gives none gets the generic
place most Rajasthan utility bills use (top right, under the header). Drawn with Kivy's canvas:
no image file to ship, and it scales with the screen."""

from __future__ import annotations

from typing import Any

from kivy.graphics import Color, Line, Rectangle, RoundedRectangle
from kivy.properties import BooleanProperty, ListProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from screens.widgets import ACCENT, AMBER, INK, KLabel

GENERIC_BOX = (0.52, 0.2, 0.42, 0.16)  # top right, under the header band
PAGE_RATIO = 0.8  # height / width: a half-page bill, as utility bills are printed
HIGHLIGHT = (1.0, 0.86, 0.35, 1)  # the marked box's fill (its thick dark border says it too)
BAR = (0.78, 0.80, 0.84, 1)  # printed text, as grey bars
PAPER = (1, 1, 1, 1)


def box_for(provider: dict[str, Any] | None) -> tuple[float, float, float, float]:
    """The number's box on this provider's bill, or the generic one."""
    box = ((provider or {}).get("number_hint") or {}).get("box")
    if isinstance(box, (list, tuple)) and len(box) == 4:
        return tuple(float(v) for v in box)  # type: ignore[return-value]
    return GENERIC_BOX


class BillPicture(Widget):
    """The page: header band, text bars, the amount, and the number's box marked."""

    box = ListProperty(list(GENERIC_BOX))
    label = StringProperty("")  # written inside the marked box ("के-नंबर")

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._mark = KLabel(text=self.label, base=16, bold=True, color=INK, auto_height=False,
                            halign="center", valign="middle")
        self.add_widget(self._mark)
        self.bind(pos=self._draw, size=self._draw, box=self._draw, label=self._draw)

    def page(self) -> tuple[float, float, float, float]:
        """The page's x, y, width, height inside the widget (centred)."""
        w = min(self.width, self.height / PAGE_RATIO)
        h = w * PAGE_RATIO
        return self.x + (self.width - w) / 2, self.y + (self.height - h) / 2, w, h

    def marked(self) -> tuple[float, float, float, float]:
        """The marked box in window units (Kivy's y grows upwards; the box's from the top)."""
        px, py, pw, ph = self.page()
        bx, by, bw, bh = self.box
        return px + bx * pw, py + ph - (by + bh) * ph, bw * pw, bh * ph

    def _draw(self, *_args) -> None:
        px, py, pw, ph = self.page()
        self.canvas.before.clear()
        with self.canvas.before:
            Color(0, 0, 0, 0.12)
            RoundedRectangle(pos=(px + 4, py - 4), size=(pw, ph), radius=[6])
            Color(*PAPER)
            RoundedRectangle(pos=(px, py), size=(pw, ph), radius=[6])
            Color(*ACCENT)
            Rectangle(pos=(px, py + ph * 0.88), size=(pw, ph * 0.12))
            Color(*BAR)
            for i in range(7):  # rows of printed text
                top = 0.42 + i * 0.065
                if top > 0.84:
                    break
                Rectangle(pos=(px + pw * 0.08, py + ph * (1 - top)),
                          size=(pw * (0.84 if i % 2 else 0.6), ph * 0.025))
            Rectangle(pos=(px + pw * 0.5, py + ph * 0.06), size=(pw * 0.42, ph * 0.07))
            Color(*HIGHLIGHT)
            x, y, w, h = self.marked()
            Rectangle(pos=(x, y), size=(w, h))
            Color(*AMBER)
            Line(rectangle=(x, y, w, h), width=2.2)
            Color(*INK)
            Line(rounded_rectangle=(px, py, pw, ph, 6), width=1)
        x, y, w, h = self.marked()
        self._mark.text = self.label
        self._mark.pos, self._mark.size = (x, y), (w, h)
        self._mark.text_size = (w, h)


class SampleBill(BoxLayout):
    """The picture and one line beside it saying what the marked box is. `shown` False hides it
    (an error message needs the room)."""

    tid = StringProperty("")
    shown = BooleanProperty(True)
    caption = StringProperty("")
    mark = StringProperty("")
    box = ListProperty(list(GENERIC_BOX))

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.spacing = 16
        self.picture = BillPicture(size_hint_x=0.45)
        self.text = KLabel(text=self.caption, base=26, color=INK, halign="left",
                           size_hint_y=None)
        self.text.tid = "sample_bill_caption"
        self.picture.tid = "sample_bill_box"
        self.picture._mark.tid = "sample_bill_mark"
        beside = BoxLayout(orientation="vertical")  # the caption level with the picture
        for widget in (Widget(), self.text, Widget()):
            beside.add_widget(widget)
        self.add_widget(self.picture)
        self.add_widget(beside)
        self.bind(caption=self._sync, mark=self._sync, box=self._sync)

    def _sync(self, *_args) -> None:
        self.text.text = self.caption
        self.picture.label = self.mark
        self.picture.box = list(self.box)
