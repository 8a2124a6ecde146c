"""Maintenance, the cash box and its collection: the summary the engineer counts against,
`begin_collection` (the cassette may come out without an alarm), `collect_cash` (journaled with
the engineer's count and the acceptor's counter; it resets the cash box), the collection slip,
and the collections central has not yet acknowledged (sent in every heartbeat until then).

The pure parts (the cash box folded from the journal, the count) are terminal/cash_collection.py.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from drivers.base import PrintDocument
from terminal import cash_collection as cc
from terminal.cash_collection import acceptor_counters, cash_box, iso_to_epoch
from terminal.engineer_auth import SESSION, MaintenanceError
from terminal.journal import Event, utc_now
from terminal.live_session import id_stamp
from terminal.local_time import DEFAULT_ZONE
from terminal.logs import log_event

if TYPE_CHECKING:
    from terminal.maintenance import Maintenance

log = logging.getLogger("maintenance")


def _utc(at: str) -> datetime:
    """A journal time ("2026-11-23T11:05:00.000000Z") as an aware UTC datetime."""
    return datetime.fromtimestamp(iso_to_epoch(at), UTC)


class CashDesk:
    def __init__(self, m: Maintenance) -> None:
        self.m = m
        self._unreported: dict[str, dict[str, Any]] = {}

    def accepted_paise(self) -> set[int]:
        return {int(r) * 100 for r in self.m.config["acceptor"]["accepted_notes"]}

    def box(self) -> dict[str, Any]:
        """The cash box: the journal's projection (terminal/projections.py, the same dict as
        cash_box(journal) without folding the whole journal), else the full fold."""
        read = getattr(self.m.journal, "cash_box_projection", None)
        return read() if callable(read) else cash_box(self.m.journal)

    def summary(self) -> dict[str, Any]:
        """Notes by denomination since the last collection, cross-checked with the acceptor,
        and every note value the engineer may find in the cassette (for the count)."""
        box = self.box()
        counters = acceptor_counters(self.m.core.acceptor)
        if counters["available"]:
            counters["matches_journal"] = {int(k): v for k, v in counters["counts"].items()} == {
                k: v for k, v in box["counts"].items() if v
            }
        notes = sorted(self.accepted_paise() | set(box["counts"]), reverse=True)
        return {**box, "acceptor_counters": counters, "denominations": notes}

    def cash_summary(self) -> dict[str, Any]:
        engineer = self.m.need_engineer()
        summary = self.summary()
        self.m.record("cash_summary_viewed", engineer, total_paise=summary["total_paise"])
        return summary

    def begin_collection(self) -> dict[str, Any]:
        """The engineer is about to take the cassette out: no alarm for that. Returns the cash
        summary (what the collection screen shows and counts against)."""
        engineer = self.m.need_engineer()
        self.m.collection_in_progress = True
        summary = self.summary()
        self.m.record("collection_started", engineer, total_paise=summary["total_paise"])
        return {**summary, "collection_in_progress": True}

    async def collect_cash(
        self,
        engineer_id: str | None = None,
        counted: dict[str, int] | None = None,
        seal_no: str | None = None,
    ) -> dict[str, Any]:
        """Journal the collection (it resets the cash box) with the seal/bag number the cash
        leaves in, the vouchers printed in the period, the engineer's count per denomination
        ({"50000": n}) and the acceptor's counter (cash_counted), alarm on a difference, print
        the slip, report to central."""
        m = self.m
        engineer = m.need_engineer()
        if engineer_id is not None and engineer_id != engineer:
            raise MaintenanceError("wrong_engineer", "collect as the logged-in engineer")
        try:
            notes = None if counted is None else cc.parse_counted(counted, self.accepted_paise())
            seal = cc.parse_seal(seal_no)
        except (cc.CountError, cc.SealError) as exc:
            raise MaintenanceError("bad_request", str(exc)) from None
        device = await cc.read_device_counter(m.core.acceptor)  # before the box is counted
        if m.core.kiosk.session is not None:
            raise MaintenanceError("session_in_progress")
        # Count and record in one step without an await between: no credit can slip in.
        box = self.box()
        baseline = cc.last_device_total(m.journal)
        vouchers, vouchers_paise = cc.vouchers_in_period(m.journal)
        collection_id = (
            f"C-{m.config['terminal']['id']}-{id_stamp()}-{secrets.token_hex(2).upper()}"
        )
        ev = m.record(
            "cash_collected",
            engineer,
            collection_id=collection_id,
            seal_no=seal,
            vouchers_issued=vouchers,
            vouchers_paise=vouchers_paise,
            counts={str(k): v for k, v in box["counts"].items()},
            notes=box["notes"],
            total_paise=box["total_paise"],
            credited_paise=box["credited_paise"],
            test_notes_paise=box["test_notes_paise"],
            unattributed_paise=box["unattributed_paise"],
            since=box["since"],
            _key=f"collection:{collection_id}",
        )
        count = cc.count_record(collection_id, engineer, box, notes, device, baseline)
        m.journal.append(cc.COUNT_KIND, SESSION, count, key=f"cash_counted:{collection_id}")
        m.collection_in_progress = False
        if ev is not None:
            self.note_collection(ev)
        if count["problems"]:
            m.raise_alarm(f"{cc.COUNT_ALARM}:{collection_id}", cc.alarm_message(count))
        log_event(
            log,
            "cash collected",
            engineer=engineer,
            collection=collection_id,
            seal=seal,
            total=box["total_paise"],
            notes=box["notes"],
            counted=count["counted_paise"],
            difference=count["difference_paise"],
        )
        result = {
            "collection_id": collection_id,
            "at": ev.at if ev else utc_now(),
            "engineer_id": engineer,
            "seal_no": seal,
            "since": box["since"],
            "vouchers_issued": vouchers,
            "vouchers_paise": vouchers_paise,
            "counts": box["counts"],
            "by_denomination": box["by_denomination"],
            "notes": box["notes"],
            "total_paise": box["total_paise"],
            "count": count,
        }
        result.update(await self.print_slip(result))
        return result

    async def print_slip(
        self, c: dict[str, Any], reprinted_at: datetime | None = None
    ) -> dict[str, Any]:
        """The collection slip of `c` (a collect_cash result, or one rebuilt from the journal
        for a reprint, marked DUPLICATE with `reprinted_at`)."""
        printer = self.m.core.printer
        try:
            if printer is None:
                raise RuntimeError("no printer")
            await printer.print_document(
                self.slip_document(c, printer.paper_width_dots, reprinted_at)
            )
        except Exception as exc:
            self.m.record(
                "collection_slip_failed",
                c["engineer_id"],
                collection_id=c["collection_id"],
                error=str(exc),
            )
            return {"printed": False, "error": str(exc)}
        self.m.record(
            "collection_slip_printed", c["engineer_id"], collection_id=c["collection_id"]
        )
        return {"printed": True, "error": None}

    def slip_document(
        self, c: dict[str, Any], width_dots: int, reprinted_at: datetime | None = None
    ) -> PrintDocument:
        """The slip: what left the box in the period since `since` (receipt_slips builds it),
        the vouchers printed in it, then the seal number and the count (collection_slip)."""
        from terminal.receipts import CollectionSlip, build_collection_slip

        terminal = self.m.config["terminal"]
        zone = terminal.get("timezone") or DEFAULT_ZONE
        since = c.get("since")
        slip = CollectionSlip(
            terminal_id=terminal["id"],
            location=terminal["location"],
            engineer_id=c["engineer_id"],
            collected_at=_utc(c["at"]),
            counts=dict(c["counts"]),
            total_paise=c["total_paise"],
            period_start=_utc(since) if since else None,
            vouchers_issued=c.get("vouchers_issued"),
            vouchers_paise=int(c.get("vouchers_paise") or 0),
            helpline=terminal.get("helpline") or "",
            zone=zone,
        )
        doc = build_collection_slip(slip, width_dots)
        return cc.slip_with_count(
            doc, c.get("count"), c.get("seal_no"),
            width_dots=width_dots, zone=zone, reprinted_at=reprinted_at,
        )

    async def reprint_collection_slip(self, collection_id: str) -> dict[str, Any]:
        """The same slip again, marked DUPLICATE: a collection from before the seal number
        and the vouchers were journaled gets its vouchers counted from the journal."""
        self.m.need_engineer()
        journal = self.m.journal
        for ev in journal.events(session_id=SESSION, kinds=("maintenance",)):
            if ev.data.get("action") == "cash_collected" and (
                ev.data["collection_id"] == collection_id
            ):
                data = ev.data
                if "vouchers_issued" in data:
                    vouchers, paise = data["vouchers_issued"], data.get("vouchers_paise", 0)
                else:
                    vouchers, paise = cc.vouchers_in_period(journal, collection_id)
                c = {
                    "collection_id": collection_id,
                    "at": ev.at,
                    "engineer_id": data["engineer_id"],
                    "seal_no": data.get("seal_no"),
                    "since": data.get("since"),
                    "vouchers_issued": vouchers,
                    "vouchers_paise": paise,
                    "counts": {int(k): v for k, v in data["counts"].items()},
                    "total_paise": data["total_paise"],
                    "count": cc.find_count(journal, collection_id),
                }
                return await self.print_slip(c, reprinted_at=datetime.now(UTC))
        raise MaintenanceError("not_found", collection_id)

    # ---------------------------------------------------------------- reporting to central

    def unreported_collections(self) -> list[dict[str, Any]]:
        """Collections central has not yet acknowledged (sent in every heartbeat until then)."""
        return list(self._unreported.values())

    def collections_reported(self, collection_ids: list[str]) -> None:
        for cid in collection_ids:
            if self._unreported.pop(cid, None) is not None:
                self.m.journal.append(
                    "maintenance",
                    SESSION,
                    {"action": "collection_reported", "engineer_id": "-", "collection_id": cid},
                    key=f"collection_reported:{cid}",
                )

    def note_collection(self, ev: Event) -> None:
        """A maintenance event (at start, or just written): collections to report."""
        if ev.data.get("action") == "cash_collected":
            self._unreported[ev.data["collection_id"]] = {
                "collection_id": ev.data["collection_id"],
                "at": ev.at,
                "engineer_id": ev.data["engineer_id"],
                "seal_no": ev.data.get("seal_no"),
                "counts_paise": ev.data["counts"],
                "notes": ev.data["notes"],
                "total_paise": ev.data["total_paise"],
            }
        elif ev.data.get("action") == "collection_reported":
            self._unreported.pop(ev.data["collection_id"], None)
