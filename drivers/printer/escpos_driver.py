"""ESC/POS thermal receipt printer: PrintDocument -> bytes (python-escpos) -> the wire (asyncio).

python-escpos only builds the bytes (its Dummy printer, with a profile that knows the paper
width); this module owns the I/O: a serial line through drivers.serial_port.SerialPort, a raw
TCP socket (port 9100), or python-escpos's Usb class driven from a worker thread.

Status comes from DLE EOT 1/2/4 (drivers.printer.status). A request nobody answers is OFFLINE
"no_reply", never "paper ok". print_document returns only when the printer took the whole job and
answered a status request after it without reporting paper out, cover open or an error.
"""

from __future__ import annotations

import asyncio
import copy
import io
import logging
import time
from typing import Protocol

import qrcode
from escpos.capabilities import Profile, get_profile
from escpos.constants import QR_ECLEVEL_M
from escpos.printer import Dummy
from PIL import Image

from drivers.base import (
    OFFLINE,
    DeviceError,
    DeviceState,
    DeviceStatus,
    Feed,
    ImageBlock,
    PrintDocument,
    PrintError,
    QRBlock,
    ReceiptPrinter,
    TextLine,
)
from drivers.printer import status as st
from drivers.serial_port import SerialPort

log = logging.getLogger(__name__)

FONT_A_DOTS = 12
ESC_INIT = b"\x1b\x40"


# ---------------------------------------------------------------- job bytes (no I/O)


def make_profile(paper_width_dots: int) -> Profile:
    """A python-escpos profile that knows the paper width (needed to centre and to refuse
    images wider than the paper). A private copy: the library's profile data is shared."""
    base = get_profile("default")
    profile = Profile(
        columns=paper_width_dots // FONT_A_DOTS, features=dict(base.profile_data["features"])
    )
    data = copy.deepcopy(base.profile_data)
    data["media"] = {
        "dpi": 203,
        "width": {"mm": 72 if paper_width_dots > 432 else 48, "pixels": paper_width_dots},
    }
    profile.profile_data = data
    return profile


