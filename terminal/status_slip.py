"""Paper for the citizen services that carry no money of their own: an application's status, a
certificate's verified summary (with a QR that verifies it again), a grievance's acknowledgement.
Built from receipt_layout's public helpers; every line is wrapped to the paper width and every
value is text central already sent through terminal/central/reference.py's checks."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from typing import Any

from drivers.base import Feed, ImageBlock, PrintDocument, QRBlock, TextLine
from terminal.receipt_layout import (
    FONT_A_DOTS,
    HINDI_BODY_PX,
    HINDI_TITLE_PX,
    QR_MODULE_DOTS,
    format_ist,
    render_text_image,
)
from terminal.verification import PREFIX


def certificate_qr(number: str, code: str) -> str:
    """The QR printed on a certificate summary: scanning it asks central again."""
    return f"{PREFIX}|C|{number}|{code}"


def application_qr(number: str) -> str:
    """The QR of an acknowledgement slip: scanning it shows the application's status."""
    return f"{PREFIX}|A|{number}"


class _Paper:
    def __init__(self, width_dots: int, terminal: dict[str, Any]) -> None:
        self.width = width_dots
        self.cols = width_dots // FONT_A_DOTS
        self.blocks: list[Any] = []
        self.line("e-Mitra Plus", align="center", bold=True)
        self.line(f"Kiosk {terminal['id']}", align="center")
        if terminal.get("location"):
            self.line(str(terminal["location"]), align="center")
        self.rule()

    def line(self, text: str, align: str = "left", bold: bool = False) -> None:
        if not text.isascii():
            self.hindi(text, align=align)
            return
        for part in textwrap.wrap(text, self.cols) or [""]:
            self.blocks.append(TextLine(part, align=align, bold=bold))

    def kv(self, label: str, value: str) -> None:
        if not value.isascii():
            self.line(label + ":")
            self.hindi(value, align="left")
            return
        head = f"{label:<12}: "
        for part in textwrap.wrap(head + value, self.cols, subsequent_indent=" " * len(head)):
            self.blocks.append(TextLine(part))

    def hindi(self, text: str, size_px: int = HINDI_BODY_PX, align: str = "center") -> None:
        self.blocks.append(ImageBlock(render_text_image(text, self.width, size_px, align),
                                      align=align))

    def rule(self) -> None:
        self.blocks.append(TextLine("-" * self.cols))

    def done(self, name: str, meta: dict[str, Any], now: datetime | None) -> PrintDocument:
        self.rule()
        self.line(f"Printed {format_ist(now or datetime.now(UTC))}", align="center")
        self.blocks.append(Feed(3))
        return PrintDocument(blocks=tuple(self.blocks), name=name, cut=True, meta=meta)


def build_status_slip(status: dict[str, Any], terminal: dict[str, Any], width_dots: int = 576,
                      now: datetime | None = None) -> PrintDocument:
    """status: terminal/central/reference.py application_status()."""
    p = _Paper(width_dots, terminal)
    p.hindi("आवेदन की स्थिति", size_px=HINDI_TITLE_PX)
    p.line("APPLICATION STATUS", align="center", bold=True)
    p.kv("Application", status["application_no"])
    p.kv("Service", status["service"].replace("_", " "))
    p.kv("Stage", status["stage"])
    p.kv("Date", status["stage_date"])
    p.kv("Office", status["office"])
    p.rule()
    p.line("What to do next:", bold=True)
    p.line(status["next_step_en"])
    p.hindi(status["next_step_hi"], align="left")
    p.blocks.append(QRBlock(application_qr(status["application_no"]), size=QR_MODULE_DOTS))
    return p.done("status", {"application_no": status["application_no"]}, now)


def build_certificate_slip(cert: dict[str, Any], terminal: dict[str, Any],
                           width_dots: int = 576, now: datetime | None = None) -> PrintDocument:
    """cert: a genuine verdict of reference.py certificate()."""
    p = _Paper(width_dots, terminal)
    p.hindi("प्रमाण पत्र सत्यापन", size_px=HINDI_TITLE_PX)
    p.line("CERTIFICATE VERIFIED WITH CENTRAL", align="center", bold=True)
    p.kv("Certificate", cert["certificate_no"])
    p.kv("Type", cert["type"])
    p.kv("Holder", cert["holder_name"])
    p.kv("Issued on", cert["issued_on"])
    p.kv("Issued by", cert["issued_by"])
    p.kv("Status", cert["status"].upper())
    for key, value in cert["details"].items():
        p.kv(key.replace("_", " ").capitalize(), value)
    p.rule()
    p.line("Scan to verify again:", align="center")
    p.blocks.append(QRBlock(certificate_qr(cert["certificate_no"], cert["verification"]),
                            size=QR_MODULE_DOTS))
    return p.done("certificate", {"certificate_no": cert["certificate_no"]}, now)


def build_grievance_slip(grievance: dict[str, Any], terminal: dict[str, Any],
                         width_dots: int = 576, now: datetime | None = None) -> PrintDocument:
    """grievance: number, department (name), category (name), mobile_masked, fee receipt."""
    p = _Paper(width_dots, terminal)
    p.hindi("शिकायत दर्ज", size_px=HINDI_TITLE_PX)
    p.line("GRIEVANCE REGISTERED", align="center", bold=True)
    p.kv("Grievance no", grievance["grievance_no"])
    p.kv("Department", grievance["department"])
    p.kv("Category", grievance["category"])
    p.kv("Mobile", grievance["mobile_masked"])
    p.kv("Fee receipt", grievance.get("receipt_no") or "to be confirmed")
    p.rule()
    p.line("Keep this slip. Quote the grievance number when you ask about it.")
    return p.done("grievance", {"grievance_no": grievance["grievance_no"]}, now)


def build_acknowledgement_slip(ack: dict[str, Any], terminal: dict[str, Any],
                               width_dots: int = 576, now: datetime | None = None
                               ) -> PrintDocument:
    """ack: application_no, service (names), fee receipt: the number and the QR that shows the
    application's status at any kiosk (EMITRA1|A|<number>)."""
    p = _Paper(width_dots, terminal)
    p.hindi("आवेदन की पावती", size_px=HINDI_TITLE_PX)
    p.line("APPLICATION ACKNOWLEDGEMENT", align="center", bold=True)
    p.kv("Application", ack["application_no"])
    p.kv("Service", ack["service_name_en"])
    p.hindi(ack["service_name_hi"], align="left")
    p.kv("Fee receipt", ack.get("receipt_no") or "to be confirmed")
    p.rule()
    p.line("Scan this QR at any e-Mitra kiosk to see the status:", align="center")
    p.blocks.append(QRBlock(application_qr(ack["application_no"]), size=QR_MODULE_DOTS))
    return p.done("acknowledgement", {"application_no": ack["application_no"]}, now)
