"""Advance credit: a provider that takes advance payments (electricity, water: the catalogue's
`advance_payment`) gets the overshoot of a covered bill on the consumer's account, posted with the
payment (`advance_paise`, deducted from the next bill), instead of a paper voucher.

Each provider's `max_overshoot_paise` in the catalogue is how far the last note may go past what
is due on its bills. For a provider with advance payment the overshoot is the advance, and central
takes none larger (the reference central's catalogue sets ₹5,000, above the largest note: no
limit in practice). For any other provider the overshoot becomes a voucher of at most that much
(the reference catalogue: ₹500 on a phone or gas bill, ₹100 on a fee). `[payment] advance_credit`
is the operator's kill-switch (on by default): off, an advance provider's overshoot is a voucher
again, within the site's `[payment] max_overpay_paise`.
"""

from __future__ import annotations

from typing import Any

from terminal import catalogue


def enabled(config: dict[str, Any]) -> bool:
    """[payment] advance_credit (on unless the operator turns it off). Never with the e-Mitra
    back-to-back dialect: its payment has no field for an advance, so the overshoot would be
    taken and posted nowhere."""
    dialect = config.get("central", {}).get("dialect", "reference")
    return dialect == "reference" and bool(config.get("payment", {}).get("advance_credit", True))


def advance_cap(provider: str, on: bool = True) -> int:
    """The most of an overshoot this provider's account takes as advance (0: it takes none)."""
    p = catalogue.provider(provider)
    if not on or p is None or not p["advance_payment"]:
        return 0
    return int(p["max_overshoot_paise"])


def takes_advance(provider: str, on: bool = True) -> bool:
    return advance_cap(provider, on) > 0


def overshoot_limit(provider: str, site_limit_paise: int, on: bool = True) -> int:
    """Paise the last note may overshoot what is due, for this provider's bill: its own
    `max_overshoot_paise` (the advance its account takes, or the voucher the overshoot becomes).
    0 sets none (a catalogue from before the kiosk applied the field): the site's limit. A
    provider that takes advance payment but has advance credit off here: its limit is for an
    advance, not a voucher, so the site's voucher limit applies within it."""
    p = catalogue.provider(provider)
    if p is None:
        return site_limit_paise
    own = int(p["max_overshoot_paise"])
    if takes_advance(provider, on):
        return own
    if not own:
        return site_limit_paise
    return min(own, site_limit_paise) if p["advance_payment"] else own


def receipt_fact(advance_paise: int) -> dict[str, Any]:
    """The advance credit as the receipt and the screen state it: "₹60 जमा — अगले बिल में घटेगा"."""
    from terminal.money import format_rupees

    amount = format_rupees(advance_paise)
    return {"paise": advance_paise, "text_hi": f"{amount} जमा — अगले बिल में घटेगा",
            "text_en": f"{amount} credited to your account — deducted from the next bill"}
