"""Layout primitives of the receipts (terminal/receipts.py, terminal/receipt_slips.py): the
paper's constants and Hindi words, masking and date helpers, Hindi rendered as 1-bit PNGs, and
the block builder that keeps every document within the paper width and its margin.

English/ASCII lines use the printer's own font (TextLine, 12 dots per character in font A).
Hindi lines cannot go through the printer's code pages, so they are rendered here with Pillow
(Lohit Devanagari, raqm layout so that matras and conjuncts are shaped) into 1-bit PNGs
(ImageBlock); so is every line with ₹, which no code page has either. Nothing in a document is
wider than the paper less a 3 mm margin each side (a roll's edge curls and smudges): text is
wrapped to the column count and images to width_dots.
"""

from __future__ import annotations

import functools
import io
import logging
import textwrap
import unicodedata
from collections import Counter
from datetime import datetime, timedelta, timezone

from PIL import Image, ImageDraw, ImageFont, features

from drivers.base import Feed, ImageBlock, PrintDocument, QRBlock, TextLine
from terminal.local_time import DEFAULT_ZONE, stamp
from terminal.money import ascii_rupees, format_rupees

log = logging.getLogger("terminal.receipts")  # the receipts' logger, as before the split


FONT_PATH = "/usr/share/fonts/truetype/lohit-devanagari/Lohit-Devanagari.ttf"
IST = timezone(timedelta(hours=5, minutes=30), "IST")

FONT_A_DOTS = 12  # width of one character of the printer's font A (12x24)
HINDI_BODY_PX = 28  # Devanagari needs ~15 % more than the 24-dot Latin font
HINDI_TITLE_PX = 40
HINDI_WORDS_PX = 26
HINDI_AMOUNT_PX = 56  # the amount paid: the one figure everybody looks for
QR_MODULE_DOTS = 6
MARGIN_DOTS = 24  # 3 mm at 8 dots/mm (203 dpi), each side
MARGIN_COLS = MARGIN_DOTS // FONT_A_DOTS

# Hindi words, from the UI style guide's word list (../shared/UI.md) where it has them. The keys
# are used by terminal/receipts.py too: the words change, the keys stay.
HI = {
    "receipt": "रसीद",
    "paid": "भुगतान हो गया",
    "provisional": "अस्थायी रसीद — पैसा जमा है, पक्की रसीद बाद में",
    "duplicate": "दूसरी प्रति",
    "recovery": "बिजली जाने से पिछला भुगतान अधूरा था — अब पूरा हुआ",
    "voucher": "बचे पैसे की पर्ची (वाउचर)",
    "voucher_use": "अगली बार बिल भरते समय काम आएगी",
    "voucher_in": "वाउचर से",  # a voucher taken in toward this bill
    "whose": "किसकी",  # whose voucher slip
    "consumer": "के-नंबर",
    "due": "भरी गई रकम",  # printed beside "Amount paid": what was paid, not what is owed
    "bill_amount": "बिल की रकम",
    "paid_so_far": "आपने डाले",
    "scan": "क्यूआर कोड से रसीद जाँचें",
    "thanks": "धन्यवाद",
    "money_safe": "आपका पैसा सुरक्षित है",
    "collection": "नकद संग्रह पर्ची",
    "helpline": "मदद",
    "period": "बिल का महीना",
    "card": "कार्ड से भुगतान",
    "cash": "नकद",
}
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December")
MONTHS_HI = ("जनवरी", "फ़रवरी", "मार्च", "अप्रैल", "मई", "जून", "जुलाई", "अगस्त", "सितंबर",
             "अक्टूबर", "नवंबर", "दिसंबर")
SERVICE_EN = {"electricity": "Electricity bill", "water": "Water bill", "phone": "Phone bill"}
SERVICE_HI = {"electricity": "बिजली बिल", "water": "पानी का बिल", "phone": "फ़ोन बिल"}


# ---------------------------------------------------------------- small helpers


def mask_consumer_number(number: str) -> str:
    """Mask a consumer number: "210412345678" -> "XXXXXXXX5678" (last 4 stay readable)."""
    number = number.strip()
    if len(number) <= 4:
        return "X" * len(number)
    return "X" * (len(number) - 4) + number[-4:]


def short_voucher_id(voucher_id: str) -> str:
    """A redeemed voucher on a receipt: its last six characters, enough to match the slip."""
    voucher_id = voucher_id.strip()
    return voucher_id if len(voucher_id) <= 8 else f"V-...{voucher_id[-6:]}"


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
    """UTC datetime (naive = UTC) -> "23-11-2026 16:35 IST" (the default zone's stamp)."""
    return stamp(moment, DEFAULT_ZONE)


