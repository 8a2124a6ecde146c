"""One class per screen. Each `update(app, state)` draws the session state (docs/session-api.md)
onto its widgets; nothing here decides anything about money — the core does."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.modalview import ModalView
from kivy.uix.screenmanager import Screen

from screens import fmt
from screens.content import ATTRACT_HINTS, HOME_TILES, SCANNER_POSITIONS, VERIFY, VERIFY_VERDICTS
from screens.widgets import ACCENT, AMBER, GREEN, INK, MUTED, RED, WHITE, Box, KButton, KLabel, Tile


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
        offered = {s.get("service") for s in state.get("catalogue") or []}
        services = state.get("services") or {}
        cash = bool(services.get("cash_payment"))
        lookup = bool(services.get("lookup", True))
        key = (app.lang, tuple(sorted(x for x in offered if x)), cash, lookup)
        if key != self._built_for:
            self._built_for = key
            grid = self.ids.tiles
            grid.clear_widgets()
            for tid, icon, title, subtitle, service in HOME_TILES:
                if service == VERIFY:
                    available = lookup
                else:
                    available = service is not None and service in offered and cash
                tile = Tile(
                    tid=tid,
                    icon=icon,
                    title=app.tr(title),
                    subtitle=app.tr(subtitle if available else "tile_soon"),
                    soon=not available,
                )
                if available and service == VERIFY:
                    tile.bind(on_release=lambda _w: app.start_verify())
                elif available:
                    tile.bind(on_release=lambda _w, s=service: app.choose_service(s))
                else:
                    tile.bind(on_release=lambda _w, t=title: app.show_unavailable(t))
                grid.add_widget(tile)
        self.set_problem(app, app.notice)


class ProvidersScreen(KioskScreen):
    prompt_key = "providers_title"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._built_for: tuple | None = None

    def update(self, app, state: dict[str, Any]) -> None:
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
                name = provider.get(f"name_{app.lang}") or provider.get("name_en") or code
                if code and code not in name:
                    name = f"{name}\n{code}"
                button = KButton(tid=f"provider_{code}", text=name, kind="secondary", tall=112)
                button.bind(on_release=lambda _w, c=code: app.start_session(c))
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
        self.ids.provider.text = provider_name(app, state, session.get("provider", ""))
        digits = app.digits
        label = self.ids.digits
        if digits:
            label.text = fmt.spaced_digits(digits)
            label.color = (0.09, 0.10, 0.12, 1)
        else:
            label.text = app.tr("identify_empty")
            label.color = (0.45, 0.46, 0.5, 1)
        self.ids.go.disabled = not digits
        # Problems come back as the failed intent's message key; typing clears them.
        self.set_problem(app, app.notice)


class BillScreen(KioskScreen):
    prompt_key = "bill_check"

    def update(self, app, state: dict[str, Any]) -> None:
        session = session_of(state)
        bill = session.get("bill") or {}
        self.ids.provider.text = provider_name(app, state, session.get("provider", ""))
        self.ids.name.text = bill.get("consumer_name_masked", "")
        self.ids.consumer.text = session.get("consumer_masked", "")
        self.ids.period.text = period_text(app, bill.get("period"))
        self.ids.due_date.text = fmt.date_dmy(bill.get("due_date"))
        self.ids.due.text = fmt.rupees(session.get("due_paise", bill.get("due_paise")))
        self.set_problem(app, app.notice)


class PayingScreen(KioskScreen):
    prompt_key = "insert_note"
    cash = BooleanProperty(False)

    def update(self, app, state: dict[str, Any]) -> None:
        session = session_of(state)
        self.ids.due.amount = fmt.rupees(session.get("due_paise", 0))
        self.ids.paid.amount = fmt.rupees(session.get("paid_paise", 0))
        self.ids.remaining.amount = fmt.rupees(session.get("remaining_paise", 0))
        self.cash = bool(session.get("cash_in_machine"))
        key = app.notice or message_key(state) or "insert_note"
        self.ids.message.text = app.tr(key)
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
        box.shown = bool(returned)
        if returned:
            self.ids.returned.text = (
                f"{app.tr('note_returned_title')}: {fmt.rupees(returned.get('paise') or 0)}"
                if returned.get("paise")
                else app.tr("note_returned_title")
            )
            self.ids.returned_why.text = app.tr(returned.get("message_key") or "note_returned")
        else:
            self.ids.returned.text = ""
            self.ids.returned_why.text = ""
        self.ids.safe_box.shown = self.cash


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
        self.ids.step.text = app.tr(key) if key and key != title else ""
        self.ids.safe_box.shown = bool(session_of(state).get("cash_in_machine"))

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
        key = message_key(state) or ("payment_successful" if amount else "voucher_issued")
        if failed:
            key = "print_failed_money_safe"
        self.ids.title.text = app.tr(key)
        self.ids.title.color = (0.68, 0.13, 0.11, 1) if failed else (0.05, 0.43, 0.20, 1)
        self.ids.icon.kind = "warning" if failed else "tick"
        self.ids.icon.tint = list(self.ids.title.color)
        receipt = session.get("receipt_no")
        self.ids.receipt_no.shown = bool(receipt)
        self.ids.receipt_no.text = f"{app.tr('receipt_no')}: {receipt}" if receipt else ""
        self.ids.amount.shown = bool(amount)
        self.ids.amount.text = (
            f"{app.tr('paid_towards_bill')}: {fmt.rupees(amount)}" if amount else ""
        )
        self.ids.voucher.shown = bool(voucher)
        self.ids.voucher.text = (
            f"{app.tr('voucher_label')}: {fmt.rupees(voucher.get('paise') or 0)}" if voucher else ""
        )
        provisional = bool(session.get("provisional"))
        self.ids.provisional.shown = provisional
        self.ids.provisional.text = app.tr("provisional_note") if provisional else ""
        if failed:
            take = ""
        elif amount:
            take = app.tr("take_receipt")
        else:
            take = app.tr("take_voucher")
        self.ids.take.shown = bool(take)
        self.ids.take.text = take
        helpline = (state.get("terminal") or {}).get("helpline", "")
        self.ids.helpline.shown = failed and bool(helpline)
        self.ids.helpline.text = app.tr("help_call", number=helpline) if failed else ""


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
        self.ids.again.shown = status == "done"
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

    @staticmethod
    def details(app, state: dict[str, Any], result: dict[str, Any]) -> list[tuple[str, str, str]]:
        """(tid, label, value) for what central said about a receipt or a voucher."""
        rows: list[tuple[str, str, str]] = []
        kind = result.get("kind")
        if kind == "receipt":
            if result.get("receipt_no"):
                rows.append(("verify_receipt_no", app.tr("receipt_no"), str(result["receipt_no"])))
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
    prompt_key = "maint_title"

    def update(self, app, state: dict[str, Any]) -> None:
        self.ids.pin.text = "●" * len(app.pin) if app.pin else "—"


class MoreTimeView(ModalView):
    def update(self, app, seconds: int | None, cash: bool) -> None:
        self.ids.seconds.text = (
            app.tr("more_time_seconds", n=max(0, seconds)) if seconds is not None else ""
        )
        self.ids.cash.shown = cash


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
    ProcessingScreen,
    DoneScreen,
    EndedScreen,
    VerifyScreen,
    OutOfServiceScreen,
    RecoveryScreen,
    MaintenanceScreen,
)

__all__ = ["SCREEN_CLASSES", "WHITE", "HelpView", "KioskRoot", "MoreTimeView"]
