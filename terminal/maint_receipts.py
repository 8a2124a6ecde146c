"""Maintenance, receipts: the receipts and vouchers of the last 24 hours, and their reprint
marked DUPLICATE (journaled with the engineer id)."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from drivers.base import ImageBlock, PrintDocument, TextLine
from terminal.engineer_auth import MaintenanceError
from terminal.session import fold

if TYPE_CHECKING:
    from terminal.maintenance import Maintenance

REPRINT_WINDOW = timedelta(hours=24)


class Reprints:
    def __init__(self, m: Maintenance) -> None:
        self.m = m

    def recent_receipts(self) -> list[dict[str, Any]]:
        """Receipts and vouchers of the last 24 h (for the reprint screen), newest first."""
        self.m.need_engineer()
        cutoff = (datetime.now(UTC) - REPRINT_WINDOW).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        out = []
        for ev in self.m.journal.events(kinds=("settled",)):
            if ev.at >= cutoff:
                out.append(
                    {
                        "session_id": ev.session_id,
                        "txn_id": ev.data.get("txn_id"),
                        "amount_paise": ev.data.get("amount_paise", 0),
                        "voucher_id": ev.data.get("voucher_id"),
                        "voucher_paise": ev.data.get("voucher_paise", 0),
                        "at": ev.at,
                    }
                )
        return list(reversed(out))

    async def reprint(self, ref: str, doc: str | None = None) -> dict[str, Any]:
        """Reprint a receipt (txn id / session id) or voucher (voucher id) of the last 24 h,
        marked DUPLICATE."""
        engineer = self.m.need_engineer()
        found = next(
            (
                r
                for r in self.recent_receipts()
                if ref in (r["session_id"], r["txn_id"], r["voucher_id"])
            ),
            None,
        )
        if found is None:
            raise MaintenanceError("not_found", "no receipt with that id in the last 24 hours")
        s = fold(found["session_id"], list(self.m.journal.events(session_id=found["session_id"])))
        if doc is None:
            doc = "voucher" if ref == s.voucher_id or not s.amount_paise else "receipt"
        if (doc == "receipt" and not s.amount_paise) or (doc == "voucher" and not s.voucher_id):
            raise MaintenanceError("not_found", f"that session has no {doc}")
        printer = self.m.core.printer
        if printer is None:
            raise MaintenanceError("no_printer")
        try:
            document = duplicate_document(self.m.config, s, doc, printer.paper_width_dots)
            await printer.print_document(document)
        except Exception as exc:
            self.m.record("reprint_failed", engineer, session=s.session_id, doc=doc, error=str(exc))
            return {"printed": False, "error": str(exc)}
        self.m.record("reprint", engineer, session=s.session_id, txn_id=s.txn_id, doc=doc)
        return {"printed": True, "error": None, "doc": doc, "session_id": s.session_id}


def duplicate_document(config: dict, s: Any, doc: str, width_dots: int) -> PrintDocument:
    """The receipt / voucher as first printed, marked DUPLICATE."""
    from terminal.printing import build_document

    if "duplicate" in inspect.signature(build_document).parameters:
        return build_document(config, s, doc, width_dots, duplicate=True)
    from terminal.receipts import HI, HINDI_TITLE_PX, render_text_image

    original = build_document(config, s, doc, width_dots)
    mark = (
        ImageBlock(render_text_image(HI["duplicate"], width_dots, HINDI_TITLE_PX)),
        TextLine("*** DUPLICATE ***", align="center", bold=True, double=True),
        TextLine(f"Reprinted {datetime.now(UTC).strftime('%Y-%m-%d %H:%M')} UTC", align="center"),
    )
    return PrintDocument(
        blocks=mark + tuple(original.blocks) + mark[1:2],
        name=original.name,
        cut=original.cut,
        meta={**original.meta, "duplicate": True},
    )
