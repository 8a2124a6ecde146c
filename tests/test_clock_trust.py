"""Nothing is posted to central with a time nobody checked (terminal/clock_trust.py): a kiosk
whose clock the OS has not synchronised asks central the time (one signed call, whose Date
header the client measures) before it posts; a failed check holds the posting back."""

from __future__ import annotations

from harness import KioskHarness
from test_flow import PHED_350, open_bill, paid, wait_outbox_empty

from terminal.clock_trust import NOT_SYNCHRONISED, ClockTrust
from terminal.heartbeat import build_health


def record_calls(central, calls: list[str]) -> None:
    """Wrap the dialect's calls (they still go to the reference central) to see their order."""
    for name in ("services", "post_payment"):
        real = getattr(central, name)

        async def call(*args, _real=real, _name=name, **kwargs):
            calls.append(_name)
            return await _real(*args, **kwargs)

        setattr(central, name, call)


def flat_clock_battery(core) -> ClockTrust:
    """The OS says the clock is not synchronised and nothing was heard from central since."""
    trust = core.clock_trust
    trust.os_synchronised = lambda: False
    trust.client.time_checked_at = None
    return trust


async def test_a_pending_posting_waits_for_the_time_from_central(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await open_bill(citizen, *PHED_350)
        await h.central.stop()  # the posting cannot go out: the receipt is provisional
        h.acceptor_sim.insert_note(200)
        await paid(citizen, 20000)
        h.acceptor_sim.insert_note(200)
        done = await citizen.wait_screen("DONE", timeout=30)
        assert done["session"]["provisional"] is True
        # A power cut later the clock is unknown; central comes back.
        flat_clock_battery(h.core)
        assert build_health(h.core)["clock"]["problem"] == NOT_SYNCHRONISED
        calls: list[str] = []
        record_calls(h.core.central, calls)
        await h.central.start()
        h.core.kiosk.outbox.kick()
        assert (await wait_outbox_empty(h, timeout=15))["ok"]
        assert calls[:2] == ["services", "post_payment"], calls
        clock = build_health(h.core)["clock"]
        assert clock["checked_with_central"] is True and clock["problem"] is None
        payments = h.central.payments()
        assert len(payments) == 1 and payments[0]["txn_id"] == done["session"]["txn_id"]


async def test_a_failed_time_check_holds_the_posting_back(tmp_path):
    async with KioskHarness(tmp_path) as h:
        trust = flat_clock_battery(h.core)
        calls: list[str] = []
        record_calls(h.core.central, calls)
        await h.central.stop()  # central cannot be reached: it cannot tell the time
        try:
            await trust.ensure()
        except Exception as exc:  # the CentralError the outbox counts as a failed send
            assert getattr(exc, "retryable", False), exc
        else:
            raise AssertionError("a failed time check must raise")
        assert calls == ["services"] and trust.problem() == NOT_SYNCHRONISED
        await h.central.start()
        await trust.ensure()  # central answers now
        assert trust.problem() is None and calls == ["services", "services"]
        await trust.ensure()  # trusted: no call at all
        assert calls == ["services", "services"]


async def test_an_os_synchronised_clock_needs_no_check(tmp_path):
    async with KioskHarness(tmp_path) as h:
        trust = h.core.clock_trust
        trust.os_synchronised = lambda: True
        trust.client.time_checked_at = None
        calls: list[str] = []
        record_calls(h.core.central, calls)
        await trust.ensure()
        assert calls == [] and trust.problem() is None
        assert build_health(h.core)["clock"]["synchronised_by_os"] is True
