"""Money the citizen left behind, on the touch screen (issue 13): a voucher typed at the bill or
paying step (its QR needs no screen: the core takes a scan there itself), the vouchers taken in
and an advance credit in the paying and done screens' words, and the screens that open over a
core screen without the core knowing: the voucher keypad (over BILL / PAYING) and the SMS
keypad (over DONE, screens/sms_views.py). The citizen's reprint has its own local screen
(screens/reprint_views.py).

`register(app)` adds the screens; `route(app, target)` picks them (kiosk_app.render)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from kivy.uix.boxlayout import BoxLayout

from screens import fmt
from screens.services_keys import apply_key
from screens.services_lookup import qr_hint
from screens.services_views import ServiceScreen, line, title, value_box, waiting
from screens.voucher_words import session_of, vouchers_in
from screens.widgets import MUTED, RED, KButton

VOUCHER_PREFIX = "V-"  # every voucher id this network prints starts so (terminal/voucher_redeem)
VOUCHER_LIMIT = 48
VOUCHER_ROWS = ("1234567890", "QWERTYUIOP", "ASDFGHJKL-", "ZXCVBNM")


# ------------------------------------------------------------------ the app's overlays


def open_overlay(app, name: str) -> None:
    """Open the voucher or SMS keypad over the core's screen."""
    app.overlay = name
    app.overlay_vouchers = len(vouchers_in(session_of(app.state or {})))
    app.notice = None
    app.send_intent("more_time")  # a keypad takes a while: the core's timer starts again
    app.render()


def close_overlay(app) -> None:
    app.overlay = None
    app.notice = None
    app.render()


def route(app, target: str) -> str:
    """The overlay while its core screen lasts; a reprint's answer on the reprint screen."""
    state = app.state or {}
    screen = state.get("screen")
    overlay = getattr(app, "overlay", None)
    if overlay == "voucher":
        taken = len(vouchers_in(session_of(state))) > getattr(app, "overlay_vouchers", 0)
        if app.connected and screen in ("BILL", "PAYING") and not taken:
            return "voucher"
        app.overlay = None  # used (a QR counts too), or the session moved on
    elif overlay == "sms":
        if target == "done":
            return "sms"
        app.overlay = None
    if getattr(app, "reprint_again", False) and screen == "IDLE":
        app.reprint_again = False
        app.local = "reprint"
        return "reprint"
    lookup = state.get("lookup") if isinstance(state.get("lookup"), dict) else {}
    result = lookup.get("result") if isinstance(lookup.get("result"), dict) else {}
    if target == "verify" and result.get("kind") == "reprint":
        return "reprint"
    return target


def ask(app, intent: str, on_reply: Callable[[dict[str, Any]], None], **args: Any) -> None:
    """Send an intent and hand its reply (ok, message_key) to the screen that asked."""

    async def go() -> None:
        try:
            reply = await app.link.send(intent, **args)
        except Exception:  # the link dropped: on_connection redraws
            reply = {"ok": False, "message_key": "please_wait"}
        on_reply(reply)
        app.render()

    app._tasks.append(asyncio.get_event_loop().create_task(go()))
    app._tasks = [t for t in app._tasks if not t.done()]


def register(app) -> None:
    from screens.reprint_views import ReprintScreen
    from screens.sms_views import SmsScreen

    for cls in (VoucherScreen, SmsScreen, ReprintScreen):
        app.sm.add_widget(cls())


# ------------------------------------------------------------------ the voucher keypad


