"""The ESC/POS driver against the printer simulator over a real pty (and a TCP stand-in)."""

from __future__ import annotations

import asyncio
import os
import tty
from datetime import UTC, datetime

import pytest
from PIL import Image
from pyzbar.pyzbar import decode

from drivers.base import DeviceError, DeviceState, PrintError
from drivers.printer import EscposPrinter, JobRenderer, make_printer
from drivers.printer.status import blocks_printing, parse_status, request
from sim.devices.escpos_printer import EscPosPrinter, PrinterSimulator
from terminal.receipts import PaymentReceipt, build_payment_slip
from terminal.verification import receipt_qr

PAID_AT = datetime(2026, 11, 23, 11, 5, tzinfo=UTC)


def receipt(**changes) -> PaymentReceipt:
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
        voucher_id="V-20261123-0001",
        voucher_paise=6000,
    )
    fields.update(changes)
    return PaymentReceipt(**fields)


PAYLOAD = receipt_qr("T-20261123-0001", "0123456789abcdef")


def qr_in_png(path) -> list[str]:
    return [r.data.decode() for r in decode(Image.open(path))]


@pytest.fixture
async def sim(tmp_path):
    s = PrinterSimulator(tmp_path / "paper", paper_width_dots=576)
    await s.start()
    yield s
    await s.stop()


@pytest.fixture
async def printer(sim):
    p = EscposPrinter(port=sim.path, status_timeout=0.3, settle_s=0.0)
    await p.open()
    yield p
    await p.close()


# ---------------------------------------------------------------- printing


async def test_full_bilingual_receipt(sim, printer) -> None:
    assert printer.status().state is DeviceState.ONLINE
    assert printer.paper_width_dots == 576
    await printer.print_document(build_payment_slip(receipt()))
    assert await sim.wait_for_receipts(1)
    assert len(sim.receipts) == 1 and not sim.incomplete
    assert sim.overflows == 0
    assert sim.qr_payloads == [[PAYLOAD]]
    assert qr_in_png(sim.receipts[0]) == [PAYLOAD]  # the printed QR really scans
    text = sim.texts[0]
    assert "e-Mitra Plus" in text and "T-20261123-0001" in text and "?" not in text
    assert "PAYMENT RECEIPT - PAID" in text and "210412345678" not in text
    img = Image.open(sim.receipts[0])
    assert img.width == 576 and img.height > 1000  # Hindi images are on the paper


async def test_image_qr_and_58mm_paper(tmp_path) -> None:
    sim = PrinterSimulator(tmp_path, paper_width_dots=384)
    await sim.start()
    p = make_printer(port=sim.path, paper_width_dots=384, native_qr=False, settle_s=0.0)
    try:
        await p.open()
        await p.print_document(build_payment_slip(receipt(), width_dots=384))
        assert await sim.wait_for_receipts(1)
        assert sim.overflows == 0
        assert qr_in_png(sim.receipts[0]) == [PAYLOAD]
    finally:
        await p.close()
        await sim.stop()


async def test_paper_near_end_still_prints(sim, printer) -> None:
    sim.set_paper("near_end")
    status = await printer.refresh_status()
    assert status.state is DeviceState.ONLINE and "paper_near_end" in status.detail
    await printer.print_document(build_payment_slip(receipt()))
    assert await sim.wait_for_receipts(1)


@pytest.mark.parametrize(
    ("fault", "state", "word"),
    [
        (lambda s: s.set_paper("out"), DeviceState.USER_ERROR, "paper_out"),
        (lambda s: s.set_cover_open(True), DeviceState.USER_ERROR, "cover_open"),
        (lambda s: s.set_offline(True), DeviceState.OFFLINE, "offline"),
    ],
    ids=["paper_out", "cover_open", "offline"],
)
async def test_faults_are_reported_and_refuse_printing(sim, printer, fault, state, word) -> None:
    fault(sim)
    status = await printer.refresh_status()
    assert status.state is state and word in status.detail, status
    assert printer.status() == status
    with pytest.raises(PrintError):
        await printer.print_document(build_payment_slip(receipt()))
    await asyncio.sleep(0.05)
    assert not sim.receipts and not sim.incomplete  # nothing was sent


async def test_paper_out_mid_receipt_then_reprint(sim, printer) -> None:
    doc = build_payment_slip(receipt())
    sim.paper_out_after_lines(12)
    with pytest.raises(PrintError, match="paper_out"):
        await printer.print_document(doc)
    assert printer.status().state is DeviceState.USER_ERROR
    assert await sim.wait_for_receipts(1)
    assert len(sim.incomplete) == 1 and not sim.receipts

    sim.set_paper("ok")  # the engineer loads a new roll
    assert (await printer.refresh_status()).state is DeviceState.ONLINE
    await printer.print_document(doc)  # the same receipt again (not a duplicate)
    assert await sim.wait_for_receipts(2)
    assert len(sim.receipts) == 1
    assert "DUPLICATE" not in sim.texts[0]
    assert sim.qr_payloads == [[PAYLOAD]] and qr_in_png(sim.receipts[0]) == [PAYLOAD]
    assert sim.overflows == 0


