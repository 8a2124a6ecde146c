"""A part payment on the screen (terminal/part_payment.py), against the real core, the simulators
and the reference central: PHED takes part payments, so after ₹200 of a ₹350 water bill the
paying screen offers "pay just ₹200 now", and the done screen says what the bill still asks.

Screenshots: docs/screens/part-payment-paying-*, part-payment-done-* (both languages)."""

from __future__ import annotations

import pytest

from tests.harness import KioskHarness
from tests.test_ui import screen, shot, start_language

PHED = ("PHED", "5012345678")  # ₹350 due
WORDS = {"hi": ("अभी ₹200 ही भरें (बाकी ₹150 बिल में रहेगा)", "बिल में बाकी: ₹150"),
         "en": ("Pay just ₹200 now (₹150 stays on the bill)", "Still due on this bill: ₹150")}


@pytest.mark.parametrize("lang", ["hi", "en"])
async def test_pay_part_of_a_water_bill_from_the_paying_screen(tmp_path, lang):
    button, still_due = WORDS[lang]
    async with KioskHarness(tmp_path) as h, screen(h, tmp_path, lang) as ui:
        await start_language(ui, lang)
        await ui.tap("tile_water")  # one water company: straight to the number
        await ui.wait("identify")
        await ui.type_digits(PHED[1])
        await ui.tap("key_continue")
        await ui.wait("bill")
        await ui.tap("confirm")
        paying = await ui.wait("paying")
        assert not paying["texts"].get("pay_part")  # nothing in yet: nothing to offer

        h.acceptor_sim.insert_note(200)
        offered = await ui.wait("paying", tid="pay_part", contains="₹200", timeout=20)
        assert offered["texts"]["pay_part"] == button
        await shot(ui, "part-payment-paying", lang)

        await ui.tap("pay_part")
        done = await ui.wait("done", tid="done_extras", contains="₹150", timeout=30)
        assert done["texts"]["done_extras"] == still_due
        assert done["texts"]["done_amount"].endswith("₹200")
        await shot(ui, "part-payment-done", lang)
        [payment] = h.central.payments()
        assert payment["amount_paise"] == 20000
        assert h.central.store.find_bill(*PHED)["due_paise"] == 15000
