"""Maintenance diagnostics: the device watch (a log of status changes for the fault log, the
cassette-removed alarm), test print, test note (taken before the kiosk sees the acceptor's
events: stacked, journaled as a test note, credited to nobody), device identities, the fault
log, the outbox view, and the network test (DNS, TCP, TLS, a signed call to central)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from drivers.base import (
    Feed,
    ImageBlock,
    NoteInEscrow,
    NoteRejected,
    NoteReturned,
    NoteStacked,
    PrintDocument,
    QRBlock,
    TextLine,
)
from terminal.cash_collection import iso_to_epoch
from terminal.engineer_auth import MaintenanceError
from terminal.journal import utc_now
from terminal.logs import log_event, mask_text
from terminal.maint_alarms import CASSETTE_ALARM

if TYPE_CHECKING:
    from terminal.maintenance import Maintenance

log = logging.getLogger("maintenance")

FAULT_KINDS = ("fault", "print_failed", "post_refused", "voucher_refused", "unattributed_note")
FAULT_ACTIONS = {
    "alarm_raised",
    "alarm_cleared",  # who looked into it (an engineer, or the control room) and the note
    "pin_lockout",
    "collection_slip_failed",
    "test_print_failed",
    "cassette_removed",
}
# Never shown outside the money path: personal data in journal events.
PERSONAL_KEYS = {"consumer_number", "consumer_name", "name", "mobile", "phone", "address"}


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    """Event data for screens and heartbeats: no personal fields, long digit runs masked."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in PERSONAL_KEYS:
            continue
        out[key] = mask_text(value) if isinstance(value, str) else value
    return out


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


