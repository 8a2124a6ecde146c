"""Vouchers taken back at the kiosk (issue 13), through the session API against the real core, the
acceptor and printer simulators on ptys and the reference central on loopback: a voucher left by
one session pays part of the next bill, once; central's refusals (used, lapsed, someone else's)
reach the citizen as message keys; `verify` holds after each."""

import asyncio

from harness import KioskHarness
from PIL import Image
from pyzbar.pyzbar import decode

from terminal.cli import verify
from terminal.invariant import check_journal, check_projections
from terminal.journal import Journal

JVVNL = ("JVVNL", "210412345678")  # ₹640 due
JVVNL_OTHER = ("JVVNL", "210487654321")  # ₹187.60 due, another consumer
PHED = ("PHED", "5012345678")  # ₹350 due; water takes advance payment
BSNL = ("BSNL", "0141640640")  # ₹640 due; BSNL takes no advance: an overshoot is a voucher


async def to_bill(citizen, provider, number):
    assert (await citizen.send("start", provider=provider))["ok"]
    assert (await citizen.send("consumer", number=number))["ok"]
    return await citizen.wait_screen("BILL")


async def leave_voucher(h, citizen, rupees=500, bill=JVVNL) -> dict:
    """Session 1: a note in, then cancel: the citizen leaves with a voucher bound to `bill`."""
    await to_bill(citizen, *bill)
    assert (await citizen.send("confirm"))["ok"]
    await citizen.wait_screen("PAYING")
    h.acceptor_sim.insert_note(rupees)
    await citizen.wait_for(lambda s: s["session"]["paid_paise"] == rupees * 100, 10)
    assert (await citizen.send("cancel"))["ok"]
    done = await citizen.wait_screen("DONE", timeout=20)
    voucher = done["session"]["voucher"]
    assert voucher["paise"] == rupees * 100
    await posted_at_central(h, voucher["id"])
    assert (await citizen.send("finish"))["ok"]
    await citizen.wait_screen("IDLE")
    return voucher


async def posted_at_central(h, voucher_id, timeout=10.0):
    for _ in range(int(timeout * 10)):
        if any(v["voucher_id"] == voucher_id for v in h.central.vouchers()):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"voucher {voucher_id} never reached central")


def journal_ok(h) -> dict:
    journal = Journal(h.config["journal"]["path"])
    try:
        report = check_journal(journal)
        assert report["ok"], report["problems"]
        projections = check_projections(journal)
        assert projections["ok"], projections["problems"]
    finally:
        journal.close()
    assert verify(h.config["journal"]["path"]) == 0
    return report


def central_redeemed(h) -> list[tuple[str, int]]:
    return [(v["voucher_id"], v["amount_paise"]) for v in h.central.vouchers()
            if v["status"] == "redeemed"]


def printed_voucher_qr(h, index: int) -> str:
    codes = [c.data.decode() for c in decode(Image.open(h.printer_sim.receipts[index]))]
    assert len(codes) == 1
    return codes[0]


