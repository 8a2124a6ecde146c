"""The money screens: paying (notes, vouchers taken in), card, processing and done."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty

from screens import (
    fmt,
    hindi_text,
    step_timer,
    voucher_words,
)
from screens.screen_base import (
    KioskScreen,
    message_key,
    session_of,
)
from screens.widgets import (
    ACCENT_DARK,
    RED,
    Box,
    KButton,
    KLabel,
)


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
        part = voucher_words.part_payment_button(app, session)
        self.ids.pay_part.shown, self.ids.pay_part.text = bool(part), part


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
