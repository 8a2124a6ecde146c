"""Layout primitives of the receipts (terminal/receipts.py, terminal/receipt_slips.py): the
paper's constants and Hindi words, masking and date helpers, Hindi rendered as 1-bit PNGs, and
the block builder that keeps every document within the paper width.

English/ASCII lines use the printer's own font (TextLine, 12 dots per character in font A).
Hindi lines cannot go through the printer's code pages, so they are rendered here with Pillow
(Lohit Devanagari, raqm layout so that matras and conjuncts are shaped) into 1-bit PNGs
(ImageBlock). Nothing in a document is wider than the paper: text is wrapped to the column count
and images to width_dots.
"""

from __future__ import annotations

import functools
import io
import logging
import textwrap
import unicodedata
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone

from PIL import Image, ImageDraw, ImageFont, features

from drivers.base import Feed, ImageBlock, PrintDocument, QRBlock, TextLine
from terminal.money import ascii_rupees

log = logging.getLogger("terminal.receipts")  # the receipts' logger, as before the split


FONT_PATH = "/usr/share/fonts/truetype/lohit-devanagari/Lohit-Devanagari.ttf"
IST = timezone(timedelta(hours=5, minutes=30), "IST")

FONT_A_DOTS = 12  # width of one character of the printer's font A (12x24)
HINDI_BODY_PX = 28  # Devanagari needs ~15 % more than the 24-dot Latin font
HINDI_TITLE_PX = 40
HINDI_WORDS_PX = 26
QR_MODULE_DOTS = 6

# Hindi words, from the UI style guide where it has them.
HI = {
    "receipt": "रसीद",
    "paid": "भुगतान सफल",
    "provisional": "अस्थायी रसीद — पुष्टि बाद में होगी",
    "duplicate": "डुप्लीकेट",
    "recovery": "बिजली जाने के बाद पूरा हुआ भुगतान",
    "voucher": "वाउचर (अगले भुगतान में समायोजित)",
    "consumer": "उपभोक्ता संख्या",
    "due": "देय राशि",
    "paid_so_far": "जमा राशि",
    "scan": "क्यूआर कोड स्कैन करें",
    "thanks": "धन्यवाद",
    "money_safe": "आपका पैसा सुरक्षित है",
    "collection": "नकद संग्रह पर्ची",
}
SERVICE_EN = {"electricity": "Electricity bill", "water": "Water bill", "phone": "Phone bill"}
SERVICE_HI = {"electricity": "बिजली बिल", "water": "पानी का बिल", "phone": "फ़ोन बिल"}


# ---------------------------------------------------------------- small helpers


def mask_consumer_number(number: str) -> str:
    """Mask a consumer number: "210412345678" -> "XXXXXXXX5678" (last 4 stay readable)."""
    number = number.strip()
    if len(number) <= 4:
        return "X" * len(number)
    return "X" * (len(number) - 4) + number[-4:]


def _clusters(word: str) -> list[str]:
    """Split into base letters with their combining marks (matras, nukta, halant)."""
    out: list[str] = []
    for ch in word:
        if out and unicodedata.category(ch).startswith("M"):
            out[-1] += ch
        else:
            out.append(ch)
    return out


def mask_name(name: str) -> str:
    """Mask a name: "Ramesh Kumar" -> "Ra**** Ku***" (two letters of each word stay)."""
    masked = []
    for word in name.split():
        parts = _clusters(word)
        keep = 2 if len(parts) > 2 else 1
        masked.append("".join(parts[:keep]) + "*" * (len(parts) - keep))
    return " ".join(masked)


