"""Receipts: model -> PrintDocument (text lines, Hindi images, QR); widths, margins, masking, QR
codes, the kiosk's time zone; every slip rendered to a PNG of the whole paper for a look."""

from __future__ import annotations

import hashlib
import hmac
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont, features

from drivers.base import Feed, ImageBlock, PrintDocument, QRBlock, TextLine
from drivers.printer.escpos_driver import JobRenderer
from sim.devices.escpos_printer import render_escpos
from terminal.config import ConfigError, load_config
from terminal.receipt_layout import MARGIN_COLS, MARGIN_DOTS, format_local, period_words
from terminal.receipt_slips import build_payment_slip
from terminal.receipts import (
    FONT_PATH,
    CollectionSlip,
    PaymentReceipt,
    VoucherReceipt,
    build_collection_slip,
    build_voucher_receipt,
    format_ist,
    mask_consumer_number,
    mask_name,
    render_text_image,
)
from terminal.status_slip import (
    build_acknowledgement_slip,
    build_certificate_slip,
    build_grievance_slip,
    build_status_slip,
)
from terminal.verification import (
    parse_qr,
    provisional_code,
    receipt_qr,
    voucher_code,
    voucher_qr,
)

PREVIEW = Path("/tmp/receipt-preview")
PAID_AT = datetime(2026, 11, 23, 11, 5, tzinfo=UTC)  # 16:35 IST


def payment(**changes) -> PaymentReceipt:
    fields = dict(
        terminal_id="RJ-JPR-0001",
        location="Jaipur, Collectorate Circle",
        service="electricity",
        provider_code="JVVNL",
        provider_name_en="Jaipur Vidyut Vitran Nigam",
        provider_name_hi="जयपुर विद्युत वितरण निगम",
        consumer_number="210412345678",
        consumer_name="Ramesh Kumar",
        period="2026-10",
        amount_paise=64000,
        tendered_paise=70000,
        notes=[50000, 10000, 10000],
        receipt_no="RCPT-000001",
        txn_id="T-20261123-0001",
        paid_at=PAID_AT,
        verification_code="0123456789abcdef",
    )
    fields.update(changes)
    return PaymentReceipt(**fields)


def voucher(**changes) -> VoucherReceipt:
    fields = dict(
        terminal_id="RJ-JPR-0001",
        location="Jaipur, Collectorate Circle",
        voucher_id="V-20261123-0001",
        amount_paise=6000,
        txn_id="T-20261123-0001",
        issued_at=PAID_AT,
        code=voucher_code("secret", "V-20261123-0001", 6000),
    )
    fields.update(changes)
    return VoucherReceipt(**fields)


def slip(**changes) -> CollectionSlip:
    fields = dict(
        terminal_id="RJ-JPR-0001",
        location="Jaipur, Collectorate Circle",
        engineer_id="ENG-042",
        collected_at=PAID_AT,
        counts={50000: 12, 20000: 3, 10000: 7},
        total_paise=12 * 50000 + 3 * 20000 + 7 * 10000,
        period_start=datetime(2026, 11, 16, 5, 0, tzinfo=UTC),
        vouchers_issued=4,
        vouchers_paise=18000,
    )
    fields.update(changes)
    return CollectionSlip(**fields)


def texts(doc: PrintDocument) -> list[str]:
    return [b.text for b in doc.blocks if isinstance(b, TextLine)]


def joined(doc: PrintDocument) -> str:
    return "\n".join(texts(doc))


def images(doc: PrintDocument) -> list[Image.Image]:
    return [Image.open(io.BytesIO(b.png)) for b in doc.blocks if isinstance(b, ImageBlock)]


def qrs(doc: PrintDocument) -> list[str]:
    return [b.data for b in doc.blocks if isinstance(b, QRBlock)]


REPRINTED = datetime(2026, 11, 24, 4, 30, tzinfo=UTC)  # 10:00 IST the next day
TERMINAL = {"id": "RJ-JPR-0001", "location": "Jaipur, Collectorate Circle", "helpline": "181"}
STATUS = {
    "application_no": "APP-2026-000123", "service": "old_age_pension", "stage": "Verified",
    "stage_date": "2026-11-20", "office": "Tehsil office, Sanganer",
    "next_step_en": "Wait for the sanction letter by post.",
    "next_step_hi": "मंज़ूरी का पत्र डाक से आएगा।",
}
CERT = {
    "certificate_no": "CERT-2026-0042", "type": "Income", "holder_name": "Ra**** Ku***",
    "issued_on": "2026-10-01", "issued_by": "Tehsildar, Sanganer", "status": "valid",
    "details": {"annual_income": "Rs. 1,20,000"}, "verification": "0123456789abcdef",
}

