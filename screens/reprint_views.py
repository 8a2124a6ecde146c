"""A copy of a receipt for the citizen (issue 13), from the home tile "रसीद दोबारा": the receipt
number typed on the pad (the screen writes the "RCPT-" printed before it), or the receipt's QR
shown to the scanner (the QR check then offers "print again"). The core prints the copy marked
DUPLICATE and answers in `state.lookup` (kind "reprint"); this screen says what happened."""

from __future__ import annotations

from typing import Any

from kivy.core.window import Window
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from screens import fmt
from screens.services_keys import DigitPad, apply_key
from screens.services_lookup import qr_hint
from screens.services_views import (
    ServiceScreen,
    button,
    line,
    lookup_of,
    rows,
    title,
    value_box,
    verdict,
    waiting,
)
from screens.widgets import AMBER, GREEN, MUTED, RED

RECEIPT_PREFIX = "RCPT-"
RECEIPT_DIGITS = 12
RESULT_MARKS = {"reprint_printed": ("tick", GREEN), "reprint_printer_unavailable":
                ("warning", AMBER), "reprint_failed": ("warning", AMBER)}


def reprint_answer(state: dict[str, Any]) -> dict[str, Any] | None:
    """The core's answer to a reprint (state.lookup), or None while none is shown."""
    lookup = lookup_of(state)
    result = lookup.get("result") if isinstance(lookup.get("result"), dict) else {}
    if lookup.get("status") == "done" and result.get("kind") == "reprint":
        return lookup
    return None


class ReprintScreen(ServiceScreen):
    prompt_key = "reprint_title"

    def __init__(self, **kwargs) -> None:
        super().__init__(name="reprint", **kwargs)
        self.entry = ""
        self.sending = False

    def update(self, app, state: dict[str, Any]) -> None:
        answer = reprint_answer(state)
        if answer is not None:
            self.sending = False
        self.set_back(app)
        self.set_extra(app, None)
        shown = repr(answer) if answer else None
        key = (app.lang, self.entry, app.notice, self.sending, shown, app.portrait)
        if not self.redraw(key):
            return
        if answer is not None:
            self.prompt_key = str(answer.get("message_key") or "reprint_not_found")
            self.draw_answer(app, answer)
        elif self.sending:
            self.ids.body.add_widget(waiting(app, app.tr("reprint_printing")))
        else:
            self.prompt_key = "reprint_title"
            self.draw_entry(app)

    def draw_entry(self, app) -> None:
        split = BoxLayout(orientation="vertical" if app.portrait else "horizontal",
                          spacing=28 * app.s)
        left = BoxLayout(orientation="vertical", spacing=12 * app.s)
        left.add_widget(title(app.tr("reprint_title"), "reprint_title"))
        left.add_widget(line(app.tr("reprint_prompt"), "reprint_prompt", color=MUTED))
        left.add_widget(value_box(app, RECEIPT_PREFIX + self.entry, "reprint_number", "",
                                  base=48))
        problem = app.tr(app.notice) if app.notice else ""
        if problem:
            left.add_widget(line(problem, "message", color=RED, bold=True))
        else:
            left.add_widget(qr_hint(app, "reprint_qr_hint"))
        left.add_widget(Widget())
        split.add_widget(left)
        pad = DigitPad(app, lambda k: self.key(app, k), size_hint_x=1.0)
        pad.set_ready(bool(self.entry))
        split.add_widget(pad)
        self.ids.body.add_widget(split)

    def draw_answer(self, app, answer: dict[str, Any]) -> None:
        body = self.ids.body
        key = str(answer.get("message_key") or "reprint_not_found")
        mark, colour = RESULT_MARKS.get(key, ("cross", RED))
        body.add_widget(verdict(app, app.tr(key), mark, colour, tid="reprint_result"))
        result = answer.get("result") or {}
        pairs = [("reprint_receipt_no", app.tr("receipt_no"), str(result.get("receipt_no") or "")),
                 ("reprint_amount", app.tr("verify_amount"),
                  fmt.rupees(result["amount_paise"]) if result.get("amount_paise") else "")]
        facts = rows(app, [p for p in pairs if p[2]], label_share=0.4)
        facts.size_hint_x = None
        facts.width = min(800 * app.s, Window.width - 56 * app.s)  # under the verdict, centred
        facts.pos_hint = {"center_x": 0.5}
        body.add_widget(facts)
        if key == "reprint_printed":
            body.add_widget(line(app.tr("reprint_take"), "take", base=40, bold=True,
                                 color=GREEN))
        elif key == "reprint_not_found":
            again = button(app.tr("reprint_again"), "reprint_again", lambda: self.again(app))
            again.size_hint = (None, None)
            again.width, again.height = 460 * app.s, 100 * app.s
            again.pos_hint = {"center_x": 0.5}
            body.add_widget(again)
        helpline = (app.state.get("terminal") or {}).get("helpline", "")
        if key != "reprint_printed" and helpline:
            body.add_widget(line(app.tr("oos_helpline", number=helpline), "reprint_helpline",
                                 color=MUTED))
        body.add_widget(Widget())

    def key(self, app, key: str) -> None:
        app.notice = None
        if key == "continue":
            if self.entry and not self.sending:
                self.sending = True
                ask_reprint(app, self, RECEIPT_PREFIX + self.entry)
        else:
            self.entry = apply_key(self.entry, key, RECEIPT_DIGITS, str.isdigit)
        app.render()

    def again(self, app) -> None:
        """Type another number: the core's answer is put away first."""
        self.entry = ""
        app.reprint_again = True  # voucher_views.route opens this screen again once IDLE
        app.send_intent("finish")

    def go_back(self, app) -> None:
        if reprint_answer(app.state or {}) is not None:
            app.verify_back()  # the answer ends: the home tiles
        else:
            app.go_local("home")

    def hidden(self, app) -> None:
        super().hidden(app)
        self.entry = ""
        self.sending = False


def ask_reprint(app, screen: ReprintScreen, receipt_no: str) -> None:
    from screens.voucher_views import ask

    def answered(reply: dict[str, Any]) -> None:
        screen.sending = False
        app.notice = None  # the answer is in state.lookup, drawn as the screen's verdict

    ask(app, "reprint", answered, receipt_no=receipt_no)
