"""The emitra_b2b adapter against the reference central over real HTTP on loopback: one payment
per REQUESTID whatever is lost or repeated, the outcome of a lost reply resolved by verify, the
payment the same row for both dialects, refusals final or not as in the reference dialect."""

from __future__ import annotations

import aiohttp
import pytest
from test_dialect_support import write_secrets

from sim.central.server import CentralServer
from terminal.central import CentralClient, CentralError, ReferenceDialect
from terminal.central.emitra_b2b import EmitraB2BDialect
from terminal.central.emitra_b2b_setup import load_secrets, parse_services
from terminal.central.emitra_b2b_wire import B2BWire
from terminal.config import load_config

TERMINAL, SECRET = "RJ-JPR-0001", "demo-secret"
JVVNL = {"provider": "JVVNL", "consumer_number": "210412345678", "amount_paise": 64000,
         "bill_id": "B-JVVNL-210412345678-202610"}


def intent(txn_id: str, **changes) -> dict:
    return {"txn_id": txn_id, **JVVNL, "tendered_paise": 70000, "notes": [50000, 20000],
            "paid_at": "2026-12-01T10:00:00Z", "voucher_id": None, "voucher_paise": 0,
            **changes}


def b2b(url: str, secrets_dir, timeout_s: float = 3.0, **secret_values) -> EmitraB2BDialect:
    section = load_config()["central"]
    reference = ReferenceDialect(CentralClient(url, TERMINAL, SECRET, timeout_s=timeout_s))
    return EmitraB2BDialect(reference, B2BWire(url, timeout_s),
                            load_secrets(write_secrets(secrets_dir, **secret_values)),
                            parse_services(section["emitra_services"]))


@pytest.fixture
async def central(tmp_path):
    server = CentralServer(db_path=str(tmp_path / "central.sqlite"))
    await server.start()
    yield server
    await server.stop()
    server.store.close()


@pytest.fixture
async def dialect(central, tmp_path):
    d = b2b(central.url, tmp_path / "secrets")
    yield d
    await d.close()


async def test_a_payment_is_booked_once_and_seen_by_both_dialects(central, dialect):
    posted = await dialect.post_payment(intent("T-B2B-0001"))
    assert posted.receipt_no == "RCPT-000001" and len(posted.verification) == 16
    [row] = central.payments()
    assert (row["txn_id"], row["amount_paise"], row["bill_id"]) == (
        "T-B2B-0001", 64000, JVVNL["bill_id"])
    async with aiohttp.ClientSession() as http:  # the test control sees the same row
        async with http.get(central.url + "/_sim/payments") as reply:
            assert [p["txn_id"] for p in (await reply.json())["payments"]] == ["T-B2B-0001"]
    # The receipt QR's code is central's TRANSACTIONID: genuine in both dialects.
    reference = dialect.reference
    assert (await reference.verify_receipt("T-B2B-0001", posted.verification))["result"] == \
        "genuine"
    verdict = await dialect.verify_receipt("T-B2B-0001", posted.verification)
    assert verdict == {"result": "genuine", "txn_id": "T-B2B-0001", "receipt_no": "RCPT-000001",
                       "amount_paise": 64000, "provider": "JVVNL", "paid_at": row["paid_at"]}
    assert (await dialect.verify_receipt("T-B2B-0001", "0" * 16))["result"] == "not_genuine"
    assert (await dialect.verify_receipt("T-B2B-0001", "zz"))["result"] == "not_genuine"
    assert (await dialect.verify_receipt("T-NEVER", "0" * 16))["result"] == "unknown"


async def test_a_payment_booked_by_the_reference_dialect_is_found_not_posted_again(
        central, dialect):
    ref = await dialect.reference.post_payment(intent("T-REF-0001"))
    posted = await dialect.post_payment(intent("T-REF-0001"))
    assert posted == ref
    assert len(central.payments()) == 1


async def test_asked_twice_central_answers_the_same_receipt_and_books_once(central, dialect):
    one = await dialect.post_payment(intent("T-TWICE"))
    two = await dialect.post_payment(intent("T-TWICE"))
    assert one == two and len(central.payments()) == 1
    # Posted straight to the payment call twice (no verify first): the first outcome again.
    fields = dialect._payment_fields(intent("T-TWICE"))[2]
    again = await dialect._call("/b2b/payment", fields, "T-TWICE", "TRANSACTIONSTATUSCODE")
    assert (again["RECEIPTNO"], again["TRANSACTIONSTATUS"]) == (one.receipt_no, "SUCCESS")
    assert len(central.payments()) == 1


