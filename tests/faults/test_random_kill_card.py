"""Power cut at a random moment of a card payment (the PC/SC stack: pcscd + vpcd + our card
emulator, and the reference central), as tests/faults/test_random_kill.py does for cash.

The PHED bill (₹350) is paid by RuPay card with the right PIN, first once un-killed to measure
the payment, then with the core SIGKILLed at a seeded random moment over that duration (card
read, PIN, ARQC, authorisation at central, posting, printing), restarted and recovered. The card
stays in the reader across the kill. Per run: what central approved on the card is what the
journal holds as authorised, and it is paid to the bill at central exactly once (or vouchered);
the cassette is empty. Runs in its own pytest process (Makefile PCSC_TESTS).
"""

from __future__ import annotations

import time

import pytest
import test_card_pcsc as pcsc_tests
from kill_helpers import assert_no_rupee_lost, kill_runs
from test_card_flow import PIN_OK, enter_pin, open_bill

from sim.session_client import SessionClient

pcscd = pcsc_tests.pcscd
emulators = pcsc_tests.emulators
from test_card_payment import _pcscd_gap  # noqa: E402,F401  (autouse, module scope)

CARD_SITE = {"card": {"enabled": True, "reader": pcsc_tests.READER, "insert_timeout_s": 20}}


@pytest.mark.timeout(0)  # each run is bounded by kill_helpers.RUN_TIMEOUT_S
async def test_power_cut_at_a_random_moment_of_a_card_payment_pays_once(
        tmp_path, capsys, pcscd, runs_per_variant):
    cards: list[pcsc_tests.Emulator] = []

    async def pay_card(url, rig, started, marks) -> None:
        async with SessionClient(url) as citizen:
            await citizen.wait_for(lambda s: s["services"]["card_payment"], 20)
            marks["t0"] = time.monotonic()
            started.set()
            await open_bill(citizen)
            assert (await citizen.send("pay_card"))["ok"]
            await citizen.wait_screen("CARD")
            cards.append(pcsc_tests.Emulator("--pin", PIN_OK))  # the citizen's card goes in
            assert (await enter_pin(citizen, PIN_OK))["ok"]
            await citizen.wait_screen("DONE", timeout=30)
            marks["done"] = time.monotonic()

    def take_card_out() -> None:
        while cards:
            cards.pop().stop()

    outcomes = await kill_runs(tmp_path, capsys, "card", runs_per_variant,
                               after_each=take_card_out, citizen=pay_card,
                               site_sections=CARD_SITE)
    assert len(outcomes) == runs_per_variant
    assert all(o.cassette == [] for o in outcomes)
    assert_no_rupee_lost("card", outcomes)
