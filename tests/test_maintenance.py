"""Maintenance back end: PIN and lockout, cash collection = journal, slip printed, test note
not credited, every action journaled with the engineer id."""

import asyncio
import io
import sys
from pathlib import Path

import pytest
from harness import KioskHarness
from test_heartbeat import pay_jvvnl, wait_until

from terminal import maintenance as mt
from terminal.cash_collection import vouchers_in_period
from terminal.config import load_config
from terminal.heartbeat import build_health, start_heartbeat
from terminal.invariant import check_journal
from terminal.journal import Journal
from terminal.maintenance import (
    AuthError,
    EngineerAuth,
    Maintenance,
    MaintenanceError,
    cash_box,
    check_pin,
    hash_pin,
)

DEMO_PIN = "246810"
ENGINEER = "ENG-042"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "slips"

BSNL_640 = ("BSNL", "0141640640")  # ₹640, no advance payment: ₹500 + ₹200 leaves a voucher


class FakeClock:
    def __init__(self, start=1_700_000_000.0):
        self.now = start

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


def maintenance_events(journal):
    return [ev for ev in journal.events(kinds=("maintenance",))]


def test_hash_pin_round_trip_and_demo_pin():
    from sim.rig import TEST_PIN_HASH

    assert load_config()["maintenance"]["pin_hash"] == ""  # no default PIN on a real kiosk
    assert check_pin(DEMO_PIN, TEST_PIN_HASH)
    assert not check_pin("246811", TEST_PIN_HASH)
    made = hash_pin("9753", n=2**10)
    assert made.startswith("scrypt$1024$8$1$") and check_pin("9753", made)
    assert hash_pin("9753", n=2**10) != made  # salted
    with pytest.raises(ValueError):
        hash_pin("12ab")


def test_hash_pin_cli_reads_stdin(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("13579\n"))
    assert mt.hash_pin_cli() == 0
    assert check_pin("13579", capsys.readouterr().out.strip())


