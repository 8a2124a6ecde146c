"""Paper for the citizen services that carry no money of their own: an application's status, a
certificate's verified summary (with a QR that verifies it again), a grievance's acknowledgement,
an application's acknowledgement. Laid out as the receipts are (receipt_layout's `_Doc`): the
3 mm margin, the kiosk's number in the header, times in the kiosk's [terminal] timezone named
(IST), and the helpline at the foot. Every line is wrapped to the paper width and every value is
text central already sent through terminal/central/reference.py's checks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from drivers.base import PrintDocument
from terminal.local_time import DEFAULT_ZONE, known_zone
from terminal.receipt_layout import HI, HINDI_TITLE_PX, HINDI_WORDS_PX, _Doc
from terminal.verification import PREFIX


def day_month_year(value: str) -> str:
    """ "2026-11-20" -> "20-11-2026", the order every slip prints; other text as it came."""
    year, month, day = (value.split("-") + ["", ""])[:3] if value.count("-") == 2 else ("", "", "")
    if len(year) == 4 and (year + month + day).isdigit() and len(month) == len(day) == 2:
        return f"{day}-{month}-{year}"
    return value


def certificate_qr(number: str, code: str) -> str:
    """The QR printed on a certificate summary: scanning it asks central again."""
    return f"{PREFIX}|C|{number}|{code}"


def application_qr(number: str) -> str:
    """The QR of an acknowledgement slip: scanning it shows the application's status."""
    return f"{PREFIX}|A|{number}"


class _Paper:
    """One service slip: the receipts' header, title in Hindi then English, then the body."""

    def __init__(self, width_dots: int, terminal: dict[str, Any], title_hi: str,
                 title_en: str) -> None:
        self.terminal = terminal
        self.doc = _Doc(width_dots, known_zone(terminal.get("timezone"), DEFAULT_ZONE))
        self.doc.header(str(terminal["id"]), str(terminal.get("location") or ""))
        self.doc.hindi(title_hi, HINDI_TITLE_PX)
        self.doc.text(title_en, align="center", bold=True)
        self.doc.rule()

    def line(self, text: str, align: str = "left", bold: bool = False) -> None:
        self.doc.text(text, align=align, bold=bold)

    def kv(self, label: str, value: str) -> None:
        self.doc.kv(label, value)

    def hindi(self, text: str, align: str = "center") -> None:
        self.doc.hindi(text, align=align)

    def rule(self) -> None:
        self.doc.rule()

    def qr(self, data: str) -> None:
        self.doc.feed()
        self.doc.qr(data)

    def done(self, name: str, meta: dict[str, Any], now: datetime | None) -> PrintDocument:
        """The printing time (the kiosk's zone, named), the helpline, and the machine number
        (on paper twice: a torn slip still says where it came from)."""
        d = self.doc
        d.feed()
        d.kv("Printed", d.when(now or datetime.now(UTC)))
        d.footer(str(self.terminal.get("helpline") or ""), str(self.terminal["id"]))
        d.both(HI["thanks"], "Thank you")
        d.feed(2)
        return d.document(name, {**meta, "width_dots": d.width})


def build_status_slip(status: dict[str, Any], terminal: dict[str, Any], width_dots: int = 576,
                      now: datetime | None = None) -> PrintDocument:
    """status: terminal/central/reference.py application_status()."""
    p = _Paper(width_dots, terminal, "आवेदन की स्थिति", "APPLICATION STATUS")
    p.kv("Application", status["application_no"])
    p.kv("Service", status["service"].replace("_", " "))
    p.kv("Stage", status["stage"])
    if status.get("stage_hi"):  # central's own Hindi words (status_service checked them)
        p.hindi(f"अभी कहाँ है: {status['stage_hi']}", align="left")
    p.kv("Date", day_month_year(status["stage_date"]))
    p.kv("Office", status["office"])
    if status.get("office_hi"):
        p.hindi(f"दफ़्तर: {status['office_hi']}", align="left")
    p.rule()
    p.line("What to do next:", bold=True)
    p.line(status["next_step_en"])
    p.hindi(status["next_step_hi"], align="left")
    p.qr(application_qr(status["application_no"]))
    p.doc.both("क्यूआर कोड से स्थिति फिर देखें", "Scan to see the status again", HINDI_WORDS_PX)
    return p.done("status", {"application_no": status["application_no"]}, now)


def build_certificate_slip(cert: dict[str, Any], terminal: dict[str, Any],
                           width_dots: int = 576, now: datetime | None = None) -> PrintDocument:
    """cert: a genuine verdict of reference.py certificate()."""
    p = _Paper(width_dots, terminal, "प्रमाण-पत्र की जाँच", "CERTIFICATE VERIFIED WITH CENTRAL")
    p.kv("Certificate", cert["certificate_no"])
    p.kv("Type", cert["type"])
    p.kv("Holder", cert["holder_name"])
    p.kv("Issued on", day_month_year(cert["issued_on"]))
    p.kv("Issued by", cert["issued_by"])
    p.kv("Status", cert["status"].upper())
    for key, value in cert["details"].items():
        p.kv(key.replace("_", " ").capitalize(), value)
    p.rule()
    p.qr(certificate_qr(cert["certificate_no"], cert["verification"]))
    p.doc.both("क्यूआर कोड से फिर जाँचें", "Scan to verify again", HINDI_WORDS_PX)
    return p.done("certificate", {"certificate_no": cert["certificate_no"]}, now)


def build_grievance_slip(grievance: dict[str, Any], terminal: dict[str, Any],
                         width_dots: int = 576, now: datetime | None = None) -> PrintDocument:
    """grievance: number, department (name), category (name), mobile_masked, fee receipt."""
    p = _Paper(width_dots, terminal, "शिकायत दर्ज", "GRIEVANCE REGISTERED")
    p.kv("Grievance no", grievance["grievance_no"])
    p.kv("Department", grievance["department"])
    p.kv("Category", grievance["category"])
    p.kv("Mobile", grievance["mobile_masked"])
    p.kv("Fee receipt", grievance.get("receipt_no") or "to be confirmed")
    p.rule()
    p.hindi("यह पर्ची संभालकर रखें। शिकायत के बारे में पूछते समय यह नंबर बताएँ।", align="left")
    p.line("Keep this slip. Quote the grievance number when you ask about it.")
    return p.done("grievance", {"grievance_no": grievance["grievance_no"]}, now)


def build_acknowledgement_slip(ack: dict[str, Any], terminal: dict[str, Any],
                               width_dots: int = 576, now: datetime | None = None
                               ) -> PrintDocument:
    """ack: application_no, service (names), fee receipt: the number and the QR that shows the
    application's status at any kiosk (EMITRA1|A|<number>)."""
    p = _Paper(width_dots, terminal, "आवेदन की पावती", "APPLICATION ACKNOWLEDGEMENT")
    p.kv("Application", ack["application_no"])
    p.kv("Service", ack["service_name_en"])
    p.hindi(ack["service_name_hi"], align="left")
    p.kv("Fee receipt", ack.get("receipt_no") or "to be confirmed")
    p.rule()
    p.qr(application_qr(ack["application_no"]))
    p.doc.both("किसी भी ई-मित्र कियोस्क पर यह क्यूआर दिखाकर स्थिति देखें",
               "Scan this QR at any e-Mitra kiosk to see the status", HINDI_WORDS_PX)
    return p.done("acknowledgement", {"application_no": ack["application_no"]}, now)
