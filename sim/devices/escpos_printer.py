"""Thermal receipt printer simulator: an 80 mm (or 58 mm) ESC/POS printer, from the printer's side.

It parses the byte stream a host sends (python-escpos or anything else) and renders every receipt
- everything up to a cut (GS V) - to a PNG the way the paper would look: white paper, black dots,
one image pixel per printer dot, font A 12x24 dots (48 columns on 576 dots). Hindi arrives as
raster images (GS v 0 or GS ( L), QR codes natively (GS ( k) and are rendered as real QR symbols.

Real-time status (DLE EOT n) is answered as soon as the command is parsed, also in the middle of a
job and while the printer is offline, out of paper or has its cover open (then print data is
discarded). Faults are injected with set_paper(), set_cover_open(), set_offline() and
paper_out_after_lines().

Layers, as in the rest of the project: `EscPosPrinter` is the printer without I/O (bytes in,
status replies out, pages collected in `.pages`); `PrinterSimulator` puts it on a pty and saves
the pages as PNG files; `render_escpos()` is the pure function bytes -> one image per cut.

This module is written from the printer's side on purpose: it imports nothing from drivers/ or
terminal/. Decisions a real printer leaves open are noted where they are made:
- ESC 3 n and other vertical motion units are taken as printer dots.
- A line feeds by its line spacing, or by the height of its tallest content if that is larger
  (python-escpos prints 24-dot ESC * bands with ESC 3 16; they do not overlap).
- Content beyond the print area is clipped (not wrapped) and counted in `overflows`.
- ESC a alignment applies to text lines and to raster images, QR codes and barcodes.
- A QR code is printed without a quiet zone (the paper around it is the quiet zone).
- With the paper out, DLE EOT 4 reports both the near-end bits and the paper-end bits (0x7E): a
  roll that is gone also reads "near end" at the near-end sensor.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from sim.devices.ptyport import PtyDevice

log = logging.getLogger("sim.printer")

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
HT, LF, FF, CR, CAN = 0x09, 0x0A, 0x0C, 0x0D, 0x18
EOT, ENQ, DC4 = 0x04, 0x05, 0x14

DEFAULT_LINE_SPACING = 30  # ESC 2: 1/6 inch at 180 dpi
MAX_RECEIPT_DOTS = 100_000  # about 14 m of paper: more without a cut is ignored
DOTS_PER_IMAGE_LINE = 24  # paper_out_after_lines counts an image as ceil(height / 24) lines
PRINT_SPEED_DOTS_PER_S = 1200  # 150 mm/s at 8 dots/mm, used only when paced

# Font cell sizes in dots: font A 12x24, font B 9x17.
FONT_CELLS = {0: (12, 24), 1: (9, 17)}

# ESC t n -> Python codec. Unknown pages fall back to latin-1.
CODE_PAGES = {
    0: "cp437",
    2: "cp850",
    3: "cp860",
    4: "cp863",
    5: "cp865",
    16: "cp1252",
    17: "cp866",
    18: "cp852",
    19: "cp858",
    40: "latin-1",
}

# DLE EOT bit layout (Epson): bits 1 and 4 are always 1, bits 0 and 7 always 0.
ST_FIXED = 0x12
ST1_OFFLINE = 0x08
ST2_COVER_OPEN = 0x04
ST2_FEED_BUTTON = 0x08
ST2_PAPER_END_STOP = 0x20
ST2_ERROR = 0x40
ST3_AUTO_RECOVERABLE = 0x40
ST4_NEAR_END = 0x0C
ST4_PAPER_END = 0x60

_FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu",
    "/usr/share/fonts/TTF",
    "/usr/local/share/fonts",
)


def _find_font(name: str) -> str | None:
    for d in _FONT_DIRS:
        p = Path(d) / name
        if p.is_file():
            return str(p)
    return None


class _Glyphs:
    """Printer-font glyph cells as ink masks (mode "1", 1 = a black dot), cached."""

    def __init__(self) -> None:
        self._regular = _find_font("DejaVuSansMono.ttf")
        self._bold = _find_font("DejaVuSansMono-Bold.ttf")
        self._fonts: dict[tuple[int, bool], tuple[ImageFont.FreeTypeFont, bool]] = {}
        self._cells: dict[tuple[str, int, bool, int, int, int, bool], Image.Image] = {}

    def _font(self, font: int, bold: bool):
        key = (font, bold)
        if key not in self._fonts:
            size = 20 if font == 0 else 15
            path = self._bold if bold and self._bold else self._regular
            fake_bold = bold and not (self._bold and path == self._bold)
            try:
                f = ImageFont.truetype(path, size) if path else ImageFont.load_default()
            except OSError:
                f = ImageFont.load_default()
            self._fonts[key] = (f, fake_bold)
        return self._fonts[key]

    def cell(
        self, ch: str, font: int, bold: bool, wmul: int, hmul: int, underline: int, reverse: bool
    ) -> Image.Image:
        key = (ch, font, bold, wmul, hmul, underline, reverse)
        img = self._cells.get(key)
        if img is not None:
            return img
        cw, chh = FONT_CELLS.get(font, FONT_CELLS[0])
        base = Image.new("1", (cw, chh), 0)
        if ch.strip():
            f, fake_bold = self._font(font, bold)
            d = ImageDraw.Draw(base)
            d.fontmode = "1"
            baseline = 19 if font == 0 else 13
            try:
                d.text((0, baseline), ch, fill=1, font=f, anchor="ls")
                if fake_bold:
                    d.text((1, baseline), ch, fill=1, font=f, anchor="ls")
            except (ValueError, TypeError, OSError):  # bitmap fallback font: no anchors
                d.text((0, 0), ch, fill=1, font=f)
        if wmul != 1 or hmul != 1:
            base = base.resize((cw * wmul, chh * hmul), Image.Resampling.NEAREST)
        if underline:
            d = ImageDraw.Draw(base)
            w, h = base.size
            d.rectangle((0, h - underline, w - 1, h - 1), fill=1)
        if reverse:
            base = ImageOps.invert(base.convert("L")).convert("1")
        self._cells[key] = base
        return base


_GLYPHS: _Glyphs | None = None


def _glyphs() -> _Glyphs:
    global _GLYPHS
    if _GLYPHS is None:
        _GLYPHS = _Glyphs()
    return _GLYPHS


@dataclass
class Page:
    """One piece of paper: cut off by GS V ("cut"), by the paper running out ("incomplete"), or
    still in the printer when it stopped ("uncut")."""

    image: Image.Image  # mode "L": 255 white paper, 0 black dot
    text: str
    qr_payloads: list[str]
    barcodes: list[str]
    kind: str


@dataclass
class _Item:
    x: int  # dots from the start of the print area
    ink: Image.Image  # mode "1", 1 = black dot
    char: str = ""


@dataclass
class _Style:
    align: int = 0
    bold: bool = False
    double_strike: bool = False
    underline: int = 0
    font: int = 0
    wmul: int = 1
    hmul: int = 1
    reverse: bool = False
    codepage: int = 0
    line_spacing: int = DEFAULT_LINE_SPACING
    char_spacing: int = 0
    left_margin: int = 0
    area_width: int | None = None
    tabs: list[int] = field(default_factory=lambda: list(range(8, 256, 8)))
    qr_model: int = 2
    qr_module: int = 3
    qr_ec: int = 48
    qr_data: bytes = b""
    bc_height: int = 162
    bc_module: int = 3
    bc_hri: int = 0


_QR_EC = {48: 1, 49: 0, 50: 3, 51: 2}  # ESC/POS L M Q H -> qrcode.constants ERROR_CORRECT_*

NEED_MORE = -1


class EscPosPrinter:
    """The printer without I/O: feed() takes received bytes and returns the status bytes to send
    back; every page of paper that leaves the printer is appended to `pages`."""

    def __init__(self, paper_width_dots: int = 576) -> None:
        self.width = int(paper_width_dots)
        self.pages: list[Page] = []
        self.overflows = 0
        self.unknown_commands = 0
        self.internal_errors = 0  # bugs caught by feed(); tests assert there are none
        self.paper = "ok"
        self.cover_open = False
        self.offline = False
        self._lines_left: int | None = None
        self._buf = bytearray()
        self._replies = bytearray()
        self._logged_unknown: set[bytes] = set()
        self._graphics: tuple[Image.Image, int, int] | None = None
        self._decoders: dict[int, list[str]] = {}
        self._reset_state()
        self._new_receipt()

    # ------------------------------------------------------------------ state and faults

    def _reset_state(self) -> None:
        self.style = _Style()
        self._line: list[_Item] = []
        self._line_align: int | None = None
        self._x = 0

    def _new_receipt(self) -> None:
        self._strips: list[Image.Image] = []
        self._height = 0
        self._ink = False
        self._too_long = False
        self._text_lines: list[str] = []
        self._qr: list[str] = []
        self._barcodes: list[str] = []

    @property
    def can_print(self) -> bool:
        return self.paper != "out" and not self.cover_open and not self.offline

    def set_paper(self, state: str) -> None:
        if state not in ("ok", "near_end", "out"):
            raise ValueError(f"paper state must be ok, near_end or out, not {state!r}")
        if state == "out":
            self._run_out()
        else:
            self.paper = state
            self._lines_left = None

    def set_cover_open(self, is_open: bool) -> None:
        self.cover_open = bool(is_open)
        if self.cover_open:
            self._drop_line()

    def set_offline(self, offline: bool) -> None:
        self.offline = bool(offline)
        if self.offline:
            self._drop_line()

    def paper_out_after_lines(self, n: int) -> None:
        self._lines_left = max(0, int(n))
        if self._lines_left == 0:
            self._run_out()

    def _run_out(self) -> None:
        self.paper = "out"
        self._lines_left = None
        self._drop_line()
        if self._ink:
            self._finish("incomplete")
        else:
            self._new_receipt()

    def _drop_line(self) -> None:
        self._line = []
        self._line_align = None
        self._x = 0

    def status(self, n: int) -> int:
        """The DLE EOT n reply byte."""
        b = ST_FIXED
        if n == 1:
            if not self.can_print:
                b |= ST1_OFFLINE
        elif n == 2:
            if self.cover_open:
                b |= ST2_COVER_OPEN
            if self.paper == "out":
                b |= ST2_PAPER_END_STOP
            if self.offline:
                b |= ST2_ERROR
        elif n == 3:
            if self.offline:
                b |= ST3_AUTO_RECOVERABLE
        elif n == 4:
            if self.paper == "near_end":
                b |= ST4_NEAR_END
            elif self.paper == "out":
                b |= ST4_NEAR_END | ST4_PAPER_END
        return b

    # ------------------------------------------------------------------ byte stream

    def feed(self, data: bytes) -> bytes:
        """Process received bytes; returns the bytes the printer sends back (status replies).
        An incomplete command at the end waits for the next feed()."""
        self._buf += data
        buf = self._buf
        i = 0
        n = len(buf)
        while i < n:
            try:
                j = self._step(buf, i, n)
            except Exception:  # never let a byte stream kill the printer
                self.internal_errors += 1
                log.exception("printer: error processing command at byte 0x%02X", buf[i])
                j = i + 1
            if j == NEED_MORE:
                break
            i = max(j, i + 1)
        del buf[:i]
        out = bytes(self._replies)
        self._replies.clear()
        return out

    def flush(self) -> Page | None:
        """End of input: drop an incomplete command and hand out a page still in the printer."""
        self._buf.clear()
        if self._line and self.can_print:
            self._commit_line(1)
        if self._ink:
            self._finish("uncut")
            return self.pages[-1]
        return None

    def _unknown(self, cmd: bytes) -> int:
        self.unknown_commands += 1
        if cmd not in self._logged_unknown and len(self._logged_unknown) < 64:
            self._logged_unknown.add(cmd)
            log.warning("printer: unknown command %s skipped", cmd.hex(" "))
        return len(cmd)

    def _step(self, buf: bytearray, i: int, n: int) -> int:
        c = buf[i]
        if c >= 0x20:
            return self._text_run(buf, i, n)
        if c == LF:
            if self.can_print:
                self._commit_line(1, text_line=True)
            return i + 1
        if c == HT:
            self._tab()
            return i + 1
        if c == FF:
            if self.can_print and self._line:
                self._commit_line(1, text_line=True)
            return i + 1
        if c in (CR, CAN, 0x00):
            return i + 1
        if c in (ESC, GS, FS, DLE):
            if i + 1 >= n:
                return NEED_MORE
            handler = self._prefix_handlers[c]
            return handler(self, buf, i, n)
        return i + 1  # other control bytes: ignored

    # ------------------------------------------------------------------ helpers for parsing

    @staticmethod
    def _need(i: int, count: int, n: int) -> bool:
        return i + count > n

    @staticmethod
    def _u16(buf: bytearray, i: int) -> int:
        return buf[i] | (buf[i + 1] << 8)

    # ------------------------------------------------------------------ DLE

    def _dle(self, buf: bytearray, i: int, n: int) -> int:
        cmd = buf[i + 1]
        if cmd == EOT:
            if self._need(i, 3, n):
                return NEED_MORE
            arg = buf[i + 2]
            if arg in (1, 2, 3, 4):
                self._replies.append(self.status(arg))
                return i + 3
            if arg in (7, 8, 18):
                return NEED_MORE if self._need(i, 4, n) else i + 4
            return i + 3
        if cmd == ENQ:
            return NEED_MORE if self._need(i, 3, n) else i + 3
        if cmd == DC4:
            if self._need(i, 3, n):
                return NEED_MORE
            fn = buf[i + 2]
            extra = 7 if fn == 8 else 2
            return NEED_MORE if self._need(i, 3 + extra, n) else i + 3 + extra
        return self._unknown(bytes(buf[i : i + 2])) + i

    # ------------------------------------------------------------------ ESC

    def _esc(self, buf: bytearray, i: int, n: int) -> int:
        cmd = buf[i + 1]
        st = self.style
        if cmd == 0x40:  # ESC @ initialise: modes reset, print buffer cleared
            self._reset_state()
            return i + 2
        if cmd in (0x32, 0x3C, 0x4C, 0x53, 0x76):  # ESC 2 / ESC < / ESC L / ESC S / ESC v
            if cmd == 0x32:
                st.line_spacing = DEFAULT_LINE_SPACING
            return i + 2
        if cmd in (0x69, 0x6D):  # ESC i / ESC m: legacy full / partial cut
            self._cut(0)
            return i + 2
        one = {
            0x20, 0x21, 0x25, 0x2D, 0x33, 0x3D, 0x3F, 0x45, 0x47, 0x4A, 0x4B, 0x4D, 0x52, 0x54,
            0x56, 0x61, 0x64, 0x65, 0x72, 0x74, 0x75, 0x7B,
        }  # fmt: skip
        if cmd in one:
            if self._need(i, 3, n):
                return NEED_MORE
            self._esc_one(cmd, buf[i + 2])
            return i + 3
        if cmd in (0x24, 0x5C):  # ESC $ / ESC \ : absolute / relative print position
            if self._need(i, 4, n):
                return NEED_MORE
            v = self._u16(buf, i + 2)
            if cmd == 0x24:
                self._x = v
            else:
                self._x = max(0, self._x + (v - 0x10000 if v >= 0x8000 else v))
            return i + 4
        if cmd == 0x70:  # ESC p m t1 t2: drawer kick
            return NEED_MORE if self._need(i, 5, n) else i + 5
        if cmd == 0x63:  # ESC c x n: paper sensors / panel buttons
            return NEED_MORE if self._need(i, 4, n) else i + 4
        if cmd == 0x57:  # ESC W: page mode print area
            return NEED_MORE if self._need(i, 10, n) else i + 10
        if cmd == 0x44:  # ESC D n1..nk NUL: tab positions
            k = 0
            while True:
                if i + 2 + k >= n:
                    return NEED_MORE
                if buf[i + 2 + k] == 0 or k == 32:
                    break
                k += 1
            tabs = list(buf[i + 2 : i + 2 + k])
            st.tabs = [t for idx, t in enumerate(tabs) if idx == 0 or t > tabs[idx - 1]]
            return i + 2 + k + (1 if k < 32 else 0)
        if cmd == 0x2A:  # ESC * m nL nH d...: bit image columns
            return self._esc_star(buf, i, n)
        if cmd == 0x26:  # ESC & y c1 c2 ...: user-defined characters (stored nowhere)
            return self._esc_amp(buf, i, n)
        if cmd == 0x28:  # ESC ( X pL pH ...
            if self._need(i, 5, n):
                return NEED_MORE
            end = i + 5 + self._u16(buf, i + 3)
            return NEED_MORE if end > n else end
        return i + self._unknown(bytes(buf[i : i + 2]))

    def _esc_one(self, cmd: int, v: int) -> None:
        st = self.style
        if cmd == 0x20:
            st.char_spacing = v
        elif cmd == 0x21:  # ESC ! n: print mode
            st.font = v & 1
            st.bold = bool(v & 0x08)
            st.hmul = 2 if v & 0x10 else 1
            st.wmul = 2 if v & 0x20 else 1
            st.underline = 1 if v & 0x80 else 0
        elif cmd == 0x2D:
            st.underline = {0: 0, 1: 1, 2: 2, 48: 0, 49: 1, 50: 2}.get(v, st.underline)
        elif cmd == 0x33:
            st.line_spacing = v
        elif cmd == 0x45:
            st.bold = bool(v & 1)
        elif cmd == 0x47:
            st.double_strike = bool(v & 1)
        elif cmd == 0x4A:  # ESC J n: print and feed n dots
            if self.can_print:
                self._commit_line(0, dots=v, lines=1 if self._line else 0)
        elif cmd == 0x4D:
            st.font = 1 if v in (1, 49) else 0
        elif cmd == 0x61:
            if v in (0, 1, 2, 48, 49, 50):
                st.align = v % 48
        elif cmd == 0x64:  # ESC d n: print and feed n lines
            if self.can_print:
                self._commit_line(v, text_line=bool(self._line))
        elif cmd == 0x74:
            st.codepage = v

    def _esc_star(self, buf: bytearray, i: int, n: int) -> int:
        if self._need(i, 5, n):
            return NEED_MORE
        m = buf[i + 2]
        cols = self._u16(buf, i + 3)
        if m not in (0, 1, 32, 33):
            return i + self._unknown(bytes(buf[i : i + 3]))
        per_col = 3 if m >= 32 else 1
        end = i + 5 + cols * per_col
        if end > n:
            return NEED_MORE
        if self.can_print and cols:
            raw = bytes(buf[i + 5 : end])
            img = Image.frombytes("1", (8 * per_col, cols), raw).transpose(
                Image.Transpose.TRANSPOSE
            )
            sx = 2 if m in (0, 32) else 1
            sy = 3 if m in (0, 1) else 1
            if sx != 1 or sy != 1:
                img = img.resize((img.width * sx, img.height * sy), Image.Resampling.NEAREST)
            self._add_item(img)
        return end

    def _esc_amp(self, buf: bytearray, i: int, n: int) -> int:
        if self._need(i, 5, n):
            return NEED_MORE
        y, c1, c2 = buf[i + 2], buf[i + 3], buf[i + 4]
        j = i + 5
        for _ in range(max(0, min(c2, 126) - c1 + 1)):
            if j >= n:
                return NEED_MORE
            j += 1 + y * buf[j]
            if j > n:
                return NEED_MORE
        return j

    # ------------------------------------------------------------------ GS

    def _gs(self, buf: bytearray, i: int, n: int) -> int:
        cmd = buf[i + 1]
        st = self.style
        if cmd in (0x21, 0x2F, 0x42, 0x48, 0x49, 0x54, 0x61, 0x62, 0x66, 0x68, 0x72, 0x77):
            if self._need(i, 3, n):
                return NEED_MORE
            v = buf[i + 2]
            if cmd == 0x21:  # GS ! n: character size
                st.wmul = min(8, (v >> 4) + 1)
                st.hmul = min(8, (v & 0x0F) + 1)
            elif cmd == 0x42:
                st.reverse = bool(v & 1)
            elif cmd == 0x48:
                st.bc_hri = v % 48 if v in (0, 1, 2, 3, 48, 49, 50, 51) else st.bc_hri
            elif cmd == 0x49:
                self._printer_id(v)
            elif cmd == 0x68:
                st.bc_height = max(1, v)
            elif cmd == 0x77:
                st.bc_module = min(6, max(1, v))
            elif cmd == 0x72:
                self._transmit_status(v)
            return i + 3
        if cmd in (0x24, 0x4C, 0x50, 0x57, 0x5C):
            if self._need(i, 4, n):
                return NEED_MORE
            v = self._u16(buf, i + 2)
            if cmd == 0x4C:
                st.left_margin = v
            elif cmd == 0x57:
                st.area_width = v
            elif cmd == 0x24:
                self._x = v
            elif cmd == 0x5C:
                self._x = max(0, self._x + (v - 0x10000 if v >= 0x8000 else v))
            return i + 4
        if cmd == 0x3A:  # GS : start/end macro
            return i + 2
        if cmd == 0x5E:  # GS ^ r t m: run macro
            return NEED_MORE if self._need(i, 5, n) else i + 5
        if cmd == 0x67:  # GS g 0 / GS g 2: maintenance counters
            return NEED_MORE if self._need(i, 5, n) else i + 5
        if cmd == 0x56:
            return self._gs_cut(buf, i, n)
        if cmd == 0x76:
            return self._gs_v0(buf, i, n)
        if cmd == 0x6B:
            return self._gs_k(buf, i, n)
        if cmd == 0x2A:  # GS * x y d: define downloaded bit image (not kept)
            if self._need(i, 4, n):
                return NEED_MORE
            end = i + 4 + buf[i + 2] * buf[i + 3] * 8
            return NEED_MORE if end > n else end
        if cmd == 0x28:  # GS ( X pL pH ...
            if self._need(i, 5, n):
                return NEED_MORE
            end = i + 5 + self._u16(buf, i + 3)
            if end > n:
                return NEED_MORE
            fn = buf[i + 2]
            body = bytes(buf[i + 5 : end])
            if fn == 0x4C:
                self._graphics_cmd(body)
            elif fn == 0x6B:
                self._symbol_cmd(body)
            return end
        if cmd == 0x38:  # GS 8 X p1 p2 p3 p4 ...
            if self._need(i, 7, n):
                return NEED_MORE
            size = buf[i + 3] | buf[i + 4] << 8 | buf[i + 5] << 16 | buf[i + 6] << 24
            end = i + 7 + size
            if end > n:
                return NEED_MORE
            if buf[i + 2] == 0x4C:
                self._graphics_cmd(bytes(buf[i + 7 : end]))
            return end
        return i + self._unknown(bytes(buf[i : i + 2]))

    def _printer_id(self, v: int) -> None:
        ids = {1: b"\x20", 2: b"\x02", 3: b"\x40", 66: b"_EPSON\x00", 67: b"_TM-T82 SIM\x00"}
        reply = ids.get(v if v < 48 or v > 51 else v - 48)
        if reply:
            self._replies += reply

    def _transmit_status(self, v: int) -> None:
        if v in (1, 49):  # paper sensor: bits 0,1 near end; bits 2,3 paper end
            b = 0
            if self.paper in ("near_end", "out"):
                b |= 0x03
            if self.paper == "out":
                b |= 0x0C
            self._replies.append(b)
        elif v in (2, 50):  # drawer kick connector
            self._replies.append(0)

    def _gs_cut(self, buf: bytearray, i: int, n: int) -> int:
        if self._need(i, 3, n):
            return NEED_MORE
        m = buf[i + 2]
        if m in (0, 1, 48, 49):
            self._cut(0)
            return i + 3
        if m in (65, 66, 97, 98, 103, 104):
            if self._need(i, 4, n):
                return NEED_MORE
            self._cut(buf[i + 3])
            return i + 4
        return i + self._unknown(bytes(buf[i : i + 3]))

    def _gs_v0(self, buf: bytearray, i: int, n: int) -> int:
        if self._need(i, 3, n):
            return NEED_MORE
        if buf[i + 2] != 0x30:
            return i + self._unknown(bytes(buf[i : i + 3]))
        if self._need(i, 8, n):
            return NEED_MORE
        m = buf[i + 3]
        wbytes = self._u16(buf, i + 4)
        h = self._u16(buf, i + 6)
        end = i + 8 + wbytes * h
        if end > n:
            return NEED_MORE
        if self.can_print and wbytes and h:
            m = m - 48 if 48 <= m <= 51 else m
            sx = 2 if m in (1, 3) else 1
            sy = 2 if m in (2, 3) else 1
            self._raster(bytes(buf[i + 8 : end]), wbytes * 8, h, sx, sy)
        return end

    def _raster(self, data: bytes, w: int, h: int, sx: int, sy: int) -> None:
        img = Image.frombytes("1", (w, h), data)
        limit = -(-self.width // sx)
        if img.width > limit:  # clip before scaling (keeps memory bounded)
            if img.crop((limit, 0, img.width, h)).getbbox():
                self.overflows += 1
            img = img.crop((0, 0, limit, h))
        if sx != 1 or sy != 1:
            img = img.resize((img.width * sx, h * sy), Image.Resampling.NEAREST)
        self._print_block(img)

    def _graphics_cmd(self, body: bytes) -> None:
        """GS ( L / GS 8 L: store raster graphics in the print buffer (fn 112), print it (fn 50)."""
        if len(body) < 2:
            return
        fn = body[1]
        if fn in (0x70,) and len(body) >= 10:
            bx, by, color = body[3], body[4], body[5]
            w = body[6] | body[7] << 8
            h = body[8] | body[9] << 8
            size = ((w + 7) // 8) * h
            data = body[10 : 10 + size]
            if w and h and len(data) == size and color in (49, 50, 51, 52):
                img = Image.frombytes("1", ((w + 7) // 8 * 8, h), data).crop((0, 0, w, h))
                self._graphics = (img, 2 if bx == 2 else 1, 2 if by == 2 else 1)
            else:
                self._graphics = None
        elif fn in (0x32, 0x02):
            if self._graphics is not None and self.can_print:
                img, sx, sy = self._graphics
                self._raster(img.tobytes(), img.width, img.height, sx, sy)
            self._graphics = None

    def _symbol_cmd(self, body: bytes) -> None:
        """GS ( k: 2D symbols. Only QR (cn 49) is printed."""
        if len(body) < 2 or body[0] != 49:
            return
        fn = body[1]
        st = self.style
        if fn == 65 and len(body) >= 3:
            st.qr_model = {49: 1, 50: 2, 51: 3}.get(body[2], st.qr_model)
        elif fn == 67 and len(body) >= 3:
            if 1 <= body[2] <= 16:
                st.qr_module = body[2]
        elif fn == 69 and len(body) >= 3:
            if body[2] in _QR_EC:
                st.qr_ec = body[2]
        elif fn == 80 and len(body) >= 3:
            st.qr_data = body[3:]
        elif fn == 81:
            self._print_qr()

    def _print_qr(self) -> None:
        st = self.style
        if not st.qr_data or not self.can_print:
            return
        import qrcode

        try:
            qr = qrcode.QRCode(
                version=None, error_correction=_QR_EC[st.qr_ec], box_size=1, border=0
            )
            qr.add_data(st.qr_data, optimize=0)
            qr.make(fit=True)
            matrix = qr.get_matrix()
        except Exception as e:  # data too long for any version, etc.
            log.warning("printer: QR not printed: %s", e)
            return
        size = len(matrix)
        img = Image.new("1", (size, size), 0)
        img.putdata([1 if v else 0 for row in matrix for v in row])
        img = img.resize((size * st.qr_module, size * st.qr_module), Image.Resampling.NEAREST)
        self._qr.append(st.qr_data.decode("utf-8", errors="replace"))
        self._print_block(img)

    def _gs_k(self, buf: bytearray, i: int, n: int) -> int:
        if self._need(i, 3, n):
            return NEED_MORE
        m = buf[i + 2]
        if m <= 6:
            j = i + 3
            while j < n and buf[j] != 0 and j - i - 3 < 255:
                j += 1
            if j >= n:
                return NEED_MORE
            if buf[j] != 0:
                return i + self._unknown(bytes(buf[i : i + 3]))
            data, end = bytes(buf[i + 3 : j]), j + 1
        elif 65 <= m <= 79:
            if self._need(i, 4, n):
                return NEED_MORE
            end = i + 4 + buf[i + 3]
            if end > n:
                return NEED_MORE
            data = bytes(buf[i + 4 : end])
        else:
            return i + self._unknown(bytes(buf[i : i + 3]))
        if self.can_print and data:
            self._print_barcode(data.decode("latin-1"))
        return end

    def _print_barcode(self, text: str) -> None:
        """A placeholder for a 1D barcode: a box of bars of the right size, with its text."""
        st = self.style
        w = min(self.width, (len(text) * 11 + 35) * st.bc_module)
        h = st.bc_height
        img = Image.new("1", (w, h), 0)
        d = ImageDraw.Draw(img)
        d.rectangle((0, 0, w - 1, h - 1), outline=1)
        # Bars: 11 modules per character from the character's bits, guard bars at both ends.
        modules = [1, 0, 1]
        for b in text.encode("latin-1"):
            modules += [1] + [(b * 37 + k * 11) >> 3 & 1 for k in range(9)] + [0]
        modules += [1, 0, 1]
        mw = st.bc_module
        x0 = max(2, (w - len(modules) * mw) // 2)
        for k, bit in enumerate(modules):
            x = x0 + k * mw
            if bit and x + mw < w - 2:
                d.rectangle((x, 3, x + mw - 1, h - 4), fill=1)
        self._barcodes.append(text)
        self._print_block(img)
        if st.bc_hri in (1, 2, 3) and self.can_print:
            self._line_align = st.align
            self._text_into_line(text, font=0, bold=False, wmul=1, hmul=1, underline=0)
            self._commit_line(1, record_text=False)

    # ------------------------------------------------------------------ FS

    def _fs(self, buf: bytearray, i: int, n: int) -> int:
        cmd = buf[i + 1]
        if cmd in (0x26, 0x2E):  # FS & / FS . : kanji mode on/off
            return i + 2
        if cmd in (0x21, 0x2D, 0x43, 0x57):
            return NEED_MORE if self._need(i, 3, n) else i + 3
        if cmd in (0x53, 0x70):  # FS S n1 n2 / FS p n m (print NV image: not stored)
            return NEED_MORE if self._need(i, 4, n) else i + 4
        if cmd == 0x28:
            if self._need(i, 5, n):
                return NEED_MORE
            end = i + 5 + self._u16(buf, i + 3)
            return NEED_MORE if end > n else end
        if cmd == 0x71:  # FS q n [xL xH yL yH d...]...: define NV images
            if self._need(i, 3, n):
                return NEED_MORE
            j = i + 3
            for _ in range(buf[i + 2]):
                if self._need(j, 4, n):
                    return NEED_MORE
                j += 4 + self._u16(buf, j) * self._u16(buf, j + 2) * 8
                if j > n:
                    return NEED_MORE
            return j
        return i + self._unknown(bytes(buf[i : i + 2]))

    _prefix_handlers: dict[int, Callable[[EscPosPrinter, bytearray, int, int], int]] = {
        ESC: _esc,
        GS: _gs,
        FS: _fs,
        DLE: _dle,
    }

    # ------------------------------------------------------------------ text and line buffer

    def _decode_table(self) -> list[str]:
        cp = self.style.codepage
        table = self._decoders.get(cp)
        if table is None:
            codec = CODE_PAGES.get(cp, "latin-1")
            table = [bytes([b]).decode(codec, errors="replace") for b in range(256)]
            self._decoders[cp] = table
        return table

    def _text_run(self, buf: bytearray, i: int, n: int) -> int:
        j = i
        while j < n and buf[j] >= 0x20:
            j += 1
        if not self.can_print:
            return j
        table = self._decode_table()
        st = self.style
        text = "".join(table[b] for b in buf[i:j])
        self._text_into_line(
            text, st.font, st.bold or st.double_strike, st.wmul, st.hmul, st.underline
        )
        return j

    def _text_into_line(
        self, text: str, font: int, bold: bool, wmul: int, hmul: int, underline: int
    ) -> None:
        glyphs = _glyphs()
        st = self.style
        for ch in text:
            cell = glyphs.cell(ch, font, bold, wmul, hmul, underline, st.reverse)
            self._add_item(cell, ch, advance=cell.width + st.char_spacing * wmul)

    def _add_item(self, ink: Image.Image, char: str = "", advance: int | None = None) -> None:
        if self._line_align is None:
            self._line_align = self.style.align
        self._line.append(_Item(self._x, ink, char))
        self._x += ink.width if advance is None else advance

    def _tab(self) -> None:
        cw = FONT_CELLS[0][0] + self.style.char_spacing
        for t in self.style.tabs:
            if t * cw > self._x:
                if self._line_align is None:
                    self._line_align = self.style.align
                self._x = t * cw
                return

    def _area(self) -> tuple[int, int]:
        left = min(self.style.left_margin, self.width)
        width = self.width - left
        if self.style.area_width:
            width = min(width, self.style.area_width)
        return left, width

    def _commit_line(
        self,
        feed_lines: int,
        *,
        dots: int | None = None,
        text_line: bool = False,
        lines: int | None = None,
        record_text: bool = True,
    ) -> None:
        """Print the line buffer, then feed: `feed_lines` lines, or `dots` dots."""
        items, align = self._line, self._line_align
        self._drop_line()
        if not self.can_print:
            return
        content_h = max((it.ink.height for it in items), default=0)
        feed = dots if dots is not None else feed_lines * self.style.line_spacing
        strip_h = max(content_h, feed)
        has_chars = any(it.char for it in items)
        if record_text and (has_chars or (text_line and not items)):
            self._text_lines.append("".join(it.char for it in items).rstrip())
        count = (feed_lines if dots is None else 0) if lines is None else lines
        if items and count == 0:
            count = 1
        if strip_h <= 0:
            return
        strip = Image.new("1", (self.width, strip_h), 0)
        if items:
            left, area = self._area()
            extent = max(it.x + it.ink.width for it in items)
            shift = 0
            if extent < area:
                shift = {1: (area - extent) // 2, 2: area - extent}.get(align or 0, 0)
            right = left + area
            over = False
            for it in items:
                x = left + shift + it.x
                y = content_h - it.ink.height
                ink = it.ink
                if x + ink.width > right:
                    visible = right - x
                    if (ink.crop((max(0, visible), 0, ink.width, ink.height)).getbbox()) or it.char:
                        over = True
                    if visible <= 0:
                        continue
                    ink = ink.crop((0, 0, visible, ink.height))
                strip.paste(1, (x, y), mask=ink)
            if over:
                self.overflows += 1
        self._append_strip(strip, count)

    def _print_block(self, img: Image.Image) -> None:
        """Print an image (raster, QR, barcode) on its own, aligned by ESC a."""
        if self._line:
            self._commit_line(1)
        if not self.can_print:
            return
        left, area = self._area()
        w = img.width
        if w > area:
            if img.crop((area, 0, w, img.height)).getbbox():
                self.overflows += 1
            img = img.crop((0, 0, area, img.height))
            w = area
        shift = {1: (area - w) // 2, 2: area - w}.get(self.style.align, 0)
        strip = Image.new("1", (self.width, img.height), 0)
        strip.paste(1, (left + shift, 0), mask=img)
        self._append_strip(strip, -(-img.height // DOTS_PER_IMAGE_LINE))

    def _append_strip(self, strip: Image.Image, lines: int) -> None:
        """Put a printed strip on the paper; `lines` is how much paper it uses for
        paper_out_after_lines."""
        if self._lines_left is not None and lines > 0:
            if lines > self._lines_left:  # only part of it fits on the paper that is left
                keep = strip.height * self._lines_left // lines
                strip = strip.crop((0, 0, strip.width, keep))
            self._lines_left -= min(lines, self._lines_left)
        if self._height + strip.height > MAX_RECEIPT_DOTS:
            if not self._too_long:
                self._too_long = True
                self.overflows += 1
                log.warning("printer: receipt longer than %d dots; rest dropped", MAX_RECEIPT_DOTS)
        elif strip.height:
            self._strips.append(strip)
            self._height += strip.height
            if not self._ink and strip.getbbox():
                self._ink = True
        if self._lines_left == 0:
            self._run_out()

    def _cut(self, feed_dots: int) -> None:
        if not self.can_print:
            return
        if self._line:
            self._commit_line(1, text_line=True)
        if feed_dots and self.can_print:
            self._append_strip(Image.new("1", (self.width, feed_dots), 0), 0)
        if not self.can_print:
            return
        if self._ink:
            self._finish("cut")
        else:
            log.info("printer: cut of blank paper ignored")
            self._new_receipt()

    def _finish(self, kind: str) -> None:
        canvas = Image.new("1", (self.width, max(1, self._height)), 0)
        y = 0
        for s in self._strips:
            canvas.paste(s, (0, y))
            y += s.height
        image = ImageOps.invert(canvas.convert("L"))
        text = "\n".join(self._text_lines)
        self.pages.append(Page(image, text, list(self._qr), list(self._barcodes), kind))
        self._new_receipt()


def render_escpos(data: bytes, paper_width_dots: int = 576) -> list[Image.Image]:
    """Bytes -> one image (mode "L", white paper, black dots) per cut receipt."""
    printer = EscPosPrinter(paper_width_dots)
    printer.feed(bytes(data))
    return [p.image for p in printer.pages if p.kind == "cut"]


class PrinterSimulator:
    """The printer on a pty: a driver opens `path`; receipts land in `out_dir` as PNG files."""

    def __init__(
        self, out_dir: str | Path, *, paper_width_dots: int = 576, paced: bool = False
    ) -> None:
        self.out_dir = Path(out_dir)
        self.paced = paced
        self.printer = EscPosPrinter(paper_width_dots)
        self.receipts: list[Path] = []
        self.incomplete: list[Path] = []
        self.uncut: list[Path] = []
        self.texts: list[str] = []
        self.qr_payloads: list[list[str]] = []
        self.barcodes: list[list[str]] = []
        self.raw = bytearray()
        self._seq = 0
        self._pty: PtyDevice | None = None
        self._task: asyncio.Task[None] | None = None
        self._saver: asyncio.Task[None] | None = None
        self._save_queue: asyncio.Queue[Page] | None = None
        self._changed: asyncio.Event | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._changed = asyncio.Event()
        self._pty = PtyDevice(paced=self.paced)
        self._pty.start()
        if self.paced:
            self._save_queue = asyncio.Queue()
            self._saver = asyncio.create_task(self._paced_saver())
        self._task = asyncio.create_task(self._run())

    @property
    def path(self) -> str:
        if self._pty is None:
            raise RuntimeError("PrinterSimulator.start() has not been called")
        return self._pty.path

    @property
    def overflows(self) -> int:
        return self.printer.overflows

    async def stop(self) -> None:
        for task in (self._task, self._saver):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._saver = None
        if self._save_queue is not None:
            while not self._save_queue.empty():
                self._save(self._save_queue.get_nowait())
            self._save_queue = None
        if self._pty is not None:
            self._pty.close()
            self._pty = None
        if self.printer.flush() is not None:
            self._collect(immediate=True)

    async def _run(self) -> None:
        assert self._pty is not None
        while True:
            data = await self._pty.read()
            if not data:
                continue
            self.raw += data
            reply = self.printer.feed(data)
            if reply:
                await self._pty.write(reply)
            self._collect()

    # ------------------------------------------------------------------ faults

    def set_paper(self, state: str) -> None:
        self.printer.set_paper(state)
        self._collect()

    def set_cover_open(self, is_open: bool) -> None:
        self.printer.set_cover_open(is_open)

    def set_offline(self, offline: bool) -> None:
        self.printer.set_offline(offline)

    def paper_out_after_lines(self, n: int) -> None:
        self.printer.paper_out_after_lines(n)
        self._collect()

    # ------------------------------------------------------------------ receipts

    async def wait_for_receipts(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until `count` receipts (cut or incomplete) have been saved."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.receipts) + len(self.incomplete) < count:
            left = deadline - loop.time()
            if left <= 0 or self._changed is None:
                return False
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)
        return True

    def _collect(self, immediate: bool = False) -> None:
        pages, self.printer.pages = self.printer.pages, []
        for page in pages:
            if self._save_queue is not None and not immediate:
                self._save_queue.put_nowait(page)
            else:
                self._save(page)

    async def _paced_saver(self) -> None:
        assert self._save_queue is not None
        while True:
            page = await self._save_queue.get()
            await asyncio.sleep(page.image.height / PRINT_SPEED_DOTS_PER_S)
            self._save(page)

    def _save(self, page: Page) -> None:
        self._seq += 1
        suffix = {"cut": "", "incomplete": "-incomplete", "uncut": "-uncut"}[page.kind]
        path = self.out_dir / f"receipt-{self._seq:04d}{suffix}.png"
        self.out_dir.mkdir(parents=True, exist_ok=True)
        page.image.save(path)
        if page.kind == "cut":
            self.receipts.append(path)
            self.texts.append(page.text)
            self.qr_payloads.append(page.qr_payloads)
            self.barcodes.append(page.barcodes)
        elif page.kind == "incomplete":
            self.incomplete.append(path)
        else:
            self.uncut.append(path)
        log.info(
            "printer: saved %s (%s, %dx%d dots, %d QR)",
            path,
            page.kind,
            page.image.width,
            page.image.height,
            len(page.qr_payloads),
        )
        if self._changed is not None:
            self._changed.set()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sim printer", description="ESC/POS thermal receipt printer simulator"
    )
    parser.add_argument("--out", default="./receipts", help="directory for receipt PNGs")
    parser.add_argument("--width", type=int, choices=(576, 384), default=576,
                        help="paper width in dots: 576 = 80 mm, 384 = 58 mm")  # fmt: skip
    parser.add_argument("--paced", action="store_true", help="behave at serial/printing speed")
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")

    async def run() -> None:
        sim = PrinterSimulator(args.out, paper_width_dots=args.width, paced=args.paced)
        await sim.start()
        print(sim.path, flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await sim.stop()

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
