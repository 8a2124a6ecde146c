"""The citizen services on the touch screen: application status and certificate check
(services_lookup.py),
grievance (services_grievance.py), apply for a service (services_form.py), and the fee and done
screens both paid services share (services_fee.py). Each screen draws `state.lookup`
(docs/session-api.md, "Citizen services") and sends the service's intents; the core decides.

`register(app)` adds the screens and services.kv; `route(app, target)` sends the bill and done
screens of a grievance or an application to the services' own fee and done screens."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from kivy.lang import Builder
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from screens.views import KioskScreen
from screens.widgets import (
    ACCENT,
    GREEN,
    INK,
    MUTED,
    RED,
    Box,
    BusySpinner,
    Icon,
    KButton,
    KLabel,
)

KV_FILE = Path(__file__).resolve().parent / "services.kv"
SERVICE_SCREENS = {"STATUS": "status", "CERTIFICATE": "certificate", "GRIEVANCE": "grievance",
                   "APPLICATION": "application", "INFO": "info"}
PAID_SERVICES = ("grievance", "application")  # lookup.service of a fee paid like a bill
LOOKUP_SCREENS = ("STATUS", "CERTIFICATE", "INFO")  # "back": the home tiles, not attract
ALIVE_EVERY_S = 10.0  # typing on the screen alone tells the core nothing: say "still here"
START_INTENTS = {"status": "status_start", "certificate": "certificate_start",
                 "grievance": "grievance_start", "application": "application_start",
                 "info": "info_start"}


def lookup_of(state: dict[str, Any]) -> dict[str, Any]:
    lookup = state.get("lookup")
    return lookup if isinstance(lookup, dict) else {}


def route(app, target: str) -> str:
    """The screen to show: the services' own screens for their core screens, and for the fee
    (BILL) and DONE of a grievance or an application (a bill screen would show the fee's
    made-up consumer name; the done screen would not show the grievance number)."""
    state = app.state or {}
    screen = state.get("screen")
    if not app.connected or not state:
        return target
    if screen in SERVICE_SCREENS:
        return "processing" if state.get("busy") and screen in ("GRIEVANCE", "APPLICATION") \
            else SERVICE_SCREENS[screen]
    held = getattr(app, "_done_state", None) if target == "done" else None
    source = held if held and screen == "IDLE" else state
    paid = lookup_of(source).get("service") in PAID_SERVICES
    if paid and target == "bill":
        return "service_fee"
    if paid and target == "done":
        return "service_done"
    return target


def open_service(app, kind: str, service: str = "") -> None:
    """A home tile of state.home: its kind says which intent starts it."""
    intent = START_INTENTS.get(kind)
    if intent is None:
        return
    if kind == "application":
        app.send_intent(intent, service=service)
    else:
        app.send_intent(intent)


def register(app) -> None:
    """Load services.kv and add the services' screens (after layout.kv: it uses its rules)."""
    from screens.services_fee import ServiceDoneScreen, ServiceFeeScreen
    from screens.services_form import ApplicationScreen
    from screens.services_grievance import GrievanceScreen
    from screens.services_info import InfoScreen
    from screens.services_lookup import CertificateScreen, StatusScreen

    Builder.load_file(str(KV_FILE))
    for cls in (StatusScreen, CertificateScreen, GrievanceScreen, ApplicationScreen,
                ServiceFeeScreen, ServiceDoneScreen, InfoScreen):
        app.sm.add_widget(cls())


def home_after(previous: str | None) -> bool:
    return previous in LOOKUP_SCREENS


# ------------------------------------------------------------------ building blocks


def title(text: str, tid: str, base: int = 44, color=INK) -> KLabel:
    return KLabel(text=text, tid=tid, base=base, bold=True, balance=True, color=color)


def line(text: str, tid: str, base: int = 30, color=INK, bold: bool = False,
         halign: str = "center") -> KLabel:
    return KLabel(text=text, tid=tid, base=base, color=color, bold=bold, halign=halign)


def value_box(app, text: str, tid: str, empty: str, base: int = 56) -> Box:
    """The number or text typed so far, big, in a white box with the accent border."""
    box = Box(size_hint_y=None, height=116 * app.s, bg=[1, 1, 1, 1], border=list(ACCENT),
              padding=10 * app.s)
    label = KLabel(text=text or empty, tid=tid, base=base if text else 30, bold=bool(text),
                   latin=bool(text), color=INK if text else MUTED, size_hint_y=1,
                   auto_height=False)
    box.add_widget(label)
    return box


