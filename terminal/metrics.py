"""The heartbeat's /metrics (terminal/heartbeat_server.py): Prometheus metrics computed from a
fresh health document (terminal/health.py) at every scrape, plus a few counters the health
document has no room for (payments, device faults, PIN lockouts).

Names follow Prometheus conventions so the fleet's rules and dashboard (monitoring/) can rely on
them: counters end in `_total`, durations in `_seconds`, sizes in `_bytes`, money in `_paise`
(integer paise, the kiosk's one money unit). Counters read from the journal (payments, refusals,
lockouts) never go down, even over a restart; the device fault counter counts changes seen by
this process and starts again at 0 on restart (Prometheus' increase() allows for that).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
)

from drivers.base import DeviceState, DeviceStatus
from terminal.core_view import CoreView
from terminal.health import PAPER_STATES, build_health
from terminal.maintenance import maintenance_for

USABLE = (DeviceState.ONLINE, DeviceState.BUSY)
SERVICES = ("cash_payment", "card_payment", "lookup")


class DeviceFaultCounter:
    """Counts each device's changes from usable (online/busy) to anything else, from the
    device board's change events: a fault that came and went between two scrapes still
    counts, which a gauge would miss."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}

    def seen(self, name: str) -> None:
        with self._lock:
            self.counts.setdefault(name, 0)

    def __call__(self, name: str, previous: DeviceStatus | None, status: DeviceStatus) -> None:
        was_usable = previous is None or previous.state in USABLE
        with self._lock:
            self.counts.setdefault(name, 0)
            if was_usable and status.state not in USABLE:
                self.counts[name] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)


class LockoutCounter:
    """PIN lockouts in the journal (maintenance events with action pin_lockout). The
    maintenance events are read again only when their number changed since the last scrape,
    so a scrape costs one indexed COUNT, not a pass over the journal."""

    def __init__(self) -> None:
        self._seen_events = -1
        self.lockouts = 0

    def count(self, journal: Any) -> int:
        events = journal.count(("maintenance",))
        if events != self._seen_events:
            self.lockouts = sum(
                1
                for ev in journal.events(kinds=("maintenance",))
                if ev.data.get("action") == "pin_lockout"
            )
            self._seen_events = events
        return self.lockouts


