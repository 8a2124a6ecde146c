"""Projections (terminal/projections.py): pending postings and the cash box, written in the same
transaction as the event, built once for an old journal, checked by verify against the fold."""

from __future__ import annotations

import random
import sqlite3

import pytest

from terminal import projections
from terminal.cli import verify
from terminal.invariant import check_projections, derive_projections
from terminal.journal import Journal
from terminal.outbox import Outbox

CONFIG = {"central": {"retry_initial_s": 1.0, "retry_max_s": 300.0}}


def pay(j: Journal, sid: str, notes=(20000, 20000), due=35000, post=True, voucher_post=True):
    j.append("session_opened", sid, {"service": "water", "provider": "PHED",
                                     "consumer_number": "5012345678"})
    for i, paise in enumerate(notes):
        j.append("credit", sid, {"note_id": f"{sid}-{i}", "paise": paise}, key=f"credit:{sid}-{i}")
    paid = sum(notes)
    amount, voucher = (due, paid - due) if paid >= due else (0, paid)
    txn, vid = (f"T-{sid}" if amount else None), (f"V-{sid}" if voucher else None)
    j.append("settled", sid, {"txn_id": txn, "amount_paise": amount, "voucher_id": vid,
                              "voucher_paise": voucher, "tendered_paise": paid,
                              "notes": list(notes), "recovery": False}, key=f"settled:{sid}")
    if post and txn:
        j.append("posted", sid, {"txn_id": txn, "receipt_no": "R", "verification": "v"},
                 key=f"posted:{txn}")
    if voucher_post and vid:
        j.append("voucher_posted", sid, {"voucher_id": vid}, key=f"voucher_posted:{vid}")
    return txn, vid


def rows(j: Journal):
    return [(r["id"], r["what"], r["paise"]) for r in j.pending_projection()]