ALL_DOCS = {
    "payment": lambda w: build_payment_slip(payment(), w),
    "provisional": lambda w: build_payment_slip(payment(receipt_no=None, provisional=True), w),
    "duplicate": lambda w: build_payment_slip(payment(duplicate=True), w,
                                              reprinted_at=REPRINTED),
    "voucher-change": lambda w: build_payment_slip(
        payment(voucher_id="V-20261123-0001", voucher_paise=6000, recovery=True), w
    ),
    "card": lambda w: build_payment_slip(
        payment(card_pan_masked="607153******1234", card_auth_code="A1B2C3", notes=[]), w
    ),
    "advance": lambda w: build_payment_slip(payment(
        tendered_paise=50000, notes=[50000], advance_paise=36000,
        vouchers_in=(("V-RJ-JPR-0001-261101100000-ABC123", 50000),)), w),
    "voucher": lambda w: build_voucher_receipt(voucher(), w),
    "voucher-bound": lambda w: build_voucher_receipt(voucher(
        voucher_id="V-RJ-JPR-0001-261123163500-20AC71",  # as the kiosk makes them: a short code
        consumer_number="0141640640", provider_code="BSNL", mobile="9876543210"), w),
    "voucher-duplicate": lambda w: build_voucher_receipt(
        voucher(duplicate=True, reprinted_at=REPRINTED), w),
    "collection": lambda w: build_collection_slip(slip(), w),
    "status": lambda w: build_status_slip(STATUS, TERMINAL, w, now=PAID_AT),
    "certificate": lambda w: build_certificate_slip(CERT, TERMINAL, w, now=PAID_AT),
    "grievance": lambda w: build_grievance_slip(
        {"grievance_no": "G-2026-0007", "department": "Electricity", "category": "Billing",
         "mobile_masked": "XXXXXX3210", "receipt_no": "RCPT-000002"}, TERMINAL, w, now=PAID_AT),
    "acknowledgement": lambda w: build_acknowledgement_slip(
        {"application_no": "APP-2026-000123", "service_name_en": "Old age pension",
         "service_name_hi": "वृद्धावस्था पेंशन", "receipt_no": "RCPT-000003"}, TERMINAL, w,
        now=PAID_AT),
}
OURS = {"payment", "provisional", "duplicate", "voucher-change", "card", "voucher",
        "voucher-duplicate", "collection", "advance", "voucher-bound"}


def paper(doc: PrintDocument, width: int) -> Image.Image:
    """The whole slip as the printer would put it on paper (the ESC/POS simulator's picture)."""
    (img,) = render_escpos(JobRenderer(width).render(doc), width)
    return img