def _qr_modules(data: str) -> int:
    """Modules per side of the smallest QR (error correction M) holding data."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(data)
    return 17 + 4 * code.best_fit()  # the version only: no need to lay out and mask the symbol


def _qr_size(data: str, wanted: int, paper_width_dots: int) -> int:
    """The module size (dots) to use: the wanted one, smaller if the code (with its quiet zone)
    would not fit across the paper."""
    modules = _qr_modules(data) + 8  # 4-module quiet zone each side
    size = max(1, min(16, wanted))
    while size > 1 and modules * size > paper_width_dots:
        size -= 1
    return size


class JobRenderer:
    """Turns PrintDocuments into ESC/POS byte segments, one segment per block.

    A segment is never split on the wire, so a status request sent between segments can never
    land inside a command's parameters (a raster image, a QR payload).
    """

    def __init__(
        self, paper_width_dots: int = 576, native_qr: bool = True, pad_images: bool = False
    ) -> None:
        self.paper_width_dots = paper_width_dots
        self.native_qr = native_qr
        self.pad_images = pad_images
        self.profile = make_profile(paper_width_dots)
        self._dummy = Dummy()
        self._dummy.profile = self.profile

    def _take(self) -> bytes:
        out = self._dummy.output
        self._dummy.clear()
        return out

    def segments(self, doc: PrintDocument) -> list[bytes]:
        p = self._dummy
        p.clear()
        out = [ESC_INIT]
        for block in doc.blocks:
            if isinstance(block, TextLine):
                self._text(block)
            elif isinstance(block, ImageBlock):
                self._image(block)
            elif isinstance(block, QRBlock):
                self._qr(block)
            elif isinstance(block, Feed):
                p.ln(max(0, block.lines))
            else:
                raise PrintError(f"printer: unknown block {type(block).__name__}")
            out.append(self._take())
        p.set(align="left", bold=False, normal_textsize=True)
        if doc.cut:
            p.cut()
        else:
            p.ln(4)
        out.append(self._take())
        return out

    def render(self, doc: PrintDocument) -> bytes:
        return b"".join(self.segments(doc))

    def _text(self, line: TextLine) -> None:
        p = self._dummy
        align = line.align if line.align in ("left", "center", "right") else "left"
        if line.double:
            p.set(align=align, bold=line.bold, double_width=True, double_height=True)
        else:
            p.set(align=align, bold=line.bold, normal_textsize=True)
        # The printer's font is ASCII: anything else would print as "?" (Hindi goes as images).
        text = line.text.encode("ascii", "replace").decode("ascii")
        p.textln(text)

    def _image(self, block: ImageBlock) -> None:
        p = self._dummy
        img = Image.open(io.BytesIO(block.png))
        img.load()
        if img.width > self.paper_width_dots:
            raise PrintError(
                f"printer: image {img.width} dots wide, paper has {self.paper_width_dots}"
            )
        align = block.align if block.align in ("left", "center", "right") else "center"
        if self.pad_images and align == "right" and img.width < self.paper_width_dots:
            padded = Image.new("1", (self.paper_width_dots, img.height), 1)
            padded.paste(img.convert("1"), (self.paper_width_dots - img.width, 0))
            img = padded
        if self.pad_images:
            # For models that ignore ESC a for raster images: pad to the paper width instead
            # (costs up to twice the bytes on the wire).
            p.set(align="left")
            p.image(img, impl="bitImageRaster", center=align == "center")
        else:
            # GS v 0 raster, placed by ESC a like text (as most ESC/POS printers do).
            p.set(align=align)
            p.image(img, impl="bitImageRaster")
            p.set(align="left")

    def _qr(self, block: QRBlock) -> None:
        p = self._dummy
        size = _qr_size(block.data, block.size, self.paper_width_dots)
        if self.native_qr:
            p.set(align="center")
            p.qr(block.data, ec=QR_ECLEVEL_M, size=size, native=True)
            p.ln()
            p.set(align="left")
        else:
            p.qr(block.data, ec=QR_ECLEVEL_M, size=size, native=False, center=True)


# ---------------------------------------------------------------- transports


class _Transport(Protocol):
    async def open(self) -> None: ...
    async def write(self, data: bytes) -> None: ...
    async def read(self, timeout: float) -> bytes: ...
    def discard_input(self) -> None: ...
    async def close(self) -> None: ...


class _SerialTransport:
    def __init__(self, port: str, baudrate: int) -> None:
        self._port = SerialPort(port, baudrate=baudrate, name="printer")

    async def open(self) -> None:
        await self._port.open()

    async def write(self, data: bytes) -> None:
        await self._port.write(data)

    async def read(self, timeout: float) -> bytes:
        return await self._port.read(timeout)

    def discard_input(self) -> None:
        self._port.discard_input()

    async def close(self) -> None:
        await self._port.close()


class _TcpTransport:
    """A raw socket printer (JetDirect style, port 9100); DLE EOT replies come back on it.

    A reader task collects incoming bytes, so stale replies can be discarded before a request,
    as on the serial line.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._buffer = bytearray()
        self._data = asyncio.Event()
        self._lost: str | None = None

    async def open(self) -> None:
        try:
            reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), 5.0
            )
        except (OSError, TimeoutError) as exc:
            raise DeviceError(f"printer: cannot connect to {self.host}:{self.port}: {exc}") from exc
        self._lost = None
        self._buffer.clear()
        self._reader_task = asyncio.create_task(self._read_loop(reader))

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        try:
            while data := await reader.read(4096):
                self._buffer += data
                self._data.set()
            self._lost = "connection closed by the printer"
        except OSError as exc:
            self._lost = f"read failed: {exc}"
        self._data.set()

    def _check(self) -> asyncio.StreamWriter:
        if self._writer is None:
            raise DeviceError(f"printer: {self.host}:{self.port} is not connected")
        if self._lost is not None:
            raise DeviceError(f"printer: {self.host}:{self.port}: {self._lost}")
        return self._writer

    async def write(self, data: bytes) -> None:
        writer = self._check()
        try:
            writer.write(data)
            await asyncio.wait_for(writer.drain(), 10.0)
        except (OSError, TimeoutError) as exc:
            self._lost = f"write failed: {exc}"
            raise DeviceError(f"printer: write to {self.host}:{self.port} failed: {exc}") from exc

    async def read(self, timeout: float) -> bytes:
        if not self._buffer:
            self._check()
            self._data.clear()
            try:
                async with asyncio.timeout(timeout):
                    await self._data.wait()
            except TimeoutError:
                return b""
            if not self._buffer:
                self._check()
                return b""
        data = bytes(self._buffer)
        self._buffer.clear()
        return data

    def discard_input(self) -> None:
        self._buffer.clear()

    async def close(self) -> None:
        writer, self._writer = self._writer, None
        task, self._reader_task = self._reader_task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        if writer is not None:
            writer.close()
            try:
                await asyncio.wait_for(writer.wait_closed(), 1.0)
            except (OSError, TimeoutError):
                pass


