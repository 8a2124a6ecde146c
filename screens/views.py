"""One class per screen. Each `update(app, state)` draws the session state (docs/session-api.md)
onto its widgets; nothing here decides anything about money — the core does."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.modalview import ModalView
from kivy.uix.screenmanager import Screen

from screens import (
    fmt,
    hindi_text,
    home_plan,
    home_tiles,
    maint,
    maint_seal,
    provider_hint,
    step_timer,
    voucher_words,
)
from screens.content import ATTRACT_HINTS, SCANNER_POSITIONS, VERIFY_VERDICTS
from screens.home_tiles import HomeTile
from screens.widgets import (
    ACCENT,
    ACCENT_DARK,
    AMBER,
    GREEN,
    INK,
    LINE,
    MUTED,
    RED,
    WHITE,
    Box,
    KButton,
    KLabel,
)


def session_of(state: dict[str, Any]) -> dict[str, Any]:
    return state.get("session") or {}


def message_key(state: dict[str, Any]) -> str | None:
    message = state.get("message")
    if isinstance(message, dict):
        return message.get("key")
    return None


def period_text(app, period: str | None) -> str:
    parts = fmt.period_parts(period)
    if parts is None:
        return period or ""
    month, year = parts
    return f"{app.tr('month_' + month)} {year}"


def provider_name(app, state: dict[str, Any], code: str) -> str:
    for service in state.get("catalogue") or []:
        for provider in service.get("providers") or []:
            if provider.get("code") == code:
                return provider.get(f"name_{app.lang}") or provider.get("name_en") or code
    return code


class KioskScreen(Screen):
    prompt_key = ""

    def update(self, app, state: dict[str, Any]) -> None:
        """Draw `state` (may be empty while disconnected)."""

    def shown(self, app) -> None:
        """Called when the screen becomes the current one."""

    def hidden(self, app) -> None:
        """Called when another screen replaces this one."""

    def _spin(self, on: bool) -> None:
        spinner = self.ids.get("spinner")
        if spinner is not None:
            spinner.start() if on else spinner.stop()

    def show_provider(self, app, state: dict[str, Any], code: str) -> None:
        """The provider's name in the screen's language with its code small (ids.provider)."""
        label = self.ids.provider
        label.markup = True
        label.text = hindi_text.provider_markup(
            app, hindi_text.provider_entry(state, code), code, label.font_size)

    def set_problem(self, app, key: str | None) -> None:
        label = self.ids.get("message")
        if label is not None:
            label.text = app.tr(key) if key else ""


class WaitScreen(KioskScreen):
    prompt_key = "please_wait"

    def shown(self, app) -> None:
        self._spin(True)

    def hidden(self, app) -> None:
        self._spin(False)


class AttractScreen(KioskScreen):
    prompt_key = "attract_touch"
    hints = ATTRACT_HINTS

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.hint_index = 0

    def update(self, app, state: dict[str, Any]) -> None:
        self.ids.hint.text = app.tr(self.hints[self.hint_index % len(self.hints)])

    def next_hint(self, app) -> None:
        self.hint_index += 1
        self.update(app, {})

    def on_touch_up(self, touch) -> bool:
        # Tap anywhere starts; the language buttons handle their own taps first.
        if super().on_touch_up(touch):
            return True
        from kivy.app import App

        app = App.get_running_app()
        if self.collide_point(*touch.pos) and app is not None and self.manager.current == self.name:
            app.go_local("home")
            return True
        return False


class HomeScreen(KioskScreen):
    prompt_key = "home_title"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._built_for: tuple | None = None

    def update(self, app, state: dict[str, Any]) -> None:
        services = state.get("services") or {}
        cash = bool(services.get("cash_payment"))
        lookup = bool(services.get("lookup", True))
        plans = home_plan.plan(app, state)
        key = (app.lang, tuple(plans))
        if key != self._built_for:
            self._built_for = key
            grid = self.ids.tiles
            grid.clear_widgets()
            for tile_plan in plans:
                tile = HomeTile(tid=tile_plan.tid, icon=tile_plan.icon, title=tile_plan.title,
                                subtitle=tile_plan.subtitle, soon=not tile_plan.available)
                if not tile_plan.available:
                    tile.disabled = True  # payment is stopped: the banner says why
                else:
                    tile.bind(on_release=lambda _w, p=tile_plan: app.open_tile(p))
                grid.add_widget(tile)
            self.lay_out(app)
        self.ids.banner.shown = not cash and lookup
        self.ids.reprint.shown = home_plan.reprint_possible(state)  # screens/reprint_views.py
        self.ids.banner_text.text = self.banner_text(app, services) if not cash else ""
        self.set_problem(app, app.notice)

    def lay_out(self, app) -> None:
        grid = self.ids.tiles
        home_tiles.lay_out(grid, len(grid.children), app.s)

    @staticmethod
    def banner_text(app, services: dict[str, Any]) -> str:
        """Why cash payment is stopped, in citizen words (services.reasons)."""
        words = []
        for reason in services.get("reasons") or ["other"]:
            key = f"reason_{reason}"
            text = app.tr(key) if app.has_text(key) else app.tr("reason_other")
            if text not in words:
                words.append(text)
        return app.tr("degraded_banner", reason=", ".join(words))


class ProvidersScreen(KioskScreen):
    prompt_key = "providers_title"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._built_for: tuple | None = None

    def update(self, app, state: dict[str, Any]) -> None:
        if app.local_choices is not None:
            self._draw_choices(app, app.local_choices)
            return
        service = app.local_service
        # One line: "बिजली बिल — अपनी कंपनी चुनें"
        title = app.tr("providers_title")
        self.ids.title.text = f"{app.tr(f'service_{service}')} — {title}" if service else title
        self.ids.service.shown = False
        providers: list[dict] = []
        for entry in state.get("catalogue") or []:
            if entry.get("service") == service:
                providers = entry.get("providers") or []
        key = (app.lang, service, tuple(p.get("code") for p in providers))
        if key != self._built_for:
            self._built_for = key
            box = self.ids.list
            box.clear_widgets()
            for provider in providers:
                code = provider.get("code", "")
                button = KButton(tid=f"provider_{code}", kind="secondary", tall=112, markup=True)
                button.text = hindi_text.provider_markup(app, provider, code, button.font_size,
                                                         two_lines=True)
                button.bind(on_release=lambda _w, c=code: app.start_session(c))
                box.add_widget(button)
            provider_hint.offer_finder(app, self.ids.finder_slot, providers)
        self.set_problem(app, app.notice)

    def _draw_choices(self, app, tile_plan: home_plan.TilePlan) -> None:
        """A home tile with several services (applications): one button each."""
        self.ids.title.text = f"{tile_plan.title} — {app.tr('tile_choose_title')}"
        self.ids.service.shown = False
        key = (app.lang, tile_plan)
        if key != self._built_for:
            self._built_for = key
            box = self.ids.list
            box.clear_widgets()
            for choice in tile_plan.choices:
                button = KButton(tid=f"choice_{choice['service']}", text=choice["name"],
                                 kind="secondary", tall=112)
                button.bind(on_release=lambda _w, c=choice: app.open_service(c["kind"],
                                                                             c["service"]))
                box.add_widget(button)
        self.set_problem(app, app.notice)


class UnavailableScreen(KioskScreen):
    prompt_key = "unavailable_title"

    def update(self, app, state: dict[str, Any]) -> None:
        self.ids.service.text = app.tr(app.unavailable_key) if app.unavailable_key else ""


class IdentifyScreen(KioskScreen):
    prompt_key = "identify_title"

    def update(self, app, state: dict[str, Any]) -> None:
        session = session_of(state)
        self.show_provider(app, state, session.get("provider", ""))
        digits = app.digits
        label = self.ids.digits
        if digits:
            label.text = fmt.spaced_digits(digits)
            label.color = (0.09, 0.10, 0.12, 1)
            label.base = 60
        else:  # the placeholder, smaller: "The number shows here" fits its box in English
            label.text = app.tr("identify_empty")
            label.color = (0.45, 0.46, 0.5, 1)
            label.base = 36
        self.ids.go.disabled = not digits
        # Problems come back as the failed intent's message key; typing clears them.
        self.set_problem(app, app.notice)
        provider_hint.show_sample(app, state, self.ids.sample, bool(app.notice))


class BillScreen(KioskScreen):
    prompt_key = "bill_check"

    def update(self, app, state: dict[str, Any]) -> None:
        session = session_of(state)
        bill = session.get("bill") or {}
        # the name alone here (in the screen's language): a code would wrap the row
        self.ids.provider.text = provider_name(app, state, session.get("provider", ""))
        self.ids.name.text = hindi_text.consumer_name(app, bill)
        self.ids.consumer.text = session.get("consumer_masked", "")
        self.ids.period.text = period_text(app, bill.get("period"))
        self.ids.due_date.text = fmt.date_dmy(bill.get("due_date"))
        self.ids.due.text = fmt.rupees(session.get("due_paise", bill.get("due_paise")))
        self.ids.pay_card.shown = bool((state.get("services") or {}).get("card_payment"))
        # A card payment that did not go through comes back here with its reason.
        key = message_key(state)
        card_key = key if key and key.startswith("card_") else None
        self.set_problem(app, app.notice or card_key)


class PayingScreen(KioskScreen):
    prompt_key = "insert_note"
    cash = BooleanProperty(False)
    returned_on = BooleanProperty(False)  # a returned note takes the big note icon's place

    def update(self, app, state: dict[str, Any]) -> None:
        session = session_of(state)
        self.ids.due.amount = fmt.rupees(session.get("due_paise", 0))
        self.ids.paid.amount = fmt.rupees(session.get("paid_paise", 0))
        self.ids.remaining.amount = fmt.rupees(session.get("remaining_paise", 0))
        self.cash = bool(session.get("cash_in_machine"))
        key = voucher_words.paying_key(app.notice or message_key(state) or "insert_note")
        self.ids.message.text = app.tr(key)
        self.ids.message.base = voucher_words.message_base(self.ids.message.text)
        notes = [fmt.rupees(p) for p in session.get("accepted_now_paise") or []]
        if getattr(self, "_notes_shown", None) != notes:
            self._notes_shown = notes
            row = self.ids.notes
            row.clear_widgets()
            for paise in session.get("accepted_now_paise") or []:
                chip = Box(bg=[0.93, 0.96, 0.92, 1], border=[0.30, 0.42, 0.30, 1])
                chip.add_widget(
                    KLabel(
                        text=fmt.rupees(paise),
                        tid=f"accepted_{paise // 100}",
                        base=34,
                        latin=True,
                        bold=True,
                        size_hint_y=1,
                    )
                )
                row.add_widget(chip)
        returned = session.get("last_returned")
        box = self.ids.returned_box
        box.shown = self.returned_on = bool(returned)
        title, why = returned_lines(app, returned, session.get("remaining_paise"))
        self.ids.returned.text, self.ids.returned_why.text = title, why
        self.ids.safe_box.shown = self.cash
        self.ids.vouchers_in.text = voucher_words.vouchers_text(app, session)


def returned_lines(app, returned: dict | None, remaining: int | None) -> tuple[str, str]:
    """Which note came back and why: "₹500 का नोट बाकी ₹140 से बड़ा है" — never a code."""
    if not returned:
        return "", ""
    paise = returned.get("paise") or 0
    title = (app.tr("note_returned_amount", note=fmt.rupees(paise)) if paise
             else app.tr("note_returned_title"))
    key = returned.get("message_key") or "note_returned"
    if key == "note_returned":  # handed back as asked: the title says all
        return title, ""
    if key == "note_too_large" and paise and remaining:
        return title, app.tr("note_too_large_amounts", note=fmt.rupees(paise),
                             due=fmt.rupees(remaining))
    if key == "note_not_accepted_now" and remaining:
        # The acceptor refused it unread (too big for what is due, or never taken here): the
        # core does not know its value, so the screen says what is due and what fits.
        return title, app.tr("note_not_accepted_due", due=fmt.rupees(remaining))
    return title, app.tr(key)


CARD_PIN_STEPS = ("enter_pin", "pin_wrong", "pin_invalid")


class CardScreen(KioskScreen):
    """Paying by card (state.session.card): insert, reading, PIN on a fixed phone-style keypad
    (the core's scrambled order only with [ui] pin_shuffle), authorising. Nothing is taken
    until the bank approves; cancel until then."""

    prompt_key = "card_insert_card"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._keypad_for: object = None

    def update(self, app, state: dict[str, Any]) -> None:
        session = session_of(state)
        card = session.get("card") or {}
        step = card.get("step") or "insert_card"
        asks_pin = step in CARD_PIN_STEPS
        waiting = step in ("reading", "authorising")
        self.prompt_key = f"card_{step}"
        self.ids.due.text = fmt.rupees(session.get("due_paise", 0))
        self.ids.step.text = app.tr(f"card_{step}")
        self.ids.step.color = list(RED if step in ("pin_wrong", "pin_invalid") else ACCENT_DARK)
        tries = card.get("tries_left")
        show_tries = step == "pin_wrong" and isinstance(tries, int)
        self.ids.tries.shown = show_tries
        self.ids.tries.text = app.tr("card_tries_left", n=tries) if show_tries else ""
        self.ids.pin_box.shown = asks_pin
        self.ids.title.shown = not asks_pin  # room for the PIN, the tries and the keypad
        self.ids.pin.text = "•" * len(app.card_pin) if app.card_pin else "—"
        self.ids.insert.shown = step == "insert_card"
        self.ids.waiting.shown = waiting
        self.ids.keypad.shown = asks_pin
        self._spin(waiting and self.manager is not None and self.manager.current == self.name)
        self.ids.cancel.shown = step != "authorising"
        self._build_keypad(app, card.get("keypad") if asks_pin else None)
        for child in self.ids.keypad.children:
            if getattr(child, "tid", "") == "card_key_continue":
                child.disabled = not app.card_pin
        self.set_problem(app, app.notice)

    def _build_keypad(self, app, keypad: list | None) -> None:
        key = (app.lang, tuple(keypad or ()))
        if key == self._keypad_for:
            return
        self._keypad_for = key
        grid = self.ids.keypad
        grid.clear_widgets()
        digits = [str(d) for d in (keypad or [])]
        if len(digits) != 10:
            return
        if not app.pin_shuffle:
            # A phone's layout, always: a PIN remembered by where the fingers go still works.
            digits = list("1234567890")
        order = digits[:9] + ["delete", digits[9], "continue"]
        for item in order:
            if item == "delete":
                button = KButton(tid="card_key_delete", text=app.tr("key_delete"), kind="key")
            elif item == "continue":
                button = KButton(
                    tid="card_key_continue", text=app.tr("key_continue"), kind="primary"
                )
            else:
                button = KButton(tid=f"card_key_{item}", text=item, kind="key", base=48)
                button.latin = True
            button.size_hint_y = 1
            button.bind(on_release=lambda _w, k=item: app.card_key(k))
            grid.add_widget(button)

    def countdown(self, app, seconds: int | None) -> None:
        """Each second: near the end of the PIN step, how long is left and that no more time
        can be given there (screens/step_timer.py)."""
        self.ids.pin_time.text = step_timer.pin_time_text(app, app.state, seconds)

    def shown(self, app) -> None:
        self._spin(bool(self.ids.waiting.shown))

    def hidden(self, app) -> None:
        self._spin(False)


class ProcessingScreen(KioskScreen):
    prompt_key = "please_wait"

    def update(self, app, state: dict[str, Any]) -> None:
        screen = state.get("screen")
        title = {
            "IDENTIFY": "processing_fetch",
            "BILL": "processing_fetch",
            "POSTING": "processing_posting",
            "RECEIPT": "printing",
        }.get(screen or "", "please_wait")
        self.ids.title.text = app.tr(title)
        key = message_key(state)
        session = session_of(state)
        if session.get("paid_by_card"):
            # approved: the card first, with a chime, before the receipt comes out
            key = "take_card"
            app.card_done(session.get("session_id"))
        self.prompt_key = "take_card" if session.get("paid_by_card") else "please_wait"
        self.ids.step.text = app.tr(key) if key and key != title else ""
        self.ids.safe_box.shown = bool(session.get("cash_in_machine"))

    def shown(self, app) -> None:
        self._spin(True)

    def hidden(self, app) -> None:
        self._spin(False)


class DoneScreen(KioskScreen):
    prompt_key = "take_receipt"

    def update(self, app, state: dict[str, Any]) -> None:
        session = session_of(state)
        failed = bool(session.get("print_failed"))
        amount = session.get("amount_paise") or 0
        voucher = session.get("voucher") or None
        # Central refused the bill for good after the citizen paid: NOT paid, every rupee is
        # on voucher slips (the refund, plus any overshoot). Never "payment successful".
        refund = session.get("refund_voucher") or None
        refused = bool(refund) or message_key(state) == "payment_refused_refund_voucher"
        if refused:
            amount = 0  # nothing went towards the bill
        key = voucher_words.done_title_key(message_key(state)) or (
            "payment_successful" if amount else "voucher_issued")
        if refused:
            key = "refund_title"
        if failed:
            key = "print_failed_money_safe"
        self.ids.title.text = app.tr(key)
        # a long title ("could not be printed — your money is safe") in two lines that leave
        # room for every money line and the SMS offer under the header
        self.ids.title.base = 52 if len(self.ids.title.text) <= 24 else 44
        problem = failed or refused
        self.ids.title.color = (0.68, 0.13, 0.11, 1) if problem else (0.05, 0.43, 0.20, 1)
        self.ids.icon.kind = "warning" if problem else "tick"
        self.ids.icon.tint = list(self.ids.title.color)
        receipt = None if refused else session.get("receipt_no")
        self.ids.receipt_no.shown = bool(receipt)
        self.ids.receipt_no.text = hindi_text.receipt_line(app, receipt)
        self.ids.amount.shown = bool(amount)
        self.ids.amount.text = (
            f"{app.tr('paid_towards_bill')}: {fmt.rupees(amount)}" if amount else ""
        )
        by_card = session.get("paid_by_card") or None
        put_in = int(session.get("paid_paise") or 0)
        show_put_in = bool(put_in) and not by_card and not refused
        self.ids.put_in.shown = show_put_in
        self.ids.put_in.text = (
            f"{app.tr('done_put_in')}: {fmt.rupees(put_in)}"
            + voucher_words.put_in_part(app, session) if show_put_in else ""
        )
        slips = [v.get("paise") or 0 for v in (refund, voucher) if v]
        if refused:
            voucher_text = self.refund_text(app, slips)
        elif voucher:
            voucher_text = (
                f"{app.tr('voucher_label')}: {fmt.rupees(voucher.get('paise') or 0)}\n"
                f"{app.tr('voucher_hint')}"
            )
        else:
            voucher_text = ""
        self.ids.voucher.shown = bool(voucher_text)
        self.ids.voucher.text = voucher_text
        # Room for every money line under the title: "thank you" gives way to a voucher.
        self.ids.thanks.shown = not voucher_text
        self.ids.card.shown = bool(by_card)
        self.ids.card.text = (
            app.tr("paid_by_card", pan=by_card.get("pan_masked") or "")
            + "\n"
            + app.tr("card_auth_code", code=by_card.get("auth_code") or "")
            if by_card
            else ""
        )
        provisional = bool(session.get("provisional")) and not refused
        self.ids.provisional.shown = provisional
        self.ids.provisional.text = app.tr("provisional_note") if provisional else ""
        if failed:
            take = ""
        elif refused:
            take = app.tr("take_both_slips") if len(slips) > 1 else app.tr("take_voucher")
        elif amount and voucher:
            take = app.tr("take_both_slips")  # the receipt and the voucher
        elif amount:
            take = app.tr("take_receipt")
        else:
            take = app.tr("take_voucher")
        self.ids.take.shown = bool(take)
        self.ids.take.text = take
        helpline = (state.get("terminal") or {}).get("helpline", "")
        wants_help = problem and bool(helpline)
        self.ids.helpline.shown = wants_help
        self.ids.helpline.text = app.tr("help_call", number=helpline) if wants_help else ""
        extras = voucher_words.done_text(app, session)  # an advance credit, the SMS number
        self.ids.extras.shown = bool(extras)
        self.ids.extras.text = extras
        self.ids.sms.shown = voucher_words.sms_offered(session)

    @staticmethod
    def refund_text(app, slips: list[int]) -> str:
        """"All your ₹400 is on the slips: ₹350 and ₹50" — the total and every slip's amount."""
        total = fmt.rupees(sum(slips))
        if len(slips) > 1:
            first, second = (fmt.rupees(p) for p in slips[:2])
            return app.tr("refund_money_two", amount=total, first=first, second=second)
        return app.tr("refund_money_one", amount=total)


VERDICT_MARKS = {
    # verdict -> (icon shape, colour of the mark and the verdict line)
    "good": ("tick", GREEN),
    "bad": ("cross", RED),
    "warn": ("warning", AMBER),
    "info": ("info", ACCENT),
}


class VerifyScreen(KioskScreen):
    """The QR check (state.lookup): waiting for a code, checking it, the verdict."""

    prompt_key = "scan_qr"

    def update(self, app, state: dict[str, Any]) -> None:
        lookup = state.get("lookup") or {}
        status = lookup.get("status") or "waiting"
        key = lookup.get("message_key") or "scan_qr"
        result = lookup.get("result") or {}
        self.ids.waiting.shown = status == "waiting"
        self.ids.checking.shown = status == "checking"
        self.ids.done.shown = status == "done"
        reprint = status == "done" and key == "qr_receipt_genuine"  # screens/reprint_views.py
        self.ids.reprint.shown = reprint  # "print a copy" in the footer, in "again"'s place
        self.ids.again.shown = status == "done" and not reprint
        self.ids.heading.shown = status != "done"  # the verdict is the heading then
        self._spin(
            status == "checking" and self.manager is not None and self.manager.current == self.name
        )
        self.prompt_key = key if status != "checking" else "please_wait"

        position = str(((app.kiosk_config.get("ui") or {}).get("scanner_position")) or "below")
        if position not in SCANNER_POSITIONS:
            position = "below"
        self.ids.where.text = app.tr(f"verify_where_{position}")
        self.ids.arrow.kind = f"arrow_{'down' if position == 'below' else position}"

        self.ids.checking_what.text = app.tr(key) if status == "checking" else ""

        if status != "done":
            self.ids.verdict.text = ""
            self._rows(app, [])
            return
        verdict = VERDICT_MARKS[VERIFY_VERDICTS.get(key, "info")]
        self.ids.mark.kind, colour = verdict
        self.ids.mark.tint = list(colour)
        self.ids.verdict.text = app.tr(key)
        self.ids.verdict.color = colour if colour in (GREEN, RED) else INK
        self._rows(app, self.details(app, state, result))
        helpline = (state.get("terminal") or {}).get("helpline", "")
        wants_help = VERIFY_VERDICTS.get(key) in ("bad", "warn") and bool(helpline)
        self.ids.helpline.shown = wants_help
        self.ids.helpline.text = app.tr("oos_helpline", number=helpline) if wants_help else ""
        upi = key == "qr_upi_not_accepted"
        card = bool((state.get("services") or {}).get("card_payment"))
        self.ids.pay_here.shown = upi
        self.ids.pay_here.text = app.tr("upi_pay_cash_card" if card else "upi_pay_cash") if upi \
            else ""

    @staticmethod
    def details(app, state: dict[str, Any], result: dict[str, Any]) -> list[tuple[str, str, str]]:
        """(tid, label, value) for what central said about a receipt or a voucher."""
        rows: list[tuple[str, str, str]] = []
        kind = result.get("kind")
        if kind == "receipt":
            if result.get("receipt_no"):
                rows.append(("verify_receipt_no", app.tr("receipt_no"),
                             hindi_text.receipt_number(app, result["receipt_no"])))
            if result.get("amount_paise") is not None:
                rows.append(
                    ("verify_amount", app.tr("verify_amount"), fmt.rupees(result["amount_paise"]))
                )
            if result.get("provider"):
                rows.append(
                    (
                        "verify_provider",
                        app.tr("bill_provider"),
                        provider_name(app, state, str(result["provider"])),
                    )
                )
            if result.get("paid_at"):
                rows.append(
                    (
                        "verify_paid_on",
                        app.tr("verify_paid_on"),
                        fmt.date_time_dmy(str(result["paid_at"])),
                    )
                )
        elif kind == "voucher":
            if result.get("voucher_id"):
                rows.append(
                    ("verify_voucher_no", app.tr("verify_voucher_no"), str(result["voucher_id"]))
                )
            if result.get("amount_paise") is not None:
                rows.append(
                    ("verify_amount", app.tr("verify_amount"), fmt.rupees(result["amount_paise"]))
                )
            status = result.get("status")
            if status in ("active", "redeemed"):
                rows.append(
                    ("verify_status", app.tr("verify_status"), app.tr(f"verify_status_{status}"))
                )
        return rows

    def _rows(self, app, rows: list[tuple[str, str, str]]) -> None:
        key = (app.lang, tuple(rows))
        if getattr(self, "_rows_for", None) == key:
            return
        self._rows_for = key
        box = self.ids.details
        box.clear_widgets()
        for tid, label, value in rows:
            # one row: the label (a third) and the value beside it
            row = BoxLayout(size_hint_y=None, spacing=20 * app.s)
            name = KLabel(text=label, base=30, color=MUTED, halign="left", pad=6)
            shown = KLabel(text=value, tid=tid, base=34, bold=True, halign="left", pad=6)
            name.size_hint_x, shown.size_hint_x = 0.38, 0.62
            for part in (name, shown):
                part.pos_hint = {"center_y": 0.5}
                row.add_widget(part)

            def fit(*_args, row=row, parts=(name, shown)) -> None:
                row.height = max(p.height for p in parts)

            name.bind(height=fit)
            shown.bind(height=fit)
            fit()
            box.add_widget(row)
        self.ids.details_box.shown = bool(rows)

    def shown(self, app) -> None:
        self._spin(bool(self.ids.checking.shown))

    def hidden(self, app) -> None:
        self._spin(False)


class EndedScreen(KioskScreen):
    prompt_key = "cancelled"

    def update(self, app, state: dict[str, Any]) -> None:
        timed_out = state.get("screen") == "TIMEOUT"
        self.prompt_key = "timed_out" if timed_out else "cancelled"
        self.ids.title.text = app.tr(self.prompt_key)
        paid = session_of(state).get("paid_paise") or 0
        self.ids.body.text = app.tr("ended_no_money") if not paid else app.tr("money_safe")


class OutOfServiceScreen(KioskScreen):
    prompt_key = "oos_title"

    def update(self, app, state: dict[str, Any]) -> None:
        services = state.get("services") or {}
        full_stop = bool(services.get("out_of_service")) or not services.get("lookup", True)
        self.prompt_key = "oos_title" if full_stop else "unavailable_title"
        self.ids.title.text = app.tr(self.prompt_key)
        reasons = [str(r) for r in services.get("reasons") or []]
        key = (app.lang, tuple(reasons))
        if getattr(self, "_reasons_for", None) != key:
            self._reasons_for = key
            box = self.ids.reasons
            box.clear_widgets()
            for index, reason in enumerate(reasons or ["other"]):
                words = f"reason_{reason}"
                text = app.tr(words) if app.has_text(words) else app.tr("reason_other")
                box.add_widget(KLabel(text=text, tid=f"reason_{index}", bold=True))
        terminal = state.get("terminal") or {}
        self.ids.helpline.text = app.tr("oos_helpline", number=terminal.get("helpline", ""))
        self.ids.kiosk.text = app.tr("oos_kiosk", id=terminal.get("id", ""))


class RecoveryScreen(KioskScreen):
    prompt_key = "recovering"

    def shown(self, app) -> None:
        self._spin(True)

    def hidden(self, app) -> None:
        self._spin(False)


class MaintenanceScreen(KioskScreen):
    """Engineer login: id, then PIN (dots only), on the big keypad."""

    prompt_key = "maint_title"

    def update(self, app, state: dict[str, Any]) -> None:
        on_id = app.maint_stage == "id"
        self.ids.engineer.text = app.maint_id or "—"
        self.ids.pin.text = "•" * len(app.pin) if app.pin else "—"
        self.ids.id_box.border = list(ACCENT if on_id else LINE)
        self.ids.pin_box.border = list(LINE if on_id else ACCENT)
        self.ids.hint.text = app.tr("maint_hint_id" if on_id else "maint_hint_pin")
        locked = bool((state.get("maintenance") or {}).get("locked"))
        key = app.notice or ("locked" if locked else None)
        self.ids.message.text = app.tr(key) if key else ""
        self.ids.go.disabled = not (app.maint_id if on_id else app.pin)


class MaintMenuScreen(KioskScreen):
    """The engineer's menu (state.maintenance.active): big buttons on the left, the last
    action's result as plain lines on the right, with its follow-up buttons."""

    prompt_key = "maint_title"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._built = False
        self._drawn: object = None
        self._count = maint.CashCount()  # the engineer's count on the collection screen
        self._seal_view: ModalView | None = None  # the seal number's keyboard, when open

    def on_leave(self, *_args) -> None:
        """Leaving maintenance (or timed out of it) closes the seal keyboard too."""
        if self._seal_view is not None:
            self._seal_view.dismiss(animation=False)
            self._seal_view = None

    def _build_menu(self, app) -> None:
        grid = self.ids.menu
        for action, text in maint.MENU:
            button = KButton(
                tid=f"maint_{action}", text=text, kind="secondary", tall=100, base=30, latin=True
            )
            button.size_hint_y = 1
            if action == "restart":
                button.bind(on_release=lambda _w: app.maint_ask("restart"))
            else:
                button.bind(on_release=lambda _w, a=action: app.maint_action(a))
            grid.add_widget(button)
        leave = KButton(
            tid="maint_leave", text="Leave", kind="danger_outline", tall=100, base=30, latin=True
        )
        leave.size_hint_y = 1
        leave.bind(on_release=lambda _w: app.maint_action("leave"))
        grid.add_widget(leave)
        self._built = True

    def update(self, app, state: dict[str, Any]) -> None:
        if not self._built:
            self._build_menu(app)
        m = state.get("maintenance") or {}
        alarms = m.get("alarms") or []
        self.ids.engineer.text = f"Engineer {m.get('engineer_id') or ''}" + (
            f"  |  alarms: {', '.join(maint.short(a) for a in alarms)}" if alarms else ""
        )
        for child in self.ids.menu.children:
            child.disabled = app.maint_busy is not None and child.tid != "maint_leave"
        result = app.maint_result
        if result and result.get("action") == "cash_summary" and isinstance(result["data"], dict):
            self._count.start(result["data"])  # before the key: one drawing per count
        key = (app.maint_busy, app.maint_confirm, repr(result), app.lang, self._count.key())
        if key == self._drawn:
            return
        self._drawn = key
        box = self.ids.lines
        box.clear_widgets()
        lines: list[tuple[str, object]] = []  # (tid, text) or (tid, (button text, callback))
        if app.maint_busy:
            self.ids.title.text = maint.TITLES.get(app.maint_busy, app.maint_busy)
            lines.append(("maint_line_0", maint.WAITING.get(app.maint_busy, "Please wait ...")))
        elif app.maint_confirm == "restart":
            self.ids.title.text = "Restart"
            lines.append(("maint_line_0", "Restart the kiosk software now?"))
            lines.append(("maint_line_1", "It is back in about a minute."))
            lines.append(
                ("maint_confirm_restart", ("Yes, restart now", lambda: app.maint_action("restart")))
            )
        elif result is None:
            self.ids.title.text = "Maintenance"
            lines.append(("maint_line_0", "Choose a task on the left."))
        else:
            action = result["action"]
            self.ids.title.text = maint.TITLES.get(action, action)
            if not result["ok"]:
                words = result.get("message_key") or "bad_request"
                lines.append(("maint_error", app.tr(words, "en")))
            else:
                data = result.get("data")
                if action == "cash_summary" and isinstance(data, dict):
                    # the count and its button first (in view), the journal's figures below
                    lines.extend(self._count_lines(app))
                for index, line in enumerate(maint.result_lines(action, data)):
                    lines.append((f"maint_line_{index}", line))
                if action == "outbox_view":
                    lines.append(
                        ("maint_send_now", ("Send now", lambda: app.maint_action("send_now")))
                    )
                elif action == "recent_receipts" and isinstance(data, list):
                    for index, row in enumerate(data[:20]):
                        ref, doc, text = maint.receipt_choice(row)
                        lines.append(
                            (
                                f"maint_reprint_{index}",
                                (
                                    text,
                                    lambda r=ref, d=doc: app.maint_action("reprint", ref=r, doc=d),
                                ),
                            )
                        )
        for tid, what in lines:
            if isinstance(what, list):  # a row of count cells: words, then -1 / +1 / +10
                row = BoxLayout(
                    size_hint_y=None,
                    height=84 * app.s,
                    spacing=8 * app.s,
                    padding=(0, 0, 16 * app.s, 0),
                )
                for cell_tid, words, buttons in what:
                    row.add_widget(
                        KLabel(
                            text=words,
                            tid=cell_tid,
                            base=26,
                            latin=True,
                            halign="left",
                            size_hint_x=0.2,
                            size_hint_y=1,
                            auto_height=False,
                        )
                    )
                    for btn_tid, text, callback in buttons:
                        button = KButton(
                            tid=btn_tid, text=text, kind="secondary", tall=84, base=26, latin=True
                        )
                        button.size_hint_x = 0.3 / len(buttons)
                        button.bind(on_release=lambda _w, c=callback: c())
                        row.add_widget(button)
                box.add_widget(row)
            elif isinstance(what, tuple):
                text, callback = what
                kind = "secondary" if tid == "maint_seal" else "primary"
                button = KButton(tid=tid, text=text, kind=kind, tall=96, base=28, latin=True)
                button.bind(on_release=lambda _w, c=callback: c())
                box.add_widget(button)
            else:
                box.add_widget(
                    KLabel(
                        text=str(what),
                        tid=tid,
                        base=26,
                        latin=True,
                        halign="left",
                        pad=4,
                        color=RED if tid == "maint_error" else INK,
                    )
                )

    def _count_lines(self, app) -> list[tuple[str, object]]:
        """The count by denomination (-1 / +1 / +10 per note value, two values a row, so the
        collect button stays in view on a landscape screen), then collect with it."""
        count = self._count

        def step(paise: int, delta: int):
            def go() -> None:
                count.add(paise, delta)
                app.render()

            return go

        cells = [
            (
                f"maint_count_{paise}",
                count.cell(paise),
                [
                    (f"maint_count_{paise}_{name}", text, step(paise, delta))
                    for delta, name, text in count.STEPS
                ],
            )
            for paise in count.values
        ]
        lines: list[tuple[str, object]] = [
            (f"maint_count_row_{i}", cells[i : i + 2]) for i in range(0, len(cells), 2)
        ]
        def type_seal() -> None:
            self._seal_view = maint_seal.SealEntryView(app, count.seal, seal_typed)
            self._seal_view.open(animation=False)

        def seal_typed(seal: str) -> None:
            count.seal = seal
            app.render()

        def collect() -> None:  # no seal number yet: type it first
            if count.seal:
                app.maint_action("collect_cash", **count.args())
            else:
                type_seal()

        lines.append(("maint_seal", (count.seal_line(), type_seal)))
        lines.append(("maint_collect", (count.collect_line(), collect)))
        lines.append(("maint_count_note", "Journal since the last collection:"))
        return lines


class MoreTimeView(ModalView):
    """"Do you need more time?" with the seconds left, what happens to the money if nobody
    answers, and both answers: more time, or finish now."""

    def update(self, app, seconds: int | None, paid_paise: int) -> None:
        self.ids.seconds.text = (
            app.tr("more_time_seconds", n=max(0, seconds)) if seconds is not None else ""
        )
        self.ids.cash.text = (
            app.tr("more_time_stake", amount=fmt.rupees(paid_paise)) if paid_paise
            else app.tr("more_time_nothing")
        )


class HelpView(ModalView):
    pass


class KioskRoot(BoxLayout):
    pass


SCREEN_CLASSES = (
    WaitScreen,
    AttractScreen,
    HomeScreen,
    ProvidersScreen,
    UnavailableScreen,
    IdentifyScreen,
    BillScreen,
    PayingScreen,
    CardScreen,
    ProcessingScreen,
    DoneScreen,
    EndedScreen,
    VerifyScreen,
    OutOfServiceScreen,
    RecoveryScreen,
    MaintenanceScreen,
    MaintMenuScreen,
)

__all__ = ["SCREEN_CLASSES", "WHITE", "HelpView", "KioskRoot", "MoreTimeView"]
