"""The health document of the heartbeat (terminal/heartbeat.py): what the control room needs to
see of this terminal — devices, paper, cash box, outbox, central, disk, maintenance, alarms.

It holds no personal data: no consumer numbers, names or bills — device states, money totals,
queue depths, ids of transactions at most.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drivers.base import DeviceState
from terminal.core_view import CoreView
from terminal.drain import drain_view, idle
from terminal.logs import mask_text
from terminal.maintenance import iso_to_epoch, maintenance_for

PROCESS_STARTED = time.monotonic()
SCHEMA = 1
PAPER_STATES = ("ok", "low", "out", "unknown")


def software_version() -> str:
    try:
        return importlib.metadata.version("emitra-kiosk")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


def paper_state(status: Any) -> str:
    """ok / low / out / unknown, from the printer's status (no reply is unknown, not ok)."""
    if status is None:
        return "unknown"
    detail = set(status.detail)
    if "paper_out" in detail:
        return "out"
    if status.state not in (DeviceState.ONLINE, DeviceState.BUSY, DeviceState.USER_ERROR):
        return "unknown"
    if detail & {"paper_near_end", "paper_low"}:
        return "low"
    return "ok"


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _outbox(core: CoreView, now: float) -> dict[str, Any]:
    outbox = core.kiosk.outbox
    pending = outbox.pending()
    paid_at = [s.paid_at for s in pending if s.paid_at]
    oldest = min(paid_at) if paid_at else None
    # Only refusals central made final (each refunded by a voucher); older 401/429 refusals
    # are retried now and are not news for the control room.
    refused = core.journal.count(("refund_voucher", "voucher_refused"))
    return {
        "depth": len(pending),
        "pending_paise": sum(s.amount_paise + s.voucher_paise for s in pending),
        "oldest_pending_at": oldest,
        "oldest_age_s": round(now - iso_to_epoch(oldest), 1) if oldest else None,
        "refused": refused,
        "last_error": mask_text(outbox.last_error) if outbox.last_error else None,
    }


def _disk(core: CoreView) -> dict[str, Any]:
    path = Path(core.journal.path).resolve().parent
    try:
        usage = shutil.disk_usage(path)
    except OSError as exc:
        return {"path": str(path), "free_bytes": None, "total_bytes": None, "error": str(exc)}
    return {"path": str(path), "free_bytes": usage.free, "total_bytes": usage.total}


def _open_faults(devices: dict[str, Any], paper: str, outbox: dict[str, Any]) -> list[dict]:
    faults = []
    for name, status in devices.items():
        if status["state"] not in (DeviceState.ONLINE.value, DeviceState.BUSY.value):
            faults.append({"code": f"{name}_{status['state']}", "device": name, **status})
    if paper in ("low", "out"):
        faults.append({"code": f"paper_{paper}", "device": "printer"})
    if outbox["refused"]:
        faults.append({"code": "payments_refused_by_central", "count": outbox["refused"]})
    return faults


def build_health(core: CoreView, now: float | None = None) -> dict[str, Any]:
    """The heartbeat: what the control room needs to see, and nothing personal."""
    now = time.time() if now is None else now
    kiosk = core.kiosk
    board = kiosk.board  # terminal/device_board.DeviceBoard
    devices = {
        name: {
            "state": st.state.value,
            "detail": list(st.detail),
            "message": mask_text(st.message),
        }
        for name, st in board.items()
    }
    box = core.journal.cash_box_projection()  # same dict as cash_box(), no full fold
    box.pop("counts")
    paper = paper_state(board.get("printer"))
    outbox = _outbox(core, now)
    maintenance = maintenance_for(core)
    alarms = maintenance.alarms()
    last_central = core.central.last_success
    snapshot = kiosk.snapshot()
    return {
        "schema": SCHEMA,
        "terminal_id": core.config["terminal"]["id"],
        "version": software_version(),
        "generated_at": _iso(now),
        "uptime_s": round(time.monotonic() - getattr(core, "started_monotonic", PROCESS_STARTED)),
        "screen": snapshot["screen"],
        "session_in_progress": kiosk.session is not None,
        # For a stop (debian/emitra-kiosk-drain): no session, no engineer, an empty outbox;
        # with drain.in_effect as well, no new session can begin either.
        "idle": idle(core, outbox["depth"]),
        "drain": drain_view(core),
        "out_of_service_command": kiosk.service_mode.commanded,
        "out_of_service_reasons": list(kiosk.service_mode.reasons),
        "services": board.services(),
        "devices": devices,
        "paper": paper,
        "cash_box": box,
        "collections_to_report": maintenance.unreported_collections(),
        "outbox": outbox,
        "central": {
            "last_success_at": _iso(last_central),
            "age_s": round(now - last_central, 1) if last_central else None,
        },
        "disk": _disk(core),
        "clock": core.clock_trust.state(),
        "maintenance": {
            "enabled": maintenance.auth.enabled,
            "reason": None if maintenance.auth.enabled else "pin_not_configured",
            "active": maintenance.active,
            "engineer_id": maintenance.engineer,
            "pin_failures": maintenance.auth.failures,
        },
        "alarms": alarms,
        "open_faults": _open_faults(devices, paper, outbox),
    }


def device_summary(core: CoreView) -> tuple:
    """What makes the pusher push at once when it changes."""
    kiosk = core.kiosk
    m = maintenance_for(core)
    return (
        tuple((name, st.state.value, tuple(st.detail)) for name, st in kiosk.board.items()),
        tuple(sorted(a["code"] for a in m.alarms())),
        tuple(c["collection_id"] for c in m.unreported_collections()),
        kiosk.service_mode.reasons,
        m.active,
    )
