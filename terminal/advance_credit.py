"""Advance credit: a provider that takes advance payments (electricity, water: the catalogue's
`advance_payment`) gets the overshoot of a covered bill on the consumer's account, posted with the
payment (`advance_paise`, deducted from the next bill), instead of a paper voucher.

The overshoot limit (how far the last note may go past what is still due) is then the provider's
own `max_overshoot_paise` from the catalogue; a provider without advance payment keeps the site's
`[payment] max_overpay_paise` (the rest becomes a voucher). `[payment] advance_credit`
(`enabled`) turns advance credit on.
"""

from __future__ import annotations

from typing import Any

from terminal import catalogue


def enabled(config: dict[str, Any]) -> bool:
    """[payment] advance_credit: off unless the site turns it on (the existing sites' vouchers
    stay as they were until the provider's accounts take advance postings from this kiosk).
    Never with the e-Mitra back-to-back dialect: its payment has no field for an advance, so
    the overshoot would be taken and posted nowhere."""
    dialect = config.get("central", {}).get("dialect", "reference")
    return dialect == "reference" and bool(config.get("payment", {}).get("advance_credit", False))


def takes_advance(provider: str, on: bool = True) -> bool:
    p = catalogue.provider(provider)
    return on and bool(p and p["advance_payment"] and p["max_overshoot_paise"] > 0)


def overshoot_limit(provider: str, site_limit_paise: int, on: bool = True) -> int:
    """Paise the last note may overshoot what is due, for this provider's bill."""
    p = catalogue.provider(provider)
    if p is not None and takes_advance(provider, on):
        return int(p["max_overshoot_paise"])
    return site_limit_paise


def receipt_fact(advance_paise: int) -> dict[str, Any]:
    """The advance credit as the receipt and the screen state it: "₹60 जमा — अगले बिल में घटेगा"."""
    from terminal.money import format_rupees

    amount = format_rupees(advance_paise)
    return {"paise": advance_paise, "text_hi": f"{amount} जमा — अगले बिल में घटेगा",
            "text_en": f"{amount} credited to your account — deducted from the next bill"}