def test_pending_postings_follow_the_events(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    outbox = Outbox(j, None, CONFIG)
    pay(j, "S1")  # posted and voucher posted: nothing pending
    txn, vid = pay(j, "S2", post=False, voucher_post=False)
    assert rows(j) == [(txn, "payment", 35000), (vid, "voucher", 5000)]
    assert [s.session_id for s in outbox.pending()] == ["S2"] and outbox.depth() == 1
    j.append("post_refused", "S2", {"id": txn, "code": "already_paid", "message": "m",
                                    "final": True}, key=f"post_refused:{txn}")
    assert rows(j) == [(txn, "payment", 35000), (vid, "voucher", 5000)]  # not refunded yet
    j.append("refund_voucher", "S2", {"voucher_id": f"{vid}-R", "txn_id": txn,
                                      "amount_paise": 35000, "code": "already_paid"},
             key=f"refund_voucher:{txn}")
    assert rows(j) == [(vid, "voucher", 5000), (f"{vid}-R", "refund_voucher", 35000)]
    j.append("voucher_refused", "S2", {"id": vid, "code": "bad", "message": "m"},
             key=f"voucher_refused:{vid}")
    j.append("voucher_posted", "S2", {"voucher_id": f"{vid}-R"}, key=f"voucher_posted:{vid}-R")
    assert rows(j) == [] and outbox.pending() == [] and outbox.depth() == 0
    assert check_projections(j)["ok"]


def test_cash_box_counts_since_the_last_collection(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    pay(j, "S1", notes=(50000, 20000))
    j.append("maintenance", "maintenance", {"action": "test_note", "engineer_id": "E",
                                            "paise": 10000})
    j.append("unattributed_note", "-", {"where": "stacker", "paise": 50000})
    j.append("unattributed_note", "-", {"where": "stacker", "paise": None})
    j.append("unattributed_note", "-", {"where": "escrow", "paise": 2000})
    box = j.cash_box_projection()
    assert box["counts"] == {50000: 2, 20000: 1, 10000: 1}
    assert (box["credited_paise"], box["test_notes_paise"], box["unattributed_paise"],
            box["unattributed_unknown_notes"], box["total_paise"]) == (70000, 10000, 50000, 1,
                                                                       130000)
    assert box["last_collection"] is None and box["since"] is None
    collected = j.append("maintenance", "maintenance", {
        "action": "cash_collected", "engineer_id": "E", "collection_id": "C1",
        "total_paise": 130000, "notes": 4})
    assert collected is not None
    box = j.cash_box_projection()
    assert box["counts"] == {} and box["notes"] == 0 and box["journal_seq"] == collected.seq
    assert box["last_collection"] == {"collection_id": "C1", "at": collected.at,
                                      "engineer_id": "E", "total_paise": 130000, "notes": 4}
    pay(j, "S2", notes=(10000,), due=10000)
    assert j.cash_box_projection()["counts"] == {10000: 1}
    assert check_projections(j)["ok"]


def test_event_and_projection_are_one_transaction(tmp_path, monkeypatch):
    j = Journal(tmp_path / "j.sqlite")

    def broken(*args):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(projections, "apply", broken)
    with pytest.raises(sqlite3.OperationalError):
        j.append("credit", "S1", {"note_id": "n1", "paise": 50000}, key="credit:n1")
    monkeypatch.undo()
    assert list(j.events()) == [] and not j._db.in_transaction
    assert j.append("credit", "S1", {"note_id": "n1", "paise": 50000}, key="credit:n1")
    assert j.append("credit", "S1", {"note_id": "n1", "paise": 50000}, key="credit:n1") is None
    assert j.cash_box_projection()["counts"] == {50000: 1}  # the duplicate counted nothing


def test_an_old_journal_gets_its_projections_at_open(tmp_path):
    path = tmp_path / "j.sqlite"
    j = Journal(path)
    pay(j, "S1", post=False)
    pay(j, "S2", notes=(50000,), due=50000)
    before = (rows(j), j.cash_box_projection())
    j.close()
    db = sqlite3.connect(path)  # as a journal written before the projections
    db.executescript("DROP TABLE pending_postings; DROP TABLE cash_box;"
                     " DELETE FROM meta WHERE name LIKE 'projections%' OR name LIKE 'cash_box%';")
    db.close()
    again = Journal(path)
    assert (rows(again), again.cash_box_projection()) == before
    assert check_projections(again)["ok"]


def test_verify_reports_a_projection_that_differs_from_the_fold(tmp_path, capsys):
    path = tmp_path / "j.sqlite"
    j = Journal(path)
    txn, _ = pay(j, "S1", post=False)
    assert verify(path) == 0
    j._db.execute("DELETE FROM pending_postings WHERE id = ?", (txn,))
    j._db.execute("UPDATE cash_box SET notes = notes + 1 WHERE paise = 20000")
    assert verify(path) == 1
    err = capsys.readouterr().err
    assert f"pending projection: {txn} is absent" in err
    assert "cash box projection: counts" in err


def test_projections_equal_the_fold_for_any_history(tmp_path):
    rng = random.Random(11)
    j = Journal(tmp_path / "j.sqlite")
    for i in range(150):
        roll = rng.random()
        if roll < 0.08:
            j.append("maintenance", "maintenance", {
                "action": "cash_collected", "engineer_id": "E", "collection_id": f"C{i}",
                "total_paise": 0, "notes": 0})
        elif roll < 0.12:
            j.append("maintenance", "maintenance", {"action": "test_note", "engineer_id": "E",
                                                    "paise": 5000})
        else:
            notes = tuple(rng.choice((1000, 5000, 20000, 50000)) for _ in range(rng.randint(1, 3)))
            pay(j, f"S{i}", notes=notes, due=rng.choice((0, 10000, 35000)),
                post=rng.random() < 0.7, voucher_post=rng.random() < 0.7)
    report = check_projections(j)
    assert report["ok"], report["problems"]
    derived = derive_projections(j)
    assert len(derived["pending"]) == report["pending"] > 0
