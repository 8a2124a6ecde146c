"""Apply for a service: the form central's catalogue defines (state.lookup.form), drawn one
section of its layout at a time, each field a big row showing its label (in the screen's
language), what is filled in, and the core's complaint about it; a tap opens the field's own
editor — the number pad for numbers, Aadhaar and mobile, day-month-year on the pad for dates,
big buttons for a choice, the on-screen keyboard (Devanagari, phonetic or Latin) for text. The
core checks the answers (Verhoeff for Aadhaar) and shows them for review; then the fee."""

from __future__ import annotations

import re
from typing import Any

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.widget import Widget

from screens import fmt
from screens.services_documents import draw_documents, kept_summary
from screens.services_keys import DigitPad, TextKeyboard, apply_key
from screens.services_phonetic import Phonetic
from screens.services_views import ServiceScreen, line, lookup_of, rows, title, value_box
from screens.views import session_of
from screens.widgets import LINE, MUTED, RED, Box, KButton, KLabel

DIGITS_PATTERN = re.compile(r"^\^(\[[0-9-]+\](\{\d+(,\d+)?\})?)+\$$")


def field_kind(spec: dict[str, Any]) -> str:
    """choice | date | digits | text, from the field's JSON Schema."""
    if isinstance(spec.get("enum"), list):
        return "choice"
    if spec.get("format") == "date":
        return "date"
    pattern = str(spec.get("pattern") or "")
    if spec.get("x-check") == "verhoeff" or DIGITS_PATTERN.fullmatch(pattern):
        return "digits"
    return "text"


def digits_limit(spec: dict[str, Any]) -> int:
    sizes = [int(n) for n in re.findall(r"\{(\d+)\}", str(spec.get("pattern") or ""))]
    extra = len(re.findall(r"\](?!\{)", str(spec.get("pattern") or "")))
    return max(1, min(16, sum(sizes) + extra)) if sizes else 16


def date_from_digits(typed: str) -> str:
    """DDMMYYYY typed on the pad -> YYYY-MM-DD for the core (which checks the date)."""
    if len(typed) != 8:
        return typed
    return f"{typed[4:]}-{typed[2:4]}-{typed[:2]}"


def shown_value(kind: str, name: str, value: str) -> str:
    """What the row shows: dates day-first, Aadhaar with only its last four digits."""
    if not value:
        return ""
    if kind == "date":
        return fmt.date_dmy(value)
    if kind == "digits" and "aadhaar" in name and len(value) >= 12:
        return "XXXX XXXX " + value[-4:]
    return value


