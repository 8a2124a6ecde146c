"""The journal: durable, append-only, de-duplicating by key; the invariant checker."""

import sqlite3
import subprocess
import sys

from terminal.invariant import check_journal
from terminal.journal import Journal
from terminal.session import allowed_notes, fold, settlement


def test_append_and_read_back(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    j.append("credit", "S1", {"note_id": "n1", "paise": 50000}, key="credit:n1")
    j.append("credit", "S1", {"note_id": "n2", "paise": 20000}, key="credit:n2")
    j.append("credit", "S2", {"note_id": "n3", "paise": 1000}, key="credit:n3")
    assert [e.data["paise"] for e in j.events(session_id="S1")] == [50000, 20000]
    assert [e.seq for e in j.events()] == [1, 2, 3]


def test_same_key_recorded_once(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    assert j.append("credit", "S1", {"note_id": "n1", "paise": 50000}, key="credit:n1")
    assert j.append("credit", "S1", {"note_id": "n1", "paise": 50000}, key="credit:n1") is None
    assert fold("S1", list(j.events())).paid_paise == 50000


def test_wal_and_full_sync(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    assert j._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert j._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_event_survives_sigkill_right_after_append(tmp_path):
    """The crash hook kills the writer immediately after the append returns: it must be there."""
    path = tmp_path / "j.sqlite"
    code = (
        "from terminal.journal import Journal\n"
        f"j = Journal({str(path)!r})\n"
        "j.append('credit', 'S1', {'note_id': 'n1', 'paise': 50000}, key='credit:n1')\n"
        "print('not reached')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"EMITRA_CRASH_AFTER": "credit:1", "PATH": "/usr/bin"},
                          timeout=30)
    assert proc.returncode == -9 and "not reached" not in proc.stdout
    rows = sqlite3.connect(path).execute("SELECT kind, data FROM events").fetchall()
    assert rows == [("credit", '{"note_id": "n1", "paise": 50000}')]


def test_sealed_event_and_its_new_key_survive_sigkill(tmp_path):
    """The first personal field makes the key: key file and event are both there after a kill."""
    path = tmp_path / "j.sqlite"
    code = (
        "from terminal.journal import Journal\n"
        f"j = Journal({str(path)!r})\n"
        "j.append('session_opened', 'S1', {'service': 'electricity', 'provider': 'JVVNL',"
        " 'consumer_number': '210412345678'})\n"
        "print('not reached')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"EMITRA_CRASH_AFTER": "session_opened:1", "PATH": "/usr/bin"},
                          timeout=30)
    assert proc.returncode == -9 and "not reached" not in proc.stdout
    assert b"210412345678" not in path.read_bytes() + (tmp_path / "j.sqlite-wal").read_bytes()
    assert fold("S1", list(Journal(path).events())).consumer_number == "210412345678"


def test_allowed_notes_respects_overpay_policy():
    accepted = {1000, 2000, 5000, 10000, 20000, 50000}
    assert allowed_notes(64000, 10000, accepted) == accepted
    assert allowed_notes(14000, 10000, accepted) == {1000, 2000, 5000, 10000, 20000}
    assert allowed_notes(14000, 0, accepted) == {1000, 2000, 5000, 10000}
    assert allowed_notes(0, 10000, accepted) == set()


def test_settlement_splits_payment_and_voucher():
    assert settlement(70000, 64000) == (64000, 6000)
    assert settlement(64000, 64000) == (64000, 0)
    assert settlement(50000, 64000) == (0, 50000)
    assert settlement(0, 64000) == (0, 0)


def _session(j, sid, notes, amount=None, voucher=None, posted=False):
    j.append("session_opened", sid, {"service": "electricity", "provider": "JVVNL",
                                     "consumer_number": "210412345678"})
    for i, paise in enumerate(notes):
        j.append("credit", sid, {"note_id": f"{sid}-{i}", "paise": paise})
    if amount is not None:
        j.append("settled", sid, {"txn_id": f"T-{sid}" if amount else None,
                                  "amount_paise": amount, "voucher_id": "V" if voucher else None,
                                  "voucher_paise": voucher or 0})
    if posted:
        j.append("posted", sid, {"txn_id": f"T-{sid}", "receipt_no": "R1", "verification": "c"})


def test_invariant_accounts_for_every_paise(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    _session(j, "A", [50000, 20000], amount=64000, voucher=6000, posted=True)
    _session(j, "B", [50000], amount=0, voucher=50000)
    _session(j, "C", [50000, 20000], amount=64000, voucher=6000)  # not yet posted
    report = check_journal(j)
    assert report["ok"], report
    assert report["totals"] == {"credited": 190000, "posted": 64000, "pending": 64000,
                                "refused": 0, "voucher": 62000, "unsettled": 0,
                                "redeemed": 0, "advance": 0, "redeeming": 0}


def test_invariant_catches_a_settlement_that_loses_money(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    _session(j, "A", [50000, 20000], amount=64000, voucher=0, posted=True)
    report = check_journal(j)
    assert not report["ok"]
    assert "credited 70000 but settled 64000 + voucher 0" in report["problems"][0]


def test_misspelled_kind_is_an_error_not_a_silent_event(tmp_path):
    import pytest

    j = Journal(tmp_path / "j.sqlite")
    with pytest.raises(ValueError, match="'setled'"):
        j.append("setled", "S1", {"txn_id": "T1", "amount_paise": 1, "voucher_id": None,
                                  "voucher_paise": 0})
    assert list(j.events()) == [] and j.pending_projection() == []


def test_a_credit_and_its_cash_box_row_commit_together_with_full_sync(tmp_path):
    path = tmp_path / "j.sqlite"
    j = Journal(path)
    j.append("credit", "S1", {"note_id": "n1", "paise": 50000}, key="credit:n1")
    assert j._db.execute("PRAGMA synchronous").fetchone()[0] == 2 and not j._db.in_transaction
    other = sqlite3.connect(path)  # what another process sees: both, committed
    assert other.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 1
    assert other.execute("SELECT paise, notes FROM cash_box").fetchall() == [(50000, 1)]


def test_ids_carry_the_kiosks_local_date():
    """At 00:30 IST on 24 November UTC is still 23 November: the id's date is the one the
    slip prints beside it (the kiosk's [terminal] timezone), never UTC's."""
    from datetime import UTC, datetime

    from terminal import live_session
    from terminal.live_session import new_id, set_id_zone

    half_past_midnight_ist = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
    try:
        set_id_zone("Asia/Kolkata")
        txn = new_id("T", "RJ-JPR-0001", now=half_past_midnight_ist)
        assert txn.startswith("T-RJ-JPR-0001-261124003000-"), txn
        assert len(txn.rsplit("-", 1)[1]) == 6
        set_id_zone("UTC")  # a kiosk configured for UTC keeps UTC
        assert "-261123190000-" in new_id("S", "K1", now=half_past_midnight_ist)
        set_id_zone("Not/AZone")  # a config typo falls back to the default zone
        assert live_session._id_zone == "Asia/Kolkata"
    finally:
        set_id_zone("Asia/Kolkata")


async def test_the_kiosk_makes_ids_in_its_configured_zone(tmp_path):
    """The kiosk sets the id zone from its config: a payment's session and transaction ids,
    and a collection id, carry the IST date; an old journal's UTC-stamped ids still fold."""
    from datetime import UTC, datetime, timedelta, timezone

    from harness import KioskHarness

    from terminal.live_session import id_stamp

    async with KioskHarness(tmp_path) as h:
        ist = timezone(timedelta(hours=5, minutes=30))
        before = datetime.now(UTC).astimezone(ist).strftime("%y%m%d")
        stamp = id_stamp()
        after = datetime.now(UTC).astimezone(ist).strftime("%y%m%d")
        assert stamp[:6] in (before, after)  # (the run may cross midnight IST)
        async with h.client() as citizen:
            assert (await citizen.send("start", provider="PHED"))["ok"]
            assert (await citizen.send("consumer", number="5012345678"))["ok"]
            await citizen.wait_screen("BILL")
            sid = h.core.kiosk.session.session_id  # journaled once the bill is confirmed
            today = datetime.now(UTC).astimezone(ist).strftime("%y%m%d")
            assert sid.split("-")[4][:6] in (before, today), sid
            assert (await citizen.send("cancel"))["ok"]
    # a journal written before: ids with a UTC stamp, same shape, fold as before
    journal = Journal(tmp_path / "old.db")
    old = "S-RJ-JPR-0001-261123190000-ABC123"
    journal.append("session_opened", old, {"service": "water", "provider": "PHED",
                                           "consumer_number": "5012345678"})
    assert fold(old, list(journal.events(old))).provider == "PHED"
    journal.close()