async def test_paper_out_on_the_last_lines_is_caught_after_the_job(sim, printer) -> None:
    doc = build_payment_slip(receipt())
    data = JobRenderer(576).render(doc)
    # find the line budget of a whole receipt, then run out just before its end
    lines = 1
    while True:
        probe = EscPosPrinter(576)
        probe.paper_out_after_lines(lines)
        probe.feed(data)
        if probe.pages and probe.pages[0].kind == "cut":
            break
        lines += 4
    sim.paper_out_after_lines(lines - 5)
    with pytest.raises(PrintError):
        await printer.print_document(doc)
    assert not sim.receipts


# ---------------------------------------------------------------- no answer


async def test_bare_pty_nobody_answers() -> None:
    master, slave = os.openpty()
    tty.setraw(master)
    p = EscposPrinter(port=os.ttyname(slave), status_timeout=0.2)
    try:
        await p.open()  # the port opens fine ...
        status = p.status()  # ... but nobody answers DLE EOT: unknown, never "paper ok"
        assert status.state is DeviceState.OFFLINE and status.detail == ("no_reply",)
        assert (await p.refresh_status()).detail == ("no_reply",)
        with pytest.raises(PrintError, match="no_reply"):
            await p.print_document(build_payment_slip(receipt()))
    finally:
        await p.close()
        os.close(master)
        os.close(slave)


async def test_simulator_stopped(sim, printer) -> None:
    await printer.print_document(build_payment_slip(receipt()))
    await sim.stop()
    status = await printer.refresh_status()
    assert status.state is DeviceState.OFFLINE and "no_reply" in status.detail
    with pytest.raises(PrintError):
        await printer.print_document(build_payment_slip(receipt()))


async def test_open_errors_and_close_twice(tmp_path) -> None:
    p = EscposPrinter(port=str(tmp_path / "no-such-tty"))
    with pytest.raises(DeviceError):
        await p.open()
    assert p.status().state is DeviceState.OFFLINE
    with pytest.raises(PrintError):
        await p.print_document(build_payment_slip(receipt()))
    await p.close()
    await p.close()
    with pytest.raises(ValueError):
        EscposPrinter(connection="carrier-pigeon")


# ---------------------------------------------------------------- network printer (port 9100)


async def test_network_printer() -> None:
    device = EscPosPrinter(576)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            if reply := device.feed(data):
                writer.write(reply)
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    p = EscposPrinter(connection="network", host="127.0.0.1", tcp_port=port, settle_s=0.0)
    try:
        await p.open()
        assert p.status().state is DeviceState.ONLINE
        await p.print_document(build_payment_slip(receipt()))
        assert [pg.kind for pg in device.pages] == ["cut"]
        assert device.pages[0].qr_payloads == [PAYLOAD]
        device.set_cover_open(True)
        assert "cover_open" in (await p.refresh_status()).detail
    finally:
        await p.close()
        server.close()
        await server.wait_closed()


# ---------------------------------------------------------------- the status table


@pytest.mark.parametrize(
    ("replies", "state", "detail"),
    [
        ({1: 0x12, 2: 0x12, 4: 0x12}, DeviceState.ONLINE, ()),
        ({1: 0x12, 2: 0x12, 4: 0x1E}, DeviceState.ONLINE, ("paper_near_end",)),
        ({1: 0x1A, 2: 0x32, 4: 0x7E}, DeviceState.USER_ERROR, ("paper_out", "offline")),
        ({1: 0x1A, 2: 0x16, 4: 0x12}, DeviceState.USER_ERROR, ("cover_open", "offline")),
        ({1: 0x1A, 2: 0x12, 4: 0x12}, DeviceState.OFFLINE, ("offline",)),
        ({1: 0x1A, 2: 0x52, 4: 0x12}, DeviceState.HWERROR, ("error", "offline")),
        (
            {1: 0x1A, 2: 0x52, 3: 0x1A, 4: 0x12},
            DeviceState.HWERROR,
            ("autocutter_error", "offline"),
        ),
        (
            {1: 0x1A, 2: 0x52, 3: 0x52, 4: 0x12},
            DeviceState.OFFLINE,
            ("auto_recoverable_error", "offline"),
        ),
        ({1: None}, DeviceState.OFFLINE, ("no_reply",)),
        ({1: 0x12, 2: None}, DeviceState.OFFLINE, ("no_reply",)),
        ({1: 0x12, 2: 0x12, 4: None}, DeviceState.OFFLINE, ("no_reply",)),
        ({}, DeviceState.OFFLINE, ("no_reply",)),
    ],
)
def test_status_table(replies, state, detail) -> None:
    status = parse_status(replies)
    assert (status.state, status.detail) == (state, detail)
    assert blocks_printing(status) == (state is not DeviceState.ONLINE)


def test_status_requests() -> None:
    assert request(1) == b"\x10\x04\x01" and request(4) == b"\x10\x04\x04"
    with pytest.raises(ValueError):
        request(5)