def format_local(moment: datetime, zone_name: str = DEFAULT_ZONE) -> str:
    """UTC datetime (naive = UTC) -> its stamp in the kiosk's configured zone."""
    return stamp(moment, zone_name)


def period_words(period: str) -> tuple[str, str]:
    """ "2026-10" -> ("अक्टूबर 2026", "October 2026"): a bill's month as people say it. Any
    other shape (central's free text) is printed as it came, in both."""
    year, _, month = (period or "").partition("-")
    if len(year) == 4 and year.isdigit() and month.isdigit() and 1 <= int(month) <= 12:
        return f"{MONTHS_HI[int(month) - 1]} {year}", f"{MONTHS_EN[int(month) - 1]} {year}"
    return period, period


def notes_by_denomination(notes: list[int]) -> list[str]:
    """[50000, 20000, 50000] -> ["2 x Rs. 500", "1 x Rs. 200"], largest note first."""
    counts = Counter(notes)
    return [f"{counts[value]} x {ascii_rupees(value)}" for value in sorted(counts, reverse=True)]


def notes_in_rupees(notes: list[int]) -> str:
    """[50000, 10000, 10000] -> "1 × ₹500, 2 × ₹100": the notes once, for both languages."""
    counts = Counter(notes)
    return ", ".join(f"{counts[v]} × {format_rupees(v)}" for v in sorted(counts, reverse=True))


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
def _render_png(
    text: str, width_dots: int, size_px: int, align: str, indent: int = 0, invert: bool = False
) -> tuple[bytes, int]:
    """(PNG, width) — cached: titles and labels repeat on every receipt."""
    img = _render(text, width_dots, size_px, align, indent, invert)
    return _png(img), img.width


def _render(
    text: str, width_dots: int, size_px: int, align: str, indent: int = 0, invert: bool = False
) -> Image.Image:
    """indent: blank dots on the left (a left-aligned line inside the margin). invert: white on
    black across the whole width (a banner nobody mistakes for an ordinary line)."""
    font = _font(size_px)
    margin = 2 if not invert else 10
    lines = wrap_to_width(text, font, width_dots - indent - 2 * margin)
    ascent, descent = font.getmetrics()
    line_h = ascent + descent + 2
    widths = [int(font.getlength(line)) + 1 for line in lines]
    img_w = width_dots if invert else min(width_dots, max(widths) + 2 * margin + indent)
    pad = 6 if invert else 1
    img = Image.new("L", (img_w, line_h * len(lines) + 2 * pad), 255)
    draw = ImageDraw.Draw(img)
    for i, (line, w) in enumerate(zip(lines, widths, strict=True)):
        if align == "center":
            x = indent + (img_w - indent - w) // 2
        elif align == "right":
            x = img_w - w - margin
        else:
            x = indent + margin
        draw.text((x, pad + i * line_h), line, font=font, fill=0)
    # Threshold (not dither) to 1 bit: crisp strokes on a thermal head.
    img = img.point(lambda v: 255 if v >= 150 else 0)
    if invert:
        img = img.point(lambda v: 255 - v)
    return img.convert("1", dither=Image.Dither.NONE)


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


# ---------------------------------------------------------------- document builder


