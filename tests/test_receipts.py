"""Receipts: model -> PrintDocument (text lines, Hindi images, QR); widths, masking, QR codes."""

from __future__ import annotations

import hashlib
import hmac
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont, features

from drivers.base import Feed, ImageBlock, PrintDocument, QRBlock, TextLine
from terminal.receipts import (
    FONT_PATH,
    CollectionSlip,
    PaymentReceipt,
    VoucherReceipt,
    build_collection_slip,
    build_payment_receipt,
    build_voucher_receipt,
    format_ist,
    mask_consumer_number,
    mask_name,
    render_text_image,
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


def slip() -> CollectionSlip:
    return CollectionSlip(
        terminal_id="RJ-JPR-0001",
        location="Jaipur, Collectorate Circle",
        engineer_id="ENG-042",
        collected_at=PAID_AT,
        counts={50000: 12, 20000: 3, 10000: 7},
        total_paise=12 * 50000 + 3 * 20000 + 7 * 10000,
    )


def texts(doc: PrintDocument) -> list[str]:
    return [b.text for b in doc.blocks if isinstance(b, TextLine)]


def joined(doc: PrintDocument) -> str:
    return "\n".join(texts(doc))


def images(doc: PrintDocument) -> list[Image.Image]:
    return [Image.open(io.BytesIO(b.png)) for b in doc.blocks if isinstance(b, ImageBlock)]


def qrs(doc: PrintDocument) -> list[str]:
    return [b.data for b in doc.blocks if isinstance(b, QRBlock)]


ALL_DOCS = {
    "payment": lambda w: build_payment_receipt(payment(), w),
    "provisional": lambda w: build_payment_receipt(payment(receipt_no=None, provisional=True), w),
    "duplicate": lambda w: build_payment_receipt(payment(duplicate=True), w),
    "voucher-change": lambda w: build_payment_receipt(
        payment(voucher_id="V-20261123-0001", voucher_paise=6000, recovery=True), w
    ),
    "voucher": lambda w: build_voucher_receipt(voucher(), w),
    "collection": lambda w: build_collection_slip(slip(), w),
}


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


def test_payment_receipt_content() -> None:
    doc = build_payment_receipt(payment())
    text = joined(doc)
    assert texts(doc)[0] == "e-Mitra Plus"
    first = doc.blocks[0]
    assert isinstance(first, TextLine) and first.bold and first.double
    assert "RJ-JPR-0001" in text and "Jaipur, Collectorate Circle" in text
    assert "XXXXXXXX5678" in text and "210412345678" not in text and "2104" not in text
    assert "Ra**** Ku***" in text and "Ramesh" not in text
    assert "Rs. 640" in text
    assert "Rupees six hundred forty only" in text
    assert "1 x Rs. 500" in text and "2 x Rs. 100" in text
    assert "RCPT-000001" in text and "T-20261123-0001" in text
    assert "23-11-2026 16:35 IST" in text
    assert "PROVISIONAL" not in text and "DUPLICATE" not in text and "RECOVERY" not in text
    assert qrs(doc) == ["EMITRA1|R|T-20261123-0001|0123456789abcdef"]
    assert doc.meta["qr"] == qrs(doc)[0]
    assert len(images(doc)) >= 6  # title, provider, consumer, amount, words, ... in Hindi


def test_flags_are_printed() -> None:
    text = joined(build_payment_receipt(payment(receipt_no=None, provisional=True)))
    assert "PROVISIONAL - will be confirmed" in text and "PENDING" in text
    assert "DUPLICATE" in joined(build_payment_receipt(payment(duplicate=True)))
    assert "RECOVERY RECEIPT" in joined(build_payment_receipt(payment(recovery=True)))
    # the flags add Hindi lines too
    plain = len(images(build_payment_receipt(payment())))
    assert len(images(build_payment_receipt(payment(provisional=True)))) > plain
    assert len(images(build_payment_receipt(payment(duplicate=True)))) > plain


def test_payment_with_voucher_and_charge() -> None:
    doc = build_payment_receipt(
        payment(voucher_id="V-9", voucher_paise=6000, service_charge_paise=1000)
    )
    text = joined(doc)
    assert "V-9 Rs. 60" in text and "Rs. 10" in text


def test_hindi_name_is_masked_and_printed_as_image() -> None:
    doc = build_payment_receipt(payment(consumer_name="रमेश कुमार"))
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
    v = voucher(duplicate=True)
    doc = build_voucher_receipt(v)
    text = joined(doc)
    assert "V-20261123-0001" in text and "Rs. 60" in text and "DUPLICATE" in text
    assert "Rupees sixty only" in text
    assert qrs(doc) == [voucher_qr(v.voucher_id, v.code)]
    assert parse_qr(qrs(doc)[0]) == ("V", "V-20261123-0001", v.code)


def test_collection_slip() -> None:
    doc = build_collection_slip(slip())
    text = joined(doc)
    assert "ENG-042" in text and "23-11-2026 16:35 IST" in text
    assert "Rs. 7,300" in text and "MISMATCH" not in text
    assert "Rs. 500 x   12 = Rs. 6,000" in text
    bad = CollectionSlip(**{**slip().__dict__, "total_paise": 1})
    assert "MISMATCH" in joined(build_collection_slip(bad))


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
