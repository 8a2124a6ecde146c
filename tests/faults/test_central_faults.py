"""Network faults between the outbox and the reference central, over real loopback HTTP.

Each test counts paise on both sides: central's store (sim/central/store.py) and the journal
(terminal/invariant.check_journal). Helpers here are shared with test_attack_central.py.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from sim.central.server import CentralServer
from terminal.central import CentralClient, ReferenceDialect
from terminal.invariant import check_journal
from terminal.journal import Journal
from terminal.outbox import Outbox
from terminal.session import Session, fold, settlement

TERMINAL = "RJ-JPR-0001"
SECRET = "demo-secret"
PHED_DUE = 35000


def config(initial: float = 0.05, ceiling: float = 0.4) -> dict[str, Any]:
    return {"central": {"retry_initial_s": initial, "retry_max_s": ceiling}}


def bill_row(consumer: str, due: int = PHED_DUE, status: str = "unpaid") -> dict[str, Any]:
    return {
        "bill_id": f"B-PHED-{consumer}-202610",
        "provider": "PHED",
        "service": "water",
        "consumer_number": consumer,
        "consumer_name": "Test Consumer",
        "period": "2026-10",
        "due_paise": due,
        "due_date": "2026-12-15",
        "status": status,
    }


def add_bills(server: CentralServer, n: int, start: int = 0) -> list[dict[str, Any]]:
    """n fresh unpaid PHED bills at central (consumer 80000000NN...)."""
    rows = [bill_row(f"8{i:09d}") for i in range(start, start + n)]
    server.store.add_bills(rows)
    return rows


def settle(
    journal: Journal, bill: dict[str, Any], seq: int, notes: tuple[int, ...] = ()
) -> Session:
    """A settled cash session for `bill`, as the kiosk journals it (credits, then settled)."""
    sid = f"S-{seq:06d}"
    notes = notes or (bill["due_paise"],)
    journal.append(
        "session_opened",
        sid,
        {"service": bill["service"], "provider": bill["provider"],
         "consumer_number": bill["consumer_number"]},
    )
    journal.append("bill", sid, dict(bill))
    for i, paise in enumerate(notes):
        note_id = f"{sid}-n{i}"
        journal.append("credit", sid, {"note_id": note_id, "paise": paise}, key=f"credit:{note_id}")
    amount, voucher = settlement(sum(notes), bill["due_paise"])
    journal.append(
        "settled",
        sid,
        {
            "txn_id": f"T-{TERMINAL}-261201000000-{seq:06X}",
            "amount_paise": amount,
            "voucher_id": f"V-{TERMINAL}-261201000000-{seq:06X}" if voucher else None,
            "voucher_paise": voucher,
            "tendered_paise": sum(notes),
            "notes": list(notes),
            "recovery": False,
        },
        key=f"settled:{sid}",
    )
    return fold(sid, list(journal.events(session_id=sid)))


def make_outbox(
    tmp_path: Path, url: str, *, timeout_s: float = 3.0, clock=time.time, **cfg: float
) -> tuple[Outbox, Journal, ReferenceDialect]:
    journal = Journal(tmp_path / "journal.sqlite")
    client = CentralClient(url, TERMINAL, SECRET, timeout_s=timeout_s, clock=clock)
    central = ReferenceDialect(client)
    return Outbox(journal, central, config(**cfg)), journal, central


async def drain(outbox: Outbox, timeout: float = 10.0) -> None:
    """Passes (probes made due at once) until nothing is pending."""
    deadline = time.monotonic() + timeout
    while outbox.pending():
        assert time.monotonic() < deadline, f"still pending; last error {outbox.last_error}"
        outbox.kick()
        await outbox.flush()
        await asyncio.sleep(0.01)


def assert_books_balance(
    server: CentralServer, journal: Journal, posted: int, voucher: int
) -> None:
    """Paise on both sides: central's rows and the journal's invariant agree."""
    report = check_journal(journal)
    assert report["ok"], report["problems"]
    totals = report["totals"]
    assert totals["posted"] == posted and totals["voucher"] == voucher, totals
    assert totals["pending"] == 0 and totals["unsettled"] == 0, totals
    assert sum(p["amount_paise"] for p in server.payments()) == posted
    assert sum(v["amount_paise"] for v in server.vouchers()) == voucher
    txns = [p["txn_id"] for p in server.payments()]
    assert len(txns) == len(set(txns))
    assert len(list(journal.events(kinds=("posted",)))) == len(txns)


@pytest.fixture
async def central():
    server = CentralServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
        server.store.close()


async def test_reply_lost_after_commit_posts_once(tmp_path, central):
    outbox, journal, dialect = make_outbox(tmp_path, central.url)
    settle(journal, add_bills(central, 1)[0], 1, notes=(20000, 20000))
    central.fail_next("lost")
    assert await outbox.flush() == 0
    assert len(central.payments()) == 1  # central committed; the kiosk never heard
    assert not list(journal.events(kinds=("posted",)))
    await drain(outbox)
    assert_books_balance(central, journal, posted=PHED_DUE, voucher=5000)
    await dialect.close()


async def test_answer_late_then_retry_is_idempotent(tmp_path, central):
    central.state.slow_seconds = 1.5
    outbox, journal, dialect = make_outbox(tmp_path, central.url, timeout_s=0.5)
    settle(journal, add_bills(central, 1)[0], 1)
    central.fail_next("late")
    assert await outbox.flush() == 0  # timed out while central was still answering
    await drain(outbox)
    assert_books_balance(central, journal, posted=PHED_DUE, voucher=0)
    await asyncio.sleep(1.2)  # the late answer arrives on a dead request: still one payment
    assert_books_balance(central, journal, posted=PHED_DUE, voucher=0)
    await dialect.close()


@pytest.mark.parametrize(("mode", "count"), [("http429", 1), ("http500", 3), ("garbage", 2),
                                             ("unsigned", 1)])
async def test_transient_refusals_are_retried_not_final(tmp_path, central, mode, count):
    outbox, journal, dialect = make_outbox(tmp_path, central.url)
    settle(journal, add_bills(central, 1)[0], 1)
    central.fail_next(mode, count)
    await outbox.flush()
    assert not list(journal.events(kinds=("post_refused", "refund_voucher")))
    await drain(outbox)
    assert not list(journal.events(kinds=("post_refused", "refund_voucher")))
    assert_books_balance(central, journal, posted=PHED_DUE, voucher=0)
    await dialect.close()


async def test_stale_timestamp_401_then_ok(tmp_path, central):
    """The kiosk's clock jumped back 400 s: a signed 401 corrects it; the payment is not lost."""
    outbox, journal, dialect = make_outbox(
        tmp_path, central.url, clock=lambda: time.time() - 400
    )
    settle(journal, add_bills(central, 1)[0], 1)
    await outbox.flush()
    assert not list(journal.events(kinds=("post_refused",)))
    await drain(outbox)
    assert abs(dialect.client.skew_s - 400) < 3
    assert_books_balance(central, journal, posted=PHED_DUE, voucher=0)
    await dialect.close()


