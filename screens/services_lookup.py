"""Application status and certificate check: a number typed (the pad for an application
number, the keyboard for a certificate's letters and digits) or the slip's QR shown to the
scanner; the answer in plain words with what to do next; the slip printed once per answer."""

from __future__ import annotations

import re
from typing import Any

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from screens import fmt
from screens.services_keys import DigitPad, TextKeyboard, apply_key
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
from screens.widgets import ACCENT, AMBER, GREEN, INK, MUTED, RED, Box, Icon, KLabel


class LookupScreen(ServiceScreen):
    """Number in, answer out: the application status and the certificate check."""

    service = ""
    limit = 16

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.entry = ""
        self._answer_for: object = None

    def update(self, app, state: dict[str, Any]) -> None:
        lookup = lookup_of(state)
        status = lookup.get("status") or "entry"
        result = lookup.get("result") or {}
        if status == "entry" and self._answer_for is not None:
            self.entry = ""  # "another number": start empty
        self._answer_for = result.get(self.number_field) if status == "done" else None
        self.set_back(app)
        self.set_extra(app, "svc_another" if status == "done" else None, "svc_another")
        key = (app.lang, status, self.entry, app.notice, lookup.get("message_key"),
               repr(result), bool(lookup.get("printed")), bool(state.get("busy")))
        if not self.redraw(key):
            return
        body = self.ids.body
        self.prompt_key = lookup.get("message_key") or f"{self.service}_enter_number"
        if status == "checking":
            body.add_widget(waiting(app, app.tr(f"svc_{self.service}_checking")))
        elif status == "done":
            self.draw_answer(app, state, lookup, result)
        else:
            self.draw_entry(app, lookup)

    def problem(self, app, lookup: dict[str, Any]) -> str:
        key = app.notice or lookup.get("message_key")
        return app.tr(key) if key and not key.endswith("_enter_number") else ""

    def key(self, app, key: str) -> None:
        app.notice = None
        self.alive(app)
        if key == "continue":
            if self.entry:
                app.send_intent(f"{self.service}_lookup", number=self.entry)
            return
        self.entry = apply_key(self.entry, key, self.limit, self.allowed)
        app.render()

    @staticmethod
    def allowed(key: str) -> bool:
        return key.isdigit()

    def go_back(self, app) -> None:
        app._verify_back = True  # "back": the home tiles (kiosk_app), not the attract screen
        app.send_intent("finish")

    def print_slip(self, app) -> None:
        app.send_intent(f"{self.service}_print")

    def extra(self, app) -> None:
        self.entry = ""
        app.send_intent(f"{self.service}_start")

    def print_row(self, app, state: dict[str, Any], lookup: dict[str, Any], can_print: bool,
                  ) -> BoxLayout:
        """Print (once per answer), or what became of the slip."""
        box = BoxLayout(orientation="vertical", size_hint_y=None, spacing=8 * app.s)
        box.bind(minimum_height=box.setter("height"))
        notice = app.notice
        if lookup.get("printed"):
            box.add_widget(line(app.tr("svc_slip_taken"), "svc_printed", bold=True, color=GREEN))
        elif can_print:
            if notice:
                box.add_widget(line(app.tr(notice), "message", bold=True, color=RED))
            busy = bool(state.get("busy"))
            made = button(app.tr("printing" if busy else "svc_print"), "svc_print",
                          lambda: self.print_slip(app))
            made.disabled = busy
            made.size_hint_x = 1
            box.add_widget(made)
        return box

    number_field = ""

    def draw_entry(self, app, lookup: dict[str, Any]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def draw_answer(self, app, state, lookup, result) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


def columns(app, body) -> tuple[BoxLayout, BoxLayout]:
    """The answer's facts on the left, what to do with them on the right (one above the other
    on a portrait screen): the whole answer fits under the verdict without scrolling."""
    split = BoxLayout(orientation="vertical" if app.portrait else "horizontal",
                      spacing=28 * app.s)
    left = BoxLayout(orientation="vertical", size_hint_x=0.58, spacing=8 * app.s)
    right = BoxLayout(orientation="vertical", size_hint_x=0.42, spacing=14 * app.s)
    split.add_widget(left)
    split.add_widget(right)
    body.add_widget(split)
    return left, right


def qr_hint(app, key: str) -> BoxLayout:
    """"Or show the QR code on your slip to the scanner below" with the QR pictogram."""
    row = BoxLayout(size_hint_y=None, height=96 * app.s, spacing=16 * app.s)
    row.add_widget(Icon(kind="qr", tint=list(ACCENT), size_hint_x=None, width=72 * app.s))
    hint = KLabel(text=app.tr(key), tid="svc_qr_hint", base=28, color=INK, halign="left",
                  size_hint_y=1, auto_height=False)
    row.add_widget(hint)
    return row


STATUS_MARKS = {"approved": ("tick", GREEN), "rejected": ("cross", RED),
                "awaiting_citizen": ("warning", AMBER), "in_progress": ("info", ACCENT)}


class StatusScreen(LookupScreen):
    name_ = "status"
    service = "status"
    number_field = "application_no"

    def __init__(self, **kwargs) -> None:
        super().__init__(name="status", **kwargs)

    def draw_entry(self, app, lookup: dict[str, Any]) -> None:
        split = BoxLayout(orientation="vertical" if app.portrait else "horizontal",
                          spacing=28 * app.s)
        left = BoxLayout(orientation="vertical", spacing=12 * app.s)
        left.add_widget(title(app.tr("svc_status_title"), "svc_title"))
        left.add_widget(line(app.tr("svc_status_prompt"), "svc_prompt", color=MUTED))
        left.add_widget(value_box(app, fmt.spaced_digits(self.entry) if self.entry else "",
                                  "svc_number", app.tr("svc_number_empty")))
        problem = self.problem(app, lookup)
        left.add_widget(line(problem, "message", color=RED, bold=True))
        if not problem:
            left.add_widget(qr_hint(app, "svc_status_qr_hint"))
        left.add_widget(Widget())
        split.add_widget(left)
        pad = DigitPad(app, lambda k: self.key(app, k), size_hint_x=0.8)
        pad.set_ready(bool(self.entry))
        split.add_widget(pad)
        self.ids.body.add_widget(split)

    def draw_answer(self, app, state, lookup, result) -> None:
        body = self.ids.body
        status = str(result.get("status") or "in_progress")
        mark, colour = STATUS_MARKS.get(status, STATUS_MARKS["in_progress"])
        body.add_widget(verdict(app, app.tr(f"svc_status_{status}")
                                if status in STATUS_MARKS else app.tr("svc_status_in_progress"),
                                mark, colour))
        pairs = [("svc_application_no", app.tr("svc_application_no"),
                  str(result.get("application_no") or "")),
                 ("svc_service", app.tr("svc_service"),
                  service_name(app, state, str(result.get("service") or ""))),
                 ("svc_stage", app.tr("svc_stage"), in_language(app, result, "stage")),
                 ("svc_stage_date", app.tr("svc_stage_date"),
                  fmt.date_dmy(result.get("stage_date"))),
                 ("svc_office", app.tr("svc_office"), in_language(app, result, "office"))]
        left, right = columns(app, body)
        left.add_widget(rows(app, [p for p in pairs if p[2]], label_share=0.36))
        step = result.get(f"next_step_{app.lang}") or result.get("next_step_en") or ""
        if step:
            box = Box(orientation="vertical", size_hint_y=None, bg=[0.91, 0.95, 1, 1],
                      border=list(ACCENT), padding=(16 * app.s, 8 * app.s))
            box.bind(minimum_height=box.setter("height"))
            box.add_widget(line(app.tr("svc_next_step"), "svc_next_label", base=26,
                                color=MUTED, halign="left"))
            box.add_widget(line(step, "svc_next_step", base=32, bold=True, halign="left"))
            right.add_widget(box)
        right.add_widget(self.print_row(app, state, lookup, True))
        left.add_widget(Widget())
        right.add_widget(Widget())


def in_language(app, result: dict[str, Any], field: str) -> str:
    """A field central sends in English with an optional Hindi twin (stage_hi, office_hi):
    the Hindi one on the Hindi screen when there is one."""
    hindi = result.get(f"{field}_hi") if app.lang == "hi" else None
    return str(hindi or result.get(field) or "")


def service_name(app, state: dict[str, Any], code: str) -> str:
    """A service's name from state.home, else from the words we carry, else its code."""
    for tile in (state.get("home") or {}).get("tiles") or []:
        for svc in tile.get("services") or [] if isinstance(tile, dict) else []:
            if isinstance(svc, dict) and svc.get("service") == code:
                return str(svc.get(f"name_{app.lang}") or svc.get("name_en") or code)
    words = f"svc_name_{code}"
    return app.tr(words) if app.has_text(words) else code.replace("_", " ")


CERT_MARKS = {"certificate_genuine": ("tick", GREEN), "certificate_expired": ("warning", AMBER),
              "certificate_revoked": ("cross", RED), "certificate_not_genuine": ("cross", RED),
              "certificate_not_found": ("cross", RED)}
CERT_TYPES = ("caste", "domicile", "income", "birth", "death", "marriage")


class CertificateScreen(LookupScreen):
    service = "certificate"
    number_field = "certificate_no"
    limit = 20

    def __init__(self, **kwargs) -> None:
        super().__init__(name="certificate", **kwargs)

    @staticmethod
    def allowed(key: str) -> bool:
        return key.isascii() and key.isalnum()

    def draw_entry(self, app, lookup: dict[str, Any]) -> None:
        body = self.ids.body
        top = BoxLayout(size_hint_y=None, height=150 * app.s, spacing=24 * app.s)
        left = BoxLayout(orientation="vertical", spacing=4 * app.s)
        left.add_widget(title(app.tr("svc_certificate_title"), "svc_title", base=40))
        problem = self.problem(app, lookup)
        if problem:
            left.add_widget(line(problem, "message", base=28, color=RED, bold=True))
        else:
            hint = qr_hint(app, "svc_certificate_prompt")
            hint.height = 84 * app.s
            left.add_widget(hint)
        top.add_widget(left)
        top.add_widget(value_box(app, self.entry, "svc_number", app.tr("svc_number_empty"),
                                 base=44))
        body.add_widget(top)
        body.add_widget(TextKeyboard(app, lambda k: self.key(app, k), space=False))

    def draw_answer(self, app, state, lookup, result) -> None:
        body = self.ids.body
        key = str(lookup.get("message_key") or "certificate_not_genuine")
        mark, colour = CERT_MARKS.get(key, ("info", ACCENT))
        body.add_widget(verdict(app, app.tr(key), mark, colour))
        genuine = result.get("result") == "genuine"
        pairs = [("svc_certificate_no", app.tr("svc_certificate_no"),
                  str(result.get("certificate_no") or ""))]
        if genuine:
            kind = str(result.get("type") or "")
            pairs += [
                ("svc_cert_type", app.tr("svc_cert_type"),
                 app.tr(f"svc_cert_{kind}") if kind in CERT_TYPES else kind),
                ("svc_holder", app.tr("svc_holder"), str(result.get("holder_name") or "")),
                ("svc_issued_on", app.tr("svc_issued_on"), fmt.date_dmy(result.get("issued_on"))),
                ("svc_issued_by", app.tr("svc_issued_by"), str(result.get("issued_by") or "")),
            ]
            details = result.get("details") if isinstance(result.get("details"), dict) else {}
            for index, (name, text) in enumerate(list(details.items())[:4]):
                words = f"svc_detail_{name}"
                label = app.tr(words) if app.has_text(words) else str(name).replace("_", " ")
                shown = str(text)
                if re.fullmatch(r"\d{4}-\d{2}-\d{2}", shown):
                    shown = fmt.date_dmy(shown)  # dates day first, as everywhere else
                pairs.append((f"svc_detail_{index}", label, shown))
        left, right = columns(app, body)
        left.add_widget(rows(app, [p for p in pairs if p[2]][:5], label_share=0.4))
        if pairs[5:]:
            right.add_widget(rows(app, pairs[5:], label_share=0.5))
        if not genuine:
            helpline = (state.get("terminal") or {}).get("helpline", "")
            if helpline:
                right.add_widget(line(app.tr("oos_helpline", number=helpline), "svc_helpline",
                                      color=MUTED))
        right.add_widget(self.print_row(app, state, lookup, genuine))
        left.add_widget(Widget())
        right.add_widget(Widget())
