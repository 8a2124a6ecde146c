"""The money invariant, checked from the journal alone.

For every paise taken (notes, a card, vouchers redeemed toward a bill: "credited"), exactly one
of: a posted payment, an advance credit posted with it, a voucher (for overpayment, or a refund
voucher for a payment central refused for good), or a pending outbox entry.
`check_journal` is used by `emitra-kiosk verify`, by maintenance, and by the crash tests;
`check_projections` (verify) re-derives the journal's projection tables from the full fold.
A refusal is never "accounted" by itself: without its refund voucher it is still pending.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from terminal import events as ev_
from terminal.journal import Journal
from terminal.session import fold


def check_journal(journal: Journal) -> dict[str, Any]:
    by_session = defaultdict(list)
    for ev in journal.events():
        by_session[ev.session_id].append(ev)
    # refused: payments central refused for good, each refunded by a voucher counted in
    # "voucher" (shown for reconciliation, not added again to the accounted total)
    # redeemed: vouchers taken in (part of "credited"); advance: overshoot posted to the
    # consumer's account with its payment (pending until the payment is posted);
    # redeeming: redemptions central has not answered (counted nowhere until it does)
    totals = {"credited": 0, "posted": 0, "pending": 0, "refused": 0, "voucher": 0, "unsettled": 0,
              "redeemed": 0, "advance": 0, "redeeming": 0}
    problems: list[str] = []
    open_sessions: list[str] = []
    redeemed_in: dict[str, str] = {}  # voucher id -> the session it paid into
    for sid, events in by_session.items():
        if sid == "-":
            continue
        s = fold(sid, events)
        # cash in the cassette, authorised on a card, or vouchers redeemed toward the bill
        credited = s.paid_paise + s.card_paise
        totals["credited"] += credited
        totals["redeemed"] += sum(s.redeemed.values())
        totals["redeeming"] += sum(s.redeeming.values())
        problems += _redemption_problems(sid, events)
        for vid in s.redeemed:
            if vid in redeemed_in:
                problems.append(f"{sid}: voucher {vid} was redeemed by {redeemed_in[vid]} too")
            redeemed_in[vid] = sid
        if not s.settled:
            if credited:
                totals["unsettled"] += credited
                open_sessions.append(sid)
            continue
        if s.amount_paise + s.advance_paise + s.voucher_paise != credited:
            advance = f" + advance {s.advance_paise}" if s.advance_paise else ""
            problems.append(
                f"{sid}: credited {credited} but settled "
                f"{s.amount_paise}{advance} + voucher {s.voucher_paise}"
            )
        if s.advance_paise and s.refund_voucher_id is None:
            # a refused payment's advance is in its refund voucher (refund_paise)
            totals["advance" if s.receipt_no is not None else "pending"] += s.advance_paise
        totals["voucher"] += s.voucher_paise + s.refund_paise
        if s.amount_paise:
            if s.receipt_no is not None:
                totals["posted"] += s.amount_paise
                if s.refund_voucher_id is not None:
                    problems.append(f"{sid}: posted and also refunded by {s.refund_voucher_id}")
            elif s.refund_voucher_id is not None:
                totals["refused"] += s.amount_paise
                if s.refund_paise != s.amount_paise + s.advance_paise:
                    problems.append(f"{sid}: refused {s.amount_paise} + advance "
                                    f"{s.advance_paise} but refunded {s.refund_paise}")
            else:
                totals["pending"] += s.amount_paise
        elif s.refund_paise:
            problems.append(f"{sid}: refund voucher without a payment")
        postings = [ev for ev in events if ev.kind == "posted"]
        if len(postings) > 1:
            problems.append(f"{sid}: posted {len(postings)} times")
    accounted = (totals["posted"] + totals["advance"] + totals["pending"] + totals["voucher"]
                 + totals["unsettled"])
    if accounted != totals["credited"]:
        problems.append(f"credited {totals['credited']} but accounted for {accounted}")
    return {
        "ok": not problems,
        "totals": totals,
        "open_sessions": open_sessions,
        "problems": problems,
    }


def _redemption_problems(sid: str, events: list) -> list[str]:
    """A voucher counts once: redeemed at most once in a session, and only after its intent."""
    asked: set[str] = set()
    problems = []
    seen: set[str] = set()
    for ev in events:
        if ev.kind == "voucher_redeeming":
            asked.add(ev.data["voucher_id"])
        elif ev.kind == "voucher_redeemed":
            vid = ev.data["voucher_id"]
            if vid in seen:
                problems.append(f"{sid}: voucher {vid} redeemed twice")
            if vid not in asked:
                problems.append(f"{sid}: voucher {vid} redeemed without an intent")
            seen.add(vid)
    return problems


def derive_projections(journal: Journal) -> dict[str, Any]:
    """Both projections as the full fold gives them, without the projection tables: the pending
    postings (fold of every settled session, as the outbox computed it before the projection) and
    the cash box (every cassette event since the last collection)."""
    settled = dict.fromkeys(ev.session_id for ev in journal.events(kinds=("settled",)))
    settled.update(dict.fromkeys(
        ev.session_id for ev in journal.events(kinds=("voucher_redeeming",))))
    pending: dict[str, tuple[str, str, int]] = {}
    for sid in settled:
        s = fold(sid, list(journal.events(session_id=sid)))
        if s.amount_paise and s.receipt_no is None and s.refund_voucher_id is None:
            pending[s.txn_id or f"payment:{sid}"] = (sid, "payment", s.amount_paise)
        if s.voucher_id and not s.voucher_posted and not _refused(journal, sid, s.voucher_id):
            pending[s.voucher_id] = (sid, "voucher", s.voucher_paise)
        for vid, paise in s.redeeming.items():
            pending[f"redeem:{sid}:{vid}"] = (sid, "redemption", paise)
        if s.refund_voucher_id and not s.refund_posted and not _refused(
            journal, sid, s.refund_voucher_id
        ):
            pending[s.refund_voucher_id] = (sid, "refund_voucher", s.refund_paise)
    counts: Counter[tuple[str, int]] = Counter()
    last: dict[str, Any] | None = None
    for event in journal.events(kinds=("credit", "maintenance", "unattributed_note")):
        ev = event.typed
        if isinstance(ev, ev_.Credit):
            counts["credit", ev.paise] += 1
        elif isinstance(ev, ev_.UnattributedNote) and ev.where == "stacker":
            counts[("unattributed", ev.paise) if ev.paise else ("unattributed_unknown", 0)] += 1
        elif isinstance(ev, ev_.Maintenance) and ev.action == "test_note":
            counts["test_note", int(ev.extra["paise"])] += 1
        elif isinstance(ev, ev_.Maintenance) and ev.action == "cash_collected":
            counts.clear()
            last = {"collection_id": ev.extra["collection_id"], "at": event.at,
                    "engineer_id": ev.engineer_id, "total_paise": ev.extra["total_paise"],
                    "notes": ev.extra["notes"]}
    notes: Counter[int] = Counter()
    for (source, paise), n in counts.items():
        if source != "unattributed_unknown":
            notes[paise] += n
    box = {
        "counts": dict(notes),
        "credited_paise": _paise(counts, "credit"),
        "test_notes_paise": _paise(counts, "test_note"),
        "unattributed_paise": _paise(counts, "unattributed"),
        "unattributed_unknown_notes": counts["unattributed_unknown", 0],
        "last_collection": last,
    }
    return {"pending": pending, "cash_box": box}


def _paise(counts: Counter[tuple[str, int]], source: str) -> int:
    return sum(paise * n for (s, paise), n in counts.items() if s == source)


def _refused(journal: Journal, session_id: str, voucher_id: str) -> bool:
    return any(
        ev.data.get("id") == voucher_id
        for ev in journal.events(session_id=session_id, kinds=("voucher_refused",))
    )


def check_projections(journal: Journal) -> dict[str, Any]:
    """The projection tables (terminal/projections.py) against the full fold: each difference
    is a problem naming the posting or the denomination."""
    derived = derive_projections(journal)
    problems: list[str] = []
    table = {
        row["id"]: (row["session_id"], row["what"], row["paise"])
        for row in journal.pending_projection()
    }
    for pid in sorted(set(table) | set(derived["pending"])):
        want, have = derived["pending"].get(pid), table.get(pid)
        if want != have:
            problems.append(
                f"pending projection: {pid} is {have or 'absent'}, the journal says"
                f" {want or 'not pending'}"
            )
    box = journal.cash_box_projection()
    for name, want in derived["cash_box"].items():
        if box[name] != want:
            problems.append(f"cash box projection: {name} is {box[name]}, the journal says {want}")
    return {"ok": not problems, "pending": len(table), "problems": problems}
