"""Fuzz: central's JSON replies as the kiosk turns them into a Bill, a posted payment, a card
authorisation, a receipt verdict or a voucher (terminal/central/reference.py), no network.

The reply parsing is not a separate function: each `ReferenceDialect` method sends its request
and checks the reply in one coroutine. The dialect takes its client as an argument, so a stub
client hands it any JSON object as an authenticated 200 reply (what reaches the dialect after
`CentralClient.request`). Property: a value of the documented shape, or `CentralError`; never
another exception, never a bill for another consumer, a payment posted or a card approved from
garbage.

The tests that say "Was: ..." are bugs found here, kept with their examples now they are fixed.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from terminal.central.client import CentralClient, CentralError
from terminal.central.reference import Posted, ReferenceDialect
from terminal.session import Bill

FUZZ = settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
QUICK = settings(max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
PROVIDER, CONSUMER = "JVVNL", "210412345678"


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.sampled_from(["", "0", "64000", "approved", "declined", "genuine", "active", "RCPT-000001"]),
)
json_values = st.recursive(
    scalars,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=10), kids, max_size=4)
    ),
    max_leaves=12,
)


def near(valid: dict[str, Any]):
    """Dicts shaped like `valid`: each key kept, dropped or given a random JSON value."""
    keys = sorted(valid)
    choice = st.sampled_from(["keep", "keep", "drop", "random"])
    return st.tuples(st.lists(choice, min_size=len(keys), max_size=len(keys)), st.data()).map(
        lambda t: _mutate(valid, keys, *t)
    )


def _mutate(valid, keys, choices, data) -> dict[str, Any]:
    out = {}
    for key, how in zip(keys, choices, strict=True):
        if how == "keep":
            out[key] = copy.deepcopy(valid[key])
        elif how == "random":
            out[key] = data.draw(json_values)
    out.update(data.draw(st.dictionaries(st.text(max_size=10), json_values, max_size=2)))
    return out


def replies(valid: dict[str, Any]):
    return st.one_of(near(valid), st.dictionaries(st.text(max_size=12), json_values, max_size=6))


class StubClient:
    """Stands where CentralClient is: answers every request with this JSON object."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload
        self.last_success = None
        self.calls: list[tuple[str, str]] = []

    async def request(self, method, path, *, query=None, body=None):
        self.calls.append((method, path))
        json.dumps(body)  # what we send is JSON
        return 200, copy.deepcopy(self.payload)

    async def close(self) -> None:
        pass


def run(coro_fn, payload):
    dialect = ReferenceDialect(StubClient(payload))
    return asyncio.run(asyncio.wait_for(coro_fn(dialect), 5))


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ---------------------------------------------------------------- bills

VALID_BILL = {
    "bill_id": "B-JVVNL-210412345678-202610",
    "provider": PROVIDER,
    "service": "electricity",
    "consumer_number": CONSUMER,
    "consumer_name": "Sunita Devi",
    "period": "2026-10",
    "due_paise": 64000,
    "due_date": "2026-11-30",
    "status": "unpaid",
}


@FUZZ
@given(replies(VALID_BILL))
@example(VALID_BILL)
def test_fetch_bill_never_crashes(payload) -> None:
    try:
        bill = run(lambda d: d.fetch_bill(PROVIDER, CONSUMER), payload)
    except CentralError as exc:
        assert exc.retryable
        return
    assert isinstance(bill, Bill)
    assert _is_int(bill.due_paise)
    assert bill.due_paise >= 0


@QUICK
@given(replies(VALID_BILL))
@example({**VALID_BILL, "due_paise": True})  # a bool is an int to isinstance: a 1-paise bill
@example({**VALID_BILL, "consumer_number": "999999999999"})  # a bill for somebody else
@example({**VALID_BILL, "bill_id": None})
@example({**VALID_BILL, "provider": "AVVNL"})  # the same number at another provider
@example({**VALID_BILL, "status": "overdue"})
@example({**VALID_BILL, "consumer_name": ["Sunita", "Devi"]})
def test_fetch_bill_gives_a_well_typed_bill_for_the_asked_consumer(payload) -> None:
    """Was: fetch_bill accepts wrong types / another bill."""
    try:
        bill = run(lambda d: d.fetch_bill(PROVIDER, CONSUMER), payload)
    except CentralError:
        return
    assert _is_int(bill.due_paise)
    assert (bill.provider, bill.consumer_number) == (PROVIDER, CONSUMER)
    for name in ("bill_id", "service", "consumer_name", "period", "due_date", "status"):
        assert isinstance(getattr(bill, name), str), name
    assert bill.status in ("unpaid", "paid")


