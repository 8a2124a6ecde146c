"""Advance credit instead of a voucher (issue 13): JVVNL takes advance payment (central's
catalogue), so the overshoot of a ₹640 bill paid with two ₹500 notes goes to the consumer's
account with the payment (tests/test_flow.py, test_640_bill_with_two_500_notes_completes). Here:
the operator's kill-switch `[payment] advance_credit = false` brings back the voucher and the
site's voucher limit; the rules themselves, and the dialect that cannot carry an advance. Real
core, simulators on ptys, the reference central on loopback."""

import asyncio

from harness import KioskHarness

from sim.central import voucher_routes
from terminal.invariant import check_journal, check_projections
from terminal.journal import Journal

JVVNL = ("JVVNL", "210412345678")  # ₹640 due


async def pay_with(citizen, h, bill, notes):
    assert (await citizen.send("start", provider=bill[0]))["ok"]
    assert (await citizen.send("consumer", number=bill[1]))["ok"]
    await citizen.wait_screen("BILL")
    assert (await citizen.send("confirm"))["ok"]
    await citizen.wait_screen("PAYING")
    total = 0
    for rupees in notes[:-1]:
        h.acceptor_sim.insert_note(rupees)
        total += rupees * 100
        state = await citizen.wait_for(lambda s, t=total: s["session"]["paid_paise"] == t)
    h.acceptor_sim.insert_note(notes[-1])
    return state, await citizen.wait_screen("DONE", timeout=20)


def journal_report(h) -> dict:
    journal = Journal(h.config["journal"]["path"])
    try:
        report = check_journal(journal)
        assert report["ok"], report["problems"]
        assert check_projections(journal)["ok"]
        return report
    finally:
        journal.close()


async def posted(h, timeout=10.0):
    for _ in range(int(timeout * 10)):
        if h.core.kiosk.outbox.depth() == 0 and h.central.payments():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the payment never reached central")


async def test_kill_switch_off_electricity_keeps_the_sites_voucher_limit(tmp_path):
    async with KioskHarness(tmp_path, payment={"advance_credit": False}) as h, \
            h.client() as citizen:
        assert (await citizen.send("start", provider=JVVNL[0]))["ok"]
        assert (await citizen.send("consumer", number=JVVNL[1]))["ok"]
        await citizen.wait_screen("BILL")
        assert (await citizen.send("confirm"))["ok"]
        await citizen.wait_screen("PAYING")
        h.acceptor_sim.insert_note(500)
        state = await citizen.wait_for(lambda s: s["session"]["paid_paise"] == 50000)
        # ₹500 on the ₹140 left is ₹360 over the site's ₹100: with advance credit off here,
        # JVVNL's own limit (an advance's) does not apply to a voucher.
        assert 50000 not in state["session"]["accepted_now_paise"]
        assert 20000 in state["session"]["accepted_now_paise"]
        assert (await citizen.send("cancel"))["ok"]


async def test_advance_credit_off_the_overshoot_is_a_voucher(tmp_path):
    site = {"advance_credit": False, "max_overpay_paise": 40000}
    async with KioskHarness(tmp_path, payment=site) as h, h.client() as citizen:
        _, done = await pay_with(citizen, h, JVVNL, [500, 500])
        s = done["session"]
        assert s["amount_paise"] == 64000 and s["voucher"]["paise"] == 36000
        assert s["advance"] is None
        await posted(h)
        assert voucher_routes.advances(h.central.store) == []
        assert journal_report(h)["totals"]["advance"] == 0


def test_advance_credit_is_never_on_with_the_b2b_dialect():
    """Its payment has no field for an advance: the overshoot would be posted nowhere."""
    from terminal.advance_credit import enabled

    assert enabled({"payment": {"advance_credit": True}, "central": {"dialect": "reference"}})
    assert not enabled({"payment": {"advance_credit": True},
                        "central": {"dialect": "emitra_b2b"}})
    assert not enabled({"payment": {"advance_credit": False}, "central": {}})


def test_advance_credit_is_on_by_default():
    from terminal.advance_credit import enabled
    from terminal.config import load_config

    assert enabled(load_config())


def test_overshoot_limits_follow_the_catalogue():
    from terminal.advance_credit import advance_cap, overshoot_limit

    site = 10000
    assert overshoot_limit("JVVNL", site) == 500000  # an advance: no practical limit
    assert overshoot_limit("PHED", site) == 500000  # water takes advance payment too
    assert overshoot_limit("BSNL", site) == 50000  # its own voucher limit, not the site's
    assert overshoot_limit("JVVNL", site, on=False) == site  # kill-switch: a voucher again
    assert overshoot_limit("NOPE", site) == site
    assert advance_cap("JVVNL") == 500000 and advance_cap("BSNL") == 0
    assert advance_cap("JVVNL", on=False) == 0


def test_a_provider_whose_entry_sets_no_limit_has_the_sites():
    """0 in a catalogue from before the kiosk applied the field: never "exact notes only"."""
    import copy

    from terminal import catalogue
    from terminal.advance_credit import overshoot_limit
    from terminal.catalogue_builtin import BUILTIN

    doc = copy.deepcopy(BUILTIN)
    for p in doc["providers"]:
        p["max_overshoot_paise"] = 0
    before = catalogue.current()
    catalogue.install(catalogue.validate(doc))
    try:
        assert overshoot_limit("BSNL", 10000) == 10000
        assert overshoot_limit("JVVNL", 10000) == 10000  # no room for an advance: a voucher
    finally:
        catalogue.install(before)


def test_an_overshoot_beyond_what_the_account_takes_is_a_voucher():
    """A large voucher redeemed toward a small bill: the account takes up to its cap."""
    from terminal.session import split

    assert split(100000, 64000, 500000) == (64000, 36000, 0)
    assert split(100000, 64000, 10000) == (64000, 10000, 26000)
    assert split(100000, 64000, 0) == (64000, 0, 36000)
    assert split(50000, 64000, 500000) == (0, 0, 50000)  # not covered: all a voucher
