"""Unplug and re-plug devices under a running kiosk: faults become visible within two watchdog
passes, services degrade and recover, and a payment in progress loses nothing.

"Plugging back" works as on a real kiosk: the device comes back under a new /dev/pts/N (like a
new /dev/ttyUSBn) and the stable name (a symlink, as the udev rule makes) is pointed at it."""

import asyncio
import os

from harness import KioskHarness

from sim.devices.ccnet import CCNETSimulator
from sim.devices.escpos_printer import PrinterSimulator

POLL_MS = 100  # watchdog pass = 5 x poll interval = 0.5 s


def relink(link, target):
    tmp = f"{link}.new"
    os.symlink(target, tmp)
    os.replace(tmp, link)


async def start_with_links(tmp_path, **overrides):
    acc_link, prn_link = tmp_path / "emitra-acceptor", tmp_path / "emitra-printer"
    h = KioskHarness(tmp_path, acceptor={"port": str(acc_link), "poll_interval_ms": POLL_MS},
                     printer={"port": str(prn_link)}, **overrides)
    await h.rig.start()
    relink(acc_link, h.acceptor_sim.path)
    relink(prn_link, h.printer_sim.path)
    await h.start_core()
    return h, acc_link, prn_link


async def wait_until(predicate, timeout=5.0):
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return True
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


async def test_printer_unplugged_and_back_degrades_then_restores_cash(tmp_path):
    h, _, prn_link = await start_with_links(tmp_path)
    try:
        async with h.client() as screen:
            assert screen.state["services"]["cash_payment"] is True
            await h.printer_sim.stop()
            # Within two watchdog passes (2 x 0.5 s, plus one status timeout) the fault shows.
            state = await screen.wait_for(lambda s: not s["services"]["cash_payment"], 2.5)
            assert state["devices"]["printer"]["state"] == "offline"
            assert "printer_unavailable" in state["services"]["reasons"]
            assert state["services"]["lookup"] is True

            new_printer = PrinterSimulator(tmp_path / "receipts2")
            await new_printer.start()
            h.rig.printer_sim = new_printer
            relink(prn_link, new_printer.path)
            state = await screen.wait_for(lambda s: s["services"]["cash_payment"], 10)
            assert state["devices"]["printer"]["state"] == "online"
            assert h.core.watchdog.reconnects["printer"] >= 1
    finally:
        await h.__aexit__(None, None, None)


async def test_acceptor_unplugged_mid_payment_then_back_payment_completes(tmp_path):
    h, acc_link, _ = await start_with_links(tmp_path)
    try:
        async with h.client() as citizen:
            await citizen.send("start", provider="PHED")
            await citizen.send("consumer", number="5012345678")
            await citizen.wait_screen("BILL")
            await citizen.send("confirm")
            await citizen.wait_screen("PAYING")
            h.acceptor_sim.insert_note(200)
            await citizen.wait_for(lambda s: s["session"]["paid_paise"] == 20000)

            await h.acceptor_sim.stop()
            state = await citizen.wait_for(
                lambda s: s["devices"]["acceptor"]["state"] == "offline", 2.5)
            # Safe state: still paying, the money is shown as in the machine, nothing lost.
            assert state["screen"] == "PAYING"
            assert state["session"]["paid_paise"] == 20000
            assert state["session"]["cash_in_machine"] is True

            new_acceptor = CCNETSimulator()
            await new_acceptor.start()
            h.rig.acceptor_sim = new_acceptor
            relink(acc_link, new_acceptor.path)
            await citizen.wait_for(lambda s: s["devices"]["acceptor"]["state"] == "online", 15)
            # The watchdog re-enabled the notes the session still needs.
            await wait_until(lambda: new_acceptor.enabled_mask != 0, 5)
            new_acceptor.insert_note(200)
            done = await citizen.wait_screen("DONE", timeout=20)
            assert done["session"]["paid_paise"] == 40000
            assert done["session"]["amount_paise"] == 35000
            # Water takes advance payment: the ₹50 over is credited to the account.
            assert done["session"]["advance"]["paise"] == 5000
    finally:
        await h.__aexit__(None, None, None)


async def test_reconnect_backoff_is_bounded(tmp_path):
    h, _, _ = await start_with_links(tmp_path)
    try:
        wd = h.core.watchdog
        wd.backoff_max_s = 0.4
        await h.printer_sim.stop()  # and never comes back
        await wait_until(lambda: wd.retries.get("printer") is not None
                         and wd.retries["printer"].attempts >= 4, 10)
        assert wd.retries["printer"].delay <= 0.4
        assert h.core.kiosk.services()["cash_payment"] is False
    finally:
        await h.__aexit__(None, None, None)
