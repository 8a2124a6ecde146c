"""The fee of a grievance or an application, and the screen after it is paid.

Central answers a registered grievance (or application) with its fee as a bill; the core pays
it through the bill money path (BILL -> PAYING / CARD -> DONE). The bill screen would show that
bill's made-up consumer name and period, so these two screens take its place: what the fee is
for with the number central gave, how to pay, and afterwards the number again with the slips
to take. The paying and card screens stay the bill's own."""

from __future__ import annotations

from typing import Any

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from screens import fmt, hindi_text
from screens.services_views import ServiceScreen, button, line, lookup_of, rows, title, verdict
from screens.views import message_key, session_of
from screens.widgets import ACCENT_DARK, GREEN, MUTED, RED, Box, KLabel


def number_of(lookup: dict[str, Any]) -> str:
    return str(lookup.get("grievance_no") or lookup.get("application_no") or "")


def what(lookup: dict[str, Any]) -> str:
    """"grievance" or "application": which words to use."""
    return "grievance" if lookup.get("service") == "grievance" else "application"


class ServiceFeeScreen(ServiceScreen):
    prompt_key = "svc_fee_pay"

    def __init__(self, **kwargs) -> None:
        super().__init__(name="service_fee", **kwargs)

    def update(self, app, state: dict[str, Any]) -> None:
        lookup = lookup_of(state)
        session = session_of(state)
        kind = what(lookup)
        card = bool((state.get("services") or {}).get("card_payment"))
        key = message_key(state)
        problem = app.notice or (key if key and key.startswith("card_") else None)
        self.set_back(app, "btn_cancel", "cancel", danger=True)
        self.set_extra(app, None)
        drawn = (app.lang, kind, number_of(lookup), session.get("due_paise"), card, problem)
        if not self.redraw(drawn):
            return
        body = self.ids.body
        body.add_widget(title(app.tr(f"svc_{kind}_fee_title"), "svc_title"))
        body.add_widget(line(app.tr(f"svc_{kind}_registered"), "svc_registered", color=MUTED))
        box = Box(orientation="vertical", size_hint_y=None, bg=[1, 1, 1, 1],
                  border=[0.70, 0.73, 0.78, 1], padding=(20 * app.s, 10 * app.s))
        box.bind(minimum_height=box.setter("height"))
        for tid, label, value, base, tall in (
                ("svc_number_shown", app.tr(f"svc_{kind}_no"), number_of(lookup), 34, 60),
                ("svc_fee", app.tr("svc_fee"), fmt.rupees(session.get("due_paise") or 0), 56,
                 100)):
            pair = BoxLayout(size_hint_y=None, height=tall * app.s, spacing=18 * app.s)
            pair.add_widget(KLabel(text=label, base=30, color=MUTED, halign="left",
                                   size_hint_x=0.45, size_hint_y=1, auto_height=False))
            pair.add_widget(KLabel(text=value, tid=tid, base=base, bold=True, latin=True,
                                   color=ACCENT_DARK, halign="left", size_hint_x=0.55,
                                   size_hint_y=1, auto_height=False))
            box.add_widget(pair)
        body.add_widget(box)
        body.add_widget(line(app.tr("svc_fee_change"), "svc_fee_change", base=28, color=MUTED))
        if problem:
            body.add_widget(line(app.tr(problem), "message", color=RED, bold=True))
        buttons = BoxLayout(size_hint_y=None, height=110 * app.s, spacing=24 * app.s)
        buttons.add_widget(button(app.tr("svc_pay_cash"), "confirm",
                                  lambda: app.send_intent("confirm"), tall=110))
        if card:
            buttons.add_widget(button(app.tr("btn_pay_card"), "pay_card",
                                      lambda: app.send_intent("pay_card"), kind="secondary",
                                      tall=110))
        body.add_widget(buttons)
        body.add_widget(Widget())

    def go_back(self, app) -> None:
        app.send_intent("cancel")


class ServiceDoneScreen(ServiceScreen):
    prompt_key = "take_receipt"

    def __init__(self, **kwargs) -> None:
        super().__init__(name="service_done", **kwargs)

    def update(self, app, state: dict[str, Any]) -> None:
        if state.get("screen") != "DONE":  # the core went home; the citizen is still reading
            state = getattr(app, "_done_state", None) or state
        lookup = lookup_of(state)
        session = session_of(state)
        kind = what(lookup)
        failed = bool(session.get("print_failed"))
        voucher = session.get("voucher") or None
        self.set_back(app, "btn_finish", "finish")
        self.set_extra(app, None)
        drawn = (app.lang, kind, number_of(lookup), session.get("receipt_no"), failed,
                 repr(voucher), repr(session.get("paid_by_card")))
        if not self.redraw(drawn):
            return
        body = self.ids.body
        if failed:
            body.add_widget(verdict(app, app.tr("print_failed_money_safe"), "warning", RED,
                                    tid="done_title"))
        else:
            body.add_widget(verdict(app, app.tr(f"svc_{kind}_done"), "tick", GREEN,
                                    tid="done_title"))
        pairs = [("svc_number_shown", app.tr(f"svc_{kind}_no"), number_of(lookup)),
                 ("receipt_no", app.tr("receipt_no"),
                  hindi_text.receipt_number(app, session.get("receipt_no"))),
                 ("svc_fee_paid", app.tr("svc_fee_paid"),
                  fmt.rupees(session.get("amount_paise") or 0))]
        if voucher:
            pairs.append(("voucher", app.tr("voucher_label"), fmt.rupees(voucher.get("paise")
                                                                          or 0)))
        body.add_widget(rows(app, [p for p in pairs if p[2]], label_share=0.42))
        if voucher:
            body.add_widget(line(app.tr("voucher_hint"), "voucher_hint", base=26, color=MUTED))
        if failed:
            helpline = (state.get("terminal") or {}).get("helpline", "")
            body.add_widget(line(app.tr("help_call", number=helpline), "helpline", color=MUTED))
        else:
            slips = 2 + (1 if voucher else 0)  # the fee's receipt, the number's slip, a voucher
            body.add_widget(line(app.tr(f"svc_take_slips_{slips}"), "take", base=36, bold=True,
                                 color=ACCENT_DARK))
            body.add_widget(line(app.tr(f"svc_{kind}_next"), "svc_next", base=28, color=MUTED))
        body.add_widget(Widget())

    def go_back(self, app) -> None:
        app.finish_done()