async def test_clock_skew_of_ten_minutes_corrected_from_date(tmp_path):
    async with CentralServer(clock=lambda: time.time() + 600) as central:
        outbox, journal, dialect = make_outbox(tmp_path, central.url)
        settle(journal, add_bills(central, 1)[0], 1)
        await outbox.flush()
        assert not list(journal.events(kinds=("post_refused",)))
        await drain(outbox)
        assert abs(dialect.client.skew_s - 600) < 3
        assert_books_balance(central, journal, posted=PHED_DUE, voucher=0)
        # Signed with corrected time from now on: the next request goes through first time.
        before = outbox.attempts
        settle(journal, add_bills(central, 1, start=1)[0], 2)
        await drain(outbox)
        assert outbox.attempts == before + 1
        await dialect.close()


async def test_final_refusal_gives_refund_voucher_and_alarm(tmp_path, central):
    """Central says the bill is already paid: the money taken becomes a voucher plus an alarm."""
    outbox, journal, dialect = make_outbox(tmp_path, central.url)
    paid_bill = bill_row("8777000001", due=52000, status="paid")
    central.store.add_bills([paid_bill])
    s = settle(journal, paid_bill, 1, notes=(50000, 5000))  # 3000 over: an ordinary voucher too
    await drain(outbox)
    refusals = [ev.data for ev in journal.events(kinds=("post_refused",))]
    assert refusals == [{"id": s.txn_id, "code": "already_paid", "final": True,
                         "message": refusals[0]["message"]}]
    (refund,) = [ev.data for ev in journal.events(kinds=("refund_voucher",))]
    assert refund["amount_paise"] == 52000 and refund["txn_id"] == s.txn_id
    alarms = [ev for ev in journal.events(session_id="maintenance", kinds=("maintenance",))
              if ev.data.get("action") == "alarm_raised"]
    assert len(alarms) == 1 and s.txn_id in alarms[0].data["code"]
    vouchers = {v["voucher_id"]: v["amount_paise"] for v in central.vouchers()}
    assert vouchers == {refund["voucher_id"]: 52000, s.voucher_id: 3000}
    assert_books_balance(central, journal, posted=0, voucher=55000)
    assert check_journal(journal)["totals"]["refused"] == 52000
    await dialect.close()


