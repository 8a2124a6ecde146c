"""The cash box and its collection, the pure parts: what the cassette holds according to the
journal (`cash_box`), the acceptor's own counters, and the count: the engineer's notes per
denomination and the acceptor's counter, journaled as `cash_counted` with the collection,
compared with the journal at once (an alarm with the amount) and again by `emitra-kiosk verify`
(terminal/reconcile.py).

The engineer's actions (begin, collect, slip) are terminal/maint_cash.py; what the slip adds
(the seal number, the count) is terminal/collection_slip.py.
"""

from __future__ import annotations

import inspect
import logging
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from terminal.collection_slip import (  # noqa: F401 - re-exported: the slip's parts
    SealError,
    parse_seal,
    slip_lines,
    slip_with_count,
    vouchers_in_period,
)
from terminal.journal import Journal
from terminal.money import format_rupees
from terminal.reconcile import (
    COUNT_KIND,
    compare_count,
    count_problem,
    device_problem,
    device_stacked,
    difference_words,
)

log = logging.getLogger("maintenance")

MAX_NOTES_PER_DENOMINATION = 100_000  # far above any cassette: a typo, not a count
COUNT_ALARM = "cash_count_difference"  # + ":" + collection id: one alarm per collection


# -------------------------------------------------------------------- the cash box