def rows(app, pairs: list[tuple[str, str, str]], label_share: float = 0.34) -> BoxLayout:
    """(tid, label, value) lines: the label muted on the left, the value bold beside it."""
    box = BoxLayout(orientation="vertical", size_hint_y=None, spacing=6 * app.s)
    box.bind(minimum_height=box.setter("height"))
    for tid, label, value in pairs:
        row = BoxLayout(size_hint_y=None, spacing=18 * app.s)
        name = KLabel(text=label, base=28, color=MUTED, halign="left", pad=4)
        shown = KLabel(text=value, tid=tid, base=30, bold=True, halign="left", pad=4)
        name.size_hint_x, shown.size_hint_x = label_share, 1 - label_share
        name.pos_hint = shown.pos_hint = {"top": 1}  # a value of two lines: label at its top

        def fit(*_a, row=row, parts=(name, shown)) -> None:
            row.height = max(p.height for p in parts)

        name.bind(height=fit)
        shown.bind(height=fit)
        fit()
        row.add_widget(name)
        row.add_widget(shown)
        box.add_widget(row)
    return box


def verdict(app, text: str, mark: str, colour, tid: str = "svc_verdict") -> BoxLayout:
    """A mark whose shape carries the meaning (tick / cross / !) and the verdict beside it."""
    row = BoxLayout(size_hint_y=None, height=84 * app.s, spacing=18 * app.s)
    icon = Icon(kind=mark, tint=list(colour), size_hint_x=None, width=76 * app.s)
    words = KLabel(text=text, tid=tid, base=38, bold=True, halign="left",
                   color=colour if colour in (GREEN, RED) else INK, size_hint_y=1,
                   auto_height=False)
    row.add_widget(icon)
    row.add_widget(words)
    return row


def waiting(app, words: str) -> BoxLayout:
    box = BoxLayout(orientation="vertical", spacing=20 * app.s)
    box.add_widget(Widget())
    spinner = BusySpinner(size_hint=(None, None), size=(140 * app.s, 140 * app.s),
                          pos_hint={"center_x": 0.5})
    box.add_widget(spinner)
    box.add_widget(title(app.tr("please_wait"), "svc_checking"))
    box.add_widget(line(words, "svc_checking_what", color=MUTED))
    box.add_widget(Widget())
    spinner.start()
    return box


def button(text: str, tid: str, callback, kind: str = "primary", tall: int = 100,
           width: float | None = None) -> KButton:
    made = KButton(tid=tid, text=text, kind=kind, tall=tall)
    if width is not None:
        made.size_hint_x = width
    made.bind(on_release=lambda _w: callback())
    return made


class ServiceScreen(KioskScreen):
    """Shared: the body is rebuilt when what it shows changes (not on every state)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._drawn: object = None

    _alive_at = 0.0

    def alive(self, app) -> None:
        """A tap that stays on the screen (a key, a choice): the core's timer for this step
        would end the session under a citizen still typing, so it hears "more_time" now and
        then (any intent restarts it)."""
        now = time.monotonic()
        if now - ServiceScreen._alive_at >= ALIVE_EVERY_S:
            ServiceScreen._alive_at = now
            app.send_intent("more_time")

    def redraw(self, key: object) -> bool:
        """True when the body must be built again for `key` (cleared here)."""
        if key == self._drawn:
            return False
        self._drawn = key
        for child in list(self.ids.body.children):
            for spinner in child.walk():
                if isinstance(spinner, BusySpinner):
                    spinner.stop()
        self.ids.body.clear_widgets()
        return True

    def set_back(self, app, key: str = "btn_back", tid: str = "back", danger: bool = False) -> None:
        self.ids.back.text = app.tr(key)
        self.ids.back.tid = tid
        self.ids.back.kind = "danger_outline" if danger else "secondary"

    def set_extra(self, app, key: str | None, tid: str = "svc_extra", primary: bool = False,
                  ) -> None:
        self.ids.extra.shown = key is not None
        self.ids.extra.text = app.tr(key) if key else ""
        self.ids.extra.tid = tid
        self.ids.extra.kind = "primary" if primary else "secondary"

    def go_back(self, app) -> None:
        app.send_intent("finish")

    def extra(self, app) -> None:
        """The footer's middle button (a screen that shows it says what it does)."""

    def hidden(self, app) -> None:
        self._drawn = None
        self.ids.body.clear_widgets()
