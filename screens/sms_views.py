"""The receipt by SMS, over the done screen (issue 13): offered when the paper failed or the
receipt is provisional (`session.sms.offer`); the citizen may type a mobile number (10 digits,
optional, once per session); the core journals it and central sends the SMS. The number is
shown back only masked, with what became of the SMS."""

from __future__ import annotations

from typing import Any

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from screens.services_keys import DigitPad, apply_key
from screens.services_views import ServiceScreen, button, line, title, value_box, verdict, waiting
from screens.voucher_views import ask, close_overlay, session_of
from screens.widgets import AMBER, GREEN, MUTED, RED

MOBILE_DIGITS = 10
RESULTS = {"sms_sent": ("tick", GREEN), "sms_will_be_sent": ("tick", GREEN),
           "sms_failed": ("warning", AMBER)}


def spaced_mobile(digits: str) -> str:
    """ "9876543210" -> "98765 43210", as a mobile number is said aloud."""
    return f"{digits[:5]} {digits[5:]}".strip()


class SmsScreen(ServiceScreen):
    prompt_key = "sms_title"

    def __init__(self, **kwargs) -> None:
        super().__init__(name="sms", **kwargs)
        self.entry = ""
        self.sending = False

    def update(self, app, state: dict[str, Any]) -> None:
        held = getattr(app, "_done_state", None)
        session = session_of(state) or session_of(held or {})
        sms = session.get("sms") if isinstance(session.get("sms"), dict) else {}
        masked = sms.get("mobile_masked")
        message = (state.get("message") or {}).get("key") if isinstance(
            state.get("message"), dict) else None
        result = message if message in RESULTS else ("sms_sent" if sms.get("sent") else
                                                     "sms_will_be_sent")
        self.set_back(app)
        self.set_extra(app, None)
        key = (app.lang, self.entry, app.notice, self.sending, masked, result, app.portrait)
        if not self.redraw(key):
            return
        body = self.ids.body
        if self.sending:
            body.add_widget(waiting(app, app.tr("sms_sending")))
        elif masked:
            self.draw_result(app, masked, result)
        else:
            self.draw_entry(app)

    def draw_entry(self, app) -> None:
        split = BoxLayout(orientation="vertical" if app.portrait else "horizontal",
                          spacing=28 * app.s)
        left = BoxLayout(orientation="vertical", spacing=12 * app.s)
        left.add_widget(title(app.tr("sms_title"), "sms_title"))
        left.add_widget(line(app.tr("sms_prompt"), "sms_prompt", color=MUTED))
        left.add_widget(value_box(app, spaced_mobile(self.entry), "sms_number",
                                  app.tr("sms_number_empty")))
        problem = app.tr(app.notice) if app.notice else ""
        left.add_widget(line(problem, "message", color=RED, bold=True))
        left.add_widget(Widget())
        split.add_widget(left)
        pad = DigitPad(app, lambda k: self.key(app, k), size_hint_x=1.0)
        pad.set_ready(len(self.entry) == MOBILE_DIGITS)
        split.add_widget(pad)
        self.ids.body.add_widget(split)

    def draw_result(self, app, masked: str, result: str) -> None:
        body = self.ids.body
        mark, colour = RESULTS[result]
        body.add_widget(Widget(size_hint_y=0.3))
        body.add_widget(verdict(app, app.tr(result), mark, colour, tid="sms_result"))
        body.add_widget(line(app.tr("sms_to", number=masked), "sms_masked", base=34, bold=True))
        body.add_widget(Widget(size_hint_y=0.2))
        done = button(app.tr("btn_finish"), "sms_finish", lambda: self.finish(app))
        done.size_hint = (None, None)
        done.width, done.height = 420 * app.s, 110 * app.s
        done.pos_hint = {"center_x": 0.5}
        body.add_widget(done)
        body.add_widget(Widget())

    def key(self, app, key: str) -> None:
        app.notice = None
        self.alive(app)
        if key == "continue":
            if len(self.entry) == MOBILE_DIGITS and not self.sending:
                self.sending = True
                ask(app, "mobile", lambda r: self.answered(app, r), number=self.entry)
        else:
            self.entry = apply_key(self.entry, key, MOBILE_DIGITS, str.isdigit)
        app.render()

    def answered(self, app, reply: dict[str, Any]) -> None:
        self.sending = False
        if reply.get("ok"):
            self.entry = ""  # never kept on the screen: the core shows it masked
        else:
            app.notice = reply.get("message_key") or "mobile_invalid"

    def go_back(self, app) -> None:
        close_overlay(app)  # back to the done screen

    def finish(self, app) -> None:
        app.overlay = None
        app.finish_done()

    def hidden(self, app) -> None:
        super().hidden(app)
        self.entry = ""
        self.sending = False
