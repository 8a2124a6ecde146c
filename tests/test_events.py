"""Typed journal events (terminal/events.py): every kind registered, append refuses an unknown
kind, parse/to_data round-trip, and a journal written by the code of 2026-12-01 (before typed
events and projections; tests/fixtures/make_journal_2026_12_01.py) still replays to the same
totals, pending postings and cash box."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from terminal import events as ev
from terminal.invariant import check_journal, check_projections
from terminal.journal import Journal
from terminal.outbox import Outbox
from terminal.reconcile import reconcile_journal
from terminal.session import fold

FIXTURES = Path(__file__).parent / "fixtures"
CONFIG = {"central": {"retry_initial_s": 1.0, "retry_max_s": 300.0}}
KINDS = {
    "session_opened", "bill", "credit", "note_stacking", "note_returned", "card_authorised",
    "settled", "posted", "post_refused", "refund_voucher", "voucher_posted", "voucher_refused",
    "printed", "print_failed", "session_closed", "unattributed_note", "fault", "maintenance",
    "cash_counted", "voucher_redeeming", "voucher_redeemed", "voucher_redeem_failed",
    "reprinted", "mobile_given", "sms_sent",
}


def old_journal(tmp_path: Path) -> Journal:
    """A copy of the fixture (opening it builds the projections: never in tests/fixtures)."""
    path = tmp_path / "journal.sqlite"
    shutil.copy(FIXTURES / "journal-2026-12-01.sqlite", path)
    shutil.copy(FIXTURES / "journal-2026-12-01.key", tmp_path / "journal.key")
    return Journal(path)


def test_every_kind_is_registered_and_documented():
    assert set(ev.KINDS) == KINDS
    doc = (Path(__file__).parents[1] / "docs" / "journal.md").read_text()
    for kind in KINDS:
        assert f"`{kind}`" in doc, kind


def test_unknown_kind_is_refused_and_nothing_is_written(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    with pytest.raises(ValueError, match="'credti'"):
        j.append("credti", "S1", {"note_id": "n1", "paise": 50000})
    with pytest.raises(ValueError, match="paise"):
        j.append("credit", "S1", {"note_id": "n1"})
    assert list(j.events()) == []
    assert j.cash_box_projection()["notes"] == 0


def test_record_a_typed_event_and_fold_it(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    j.record("S1", ev.SessionOpened("electricity", "JVVNL", "210412345678"))
    first = j.record("S1", ev.Credit("n1", 50000), key="credit:n1")
    assert first is not None and first.typed == ev.Credit("n1", 50000)
    assert j.record("S1", ev.Credit("n1", 50000), key="credit:n1") is None
    j.record("S1", ev.Settled("T1", 40000, "V1", 10000, 50000, (50000,)), key="settled:S1")
    s = fold("S1", list(j.events(session_id="S1")))
    assert (s.consumer_number, s.paid_paise, s.amount_paise, s.voucher_paise) == (
        "210412345678", 50000, 40000, 10000)
    stored = [e.data for e in j.events(kinds=("settled",))][0]
    assert stored["notes"] == [50000] and stored["recovery"] is False


def test_parse_keeps_unknown_keys_and_defaults_fields_added_later():
    old = ev.parse("post_refused", {"id": "T1", "code": "unauthorised", "message": "no"})
    assert old.final is None  # journals from before `final`
    data = {"action": "cash_collected", "engineer_id": "E1", "collection_id": "C1",
            "total_paise": 100, "notes": 1}
    m = ev.parse("maintenance", data)
    assert m.extra["collection_id"] == "C1" and ev.to_data(m) == data
    settled = {"txn_id": None, "amount_paise": 0, "voucher_id": "V1", "voucher_paise": 500,
               "tendered_paise": 500, "notes": [500], "recovery": True, "later": 1}
    assert ev.to_data(ev.parse("settled", settled)) == settled
    assert isinstance(ev.read("from_a_newer_version", {"x": 1}), ev.Unrecognised)
    with pytest.raises(ev.UnknownKind):
        ev.parse("from_a_newer_version", {})


def test_every_event_of_the_old_journal_parses_and_round_trips(tmp_path):
    j = old_journal(tmp_path)
    seen = set()
    for e in j.events():
        typed = ev.parse(e.kind, e.data)
        assert ev.to_data(typed) == e.data
        seen.add(e.kind)
    assert {"settled", "refund_voucher", "post_refused", "maintenance", "cash_counted",
            "note_stacking", "fault"} <= seen


def test_old_journal_replays_to_the_same_totals(tmp_path):
    j = old_journal(tmp_path)
    report = check_journal(j)
    assert report["ok"], report
    # what the code of 2026-12-01 computed from this journal
    assert report["totals"] == {"credited": 182000, "posted": 76000, "pending": 56280,
                                "refused": 35000, "voucher": 49720, "unsettled": 0,
                                # kinds written since (issue 13): none in this journal
                                "redeemed": 0, "advance": 0, "redeeming": 0}
    pending = Outbox(j, None, CONFIG).pending()
    assert [(s.session_id, s.txn_id, s.amount_paise, s.voucher_id, s.voucher_paise)
            for s in pending] == [
        ("S-FIX-PENDING", "T-FIX-PENDING", 18760, "V-FIX-PENDING", 1240),
        ("S-FIX-401", "T-FIX-401", 18760, "V-FIX-401", 1240),
        ("S-FIX-OLDFINAL", "T-FIX-OLDFINAL", 18760, "V-FIX-OLDFINAL", 1240),
    ]
    assert [s.paid_at for s in pending] == [
        "2026-12-01T22:12:09.530026Z", "2026-12-01T22:12:09.559719Z",
        "2026-12-01T22:12:09.602050Z"]
    box = j.cash_box_projection()
    assert box == {
        "since": "2026-12-01T22:12:08.834168Z",
        "counts": {10000: 6},
        "by_denomination": [{"paise": 10000, "rupees": 100, "count": 6}],
        "notes": 6, "total_paise": 60000, "credited_paise": 60000, "test_notes_paise": 0,
        "unattributed_paise": 0, "unattributed_unknown_notes": 0,
        "last_collection": {"collection_id": "C-RJ-JPR-0001-261201221208-824E",
                            "at": "2026-12-01T22:12:08.834168Z", "engineer_id": "ENG-042",
                            "total_paise": 122000, "notes": 6},
        "journal_seq": 68,
    }
    cash = reconcile_journal(j)
    assert cash["ok"] and cash["since_last_collection_paise"] == 60000
    assert check_projections(j) == {"ok": True, "pending": 6, "problems": []}
    refunds = [e for e in j.events(kinds=("refund_voucher",))]
    s = fold(refunds[0].session_id, list(j.events(session_id=refunds[0].session_id)))
    assert (s.refund_paise, s.refund_posted, s.voucher_posted, s.receipt_no) == (
        35000, True, True, None)