def iso_to_epoch(at: str) -> float:
    return datetime.strptime(at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


def cash_box(journal: Journal) -> dict[str, Any]:
    """What the cassette holds according to the journal: every note stacked since the last
    collection — citizens' credits, engineers' test notes and notes found in the stacker at
    power-up — by denomination. Pure function of the journal."""
    counts: Counter[int] = Counter()
    credited = test = unattributed = unknown_unattributed = 0
    last: dict[str, Any] | None = None
    since: str | None = None
    last_seq = 0
    for ev in journal.events(kinds=("credit", "maintenance", "unattributed_note")):
        last_seq = ev.seq
        if ev.kind == "credit":
            counts[ev.data["paise"]] += 1
            credited += ev.data["paise"]
        elif ev.kind == "unattributed_note":
            if ev.data.get("where") == "stacker":
                paise = ev.data.get("paise")
                if paise:
                    counts[paise] += 1
                    unattributed += paise
                else:
                    unknown_unattributed += 1
        elif ev.data.get("action") == "test_note":
            counts[ev.data["paise"]] += 1
            test += ev.data["paise"]
        elif ev.data.get("action") == "cash_collected":
            counts.clear()
            credited = test = unattributed = unknown_unattributed = 0
            since = ev.at
            last = {
                "collection_id": ev.data["collection_id"],
                "at": ev.at,
                "engineer_id": ev.data["engineer_id"],
                "total_paise": ev.data["total_paise"],
                "notes": ev.data["notes"],
            }
    by_denomination = [
        {"paise": value, "rupees": value // 100, "count": counts[value]}
        for value in sorted(counts, reverse=True)
    ]
    return {
        "since": since,
        "counts": dict(counts),  # paise -> notes (int keys; not for JSON)
        "by_denomination": by_denomination,
        "notes": sum(counts.values()),
        "total_paise": sum(v * c for v, c in counts.items()),
        "credited_paise": credited,
        "test_notes_paise": test,
        "unattributed_paise": unattributed,
        "unattributed_unknown_notes": unknown_unattributed,
        "last_collection": last,
        "journal_seq": last_seq,
    }


def acceptor_counters(acceptor: Any) -> dict[str, Any]:
    """The acceptor's own note counters, when its driver exposes any (note_counters())."""
    reader = getattr(acceptor, "note_counters", None)
    if not callable(reader):
        return {"available": False, "reason": "not available: the driver reports no counters"}
    try:
        counters = reader()
    except Exception as exc:
        return {"available": False, "reason": f"not available: {exc}"}
    return {"available": True, "counts": dict(counters)}


# -------------------------------------------------------------------- the count


class CountError(ValueError):
    """The count the screen sent cannot be a count of notes."""


def parse_counted(raw: Any, accepted_paise: set[int]) -> dict[int, int]:
    """{"50000": 3, "10000": 0} from the screen -> {50000: 3}. Keys are note values in paise
    (strings, as JSON has them); only the kiosk's denominations; whole non-negative counts."""
    if not isinstance(raw, Mapping) or len(raw) > 32:
        raise CountError("counted must be {paise: notes} for each denomination")
    counted: dict[int, int] = {}
    for key, value in raw.items():
        try:
            paise = int(str(key))
        except ValueError:
            raise CountError(f"not a note value in paise: {str(key)[:20]!r}") from None
        if paise not in accepted_paise:
            raise CountError(f"the kiosk takes no {paise} paise note")
        if isinstance(value, bool) or not isinstance(value, int):
            raise CountError(f"the count of {paise} paise notes must be a whole number")
        if not 0 <= value <= MAX_NOTES_PER_DENOMINATION:
            raise CountError(f"{value} notes of {paise} paise cannot be right")
        if value:
            counted[paise] = value
    return counted


async def read_device_counter(acceptor: Any) -> dict[str, Any]:
    """The acceptor's cumulative stacked-note counter, read from the device where possible.

    The eSSP driver reads GET COUNTERS privately (`_stacked_count`, under its line lock, as its
    own resync does): a fresh reading is the device's word, independent of what the driver
    reported. Its public `stacked_count()` is the last reading plus the credits reported since,
    used only when a fresh reading is impossible. CCNET's REQUEST STATISTICS is not read by the
    driver: "not available"."""
    if acceptor is None:
        return {"available": False, "reason": "no acceptor"}
    fresh, lock = getattr(acceptor, "_stacked_count", None), getattr(acceptor, "_lock", None)
    if callable(fresh) and lock is not None and getattr(acceptor, "_port", None) is not None:
        try:
            async with lock:
                value = await fresh()
            if _is_count(value):
                return {"available": True, "stacked_total": value, "source": "eSSP GET COUNTERS"}
        except Exception as exc:
            log.warning("acceptor counter not read: %s", exc)
    derived = getattr(acceptor, "stacked_count", None)
    if not callable(derived):
        return {"available": False, "reason": "the driver reports no counter"}
    try:
        value = derived()
        if inspect.isawaitable(value):
            value = await value
    except Exception as exc:
        return {"available": False, "reason": f"counter not read: {exc}"[:120]}
    if not _is_count(value):
        return {"available": False, "reason": "the device gave no counter"}
    return {"available": True, "stacked_total": value, "source": "driver stacked_count()"}


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def last_device_total(journal: Journal) -> int | None:
    """The device counter journaled with the previous collection's count (the baseline)."""
    last: int | None = None
    for ev in journal.events(kinds=(COUNT_KIND,)):
        last = device_stacked(ev.data)
    return last


def count_record(
    collection_id: str,
    engineer_id: str,
    box: Mapping[str, Any],
    counted: dict[int, int] | None,
    device: dict[str, Any],
    device_baseline: int | None,
) -> dict[str, Any]:
    """The `cash_counted` event data: the count, what the journal expected, the difference,
    the device counter and its delta since the previous collection, and the problems found."""
    expected = {int(k): int(v) for k, v in box["counts"].items() if v}
    problems: list[str] = []
    data: dict[str, Any] = {
        "collection_id": collection_id,
        "engineer_id": engineer_id,
        "expected": {str(k): v for k, v in sorted(expected.items(), reverse=True)},
        "expected_paise": int(box["total_paise"]),
        "journal_notes": int(box["notes"]) + int(box.get("unattributed_unknown_notes") or 0),
        "device": device,
    }
    if counted is None:
        data.update(counted=None, counted_paise=None, difference_paise=None)
        problems.append(
            f"collection {collection_id}: the cash was not counted "
            f"({format_rupees(data['expected_paise'])} expected)"
        )
    else:
        result = compare_count(expected, counted)
        data.update(
            counted={str(k): v for k, v in sorted(counted.items(), reverse=True)},
            counted_paise=result["counted_paise"],
            difference_paise=result["difference_paise"],
            denominations_differ=result["denominations_differ"],
        )
        line = count_problem(collection_id, result)
        if line:
            problems.append(line)
    stacked = device_stacked(data)
    if stacked is not None and device_baseline is not None:
        data["device_notes"] = stacked - device_baseline
        line = device_problem(collection_id, stacked - device_baseline, data["journal_notes"])
        if line:
            problems.append(line)
    data["problems"] = problems
    return data


def alarm_message(record: Mapping[str, Any]) -> str:
    """The alarm's one line: the amount first, the rest after."""
    diff = record.get("difference_paise")
    head = f"cash count {difference_words(diff)}" if diff else "cash count does not match"
    return f"{head}: " + " | ".join(record["problems"])


def find_count(journal: Journal, collection_id: str) -> dict[str, Any] | None:
    """The `cash_counted` data of one collection (for a slip reprint)."""
    for ev in journal.events(kinds=(COUNT_KIND,)):
        if ev.data.get("collection_id") == collection_id:
            return ev.data
    return None
