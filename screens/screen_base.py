"""What every screen shares: the session state's accessors and the screen base class."""

from __future__ import annotations

from typing import Any

from kivy.uix.screenmanager import Screen

from screens import (
    fmt,
    hindi_text,
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