def format_ist(moment: datetime) -> str:
    """UTC datetime (naive = UTC) -> "23-11-2026 16:35 IST"."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(IST).strftime("%d-%m-%Y %H:%M IST")


def notes_by_denomination(notes: list[int]) -> list[str]:
    """[50000, 20000, 50000] -> ["2 x Rs. 500", "1 x Rs. 200"], largest note first."""
    counts = Counter(notes)
    return [f"{counts[value]} x {ascii_rupees(value)}" for value in sorted(counts, reverse=True)]


# ---------------------------------------------------------------- Hindi as images


@functools.lru_cache(maxsize=16)
def _font(size_px: int) -> ImageFont.FreeTypeFont:
    if not features.check("raqm"):
        log.warning("receipts: Pillow has no raqm; Devanagari will not be shaped correctly")
    # Default layout engine = raqm when available. Never Layout.BASIC: it breaks Devanagari.
    return ImageFont.truetype(FONT_PATH, size_px)


def _split_long_word(word: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    pieces, current = [], ""
    for cluster in _clusters(word):
        if current and font.getlength(current + cluster) > width:
            pieces.append(current)
            current = ""
        current += cluster
    if current:
        pieces.append(current)
    return pieces


def wrap_to_width(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Greedy word wrap measured with the shaped text's real advance width."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for word in paragraph.split():
            candidate = f"{current} {word}" if current else word
            if font.getlength(candidate) <= width:
                current = candidate
                continue
            if current:
                lines.append(current)
            if font.getlength(word) <= width:
                current = word
            else:
                *full, current = _split_long_word(word, font, width)
                lines.extend(full)
        lines.append(current)
    return lines


def render_text_image(
    text: str, width_dots: int, size_px: int = HINDI_BODY_PX, align: str = "center"
) -> bytes:
    """Text (Hindi, or mixed with ASCII and ₹) as a 1-bit PNG no wider than width_dots."""
    return _render_png(text, width_dots, size_px, align)[0]


@functools.lru_cache(maxsize=512)
def _render_png(text: str, width_dots: int, size_px: int, align: str) -> tuple[bytes, int]:
    """(PNG, width) — cached: titles and labels repeat on every receipt."""
    img = _render(text, width_dots, size_px, align)
    return _png(img), img.width


def _render(text: str, width_dots: int, size_px: int, align: str) -> Image.Image:
    font = _font(size_px)
    margin = 2
    lines = wrap_to_width(text, font, width_dots - 2 * margin)
    ascent, descent = font.getmetrics()
    line_h = ascent + descent + 2
    widths = [int(font.getlength(line)) + 1 for line in lines]
    img_w = min(width_dots, max(widths) + 2 * margin)
    img = Image.new("L", (img_w, line_h * len(lines) + 2), 255)
    draw = ImageDraw.Draw(img)
    for i, (line, w) in enumerate(zip(lines, widths, strict=True)):
        if align == "center":
            x = (img_w - w) // 2
        elif align == "right":
            x = img_w - w - margin
        else:
            x = margin
        draw.text((x, 1 + i * line_h), line, font=font, fill=0)
    # Threshold (not dither) to 1 bit: crisp strokes on a thermal head.
    return img.point(lambda v: 255 if v >= 150 else 0).convert("1", dither=Image.Dither.NONE)


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


# ---------------------------------------------------------------- document builder


class _Doc:
    """Collects blocks for one paper, wrapping everything to the paper width."""

    def __init__(self, width_dots: int) -> None:
        self.width = width_dots
        self.cols = width_dots // FONT_A_DOTS
        self.blocks: list[TextLine | ImageBlock | QRBlock | Feed] = []

    def text(self, text: str, align: str = "left", bold: bool = False, double: bool = False):
        if not text.isascii():  # a name or place in Devanagari: only an image can carry it
            self.hindi(text, align=align)
            return
        cols = self.cols // 2 if double else self.cols
        for line in textwrap.wrap(text, cols) or [""]:
            self.blocks.append(TextLine(line, align=align, bold=bold, double=double))

    def kv(self, label: str, value: str, bold: bool = False) -> None:
        """A "Label     : value" line, the value wrapped under itself."""
        head = f"{label:<10}: " if label else " " * 12
        if not value.isascii():
            self.text(head.rstrip(), bold=bold)
            self.hindi(value, align="left")
            return
        lines = textwrap.wrap(
            head + value, self.cols, subsequent_indent=" " * len(head), break_long_words=True
        )
        for line in lines:
            self.blocks.append(TextLine(line, bold=bold))

    def hindi(self, text: str, size_px: int = HINDI_BODY_PX, align: str = "center") -> None:
        png, width = _render_png(text, self.width, size_px, align)
        if width > self.width:  # cannot happen: _render wraps and clips to the width
            raise ValueError(f"receipt image {width} dots wide on {self.width}-dot paper")
        self.blocks.append(ImageBlock(png, align=align))

    def rule(self, char: str = "-") -> None:
        self.blocks.append(TextLine(char * self.cols))

    def feed(self, lines: int = 1) -> None:
        self.blocks.append(Feed(lines))

    def qr(self, data: str) -> None:
        self.blocks.append(QRBlock(data, size=QR_MODULE_DOTS))

    def header(self, terminal_id: str, location: str) -> None:
        self.text("e-Mitra Plus", align="center", bold=True, double=True)
        self.text(f"Kiosk {terminal_id}", align="center")
        if location:
            self.text(location, align="center")
        self.rule("=")

    def document(self, name: str, meta: dict) -> PrintDocument:
        return PrintDocument(blocks=tuple(self.blocks), name=name, cut=True, meta=meta)
