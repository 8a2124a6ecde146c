"""Helping a citizen find the consumer number and the company it belongs to.

- The number-entry screen's sample bill (screens/sample_bill.py) marks where this provider
  prints the number (catalogue number_hint.box, else the generic place).
- "Don't know the company?" on the providers screen opens FindProviderScreen: the citizen types
  the first digits of the number on the bill, the kiosk suggests the company whose numbers start
  so (catalogue number_hint.prefixes, terminal/number_hint.suggest), and a tap on it starts that
  company's session with the digits already typed (screens/find_provider.py). Offered only
  where the catalogue says how.
"""

from __future__ import annotations

from typing import Any

from screens import hindi_text
from screens.sample_bill import box_for
from screens.widgets import ACCENT_DARK, KButton


def providers_of(state: dict[str, Any], service: str | None) -> list[dict[str, Any]]:
    for entry in state.get("catalogue") or []:
        if entry.get("service") == service:
            return list(entry.get("providers") or [])
    return []


def can_find(providers: list[dict[str, Any]]) -> bool:
    """The finder is offered when two or more companies and at least one says its prefixes."""
    return len(providers) > 1 and any(
        (p.get("number_hint") or {}).get("prefixes") for p in providers)


def show_sample(app, state: dict[str, Any], sample, problem: bool) -> None:
    """The number-entry screen's sample bill for this session's provider (hidden while a
    problem message needs the room)."""
    code = (state.get("session") or {}).get("provider", "")
    sample.box = list(box_for(hindi_text.provider_entry(state, code)))
    sample.caption = app.tr("sample_bill_caption")
    sample.mark = app.tr("sample_bill_mark")
    sample.shown = not problem


def offer_finder(app, slot, providers: list[dict[str, Any]]) -> None:
    """The providers screen's "don't know the company?" button, in the footer between back
    and help (the list above has no room to spare on a 1280x800 panel), when it can help."""
    slot.clear_widgets()
    if not can_find(providers):
        return
    button = KButton(tid="find_provider", text=app.tr("find_provider_button"),
                     kind="secondary", base=28)
    button.color = list(ACCENT_DARK)
    button.bind(on_release=lambda *_a: app.go_local("find_provider"))
    slot.add_widget(button)
