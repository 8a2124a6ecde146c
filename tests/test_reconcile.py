"""The cassette against the journal (terminal/reconcile.py): for each collection, what was
credited since the previous one against the engineer's count and the acceptor's own counter.
Pure functions over journal events, fed here with hand-made events (the end-to-end run through
the real maintenance API is tests/faults/test_attack_verify.py)."""

from __future__ import annotations

from typing import Any

from drivers.base import ImageBlock, TextLine
from terminal.cash_collection import CountError, count_record, parse_counted, slip_lines
from terminal.journal import Event
from terminal.reconcile import COUNT_KIND, compare_count, reconcile


class Events:
    """A journal's events in order, written the way the kiosk writes them."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def add(self, kind: str, session: str, data: dict[str, Any]) -> None:
        seq = len(self.events) + 1
        at = f"2026-12-01T10:00:{seq:02d}.000000Z"
        self.events.append(Event(seq, at, session, kind, None, data))

    def credit(self, paise: int, session: str = "S-1") -> None:
        self.add("credit", session, {"note_id": f"n{len(self.events)}", "paise": paise})

    def collect(self, cid: str, counted: dict[int, int] | None, device: int | None = None) -> None:
        self.add("maintenance", "maintenance", {"action": "cash_collected", "collection_id": cid})
        self.add(
            COUNT_KIND,
            "maintenance",
            {
                "collection_id": cid,
                "counted": None if counted is None else {str(k): v for k, v in counted.items()},
                "device": {"available": device is not None, "stacked_total": device},
            },
        )


def test_count_equal_to_the_credits_is_ok():
    j = Events()
    for paise in (50000, 10000, 10000):
        j.credit(paise)
    j.collect("C-1", {50000: 1, 10000: 2})
    report = reconcile(j.events)
    assert report["ok"], report["problems"]
    assert report["collections"][0]["difference_paise"] == 0
    assert report["collections"][0]["counted_paise"] == 70000


def test_a_500_note_short_is_a_problem_naming_the_amount():
    j = Events()
    j.credit(50000)
    j.credit(50000)
    j.credit(20000)
    j.collect("C-1", {50000: 1, 20000: 1})
    report = reconcile(j.events)
    assert not report["ok"]
    [problem] = report["problems"]
    assert "C-1" in problem
    assert "₹500 (50000 paise) short" in problem
    assert "₹500 notes: 1 counted, 2 credited" in problem
    assert report["collections"][0]["difference_paise"] == -50000


def test_only_credits_since_the_previous_collection_count():
    j = Events()
    j.credit(50000)
    j.collect("C-1", {50000: 1})
    j.credit(10000)  # the next period: the ₹500 of C-1 is not expected again
    j.collect("C-2", {10000: 1})
    assert reconcile(j.events)["ok"]
    j.credit(20000)
    j.collect("C-3", {})  # the ₹200 note is missing
    report = reconcile(j.events)
    assert [p for p in report["problems"] if "C-3" in p and "₹200 (20000 paise) short" in p]
    assert len(report["problems"]) == 1


def test_same_total_in_other_notes_is_still_a_problem():
    result = compare_count({20000: 1}, {10000: 2})
    assert result["difference_paise"] == 0 and not result["ok"]


def test_device_counter_one_note_more_than_credited_is_a_problem():
    j = Events()
    j.credit(10000)
    j.collect("C-1", {10000: 1}, device=40)  # the baseline
    j.credit(10000)
    j.credit(5000)
    j.collect("C-2", {10000: 1, 5000: 1}, device=43)  # the device stacked 3, credited 2
    report = reconcile(j.events)
    assert not report["ok"]
    [problem] = report["problems"]
    assert "C-2" in problem and "stacked 3 notes" in problem and "the journal has 2" in problem
    assert "1 note(s) more in the device than credited" in problem


def test_device_counter_equal_and_test_notes_count_as_stacked():
    j = Events()
    j.collect("C-1", {}, device=7)
    j.credit(10000)
    j.add("maintenance", "maintenance", {"action": "test_note", "paise": 2000})
    j.collect("C-2", {10000: 1, 2000: 1}, device=9)
    assert reconcile(j.events)["ok"]


def test_a_collection_never_counted_is_not_a_silent_ok():
    j = Events()
    j.credit(10000)
    j.add("maintenance", "maintenance", {"action": "cash_collected", "collection_id": "C-9"})
    report = reconcile(j.events)
    assert not report["ok"]
    assert "C-9" in report["problems"][0] and "₹100 (10000 paise)" in report["problems"][0]


def test_parse_counted_takes_only_whole_counts_of_the_kiosks_notes():
    accepted = {10000, 50000}
    assert parse_counted({"50000": 2, "10000": 0}, accepted) == {50000: 2}
    for bad in ({"70000": 1}, {"50000": -1}, {"50000": 1.5}, {"x": 1}, ["50000"], {"50000": True}):
        try:
            parse_counted(bad, accepted)
        except CountError:
            continue
        raise AssertionError(f"accepted {bad!r}")


def test_count_record_and_slip_say_the_difference():
    box = {"counts": {20000: 1, 10000: 1, 5000: 1}, "total_paise": 35000, "notes": 3}
    record = count_record("C-1", "E42", box, {20000: 1, 5000: 1}, {"available": False}, None)
    assert record["difference_paise"] == -10000 and record["counted_paise"] == 25000
    assert "₹100 (10000 paise) short" in record["problems"][0]
    blocks = slip_lines(record, "SB12345")
    texts = [line.text.strip() for line in blocks if isinstance(line, TextLine)]
    assert "DIFFERENCE: SHORT" in texts and not any("Rs." in t for t in texts)
    assert "Seal/bag no: SB12345" in texts
    assert "Acceptor counter: not available" in texts
    assert any(isinstance(b, ImageBlock) for b in blocks)  # ₹ amounts: images