class _UsbTransport:
    """python-escpos's Usb class (pyusb) from a worker thread. Not exercised by the tests."""

    def __init__(self, vendor: int, product: int) -> None:
        self.vendor, self.product = vendor, product
        self._usb = None

    async def open(self) -> None:
        try:
            from escpos.printer import Usb

            usb = Usb(self.vendor, self.product, timeout=2000)
            await asyncio.to_thread(usb.open)
        except Exception as exc:  # pyusb missing, device absent, permission denied
            raise DeviceError(
                f"printer: cannot open USB {self.vendor:04x}:{self.product:04x}: {exc}"
            ) from exc
        self._usb = usb

    async def write(self, data: bytes) -> None:
        if self._usb is None:
            raise DeviceError("printer: USB printer is not open")
        try:
            await asyncio.to_thread(self._usb._raw, data)
        except Exception as exc:
            raise DeviceError(f"printer: USB write failed: {exc}") from exc

    async def read(self, timeout: float) -> bytes:
        if self._usb is None:
            raise DeviceError("printer: USB printer is not open")
        try:
            data = await asyncio.wait_for(asyncio.to_thread(self._usb._read), timeout)
        except TimeoutError:
            return b""
        except Exception:
            return b""
        return bytes(data or b"")

    def discard_input(self) -> None:
        pass

    async def close(self) -> None:
        usb, self._usb = self._usb, None
        if usb is not None:
            await asyncio.to_thread(usb.close)


# ---------------------------------------------------------------- the driver


