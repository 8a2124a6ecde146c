"""The physical side of `verify`: the cassette against the journal.

The journal is the truth about money and the cassette is the truth about cash (docs/DESIGN.md,
"Trust boundaries"), so a journal that only agrees with itself proves nothing about the notes.
At each collection the engineer's count (and the acceptor's own stacked-note counter, where the
driver can read it) is journaled as a `cash_counted` event; here, for every collection, the notes
the journal says went into the cassette since the previous collection are re-derived from the
credits, test notes and notes found at power-up, and compared with the count and the counter.

Pure functions over journal events: no I/O, no clock. `Period.add` must agree with
terminal/maintenance.py `cash_box` (what the collection screen shows and the live count is
compared with): tests/faults/test_attack_verify.py collects an exact count live and then
requires `verify` to find no difference, which fails if the two ever disagree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from terminal.journal import Event
from terminal.money import format_rupees

COUNT_KIND = "cash_counted"
# The journal kinds that say what went into the cassette, and when it was emptied.
CASSETTE_KINDS = ("credit", "unattributed_note", "maintenance", COUNT_KIND)


def money(paise: int) -> str:
    """An amount a person and a script can both read: "₹100 (10000 paise)"."""
    return f"{format_rupees(abs(paise))} ({abs(paise)} paise)"


def difference_words(difference_paise: int) -> str:
    """-10000 -> "₹100 (10000 paise) short"; +5000 -> "₹50 (5000 paise) over"."""
    if difference_paise == 0:
        return "no difference"
    return f"{money(difference_paise)} {'short' if difference_paise < 0 else 'over'}"


@dataclass
class Period:
    """Notes the journal put into the cassette between two collections."""

    counts: Counter[int] = field(default_factory=Counter)  # paise -> notes
    unknown_notes: int = 0  # found in the stacker at power-up, value not reported

    @property
    def paise(self) -> int:
        return sum(value * n for value, n in self.counts.items())

    @property
    def notes(self) -> int:
        return sum(self.counts.values()) + self.unknown_notes

    def add(self, ev: Event) -> None:
        """Fold one journal event: a credit, a test note, a note found in the stacker."""
        if ev.kind == "credit":
            self.counts[int(ev.data["paise"])] += 1
        elif ev.kind == "unattributed_note" and ev.data.get("where") == "stacker":
            if ev.data.get("paise"):
                self.counts[int(ev.data["paise"])] += 1
            else:
                self.unknown_notes += 1
        elif ev.kind == "maintenance" and ev.data.get("action") == "test_note":
            self.counts[int(ev.data["paise"])] += 1


def parse_counts(raw: Mapping[Any, Any]) -> dict[int, int]:
    """{"50000": 2} (JSON keys) -> {50000: 2}; zero rows dropped."""
    return {int(k): int(v) for k, v in raw.items() if int(v)}


def compare_count(expected: Mapping[int, int], counted: Mapping[int, int]) -> dict[str, Any]:
    """The engineer's count against the journal, per denomination and in total (paise)."""
    expected_paise = sum(v * n for v, n in expected.items())
    counted_paise = sum(v * n for v, n in counted.items())
    rows = []
    for value in sorted(set(expected) | set(counted), reverse=True):
        e, c = int(expected.get(value, 0)), int(counted.get(value, 0))
        if e != c:
            rows.append(
                {"paise": value, "expected": e, "counted": c, "difference_paise": (c - e) * value}
            )
    return {
        "expected_paise": expected_paise,
        "counted_paise": counted_paise,
        "difference_paise": counted_paise - expected_paise,
        "denominations_differ": rows,
        "ok": not rows,
    }


def count_problem(collection_id: str, result: Mapping[str, Any]) -> str | None:
    """One line naming the amount, or None when the count matches note for note."""
    if result["ok"]:
        return None
    rows = "; ".join(
        f"{format_rupees(r['paise'])} notes: {r['counted']} counted, {r['expected']} credited"
        for r in result["denominations_differ"]
    )
    return (
        f"collection {collection_id}: counted {format_rupees(result['counted_paise'])} against "
        f"{format_rupees(result['expected_paise'])} credited since the previous collection: "
        f"{difference_words(result['difference_paise'])} ({rows})"
    )


def device_problem(
    collection_id: str, device_notes: int, journal_notes: int, per_note_paise: int | None = None
) -> str | None:
    """The acceptor's own stacked-note count against the notes the journal has for the period."""
    extra = device_notes - journal_notes
    if extra == 0:
        return None
    if device_notes < 0:
        return (
            f"collection {collection_id}: the acceptor's stacked-note counter went back by "
            f"{-device_notes} (reset or replaced?): the cassette cannot be checked against it"
        )
    side = "more" if extra > 0 else "fewer"
    value = f" (at least {format_rupees(abs(extra) * per_note_paise)})" if per_note_paise else ""
    return (
        f"collection {collection_id}: the acceptor stacked {device_notes} notes since the "
        f"previous collection, the journal has {journal_notes}: {abs(extra)} note(s) {side} "
        f"in the device than credited{value}"
    )


def device_stacked(data: Mapping[str, Any]) -> int | None:
    """The device's cumulative stacked-note counter journaled with a count, if it had one."""
    device = data.get("device") or {}
    value = device.get("stacked_total")
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def reconcile(events: Iterable[Event]) -> dict[str, Any]:
    """Every collection in the journal: credits since the previous one vs the count and the
    device counter. Events in journal order (Journal.events(kinds=CASSETTE_KINDS))."""
    period = Period()
    collections: list[dict[str, Any]] = []
    counts: dict[str, dict[str, Any]] = {}
    for ev in events:
        if ev.kind == COUNT_KIND:
            counts[str(ev.data.get("collection_id"))] = ev.data
        elif ev.kind == "maintenance" and ev.data.get("action") == "cash_collected":
            cid = str(ev.data["collection_id"])
            entry = {"collection_id": cid, "at": ev.at, "period": period}
            collections.append(entry)
            period = Period()
        else:
            period.add(ev)
    problems: list[str] = []
    report: list[dict[str, Any]] = []
    last_device: int | None = None
    for entry in collections:
        cid, p = entry["collection_id"], entry["period"]
        row: dict[str, Any] = {
            "collection_id": cid,
            "at": entry["at"],
            "expected_paise": p.paise,
            "expected": {str(v): n for v, n in sorted(p.counts.items(), reverse=True)},
            "notes": p.notes,
        }
        count = counts.get(cid)
        if count is None:
            row["counted"] = None
            problems.append(
                f"collection {cid}: the cash was not counted "
                f"({money(p.paise)} credited since the previous collection is unreconciled)"
            )
            last_device = None
            report.append(row)
            continue
        result = compare_count(p.counts, parse_counts(count.get("counted") or {}))
        row.update(result)
        line = count_problem(cid, result)
        if line is not None:
            if p.unknown_notes:
                line += f"; {p.unknown_notes} note(s) of unknown value were found at power-up"
            problems.append(line)
        stacked = device_stacked(count)
        row["device_stacked_total"] = stacked
        if stacked is not None and last_device is not None:
            delta = stacked - last_device
            row["device_notes"] = delta
            values = set(p.counts)
            line = device_problem(cid, delta, p.notes, min(values) if values else None)
            if line is not None:
                problems.append(line)
        last_device = stacked
        report.append(row)
    return {
        "ok": not problems,
        "collections": report,
        "since_last_collection_paise": period.paise,
        "problems": problems,
    }


def reconcile_journal(journal: Any) -> dict[str, Any]:
    """reconcile() over a Journal's cassette events."""
    return reconcile(journal.events(kinds=CASSETTE_KINDS))