class VoucherKeyboard(BoxLayout):
    """Capitals, digits and the dash a voucher id is made of, then delete and continue."""

    def __init__(self, app, on_key: Callable[[str], None], ready: bool, **kwargs) -> None:
        super().__init__(orientation="vertical", spacing=8 * app.s, **kwargs)
        for row in VOUCHER_ROWS:
            keys = BoxLayout(spacing=6 * app.s)
            for key in row:
                made = KButton(tid="kb_dash" if key == "-" else f"kb_{key}", text=key,
                               kind="key", base=30, latin=True)
                made.size_hint_y = 1
                made.inset = 2 * app.s
                made.bind(on_release=lambda _w, k=key: on_key(k))
                keys.add_widget(made)
            self.add_widget(keys)
        bottom = BoxLayout(spacing=8 * app.s, size_hint_y=1.1)
        for key, tid, kind in (("delete", "kb_delete", "key"),
                               ("continue", "kb_continue", "primary")):
            made = KButton(tid=tid, text=app.tr(f"key_{key}"), kind=kind, base=28)
            made.size_hint_y = 1
            made.disabled = key == "continue" and not ready
            made.bind(on_release=lambda _w, k=key: on_key(k))
            bottom.add_widget(made)
        self.add_widget(bottom)


class VoucherScreen(ServiceScreen):
    """The voucher's number typed as printed on the slip ("Voucher ID"); the core checks it
    with central and counts it toward the bill. A refusal stays here, in words."""

    prompt_key = "voucher_title"

    def __init__(self, **kwargs) -> None:
        super().__init__(name="voucher", **kwargs)
        self.entry = VOUCHER_PREFIX
        self.sending = False

    def update(self, app, state: dict[str, Any]) -> None:
        session = session_of(state)
        busy = self.sending or bool(state.get("busy"))
        self.set_back(app)
        self.set_extra(app, None)
        remaining = int(session.get("remaining_paise") or 0)
        key = (app.lang, self.entry, app.notice, busy, remaining, app.portrait)
        if not self.redraw(key):
            return
        body = self.ids.body
        if busy:
            body.add_widget(waiting(app, app.tr("voucher_checking")))
            return
        top = BoxLayout(size_hint_y=None, height=200 * app.s, spacing=24 * app.s)
        left = BoxLayout(orientation="vertical", spacing=4 * app.s)
        left.add_widget(title(app.tr("voucher_title"), "voucher_title", base=36))
        left.add_widget(line(app.tr("voucher_due", amount=fmt.rupees(remaining)), "voucher_due",
                             base=28, color=MUTED))
        problem = app.tr(app.notice) if app.notice else ""
        if problem:
            left.add_widget(line(problem, "message", base=28, color=RED, bold=True))
        else:
            hint = qr_hint(app, "voucher_qr_hint")
            hint.height = 72 * app.s
            left.add_widget(hint)
        top.add_widget(left)
        right = BoxLayout(orientation="vertical", spacing=4 * app.s, size_hint_x=1.35)
        right.add_widget(line(app.tr("voucher_prompt"), "voucher_prompt", base=26,
                              color=MUTED))
        right.add_widget(value_box(app, self.entry, "voucher_code", "", base=32))
        top.add_widget(right)
        body.add_widget(top)
        body.add_widget(VoucherKeyboard(app, lambda k: self.key(app, k),
                                        ready=len(self.entry) > len(VOUCHER_PREFIX)))

    def key(self, app, key: str) -> None:
        app.notice = None
        self.alive(app)
        if key == "continue":
            if len(self.entry) > len(VOUCHER_PREFIX) and not self.sending:
                self.sending = True
                ask(app, "voucher", lambda r: self.answered(app, r), code=self.entry)
        elif key != "delete" or len(self.entry) > len(VOUCHER_PREFIX):
            self.entry = apply_key(self.entry, key, VOUCHER_LIMIT)
        app.render()

    def answered(self, app, reply: dict[str, Any]) -> None:
        self.sending = False
        if reply.get("ok"):
            self.entry = VOUCHER_PREFIX
            app.overlay = None
            app.notice = None
        else:
            app.notice = reply.get("message_key") or "voucher_code_invalid"

    def go_back(self, app) -> None:
        close_overlay(app)

    def hidden(self, app) -> None:
        super().hidden(app)
        self.entry = VOUCHER_PREFIX
        self.sending = False
