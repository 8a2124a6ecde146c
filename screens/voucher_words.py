"""The words the paying and done screens add for issue 13, from the snapshot alone (no Kivy
here, so screens/views.py imports it without a cycle and tests can read it): the vouchers taken
toward the bill, an advance credit, the number an SMS went to."""

from __future__ import annotations

from typing import Any

from screens import fmt

# Message keys that report on a voucher or an SMS: never the done screen's title.
NOT_A_TITLE = ("voucher_", "sms_", "mobile_")


def session_of(state: dict[str, Any]) -> dict[str, Any]:
    session = state.get("session")
    return session if isinstance(session, dict) else {}


def vouchers_in(session: dict[str, Any]) -> list[int]:
    """The paise of each voucher taken toward this bill (session.vouchers_in)."""
    found = session.get("vouchers_in")
    if not isinstance(found, list):
        return []
    return [v["paise"] for v in found if isinstance(v, dict) and paise_of(v) > 0]


def paise_of(entry: dict[str, Any]) -> int:
    """A whole, positive number of paise, else 0 (True is not one)."""
    paise = entry.get("paise")
    return paise if isinstance(paise, int) and not isinstance(paise, bool) and paise > 0 else 0


def vouchers_text(app, session: dict[str, Any]) -> str:
    """"वाउचर ₹60 लगा" for each voucher taken in, on one line."""
    return ", ".join(app.tr("voucher_in_line", amount=fmt.rupees(p)) for p in vouchers_in(session))


def advance_text(app, session: dict[str, Any]) -> str:
    """"₹60 जमा — अगले बिल में घटेगा": the overshoot credited to the consumer's account."""
    advance = session.get("advance")
    if not isinstance(advance, dict) or not paise_of(advance):
        return ""
    return app.tr("advance_line", amount=fmt.rupees(paise_of(advance)))


def put_in_part(app, session: dict[str, Any]) -> str:
    """" (वाउचर ₹500 लगा)" after "you put in": what was put in counts the vouchers too."""
    text = vouchers_text(app, session)
    return f" ({text})" if text else ""


def still_due_text(app, session: dict[str, Any]) -> str:
    """After a part payment: "बिल का बाकी ₹150 अगली बार भरें"."""
    rest = session.get("still_due_paise")
    if not isinstance(rest, int) or isinstance(rest, bool) or rest <= 0:
        return ""
    return app.tr("part_still_due", amount=fmt.rupees(rest))


def part_payment_button(app, session: dict[str, Any]) -> str:
    """The paying screen's "pay only this much" button, or "" when the core does not offer it
    (terminal/part_payment.py: a provider that takes part payments, cash in, bill not covered)."""
    offer = session.get("part_payment")
    if not isinstance(offer, dict) or not paise_of(offer):
        return ""
    rest = offer.get("rest_paise")
    rest = rest if isinstance(rest, int) and not isinstance(rest, bool) and rest > 0 else 0
    return app.tr("btn_pay_part", amount=fmt.rupees(paise_of(offer)), rest=fmt.rupees(rest))


def done_text(app, session: dict[str, Any]) -> str:
    """The done screen's extra lines: what the bill still asks after a part payment, an advance
    credit, the number the SMS went to."""
    sms = session.get("sms") if isinstance(session.get("sms"), dict) else {}
    masked = sms.get("mobile_masked")
    lines = [still_due_text(app, session), advance_text(app, session),
             app.tr("sms_to", number=masked) if masked else ""]
    return "\n".join(part for part in lines if part)


def done_title_key(key: str | None) -> str | None:
    """The core's last message, unless it is about a voucher or an SMS (a line, not a title)."""
    return None if key and key.startswith(NOT_A_TITLE) else key


def sms_offered(session: dict[str, Any]) -> bool:
    sms = session.get("sms")
    return isinstance(sms, dict) and bool(sms.get("offer"))


def paying_key(key: str) -> str:
    """The paying screen's big line: after a voucher is used, what to do next (the green
    "voucher ₹500 used" line below says what happened)."""
    return "insert_note" if key == "voucher_used" else key


def message_base(text: str) -> int:
    """The paying screen's big line in a smaller size when it is long (a voucher refused):
    it must stay between the header and the notes."""
    return 52 if len(text) <= 32 else 36