async def test_old_journal_refusals_replay(tmp_path, central):
    """Journals written before this rule: a 401 recorded as post_refused is retried; an old final
    refusal gets its refund voucher now; verify never counts a bare refusal as accounted."""
    outbox, journal, dialect = make_outbox(tmp_path, central.url)
    stale = settle(journal, add_bills(central, 1)[0], 1)
    journal.append("post_refused", stale.session_id,
                   {"id": stale.txn_id, "code": "stale_timestamp", "message": "old"},
                   key=f"post_refused:{stale.txn_id}")
    paid_bill = bill_row("8777000002", due=PHED_DUE, status="paid")
    central.store.add_bills([paid_bill])
    final = settle(journal, paid_bill, 2)
    journal.append("post_refused", final.session_id,
                   {"id": final.txn_id, "code": "already_paid", "message": "old"},
                   key=f"post_refused:{final.txn_id}")
    report = check_journal(journal)
    assert report["ok"] and report["totals"]["pending"] == 2 * PHED_DUE
    assert len(outbox.pending()) == 2
    await drain(outbox)
    assert_books_balance(central, journal, posted=PHED_DUE, voucher=PHED_DUE)
    await dialect.close()


class Counting:
    """The dialect with a count of requests in flight (central's view of the kiosk's load)."""

    def __init__(self, inner: ReferenceDialect) -> None:
        self.inner = inner
        self.in_flight = 0
        self.max_in_flight = 0
        self.calls = 0

    async def post_payment(self, intent: dict[str, Any]):
        self.calls += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self.inner.post_payment(intent)
        finally:
            self.in_flight -= 1

    async def post_voucher(self, *args: Any):
        return await self.inner.post_voucher(*args)


async def test_outage_is_one_probe_at_a_time_then_a_bounded_drain(tmp_path, central, caplog):
    outbox, journal, dialect = make_outbox(tmp_path, central.url)
    counting = Counting(dialect)
    outbox.central = counting
    bills = add_bills(central, 60)
    for i, bill in enumerate(bills):
        settle(journal, bill, i + 1)
    await central.stop()
    caplog.set_level(logging.INFO, logger="outbox")
    outbox.start()
    await asyncio.sleep(2.0)  # probes at 0.05, 0.1, 0.2, 0.4, 0.4, ... s
    during = counting.calls
    assert 3 <= during <= 12, during
    assert counting.max_in_flight == 1
    scans = 0
    real_pending = outbox.pending

    def counted_pending() -> list[Session]:
        nonlocal scans
        scans += 1
        return real_pending()

    outbox.pending = counted_pending  # type: ignore[method-assign]
    assert await outbox.flush() == 0 and scans == 0  # a pass between probes touches nothing
    outbox.pending = real_pending  # type: ignore[method-assign]
    await central.start()  # same port, same store
    deadline = time.monotonic() + 15
    while len(central.payments()) < 60:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    await outbox.stop()
    assert 1 < counting.max_in_flight <= 4
    assert counting.calls <= during + 60 + 1
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("central unreachable, holding the outbox") == 1
    assert messages.count("central reachable again, draining the outbox") == 1
    assert not [m for m in messages if "will retry" in m]
    order = [p["txn_id"] for p in central.payments()]
    assert order[:4] == sorted(order[:4]) and set(order[:4]) <= set(sorted(order)[:8])
    assert_books_balance(central, journal, posted=60 * PHED_DUE, voucher=0)
    await dialect.close()


async def test_an_entry_central_turns_down_does_not_hold_up_the_queue(tmp_path, central):
    """A non-final 4xx (here 400: central cannot read this one body) is about that entry, not
    about central: it is retried on its own clock while the rest of the queue drains."""
    outbox, journal, dialect = make_outbox(tmp_path, central.url)
    bad = dict(add_bills(central, 1)[0], consumer_number="12AB")
    settle(journal, bad, 1)
    for i, bill in enumerate(add_bills(central, 3, start=1)):
        settle(journal, bill, i + 2)
    for _ in range(3):
        await outbox.flush()
    assert not list(journal.events(kinds=("post_refused", "refund_voucher")))  # not final
    assert len(central.payments()) == 3
    assert not outbox.link.down
    report = check_journal(journal)
    assert report["ok"] and report["totals"]["pending"] == PHED_DUE
    assert report["totals"]["posted"] == 3 * PHED_DUE
    await dialect.close()
