"""Accessibility mode on the screen: large text and a stronger-contrast palette, switched at once
for every screen while the core's state says the mode is on (terminal/accessibility.py keeps it
for the session and slows the timeouts).

layout.kv imports `W` as PALETTE: its colours are Kivy properties, so every rule that reads
`W.INK` redraws when the palette changes. Names the palette does not hold fall through to
screens.widgets (the module `W` used to be)."""

from __future__ import annotations

from typing import Any

from kivy.event import EventDispatcher
from kivy.properties import BooleanProperty, ColorProperty, NumericProperty

from screens import widgets

TEXT_SCALE = 1.25  # large text: every label and button's type this much bigger
NORMAL = {
    name: getattr(widgets, name)
    for name in ("BG", "INK", "MUTED", "ACCENT", "ACCENT_DARK", "GREEN", "RED", "AMBER",
                 "WHITE", "CARD", "LINE")
}
# Stronger contrast: black text on pure white, the secondary text as dark as the main text,
# darker accent, red and green, dark lines (every pair well above WCAG AAA's 7:1).
HIGH_CONTRAST = {
    **NORMAL,
    "BG": (1, 1, 1, 1),
    "INK": (0, 0, 0, 1),
    "MUTED": (0.05, 0.05, 0.07, 1),
    "ACCENT": (0.0, 0.18, 0.45, 1),
    "ACCENT_DARK": (0.0, 0.08, 0.24, 1),
    "GREEN": (0.0, 0.28, 0.10, 1),
    "RED": (0.52, 0.0, 0.0, 1),
    "AMBER": (0.36, 0.18, 0.0, 1),
    "LINE": (0.10, 0.10, 0.14, 1),
}


class Palette(EventDispatcher):
    """The colours the kv rules read; `high_contrast(True)` switches every screen at once."""

    BG = ColorProperty(NORMAL["BG"])
    INK = ColorProperty(NORMAL["INK"])
    MUTED = ColorProperty(NORMAL["MUTED"])
    ACCENT = ColorProperty(NORMAL["ACCENT"])
    ACCENT_DARK = ColorProperty(NORMAL["ACCENT_DARK"])
    GREEN = ColorProperty(NORMAL["GREEN"])
    RED = ColorProperty(NORMAL["RED"])
    AMBER = ColorProperty(NORMAL["AMBER"])
    WHITE = ColorProperty(NORMAL["WHITE"])
    CARD = ColorProperty(NORMAL["CARD"])
    LINE = ColorProperty(NORMAL["LINE"])

    def __getattr__(self, name: str) -> Any:
        # only called for names that are not properties: widgets' other constants
        return getattr(widgets, name)

    def high_contrast(self, on: bool) -> None:
        for name, value in (HIGH_CONTRAST if on else NORMAL).items():
            setattr(self, name, value)


PALETTE = Palette()


def type_scales(layout_scale: float, lang: str, large: bool) -> tuple[float, float]:
    """(latin, devanagari) type scales: the layout's, +15 % for Devanagari, +25 % large text."""
    latin = layout_scale * (TEXT_SCALE if large else 1.0)
    return latin, latin * (1.15 if lang == "hi" else 1.0)


def mode_of(state: dict[str, Any]) -> bool:
    """Is accessibility mode on in the core's state (absent: an older core, off)?"""
    mode = state.get("accessibility")
    return bool(mode.get("on")) if isinstance(mode, dict) else False


class AccessibleApp:
    """KioskApp's part for accessibility mode and voice guidance (mixed into the App: the
    properties are Kivy properties the kv rules read)."""

    t = NumericProperty(1.0)  # Latin type scale (app.k is Devanagari's)
    accessible = BooleanProperty(False)  # large text + high contrast, from the core's state
    voice_on = BooleanProperty(False)  # speaking now (the listen button shows it)
    voice_available = BooleanProperty(False)  # an engine and an allowed sink: show the button

    def setup_voice(self, ui: dict[str, Any]) -> None:
        from screens.accessibility_voice import Narrator
        from screens.voice import Voice

        self.voice_default = bool(ui.get("voice", False))
        self.voice = Voice(self.voice_default, str(ui.get("voice_engine", "espeak-ng")),
                           device=str(ui.get("voice_device", "")),
                           headphones=bool(ui.get("voice_headphones", False)))
        self.voice_available = self.voice.available
        self.voice_on = self.voice.active
        self.narrator = Narrator(self.voice.say, self.tr)

    def scale_type(self) -> None:
        self.t, self.k = type_scales(self.s, self.lang, self.accessible)

    def on_accessible(self, *_args) -> None:
        PALETTE.high_contrast(self.accessible)
        self.scale_type()
        self.render()  # the screens' own colours (set in update) over the palette's

    def accessibility_from_state(self, state: dict[str, Any]) -> None:
        self.accessible = mode_of(state)

    def toggle_accessibility(self) -> None:
        """The button on the attract and home screens: on at once, the core confirms it."""
        on = not self.accessible
        self.accessible = on
        if self.connected:
            self.send_intent("accessibility", on=on)

    def back_to_defaults(self) -> None:
        """The kiosk returns to the attract screen: the next citizen starts with the site's
        settings (the core resets its mode itself when a session ends)."""
        mode = self.state.get("accessibility") if self.state else None
        if isinstance(mode, dict) and bool(mode.get("on")) != bool(mode.get("default")):
            self.accessible = bool(mode.get("default"))
            if self.connected and self.state.get("screen") == "IDLE":
                self.send_intent("accessibility", on=bool(mode.get("default")))
        self.voice.switch(self.voice_default)
        self.voice_on = self.voice.active

    def replay_voice(self) -> None:
        """The listen button: voice on for this citizen, and the screen's words again."""
        if not self.voice.active:
            self.voice.switch(True)
            self.voice_on = self.voice.active
        screen = self.sm.current_screen if self.sm else None
        self.narrator.replay(getattr(screen, "prompt_key", ""), self.lang)

    def speak_drawn(self, target: str, prompt: str, state: dict[str, Any]) -> None:
        self.narrator.drawn(target, prompt, state, self.lang)
