"""Fuzz: citizen QR text (terminal/qr.py) — any string, any length, any unicode, huge input.

tests/test_citizen_qr.py checks that `parse_citizen_qr` never raises; but it catches every
exception itself (a parser bug becomes "not recognised"), so here the inner `_parse` is fuzzed
too: a swallowed exception is a misread code (a damaged UPI link shown as "not recognised", a
bill link whose number is lost). Properties: a QrResult whose kind, message key and fields agree;
bounded fields; nothing kept from an unknown code; a voucher is never "valid" without the right
code; a huge payload answers at once.
"""

from __future__ import annotations

import re
import time

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from terminal import catalogue, verification
from terminal.qr import (
    MAX_PAYLOAD,
    QR_MESSAGE_KEYS,
    QrResult,
    _parse,
    parse_citizen_qr,
)

FUZZ = settings(max_examples=400, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
SECRET = "voucher-secret"

KEYS_BY_KIND = {
    "receipt": {"qr_receipt_checking"},
    "voucher": {"qr_voucher_valid", "qr_voucher_invalid", "qr_voucher_checking"},
    "bill": {
        "qr_bill_found",
        "qr_bill_provider_unknown",
        "qr_bill_provider_not_served",
        "qr_bill_number_invalid",
    },
    "upi": {"qr_upi_not_accepted"},
    "aadhaar": {"qr_aadhaar_not_needed"},
    "unknown": {
        "qr_emitra_damaged",
        "qr_empty",
        "qr_too_long",
        "qr_unreadable",
        "qr_not_recognised",
    },
}
FIELDS_BY_KIND = {
    "receipt": {"txn_id", "code"},
    "voucher": {"voucher_id", "code", "amount_paise"},
    "bill": {"provider", "consumer_number"},
    "upi": {"payee_name", "payee_vpa", "amount"},
    "aadhaar": {"format", "read", "last4", "name"},
    "unknown": set(),
}
FIELD_LIMIT = 100  # the central's id pattern allows 100 characters; names are cut at 100

# Any code point, lone surrogates included (a broken decoder upstream can hand us those).
any_char = st.characters(codec=None, categories=None)
prefixes = st.sampled_from(
    ["", "EMITRA1|", "EMITRA1|R|", "EMITRA1|V|", "emitra1|r|", "BILL|", "bill|jvvnl|",
     "upi://pay?", "UPI:", "http://", "https://", "https://[", "http://[::1", "https://\uff03",
     "http://bill.jvvnl.example.in/?", "<PrintLetterBarcodeData ", " \t\r\n"]
)  # fmt: skip
pieces = st.sampled_from(
    ["|", "?", "&", "=", "#", "[", "]", ":", "@", "%", "%ZZ", "%00", "kno=", "disc=", "pa=",
     "pn=", "am=", "uid=\"", "name='", "JVVNL", "jdvvnl", "1234567", "210412345678", "\x00",
     "\u200b", "\ufeff", "\ud800", "\U0001f600", "१२३४५६७", "１２３４５６７", "0" * 40]
)  # fmt: skip
qr_text = st.one_of(
    st.text(any_char, max_size=400),
    st.tuples(
        prefixes, st.lists(st.one_of(pieces, st.text(any_char, max_size=8)), max_size=30)
    ).map(lambda t: t[0] + "".join(t[1])),
    st.from_regex(r"[0-9]{95,500}", fullmatch=True),
)


def check_result(result: QrResult, payload: object) -> None:
    assert isinstance(result, QrResult)
    assert result.kind in KEYS_BY_KIND, result.kind
    assert result.message_key in KEYS_BY_KIND[result.kind], (result.kind, result.message_key)
    assert result.message_key in QR_MESSAGE_KEYS
    fields = dict(result.fields)
    assert set(fields) <= FIELDS_BY_KIND[result.kind], fields
    for key, value in fields.items():
        assert isinstance(value, str) and len(value) <= FIELD_LIMIT, (key, len(value))
        assert value.isprintable(), (key, value)
    if result.verified is not None:
        assert result.kind == "voucher"
    if result.message_key in ("qr_bill_found", "qr_bill_provider_unknown"):
        assert re.fullmatch(r"[0-9]{6,16}", fields["consumer_number"])
        assert fields["provider"] in catalogue.PROVIDERS or fields["provider"] == ""
        assert (fields["provider"] != "") == (result.message_key == "qr_bill_found")
    if result.kind in ("unknown", "aadhaar") and isinstance(payload, str) and len(payload) > 12:
        assert payload.strip() not in repr(result.to_dict())


@FUZZ
@given(qr_text)
@example("upi://[x?pa=shop@bank&am=10")  # urlsplit refuses the host: still a UPI code
@example("http://[::1?kno=210412345678&disc=JVVNL")
@example("https://bill.jvvnl\uff03.in/?kno=210412345678")  # NFKC changes the host
@example("EMITRA1|R|" + "T" * 5000 + "|abcd")  # an id longer than any id central issues
def test_inner_parser_never_raises(text) -> None:
    """The catch-all in parse_citizen_qr must never be what answers."""
    result = _parse(text, SECRET, lambda vid: 6000)
    check_result(result, text)
    assert parse_citizen_qr(text, voucher_secret=SECRET, voucher_amount=lambda v: 6000) == result


@FUZZ
@given(st.one_of(st.binary(max_size=400), st.none(), st.integers(), st.lists(st.text())))
def test_any_object_or_bytes(payload) -> None:
    result = _parse(payload, None, None)
    check_result(result, payload)


def test_links_urlsplit_refuses_keep_their_meaning() -> None:
    """Found by the fuzz above: these raised ValueError inside the parser and were swallowed."""
    upi = parse_citizen_qr("upi://[x?pa=shop@bank&am=10")
    assert (upi.kind, upi.message_key) == ("upi", "qr_upi_not_accepted")
    assert upi.fields == {"payee_vpa": "shop@bank", "amount": "10"}
    bill = parse_citizen_qr("http://[::1?kno=210412345678&disc=JVVNL")
    assert (bill.kind, bill.message_key) == ("bill", "qr_bill_found")
    assert bill.fields == {"provider": "JVVNL", "consumer_number": "210412345678"}


@settings(max_examples=25, deadline=3000)
@given(
    st.sampled_from(["9", "x", "EMITRA1|", "http://a/?kno=", "&", "<PrintLetterBarcodeData ", "é"]),
    st.integers(MAX_PAYLOAD - 5, 300_000),
    st.sampled_from(["", "\x00", "|", " "]),
)
def test_huge_payloads_answer_at_once(unit, size, tail) -> None:
    payload = unit * (size // len(unit)) + tail
    started = time.perf_counter()
    result = _parse(payload, SECRET, None)
    assert time.perf_counter() - started < 0.5
    check_result(result, payload)
    if len(payload.strip()) > MAX_PAYLOAD:
        assert result.kind in ("unknown", "aadhaar") and dict(result.fields) in (
            {},
            {"format": "secure", "read": "no"},
        )


def test_ten_megabytes_of_digits() -> None:
    started = time.perf_counter()
    result = parse_citizen_qr("7" * 10_000_000)
    assert time.perf_counter() - started < 1.0
    assert (result.kind, dict(result.fields)) == ("aadhaar", {"format": "secure", "read": "no"})


# ---------------------------------------------------------------- vouchers never verify by luck

voucher_ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,30}", fullmatch=True)


@FUZZ
@given(voucher_ids, st.from_regex(r"[0-9a-fA-F]{1,40}", fullmatch=True), st.integers(1, 10**7))
def test_voucher_valid_only_with_the_right_code(voucher_id, code, amount) -> None:
    payload = f"EMITRA1|V|{voucher_id}|{code}"
    result = _parse(payload, SECRET, lambda vid: amount)
    check_result(result, payload)
    right = verification.voucher_code(SECRET, voucher_id, amount)
    assert result.kind == "voucher"
    assert result.verified == (code.lower() == right)
    assert (result.message_key == "qr_voucher_valid") == (code.lower() == right)
    genuine = _parse(f"EMITRA1|V|{voucher_id}|{right}", SECRET, lambda vid: amount)
    assert (genuine.message_key, genuine.verified) == ("qr_voucher_valid", True)


@FUZZ
@given(st.text(any_char, max_size=60), st.text(any_char, max_size=60))
def test_voucher_fields_from_any_text_never_verify(voucher_id, code) -> None:
    payload = f"EMITRA1|V|{voucher_id}|{code}"
    result = _parse(payload, SECRET, lambda vid: 6000)
    check_result(result, payload)
    if result.verified:
        assert code.strip().lower() == verification.voucher_code(SECRET, voucher_id, 6000)


# ---------------------------------------------------------------- bills from links and pipes


@FUZZ
@given(
    st.sampled_from(["BILL|{p}|{n}", "https://x.in/?kno={n}&disc={p}", "http://{p}.in/pay?ca={n}"]),
    st.one_of(st.sampled_from(sorted(catalogue.PROVIDERS)), st.text(any_char, max_size=12)),
    st.one_of(st.from_regex(r"[0-9]{1,20}", fullmatch=True), st.text(any_char, max_size=20)),
)
def test_bill_codes(template, provider, number) -> None:
    payload = template.format(p=provider, n=number)
    result = _parse(payload, None, None)
    check_result(result, payload)
    if result.message_key == "qr_bill_found":
        assert result.fields["consumer_number"] in payload
