"""No English on a Hindi screen (UI.md): the Devanagari forms of what central and the catalogue
send in Latin — the masked account name, the receipt number without its "RCPT-" prefix, and a
provider's Hindi name with its code (JVVNL) small beside it, never alone."""

from __future__ import annotations

from typing import Any

from kivy.utils import escape_markup

RECEIPT_PREFIX = "RCPT-"
CODE_SIZE = 0.62  # the provider code's size against its name's
CODE_COLOUR = "444954"  # the muted grey (widgets.MUTED), as markup hex


def consumer_name(app, bill: dict[str, Any]) -> str:
    """The masked name to show: the Devanagari one on a Hindi screen when central gave it."""
    hindi = bill.get("consumer_name_hi_masked") or ""
    if app.lang == "hi" and isinstance(hindi, str) and hindi:
        return hindi
    return str(bill.get("consumer_name_masked") or "")


def receipt_number(app, receipt: object) -> str:
    """The receipt number as a Hindi screen shows it: the digits only (the label before it
    says "रसीद संख्या"); an English screen keeps central's form (RCPT-000123)."""
    text = str(receipt or "")
    if app.lang == "hi" and text.upper().startswith(RECEIPT_PREFIX):
        return text[len(RECEIPT_PREFIX):]
    return text


def receipt_line(app, receipt: object) -> str:
    """ "रसीद संख्या: 000123" / "Receipt no.: RCPT-000123"; "" with no receipt."""
    number = receipt_number(app, receipt)
    return f"{app.tr('receipt_no')}: {number}" if number else ""


def provider_entry(state: dict[str, Any], code: str) -> dict[str, Any]:
    for service in state.get("catalogue") or []:
        for provider in service.get("providers") or []:
            if provider.get("code") == code:
                return provider
    return {}


def provider_markup(app, provider: dict[str, Any], code: str, font_size: float,
                    two_lines: bool = False) -> str:
    """Markup (the label needs markup=True): the provider's name in the screen's language and
    its code small and grey after it ("जयपुर विद्युत वितरण निगम  JVVNL"). With no name known,
    the code alone, at full size (better than nothing)."""
    name = provider.get(f"name_{app.lang}") or provider.get("name_en") or ""
    if not name:
        return escape_markup(code)
    if not code or code in name:
        return escape_markup(name)
    joiner = "\n" if two_lines else "  "
    small = max(10, round(font_size * CODE_SIZE))
    return (f"{escape_markup(name)}{joiner}[size={small}][color={CODE_COLOUR}]"
            f"{escape_markup(code)}[/color][/size]")
