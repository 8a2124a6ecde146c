"""The QR check: what central said about a receipt, a voucher or a bill's code."""

from __future__ import annotations

from typing import Any

from kivy.uix.boxlayout import BoxLayout

from screens import (
    fmt,
    hindi_text,
)
from screens.content import SCANNER_POSITIONS, VERIFY_VERDICTS
from screens.screen_base import (
    KioskScreen,
    provider_name,
)
from screens.widgets import (
    ACCENT,
    AMBER,
    GREEN,
    INK,
    MUTED,
    RED,
    KLabel,
)

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