class HealthCollector:
    """Metrics computed from a fresh build_health at every scrape."""

    def __init__(self, core: CoreView) -> None:
        self.core = core
        self.faults = DeviceFaultCounter()
        self.lockouts = LockoutCounter()
        board = getattr(getattr(core, "kiosk", None), "board", None)
        if board is not None:
            board.subscribe(self.faults)

    def collect(self) -> Iterable[Any]:
        h = build_health(self.core)
        info = InfoMetricFamily("emitra_kiosk", "Terminal id and software version")
        info.add_metric([], {"terminal_id": h["terminal_id"], "version": h["version"]})
        yield info
        yield _gauge("emitra_uptime_seconds", "Seconds since the core started", h["uptime_s"])
        yield from self._devices(h)
        yield from self._cash(h)
        yield from self._outbox(h)
        yield from self._service(h)
        yield from self._host(h)
        yield from self._maintenance(h)

    def _devices(self, h: dict[str, Any]) -> Iterable[Any]:
        state = GaugeMetricFamily(
            "emitra_device_state", "1 for the state each device is in", labels=["device", "state"]
        )
        detail = GaugeMetricFamily(
            "emitra_device_detail",
            "Detail words of each device's status (paper_low, stacker_full, jam...)",
            labels=["device", "detail"],
        )
        up = GaugeMetricFamily(
            "emitra_device_up", "1 if the device is usable (online or busy)", labels=["device"]
        )
        for name, st in h["devices"].items():
            self.faults.seen(name)
            for s in DeviceState:
                state.add_metric([name, s.value], 1.0 if st["state"] == s.value else 0.0)
            for word in st["detail"]:
                detail.add_metric([name, word], 1.0)
            up.add_metric([name], 1.0 if st["state"] in ("online", "busy") else 0.0)
        yield state
        yield detail
        yield up
        faults = CounterMetricFamily(
            "emitra_device_faults",
            "Changes of a device from usable to faulted, seen since the core started",
            labels=["device"],
        )
        for name, n in sorted(self.faults.snapshot().items()):
            faults.add_metric([name], n)
        yield faults
        paper = GaugeMetricFamily(
            "emitra_paper_state", "1 for the printer's paper state", labels=["state"]
        )
        for p in PAPER_STATES:
            paper.add_metric([p], 1.0 if h["paper"] == p else 0.0)
        yield paper

    def _cash(self, h: dict[str, Any]) -> Iterable[Any]:
        box = h["cash_box"]
        notes = GaugeMetricFamily(
            "emitra_cash_box_notes",
            "Notes in the cash box since the last collection, by denomination",
            labels=["denomination_rupees"],
        )
        for row in box["by_denomination"]:
            notes.add_metric([str(row["rupees"])], row["count"])
        yield notes
        yield _gauge(
            "emitra_cash_box_fill_notes",
            "Notes in the cash box since the last collection, all denominations (cassette fill)",
            box["notes"],
        )
        capacity = self.core.config.get("acceptor", {}).get("cassette_capacity_notes")
        if isinstance(capacity, int) and capacity > 0:  # config.py checks it; absent, not 0
            yield _gauge(
                "emitra_cash_box_capacity_notes",
                "Notes the cash cassette holds ([acceptor] cassette_capacity_notes); the fleet "
                "alerts at 90% fill",
                capacity,
            )
        yield _gauge(
            "emitra_cash_box_paise",
            "Cash in the cash box since the last collection, in paise",
            box["total_paise"],
        )
        journal = self.core.journal
        yield _counter(
            "emitra_payments",
            "Payments settled on this kiosk (cash and card), from the journal",
            journal.count(("settled",)),
        )
        yield _counter(
            "emitra_payments_posted",
            "Payments central confirmed, from the journal",
            journal.count(("posted",)),
        )

    def _outbox(self, h: dict[str, Any]) -> Iterable[Any]:
        ob = h["outbox"]
        yield _gauge(
            "emitra_outbox_depth", "Payments and vouchers not yet confirmed by central", ob["depth"]
        )
        yield _gauge(
            "emitra_outbox_pending_paise",
            "Money in payments and vouchers not yet confirmed by central, in paise",
            ob["pending_paise"],
        )
        yield _gauge(
            "emitra_outbox_oldest_age_seconds",
            "Age of the oldest payment or voucher not yet confirmed by central (0 = none)",
            ob["oldest_age_s"] or 0,
        )
        yield _counter(
            "emitra_payments_refused",
            "Payments and vouchers central refused for good (each refunded by a voucher)",
            ob["refused"],
        )
        central = self.core.central
        yield _gauge(
            "emitra_central_last_success_timestamp_seconds",
            "Unix time of the last good answer from central (0 = never)",
            central.last_success or 0,
        )
        skew = clock_skew(central)
        if skew is not None:  # absent rather than a made-up 0 that would hide a wrong clock
            yield _gauge(
                "emitra_clock_skew_seconds",
                "Central's clock minus this kiosk's, from central's signed Date headers",
                skew,
            )

    def _service(self, h: dict[str, Any]) -> Iterable[Any]:
        screen = GaugeMetricFamily("emitra_screen", "1 for the current screen", labels=["screen"])
        screen.add_metric([h["screen"]], 1.0)
        yield screen
        yield _gauge(
            "emitra_session_in_progress", "1 while a citizen is served", h["session_in_progress"]
        )
        yield _gauge(
            "emitra_out_of_service",
            "1 if put out of service (by the control room, an engineer or an upgrade's drain)",
            h["out_of_service_command"],
        )
        services = h["services"]
        available = GaugeMetricFamily(
            "emitra_service_available", "1 if the service is offered now", labels=["service"]
        )
        for name in SERVICES:
            available.add_metric([name], 1.0 if services.get(name) else 0.0)
        yield available
        reasons = GaugeMetricFamily(
            "emitra_service_unavailable_reason",
            "1 for each reason a service is not offered now",
            labels=["reason"],
        )
        for reason in services["reasons"]:
            reasons.add_metric([reason], 1.0)
        yield reasons
        modes = GaugeMetricFamily(
            "emitra_out_of_service_reason",
            "1 for each reason the kiosk is out of service (control_room, maintenance, device, "
            "draining)",
            labels=["reason"],
        )
        for reason in h["out_of_service_reasons"]:
            modes.add_metric([reason], 1.0)
        yield modes

    def _host(self, h: dict[str, Any]) -> Iterable[Any]:
        disk = h["disk"]
        if disk["free_bytes"] is not None:
            yield _gauge(
                "emitra_journal_disk_free_bytes",
                "Free bytes on the file system of the journal",
                disk["free_bytes"],
            )
            yield _gauge(
                "emitra_journal_disk_size_bytes",
                "Size of the file system of the journal, in bytes",
                disk["total_bytes"],
            )
        min_free_mb = self.core.config.get("journal", {}).get("min_free_mb", 0)
        yield _gauge(
            "emitra_journal_min_free_bytes",
            "Free bytes below which the kiosk stops taking cash ([journal] min_free_mb)",
            int(min_free_mb * 1024 * 1024),
        )

    def _maintenance(self, h: dict[str, Any]) -> Iterable[Any]:
        alarm = GaugeMetricFamily("emitra_alarm", "1 for each open alarm", labels=["code"])
        for a in h["alarms"]:
            alarm.add_metric([a["code"]], 1.0)
        yield alarm
        yield _gauge("emitra_open_faults", "Open faults", len(h["open_faults"]))
        m = h["maintenance"]
        yield _gauge("emitra_maintenance_active", "1 while an engineer is logged in", m["active"])
        yield _gauge(
            "emitra_pin_failures", "Wrong engineer PINs in a row (worst id or screen)",
            m["pin_failures"],
        )
        auth = maintenance_for(self.core).auth
        yield _gauge("emitra_pin_locked", "1 while an engineer id or screen is locked out",
                     auth.locked())
        yield _counter(
            "emitra_pin_lockouts",
            "Engineer PIN lockouts, from the journal",
            self.lockouts.count(self.core.journal),
        )


def clock_skew(central: Any) -> float | None:
    """The skew the HTTP client measured (terminal/central/client.py). The dialects do not
    expose it, so look where the reference dialect (`.client`) and the B2B dialect (its
    `.reference.client`) keep their client."""
    holders = (
        central,
        getattr(central, "client", None),
        getattr(getattr(central, "reference", None), "client", None),
    )
    for holder in holders:
        skew = getattr(holder, "skew_s", None)
        if isinstance(skew, (int, float)) and not isinstance(skew, bool):
            return float(skew)
    return None


def _gauge(name: str, doc: str, value: Any) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=float(value))


def _counter(name: str, doc: str, value: Any) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=float(value))
