"""The drain before an upgrade, against a real core on the simulators: POST /drain takes the
kiosk out of service for new citizens while the one being served pays and finishes, /health
says when it is idle, DELETE /drain (or a restart) puts it back; the package's drain script
(debian/emitra-kiosk-drain) does the same through the core's heartbeat server."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import aiohttp
import pytest
from harness import KioskHarness

from terminal.heartbeat import start_heartbeat
from terminal.heartbeat_server import _loopback
from terminal.service_mode import DRAINING

ROOT = Path(__file__).resolve().parent.parent
DRAIN = ROOT / "debian" / "emitra-kiosk-drain"
TOKEN = "drain-test-heartbeat-token-5x9"
HB = {"token": TOKEN, "push_interval_s": 30}
CONSUMER = "210412345678"


async def call(method: str, url: str, token: str | None = TOKEN) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http, http.request(method, url, headers=headers) as r:
        if r.content_type != "application/json":
            return r.status, {"text": await r.text()}
        return r.status, await r.json()


async def health_until(url: str, predicate, timeout: float = 15.0) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        status, doc = await call("GET", url + "/health")
        assert status == 200, doc
        if predicate(doc):
            return doc
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"health never matched: drain {doc['drain']}, idle {doc['idle']}")
        await asyncio.sleep(0.05)


async def to_bill(citizen) -> None:
    assert (await citizen.send("start", provider="JVVNL"))["ok"]
    assert (await citizen.send("consumer", number=CONSUMER))["ok"]
    await citizen.wait_screen("BILL")


async def test_a_drain_lets_the_citizen_finish_then_refuses_new_ones(tmp_path):
    async with KioskHarness(tmp_path, heartbeat=HB) as h:
        url = (await start_heartbeat(h.core)).url
        assert (await call("POST", url + "/drain", token=None))[0] == 401
        assert (await call("POST", url + "/drain", token="wrong-token-wrong-token"))[0] == 401
        async with h.client() as citizen:
            await to_bill(citizen)
            status, body = await call("POST", url + "/drain")
            assert status == 200, body
            # Asked for, but the citizen at BILL is not cut off: not in effect yet.
            assert body["drain"]["requested"] and not body["drain"]["in_effect"]
            assert body["session_in_progress"] and not body["idle"]
            assert (await call("POST", url + "/drain"))[0] == 200  # asking twice is harmless

            assert (await citizen.send("confirm"))["ok"]
            await citizen.wait_screen("PAYING")
            h.acceptor_sim.insert_note(500)
            await citizen.wait_for(lambda s: s["session"]["paid_paise"] == 50000)
            h.acceptor_sim.insert_note(200)
            await citizen.wait_screen("DONE", timeout=20)
            # The payment ended: the drain is in effect at once, and the screen is told.
            assert h.core.kiosk.service_mode.has(DRAINING)
            state = await citizen.wait_for(lambda s: s["services"]["out_of_service"])
            assert not state["services"]["cash_payment"]
            # At DONE a new start would normally be taken; not while draining.
            refused = await citizen.send("start", provider="JVVNL")
            assert refused["ok"] is False and refused["message_key"] == "service_unavailable"
            doc = await health_until(url, lambda d: d["drain"]["in_effect"])
            assert doc["session_in_progress"] and not doc["idle"]  # the receipt screen is up
            assert "draining" in doc["out_of_service_reasons"]

            assert (await citizen.send("finish"))["ok"]
            await citizen.wait_screen("IDLE")
            doc = await health_until(url, lambda d: d["idle"])
            assert doc["outbox"]["depth"] == 0 and doc["drain"]["in_effect"]
            refused = await citizen.send("start", provider="JVVNL")
            assert refused["ok"] is False and refused["message_key"] == "service_unavailable"
            assert h.core.journal.count(("settled",)) == 1

            status, body = await call("DELETE", url + "/drain")
            assert status == 200, body
            assert body["drain"] == {"requested": False, "requested_at": None,
                                     "in_effect": False}
            state = await citizen.wait_for(lambda s: s["services"]["cash_payment"])
            assert not state["services"]["out_of_service"]
            assert (await citizen.send("start", provider="JVVNL"))["ok"]
            assert (await citizen.send("cancel"))["ok"]


async def test_a_drain_is_forgotten_by_a_restarted_core(tmp_path):
    async with KioskHarness(tmp_path, heartbeat=HB) as h:
        url = (await start_heartbeat(h.core)).url
        status, body = await call("POST", url + "/drain")
        assert status == 200 and body["drain"]["in_effect"] and body["idle"]
        assert (await call("GET", url + "/drain"))[0] == 405
        await h.stop_core()
        await h.start_core()  # the same journal and config: an upgrade that failed, say
        url = (await start_heartbeat(h.core)).url
        doc = await health_until(url, lambda d: True)
        assert doc["drain"] == {"requested": False, "requested_at": None, "in_effect": False}
        assert "draining" not in doc["out_of_service_reasons"]
        async with h.client() as citizen:
            await to_bill(citizen)
            assert (await citizen.send("cancel"))["ok"]


def test_drain_is_served_to_this_machine_only():
    assert _loopback("127.0.0.1") and _loopback("::1") and _loopback("::ffff:127.0.0.1")
    for remote in ("10.0.0.5", "192.168.1.20", "::ffff:10.0.0.5", "fe80::1", "", None, "x"):
        assert not _loopback(remote), remote


# ------------------------------------------------------------- the package's drain script


async def drain_script(site: Path, *args: str) -> tuple[int, str]:
    program = Path(sys.executable).parent / "emitra-kiosk"  # the kiosk's own config loader
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(DRAIN), "--always", "--config", str(site), "--program", str(program),
        "--interval", "0.1", *args, stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode, err.decode()


def site_for(tmp_path: Path, url: str) -> Path:
    port = url.rsplit(":", 1)[1]
    site = tmp_path / "site.toml"
    site.write_text(f'[heartbeat]\nbind = "127.0.0.1"\nport = {port}\ntoken = "{TOKEN}"\n')
    return site


@pytest.mark.timeout(180)
async def test_the_drain_script_waits_for_the_citizen_and_undo_reopens(tmp_path):
    async with KioskHarness(tmp_path, heartbeat=HB) as h:
        url = (await start_heartbeat(h.core)).url
        site = site_for(tmp_path, url)
        async with h.client() as citizen:
            await to_bill(citizen)
            script = asyncio.create_task(drain_script(site, "--timeout", "60"))
            await health_until(url, lambda d: d["drain"]["requested"])
            assert not script.done()
            assert (await citizen.send("confirm"))["ok"]
            await citizen.wait_screen("PAYING")
            h.acceptor_sim.insert_note(500)
            await citizen.wait_for(lambda s: s["session"]["paid_paise"] == 50000)
            h.acceptor_sim.insert_note(200)
            await citizen.wait_screen("DONE", timeout=20)
            await asyncio.sleep(0.5)
            assert not script.done()  # the receipt screen is still up
            assert (await citizen.send("finish"))["ok"]
            code, err = await script
            assert code == 0, err
            assert "a citizen session is in progress" in err and "idle" in err
            assert h.core.kiosk.service_mode.has(DRAINING)
            refused = await citizen.send("start", provider="JVVNL")
            assert refused["message_key"] == "service_unavailable"

            code, err = await drain_script(site, "--undo")
            assert code == 0, err
            assert not h.core.kiosk.service_mode.has(DRAINING)
            assert (await citizen.send("start", provider="JVVNL"))["ok"]
            # A drain that times out keeps the kiosk closed (the stop follows at once)...
            code, err = await drain_script(site, "--timeout", "0.5")
            assert code == 3 and "still busy" in err, err
            status, doc = await call("GET", url + "/health")
            assert doc["drain"]["requested"] and not doc["drain"]["in_effect"]
            # ...and the citizen who had just started is still served to the end.
            assert (await citizen.send("cancel"))["ok"]
            await citizen.wait_screen("CANCELLED")
            assert (await citizen.send("finish"))["ok"]
            await health_until(url, lambda d: d["drain"]["in_effect"] and d["idle"])
            assert (await drain_script(site, "--undo"))[0] == 0