class EscposPrinter(ReceiptPrinter):
    """An ESC/POS receipt printer implementing the shared ReceiptPrinter contract."""

    def __init__(
        self,
        *,
        connection: str = "serial",
        port: str = "/dev/ttyUSB0",
        baudrate: int = 9600,
        host: str | None = None,
        tcp_port: int = 9100,
        usb_vendor: int | None = None,
        usb_product: int | None = None,
        paper_width_dots: int = 576,
        native_qr: bool = True,
        pad_images: bool = False,
        status_timeout: float = 0.5,
        chunk_bytes: int = 4096,
        settle_s: float = 0.05,
    ) -> None:
        if connection == "serial":
            self._transport: _Transport = _SerialTransport(port, baudrate)
            self.where = port
        elif connection == "network":
            if not host:
                raise ValueError("printer: connection 'network' needs host")
            self._transport = _TcpTransport(host, tcp_port)
            self.where = f"{host}:{tcp_port}"
        elif connection == "usb":
            if usb_vendor is None or usb_product is None:
                raise ValueError("printer: connection 'usb' needs usb_vendor and usb_product")
            self._transport = _UsbTransport(usb_vendor, usb_product)
            self.where = f"usb {usb_vendor:04x}:{usb_product:04x}"
        else:
            raise ValueError(f"printer: unknown connection {connection!r}")
        self.connection = connection
        self._width = paper_width_dots
        self.status_timeout = status_timeout
        self.chunk_bytes = chunk_bytes
        self.settle_s = settle_s
        self.renderer = JobRenderer(paper_width_dots, native_qr, pad_images)
        self._status: DeviceStatus = OFFLINE
        self._open = False
        self._lock = asyncio.Lock()

    @property
    def paper_width_dots(self) -> int:
        return self._width

    def status(self) -> DeviceStatus:
        return self._status

    async def open(self) -> None:
        if self._open:
            return
        await self._transport.open()  # DeviceError if the port cannot be opened
        self._open = True
        await self.refresh_status()
        log.info("printer: opened %s status=%s", self.where, self._status.to_dict())

    async def close(self) -> None:
        if not self._open:
            return
        self._open = False
        self._status = OFFLINE
        await self._transport.close()

    async def refresh_status(self) -> DeviceStatus:
        if not self._open:
            self._status = OFFLINE
            return self._status
        async with self._lock:
            return await self._refresh_locked()

    # -- I/O under the lock

    async def _ask(self, n: int) -> int | None:
        """One DLE EOT n round trip: the reply byte, or None if nothing status-shaped came."""
        self._transport.discard_input()
        await self._transport.write(st.request(n))
        deadline = time.monotonic() + self.status_timeout
        while (remaining := deadline - time.monotonic()) > 0:
            data = await self._transport.read(remaining)
            if not data:
                return None
            for value in data:
                if st.is_status_byte(value):
                    return value
        return None

    async def _refresh_locked(self) -> DeviceStatus:
        replies: dict[int, int | None] = {}
        try:
            for n in st.QUERY_ORDER:
                replies[n] = await self._ask(n)
                if replies[n] is None:
                    break  # no point waiting out the other requests
            if st.needs_error_cause(replies):
                replies[st.ERROR_CAUSE] = await self._ask(st.ERROR_CAUSE)
                if replies[st.ERROR_CAUSE] is None:
                    del replies[st.ERROR_CAUSE]
        except DeviceError as exc:  # the port went away: no reply, and we know why
            status = DeviceStatus(DeviceState.OFFLINE, ("no_reply", "disconnected"), str(exc))
        else:
            status = st.parse_status(replies)
        if status != self._status:
            log.info("printer: status %s", status.to_dict())
        self._status = status
        return status

    def _chunks(self, doc: PrintDocument) -> list[bytes]:
        chunks: list[bytes] = []
        current = bytearray()
        for segment in self.renderer.segments(doc):
            if current and len(current) + len(segment) > self.chunk_bytes:
                chunks.append(bytes(current))
                current.clear()
            current += segment
        if current:
            chunks.append(bytes(current))
        return chunks

    async def print_document(self, doc: PrintDocument) -> None:
        if not self._open:
            raise PrintError(f"printer: {self.where} is not open")
        try:
            chunks = self._chunks(doc)
        except PrintError:
            raise
        except Exception as exc:  # a block python-escpos refuses (image too wide, bad QR...)
            raise PrintError(f"printer: cannot build {doc.name}: {exc}") from exc
        async with self._lock:
            status = await self._refresh_locked()
            if st.blocks_printing(status):
                raise PrintError(f"printer not ready: {', '.join(status.detail)}")
            for i, chunk in enumerate(chunks):
                try:
                    await self._transport.write(chunk)
                except DeviceError as exc:
                    self._status = DeviceStatus(
                        DeviceState.OFFLINE, ("no_reply", "disconnected"), str(exc)
                    )
                    raise PrintError(f"printer: job {doc.name} not sent: {exc}") from exc
                if i + 1 < len(chunks):
                    status = await self._refresh_locked()
                    if st.blocks_printing(status):
                        raise PrintError(
                            f"printer stopped during {doc.name}: {', '.join(status.detail)}"
                        )
            if self.settle_s > 0:
                await asyncio.sleep(self.settle_s)
            status = await self._refresh_locked()
            if st.blocks_printing(status):
                raise PrintError(f"printer: {doc.name} not confirmed: {', '.join(status.detail)}")
