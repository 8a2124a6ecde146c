"""The money invariant, checked from the journal alone.

For every paise credited, exactly one of: a posted payment, a voucher (for overpayment, or a
refund voucher for a payment central refused for good), or a pending outbox entry.
`check_journal` is used by `emitra-kiosk verify`, by maintenance, and by the crash tests.
A refusal is never "accounted" by itself: without its refund voucher it is still pending.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from terminal.journal import Journal
from terminal.session import fold


def check_journal(journal: Journal) -> dict[str, Any]:
    by_session = defaultdict(list)
    for ev in journal.events():
        by_session[ev.session_id].append(ev)
    # refused: payments central refused for good, each refunded by a voucher counted in
    # "voucher" (shown for reconciliation, not added again to the accounted total)
    totals = {"credited": 0, "posted": 0, "pending": 0, "refused": 0, "voucher": 0, "unsettled": 0}
    problems: list[str] = []
    open_sessions: list[str] = []
    for sid, events in by_session.items():
        if sid == "-":
            continue
        s = fold(sid, events)
        credited = s.paid_paise + s.card_paise  # cash in the cassette, or authorised on a card
        totals["credited"] += credited
        if not s.settled:
            if credited:
                totals["unsettled"] += credited
                open_sessions.append(sid)
            continue
        if s.amount_paise + s.voucher_paise != credited:
            problems.append(
                f"{sid}: credited {credited} but settled "
                f"{s.amount_paise} + voucher {s.voucher_paise}"
            )
        totals["voucher"] += s.voucher_paise + s.refund_paise
        if s.amount_paise:
            if s.receipt_no is not None:
                totals["posted"] += s.amount_paise
                if s.refund_voucher_id is not None:
                    problems.append(f"{sid}: posted and also refunded by {s.refund_voucher_id}")
            elif s.refund_voucher_id is not None:
                totals["refused"] += s.amount_paise
                if s.refund_paise != s.amount_paise:
                    problems.append(
                        f"{sid}: refused {s.amount_paise} but refunded {s.refund_paise}"
                    )
            else:
                totals["pending"] += s.amount_paise
        elif s.refund_paise:
            problems.append(f"{sid}: refund voucher without a payment")
        postings = [ev for ev in events if ev.kind == "posted"]
        if len(postings) > 1:
            problems.append(f"{sid}: posted {len(postings)} times")
    accounted = totals["posted"] + totals["pending"] + totals["voucher"] + totals["unsettled"]
    if accounted != totals["credited"]:
        problems.append(f"credited {totals['credited']} but accounted for {accounted}")
    return {
        "ok": not problems,
        "totals": totals,
        "open_sessions": open_sessions,
        "problems": problems,
    }
