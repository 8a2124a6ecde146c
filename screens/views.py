"""One class per screen. Each `update(app, state)` draws the session state (docs/session-api.md)
onto its widgets; nothing here decides anything about money — the core does."""

from __future__ import annotations

from typing import Any

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.modalview import ModalView

from screens import (
    fmt,
    hindi_text,
    home_plan,
    home_tiles,
    provider_hint,
)
from screens.content import ATTRACT_HINTS
from screens.home_tiles import HomeTile
from screens.screen_base import (  # noqa: F401 - used by other screens from here
    KioskScreen,
    message_key,
    period_text,
    provider_name,
    session_of,
)
from screens.views_maint import MaintenanceScreen, MaintMenuScreen
from screens.views_payment import CardScreen, DoneScreen, PayingScreen, ProcessingScreen
from screens.views_verify import VerifyScreen
from screens.widgets import (
    WHITE,
    KButton,
    KLabel,
)


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