# ---------------------------------------------------------------- payments

INTENT = {
    "txn_id": "T-RJ-JPR-0001-261123101500-ABC123",
    "bill_id": VALID_BILL["bill_id"],
    "provider": PROVIDER,
    "consumer_number": CONSUMER,
    "amount_paise": 64000,
    "tendered_paise": 70000,
    "notes": [50000, 20000],
    "paid_at": "2026-11-23T10:15:00Z",
    "voucher_id": "V-1",
    "voucher_paise": 6000,
}
VALID_POSTED = {"receipt_no": "RCPT-000001", "verification": "0123456789abcdef"}


@FUZZ
@given(replies(VALID_POSTED))
def test_post_payment_never_crashes(payload) -> None:
    try:
        posted = run(lambda d: d.post_payment(dict(INTENT)), payload)
    except CentralError as exc:
        assert exc.retryable
        return
    assert isinstance(posted, Posted)


@QUICK
@given(replies(VALID_POSTED))
@example({"receipt_no": None, "verification": None})
@example({"receipt_no": "RCPT-000001", "verification": "0123456789ABCDEF\n"})
def test_post_payment_is_posted_only_with_a_receipt(payload) -> None:
    """Was: post_payment takes any receipt_no/verification."""
    try:
        posted = run(lambda d: d.post_payment(dict(INTENT)), payload)
    except CentralError:
        return
    assert isinstance(posted.receipt_no, str) and isinstance(posted.verification, str)
    assert re.fullmatch(r"RCPT-[0-9]{6,}", posted.receipt_no)  # openapi: PaymentReceipt
    assert re.fullmatch(r"[0-9a-f]{16}", posted.verification)


# ---------------------------------------------------------------- card authorisations

AUTH_REQUEST = {"auth_id": "A-1", "txn_id": INTENT["txn_id"], "amount_paise": 64000}
VALID_AUTH = {"auth_id": "A-1", "status": "approved", "reason": "", "auth_code": "123456"}


@FUZZ
@given(replies(VALID_AUTH))
@example({"auth_id": "A-1", "status": "approved", "auth_code": "１２３４５６"})  # fullwidth digits
@example({"auth_id": "A-1", "status": "approved", "auth_code": 123456})
@example({"auth_id": "A-2", "status": "approved", "auth_code": "123456"})
@example({"auth_id": ["A-1"], "status": ["approved"]})
def test_card_approved_only_with_a_valid_answer(payload) -> None:
    try:
        answer = run(lambda d: d.authorise_card(dict(AUTH_REQUEST)), payload)
    except CentralError as exc:
        assert exc.retryable
        return
    assert answer["auth_id"] == "A-1"
    assert answer["status"] in ("approved", "declined")
    if answer["status"] == "approved":
        assert re.fullmatch(r"[0-9]{6}", answer["auth_code"], flags=re.ASCII)


# ---------------------------------------------------------------- receipts and vouchers

VALID_VERDICT = {
    "result": "genuine",
    "receipt_no": "RCPT-000001",
    "amount_paise": 64000,
    "provider": PROVIDER,
    "paid_at": "2026-11-23T10:15:00Z",
}
VALID_VOUCHER = {"voucher_id": "V-1", "amount_paise": 6000, "status": "active"}


@QUICK
@given(replies(VALID_VERDICT))
@example({"result": []})  # kiosk._check_online: {...}.get([]) -> TypeError (unhashable)
@example({"result": "genuine", "amount_paise": "lots", "receipt_no": {"x": 1}})
@example({**VALID_VERDICT, "amount_paise": True})
@example({**VALID_VERDICT, "provider": ["JVVNL"]})
@example({"result": "maybe"})
def test_receipt_verdict_is_checked(payload) -> None:
    """Was: verify_receipt returns the reply unchecked."""
    try:
        verdict = run(lambda d: d.verify_receipt("T-1", "0123456789abcdef"), payload)
    except CentralError:
        return
    assert verdict.get("result") in ("genuine", "not_genuine", "unknown")
    if verdict["result"] == "genuine":
        assert isinstance(verdict.get("receipt_no"), str)
        assert _is_int(verdict.get("amount_paise"))