class _Doc:
    """Collects blocks for one paper, wrapping everything to the paper width less its margins."""

    def __init__(self, width_dots: int, zone_name: str = DEFAULT_ZONE) -> None:
        self.width = width_dots
        self.inner = width_dots - 2 * MARGIN_DOTS  # what may carry ink
        self.cols = self.inner // FONT_A_DOTS
        self.zone = zone_name
        self.blocks: list[TextLine | ImageBlock | QRBlock | Feed] = []

    def _line(self, text: str, align: str, bold: bool = False, double: bool = False) -> None:
        # The printer's font starts at dot 0: a left line is pushed in by the margin's columns.
        pad = " " * MARGIN_COLS
        text = pad + text if align == "left" else text + pad if align == "right" else text
        self.blocks.append(TextLine(text, align=align, bold=bold, double=double))

    def text(self, text: str, align: str = "left", bold: bool = False, double: bool = False):
        if not text.isascii():  # a name or place in Devanagari: only an image can carry it
            self.hindi(text, align=align)
            return
        cols = self.cols // 2 if double else self.cols
        for line in textwrap.wrap(text, cols) or [""]:
            self._line(line, align, bold, double)

    def kv(self, label: str, value: str, bold: bool = False) -> None:
        """A "Label     : value" line, the value wrapped under itself."""
        head = f"{label:<10}: " if label else " " * 12
        if not value.isascii():
            self.hindi(f"{label}: {value}" if label else value, align="left")
            return
        if " " not in value and len(head) + len(value) > self.cols >= len(value):
            # An id (transaction, voucher) is read out and typed whole: never broken at a
            # hyphen, it goes on a line of its own under its label.
            self._line(head.rstrip(), "left", bold)
            self._line(value.rjust(self.cols), "left", bold)
            return
        lines = textwrap.wrap(
            head + value, self.cols, subsequent_indent=" " * len(head), break_long_words=True
        )
        for line in lines:
            self._line(line, "left", bold)

    def hindi(self, text: str, size_px: int = HINDI_BODY_PX, align: str = "center") -> None:
        """Devanagari, ₹ or both languages on one line: an image inside the margins."""
        indent = MARGIN_DOTS if align == "left" else 0
        width = self.inner + indent if align == "left" else self.inner
        png, got = _render_png(text, width, size_px, align, indent)
        if got > self.width:  # cannot happen: _render wraps and clips to the width
            raise ValueError(f"receipt image {got} dots wide on {self.width}-dot paper")
        self.blocks.append(ImageBlock(png, align=align))

    def both(self, hindi: str, english: str, size_px: int = HINDI_BODY_PX,
             align: str = "center") -> None:
        """One fact, both languages, one line when it fits: "हिन्दी / English"."""
        self.hindi(f"{hindi} / {english}" if english else hindi, size_px, align)

    def banner(self, text: str, size_px: int = HINDI_BODY_PX) -> None:
        """White on black across the printable width: a state nobody should miss."""
        png, _ = _render_png(text, self.inner, size_px, "center", 0, True)
        self.blocks.append(ImageBlock(png, align="center"))

    def table(self, rows: list[tuple[str, ...]], size_px: int = HINDI_BODY_PX) -> None:
        """Rows of cells (with ₹, so an image), every column right-aligned under its head."""
        font = _font(size_px)
        gap = size_px
        widths = [max(int(font.getlength(r[i])) + 1 for r in rows) for i in range(len(rows[0]))]
        ascent, descent = font.getmetrics()
        line_h = ascent + descent + 4
        img = Image.new("L", (self.inner, line_h * len(rows) + 2), 255)
        draw = ImageDraw.Draw(img)
        right = self.inner - 2
        edges = [right - sum(widths[i + 1:]) - gap * (len(widths) - 1 - i)
                 for i in range(len(widths))]
        for y, row in enumerate(rows):
            for edge, cell in zip(edges, row, strict=True):
                draw.text((edge - font.getlength(cell), 1 + y * line_h), cell, font=font, fill=0)
        img = img.point(lambda v: 255 if v >= 150 else 0).convert("1", dither=Image.Dither.NONE)
        self.blocks.append(ImageBlock(_png(img), align="center"))

    def rule(self, char: str = "-") -> None:
        self._line(char * self.cols, "center")

    def feed(self, lines: int = 1) -> None:
        self.blocks.append(Feed(lines))

    def qr(self, data: str) -> None:
        self.blocks.append(QRBlock(data, size=QR_MODULE_DOTS))

    def when(self, moment: datetime) -> str:
        """A moment as this paper prints it: the kiosk's zone, named."""
        return stamp(moment, self.zone)

    def header(self, terminal_id: str, location: str) -> None:
        self.text("e-Mitra Plus", align="center", bold=True, double=True)
        self.text(f"Kiosk {terminal_id}", align="center")
        if location:
            self.text(location, align="center")
        self.rule("=")

    def duplicate(self, reprinted_at: datetime | None) -> None:
        """A reprint says so at the top, with when it was reprinted (the first print's time
        stays below as the payment's own)."""
        self.banner(f"{HI['duplicate']} / DUPLICATE")
        if reprinted_at is not None:
            self.text(f"DUPLICATE - reprinted {self.when(reprinted_at)}", align="center")
        else:
            self.text("*** DUPLICATE ***", align="center", bold=True)

    def footer(self, helpline: str, terminal_id: str = "") -> None:
        """Who to call, on every slip; the machine number when the header did not print it."""
        self.rule()
        if helpline:
            self.both(f"{HI['helpline']}: {helpline}", f"Helpline {helpline}")
        if terminal_id:
            self.text(f"Kiosk {terminal_id}", align="center")

    def document(self, name: str, meta: dict) -> PrintDocument:
        return PrintDocument(blocks=tuple(self.blocks), name=name, cut=True, meta=meta)
