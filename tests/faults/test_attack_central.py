"""Attacks on the kiosk's link to central: a fake central on loopback (or a tampering proxy in
front of the reference one) answers with plausible replies it did not get from central.

Each one failed on the code before replies were signed: a forged 201 became `posted`, a forged
heartbeat reply took the kiosk out of service and asked for a reboot, a 1 MiB reply was read
whole, and central's answer to one payment was accepted as the answer to the next.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from email.utils import formatdate
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from test_central_faults import (
    PHED_DUE,
    SECRET,
    add_bills,
    assert_books_balance,
    central,  # noqa: F401 - fixture
    drain,
    make_outbox,
    settle,
)

from sim.central.server import CentralServer
from terminal.central import CentralClient, CentralError, ReferenceDialect
from terminal.invariant import check_journal

RECEIPT = {"receipt_no": "RCPT-999999", "status": "posted", "verification": "0123456789abcdef"}


def mac(secret: str, status: int, nonce: str, date: str, body: bytes) -> str:
    lines = ["REPLY", str(status), nonce, date, hashlib.sha256(body).hexdigest()]
    return hmac.new(secret.encode(), "\n".join(lines).encode(), hashlib.sha256).hexdigest()


class FakeCentral:
    """Any path, any method: the reply `answer(request, body)` builds."""

    def __init__(self, answer) -> None:
        self.answer = answer
        self.requests = 0
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        return await self.answer(request, await request.read())

    async def __aenter__(self) -> FakeCentral:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


def forged(how: str, status: int = 201, payload: dict[str, Any] | None = None):
    async def answer(request: web.Request, body: bytes) -> web.Response:
        reply = dict(payload or {**RECEIPT, "txn_id": json.loads(body or b"{}").get("txn_id")})
        raw = json.dumps(reply).encode()
        date = formatdate(usegmt=True)
        nonce = request.headers.get("X-Nonce", "")
        headers = {"Date": date}
        if how == "wrong_key":
            headers["X-Reply-Signature"] = mac("guessed-secret", status, nonce, date, raw)
        elif how == "other_nonce":
            headers["X-Reply-Signature"] = mac(SECRET, status, "0" * 32, date, raw)
        elif how == "garbage_signature":
            headers["X-Reply-Signature"] = "f" * 64
        return web.Response(status=status, body=raw, headers=headers,
                            content_type="application/json")

    return answer


@pytest.mark.parametrize("how", ["unsigned", "wrong_key", "other_nonce", "garbage_signature"])
async def test_forged_201_never_makes_a_payment_posted(tmp_path, how):
    async with FakeCentral(forged(how)) as fake:
        outbox, journal, dialect = make_outbox(tmp_path, fake.url)
        bill = {"bill_id": "B-PHED-5012345678-202610", "provider": "PHED", "service": "water",
                "consumer_number": "5012345678", "consumer_name": "Geeta Sharma",
                "period": "2026-10", "due_paise": PHED_DUE, "due_date": "2026-12-15"}
        settle(journal, bill, 1)
        for _ in range(3):
            outbox.kick()
            await outbox.flush()
        assert not list(journal.events(kinds=("posted", "post_refused", "refund_voucher")))
        assert fake.requests >= 2
        report = check_journal(journal)
        assert report["ok"] and report["totals"]["pending"] == PHED_DUE
        assert report["totals"]["posted"] == 0
        assert len(outbox.pending()) == 1 and "not signed" in (outbox.last_error or "")
        await dialect.close()


async def test_forged_final_refusal_is_not_final(tmp_path):
    """A forged 409 already_paid must not turn the citizen's payment into a voucher."""
    answer = forged("unsigned", 409, {"error": "already_paid", "message": "forged"})
    async with FakeCentral(answer) as fake:
        outbox, journal, dialect = make_outbox(tmp_path, fake.url)
        bill = {"bill_id": "B-X", "provider": "PHED", "service": "water",
                "consumer_number": "5012345678", "consumer_name": "", "period": "",
                "due_paise": PHED_DUE, "due_date": ""}
        settle(journal, bill, 1)
        await outbox.flush()
        assert not list(journal.events(kinds=("post_refused", "refund_voucher")))
        assert check_journal(journal)["totals"]["pending"] == PHED_DUE
        await dialect.close()


