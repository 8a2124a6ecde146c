"""terminal/qr.py: every kind of QR a citizen may show, and that no input makes it raise or leak."""

from __future__ import annotations

import gzip
import random
import zlib

from hypothesis import given, settings
from hypothesis import strategies as st

from terminal import verification
from terminal.qr import QR_MESSAGE_KEYS, parse_citizen_qr

AADHAAR = "234567899012"  # a made-up number: only "9012" may ever be kept
SECRET = "voucher-secret"


def secure_qr(fields: list[bytes], version: bytes | None = b"V2", compress=gzip.compress) -> str:
    """A UIDAI secure QR payload: 0xFF-separated fields, compressed, as one big decimal."""
    data = compress(b"\xff".join(([version] if version else []) + fields))
    return _decimal(int.from_bytes(data, "big"))


def _decimal(n: int) -> str:
    """str(n) for any size (str() refuses more than 4300 digits by default)."""
    chunks = []
    while True:
        n, low = divmod(n, 10**1000)
        chunks.append(low)
        if not n:
            break
    return str(chunks[-1]) + "".join(f"{c:01000d}" for c in reversed(chunks[:-1]))


def aadhaar_fields(name: bytes = b"Sunita Devi") -> list[bytes]:
    return [
        b"3",  # email / mobile present indicator
        AADHAAR[-4:].encode() + b"20260101120000123",  # reference id
        name,
        b"01-01-1990",
        b"F",
        b"W/O " + AADHAAR.encode(),  # the full number hidden in another field: must be dropped
        b"Jaipur",
        b"Near Temple",
        b"12",
        b"Malviya Nagar",
        b"302017",
        b"Malviya Nagar",
        b"Rajasthan",
        b"Street 4",
        b"Sanganer",
        b"Jaipur",
        random.Random(7).randbytes(2200),  # photo (JPEG 2000) and signature bytes
    ]


def assert_private(result, payload: str) -> None:
    text = repr(result) + repr(result.to_dict())
    assert AADHAAR not in text
    assert payload not in text
    assert set(result.fields) <= {"format", "read", "last4", "name"}


# ---------------------------------------------------------------- ours


def test_receipt_qr_is_checked_online():
    r = parse_citizen_qr(verification.receipt_qr("T-20261123-0001", "0123456789ABCDEF"))
    assert r.kind == "receipt"
    assert r.message_key == "qr_receipt_checking"
    assert r.fields == {"txn_id": "T-20261123-0001", "code": "0123456789abcdef"}
    assert r.verified is None


def test_voucher_checked_offline_when_amount_known():
    code = verification.voucher_code(SECRET, "V-1", 6000)
    payload = verification.voucher_qr("V-1", code)
    amounts = {"V-1": 6000}
    good = parse_citizen_qr(payload, voucher_secret=SECRET, voucher_amount=amounts.get)
    assert (good.kind, good.message_key, good.verified) == ("voucher", "qr_voucher_valid", True)
    assert good.fields["amount_paise"] == "6000"
    forged = verification.voucher_qr("V-1", verification.voucher_code(SECRET, "V-1", 60000))
    bad = parse_citizen_qr(forged, voucher_secret=SECRET, voucher_amount=amounts.get)
    assert (bad.kind, bad.message_key, bad.verified) == ("voucher", "qr_voucher_invalid", False)
    unknown_amount = parse_citizen_qr(payload, voucher_secret=SECRET, voucher_amount=lambda v: None)
    assert unknown_amount.message_key == "qr_voucher_checking"
    assert unknown_amount.verified is None
    assert parse_citizen_qr(payload).message_key == "qr_voucher_checking"


def test_damaged_emitra_qr():
    for payload in ("EMITRA1|R|T-1", "EMITRA1|X|T-1|abcd", "EMITRA1|R|T-1|not-hex"):
        r = parse_citizen_qr(payload)
        assert (r.kind, r.message_key) == ("unknown", "qr_emitra_damaged")


# ---------------------------------------------------------------- bills


def test_bill_pipe_form():
    r = parse_citizen_qr("BILL|JVVNL|210412345678")
    assert (r.kind, r.message_key) == ("bill", "qr_bill_found")
    assert r.fields == {"provider": "JVVNL", "consumer_number": "210412345678"}
    r = parse_citizen_qr("bill|jdvvnl|1234567|64000")  # any case, extra fields ignored
    assert r.fields == {"provider": "JdVVNL", "consumer_number": "1234567"}
    assert parse_citizen_qr("BILL|PHED|98765432").fields["provider"] == "PHED"


def test_bill_pipe_errors():
    assert parse_citizen_qr("BILL|JVVNL|12AB").message_key == "qr_bill_number_invalid"
    assert parse_citizen_qr("BILL|JVVNL").message_key == "qr_bill_number_invalid"
    r = parse_citizen_qr("BILL|TATAPOWER|210412345678")
    assert (r.kind, r.message_key) == ("bill", "qr_bill_provider_not_served")


