"""Two bill lookups in flight (two screens, or the screen and the scanner) must never show one
consumer's number with another consumer's bill. Failed on the old kiosk: the second number
overwrote the first while the first bill was on its way, and the screen paired them."""

import asyncio

from harness import KioskHarness

RAMESH = "210412345678"  # ₹640 due
KAVITA = "210487654321"  # ₹187.60 due


async def test_second_lookup_while_one_is_in_flight_is_refused(tmp_path):
    async with KioskHarness(tmp_path) as kiosk, kiosk.client() as screen, \
            kiosk.client() as scanner:
        await screen.send("start", provider="JVVNL")
        first, second = await asyncio.gather(
            screen.send("consumer", number=RAMESH), scanner.send("consumer", number=KAVITA)
        )
        assert first["ok"] and not second["ok"]
        assert second["message_key"] == "please_wait"
        state = await screen.wait_screen("BILL")
        session = state["session"]
        assert session["consumer_masked"].endswith(RAMESH[-4:])
        assert session["due_paise"] == 64000  # Ramesh's bill, with Ramesh's number


async def test_lookup_after_the_first_answer_shows_the_new_consumer(tmp_path):
    async with KioskHarness(tmp_path) as kiosk, kiosk.client() as screen:
        await screen.send("start", provider="JVVNL")
        assert (await screen.send("consumer", number=RAMESH))["ok"]
        assert (await screen.send("consumer", number=KAVITA))["ok"]
        state = await screen.wait_for(lambda s: s["session"]["due_paise"] == 18760)
        assert state["session"]["consumer_masked"].endswith(KAVITA[-4:])