async def test_forged_heartbeat_reply_keeps_kiosk_in_service(tmp_path):
    from harness import KioskHarness

    from terminal.heartbeat import HeartbeatPusher

    commands = {"ok": True, "commands": [{"command": "out_of_service"},
                                         {"command": "reboot_at_idle"}]}
    async with FakeCentral(forged("unsigned", 200, commands)) as fake:
        async with KioskHarness(tmp_path, central={"url": fake.url}) as h:
            exits: list[tuple[int, str]] = []
            pusher = HeartbeatPusher(h.core, exit_hook=lambda code, why: exits.append((code, why)))
            assert await pusher.push() is False
            assert list(pusher.pending) == [] and pusher.reboot_requested is False
            assert exits == []
            assert not getattr(h.core.kiosk, "out_of_service_command", False)
            assert fake.requests >= 1


async def test_oversized_reply_is_refused_without_reading_it(tmp_path):
    """A correctly signed 201 of 1 MiB: bounded read, a network fault, not a payment."""

    async def huge(request: web.Request, body: bytes) -> web.Response:
        reply = {**RECEIPT, "txn_id": json.loads(body)["txn_id"], "pad": "x" * (1 << 20)}
        raw = json.dumps(reply).encode()
        date = formatdate(usegmt=True)
        sig = mac(SECRET, 201, request.headers["X-Nonce"], date, raw)
        return web.Response(status=201, body=raw, content_type="application/json",
                            headers={"Date": date, "X-Reply-Signature": sig})

    async with FakeCentral(huge) as fake:
        client = CentralClient(fake.url, "RJ-JPR-0001", SECRET, timeout_s=3)
        with pytest.raises(CentralError) as info:
            await client.request("POST", "/v1/payments", body={"txn_id": "T-1"})
        assert info.value.retryable and "too large" in str(info.value)
        await client.close()


async def test_an_answer_delivered_twice_is_not_the_answer_to_the_next_request(
        tmp_path, central):  # noqa: F811 - fixture
    """A proxy hands the kiosk central's genuine answer to payment 1 again as the answer to
    payment 2. The signature binds an answer to its request's nonce: payment 2 is retried."""
    captured: dict[str, Any] = {}
    mode = {"replay": True}

    async with aiohttp.ClientSession() as upstream:

        async def proxy(request: web.Request, body: bytes) -> web.Response:
            if mode["replay"] and "status" in captured:
                return web.Response(status=captured["status"], body=captured["body"],
                                    headers=captured["headers"])
            headers = {k: v for k, v in request.headers.items() if k.startswith("X-")}
            headers["Content-Type"] = "application/json"
            async with upstream.request(request.method, central.url + request.path_qs,
                                        data=body or None, headers=headers) as resp:
                raw = await resp.read()
                keep = {k: resp.headers[k] for k in ("Date", "X-Reply-Signature", "Content-Type")
                        if k in resp.headers}
                if request.path == "/v1/payments" and "status" not in captured:
                    captured.update(status=resp.status, body=raw, headers=keep)
                return web.Response(status=resp.status, body=raw, headers=keep)

        async with FakeCentral(proxy) as fake:
            outbox, journal, dialect = make_outbox(tmp_path, fake.url)
            bills = add_bills(central, 2)
            first = settle(journal, bills[0], 1)
            second = settle(journal, bills[1], 2)
            await outbox.flush()
            outbox.kick()
            await outbox.flush()
            posted = {ev.data["txn_id"]: ev.data["receipt_no"]
                      for ev in journal.events(kinds=("posted",))}
            assert list(posted) == [first.txn_id]  # payment 2 not "posted" with 1's receipt
            assert [p["txn_id"] for p in central.payments()] == [first.txn_id]
            mode["replay"] = False
            await drain(outbox)
            receipts = {ev.data["txn_id"]: ev.data["receipt_no"]
                        for ev in journal.events(kinds=("posted",))}
            assert receipts == {p["txn_id"]: p["receipt_no"] for p in central.payments()}
            assert second.txn_id in receipts
            assert_books_balance(central, journal, posted=2 * PHED_DUE, voucher=0)
            await dialect.close()


async def test_reference_central_signs_every_answer_even_refusals():
    """The reference server's side: 201, 409 and a 401 stale_timestamp all carry a signature a
    kiosk can check (so the clock can be corrected from a Date no one forged)."""
    async with CentralServer() as server:
        client = CentralClient(server.url, "RJ-JPR-0001", SECRET, timeout_s=3,
                               clock=lambda: 0.0)  # 1970: stale by decades
        dialect = ReferenceDialect(client)
        with pytest.raises(CentralError) as info:
            await dialect.services()
        assert info.value.retryable and info.value.code == "stale_timestamp"
        assert abs(client.skew_s) > 1e9  # corrected from the signed Date
        assert await dialect.services()
        await dialect.close()