async def test_pin_right_wrong_and_lockout_with_alarm(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    section = {**load_config()["maintenance"], "pin_hash": hash_pin(DEMO_PIN, n=2**10)}
    clock = FakeClock()
    auth = EngineerAuth(section, journal, clock=clock)
    await auth.verify(ENGINEER, DEMO_PIN)
    for left in (4, 3, 2, 1):
        with pytest.raises(AuthError) as err:
            await auth.verify(ENGINEER, "111111")
        assert err.value.key == "wrong_pin" and f"{left} tries left" in str(err.value)
    with pytest.raises(AuthError) as err:
        await auth.verify(ENGINEER, "111111")
    assert err.value.key == "locked" and err.value.until == clock.now + 15 * 60
    assert auth.alarm()["code"] == "pin_lockout"
    # Locked: even the right PIN is refused, for 15 minutes.
    clock.advance(14 * 60 + 59)
    with pytest.raises(AuthError) as err:
        await auth.verify(ENGINEER, DEMO_PIN)
    assert err.value.key == "locked"
    # Switching the kiosk off and on does not lift the lockout: it is in the journal.
    assert EngineerAuth(section, journal, clock=clock).locked()
    clock.advance(2)
    assert auth.alarm() is None
    await auth.verify(ENGINEER, DEMO_PIN)
    actions = [ev.data["action"] for ev in maintenance_events(journal)]
    assert actions.count("pin_failed") == 5 and actions.count("pin_lockout") == 1
    assert all(ev.data["engineer_id"] == ENGINEER for ev in maintenance_events(journal))


async def test_engineer_card_second_factor(tmp_path):
    section = {
        **load_config()["maintenance"],
        "pin_hash": hash_pin(DEMO_PIN, n=2**10),
        "require_engineer_card": True,
    }
    with pytest.raises(AuthError) as err:
        await EngineerAuth(section).verify(ENGINEER, DEMO_PIN)
    assert err.value.key == "card_required"

    async def card(engineer_id):
        return engineer_id == ENGINEER

    auth = EngineerAuth(section, card_check=card)
    await auth.verify(ENGINEER, DEMO_PIN)
    with pytest.raises(AuthError) as err:
        await auth.verify("ENG-999", DEMO_PIN)
    assert err.value.key == "card_refused" and auth.failures == 1


async def test_lockout_alarm_in_health_and_login_refused_during_a_session(tmp_path):
    async with KioskHarness(tmp_path) as h:
        wall = FakeClock()
        m = Maintenance(h.core, wall=wall)
        for _ in range(5):
            with pytest.raises(AuthError):
                await m.enter(ENGINEER, "000000")
        alarms = build_health(h.core)["alarms"]
        assert [a["code"] for a in alarms] == ["pin_lockout"]
        assert build_health(h.core)["maintenance"]["pin_failures"] == 5
        wall.advance(15 * 60)
        assert build_health(h.core)["alarms"] == []

        async with h.client() as citizen:
            assert (await citizen.send("start", provider="JVVNL"))["ok"]
            with pytest.raises(MaintenanceError) as err:
                await m.enter(ENGINEER, DEMO_PIN)
            assert err.value.key == "session_in_progress"


async def test_cash_collection_equals_the_journal_and_prints_the_slip(tmp_path):
    async with KioskHarness(tmp_path, heartbeat={"token": "t"}) as h:
        hb = await start_heartbeat(h.core)
        try:
            await pay_jvvnl(h, *BSNL_640)
            m = Maintenance(h.core)
            m.start()
            with pytest.raises(MaintenanceError):
                m.cash_summary()  # not logged in
            await m.enter(ENGINEER, DEMO_PIN)
            assert h.core.kiosk.services()["cash_payment"] is False  # no citizen meanwhile

            journal = h.core.journal
            credits = [ev.data["paise"] for ev in journal.events(kinds=("credit",))]
            summary = m.cash_summary()
            assert summary["total_paise"] == sum(credits) == 70000
            assert summary["counts"] == {50000: 1, 20000: 1}
            assert summary["acceptor_counters"]["available"] is False

            m.begin_collection()
            h.acceptor_sim.remove_cassette()
            await wait_until(
                lambda: "cassette_removed" in h.core.kiosk.device_status["acceptor"].detail
            )
            await asyncio.sleep(0.6)
            assert build_health(h.core)["alarms"] == []  # expected during a collection

            slips_before = len(h.printer_sim.receipts)
            result = await m.collect_cash(ENGINEER, seal_no="sb 12345")
            assert result["printed"] is True, result
            assert result["total_paise"] == 70000 and result["counts"] == {50000: 1, 20000: 1}
            # the seal as typed, cleaned; the ₹60 voucher of the payment is in the period
            assert result["seal_no"] == "SB12345"
            assert (result["vouchers_issued"], result["vouchers_paise"]) == (1, 6000)
            await wait_until(lambda: len(h.printer_sim.receipts) > slips_before)
            slip = next(t for t in h.printer_sim.texts if "CASH COLLECTION SLIP" in t)
            assert "Seal/bag no: SB12345" in slip and "first collection" in slip
            assert "Rs." not in slip
            assert cash_box(journal)["total_paise"] == 0  # counters reset
            assert cash_box(journal)["last_collection"]["total_paise"] == 70000
            h.acceptor_sim.insert_cassette()

            # Reported to central in the next heartbeat, then no more.
            hb.pusher.push_soon()

            def reported():
                return [
                    c
                    for hbeat in h.central.heartbeats()
                    for c in hbeat["body"]["collections_to_report"]
                ]

            sent = await wait_until(reported)
            assert sent[0]["collection_id"] == result["collection_id"]
            assert sent[0]["total_paise"] == 70000 and sent[0]["seal_no"] == "SB12345"
            await wait_until(lambda: not m.unreported_collections())
            m.leave()
            assert h.core.kiosk.services()["cash_payment"] is True
            collected = [
                ev for ev in maintenance_events(journal) if ev.data["action"] == "cash_collected"
            ]
            assert len(collected) == 1 and collected[0].data["engineer_id"] == ENGINEER
            assert collected[0].data["seal_no"] == "SB12345"  # journaled with the collection
            assert collected[0].data["vouchers_issued"] == 1
            assert collected[0].data["vouchers_paise"] == 6000
        finally:
            await hb.stop()


def slip_png(doc, name: str) -> None:
    """The whole slip as the printer simulator draws it, for a look (tests/artifacts)."""
    from drivers.printer.escpos_driver import JobRenderer
    from sim.devices.escpos_printer import render_escpos

    width = doc.meta.get("width_dots", 576)
    (img,) = render_escpos(JobRenderer(width).render(doc), width)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    img.save(ARTIFACTS / name)


def rendered_texts(build):
    """(document, the text of its images): the render is watched, not replaced."""
    from terminal import receipt_layout

    seen, real = [], receipt_layout._render_png

    def recording(text, *rest):
        seen.append(text)
        return real(text, *rest)

    receipt_layout._render_png = recording
    try:
        doc = build()
    finally:
        receipt_layout._render_png = real
    return doc, "\n".join(seen)


async def test_second_collection_slip_seal_period_vouchers_and_reprint(tmp_path):
    """The period starts at the previous collection (its IST time on the slip); the vouchers
    printed in the period are counted; a bad seal number is refused before anything is
    journaled; a reprint carries the same seal, period and vouchers, marked DUPLICATE."""
    async with KioskHarness(tmp_path) as h:
        m = Maintenance(h.core).start()
        try:
            await m.enter(ENGINEER, DEMO_PIN)
            first = await m.collect_cash(ENGINEER, counted={}, seal_no="A1")  # too short
        except MaintenanceError as exc:
            assert exc.key == "bad_request" and "seal_no" in str(exc)
        else:
            raise AssertionError(f"a 2-letter seal was taken: {first}")
        try:
            for bad in ("SB-123", "सील123", "S" * 21, 12345, ["SB1"], "SB 1;DROP"):
                with pytest.raises(MaintenanceError) as err:
                    await m.dispatch("collect_cash", {"counted": {}, "seal_no": bad})
                assert err.value.key == "bad_request", bad
            journal = h.core.journal
            assert not [e for e in maintenance_events(journal)
                        if e.data["action"] == "cash_collected"]
            first = await m.dispatch("collect_cash", {"counted": {}, "seal_no": "BAG001"})
            m.leave()
            await pay_jvvnl(h, *BSNL_640)  # ₹700 in, a ₹60 voucher out
            await m.enter(ENGINEER, DEMO_PIN)
            second = await m.collect_cash(
                ENGINEER, counted={"50000": 1, "20000": 1}, seal_no="BAG002"
            )
            assert second["since"] == first["at"]
            assert (second["vouchers_issued"], second["vouchers_paise"]) == (1, 6000)
            assert first["vouchers_issued"] == 0

            doc, pictured = rendered_texts(lambda: m.cash.slip_document(second, 576))
            text = "\n".join(b.text for b in doc.blocks if hasattr(b, "text"))
            start = cash_collection_stamp(first["at"])
            assert f"From      : {start}" in text, text  # the period's start, in IST
            assert "Seal/bag no: BAG002" in text and "Rs." not in text
            assert "Vouchers issued: 1 (₹60)" in pictured
            assert "Counted total: ₹700" in pictured
            assert doc.meta["seal_no"] == "BAG002" and doc.meta["duplicate"] is False
            slip_png(doc, "collection-slip-576.png")

            before = len(h.printer_sim.texts)
            again = await m.reprint_collection_slip(second["collection_id"])
            assert again["printed"] is True
            await wait_until(lambda: len(h.printer_sim.texts) > before)
            copy = h.printer_sim.texts[-1]
            assert "DUPLICATE - reprinted" in copy and "Seal/bag no: BAG002" in copy
            assert f"From      : {start}" in copy
            assert "Count matches the journal" in copy
        finally:
            await m.stop()


def cash_collection_stamp(at: str) -> str:
    from datetime import UTC, datetime

    from terminal.local_time import stamp

    return stamp(datetime.strptime(at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC))


async def test_reprint_of_a_collection_journaled_before_seal_numbers(tmp_path):
    """A collection in an old journal (no seal_no, no vouchers fields) still reprints: the
    seal says NOT GIVEN and the vouchers of its period are counted from the journal."""
    async with KioskHarness(tmp_path) as h:
        await pay_jvvnl(h, *BSNL_640)
        m = Maintenance(h.core).start()
        try:
            await m.enter(ENGINEER, DEMO_PIN)
            h.core.journal.append(
                "maintenance", "maintenance",
                {"action": "cash_collected", "engineer_id": "ENG-001",
                 "collection_id": "C-RJ-JPR-0001-261101120000-ABCD",
                 "counts": {"50000": 1, "20000": 1}, "notes": 2, "total_paise": 70000},
            )
            cid = "C-RJ-JPR-0001-261101120000-ABCD"
            assert vouchers_in_period(h.core.journal, cid) == (1, 6000)
            await m.collect_cash(ENGINEER, counted={}, seal_no="BAG9")  # a later collection
            assert vouchers_in_period(h.core.journal, cid) == (1, 6000)
            assert vouchers_in_period(h.core.journal) == (0, 0)  # none since
            before = len(h.printer_sim.texts)
            assert (await m.reprint_collection_slip(cid))["printed"] is True
            await wait_until(lambda: len(h.printer_sim.texts) > before)
            copy = h.printer_sim.texts[-1]
            assert "DUPLICATE" in copy and "ENG-001" in copy and "first collection" in copy
            assert "Seal/bag" not in copy  # nothing journaled: nothing invented
        finally:
            await m.stop()


async def test_cassette_removed_without_collection_raises_an_alarm(tmp_path):
    async with KioskHarness(tmp_path) as h:
        m = Maintenance(h.core).start()
        try:
            h.acceptor_sim.remove_cassette()
            await wait_until(lambda: m.alarms())
            assert m.alarms()[0]["code"] == "cassette_removed_without_collection"
            assert build_health(h.core)["alarms"][0]["code"] == (
                "cassette_removed_without_collection"
            )
            # It stays (also over a restart) until an engineer acknowledges it.
            restarted = Maintenance(h.core).start()
            assert restarted.alarms()
            await restarted.enter(ENGINEER, DEMO_PIN)
            with pytest.raises(MaintenanceError):
                restarted.acknowledge_alarm("pin_lockout")
            restarted.acknowledge_alarm("cassette_removed_without_collection", "jam cleared")
            assert build_health(h.core)["alarms"] == []
            await restarted.stop()
        finally:
            await m.stop()


async def test_test_note_is_stacked_but_credited_to_nobody(tmp_path):
    async with KioskHarness(tmp_path) as h:
        m = Maintenance(h.core).start()
        try:
            await m.enter(ENGINEER, DEMO_PIN)
            task = asyncio.create_task(m.test_note(timeout_s=10))
            await asyncio.sleep(0.3)
            h.acceptor_sim.insert_note(100)
            result = await task
            assert result == {"result": "stacked", "paise": 10000}
            assert h.acceptor_sim.stacked == [100]
            journal = h.core.journal
            assert list(journal.events(kinds=("credit", "session_opened", "settled"))) == []
            report = check_journal(journal)
            assert report["ok"] and report["totals"]["credited"] == 0
            test = [ev for ev in maintenance_events(journal) if ev.data["action"] == "test_note"]
            assert len(test) == 1 and test[0].data["engineer_id"] == ENGINEER
            box = cash_box(journal)
            assert box["test_notes_paise"] == 10000 and box["credited_paise"] == 0
            assert box["total_paise"] == 10000  # it is in the cassette all the same
            # The acceptor takes nothing once the test is over.
            h.acceptor_sim.insert_note(100)
            await asyncio.sleep(1.0)
            assert h.acceptor_sim.stacked == [100]
        finally:
            await m.stop()


async def test_every_action_is_journaled_with_the_engineer_id(tmp_path):
    async with KioskHarness(tmp_path) as h:
        await pay_jvvnl(h, *BSNL_640)
        exits = []
        clock = FakeClock()
        m = Maintenance(h.core, clock=clock, exit_hook=lambda code, why: exits.append(code))
        m.start()
        try:
            await m.enter(ENGINEER, DEMO_PIN)
            identities = m.identities()
            assert identities["acceptor"]["present"] and identities["printer"]["present"]
            assert (await m.test_print())["printed"] is True
            faults = m.fault_log()
            assert all("consumer_number" not in row for row in faults)
            assert any(row.get("kind") == "device_status" for row in faults)
            assert m.outbox_view()["depth"] == 0
            m.send_now()
            net = await m.network_test(timeout_s=3)
            assert net["ok"], net
            assert [s["step"] for s in net["steps"]] == ["dns", "tcp", "central_api"]
            recent = m.recent_receipts()
            assert len(recent) == 1
            texts_before = len(h.printer_sim.texts)
            printed = await m.reprint(recent[0]["txn_id"])
            assert printed["printed"] and printed["doc"] == "receipt"
            await wait_until(lambda: len(h.printer_sim.texts) > texts_before)
            assert "DUPLICATE" in h.printer_sim.texts[-1]
            assert (await m.reprint(recent[0]["voucher_id"]))["doc"] == "voucher"
            with pytest.raises(MaintenanceError):
                await m.reprint("T-NO-SUCH")

            clock.advance(10)
            assert m.check_idle() is False
            m.restart()
            assert exits == [75] and not m.active

            await m.enter(ENGINEER, DEMO_PIN)
            clock.advance(h.config["maintenance"]["auto_leave_s"])
            assert m.check_idle() is True and not m.active
            with pytest.raises(MaintenanceError):
                m.identities()

            events = maintenance_events(h.core.journal)
            actions = {ev.data["action"] for ev in events}
            assert {
                "entered",
                "identities_viewed",
                "test_print",
                "fault_log_viewed",
                "outbox_viewed",
                "outbox_send_now",
                "network_test",
                "reprint",
                "restart_requested",
                "left",
            } <= actions
            assert all(ev.session_id == "maintenance" for ev in events)
            assert all(ev.data["engineer_id"] == ENGINEER for ev in events)
            left = [ev.data["reason"] for ev in events if ev.data["action"] == "left"]
            assert left == ["restart", "inactivity"]
        finally:
            await m.stop()


async def test_control_room_acknowledges_an_alarm_through_the_heartbeat(tmp_path):
    async with KioskHarness(tmp_path, heartbeat={"token": "t"}) as h:
        hb = await start_heartbeat(h.core)
        try:
            m = mt.maintenance_for(h.core)
            h.acceptor_sim.remove_cassette()
            await wait_until(lambda: m.alarms())
            assert m.alarms()[0]["code"] == mt.CASSETTE_ALARM

            # A code that is not open, a bad argument, then the real one with a note.
            h.central.queue_command("acknowledge_alarm", code="no_such_thing", note="x")
            h.central.queue_command("acknowledge_alarm", code=mt.CASSETTE_ALARM,
                                    note="site visit 14:10, cassette back in")
            hb.pusher.push_soon()
            await wait_until(lambda: not m.alarms())
            results = {a.get("code"): a["result"] for a in hb.pusher.applied
                       if a["command"] == "acknowledge_alarm"}
            assert results == {"no_such_thing": "refused: no_such_alarm",
                               mt.CASSETTE_ALARM: "ok"}
            assert build_health(h.core)["alarms"] == []
            cleared = [ev.data for ev in maintenance_events(h.core.journal)
                       if ev.data["action"] == "alarm_cleared"]
            assert cleared == [{"action": "alarm_cleared", "engineer_id": "-",
                                "code": mt.CASSETTE_ALARM,
                                "note": "site visit 14:10, cassette back in",
                                "by": "control_room"}]
            assert not mt.Maintenance(h.core).alarms()  # stays cleared over a restart

            hb.pusher.control.queue_acknowledgement({"command": "acknowledge_alarm", "code": 7})
            assert hb.pusher.applied[-1]["result"] == "refused: bad_request"
            with pytest.raises(ValueError):
                h.central.queue_command("acknowledge_alarm")  # the code is required
        finally:
            await hb.stop()
