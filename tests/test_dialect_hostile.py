"""Everything central returns is hostile: a fake e-Mitra on loopback that knows the merchant's keys
answers the payment call with crafted answers. None of them may become a receipt; each is a
retryable CentralError, and since the verify after it finds nothing, the kiosk holds nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aiohttp import web
from test_dialect_b2b import b2b, intent
from test_dialect_support import MERCHANT

from sim.central import b2b_codec
from terminal.central import CentralError

Craft = Callable[[dict[str, str]], str | bytes]


def sealed(answer: dict[str, str], status_key: str = "TRANSACTIONSTATUSCODE") -> str:
    return b2b_codec.seal(MERCHANT.key, b2b_codec.sign_answer(MERCHANT, answer, status_key))


def success(request: dict[str, str], **changes: str) -> dict[str, str]:
    answer = {"REQUESTID": request["REQUESTID"], "REQTIMESTAMP": request["REQTIMESTAMP"],
              "TRANSACTIONSTATUS": "SUCCESS", "TRANSACTIONSTATUSCODE": "200",
              "RECEIPTNO": "RCPT-000777", "TRANSACTIONID": "0123456789abcdef",
              "TRANSAMT": "640.00", "MSG": "ok"}
    return {k: v for k, v in {**answer, **changes}.items() if v is not None}


CRAFTED: dict[str, Craft] = {
    "another amount": lambda r: sealed(success(r, TRANSAMT="639.00")),
    "amount as a float": lambda r: sealed(success(r, TRANSAMT="640.0")),
    "a receipt for another REQUESTID": lambda r: sealed(success(r, REQUESTID="T-OTHER")),
    "an old answer replayed": lambda r: sealed(success(r, REQTIMESTAMP="20260101000000000")),
    "a wrong checksum": lambda r: b2b_codec.seal(
        MERCHANT.key, {**success(r), "CHECKSUM": "0" * 32}),
    "no checksum": lambda r: b2b_codec.seal(MERCHANT.key, success(r)),
    "sealed with another key": lambda r: b2b_codec.seal(
        b"k" * 32, b2b_codec.sign_answer(MERCHANT, success(r), "TRANSACTIONSTATUSCODE")),
    "plain JSON": lambda r: '{"TRANSACTIONSTATUS": "SUCCESS", "RECEIPTNO": "RCPT-1"}',
    "a status that is not SUCCESS": lambda r: sealed(success(r, TRANSACTIONSTATUS="PENDING")),
    "no receipt number": lambda r: sealed(success(r, RECEIPTNO=None)),
    "a receipt number with markup": lambda r: sealed(success(r, RECEIPTNO="<b>RCPT</b>")),
    "a transaction id not fit for a QR": lambda r: sealed(success(r, TRANSACTIONID="12|34")),
    "a failure code nobody knows": lambda r: sealed(success(
        r, TRANSACTIONSTATUS="FAILURE", TRANSACTIONSTATUSCODE="999")),
    "a body too large": lambda r: b"A" * 40000,
    "nothing": lambda r: b"",
}


@pytest.fixture
async def fake_central():
    """An e-Mitra that holds nothing (verify: 404) and answers payments as `crafted` says."""
    state: dict = {"craft": None, "payments": 0}

    async def handle(request: web.Request) -> web.Response:
        form = await request.post()
        fields = b2b_codec.unseal(MERCHANT.key, str(form["ENCDATA"]))
        if request.path == "/b2b/verify":
            return web.Response(text=sealed(
                {"REQUESTID": fields.get("REQUESTID", ""), "REQTIMESTAMP": fields["REQTIMESTAMP"],
                 "VERIFYSTATUSCODE": "404"}, "VERIFYSTATUSCODE"))
        state["payments"] += 1
        body = state["craft"](fields)
        return web.Response(body=body if isinstance(body, bytes) else body.encode())

    app = web.Application()
    app.router.add_post("/b2b/verify", handle)
    app.router.add_post("/b2b/payment", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    state["url"] = f"http://{host}:{port}"
    yield state
    await runner.cleanup()


@pytest.mark.parametrize("name", sorted(CRAFTED))
async def test_a_crafted_answer_is_never_a_receipt(fake_central, tmp_path, name):
    fake_central["craft"] = CRAFTED[name]
    dialect = b2b(fake_central["url"], tmp_path / "secrets")
    try:
        with pytest.raises(CentralError) as failed:
            await dialect.post_payment(intent("T-HOSTILE"))
        assert failed.value.retryable, failed.value
        assert fake_central["payments"] == 1  # resolved by verify, not by a second post
    finally:
        await dialect.close()


async def test_a_well_formed_answer_from_the_fake_is_believed(fake_central, tmp_path):
    """The control case: the checks above refuse the crafting, not every answer."""
    fake_central["craft"] = lambda r: sealed(success(r))
    dialect = b2b(fake_central["url"], tmp_path / "secrets")
    try:
        posted = await dialect.post_payment(intent("T-HOSTILE"))
        assert (posted.receipt_no, posted.verification) == ("RCPT-000777", "0123456789abcdef")
    finally:
        await dialect.close()


async def test_a_verify_answer_about_another_request_is_refused(fake_central, tmp_path):
    dialect = b2b(fake_central["url"], tmp_path / "secrets")
    real_call = dialect._call

    async def swapped(path, fields, ref, key):
        answer = await real_call(path, fields, ref, key)
        return {**answer, "VERIFYSTATUSCODE": "200", "REQUESTID": "T-OTHER"}

    dialect._call = swapped
    try:
        with pytest.raises(CentralError, match="another REQUESTID"):
            await dialect.verify(request_id="T-HOSTILE")
    finally:
        await dialect.close()
