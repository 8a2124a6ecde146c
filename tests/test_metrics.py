"""terminal/metrics.py: the counters and gauges the fleet's alerts need (device faults, PIN
lockouts, payments from the journal, clock skew) say what happened on a real kiosk core."""

import pytest
from harness import KioskHarness
from prometheus_client import CollectorRegistry
from test_heartbeat import pay_jvvnl, wait_until

from drivers.base import DeviceState, DeviceStatus
from terminal.maintenance import AuthError, Maintenance
from terminal.metrics import HealthCollector


class FakeClock:
    def __init__(self, start=1_700_000_000.0):
        self.now = start

    def __call__(self):
        return self.now


def scraper(core):
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HealthCollector(core))
    return lambda name, **labels: registry.get_sample_value(name, labels)


async def test_device_faults_counted_from_the_boards_changes(tmp_path):
    async with KioskHarness(tmp_path) as h:
        value = scraper(h.core)
        assert value("emitra_device_faults_total", device="printer") == 0
        board = h.core.kiosk.board
        offline = DeviceStatus(DeviceState.OFFLINE, ("not_connected",))
        board.set("printer", offline)
        assert value("emitra_device_up", device="printer") == 0
        board.set("printer", DeviceStatus(DeviceState.ONLINE))
        board.set("printer", offline)  # a fault that came and went between scrapes counts too
        assert value("emitra_device_faults_total", device="printer") == 2
        assert value("emitra_device_faults_total", device="acceptor") == 0
        # No printer: no payment at all, so the board takes the kiosk out of service.
        assert value("emitra_out_of_service_reason", reason="device") == 1
        assert value("emitra_out_of_service") == 0  # by command: nobody said so
        board.set("printer", DeviceStatus(DeviceState.ONLINE))
        assert value("emitra_out_of_service_reason", reason="device") is None


async def test_pin_lockouts_counted_from_the_journal(tmp_path):
    async with KioskHarness(tmp_path) as h:
        wall = FakeClock()
        m = Maintenance(h.core, wall=wall)
        value = scraper(h.core)
        assert value("emitra_pin_lockouts_total") == 0
        for _ in range(5):
            with pytest.raises(AuthError):
                await m.enter("ENG-042", "000000")
        assert value("emitra_pin_lockouts_total") == 1
        assert value("emitra_pin_locked") == 1
        assert value("emitra_pin_failures") == 5
        wall.now += 16 * 60  # the lockout ends by itself; the count stays
        assert value("emitra_pin_locked") == 0
        assert value("emitra_pin_lockouts_total") == 1
        for _ in range(5):
            with pytest.raises(AuthError):
                await m.enter("ENG-043", "000000")
        assert value("emitra_pin_lockouts_total") == 2


async def test_payments_cash_and_clock_after_a_paid_bill(tmp_path):
    async with KioskHarness(tmp_path) as h:
        value = scraper(h.core)
        assert value("emitra_payments_total") == 0
        await pay_jvvnl(h)  # ₹500 + ₹200 for a ₹640 bill
        assert value("emitra_payments_total") == 1
        assert value("emitra_cash_box_paise") == 70000
        assert value("emitra_cash_box_fill_notes") == 2
        await wait_until(lambda: value("emitra_payments_posted_total") == 1, timeout=10)
        assert value("emitra_outbox_oldest_age_seconds") == 0
        assert value("emitra_service_available", service="cash_payment") == 1
        assert value("emitra_clock_skew_seconds") == h.core.central.client.skew_s
        h.core.central.client.skew_s = -300.0  # central's Date header 5 min behind this clock
        assert value("emitra_clock_skew_seconds") == -300.0
        assert value("emitra_journal_disk_free_bytes") > 0
        assert value("emitra_journal_min_free_bytes") == 1024 * 1024
