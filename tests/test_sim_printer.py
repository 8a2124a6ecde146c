"""The ESC/POS printer simulator: jobs made by python-escpos render as paper would look, and the
printer answers DLE EOT status correctly over a real pty, also mid-job and under faults."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import serial
from escpos.printer import Dummy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps
from pyzbar.pyzbar import decode

from sim.devices.escpos_printer import EscPosPrinter, PrinterSimulator, render_escpos

ROOT = Path(__file__).resolve().parents[1]
DLE_EOT = b"\x10\x04"


def dummy() -> Dummy:
    # center=True needs a profile with a paper width; TM-T20II's is 576 dots like ours (the
    # TM-T88 profiles say 512)
    return Dummy(profile="TM-T20II")


def ink_bbox(img: Image.Image, top: int = 0, bottom: int | None = None):
    """Bounding box of the black dots (optionally within rows top..bottom)."""
    region = img.crop((0, top, img.width, img.height if bottom is None else bottom))
    box = ImageOps.invert(region.convert("L")).getbbox()
    if box is None:
        return None
    return box[0], box[1] + top, box[2], box[3] + top


def pages(data: bytes, width: int = 576) -> EscPosPrinter:
    printer = EscPosPrinter(width)
    printer.feed(data)
    return printer


# ---------------------------------------------------------------- rendering python-escpos jobs


def test_text_image_and_qr_from_python_escpos() -> None:
    p = dummy()
    p.set(align="center", bold=True)
    p.text("Hello\n")
    p.set(align="left", bold=False)
    p.text("Bill 4711 paid\n")
    p.image(Image.new("1", (64, 64), 0))
    p.ln()  # the printer adds no quiet zone: keep the QR clear of the image above
    p.qr("T-123", native=True, size=5)
    p.cut()
    printer = pages(p.output)
    assert [pg.kind for pg in printer.pages] == ["cut"]
    page = printer.pages[0]
    assert "Hello" in page.text and "Bill 4711 paid" in page.text
    assert page.qr_payloads == ["T-123"]
    assert printer.overflows == 0
    img = page.image
    assert img.width == 576 and img.mode == "L"
    # the QR decodes from the picture of the paper (a white margin stands for the paper edge)
    decoded = decode(ImageOps.expand(img, border=20, fill=255))
    assert [d.data for d in decoded] == [b"T-123"]
    # the same job through the pure function gives the same picture
    (again,) = render_escpos(p.output)
    assert list(again.getdata()) == list(img.getdata())


@pytest.mark.parametrize("impl", ["bitImageRaster", "graphics", "bitImageColumn"])
def test_black_square_image_lands_at_its_size(impl: str) -> None:
    p = dummy()
    p.image(Image.new("1", (96, 48), 0), impl=impl)
    p.cut()
    (img,) = render_escpos(p.output)
    left, top, right, bottom = ink_bbox(img)
    assert (left, right - left) == (0, 96)
    assert bottom - top == 48
    # solid: every dot inside is black
    inside = img.crop((left, top, right, bottom))
    assert inside.getextrema() == (0, 0)


def test_centered_image_and_centered_text() -> None:
    p = dummy()
    p.image(Image.new("1", (128, 32), 0), center=True)
    p.set(align="center")
    p.text("Hello\n")
    p.set(align="right")
    p.text("R\n")
    p.cut()
    (img,) = render_escpos(p.output)
    left, top, right, bottom = ink_bbox(img, 0, 32)
    assert (left + right) // 2 == pytest.approx(288, abs=2)
    assert right - left == 128
    left, _, right, _ = ink_bbox(img, 32, 32 + 30)
    assert (left + right) / 2 == pytest.approx(288, abs=8)
    assert right - left <= 5 * 12
    left, _, right, _ = ink_bbox(img, 62, 92)
    assert right > 576 - 12 and left > 576 - 24


def test_sizes_fonts_and_underline() -> None:
    p = dummy()
    p.set(double_height=True, double_width=True)
    p.text("WIDE\n")
    p.set(normal_textsize=True)
    p.text("x" * 48 + "\n")
    p.set(font="b")
    p.text("y" * 64 + "\n")
    p.cut()
    printer = pages(p.output)
    img = printer.pages[0].image
    left, top, right, bottom = ink_bbox(img, 0, 48)
    assert right - left > 3 * 24 and bottom - top > 24  # double width and height
    assert printer.overflows == 0  # 48 columns of font A and 64 of font B fit on 80 mm
    assert printer.pages[0].text.splitlines() == ["WIDE", "x" * 48, "y" * 64]


def test_wider_than_paper_is_clipped_and_counted() -> None:
    printer = pages(b"\x1b@" + b"z" * 49 + b"\n" + b"\x1dV\x00")
    assert printer.overflows == 1
    assert printer.pages[0].image.width == 576
    # a raster image 640 dots wide (GS v 0 written by hand: python-escpos refuses it)
    raster = b"\x1dv0\x00" + bytes([80, 0, 8, 0]) + b"\xff" * (80 * 8)
    printer = pages(raster + b"\x1dV\x00")
    assert printer.overflows == 1
    assert printer.pages[0].image.width == 576


def test_58mm_paper() -> None:
    printer = pages(b"\x1b@" + b"a" * 32 + b"\n" + b"\x1dV\x00", width=384)
    assert printer.overflows == 0
    assert printer.pages[0].image.width == 384
    assert pages(b"a" * 33 + b"\n\x1dV\x00", width=384).overflows == 1


def test_one_image_per_cut_and_blank_cuts_ignored() -> None:
    p = dummy()
    for n in range(3):
        p.text(f"receipt {n}\n")
        p.cut(mode="PART")
    p.cut()  # nothing printed since the last cut: no receipt
    printer = pages(p.output)
    assert [pg.text for pg in printer.pages] == ["receipt 0", "receipt 1", "receipt 2"]
    assert len(render_escpos(p.output)) == 3


def test_byte_by_byte_equals_all_at_once() -> None:
    p = dummy()
    p.set(align="center")
    p.text("split me\n")
    p.image(Image.new("1", (40, 20), 0), impl="graphics")
    p.qr("A-1", native=True)
    p.cut()
    whole = pages(p.output).pages[0].image
    printer = EscPosPrinter()
    for b in p.output:
        assert printer.feed(bytes([b])) == b""
    assert list(printer.pages[0].image.getdata()) == list(whole.getdata())


def test_codepage_and_barcode() -> None:
    data = (
        b"\x1bt\x00\x9c 10\n"
        + b"\x1bt\x10caf\xe9\n"
        + b"\x1dH\x02\x1dkC\x0c123456789012"
        + b"\x1dV\x00"
    )
    printer = pages(data)
    page = printer.pages[0]
    assert page.text.splitlines()[:2] == ["£ 10", "café"]
    assert page.barcodes == ["123456789012"]


def test_status_replies_without_io() -> None:
    printer = EscPosPrinter()
    assert printer.feed(DLE_EOT + b"\x01" + DLE_EOT + b"\x04") == b"\x12\x12"
    printer.set_paper("near_end")
    assert printer.feed(DLE_EOT + b"\x04") == b"\x1e"
    printer.set_paper("out")
    assert printer.feed(b"".join(DLE_EOT + bytes([n]) for n in (1, 2, 3, 4))) == bytes(
        [0x1A, 0x32, 0x12, 0x7E]
    )


# ---------------------------------------------------------------- hypothesis: never crash

FRAGMENTS = [
    b"\x1b@", b"\x1ba", b"\x1b!", b"\x1d!", b"\x1bE", b"\x1b-", b"\x1bM", b"\x1bt", b"\x1bd",
    b"\x1bJ", b"\x1b3", b"\x1b2", b"\x1dv0", b"\x1b*", b"\x1d(L", b"\x1d8L", b"\x1d(k", b"\x1dk",
    b"\x1dV", b"\x1bp", b"\x10\x14", b"\x1b=", b"\x1bc", b"\x10\x04", b"\x1b&", b"\x1bD", b"\x1c",
    b"\x1cq", b"\x1d*", b"\x1d(k\x03\x001Q0", b"\x1d(k\x04\x001P0x", b"\n", b"Hello ",
]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_random_bytes_never_raise(data: bytes) -> None:
    printer = EscPosPrinter()
    printer.feed(data)
    printer.flush()
    assert printer.internal_errors == 0
    for page in printer.pages:
        assert page.image.width == 576


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.binary(max_size=6)), max_size=60))
def test_command_soup_never_raises(parts: list[bytes]) -> None:
    printer = EscPosPrinter(384)
    for part in parts:
        printer.feed(part)
    printer.flush()
    assert printer.internal_errors == 0
    for page in printer.pages:
        assert page.image.width == 384


# ---------------------------------------------------------------- over a real pty


@pytest.fixture
async def sim(tmp_path: Path):
    s = PrinterSimulator(tmp_path / "receipts")
    await s.start()
    yield s
    await s.stop()


@pytest.fixture
async def port(sim: PrinterSimulator):
    ser = serial.Serial(sim.path, 115200, timeout=1.0)
    yield ser
    ser.close()


async def send(ser: serial.Serial, data: bytes) -> None:
    await asyncio.to_thread(ser.write, data)


async def status(ser: serial.Serial, n: int) -> int:
    await send(ser, DLE_EOT + bytes([n]))
    reply = await asyncio.to_thread(ser.read, 1)
    assert len(reply) == 1, f"no reply to DLE EOT {n}"
    return reply[0]


def job(text: str = "Receipt", lines: int = 1) -> bytes:
    p = dummy()
    p.set(align="center")
    for i in range(lines):
        p.text(f"{text} {i}\n")
    p.qr(text, native=True)
    p.cut()
    return p.output


async def test_status_bytes_over_pty(sim: PrinterSimulator, port: serial.Serial) -> None:
    assert [await status(port, n) for n in (1, 2, 3, 4)] == [0x12] * 4
    sim.set_paper("near_end")
    assert await status(port, 4) == 0x1E
    assert await status(port, 1) == 0x12  # near end is still online
    sim.set_paper("out")
    assert [await status(port, n) for n in (1, 2, 4)] == [0x1A, 0x32, 0x7E]
    sim.set_paper("ok")
    sim.set_cover_open(True)
    assert [await status(port, n) for n in (1, 2, 4)] == [0x1A, 0x16, 0x12]
    sim.set_cover_open(False)
    sim.set_offline(True)
    assert [await status(port, n) for n in (1, 2, 3)] == [0x1A, 0x52, 0x52]
    sim.set_offline(False)
    assert await status(port, 1) == 0x12


async def test_receipt_over_pty_and_status_mid_job(
    sim: PrinterSimulator, port: serial.Serial
) -> None:
    data = job("T-42", lines=3)
    half = data.index(b"\x1d(k")  # in the middle of the job, before the QR
    await send(port, data[:half])
    assert await status(port, 1) == 0x12
    assert not sim.receipts
    await send(port, data[half:])
    assert await sim.wait_for_receipts(1)
    assert sim.receipts[0].name == "receipt-0001.png" and sim.receipts[0].is_file()
    assert "T-42 2" in sim.texts[0]
    assert sim.qr_payloads == [["T-42"]]
    assert sim.overflows == 0
    assert bytes(sim.raw).startswith(data[:half])
    img = Image.open(sim.receipts[0])
    assert img.width == 576
    assert [d.data for d in decode(img)] == [b"T-42"]


async def test_paper_runs_out_mid_job(sim: PrinterSimulator, port: serial.Serial) -> None:
    sim.paper_out_after_lines(3)
    await send(port, job("long", lines=10))
    assert await status(port, 4) == 0x7E
    assert await sim.wait_for_receipts(1)
    assert sim.receipts == [] and len(sim.incomplete) == 1
    assert sim.incomplete[0].name.endswith("-incomplete.png")
    cut_short = Image.open(sim.incomplete[0])
    assert cut_short.height <= 3 * 30
    # more data while out of paper is discarded, but status still answers
    await send(port, job("lost"))
    assert await status(port, 1) == 0x1A
    sim.set_paper("ok")
    assert await status(port, 4) == 0x12
    await send(port, job("after reload"))
    assert await sim.wait_for_receipts(2)
    assert len(sim.receipts) == 1
    assert "lost" not in sim.texts[0] and "after reload 0" in sim.texts[0]


async def test_cover_open_and_offline_discard_print_data(
    sim: PrinterSimulator, port: serial.Serial
) -> None:
    sim.set_cover_open(True)
    await send(port, job("cover"))
    assert await status(port, 2) == 0x16
    sim.set_cover_open(False)
    sim.set_offline(True)
    await send(port, job("offline"))
    assert await status(port, 1) == 0x1A
    sim.set_offline(False)
    await send(port, job("online"))
    assert await sim.wait_for_receipts(1)
    assert len(sim.receipts) == 1 and "online 0" in sim.texts[0]
    assert "cover" not in sim.texts[0] and "offline" not in sim.texts[0]


async def test_stop_flushes_uncut_receipt(tmp_path: Path) -> None:
    sim = PrinterSimulator(tmp_path, paper_width_dots=384)
    await sim.start()
    fd = os.open(sim.path, os.O_RDWR | os.O_NOCTTY)
    try:
        os.write(fd, b"\x1b@no cut yet\n")
        for _ in range(100):
            if len(sim.raw) >= 14:
                break
            await asyncio.sleep(0.01)
    finally:
        os.close(fd)
    await sim.stop()
    assert sim.receipts == [] and [p.name for p in sim.uncut] == ["receipt-0001-uncut.png"]
    assert Image.open(sim.uncut[0]).width == 384


def test_main_prints_pty_path_first(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.devices.escpos_printer", "--out", str(out), "--width", "384"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        path = proc.stdout.readline().strip()
        assert path.startswith("/dev/pts/")
        with serial.Serial(path, 9600, timeout=2) as ser:
            ser.write(DLE_EOT + b"\x01")
            assert ser.read(1) == b"\x12"
            ser.write(job("cli"))
            ser.write(DLE_EOT + b"\x01")
            assert ser.read(1) == b"\x12"  # the job was processed before this reply
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert (out / "receipt-0001.png").is_file()
    assert "receipt-0001.png" in err


async def test_paced_printer_answers_status_while_printing(tmp_path: Path) -> None:
    sim = PrinterSimulator(tmp_path, paced=True)
    await sim.start()
    try:
        with serial.Serial(sim.path, 9600, timeout=1.0) as ser:
            await send(ser, job("slow", lines=4) + DLE_EOT + b"\x01")
            assert await asyncio.to_thread(ser.read, 1) == b"\x12"
            assert not sim.receipts  # the paper is still coming out (150 mm/s)
            assert await sim.wait_for_receipts(1, timeout=3.0)
            assert "slow 3" in sim.texts[0]
    finally:
        await sim.stop()