class Diagnostics:
    def __init__(self, m: Maintenance) -> None:
        self.m = m
        self._test_note: asyncio.Future[dict[str, Any]] | None = None
        self._test_stacking: set[str] = set()
        self._cassette_out = False
        self._device_seen: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.status_changes: deque[dict[str, Any]] = deque(maxlen=200)

    def cancel_test_note(self) -> None:
        if self._test_note is not None and not self._test_note.done():
            self._test_note.set_result({"result": "cancelled"})

    # ---------------------------------------------------------------- the device watch

    def check_devices(self) -> None:
        """Cassette-removed alarm, and a log of device status changes for the fault log."""
        board = self.m.core.kiosk.board
        for name, status in list(board.status.items()):
            seen = (status.state.value, tuple(status.detail))
            if self._device_seen.get(name) != seen:
                self._device_seen[name] = seen
                self.status_changes.append(
                    {
                        "at": utc_now(),
                        "kind": "device_status",
                        "device": name,
                        "state": seen[0],
                        "detail": list(seen[1]),
                        "message": status.message,
                    }
                )
        acceptor = board.get("acceptor")
        out = acceptor is not None and "cassette_removed" in acceptor.detail
        if out and not self._cassette_out:
            if self.m.collection_in_progress and self.m.engineer is not None:
                self.m.record("cassette_removed", during="collection")
            else:
                self.m.record("cassette_removed", during="no_collection")
                self.m.raise_alarm(CASSETTE_ALARM, "cash cassette removed without a collection")
        elif not out and self._cassette_out:
            self.m.record("cassette_inserted")
        self._cassette_out = out

    # ---------------------------------------------------------------- device tests

    async def test_print(self) -> dict[str, Any]:
        engineer = self.m.need_engineer()
        printer = self.m.core.printer
        if printer is None:
            raise MaintenanceError("no_printer")
        doc = self._test_page(engineer, printer.paper_width_dots)
        try:
            await printer.print_document(doc)
        except Exception as exc:
            self.m.record("test_print_failed", engineer, error=str(exc))
            return {"printed": False, "error": str(exc), "status": printer.status().to_dict()}
        self.m.record("test_print", engineer)
        return {"printed": True, "error": None, "status": printer.status().to_dict()}

    def _test_page(self, engineer: str, width: int) -> PrintDocument:
        from terminal.receipts import HINDI_BODY_PX, format_ist, render_text_image

        terminal = self.m.config["terminal"]
        cols = width // 12
        blocks: list[Any] = [
            TextLine("e-Mitra Plus", align="center", bold=True, double=True),
            TextLine("PRINTER TEST PAGE", align="center", bold=True),
            TextLine("-" * cols),
            TextLine(f"Kiosk    : {terminal['id']}"),
            TextLine(f"Engineer : {engineer}"),
            TextLine(f"Time     : {format_ist(datetime.now(UTC))}"),
            TextLine("-" * cols),
            TextLine("ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789"),
            TextLine("Bold line", bold=True),
            TextLine("Right aligned", align="right"),
            ImageBlock(render_text_image("परीक्षण पृष्ठ — हिंदी ठीक छपी है", width, HINDI_BODY_PX)),
            Feed(1),
            QRBlock(f"EMITRA|TEST|{terminal['id']}"),
            TextLine("=" * cols),
        ]
        return PrintDocument(
            blocks=tuple(blocks),
            name="test_page",
            cut=True,
            meta={"kind": "test_page", "engineer_id": engineer},
        )

    async def test_note(self, timeout_s: float = 60.0) -> dict[str, Any]:
        """Take one note: it is stacked and journaled as a test note, credited to nobody."""
        engineer = self.m.need_engineer()
        acceptor = self.m.core.acceptor
        if acceptor is None:
            raise MaintenanceError("no_acceptor")
        if self._test_note is not None and not self._test_note.done():
            raise MaintenanceError("busy", "a test note is already waiting")
        if self.m.core.kiosk.session is not None:
            raise MaintenanceError("session_in_progress")
        accepted = {r * 100 for r in self.m.config["acceptor"]["accepted_notes"]}
        notes = (set(acceptor.denominations()) & accepted) or accepted
        self._test_note = asyncio.get_running_loop().create_future()
        self.m.record("test_note_started", engineer)
        try:
            await acceptor.enable(notes)
            result = await asyncio.wait_for(asyncio.shield(self._test_note), timeout_s)
        except TimeoutError:
            result = {"result": "no_note"}
        except Exception as exc:
            result = {"result": "error", "error": str(exc)}
        finally:
            with contextlib.suppress(Exception):
                await acceptor.disable()
            self._test_note = None
        if result["result"] != "stacked":
            self.m.record("test_note_ended", engineer, **result)
        self.m.touch()
        return result

    async def on_acceptor_event(self, event: object) -> bool:
        """Acceptor events during a test note are the test's, not a citizen's: True = taken."""
        waiting = self._test_note is not None and not self._test_note.done()
        if isinstance(event, NoteInEscrow) and waiting:
            self._test_stacking.add(event.note_id)
            await self.m.core.acceptor.stack()
            return True
        if isinstance(event, NoteStacked) and event.note_id in self._test_stacking:
            self._test_stacking.discard(event.note_id)
            self.m.record(
                "test_note",
                paise=event.paise,
                note_id=event.note_id,
                _key=f"test_note:{event.note_id}",
            )
            log_event(log, "test note stacked", paise=event.paise, engineer=self.m.engineer)
            if self._test_note is not None and not self._test_note.done():
                self._test_note.set_result({"result": "stacked", "paise": event.paise})
            return True
        if isinstance(event, NoteReturned) and event.note_id in self._test_stacking:
            self._test_stacking.discard(event.note_id)
            if waiting:
                self._test_note.set_result({"result": "returned", "paise": event.paise})
            return True
        if isinstance(event, NoteRejected) and waiting:
            self._test_note.set_result(
                {"result": "rejected", "reason": event.reason, "paise": event.paise}
            )
            return True
        return False

    def identities(self) -> dict[str, Any]:
        engineer = self.m.need_engineer()
        out: dict[str, Any] = {}
        for name, device in (("acceptor", self.m.core.acceptor), ("printer", self.m.core.printer)):
            if device is None:
                out[name] = {"present": False}
                continue
            identity = getattr(device, "identity", None)
            info = identity() if callable(identity) else {}
            out[name] = {
                "present": True,
                "driver": type(device).__name__,
                **(info or {"model": "not reported by the device"}),
                "status": (self.m.core.kiosk.board.get(name) or device.status()).to_dict(),
            }
        self.m.record("identities_viewed", engineer)
        return out

    def fault_log(self, hours: float = 24.0, limit: int = 200) -> list[dict[str, Any]]:
        engineer = self.m.need_engineer()
        cutoff = (datetime.now(UTC) - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        rows: list[dict[str, Any]] = []
        for ev in self.m.journal.events(kinds=(*FAULT_KINDS, "maintenance")):
            if ev.at < cutoff:
                continue
            if ev.kind == "maintenance" and ev.data.get("action") not in FAULT_ACTIONS:
                continue
            rows.append(
                {"at": ev.at, "kind": ev.kind, "session_id": ev.session_id, **_clean(ev.data)}
            )
        rows.extend(c for c in self.status_changes if c["at"] >= cutoff)
        rows.sort(key=lambda r: r["at"], reverse=True)
        self.m.record("fault_log_viewed", engineer)
        return rows[:limit]

    def outbox_view(self) -> dict[str, Any]:
        engineer = self.m.need_engineer()
        outbox = self.m.core.kiosk.outbox
        now = self.m.wall()
        entries = []
        for s in outbox.pending():
            entries.append(
                {
                    "session_id": s.session_id,
                    "txn_id": s.txn_id,
                    "provider": s.provider,
                    "amount_paise": s.amount_paise,
                    "voucher_id": s.voucher_id,
                    "voucher_paise": s.voucher_paise,
                    "paid_at": s.paid_at,
                    "age_s": round(now - iso_to_epoch(s.paid_at), 1) if s.paid_at else None,
                }
            )
        self.m.record("outbox_viewed", engineer, depth=len(entries))
        return {
            "depth": len(entries),
            "entries": entries,
            "last_error": mask_text(outbox.last_error) if outbox.last_error else None,
        }

    def send_now(self) -> None:
        engineer = self.m.need_engineer()
        self.m.core.kiosk.outbox.kick()
        self.m.record("outbox_send_now", engineer)

    async def network_test(self, timeout_s: float = 5.0) -> dict[str, Any]:
        """DNS of the central host, TCP connect (and TLS for https), a signed GET /v1/services."""
        engineer = self.m.need_engineer()
        url = urlsplit(self.m.config["central"]["url"])
        host = url.hostname or ""
        port = url.port or (443 if url.scheme == "https" else 80)
        steps: list[dict[str, Any]] = []

        async def step(name: str, work: Callable[[], Awaitable[Any]]) -> bool:
            started = time.monotonic()
            try:
                detail = await asyncio.wait_for(work(), timeout_s)
            except Exception as exc:
                steps.append(
                    {
                        "step": name,
                        "ok": False,
                        "ms": _ms(started),
                        "error": str(exc) or type(exc).__name__,
                    }
                )
                return False
            steps.append({"step": name, "ok": True, "ms": _ms(started), "detail": detail})
            return True

        loop = asyncio.get_running_loop()

        async def dns() -> list[str]:
            infos = await loop.getaddrinfo(host, port, type=1)  # SOCK_STREAM
            return sorted({info[4][0] for info in infos})

        async def connect(tls: bool) -> str:
            context = ssl.create_default_context() if tls else None
            _, writer = await asyncio.open_connection(host, port, ssl=context)
            peer = writer.get_extra_info("peername")
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            return str(peer[0]) if peer else ""

        async def api() -> str:
            services = await self.m.core.central.services()
            return f"{len(services)} services"

        ok = await step("dns", dns)
        ok = ok and await step("tcp", lambda: connect(False))
        if ok and url.scheme == "https":
            ok = await step("tls", lambda: connect(True))
        ok = ok and await step("central_api", api)
        self.m.record(
            "network_test",
            engineer,
            ok=ok,
            steps=[{k: v for k, v in s.items() if k != "detail"} for s in steps],
        )
        return {"ok": ok, "host": host, "port": port, "steps": steps}
