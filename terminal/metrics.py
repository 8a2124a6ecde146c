"""The heartbeat's /metrics (terminal/heartbeat_server.py): Prometheus gauges computed from a
fresh health document (terminal/health.py) at every scrape."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily

from drivers.base import DeviceState
from terminal.health import PAPER_STATES, build_health


class HealthCollector:
    """Gauges computed from a fresh build_health at every scrape."""

    def __init__(self, core: Any) -> None:
        self.core = core

    def collect(self) -> Iterable[Any]:
        h = build_health(self.core)
        info = InfoMetricFamily("emitra_kiosk", "Terminal id and software version")
        info.add_metric([], {"terminal_id": h["terminal_id"], "version": h["version"]})
        yield info
        yield _gauge("emitra_uptime_seconds", "Seconds since the core started", h["uptime_s"])

        state = GaugeMetricFamily(
            "emitra_device_state", "1 for the state each device is in", labels=["device", "state"]
        )
        detail = GaugeMetricFamily(
            "emitra_device_detail",
            "Detail words of each device's status",
            labels=["device", "detail"],
        )
        up = GaugeMetricFamily("emitra_device_up", "1 if the device is usable", labels=["device"])
        for name, st in h["devices"].items():
            for s in DeviceState:
                state.add_metric([name, s.value], 1.0 if st["state"] == s.value else 0.0)
            for word in st["detail"]:
                detail.add_metric([name, word], 1.0)
            up.add_metric([name], 1.0 if st["state"] in ("online", "busy") else 0.0)
        yield state
        yield detail
        yield up

        paper = GaugeMetricFamily("emitra_paper_state", "1 for the paper state", labels=["state"])
        for p in PAPER_STATES:
            paper.add_metric([p], 1.0 if h["paper"] == p else 0.0)
        yield paper

        box = h["cash_box"]
        notes = GaugeMetricFamily(
            "emitra_cash_box_notes",
            "Notes in the cash box since the last collection, by denomination",
            labels=["denomination_rupees"],
        )
        for row in box["by_denomination"]:
            notes.add_metric([str(row["rupees"])], row["count"])
        yield notes
        yield _gauge("emitra_cash_box_paise", "Cash box total (paise)", box["total_paise"])
        yield _gauge("emitra_cash_box_notes_total", "Notes since the last collection", box["notes"])

        ob = h["outbox"]
        yield _gauge("emitra_outbox_depth", "Payments/vouchers not yet confirmed", ob["depth"])
        yield _gauge(
            "emitra_outbox_oldest_age_seconds",
            "Age of the oldest unconfirmed entry",
            ob["oldest_age_s"] or 0,
        )
        yield _gauge("emitra_outbox_refused", "Entries central refused", ob["refused"])
        last = self.core.central.last_success
        yield _gauge(
            "emitra_central_last_success_timestamp_seconds",
            "Unix time of the last good answer from central (0 = never)",
            last or 0,
        )
        screen = GaugeMetricFamily("emitra_screen", "The current screen", labels=["screen"])
        screen.add_metric([h["screen"]], 1.0)
        yield screen
        yield _gauge(
            "emitra_session_in_progress", "1 while a citizen is served", h["session_in_progress"]
        )
        yield _gauge(
            "emitra_out_of_service", "1 if put out of service", h["out_of_service_command"]
        )
        yield _gauge(
            "emitra_cash_payment_available",
            "1 if cash payment is open",
            h["services"]["cash_payment"],
        )
        if h["disk"]["free_bytes"] is not None:
            yield _gauge(
                "emitra_disk_free_bytes", "Free bytes for the journal", h["disk"]["free_bytes"]
            )
        alarm = GaugeMetricFamily("emitra_alarm", "1 for each active alarm", labels=["code"])
        for a in h["alarms"]:
            alarm.add_metric([a["code"]], 1.0)
        yield alarm
        yield _gauge("emitra_open_faults", "Open faults", len(h["open_faults"]))
        yield _gauge(
            "emitra_maintenance_active",
            "1 while an engineer is logged in",
            h["maintenance"]["active"],
        )


def _gauge(name: str, doc: str, value: Any) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=float(value))
