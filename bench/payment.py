"""A whole payment on simulated hardware: the CCNET simulator paced at 9600 baud, the printer
simulator, the reference central, the real core; measured from the session API like a screen."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time

from sim.rig import SimRig
from sim.session_client import SessionClient
from terminal.config import load_config
from terminal.core import Core
from terminal.logs import setup_logging

# Seeded bills of the reference central, each paid exactly with three notes.
ROUNDS = [
    ("PHED", "5012345678", (200, 100, 50)),
    ("JdVVNL", "310411122233", (200, 200, 50)),
    ("PHED", "5098765432", (100, 10, 10)),
]


async def _run(rounds: int) -> tuple[list[float], list[float]]:
    credit_ms: list[float] = []
    payment_s: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        rig = SimRig(tmp, paced=True)
        await rig.start()
        core = Core(load_config(overrides=rig.overrides()))
        setup_logging(None, "WARNING")
        url = await core.start()
        try:
            async with SessionClient(url) as citizen:
                for provider, number, notes in ROUNDS[:rounds]:
                    start = time.perf_counter()
                    await citizen.send("start", provider=provider)
                    await citizen.send("consumer", number=number)
                    await citizen.send("confirm")
                    await citizen.wait_screen("PAYING")
                    paid = 0
                    for rupees in notes:
                        rig.acceptor_sim.insert_note(rupees)
                        stacked = len(rig.acceptor_sim.stacked) + 1
                        while len(rig.acceptor_sim.stacked) < stacked:
                            await asyncio.sleep(0.001)
                        t_stacked = time.perf_counter()
                        paid += rupees * 100
                        await citizen.wait_for(
                            lambda s, p=paid: (s["session"] or {}).get("paid_paise") == p
                            or s["screen"] in ("POSTING", "RECEIPT", "DONE"), 10)
                        credit_ms.append((time.perf_counter() - t_stacked) * 1000)
                    await citizen.wait_screen("DONE", timeout=60)
                    payment_s.append(time.perf_counter() - start)
                    await citizen.send("finish")
                    await citizen.wait_screen("IDLE")
        finally:
            await core.stop()
            await rig.stop()
    return credit_ms, payment_s


def main() -> None:
    credit_ms, payment_s = asyncio.run(_run(rounds=3))
    credit_ms.sort()
    print(f"acceptor.ccnet.stacked_to_screen_p50_ms: {statistics.median(credit_ms):.1f} ms")
    print(f"acceptor.ccnet.stacked_to_screen_max_ms: {credit_ms[-1]:.1f} ms")
    print(f"payment.three_notes_end_to_end_s: {statistics.median(payment_s):.2f} s")