@pytest.mark.parametrize("width", [576, 384])
@pytest.mark.parametrize("kind", sorted(ALL_DOCS))
def test_nothing_is_wider_than_the_paper(kind: str, width: int) -> None:
    doc = ALL_DOCS[kind](width)
    assert doc.cut
    cols = width // 12
    for block in doc.blocks:
        assert isinstance(block, TextLine | ImageBlock | QRBlock | Feed)
        if isinstance(block, TextLine):
            assert block.text.isascii(), block.text
            assert len(block.text) <= (cols // 2 if block.double else cols), block.text
    for img in images(doc):
        assert img.width <= width
        assert img.mode == "1"
    # The whole paper, as the printer simulator draws it: look at these (tests/README).
    whole = paper(doc, width)
    PREVIEW.mkdir(parents=True, exist_ok=True)
    whole.save(PREVIEW / f"slip-{kind}-{width}.png")
    if kind in OURS:  # no ink in the 3 mm margins (the QR's quiet zone is its own)
        ink = whole.point(lambda v: 255 if v < 128 else 0).convert("1")
        left = ink.crop((0, 0, MARGIN_DOTS - 4, whole.height)).getbbox()
        right = ink.crop((width - MARGIN_DOTS + 4, 0, width, whole.height)).getbbox()
        assert left is None and right is None, (kind, left, right)
    # Save every Hindi block for a look (tests/README: check the shaping by eye).
    PREVIEW.mkdir(parents=True, exist_ok=True)
    ims = images(doc)
    sheet = Image.new("1", (width, sum(i.height + 6 for i in ims)), 1)
    y = 0
    for i, img in enumerate(ims):
        img.save(PREVIEW / f"{kind}-{width}-{i:02d}.png")
        sheet.paste(img, ((width - img.width) // 2, y))
        y += img.height + 6
    sheet.save(PREVIEW / f"{kind}-{width}-hindi.png")


def said(build, *args, **kwargs) -> tuple[PrintDocument, str, str]:
    """(document, its printer-font text, the text of its images) for one build: the render is
    watched (not replaced) to learn what each image says."""
    from terminal import receipt_layout

    seen: list[str] = []
    real = receipt_layout._render_png

    def recording(text, *rest):
        seen.append(text)
        return real(text, *rest)

    receipt_layout._render_png = recording
    try:
        doc = build(*args, **kwargs)
    finally:
        receipt_layout._render_png = real
    return doc, joined(doc), "\n".join(seen)


def test_payment_receipt_content() -> None:
    doc, text, pictured = said(build_payment_slip, payment())
    assert texts(doc)[0] == "e-Mitra Plus"
    first = doc.blocks[0]
    assert isinstance(first, TextLine) and first.bold and first.double
    assert "RJ-JPR-0001" in text and "Jaipur, Collectorate Circle" in text
    everything = text + pictured
    assert "XXXXXXXX5678" in everything and "210412345678" not in everything
    assert "2104" not in everything
    assert "Ra**** Ku***" in text and "Ramesh" not in everything
    # ₹ in both languages, the amount once, "Amount paid" beside its Hindi words (not "due")
    assert "Rs." not in everything and "देय" not in everything
    assert "भरी गई रकम / Amount paid\n₹640" in pictured
    assert "Rupees six hundred forty only" in text
    assert "1 × ₹500, 2 × ₹100" in pictured and "₹700" in pictured
    assert "अक्टूबर 2026 / October 2026" in pictured and "2026-10" not in everything
    assert "RCPT-000001" in text and "T-20261123-0001" in text
    assert "23-11-2026 16:35 IST" in text
    assert "मदद: 181 / Helpline 181" in pictured
    assert "PROVISIONAL" not in text and "DUPLICATE" not in text and "RECOVERY" not in text
    assert "PENDING" not in everything
    assert qrs(doc) == ["EMITRA1|R|T-20261123-0001|0123456789abcdef"]
    assert doc.meta["qr"] == qrs(doc)[0]


def test_every_line_keeps_the_margin() -> None:
    doc = build_payment_slip(payment())
    for block in doc.blocks:
        if isinstance(block, TextLine) and block.align == "left":
            assert block.text.startswith(" " * MARGIN_COLS), block.text


def test_flags_are_printed() -> None:
    doc, text, pictured = said(build_payment_slip, payment(receipt_no=None, provisional=True))
    assert "PROVISIONAL - will be confirmed" in text and "PENDING" in text
    assert pictured.count("अस्थायी रसीद / PENDING") == 2  # a banner at the top and the bottom
    banners = [i for i in images(doc) if i.width == 576 - 2 * 24]
    assert len(banners) == 2
    for img in banners:  # inverted: mostly black
        assert img.convert("L").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0)) < 128
    # what happens next, and by when (two days after the payment, in IST)
    assert "25-11-2026" in text and "call 181" in text and "25-11-2026" in pictured
    doc, text, pictured = said(build_payment_slip, payment(duplicate=True),
                               reprinted_at=REPRINTED)
    assert "DUPLICATE - reprinted 24-11-2026 10:00 IST" in text
    assert "दूसरी प्रति / DUPLICATE" in pictured
    assert "RECOVERY RECEIPT" in joined(build_payment_slip(payment(recovery=True)))


def test_payment_with_voucher_and_charge() -> None:
    doc, text, pictured = said(build_payment_slip, payment(
        voucher_id="V-9", voucher_paise=6000, service_charge_paise=1000))
    assert "V-9" in text and "₹60" in pictured and "₹10" in pictured
    assert "अगली बार बिल भरते समय काम आएगी" in pictured


def test_advance_credit_and_vouchers_taken_in_are_on_the_receipt() -> None:
    voucher_id = "V-RJ-JPR-0001-261101100000-ABC123"
    doc, text, pictured = said(build_payment_slip, payment(
        tendered_paise=50000, notes=[50000], advance_paise=36000,
        vouchers_in=((voucher_id, 50000),)))
    assert "₹360 जमा — अगले बिल में घटेगा" in pictured
    assert "₹360 credited to your account — deducted from the next bill" in pictured
    # the voucher used toward it: short (its last characters), with its amount
    assert "वाउचर से / Voucher V-...ABC123: ₹500" in pictured
    assert voucher_id not in text + pictured
    assert "आपने डाले / Cash in: ₹500" in pictured  # the notes only, not the voucher
    # paid by vouchers alone: no cash line at all
    _, _, pictured = said(build_payment_slip, payment(
        tendered_paise=0, notes=[], vouchers_in=((voucher_id, 64000),)))
    assert "Cash in" not in pictured and "V-...ABC123: ₹640" in pictured
    # nothing of either on a plain receipt
    _, _, pictured = said(build_payment_slip, payment())
    assert "जमा" not in pictured and "credited" not in pictured and "वाउचर से" not in pictured


def test_card_payment_prints_no_cash_line() -> None:
    doc, text, pictured = said(build_payment_slip, payment(
        card_pan_masked="607153******1234", card_auth_code="A1B2C3", notes=[]))
    assert "607153******1234" in text and "A1B2C3" in text and "Paid by card" in pictured
    assert "Cash in" not in pictured


def test_times_follow_the_configured_zone() -> None:
    assert format_local(PAID_AT, "Asia/Kolkata") == "23-11-2026 16:35 IST"
    assert format_local(PAID_AT, "UTC") == "23-11-2026 11:05 UTC"
    _, text, _ = said(build_payment_slip, payment(), zone="UTC")
    assert "23-11-2026 11:05 UTC" in text
    assert load_config()["terminal"]["timezone"] == "Asia/Kolkata"
    with pytest.raises(ConfigError, match="timezone"):
        load_config(overrides={"terminal": {"timezone": "Mars/Olympus"}})
    with pytest.raises(ConfigError, match="timezone"):
        load_config(overrides={"terminal": {"timezone": "../../etc/passwd"}})


def test_bill_period_as_a_month() -> None:
    assert period_words("2026-10") == ("अक्टूबर 2026", "October 2026")
    assert period_words("2026-01") == ("जनवरी 2026", "January 2026")
    assert period_words("2026-13") == ("2026-13", "2026-13")
    assert period_words("Oct-Nov 2026") == ("Oct-Nov 2026", "Oct-Nov 2026")


def test_hindi_name_is_masked_and_printed_as_image() -> None:
    doc = build_payment_slip(payment(consumer_name="रमेश कुमार"))
    assert "रमेश" not in joined(doc)
    assert mask_name("रमेश कुमार") == "रमे* कुमा*"
    assert mask_name("Ramesh Kumar") == "Ra**** Ku***"
    assert mask_name("Om") == "O*"


def test_masking_and_time() -> None:
    assert mask_consumer_number("210412345678") == "XXXXXXXX5678"
    assert mask_consumer_number("5012345678") == "XXXXXX5678"
    assert format_ist(datetime(2026, 11, 23, 11, 5, tzinfo=UTC)) == "23-11-2026 16:35 IST"
    assert format_ist(datetime(2026, 11, 23, 20, 0)) == "24-11-2026 01:30 IST"  # naive = UTC


def test_voucher_receipt() -> None:
    v = voucher(duplicate=True, reprinted_at=REPRINTED)
    doc, text, pictured = said(build_voucher_receipt, v)
    assert "V-20261123-0001" in text and "₹60" in pictured and "Rs." not in text + pictured
    assert "DUPLICATE - reprinted 24-11-2026 10:00 IST" in text
    assert "Rupees sixty only" in text and "मदद: 181 / Helpline 181" in pictured
    assert qrs(doc) == [voucher_qr(v.voucher_id, v.code)]
    assert parse_qr(qrs(doc)[0]) == ("V", "V-20261123-0001", v.code)


def test_voucher_slip_says_whose_where_until_when_and_if_lost() -> None:
    doc, text, pictured = said(build_voucher_receipt, voucher(
        consumer_number="0141640640", provider_code="BSNL", mobile="9876543210"))
    everything = text + pictured
    assert "किसकी / For: के-नंबर XXXXXX0640 (BSNL)" in pictured
    assert "मोबाइल / Mobile: XXXXXX3210" in pictured
    assert "0141640640" not in everything and "9876543210" not in everything
    flat = " ".join(t.strip() for t in texts(doc))
    assert "any e-Mitra Plus kiosk" in flat and "e-Mitra counter" in flat
    assert "ई-मित्र प्लस मशीन" in pictured and "ई-मित्र काउंटर" in pictured
    # 180 days after 23-11-2026 16:35 IST
    assert "कब तक / Valid until: 22-05-2027" in pictured
    assert "If this slip is lost, call 181 with the voucher number or the consumer number" in flat
    assert "पर्ची खो जाए तो 181 पर फ़ोन करें" in pictured
    assert "मदद: 181 / Helpline 181" in pictured and "Kiosk RJ-JPR-0001" in text
    # an unbound voucher (no consumer): any bill, no owner line
    doc, text, pictured = said(build_voucher_receipt, voucher())
    assert "For:" not in pictured and "Mobile" not in pictured
    assert "any bill at any e-Mitra Plus kiosk" in " ".join(t.strip() for t in texts(doc))
    assert "Valid until: 22-05-2027" in pictured


def test_collection_slip() -> None:
    doc, text, pictured = said(build_collection_slip, slip())
    assert "ENG-042" in text and "23-11-2026 16:35 IST" in text
    assert "From      : 16-11-2026 10:30 IST" in text  # the period's start
    assert "₹7,300" in pictured and "MISMATCH" not in text
    assert "Vouchers issued: 4 (₹180)" in pictured
    assert any("sign" in t for t in texts(doc))  # cash_collection.slip_with_count's anchor
    bad = slip(total_paise=1)
    assert "MISMATCH" in joined(build_collection_slip(bad))
    _, text, pictured = said(build_collection_slip, slip(period_start=None,
                                                         vouchers_issued=None))
    assert "first collection" in text and "Vouchers" not in pictured


def test_long_hindi_text_wraps_to_the_paper() -> None:
    text = "सेवा अस्थायी रूप से उपलब्ध नहीं है। आपका पैसा सुरक्षित है। अपनी रसीद लें। " * 3
    for width in (576, 384):
        img = Image.open(io.BytesIO(render_text_image(text, width, 28)))
        assert img.width <= width
        assert img.height > 3 * 38  # several lines


def test_devanagari_is_shaped_with_raqm() -> None:
    """raqm reorders the i-matra and forms conjuncts; the BASIC layout does not."""
    assert features.check("raqm")
    word = "बिजली विद्युत"
    ours = Image.open(io.BytesIO(render_text_image(word, 576, 40))).convert("L")
    basic = ImageFont.truetype(FONT_PATH, 40, layout_engine=ImageFont.Layout.BASIC)
    raqm = ImageFont.truetype(FONT_PATH, 40)
    assert raqm.getlength(word) != basic.getlength(word)
    canvas = Image.new("L", ours.size, 255)
    ImageDraw.Draw(canvas).text((2, 1), word, font=basic, fill=0)
    assert ImageChops.difference(ours, canvas).getbbox() is not None


def test_verification_codes() -> None:
    expected = hmac.new(b"s3cret", b"V-1|6000", hashlib.sha256).hexdigest()[:16]
    assert voucher_code("s3cret", "V-1", 6000) == expected
    expected = hmac.new(b"s3cret", b"T-1|64000", hashlib.sha256).hexdigest()[:16]
    assert provisional_code("s3cret", "T-1", 64000) == expected
    assert receipt_qr("T-1", "abc123") == "EMITRA1|R|T-1|abc123"
    assert voucher_qr("V-1", "abc123") == "EMITRA1|V|V-1|abc123"
    assert parse_qr("EMITRA1|R|T-1|abc123") == ("R", "T-1", "abc123")
    assert parse_qr("EMITRA1|X|T-1|abc123") is None
    assert parse_qr("EMITRA2|R|T-1|abc123") is None
    assert parse_qr("EMITRA1|R|T-1") is None
    assert parse_qr("EMITRA1|R|T-1|not-hex!") is None
    assert parse_qr("https://example.com") is None
    with pytest.raises(ValueError):
        receipt_qr("T|1", "abc")


def test_a_voucher_slip_shows_the_short_code_a_citizen_types():
    """The id's last six characters, big, on a voucher the kiosk made; an id of another shape
    (an old one) has no short code line."""
    from drivers.base import ImageBlock

    def pictures(voucher_id: str) -> int:
        doc = build_voucher_receipt(voucher(voucher_id=voucher_id), 576)
        return sum(isinstance(b, ImageBlock) for b in doc.blocks)

    assert pictures("V-RJ-JPR-0001-261123163500-20AC71") == pictures("V-20261123-0001") + 1