class Counting:
    """The wire, counting posts per path."""

    def __init__(self, wire: B2BWire) -> None:
        self.wire, self.paths = wire, []

    async def post(self, path, merchant_code, encdata):
        self.paths.append(path)
        return await self.wire.post(path, merchant_code, encdata)

    async def close(self):
        await self.wire.close()


async def test_lost_reply_after_central_committed_is_resolved_by_verify(central, dialect):
    dialect.wire = Counting(dialect.wire)
    calls = []
    real_call = dialect._call

    async def lose_the_payment_reply(path, fields, ref, key):
        calls.append(path)
        if path == "/b2b/payment":
            central.fail_next("lost")  # central books it, then the connection drops
        return await real_call(path, fields, ref, key)

    dialect._call = lose_the_payment_reply
    posted = await dialect.post_payment(intent("T-LOST"))
    assert calls == ["/b2b/verify", "/b2b/payment", "/b2b/verify"]
    assert posted.receipt_no == "RCPT-000001"
    assert [p["txn_id"] for p in central.payments()] == ["T-LOST"]


async def test_a_timeout_is_resolved_by_verify_never_by_a_second_post(central, tmp_path):
    slow = b2b(central.url, tmp_path / "s", timeout_s=0.5)
    central.state.slow_seconds = 1.0
    slow.wire = Counting(slow.wire)
    try:
        central.fail_next("late", count=1)  # the verify before posting answers late
        with pytest.raises(CentralError) as first:
            await slow.post_payment(intent("T-LATE"))
        assert first.value.retryable and slow.wire.paths == ["/b2b/verify"]
        assert central.payments() == []
        real_post = slow.wire.post

        async def late_payment(path, code, data):
            if path == "/b2b/payment":
                central.fail_next("late")
            return await real_post(path, code, data)

        slow.wire.post = late_payment
        posted = await slow.post_payment(intent("T-LATE"))
        assert slow.wire.paths[1:] == ["/b2b/verify", "/b2b/payment", "/b2b/verify"]
        assert posted.receipt_no == "RCPT-000001" and len(central.payments()) == 1
    finally:
        await slow.close()


def fault_on_payment(dialect, central, mode: str) -> list[str]:
    """Central answers the next payment call with `mode`; returns the paths posted."""
    paths: list[str] = []
    real_call = dialect._call

    async def call(path, fields, ref, key):
        paths.append(path)
        if path == "/b2b/payment" and paths.count(path) == 1:
            central.fail_next(mode)
        return await real_call(path, fields, ref, key)

    dialect._call = call
    return paths


@pytest.mark.parametrize("mode", ["garbage", "http500", "http429"])
async def test_a_garbled_answer_before_booking_gives_no_receipt_and_no_second_post(
        central, dialect, mode):
    paths = fault_on_payment(dialect, central, mode)
    with pytest.raises(CentralError) as failed:
        await dialect.post_payment(intent("T-GARBLED"))
    assert failed.value.retryable and central.payments() == []
    assert paths == ["/b2b/verify", "/b2b/payment", "/b2b/verify"]  # asked, never re-posted
    posted = await dialect.post_payment(intent("T-GARBLED"))  # the outbox's next attempt
    assert posted.receipt_no == "RCPT-000001" and len(central.payments()) == 1


async def test_a_forged_answer_after_booking_is_ignored_and_verify_gives_the_receipt(
        central, dialect):
    paths = fault_on_payment(dialect, central, "unsigned")  # booked, CHECKSUM forged
    posted = await dialect.post_payment(intent("T-FORGED"))
    assert paths == ["/b2b/verify", "/b2b/payment", "/b2b/verify"]
    [row] = central.payments()
    assert (posted.receipt_no, posted.verification) == (row["receipt_no"], row["verification"])


@pytest.mark.parametrize(
    ("changes", "code"),
    [({"consumer_number": "210400000001", "amount_paise": 52000}, "already_paid"),
     ({"amount_paise": 63900}, "amount_mismatch"),
     ({"consumer_number": "999999999"}, "bill_not_found")],
)
async def test_business_refusals_are_final_as_in_the_reference_dialect(
        central, dialect, changes, code):
    with pytest.raises(CentralError) as refused:
        await dialect.post_payment(intent("T-REFUSED", **changes))
    assert (refused.value.code, refused.value.retryable) == (code, False)
    assert central.payments() == []


