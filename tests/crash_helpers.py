"""Shared by the crash tests: wait until a restarted core has recovered everything."""

import asyncio

from terminal.invariant import check_journal
from terminal.journal import Journal


async def settled_journal(path, timeout=20.0) -> dict:
    """Wait until recovery has closed every session and the outbox is empty."""
    report: dict = {}
    for _ in range(int(timeout * 10)):
        journal = Journal(path)
        report = check_journal(journal)
        opened = {e.session_id for e in journal.events(kinds=("session_opened",))}
        closed = {e.session_id for e in journal.events(kinds=("session_closed",))}
        journal.close()
        if opened <= closed and not report["open_sessions"] and report["totals"]["pending"] == 0:
            vouchers_pending = report["totals"]["voucher"] and not closed
            if not vouchers_pending:
                return report
        await asyncio.sleep(0.1)
    raise AssertionError(f"recovery did not finish: {report}")