class ApplicationScreen(ServiceScreen):
    prompt_key = "form_fill"

    def __init__(self, **kwargs) -> None:
        super().__init__(name="application", **kwargs)
        self.session_id: str | None = None
        self.answers: dict[str, str] = {}
        self.page = 0
        self.editing: str | None = None
        self.typed = ""
        self.keyboard = ""  # the screen's language decides until the citizen switches
        self.phonetic = Phonetic()
        self.change = False  # back from review to the form

    def update(self, app, state: dict[str, Any]) -> None:
        sid = session_of(state).get("session_id")
        lookup = lookup_of(state)
        if sid != self.session_id:
            self.session_id = sid
            self.answers = {k: str(v) for k, v in (lookup.get("answers") or {}).items()}
            self.page, self.editing, self.change = 0, None, False
        form = lookup.get("form") or {}
        step = lookup.get("step") or "form"
        errors = lookup.get("errors") or {}
        review = step == "review" and not self.change
        documents = step == "documents" and not self.change
        first = not (self.editing or self.page or review) or documents
        self.set_back(app, "svc_form_change" if review and not self.editing
                      else "btn_cancel" if first else "btn_back",
                      "cancel" if first else "back", danger=first)
        pages = len(self.sections(form))
        if self.editing or documents:
            self.set_extra(app, None)
        elif review:
            self.set_extra(app, "please_wait" if state.get("busy") else "svc_form_submit",
                           "form_submit", primary=True)
        else:
            self.set_extra(app, "svc_form_check" if self.page >= pages - 1 else "key_continue",
                           "form_next", primary=True)
        key = (app.lang, step, self.page, self.editing, self.typed, self.phonetic.buffer,
               self.keyboard,
               repr(self.answers), repr(errors), app.notice, review, bool(state.get("busy")),
               documents and repr(lookup.get("document")))
        if not self.redraw(key):
            return
        if self.editing:
            self.draw_editor(app, form)
        elif documents:
            self.prompt_key = "document_show"
            draw_documents(app, self.ids.body, lookup, app.notice)
        elif review:
            self.prompt_key = "form_review"
            self.draw_review(app, lookup, form)
        else:
            self.prompt_key = "form_fill"
            self.draw_page(app, form, errors)

    def sections(self, form: dict[str, Any]) -> list[dict[str, Any]]:
        return [s for s in form.get("layout") or [] if isinstance(s, dict)] or [{"fields": []}]

    def label(self, app, form: dict[str, Any], name: str) -> str:
        labels = (form.get("labels") or {}).get(name) or {}
        return str(labels.get(app.lang) or labels.get("en") or name)

    def spec(self, form: dict[str, Any], name: str) -> dict[str, Any]:
        return ((form.get("schema") or {}).get("properties") or {}).get(name) or {}

    # ------------------------------------------------------------------ the form's pages

    def draw_page(self, app, form: dict[str, Any], errors: dict[str, str]) -> None:
        body = self.ids.body
        sections = self.sections(form)
        self.page = min(self.page, len(sections) - 1)
        section = sections[self.page]
        heading = f"{form.get(f'title_{app.lang}') or form.get('title_en') or ''}"
        body.add_widget(title(heading, "svc_title", base=36))
        body.add_widget(line(app.tr("svc_form_page", page=self.page + 1, pages=len(sections),
                                    section=section.get(f"title_{app.lang}") or ""),
                             "svc_form_page", base=28, color=MUTED))
        required = set((form.get("schema") or {}).get("required") or [])
        for name in section.get("fields") or []:
            body.add_widget(self.field_row(app, form, name, name in required, errors.get(name)))
        if app.notice and app.notice != "form_has_errors":
            body.add_widget(line(app.tr(app.notice), "message", color=RED, bold=True))
        body.add_widget(Widget())

    def field_row(self, app, form, name: str, required: bool, error: str | None) -> Box:
        spec = self.spec(form, name)
        value = shown_value(field_kind(spec), name, self.answers.get(name, ""))
        row = Box(size_hint_y=None, height=(126 if error else 92) * app.s, bg=[1, 1, 1, 1],
                  border=list(RED if error else LINE), padding=(16 * app.s, 6 * app.s),
                  spacing=12 * app.s)
        words = BoxLayout(orientation="vertical")
        label = self.label(app, form, name) + ("" if required else f"  ({app.tr('svc_optional')})")
        words.add_widget(KLabel(text=label, tid=f"label_{name}", base=26, color=MUTED,
                                halign="left", size_hint_y=1, auto_height=False))
        words.add_widget(KLabel(text=value or "—", tid=f"value_{name}", base=30, bold=True,
                                halign="left", size_hint_y=1, auto_height=False))
        if error:
            words.add_widget(KLabel(text=app.tr(error), tid=f"error_{name}", base=26, color=RED,
                                    bold=True, halign="left", size_hint_y=1, auto_height=False))
        row.add_widget(words)
        edit = KButton(tid=f"field_{name}", text=app.tr("svc_fill" if not value else "svc_change"),
                       kind="secondary", tall=80, base=28)
        edit.size_hint_x, edit.pos_hint = 0.28, {"center_y": 0.5}
        edit.bind(on_release=lambda _w: self.edit(app, name))
        row.add_widget(edit)
        return row

    def next_page(self, app, pages: int) -> None:
        app.notice = None
        if self.page < pages - 1:
            self.page += 1
            app.render()
            return
        self.change = False
        app.send_intent("application_answers", answers=dict(self.answers))

    def edit(self, app, name: str) -> None:
        self.alive(app)
        self.editing = name
        self.typed = ""
        self.phonetic.reset()
        app.notice = None
        app.render()

    def go_back(self, app) -> None:
        step = lookup_of(app.state).get("step") or "form"
        if step == "documents" and not self.change and not self.editing:
            app.send_intent("cancel")
            return
        if self.editing:
            self.editing = None
        elif step == "review" and not self.change:
            self.change = True
        elif self.page:
            self.page -= 1
        else:
            app.send_intent("cancel")
            return
        app.render()

    # ------------------------------------------------------------------ one field's editor

    def draw_editor(self, app, form: dict[str, Any]) -> None:
        name = self.editing or ""
        self.keyboard = self.keyboard or ("deva" if app.lang == "hi" else "latin")
        spec = self.spec(form, name)
        kind = field_kind(spec)
        body = self.ids.body
        label = self.label(app, form, name)
        if kind == "choice":
            body.add_widget(title(app.tr("svc_choose", field=label), "svc_title"))
            grid = GridLayout(cols=2, spacing=16 * app.s, size_hint_y=None)
            grid.bind(minimum_height=grid.setter("height"))
            for option in [str(o) for o in spec.get("enum") or []][:8]:
                choice = KButton(tid=f"choice_{option}", text=option, kind="secondary", tall=110,
                                 selected=self.answers.get(name) == option)
                choice.bind(on_release=lambda _w, o=option: self.store(app, name, o))
                grid.add_widget(choice)
            body.add_widget(grid)
            body.add_widget(Widget())
            return
        if kind in ("digits", "date"):
            limit = 8 if kind == "date" else digits_limit(spec)
            split = BoxLayout(spacing=28 * app.s)
            left = BoxLayout(orientation="vertical", spacing=12 * app.s)
            left.add_widget(title(label, "svc_title"))
            hint = "svc_date_hint" if kind == "date" else "svc_digits_hint"
            left.add_widget(line(app.tr(hint, n=limit), "svc_prompt", color=MUTED))
            shown = self.date_mask() if kind == "date" else fmt.spaced_digits(self.typed)
            left.add_widget(value_box(app, shown if self.typed else "", "svc_typed",
                                      app.tr("svc_number_empty")))
            left.add_widget(Widget())
            split.add_widget(left)
            pad = DigitPad(app, lambda k: self.digit_key(app, name, k, limit, kind),
                           size_hint_x=0.8)
            pad.set_ready(len(self.typed) == limit if kind == "date" else bool(self.typed))
            split.add_widget(pad)
            body.add_widget(split)
            return
        top = BoxLayout(size_hint_y=None, height=120 * app.s, spacing=20 * app.s)
        top.add_widget(title(label, "svc_title", base=36))
        shown = self.typed + (self.phonetic.pending if self.keyboard == "phonetic" else "")
        top.add_widget(value_box(app, shown[-40:], "svc_typed", app.tr("svc_text_empty"),
                                 base=34))
        body.add_widget(top)
        if self.keyboard == "phonetic":
            body.add_widget(line(app.tr("svc_phonetic_hint"), "svc_phonetic_hint", base=26,
                                 color=MUTED))
        layout = "latin" if self.keyboard == "phonetic" else self.keyboard
        body.add_widget(TextKeyboard(app, lambda k: self.text_key(app, name, k, spec),
                                     layout=layout, layouts=("deva", "phonetic", "latin"),
                                     on_layout=lambda o: self.switch(app, o),
                                     current=self.keyboard))

    def date_mask(self) -> str:
        typed = self.typed.ljust(8, "_")
        return f"{typed[:2]}-{typed[2:4]}-{typed[4:]}"

    def switch(self, app, layout: str) -> None:
        self.typed += self.phonetic.flush()
        self.keyboard = layout
        app.render()

    def digit_key(self, app, name: str, key: str, limit: int, kind: str) -> None:
        self.alive(app)
        if key == "continue":
            if self.typed:
                self.store(app, name, date_from_digits(self.typed) if kind == "date"
                           else self.typed)
            return
        self.typed = apply_key(self.typed, key, limit, str.isdigit)
        app.render()

    def text_key(self, app, name: str, key: str, spec: dict[str, Any]) -> None:
        self.alive(app)
        limit = int(spec.get("maxLength") or 60)
        if key == "continue":
            value = (self.typed + self.phonetic.flush()).strip()
            if value:
                self.store(app, name, value)
            return
        if self.keyboard == "phonetic" and key not in ("delete", "space"):
            done = self.phonetic.feed(key.lower())
            self.typed = apply_key(self.typed, done, limit) if done else self.typed
        elif self.keyboard == "phonetic" and key == "delete" and self.phonetic.buffer:
            self.phonetic.back()
        else:
            self.typed = apply_key(self.typed + self.phonetic.flush(), key, limit)
        app.render()

    def store(self, app, name: str, value: str) -> None:
        self.answers[name] = value
        self.editing = None
        app.render()

    # ------------------------------------------------------------------ review

    def draw_review(self, app, lookup: dict[str, Any], form: dict[str, Any]) -> None:
        body = self.ids.body
        body.add_widget(title(app.tr("svc_form_review"), "svc_title", base=40))
        pairs = []
        for section in self.sections(form):
            for name in section.get("fields") or []:
                kind = field_kind(self.spec(form, name))
                value = shown_value(kind, name, str((lookup.get("answers") or {}).get(name) or ""))
                pairs.append((f"review_{name}", self.label(app, form, name), value or "—"))
        if lookup.get("documents"):
            pairs.append(("svc_r_documents", app.tr("svc_r_documents"), kept_summary(app, lookup)))
        pairs.append(("svc_r_fee", app.tr("svc_fee"), fmt.rupees(lookup.get("fee_paise") or 0)))
        body.add_widget(rows(app, pairs, label_share=0.4))
        if app.notice:
            body.add_widget(line(app.tr(app.notice), "message", color=RED, bold=True))
        body.add_widget(Widget())

    def extra(self, app) -> None:
        """The footer's primary button: the next page, the core's check, or submit."""
        lookup = lookup_of(app.state)
        if (lookup.get("step") == "review" and not self.change) and not self.editing:
            app.send_intent("application_submit")
        elif not self.editing:
            self.next_page(app, len(self.sections(lookup.get("form") or {})))