async def test_voucher_from_one_session_pays_part_of_the_next_bill_once(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        voucher = await leave_voucher(h, citizen, bill=BSNL)
        journal_ok(h)
        qr = printed_voucher_qr(h, 0)  # the slip the citizen took home
        assert qr.split("|")[2] == voucher["id"]

        # Session 2, the same consumer: the voucher QR shown at the bill step.
        await to_bill(citizen, *BSNL)
        await citizen.send("scan", payload=qr)
        state = await citizen.wait_for(
            lambda s: s["screen"] == "PAYING" and s["session"]["paid_paise"] == 50000, 10)
        assert state["message"]["key"] == "voucher_used"
        assert state["session"]["remaining_paise"] == 14000
        assert state["session"]["notes_paise"] == []  # no note went in for it
        assert central_redeemed(h) == [(voucher["id"], 50000)]
        # The same voucher again in this session: refused here, nothing counted twice.
        again = await citizen.send("voucher", code=voucher["id"].lower())
        assert not again["ok"] and again["message_key"] == "voucher_already_used"

        h.acceptor_sim.insert_note(200)
        done = await citizen.wait_screen("DONE", timeout=20)
        s = done["session"]
        assert s["amount_paise"] == 64000 and s["voucher"]["paise"] == 6000
        [payment] = h.central.payments()
        assert payment["amount_paise"] == 64000 and payment["txn_id"] == s["txn_id"]
        [row] = [v for v in h.central.vouchers() if v["voucher_id"] == voucher["id"]]
        assert row["redeemed_txn_id"] == s["txn_id"]  # the redemption is the payment's
        assert (await citizen.send("finish"))["ok"]
        await citizen.wait_screen("IDLE")
        report = journal_ok(h)
        assert report["totals"]["redeemed"] == 50000
        assert report["totals"]["credited"] == 50000 + 50000 + 20000
        assert h.acceptor_sim.stacked == [500, 200]

        # Session 3: the voucher once more, typed at another bill's paying step: used.
        await to_bill(citizen, *PHED)
        assert (await citizen.send("confirm"))["ok"]
        await citizen.wait_screen("PAYING")
        third = await citizen.send("voucher", code=voucher["id"])
        assert not third["ok"] and third["message_key"] == "voucher_already_used"
        state = await citizen.wait_for(lambda s: s["message"]["key"] == "voucher_already_used")
        assert state["session"]["paid_paise"] == 0 and state["screen"] == "PAYING"
        assert central_redeemed(h) == [(voucher["id"], 50000)]
        assert (await citizen.send("cancel"))["ok"]
        await citizen.wait_screen("CANCELLED")
        journal_ok(h)


async def next_bill_of_120(h, citizen, bill, service):
    """The consumer's next bill (₹120), smaller than the ₹200 voucher the first session left."""
    h.central.store.add_bills([{
        "bill_id": f"{bill[0]}-{bill[1]}-2026-12", "provider": bill[0], "service": service,
        "consumer_number": bill[1], "consumer_name": "Geeta Sharma", "period": "2026-12",
        "due_paise": 12000, "due_date": "2027-01-15", "status": "unpaid"}])
    state = await to_bill(citizen, *bill)
    assert state["session"]["due_paise"] == 12000


async def test_voucher_larger_than_the_bill_leaves_a_new_voucher_for_the_rest(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        voucher = await leave_voucher(h, citizen, rupees=200, bill=BSNL)
        await next_bill_of_120(h, citizen, BSNL, "phone")
        result = await citizen.send("voucher", code=voucher["id"])
        assert result["ok"]
        done = await citizen.wait_screen("DONE", timeout=20)
        s = done["session"]
        assert s["amount_paise"] == 12000 and s["voucher"]["paise"] == 8000
        assert s["advance"] is None
        assert h.acceptor_sim.stacked == [200]  # no note for the second session
        await posted_at_central(h, s["voucher"]["id"])
        assert central_redeemed(h) == [(voucher["id"], 20000)]
        [payment] = h.central.payments()
        assert payment["amount_paise"] == 12000 and payment["tendered_paise"] == 20000
        report = journal_ok(h)
        assert report["totals"]["voucher"] == 20000 + 8000
        assert report["totals"]["posted"] == 12000


async def test_voucher_larger_than_a_water_bill_leaves_the_rest_on_the_account(tmp_path):
    """Water takes advance payment: the rest of the voucher is credited, no new voucher."""
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        voucher = await leave_voucher(h, citizen, rupees=200, bill=PHED)
        await next_bill_of_120(h, citizen, PHED, "water")
        assert (await citizen.send("voucher", code=voucher["id"]))["ok"]
        done = await citizen.wait_screen("DONE", timeout=20)
        s = done["session"]
        assert s["amount_paise"] == 12000 and s["voucher"] is None
        assert s["advance"]["paise"] == 8000
        assert s["vouchers_in"] == [{"id": voucher["id"], "paise": 20000}]
        for _ in range(100):
            if h.core.kiosk.outbox.depth() == 0 and h.central.payments():
                break
            await asyncio.sleep(0.1)
        [payment] = h.central.payments()
        assert payment["amount_paise"] == 12000 and payment["tendered_paise"] == 20000
        assert central_redeemed(h) == [(voucher["id"], 20000)]
        report = journal_ok(h)
        assert report["totals"]["voucher"] == 20000  # only the first session's
        assert report["totals"]["advance"] == 8000 and report["totals"]["posted"] == 12000


async def test_walk_away_voucher_cannot_pay_another_consumers_bill(tmp_path):
    timeouts = {"cash_idle_timeout_s": 1, "more_time_timeout_s": 1}
    async with KioskHarness(tmp_path, payment=timeouts) as h, h.client() as citizen:
        # The citizen puts ₹100 in and walks away: the voucher is printed (traceable) and bound.
        await to_bill(citizen, *JVVNL)
        assert (await citizen.send("confirm"))["ok"]
        await citizen.wait_screen("PAYING")
        h.acceptor_sim.insert_note(100)
        done = await citizen.wait_screen("DONE", timeout=15)
        voucher = done["session"]["voucher"]
        assert voucher["paise"] == 10000 and done["session"]["printed"] == ["voucher"]
        await posted_at_central(h, voucher["id"])
        assert (await citizen.send("finish"))["ok"]
        await citizen.wait_screen("IDLE")
        # The next person in the queue tries it on their own bill: refused, nothing counted.
        await to_bill(citizen, *JVVNL_OTHER)
        refused = await citizen.send("voucher", code=voucher["id"])
        assert not refused["ok"] and refused["message_key"] == "voucher_other_consumer"
        state = await citizen.wait_for(lambda s: s["message"]["key"] == "voucher_other_consumer")
        assert state["session"]["paid_paise"] == 0
        assert central_redeemed(h) == []
        assert (await citizen.send("cancel"))["ok"]
        await citizen.wait_screen("CANCELLED")
        journal_ok(h)


async def test_expired_and_unknown_vouchers_are_refused_with_their_own_keys(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        voucher = await leave_voucher(h, citizen, rupees=100, bill=PHED)
        with h.central.store._tx() as db:  # six months later
            db.execute("UPDATE voucher_terms SET expires_at = 0 WHERE voucher_id = ?",
                       (voucher["id"],))
        await to_bill(citizen, *PHED)
        lapsed = await citizen.send("voucher", code=voucher["id"])
        assert not lapsed["ok"] and lapsed["message_key"] == "voucher_expired"
        unknown = await citizen.send("voucher", code="V-RJ-JPR-0001-000000000000-ABCDEF")
        assert not unknown["ok"] and unknown["message_key"] == "voucher_not_found"
        garbled = await citizen.send("voucher", code="12; DROP")
        assert not garbled["ok"] and garbled["message_key"] == "voucher_code_invalid"
        state = citizen.state
        assert state["screen"] == "BILL"  # nothing was taken: the session never opened
        assert central_redeemed(h) == []
        journal_ok(h)


async def test_the_short_code_on_the_slip_finds_the_voucher_of_this_consumer_only(tmp_path):
    """The 6-character code printed big on the slip is all a citizen types: central finds it among
    this bill's consumer's vouchers. At another consumer's bill the same code finds nothing."""
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        voucher = await leave_voucher(h, citizen, bill=BSNL)
        code = voucher["id"].rsplit("-", 1)[1]
        assert len(code) == 6

        await to_bill(citizen, *JVVNL)  # someone else's bill
        assert (await citizen.send("confirm"))["ok"]
        await citizen.wait_screen("PAYING")
        refused = await citizen.send("voucher", code=f"V-{code}")
        assert not refused["ok"] and refused["message_key"] == "voucher_not_found"
        assert central_redeemed(h) == []
        assert (await citizen.send("cancel"))["ok"]
        await citizen.wait_screen("CANCELLED")
        assert (await citizen.send("finish"))["ok"]

        await to_bill(citizen, *BSNL)  # the voucher's own consumer, the keypad's "V-" kept
        result = await citizen.send("voucher", code=f"v-{code[:3]} {code[3:].lower()}")
        assert result["ok"], result
        state = await citizen.wait_for(
            lambda s: s["screen"] == "PAYING" and s["session"]["paid_paise"] == 50000, 10)
        assert state["message"]["key"] == "voucher_used"
        assert central_redeemed(h) == [(voucher["id"], 50000)]
        for wrong in ("12345", "GHIJKL"):  # not a code, not an id: never sent to central
            bad = await citizen.send("voucher", code=wrong)
            assert not bad["ok"] and bad["message_key"] == "voucher_code_invalid"
        journal_ok(h)