async def test_a_used_requestid_never_gives_a_receipt_for_another_payment(central, dialect):
    await dialect.post_payment(intent("T-USED"))
    other = intent("T-USED", provider="PHED", consumer_number="5012345678", amount_paise=35000)
    with pytest.raises(CentralError) as held:  # verify finds ₹640 booked under it, not ₹350
        await dialect.post_payment(other)
    assert held.value.retryable and "TRANSAMT" in str(held.value)
    rid, amount, fields = dialect._payment_fields(other)
    answer = await dialect._call("/b2b/payment", fields, rid, "TRANSACTIONSTATUSCODE")
    assert (answer["TRANSACTIONSTATUS"], answer["TRANSACTIONSTATUSCODE"]) == ("FAILURE", "410")
    with pytest.raises(CentralError) as refused:  # posted anyway: the reference's final conflict
        dialect._outcome(answer, rid, amount)
    assert (refused.value.code, refused.value.retryable) == ("idempotency_conflict", False)
    assert len(central.payments()) == 1


async def test_a_provider_without_service_ids_waits_for_an_engineer(central, dialect):
    with pytest.raises(CentralError) as failed:
        await dialect.post_payment(intent("T-GAS", provider="GAS"))
    assert failed.value.retryable and failed.value.status == 400
    assert failed.value.code == "unmapped_provider"


async def test_a_cancelled_payment_is_refused_for_good(central, dialect):
    posted = await dialect.post_payment(intent("T-CANCEL"))
    paid_bill = central.store.find_bill("JVVNL", "210412345678")
    assert paid_bill["status"] == "paid"
    assert await dialect.cancel("T-CANCEL", posted.verification, "citizen asked") is True
    reopened = central.store.find_bill("JVVNL", "210412345678")  # the citizen owes it again
    assert (reopened["status"], reopened["due_paise"]) == ("unpaid", paid_bill["due_paise"])
    assert await dialect.cancel("T-CANCEL", "0" * 16) is False
    with pytest.raises(CentralError) as refused:
        await dialect.post_payment(intent("T-CANCEL"))
    assert (refused.value.code, refused.value.retryable) == ("cancelled", False)
    assert (await dialect.verify_receipt("T-CANCEL", posted.verification))["result"] == \
        "not_genuine"


async def test_wrong_secrets_get_no_answer_to_act_on(central, tmp_path):
    for name, values in (("token", {"emitra_sso_token_file": "guessed"}),
                         ("aes", {"emitra_aes_secret_file": "guessed"}),
                         ("merchant", {"emitra_merchant_code_file": "EMITRA-OTHER"})):
        wrong = b2b(central.url, tmp_path / name, **values)
        try:
            with pytest.raises(CentralError) as failed:
                await wrong.post_payment(intent("T-WRONG"))
            assert failed.value.retryable
        finally:
            await wrong.close()
    assert central.payments() == []


async def test_a_clock_far_from_centrals_is_refused_and_retryable(central, dialect):
    central.state.clock = lambda: 10**9  # 2001: every REQTIMESTAMP is out of the window
    with pytest.raises(CentralError) as failed:
        await dialect.post_payment(intent("T-CLOCK"))
    assert failed.value.retryable and central.payments() == []


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [({"Content-Type": "multipart/form-data"}, b"x", 400),
     ({"Content-Type": "application/json"}, b'{"MERCHANTCODE": "EMITRA-KIOSK-0001"}', 400),
     ({"Content-Type": "application/x-www-form-urlencoded"}, b"MERCHANTCODE=\xff", 400),
     ({"Content-Type": "application/x-www-form-urlencoded"}, b"MERCHANTCODE=NOBODY", 401),
     ({"Content-Type": "application/x-www-form-urlencoded"},
      b"MERCHANTCODE=EMITRA-KIOSK-0001&ENCDATA=QUJD", 401)],
)
async def test_central_refuses_what_is_not_a_sealed_form_without_a_server_error(
        central, headers, body, status):
    async with aiohttp.ClientSession() as http:
        async with http.post(central.url + "/b2b/payment", data=body, headers=headers) as reply:
            assert reply.status == status
    assert central.payments() == []
