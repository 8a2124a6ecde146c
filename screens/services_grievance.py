"""A grievance, Rajasthan Sampark style, one decision per screen: department, then what went
wrong, then the complaint (a common one, or a few words typed), then the mobile number on the
keypad; the core then offers a photo (take / skip), shows the whole grievance for review, and
registers it (the fee is paid on services_fee.py's screen). The first four steps stay on the
screen (the core hears them at once, in `grievance_details`, when the mobile number is in)."""

from __future__ import annotations

from typing import Any

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.widget import Widget

from screens import fmt
from screens.services_keys import DigitPad, TextKeyboard, apply_key
from screens.services_picture import framed_picture
from screens.services_views import (
    ServiceScreen,
    button,
    line,
    lookup_of,
    rows,
    title,
    value_box,
)
from screens.views import session_of
from screens.widgets import MUTED, RED, KButton

STEPS = ("department", "category", "complaint", "typing", "mobile")
MAX_TEXT = 250
MOBILE_DIGITS = 10
PREVIEW_TALL = 230  # px at 1280x800: the photo as the citizen will send it, before sending


def named(app, item: dict[str, Any]) -> str:
    return str(item.get(f"name_{app.lang}") or item.get("name_en") or item.get("code") or "")


class GrievanceScreen(ServiceScreen):
    prompt_key = "grievance_choose"

    def __init__(self, **kwargs) -> None:
        super().__init__(name="grievance", **kwargs)
        self.session_id: str | None = None
        self.reset()

    def reset(self) -> None:
        self.step = "department"
        self.dept: dict[str, Any] | None = None
        self.category: dict[str, Any] | None = None
        self.complaint: str | None = None
        self.text = ""
        self.mobile = ""
        self.keyboard = ""  # the screen's language decides until the citizen switches

    def update(self, app, state: dict[str, Any]) -> None:
        sid = session_of(state).get("session_id")
        if sid != self.session_id:
            self.session_id = sid
            self.reset()
        lookup = lookup_of(state)
        draft = lookup.get("draft") or {}
        core_step = draft.get("step") or "details"
        first = core_step == "details" and self.step == "department"
        self.set_back(app, "btn_cancel" if first or core_step != "details" else "btn_back",
                      "cancel" if first or core_step != "details" else "back",
                      danger=first or core_step != "details")
        self.set_extra(app, None)
        key = (app.lang, core_step, self.step, self.text, self.mobile, self.keyboard,
               app.notice, repr(draft), bool(state.get("busy")))
        if not self.redraw(key):
            return
        if core_step == "photo":
            self.prompt_key = "grievance_photo_offer"
            self.draw_photo(app)
        elif core_step == "review":
            self.prompt_key = "grievance_review"
            self.draw_review(app, draft, bool(state.get("busy")))
        else:
            self.prompt_key = "grievance_choose"
            self.draw_details(app, lookup)

    # ------------------------------------------------------------------ details (local)

    def choices(self, app, items: list[tuple[str, str, Any]]) -> GridLayout:
        grid = GridLayout(cols=1 if app.portrait else 2, spacing=16 * app.s, size_hint_y=None)
        grid.bind(minimum_height=grid.setter("height"))
        for tid, text, callback in items:
            choice = KButton(tid=tid, text=text, kind="secondary", tall=118, base=32)
            choice.bind(on_release=lambda _w, c=callback: c())
            grid.add_widget(choice)
        return grid

    def heading(self, app, words: str, sub: str = "") -> None:
        body = self.ids.body
        body.add_widget(title(words, "svc_title"))
        if sub:
            body.add_widget(line(sub, "svc_prompt", color=MUTED))

    def draw_details(self, app, lookup: dict[str, Any]) -> None:
        body = self.ids.body
        departments = [d for d in lookup.get("departments") or [] if isinstance(d, dict)]
        if self.step == "department":
            self.heading(app, app.tr("svc_grievance_department"),
                         app.tr("svc_grievance_fee_note", fee=fmt.rupees(
                             (lookup.get("draft") or {}).get("fee_paise") or 0)))
            body.add_widget(self.choices(app, [
                (f"dept_{d.get('code')}", named(app, d), lambda d=d: self.pick_dept(app, d))
                for d in departments[:6]]))
        elif self.step == "category" and self.dept:
            self.heading(app, app.tr("svc_grievance_category"), named(app, self.dept))
            body.add_widget(self.choices(app, [
                (f"cat_{c.get('code')}", named(app, c), lambda c=c: self.pick_category(app, c))
                for c in (self.dept.get("categories") or [])[:6]]))
        elif self.step == "complaint" and self.category:
            self.heading(app, app.tr("svc_grievance_complaint"), named(app, self.category))
            items = [(f"complaint_{c.get('code')}", named(app, c),
                      lambda c=c: self.pick_complaint(app, c.get("code")))
                     for c in (self.category.get("complaints") or [])[:5]]
            items.append(("complaint_type", app.tr("svc_grievance_type_own"),
                          lambda: self.go(app, "typing")))
            body.add_widget(self.choices(app, items))
        elif self.step == "typing":
            self.draw_typing(app)
            return
        elif self.step == "mobile":
            self.draw_mobile(app)
            return
        body.add_widget(Widget())

    def draw_typing(self, app) -> None:
        body = self.ids.body
        top = BoxLayout(size_hint_y=None, height=120 * app.s, spacing=20 * app.s)
        top.add_widget(title(app.tr("svc_grievance_type_title"), "svc_title", base=36))
        top.add_widget(value_box(app, self.text[-60:], "svc_text", app.tr("svc_text_empty"),
                                 base=32))
        body.add_widget(top)
        layout = self.keyboard or ("deva" if app.lang == "hi" else "latin")
        body.add_widget(TextKeyboard(app, lambda k: self.type_key(app, k), layout=layout,
                                     layouts=("deva", "latin"),
                                     on_layout=lambda o: self.switch(app, o)))

    def draw_mobile(self, app) -> None:
        split = BoxLayout(orientation="vertical" if app.portrait else "horizontal",
                          spacing=28 * app.s)
        left = BoxLayout(orientation="vertical", spacing=12 * app.s)
        left.add_widget(title(app.tr("svc_mobile_title"), "svc_title"))
        left.add_widget(line(app.tr("svc_mobile_why"), "svc_prompt", color=MUTED))
        left.add_widget(value_box(app, fmt.spaced_digits(self.mobile) if self.mobile else "",
                                  "svc_mobile", app.tr("svc_mobile_empty")))
        if app.notice:
            left.add_widget(line(app.tr(app.notice), "message", color=RED, bold=True))
        left.add_widget(Widget())
        split.add_widget(left)
        pad = DigitPad(app, lambda k: self.mobile_key(app, k), size_hint_x=0.8)
        pad.set_ready(len(self.mobile) == MOBILE_DIGITS)
        split.add_widget(pad)
        self.ids.body.add_widget(split)

    def go(self, app, step: str) -> None:
        self.step = step
        app.notice = None
        self.alive(app)
        app.render()

    def pick_dept(self, app, dept: dict[str, Any]) -> None:
        self.dept, self.category = dept, None
        self.go(app, "category")

    def pick_category(self, app, category: dict[str, Any]) -> None:
        self.category = category
        self.go(app, "complaint")

    def pick_complaint(self, app, code: str | None) -> None:
        self.complaint, self.text = code, ""
        self.go(app, "mobile")

    def switch(self, app, layout: str) -> None:
        self.keyboard = layout
        app.render()

    def type_key(self, app, key: str) -> None:
        self.alive(app)
        if key == "continue":
            if self.text.strip():
                self.complaint = None
                self.go(app, "mobile")
            return
        self.text = apply_key(self.text, key, MAX_TEXT)
        app.render()

    def mobile_key(self, app, key: str) -> None:
        app.notice = None
        self.alive(app)
        if key == "continue":
            if len(self.mobile) == MOBILE_DIGITS and self.dept and self.category:
                app.send_intent("grievance_details", department=self.dept.get("code"),
                                category=self.category.get("code"), complaint=self.complaint,
                                description=self.text.strip() if self.complaint is None else "",
                                mobile=self.mobile)
            return
        self.mobile = apply_key(self.mobile, key, MOBILE_DIGITS, str.isdigit)
        app.render()

    def go_back(self, app) -> None:
        lookup = lookup_of(app.state)
        core_step = (lookup.get("draft") or {}).get("step") or "details"
        if core_step != "details" or self.step == "department":
            app.send_intent("cancel")
            return
        back = {"category": "department", "complaint": "category", "typing": "complaint",
                "mobile": "typing" if self.complaint is None else "complaint"}
        self.go(app, back.get(self.step, "department"))

    # ------------------------------------------------------------------ photo and review (core)

    def draw_photo(self, app) -> None:
        body = self.ids.body
        self.heading(app, app.tr("svc_photo_title"), app.tr("svc_photo_how"))
        if app.notice:
            body.add_widget(line(app.tr(app.notice), "message", color=RED, bold=True))
        buttons = BoxLayout(size_hint_y=None, height=116 * app.s, spacing=24 * app.s)
        buttons.add_widget(button(app.tr("svc_photo_take"), "photo_take",
                                  lambda: app.send_intent("grievance_photo", action="take"),
                                  tall=116))
        buttons.add_widget(button(app.tr("svc_photo_skip"), "photo_skip",
                                  lambda: app.send_intent("grievance_photo", action="skip"),
                                  kind="secondary", tall=116))
        body.add_widget(buttons)
        body.add_widget(Widget())

    def draw_review(self, app, draft: dict[str, Any], busy: bool) -> None:
        body = self.ids.body
        body.add_widget(title(app.tr("svc_grievance_review"), "svc_title", base=38))
        complaint = draft.get("description") or ""
        if draft.get("complaint") and self.category:
            for c in self.category.get("complaints") or []:
                if c.get("code") == draft.get("complaint"):
                    complaint = named(app, c)
        photo = draft.get("photo") or None
        pairs = [
            ("svc_r_department", app.tr("svc_r_department"),
             str(draft.get(f"department_name_{app.lang}") or draft.get("department") or "")),
            ("svc_r_category", app.tr("svc_r_category"),
             str(draft.get(f"category_name_{app.lang}") or draft.get("category") or "")),
            ("svc_r_complaint", app.tr("svc_r_complaint"), complaint),
            ("svc_r_mobile", app.tr("svc_r_mobile"), str(draft.get("mobile_masked") or "")),
            ("svc_r_photo", app.tr("svc_r_photo"),
             app.tr("svc_photo_kept") if photo else app.tr("svc_photo_none")),
            ("svc_r_fee", app.tr("svc_fee"), fmt.rupees(draft.get("fee_paise") or 0)),
        ]
        preview = photo.get("preview") if isinstance(photo, dict) else None
        if not isinstance(preview, dict) or not isinstance(preview.get("jpeg_b64"), str):
            preview = None
        else:  # the photo itself says it is kept (under it): no row for it
            pairs = [p for p in pairs if p[0] != "svc_r_photo"]
        facts = rows(app, [p for p in pairs if p[2]], label_share=0.3)
        if preview is not None:
            split = BoxLayout(size_hint_y=None, spacing=24 * app.s)
            split.bind(minimum_height=split.setter("height"))
            facts.size_hint_x = 0.64
            split.add_widget(facts)
            shown = BoxLayout(orientation="vertical", size_hint=(0.36, None),
                              height=PREVIEW_TALL * app.s + 64 * app.s, spacing=4 * app.s)
            shown.add_widget(framed_picture(app, preview["jpeg_b64"], "jpeg",
                                            "svc_photo_preview", PREVIEW_TALL))
            shown.add_widget(line(app.tr("svc_photo_kept"), "svc_photo_note", base=24,
                                  color=MUTED))
            split.add_widget(shown)
            body.add_widget(split)
        else:
            body.add_widget(facts)
        if app.notice:
            body.add_widget(line(app.tr(app.notice), "message", color=RED, bold=True))
        buttons = BoxLayout(size_hint_y=None, height=110 * app.s, spacing=24 * app.s)
        again = "retake" if photo else "take"
        buttons.add_widget(button(app.tr("svc_photo_retake" if photo else "svc_photo_take"),
                                  f"photo_{again}",
                                  lambda: app.send_intent("grievance_photo", action=again),
                                  kind="secondary", tall=110, width=0.7))
        if photo:
            buttons.add_widget(button(app.tr("svc_photo_remove"), "photo_skip",
                                      lambda: app.send_intent("grievance_photo", action="skip"),
                                      kind="secondary", tall=110, width=0.7))
        send = button(app.tr("please_wait" if busy else "svc_grievance_send"), "grievance_send",
                      lambda: app.send_intent("grievance_submit"), tall=110)
        send.disabled = busy
        buttons.add_widget(send)
        body.add_widget(buttons)
        body.add_widget(Widget())

