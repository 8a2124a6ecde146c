"""The reference central server (sim/central/) over real HTTP on loopback.

The signer below is written from the spec (docs/central-api.md) and shares no code with the
server's check or with the terminal's client.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from sim.central.server import CentralServer, make_app

ROOT = Path(__file__).resolve().parents[1]
TERMINAL = "RJ-JPR-0001"
SECRET = "demo-secret"
RECEIPT_KEY = "central-receipt-key"
TERMINALS = {TERMINAL: SECRET, "RJ-UDR-0002": "other-secret"}

JVVNL_BILL = "B-JVVNL-210412345678-202610"


# -- a tiny independent signer -------------------------------------------------------------------


def signed_headers(
    method: str,
    path_qs: str,
    body: bytes = b"",
    *,
    terminal: str = TERMINAL,
    secret: str = SECRET,
    ts: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    ts_text = str(int(time.time()) if ts is None else ts)
    nonce = nonce or os.urandom(16).hex()
    lines = [method.upper(), path_qs, ts_text, nonce, hashlib.sha256(body).hexdigest()]
    mac = hmac.new(secret.encode(), "\n".join(lines).encode(), hashlib.sha256).hexdigest()
    return {
        "X-Terminal-Id": terminal,
        "X-Timestamp": ts_text,
        "X-Nonce": nonce,
        "X-Signature": mac,
        "Content-Type": "application/json",
    }


async def call(
    session: aiohttp.ClientSession,
    base: str,
    method: str,
    path_qs: str,
    payload: Any = None,
    *,
    raw: bytes | None = None,
    **sign: Any,
) -> tuple[int, Any]:
    """A signed request; returns (status, parsed JSON body)."""
    if raw is None:
        raw = b"" if payload is None else json.dumps(payload).encode()
    headers = signed_headers(method, path_qs, raw, **sign)
    async with session.request(method, base + path_qs, data=raw, headers=headers) as resp:
        return resp.status, await resp.json(content_type=None)


def payment(txn_id: str = "T-0001", **over: Any) -> dict[str, Any]:
    body = {
        "txn_id": txn_id,
        "bill_id": JVVNL_BILL,
        "provider": "JVVNL",
        "consumer_number": "210412345678",
        "amount_paise": 64000,
        "tendered_paise": 70000,
        "notes": [50000, 20000],
        "paid_at": "2026-11-23T10:15:00Z",
        "voucher_id": "V-0001",
        "voucher_paise": 6000,
    }
    body.update(over)
    return body


def expected_code(txn_id: str, receipt_no: str) -> str:
    msg = f"{txn_id}|{receipt_no}".encode()
    return hmac.new(RECEIPT_KEY.encode(), msg, hashlib.sha256).hexdigest()[:16]


@pytest.fixture
async def central():
    server = CentralServer(terminals=TERMINALS)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        yield session


# -- catalogue and bills -------------------------------------------------------------------------


async def test_services(central, http):
    status, body = await call(http, central.url, "GET", "/v1/services")
    assert status == 200
    services = {s["service"]: [p["code"] for p in s["providers"]] for s in body["services"]}
    assert services == {
        "electricity": ["JVVNL", "AVVNL", "JdVVNL"],
        "water": ["PHED"],
        "phone": ["BSNL"],
    }
    jvvnl = body["services"][0]["providers"][0]
    assert jvvnl["name_en"] == "Jaipur Vidyut Vitran Nigam"
    assert jvvnl["name_hi"] == "जयपुर विद्युत वितरण निगम"


@pytest.mark.parametrize(
    "provider, consumer, due, service",
    [
        ("JVVNL", "210412345678", 64000, "electricity"),
        ("AVVNL", "110298765432", 123550, "electricity"),
        ("JdVVNL", "310455566677", 200000, "electricity"),
        ("PHED", "5012345678", 35000, "water"),
        ("BSNL", "0141222333", 49900, "phone"),
    ],
)
async def test_seeded_bills(central, http, provider, consumer, due, service):
    status, bill = await call(
        http, central.url, "GET", f"/v1/bills?provider={provider}&consumer={consumer}"
    )
    assert status == 200
    assert bill["provider"] == provider
    assert bill["consumer_number"] == consumer
    assert bill["service"] == service
    assert bill["due_paise"] == due
    assert bill["status"] == "unpaid"
    assert bill["bill_id"].startswith("B-")
    assert set(bill) == {
        "bill_id",
        "provider",
        "service",
        "consumer_number",
        "consumer_name",
        "consumer_name_hi",  # the name in Devanagari (issue 14), "" when none
        "period",
        "due_paise",
        "due_date",
        "status",
    }
    assert bill["consumer_name_hi"] and "\u0900" <= bill["consumer_name_hi"][0] <= "\u097f"


@pytest.mark.parametrize(
    "query, status, code",
    [
        ("provider=JVVNL", 400, "bad_request"),
        ("consumer=210412345678", 400, "bad_request"),
        ("provider=JVVNL&consumer=21041234567x", 400, "bad_request"),
        ("provider=JVVNL&consumer=999999999999", 404, "bill_not_found"),
        ("provider=NOPE&consumer=210412345678", 404, "bill_not_found"),
    ],
)
async def test_bill_errors(central, http, query, status, code):
    got, body = await call(http, central.url, "GET", f"/v1/bills?{query}")
    assert (got, body["error"]) == (status, code)
    assert body["message"]


# -- signing -------------------------------------------------------------------------------------


async def test_signature_failures(central, http):
    url = central.url
    now = int(time.time())
    cases = [
        ({"terminal": "RJ-XXX-9999"}, "unknown_terminal"),
        ({"secret": "wrong-secret"}, "bad_signature"),
        ({"ts": now - 400}, "stale_timestamp"),  # margin: a loaded CI can take seconds
        ({"ts": now + 400}, "stale_timestamp"),
    ]
    for sign, code in cases:
        status, body = await call(http, url, "GET", "/v1/services", **sign)
        assert (status, body["error"]) == (401, code), sign

    # A signature over another path, another body, or with the headers missing.
    headers = signed_headers("GET", "/v1/bills?provider=JVVNL&consumer=1")
    async with http.get(url + "/v1/bills?provider=JVVNL&consumer=2", headers=headers) as resp:
        assert resp.status == 401 and (await resp.json())["error"] == "bad_signature"
    headers = signed_headers("POST", "/v1/heartbeat", b'{"a": 1}')
    async with http.post(url + "/v1/heartbeat", data=b'{"a": 2}', headers=headers) as resp:
        assert resp.status == 401 and (await resp.json())["error"] == "bad_signature"
    headers = signed_headers("GET", "/v1/services")
    del headers["X-Nonce"]
    async with http.get(url + "/v1/services", headers=headers) as resp:
        assert resp.status == 401 and (await resp.json())["error"] == "bad_signature"
    async with http.get(url + "/v1/services") as resp:
        assert resp.status == 401 and (await resp.json())["error"] == "unknown_terminal"
    assert central.heartbeats() == []


async def test_replayed_nonce(central, http):
    nonce = secrets.token_hex(16)
    assert (await call(http, central.url, "GET", "/v1/services", nonce=nonce))[0] == 200
    status, body = await call(http, central.url, "GET", "/v1/services", nonce=nonce)
    assert (status, body["error"]) == (401, "replayed_nonce")
    # Nonces are per terminal: another terminal may use the same one.
    status, _ = await call(
        http,
        central.url,
        "GET",
        "/v1/services",
        nonce=nonce,
        terminal="RJ-UDR-0002",
        secret="other-secret",
    )
    assert status == 200


async def test_timestamp_window_is_300_seconds_exactly(aiohttp_client):
    now = 1_800_000_000
    client = await aiohttp_client(make_app(terminals=TERMINALS, clock=lambda: float(now)))

    async def status_at(ts: int) -> int:
        headers = signed_headers("GET", "/v1/services", ts=ts, nonce=secrets.token_hex(16))
        async with client.get("/v1/services", headers=headers) as resp:
            return resp.status

    assert [await status_at(now + d) for d in (-300, 300)] == [200, 200]
    assert [await status_at(now + d) for d in (-301, 301)] == [401, 401]


async def test_nonce_memory_is_600_seconds(aiohttp_client):
    now = [1_800_000_000.0]
    client = await aiohttp_client(make_app(terminals=TERMINALS, clock=lambda: now[0]))
    nonce = secrets.token_hex(16)

    async def get(ts: int) -> tuple[int, Any]:
        headers = signed_headers("GET", "/v1/services", ts=ts, nonce=nonce)
        async with client.get("/v1/services", headers=headers) as resp:
            return resp.status, await resp.json()

    assert (await get(int(now[0])))[0] == 200
    now[0] += 599
    assert (await get(int(now[0])))[1]["error"] == "replayed_nonce"
    now[0] += 2
    assert (await get(int(now[0])))[0] == 200


async def test_nonce_and_receipts_survive_restart(tmp_path, http):
    db = tmp_path / "central.sqlite"
    nonce = secrets.token_hex(16)
    async with CentralServer(db_path=db) as first:
        assert (await call(http, first.url, "GET", "/v1/services", nonce=nonce))[0] == 200
        status, reply = await call(http, first.url, "POST", "/v1/payments", payment())
        assert (status, reply["receipt_no"]) == (201, "RCPT-000001")
    async with CentralServer(db_path=db) as second:
        status, body = await call(http, second.url, "GET", "/v1/services", nonce=nonce)
        assert (status, body["error"]) == (401, "replayed_nonce")
        assert (await call(http, second.url, "POST", "/v1/payments", payment()))[1] == reply
        status, bill = await call(
            http, second.url, "GET", "/v1/bills?provider=AVVNL&consumer=110298765432"
        )
        body = payment(
            "T-0002",
            bill_id=bill["bill_id"],
            provider="AVVNL",
            consumer_number="110298765432",
            amount_paise=123550,
        )
        status, reply2 = await call(http, second.url, "POST", "/v1/payments", body)
        assert (status, reply2["receipt_no"]) == (201, "RCPT-000002")
        assert len(second.payments()) == 2


# -- payments ------------------------------------------------------------------------------------


async def test_payment_posts_and_marks_bill_paid(central, http):
    status, reply = await call(http, central.url, "POST", "/v1/payments", payment())
    assert status == 201
    assert reply == {
        "receipt_no": "RCPT-000001",
        "txn_id": "T-0001",
        "status": "posted",
        "verification": expected_code("T-0001", "RCPT-000001"),
    }
    status, bill = await call(
        http, central.url, "GET", "/v1/bills?provider=JVVNL&consumer=210412345678"
    )
    assert (status, bill["status"]) == (200, "paid")
    [row] = central.payments()
    assert row["txn_id"] == "T-0001"
    assert row["receipt_no"] == "RCPT-000001"
    assert row["amount_paise"] == 64000
    assert row["bill_id"] == JVVNL_BILL
    assert row["notes"] == [50000, 20000]
    assert row["terminal_id"] == TERMINAL
    async with http.get(central.url + "/_sim/payments") as resp:
        assert resp.status == 200
        assert (await resp.json())["payments"] == [row]

    status, bill = await call(
        http, central.url, "GET", "/v1/bills?provider=PHED&consumer=5012345678"
    )
    body = payment(
        "T-0002",
        bill_id=bill["bill_id"],
        provider="PHED",
        consumer_number="5012345678",
        amount_paise=35000,
        tendered_paise=35000,
        notes=[20000, 10000, 5000],
        voucher_id=None,
        voucher_paise=0,
    )
    status, reply = await call(http, central.url, "POST", "/v1/payments", body)
    assert (status, reply["receipt_no"]) == (201, "RCPT-000002")


async def test_payment_idempotent_repeat_and_conflict(central, http):
    first = await call(http, central.url, "POST", "/v1/payments", payment())
    assert first[0] == 201
    again = await call(http, central.url, "POST", "/v1/payments", payment())
    assert again == (200, first[1])
    # Same JSON with another key order and spacing is the same body.
    reordered = json.dumps(dict(reversed(list(payment().items()))), indent=2).encode()
    assert await call(http, central.url, "POST", "/v1/payments", raw=reordered) == again
    status, body = await call(
        http, central.url, "POST", "/v1/payments", payment(amount_paise=60000)
    )
    assert (status, body["error"]) == (409, "idempotency_conflict")
    status, body = await call(
        http, central.url, "POST", "/v1/payments", payment(bill_id="B-PHED-5012345678-202610")
    )
    assert (status, body["error"]) == (409, "idempotency_conflict")
    assert len(central.payments()) == 1


async def test_concurrent_identical_posts_make_one_row(central, http):
    results = await asyncio.gather(
        *(call(http, central.url, "POST", "/v1/payments", payment()) for _ in range(5))
    )
    assert sorted(status for status, _ in results) == [200, 200, 200, 200, 201]
    assert len({json.dumps(reply, sort_keys=True) for _, reply in results}) == 1
    assert len(central.payments()) == 1


async def test_amount_mismatch_and_already_paid(central, http):
    status, body = await call(
        http, central.url, "POST", "/v1/payments", payment(amount_paise=63900)
    )
    assert (status, body["error"]) == (422, "amount_mismatch")
    assert central.payments() == []
    assert (await call(http, central.url, "POST", "/v1/payments", payment()))[0] == 201
    status, body = await call(http, central.url, "POST", "/v1/payments", payment("T-0002"))
    assert (status, body["error"]) == (409, "already_paid")
    status, body = await call(
        http, central.url, "POST", "/v1/payments", payment("T-0003", bill_id="B-NOPE")
    )
    assert (status, body["error"]) == (404, "bill_not_found")
    assert len(central.payments()) == 1


@pytest.mark.parametrize(
    "raw",
    [
        b"this is not json",
        b"[1, 2, 3]",
        b"",
        json.dumps(payment(amount_paise="64000")).encode(),
        json.dumps(payment(amount_paise=True)).encode(),
        json.dumps({k: v for k, v in payment().items() if k != "txn_id"}).encode(),
        json.dumps(payment(notes="50000")).encode(),
    ],
)
async def test_bad_bodies(central, http, raw):
    status, body = await call(http, central.url, "POST", "/v1/payments", raw=raw)
    assert (status, body["error"]) == (400, "bad_request")
    assert central.payments() == []


# -- receipts ------------------------------------------------------------------------------------


async def test_verify_receipt(central, http):
    _, reply = await call(http, central.url, "POST", "/v1/payments", payment())
    code = reply["verification"]
    status, body = await call(
        http, central.url, "GET", f"/v1/receipts/verify?txn_id=T-0001&code={code}"
    )
    assert status == 200
    assert body == {
        "result": "genuine",
        "txn_id": "T-0001",
        "receipt_no": "RCPT-000001",
        "amount_paise": 64000,
        "provider": "JVVNL",
        "paid_at": "2026-11-23T10:15:00Z",
    }
    wrong = "0" * 16 if code != "0" * 16 else "1" * 16
    _, body = await call(
        http, central.url, "GET", f"/v1/receipts/verify?txn_id=T-0001&code={wrong}"
    )
    assert body == {"result": "not_genuine"}
    _, body = await call(http, central.url, "GET", f"/v1/receipts/verify?txn_id=T-9999&code={code}")
    assert body == {"result": "unknown"}
    status, body = await call(http, central.url, "GET", "/v1/receipts/verify?txn_id=T-0001")
    assert (status, body["error"]) == (400, "bad_request")


# -- vouchers ------------------------------------------------------------------------------------


async def test_vouchers(central, http):
    url = central.url
    voucher = {
        "voucher_id": "V-0001",
        "txn_id": "T-0001",
        "amount_paise": 6000,
        "issued_at": "2026-11-23T10:15:01Z",
    }
    active = {"voucher_id": "V-0001", "amount_paise": 6000, "status": "active"}
    redeemed = dict(active, status="redeemed")
    assert await call(http, url, "POST", "/v1/vouchers", voucher) == (201, active)
    assert await call(http, url, "POST", "/v1/vouchers", voucher) == (200, active)
    status, body = await call(http, url, "POST", "/v1/vouchers", dict(voucher, amount_paise=1))
    assert (status, body["error"]) == (409, "idempotency_conflict")
    assert await call(http, url, "GET", "/v1/vouchers/V-0001") == (200, active)
    status, body = await call(http, url, "GET", "/v1/vouchers/V-NOPE")
    assert (status, body["error"]) == (404, "voucher_not_found")

    redeem = "/v1/vouchers/V-0001/redeem"
    assert await call(http, url, "POST", redeem, {"txn_id": "T-0050"}) == (200, redeemed)
    assert await call(http, url, "POST", redeem, {"txn_id": "T-0050"}) == (200, redeemed)
    status, body = await call(http, url, "POST", redeem, {"txn_id": "T-0051"})
    assert (status, body["error"]) == (409, "already_redeemed")
    assert await call(http, url, "GET", "/v1/vouchers/V-0001") == (200, redeemed)
    status, body = await call(http, url, "POST", "/v1/vouchers/V-NOPE/redeem", {"txn_id": "T-1"})
    assert (status, body["error"]) == (404, "voucher_not_found")
    status, body = await call(http, url, "POST", redeem, {})
    assert (status, body["error"]) == (400, "bad_request")

    [row] = central.vouchers()
    assert row["voucher_id"] == "V-0001" and row["status"] == "redeemed"
    assert row["redeemed_txn_id"] == "T-0050" and row["txn_id"] == "T-0001"
    async with http.get(url + "/_sim/vouchers") as resp:
        assert (await resp.json())["vouchers"] == [row]


# -- heartbeat -----------------------------------------------------------------------------------


async def test_heartbeat(central, http):
    beat = {"terminal_id": TERMINAL, "uptime_s": 12, "devices": {"printer": "ONLINE"}}
    status, body = await call(http, central.url, "POST", "/v1/heartbeat", beat)
    assert (status, body) == (200, {"ok": True, "commands": []})
    [row] = central.heartbeats()
    assert row["terminal_id"] == TERMINAL and row["body"] == beat
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row["received_at"])

    central.queue_command("out_of_service", TERMINAL)
    async with http.post(
        central.url + "/_sim/commands", json={"command": "reboot_at_idle"}
    ) as resp:
        assert resp.status == 200
    _, body = await call(http, central.url, "POST", "/v1/heartbeat", beat)
    assert body["commands"] == [{"command": "out_of_service"}, {"command": "reboot_at_idle"}]
    _, body = await call(http, central.url, "POST", "/v1/heartbeat", beat)
    assert body["commands"] == []
    status, body = await call(http, central.url, "POST", "/v1/heartbeat", raw=b"[]")
    assert (status, body["error"]) == (400, "bad_request")


# -- faults and robustness -----------------------------------------------------------------------


async def test_fail_next_http500_and_garbage(central, http):
    central.fail_next("http500", count=2)
    for _ in range(2):
        status, body = await call(http, central.url, "POST", "/v1/payments", payment())
        assert (status, body["error"]) == (500, "internal_error")
    assert central.payments() == []
    assert (await call(http, central.url, "GET", "/v1/services"))[0] == 200

    async with http.post(central.url + "/_sim/fail", json={"mode": "garbage"}) as resp:
        assert resp.status == 200
    headers = signed_headers("GET", "/v1/services")
    async with http.get(central.url + "/v1/services", headers=headers) as resp:
        assert resp.status == 200
        with pytest.raises(ValueError):
            json.loads(await resp.read())
    assert (await call(http, central.url, "GET", "/v1/services"))[0] == 200

    central.fail_next("http500", count=5)
    central.fail_next("none")
    assert (await call(http, central.url, "GET", "/v1/services"))[0] == 200
    async with http.post(central.url + "/_sim/fail", json={"mode": "explode"}) as resp:
        assert resp.status == 400 and (await resp.json())["error"] == "bad_request"


async def test_fail_next_slow(central, http):
    central.fail_next("slow")
    headers = signed_headers("GET", "/v1/services")
    with pytest.raises(asyncio.TimeoutError):
        async with http.get(
            central.url + "/v1/services",
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=0.3),
        ):
            pass
    assert (await call(http, central.url, "GET", "/v1/services"))[0] == 200


async def test_errors_are_json(central, http, monkeypatch):
    async with http.get(central.url + "/nowhere") as resp:
        assert resp.status == 404 and (await resp.json())["error"] == "not_found"
    status, body = await call(http, central.url, "GET", "/v1/payments")
    assert (status, body["error"]) == (405, "method_not_allowed")

    def boom(*args: Any) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(central.store, "find_bill", boom)
    headers = signed_headers("GET", "/v1/bills?provider=JVVNL&consumer=210412345678")
    async with http.get(
        central.url + "/v1/bills?provider=JVVNL&consumer=210412345678", headers=headers
    ) as resp:
        text = await resp.text()
    assert resp.status == 500
    assert json.loads(text)["error"] == "internal_error"
    assert "Traceback" not in text and "on fire" not in text


# -- the OpenAPI file ----------------------------------------------------------------------------


def _walk_refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        refs = [node["$ref"]] if "$ref" in node else []
        return refs + [r for value in node.values() for r in _walk_refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _walk_refs(value)]
    return []


async def test_openapi_describes_every_route_and_error():
    spec = yaml.safe_load((ROOT / "sim/central/openapi.yaml").read_text(encoding="utf-8"))
    assert spec["openapi"].startswith("3.0")
    app = make_app()
    served = {
        (route.resource.canonical, route.method.lower())
        for route in app.router.routes()
        if route.resource is not None
    }
    documented = {
        (path, method)
        for path, item in spec["paths"].items()
        for method in item
        if method in {"get", "post", "put", "delete", "patch"}
    }
    assert documented == served
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method != "parameters":
                assert op["responses"], (path, method)
    for ref in _walk_refs(spec):
        assert ref.startswith("#/"), ref
        node = spec
        for part in ref[2:].split("/"):
            node = node[part]
    # Every error code the server can send is in the Error schema.
    documented_codes = set(spec["components"]["schemas"]["Error"]["properties"]["error"]["enum"])
    source = "".join(
        (ROOT / "sim/central" / name).read_text(encoding="utf-8")
        for name in sorted(p.name for p in (ROOT / "sim/central").glob("*.py"))
    )
    sent = set(re.findall(r'(?:ApiError\(\s*\d+,\s*|AuthError\(\s*)"([a-z_]+)"', source))
    sent |= set(re.findall(r'error_response\(\s*\d+,\s*"([a-z_]+)"', source))
    sent |= {"not_found", "method_not_allowed", "too_large", "bad_request"}
    assert {"amount_mismatch", "already_paid", "replayed_nonce"} <= sent
    assert sent <= documented_codes


# -- the command line ----------------------------------------------------------------------------


def test_main_prints_url_and_stops_on_sigterm(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.central.server", "--db", str(tmp_path / "c.sqlite")]
        + ["--terminal", "RJ-KOT-0003=kota-secret"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url), url

        async def probe() -> int:
            async with aiohttp.ClientSession() as session:
                status, _ = await call(
                    session,
                    url,
                    "GET",
                    "/v1/services",
                    terminal="RJ-KOT-0003",
                    secret="kota-secret",
                )
                return status

        assert asyncio.run(probe()) == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert "RJ-KOT-0003 GET /v1/services 200" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# -- reply signatures and the newer fault modes --------------------------------------------------


def reply_ok(resp: aiohttp.ClientResponse, nonce: str, body: bytes, secret: str = SECRET) -> bool:
    """The reply MAC written from the spec: REPLY, status, nonce, Date, SHA-256(body)."""
    date = resp.headers.get("Date", "")
    lines = ["REPLY", str(resp.status), nonce, date, hashlib.sha256(body).hexdigest()]
    want = hmac.new(secret.encode(), "\n".join(lines).encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, resp.headers.get("X-Reply-Signature", ""))


async def signed_raw(http, base, method, path_qs, payload=None, **sign):
    raw = b"" if payload is None else json.dumps(payload).encode()
    headers = signed_headers(method, path_qs, raw, **sign)
    async with http.request(method, base + path_qs, data=raw, headers=headers) as resp:
        body = await resp.read()
        return resp, body, headers["X-Nonce"]


async def test_every_authenticated_answer_is_signed_for_its_nonce(central, http):
    for method, path, payload, status in [
        ("GET", "/v1/services", None, 200),
        ("POST", "/v1/payments", payment(), 201),
        ("GET", "/v1/bills?provider=JVVNL&consumer=999999999", None, 404),
    ]:
        resp, body, nonce = await signed_raw(http, central.url, method, path, payload)
        assert resp.status == status and reply_ok(resp, nonce, body)
        assert not reply_ok(resp, "0" * 32, body)  # bound to this request's nonce
    # A stale but correctly signed request: the 401 is signed, its Date is central's clock.
    resp, body, nonce = await signed_raw(http, central.url, "GET", "/v1/services",
                                         ts=int(time.time()) - 1000)
    assert resp.status == 401 and json.loads(body)["error"] == "stale_timestamp"
    assert reply_ok(resp, nonce, body)
    # Not authenticated: nothing to sign with.
    resp, body, nonce = await signed_raw(http, central.url, "GET", "/v1/services",
                                         secret="wrong")
    assert resp.status == 401 and "X-Reply-Signature" not in resp.headers


async def test_fail_modes_429_unsigned_lost_late(central, http):
    central.fail_next("http429")
    resp, body, nonce = await signed_raw(http, central.url, "POST", "/v1/payments", payment())
    assert resp.status == 429 and resp.headers["Retry-After"] == "1" and reply_ok(resp, nonce, body)
    assert central.payments() == []

    central.fail_next("unsigned")
    resp, body, _ = await signed_raw(http, central.url, "GET", "/v1/services")
    assert resp.status == 200 and "X-Reply-Signature" not in resp.headers

    central.fail_next("lost")
    async with aiohttp.ClientSession() as fresh:  # a fresh connection: no client-side retry
        with pytest.raises(aiohttp.ClientError):
            await signed_raw(fresh, central.url, "POST", "/v1/payments", payment("T-LOST"))
    assert [p["txn_id"] for p in central.payments()] == ["T-LOST"]  # committed, unanswered

    central.state.slow_seconds = 0.5
    central.fail_next("late")
    started = time.monotonic()
    resp, body, nonce = await signed_raw(
        http, central.url, "POST", "/v1/payments",
        payment("T-LATE", bill_id="B-AVVNL-110298765432-202610", provider="AVVNL",
                consumer_number="110298765432", amount_paise=123550))
    assert time.monotonic() - started >= 0.5 and resp.status == 201 and reply_ok(resp, nonce, body)
