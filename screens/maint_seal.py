"""The seal/bag number the engineer types on the cash collection screen: an on-screen keyboard
of capitals and digits in a box over the screen (a kiosk has no keyboard), the number shown as
it is typed. It is sent with collect_cash (`seal_no`) and printed on the collection slip; the
core checks it again (terminal/collection_slip.py parse_seal).

English, as every engineer screen (screens/maint.py)."""

from __future__ import annotations

from collections.abc import Callable

from kivy.uix.modalview import ModalView

from screens.services_keys import TextKeyboard, apply_key
from screens.widgets import CARD, INK, LINE, MUTED, Box, KButton, KLabel

SEAL_MAX = 20  # as the core accepts (terminal/collection_slip.py SEAL_MAX)
SEAL_MIN = 3


def seal_allowed(key: str) -> bool:
    """One key of the keyboard: capitals and digits only."""
    return len(key) == 1 and key.isascii() and key.isalnum() and key == key.upper()


def seal_ready(value: str) -> bool:
    return SEAL_MIN <= len(value) <= SEAL_MAX


class SealEntryView(ModalView):
    """"Seal / bag number" with the keyboard; Continue keeps the number (at least 3 signs),
    Cancel keeps the one there was."""

    def __init__(self, app, value: str, on_done: Callable[[str], None]) -> None:
        super().__init__(
            auto_dismiss=False,
            size_hint=(0.94, 0.9) if not app.portrait else (0.96, 0.6),
            overlay_color=(0, 0, 0, 0.6),
            background_color=(0, 0, 0, 0),
        )
        self.value = value
        self.on_done = on_done
        card = Box(orientation="vertical", bg=list(CARD), border=list(LINE),
                   padding=(24 * app.s, 16 * app.s), spacing=10 * app.s)
        head = Box(size_hint_y=None, height=80 * app.s, spacing=16 * app.s)
        head.add_widget(KLabel(text="Seal / bag number:", tid="maint_seal_title", base=30,
                               latin=True, bold=True, halign="left", size_hint_x=0.45,
                               size_hint_y=1, auto_height=False, color=INK))
        self.shown = KLabel(tid="maint_seal_value", base=40, latin=True, bold=True,
                            halign="left", size_hint_y=1, auto_height=False, color=INK)
        head.add_widget(self.shown)
        cancel = KButton(tid="maint_seal_cancel", text="Cancel", kind="secondary", tall=72,
                         base=26, latin=True)
        cancel.size_hint_x = 0.22
        cancel.bind(on_release=lambda _w: self.dismiss())
        head.add_widget(cancel)
        card.add_widget(head)
        self.hint = KLabel(tid="maint_seal_hint", base=24, latin=True, color=MUTED,
                           halign="left", size_hint_y=None, height=40 * app.s,
                           auto_height=False)
        card.add_widget(self.hint)
        card.add_widget(TextKeyboard(app, self.key, space=False))
        self.add_widget(card)
        self.keyboard = card.children[0]
        self.show()

    def key(self, key: str) -> None:
        if key == "continue":
            if seal_ready(self.value):
                self.on_done(self.value)
                self.dismiss()
            return
        self.value = apply_key(self.value, key, SEAL_MAX, seal_allowed)
        self.show()

    def show(self) -> None:
        self.shown.text = self.value or "—"
        self.hint.text = (
            f"As printed on the seal or the bag: {SEAL_MIN} to {SEAL_MAX} letters and digits"
        )
        for child in self.keyboard.walk(restrict=True):
            if getattr(child, "tid", "") == "kb_continue":
                child.disabled = not seal_ready(self.value)