@QUICK
@given(replies(VALID_VOUCHER))
@example({"voucher_id": "V-1", "status": "active", "amount_paise": "lots"})
@example({"voucher_id": "V-9", "status": "active", "amount_paise": 6000})  # another voucher
@example({"voucher_id": "V-1", "status": "active", "amount_paise": True})
@example({"voucher_id": "V-1", "status": ["active"], "amount_paise": 6000})
def test_voucher_answer_is_checked(payload) -> None:
    """Was: voucher() returns the reply unchecked."""
    try:
        info = run(lambda d: d.voucher("V-1"), payload)
    except CentralError:
        return
    assert info.get("voucher_id") == "V-1"
    assert info.get("status") in ("active", "redeemed")
    assert _is_int(info.get("amount_paise")) and info["amount_paise"] > 0


def test_documented_replies_are_accepted() -> None:
    """The checks refuse garbage, not central's own answers (docs/central-api.md)."""
    bill = run(lambda d: d.fetch_bill(PROVIDER, CONSUMER), VALID_BILL)
    assert bill == Bill.from_dict(VALID_BILL)
    assert run(lambda d: d.post_payment(dict(INTENT)), VALID_POSTED) == Posted(
        "RCPT-000001", "0123456789abcdef"
    )
    verdict = run(lambda d: d.verify_receipt("T-1", "0123456789abcdef"), VALID_VERDICT)
    assert {k: verdict[k] for k in VALID_VERDICT} == VALID_VERDICT
    for word in ("not_genuine", "unknown"):
        assert run(lambda d: d.verify_receipt("T-1", "x"), {"result": word}) == {"result": word}
    assert run(lambda d: d.voucher("V-1"), VALID_VOUCHER) == VALID_VOUCHER
    assert run(lambda d: d.voucher("V-1"), {**VALID_VOUCHER, "status": "redeemed"})


@FUZZ
@given(st.dictionaries(st.text(max_size=10), json_values, max_size=4))
@example({"commands": {"reboot_at_idle": True}})
@example({"commands": [["reboot_at_idle"]]})
def test_heartbeat_and_services_never_crash(payload) -> None:
    try:
        run(lambda d: d.heartbeat({"terminal_id": "RJ-JPR-0001"}), payload)
        run(lambda d: d.services(), payload)
    except CentralError as exc:
        assert exc.retryable


# ---------------------------------------------------------------- the client's body -> payload

_interpret = getattr(CentralClient, "_interpret", None)
bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.text(max_size=8), json_values, max_size=4).map(
        lambda v: json.dumps(v).encode()
    ),
    st.integers(1, 200).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
)


@pytest.mark.skipif(_interpret is None, reason="the client has no separate reply parser yet")
@FUZZ
@given(st.sampled_from([200, 201, 400, 401, 404, 409, 429, 500, 502]), bodies)
@example(200, b'{"error": ["bill_not_found"], "message": {"x": 1}}')
@example(409, b'{"error": ["bill_not_found"], "message": {"x": 1}}')
def test_client_reply_parser(status, body) -> None:
    """CentralClient._interpret (an authenticated reply's status and body): a JSON object for
    2xx, CentralError for everything else; a refusal's code is text or None."""
    client = CentralClient("http://127.0.0.1:9", "RJ-JPR-0001", "secret")
    try:
        got_status, payload = _interpret(client, status, {}, body, "GET /v1/x")
    except CentralError as exc:
        assert exc.code is None or isinstance(exc.code, str)
        assert isinstance(str(exc), str) and len(str(exc)) <= 300
        if status < 400:
            assert exc.retryable
        return
    assert status < 400 and got_status == status and isinstance(payload, dict)


@pytest.mark.skipif(_interpret is None, reason="the client has no separate reply parser yet")
@pytest.mark.parametrize("status", [200, 409])
@pytest.mark.parametrize(
    "body", [b"[" * 5000, b"[" * 5000 + b"]" * 5000, b'{"a":' * 3000 + b"1" + b"}" * 3000]
)
def test_client_reply_parser_deep_nesting(status, body) -> None:
    """Was (found by the fuzz): nesting deeper than json's recursion limit (well inside the
    64 KB reply cap) raised RecursionError, which `except ValueError` does not catch."""
    client = CentralClient("http://127.0.0.1:9", "RJ-JPR-0001", "secret")
    with pytest.raises(CentralError) as err:
        _interpret(client, status, {}, body, "GET /v1/x")
    assert err.value.retryable
