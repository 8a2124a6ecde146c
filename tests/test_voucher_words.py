"""The words issue 13 adds to the paying and done screens, from the snapshot alone (no window):
vouchers taken in and an advance credit in rupees, hostile snapshot fields ignored, and voucher or
SMS messages never taking the done screen's title."""

from __future__ import annotations

import pytest

from screens import voucher_words as vw
from tests.test_home_plan import Words


@pytest.mark.parametrize(("lang", "used", "advance"), [
    ("hi", "वाउचर ₹500 लगा, वाउचर ₹60 लगा", "₹60 जमा — अगले बिल में घटेगा"),
    ("en", "Voucher ₹500 used, Voucher ₹60 used", "₹60 credited — taken off your next bill"),
])
def test_vouchers_and_advance_in_rupees(lang, used, advance):
    words = Words(lang)
    session = {"vouchers_in": [{"id": "V-A", "paise": 50000}, {"id": "V-B", "paise": 6000}],
               "advance": {"paise": 6000, "text_hi": "x", "text_en": "x"},
               "sms": {"offer": False, "mobile_masked": "XXXXXX3210", "sent": 1}}
    assert vw.vouchers_text(words, session) == used
    assert vw.put_in_part(words, session) == f" ({used})"
    lines = vw.done_text(words, session).split("\n")
    assert lines[0] == advance and lines[1].endswith("XXXXXX3210")


def test_hostile_or_missing_fields_say_nothing():
    words = Words("en")
    for session in ({}, {"vouchers_in": "V-1", "advance": 60, "sms": "yes"},
                    {"vouchers_in": [None, {"paise": "500"}, {"paise": -1}, {"paise": True}],
                     "advance": {"paise": None}, "sms": {"mobile_masked": None}}):
        assert vw.vouchers_text(words, session) == ""
        assert vw.put_in_part(words, session) == ""
        assert vw.done_text(words, session) == ""
        assert vw.sms_offered(session) is False
    assert vw.sms_offered({"sms": {"offer": True}}) is True


def test_voucher_and_sms_messages_are_lines_not_titles():
    for key in ("voucher_used", "voucher_already_used", "sms_sent", "mobile_invalid"):
        assert vw.done_title_key(key) is None
    assert vw.done_title_key("payment_successful") == "payment_successful"
    assert vw.done_title_key(None) is None
    # after a voucher is used, the paying screen says what to do next (the line says what
    # happened); a refusal stays, smaller when long
    assert vw.paying_key("voucher_used") == "insert_note"
    assert vw.paying_key("voucher_expired") == "voucher_expired"
    assert vw.message_base("Insert a note") == 52
    assert vw.message_base("This voucher belongs to another consumer") == 36