def test_bill_url_form():
    r = parse_citizen_qr("https://bills.example.in/pay?disc=JVVNL&kno=210412345678&amt=640")
    assert (r.kind, r.message_key) == ("bill", "qr_bill_found")
    assert r.fields == {"provider": "JVVNL", "consumer_number": "210412345678"}
    r = parse_citizen_qr("https://energy.jvvnl.example.in/qr?a=1&kno=210412345678")
    assert r.fields["provider"] == "JVVNL"
    r = parse_citizen_qr("http://example.in/view?KNO=210412345678")
    assert (r.message_key, r.fields["provider"]) == ("qr_bill_provider_unknown", "")
    assert parse_citizen_qr("https://example.in/?q=hello").kind == "unknown"


# ---------------------------------------------------------------- UPI


def test_upi_is_explained_not_paid():
    r = parse_citizen_qr("upi://pay?pa=shop@okbank&pn=Sharma%20General%20Store&am=120.50&cu=INR")
    assert (r.kind, r.message_key) == ("upi", "qr_upi_not_accepted")
    assert r.fields == {
        "payee_name": "Sharma General Store",
        "payee_vpa": "shop@okbank",
        "amount": "120.50",
    }
    assert parse_citizen_qr("UPI://pay?pa=x@y").kind == "upi"


# ---------------------------------------------------------------- Aadhaar


def test_aadhaar_secure_qr_keeps_last4_and_name_only():
    for version, compress in (
        (b"V2", gzip.compress),
        (None, zlib.compress),
        (b"V4", gzip.compress),
    ):
        payload = secure_qr(aadhaar_fields(), version, compress)
        assert len(payload) > 4300  # longer than int() takes by default
        r = parse_citizen_qr(payload)
        assert (r.kind, r.message_key) == ("aadhaar", "qr_aadhaar_not_needed")
        assert r.fields == {
            "format": "secure",
            "read": "yes",
            "last4": "9012",
            "name": "Sunita Devi",
        }
        assert_private(r, payload)


def test_aadhaar_secure_qr_latin1_name():
    r = parse_citizen_qr(secure_qr(aadhaar_fields("Jos\u00e9 K".encode("latin-1"))))
    assert r.fields["name"] == "Jos\u00e9 K"


def test_aadhaar_unreadable_keeps_nothing():
    payload = AADHAAR * 40  # a long number that is no compressed data
    r = parse_citizen_qr(payload)
    assert (r.kind, r.fields) == ("aadhaar", {"format": "secure", "read": "no"})
    assert_private(r, payload)
    huge = "9" * 20000
    assert parse_citizen_qr(huge).kind == "aadhaar"
    assert_private(parse_citizen_qr(huge), huge)


def test_aadhaar_xml_qr():
    payload = (
        '<?xml version="1.0" encoding="UTF-8"?><PrintLetterBarcodeData uid="'
        + AADHAAR
        + '" name="Ramesh Kumar" gender="M" yob="1980" co="S/O Mohan" dist="Jaipur" '
        'state="Rajasthan" pc="302001"/>'
    )
    r = parse_citizen_qr(payload)
    assert (r.kind, r.message_key) == ("aadhaar", "qr_aadhaar_not_needed")
    assert r.fields == {"format": "xml", "last4": "9012", "name": "Ramesh Kumar"}
    assert_private(r, payload)


# ---------------------------------------------------------------- garbage


def test_garbage():
    cases = {
        "": "qr_empty",
        "   \r\n": "qr_empty",
        "hello world": "qr_not_recognised",
        "210412345678": "qr_not_recognised",  # a bare number could be an Aadhaar number
        "ab\x00\x01cd": "qr_unreadable",
        "x" * 20000: "qr_too_long",
        b"\xff\xfe\x00": "qr_unreadable",
        None: "qr_unreadable",
        12345: "qr_unreadable",
    }
    for payload, key in cases.items():
        r = parse_citizen_qr(payload)
        assert (r.kind, r.message_key, dict(r.fields)) == ("unknown", key, {}), payload


def test_every_message_key_is_listed():
    payloads = [
        "EMITRA1|R|T|ab",
        "BILL|JVVNL|1234567",
        "upi://pay?pa=a@b",
        AADHAAR * 40,
        "",
        "garbage",
        "https://x.in/?kno=1",
    ]
    for p in payloads:
        assert parse_citizen_qr(p).message_key in QR_MESSAGE_KEYS


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=300),
        st.binary(max_size=300),
        st.from_regex(r"(EMITRA1|BILL|upi:|https?://|<PrintLetterBarcodeData)[\s\S]{0,200}"),
        st.from_regex(r"[0-9]{90,400}", fullmatch=True),
    )
)
def test_never_raises(payload):
    r = parse_citizen_qr(payload)
    assert r.kind in {"receipt", "voucher", "bill", "upi", "aadhaar", "unknown"}
    assert r.message_key in QR_MESSAGE_KEYS
    if r.kind == "unknown":
        assert dict(r.fields) == {}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(max_size=40), min_size=0, max_size=20))
def test_never_raises_on_compressed_fields(fields):
    payload = secure_qr(fields, version=None)
    r = parse_citizen_qr(payload)
    assert r.kind in {"aadhaar", "unknown"}
    assert payload not in repr(r)
