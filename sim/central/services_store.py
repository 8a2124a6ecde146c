"""The reference central's records for the citizen services (applications, certificates,
grievances), beside the money store (store.py). Applications and certificates are seeded
read-only data (catalogue_seed.py); grievances are registered by kiosks and kept in SQLite.

A grievance is registered with its fee as a bill of the grievance provider in the money store
(store.add_bills): the kiosk pays it through the same path as any bill, and the grievance counts
as registered once that bill is paid.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import threading
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from . import catalogue_seed, seed
from .store import ApiError, CentralStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS applications (
    application_no TEXT PRIMARY KEY,
    request_id     TEXT NOT NULL,
    terminal_id    TEXT NOT NULL,
    service        TEXT NOT NULL,
    answers        TEXT NOT NULL,
    bill_id        TEXT NOT NULL,
    submitted_at   TEXT NOT NULL,
    UNIQUE (terminal_id, request_id)
);
CREATE TABLE IF NOT EXISTS application_documents (
    terminal_id    TEXT NOT NULL,
    request_id     TEXT NOT NULL,
    code           TEXT NOT NULL,
    sha256         TEXT NOT NULL,
    jpeg           BLOB NOT NULL,
    PRIMARY KEY (terminal_id, request_id, code)
);
CREATE TABLE IF NOT EXISTS grievances (
    grievance_no  TEXT PRIMARY KEY,
    request_id    TEXT NOT NULL,
    terminal_id   TEXT NOT NULL,
    department    TEXT NOT NULL,
    category      TEXT NOT NULL,
    complaint     TEXT,
    description   TEXT NOT NULL,
    mobile        TEXT NOT NULL,
    photo_bytes   INTEGER NOT NULL,
    bill_id       TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    UNIQUE (terminal_id, request_id)
);
"""


def certificate_code(key: str, number: str) -> str:
    """The verification code printed in a certificate's QR (EMITRA1|C|<number>|<code>)."""
    return hmac.new(key.encode(), f"CERT|{number}".encode(), hashlib.sha256).hexdigest()[:16]


class ServicesStore:
    def __init__(self, money: CentralStore, receipt_key: str) -> None:
        self.money = money
        self.receipt_key = receipt_key
        self._lock = threading.RLock()
        path = money.db_path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                   timeout=10.0)
        self._db.row_factory = sqlite3.Row
        self._db.executescript(SCHEMA)
        money.add_bills(catalogue_seed.gas_bills())

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- applications and certificates (seeded) ----------------------------------------------

    def application(self, number: str) -> dict[str, Any]:
        row = catalogue_seed.APPLICATIONS.get(number) or self._submitted(number)
        if row is None:
            raise ApiError(404, "not_found", f"no application {number}")
        service, stage, date, office, status, next_en, next_hi, stage_hi, office_hi = row
        return {"application_no": number, "service": service, "stage": stage,
                "stage_hi": stage_hi, "stage_date": date, "office": office,
                "office_hi": office_hi, "status": status, "next_step_en": next_en,
                "next_step_hi": next_hi}

    def certificate(self, number: str, code: str | None) -> dict[str, Any]:
        row = catalogue_seed.CERTIFICATES.get(number)
        want = certificate_code(self.receipt_key, number)
        if row is None:
            raise ApiError(404, "not_found", f"no certificate {number}")
        if code is not None and not hmac.compare_digest(code.lower(), want):
            return {"certificate_no": number, "result": "not_genuine"}
        kind, holder, issued_on, issued_by, status, details = row
        return {"certificate_no": number, "result": "genuine", "type": kind,
                "holder_name": holder, "issued_on": issued_on, "issued_by": issued_by,
                "status": status, "details": dict(details), "verification": want}

    # -- applications submitted at kiosks ------------------------------------------------------

    def _submitted(self, number: str) -> tuple[str, ...] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT service, submitted_at FROM applications WHERE application_no = ?",
                (number,)).fetchone()
        if row is None:
            return None
        bill = self.money.find_bill(catalogue_seed.APPLICATION_PROVIDER, number)
        day = row["submitted_at"][:10]
        if bill is None or bill["status"] != "paid":
            return (row["service"], "Waiting for the e-Mitra fee", day, "e-Mitra kiosk",
                    "awaiting_citizen", "Pay the application fee at the kiosk.",
                    "कियोस्क पर आवेदन शुल्क जमा करें।", "ई-मित्र शुल्क बाकी है",
                    "ई-मित्र कियोस्क")
        return (row["service"], "Submitted", day, "Tehsil office", "in_progress",
                "Nothing to do now; the office will verify your documents.",
                "अभी कुछ नहीं करना है; कार्यालय आपके दस्तावेज़ों की जाँच करेगा।",
                "आवेदन जमा हो गया", "तहसील कार्यालय")

    def submit_application(self, body: dict[str, Any], terminal_id: str,
                           now: float) -> dict[str, Any]:
        """Idempotent on (terminal, request_id); the fee comes back as a bill to pay."""
        when = datetime.fromtimestamp(now, UTC)
        with self._lock:
            old = self._db.execute(
                "SELECT application_no FROM applications WHERE terminal_id = ? "
                "AND request_id = ?", (terminal_id, body["request_id"])).fetchone()
            if old is None:
                day = when.strftime("%Y%m%d")
                count = self._db.execute(
                    "SELECT COUNT(*) FROM applications WHERE application_no LIKE ?",
                    (day + "%",)).fetchone()[0]
                number = f"{day}{count + 1:05d}"
                service = catalogue_seed.service(body["service"])
                assert service is not None
                period = when.strftime("%Y-%m")
                bill_id = seed.bill_id(catalogue_seed.APPLICATION_PROVIDER, number, period)
                self.money.add_bills([{
                    "bill_id": bill_id, "provider": catalogue_seed.APPLICATION_PROVIDER,
                    "service": service["code"], "consumer_number": number,
                    "consumer_name": service["name_en"], "period": period,
                    "due_paise": service["fee_paise"], "due_date": when.strftime("%Y-%m-%d"),
                    "status": "unpaid"}])
                self._db.execute(
                    "INSERT INTO applications VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (number, body["request_id"], terminal_id, service["code"],
                     json.dumps(body["answers"], ensure_ascii=False), bill_id,
                     when.strftime("%Y-%m-%dT%H:%M:%SZ")))
            else:
                number = old["application_no"]
        bill = self.money.find_bill(catalogue_seed.APPLICATION_PROVIDER, number)
        assert bill is not None
        return {"application_no": number, "bill": bill}

    def applications(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM applications ORDER BY application_no")
            return [dict(r) for r in rows.fetchall()]

    def add_application_document(self, terminal_id: str, request_id: str, code: str,
                                 jpeg: bytes) -> str:
        """A document photographed at the kiosk, before its application is submitted;
        idempotent (a retried upload replaces it until the application is in). Its sha256."""
        digest = hashlib.sha256(jpeg).hexdigest()
        with self._lock:
            if self._application_of(terminal_id, request_id) is None:
                self._db.execute("INSERT OR REPLACE INTO application_documents VALUES "
                                 "(?, ?, ?, ?, ?)", (terminal_id, request_id, code, digest, jpeg))
        return digest

    def document_hashes(self, terminal_id: str, request_id: str) -> dict[str, str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT code, sha256 FROM application_documents WHERE terminal_id = ? AND "
                "request_id = ?", (terminal_id, request_id)).fetchall()
        return {r["code"]: r["sha256"] for r in rows}

    def application_documents(self, number: str) -> dict[str, bytes]:
        """The documents of a submitted application (tests count them)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT d.code, d.jpeg FROM application_documents d JOIN applications a ON "
                "a.terminal_id = d.terminal_id AND a.request_id = d.request_id "
                "WHERE a.application_no = ?", (number,)).fetchall()
        return {r["code"]: bytes(r["jpeg"]) for r in rows}

    def _application_of(self, terminal_id: str, request_id: str) -> str | None:
        row = self._db.execute("SELECT application_no FROM applications WHERE terminal_id = ? "
                               "AND request_id = ?", (terminal_id, request_id)).fetchone()
        return None if row is None else row["application_no"]

    def withdraw_application(self, terminal_id: str, request_id: str) -> dict[str, Any]:
        """The kiosk gives up an application whose fee was never taken (cancelled, or found
        after a restart): it and its documents are deleted. Refused once its fee is paid."""
        with self._lock:
            number = self._application_of(terminal_id, request_id)
            if number is not None:
                bill = self.money.find_bill(catalogue_seed.APPLICATION_PROVIDER, number)
                if bill is not None and bill["status"] == "paid":
                    raise ApiError(409, "already_paid", f"application {number} is paid")
                self._db.execute("DELETE FROM applications WHERE application_no = ?", (number,))
            self._db.execute("DELETE FROM application_documents WHERE terminal_id = ? AND "
                             "request_id = ?", (terminal_id, request_id))
        return {"request_id": request_id, "withdrawn": number is not None}

    # -- grievances --------------------------------------------------------------------------

    def register_grievance(self, body: dict[str, Any], terminal_id: str,
                           now: float) -> dict[str, Any]:
        """Idempotent on (terminal, request_id): a retried registration gets the same number."""
        when = datetime.fromtimestamp(now, UTC)
        with self._lock:
            old = self._db.execute(
                "SELECT grievance_no FROM grievances WHERE terminal_id = ? AND request_id = ?",
                (terminal_id, body["request_id"])).fetchone()
            if old is not None:
                return self._reply(old["grievance_no"])
            day = when.strftime("%Y%m%d")
            count = self._db.execute(
                "SELECT COUNT(*) FROM grievances WHERE grievance_no LIKE ?", (day + "%",)
            ).fetchone()[0]
            number = f"{day}{count + 1:05d}"
            fee = catalogue_seed.service("grievance")
            assert fee is not None
            dept = catalogue_seed.department(body["department"])
            assert dept is not None
            period = when.strftime("%Y-%m")
            bill = {"bill_id": seed.bill_id(catalogue_seed.GRIEVANCE_PROVIDER, number, period),
                    "provider": catalogue_seed.GRIEVANCE_PROVIDER, "service": "grievance",
                    "consumer_number": number, "consumer_name": dept["name_en"],
                    "period": period, "due_paise": fee["fee_paise"],
                    "due_date": when.strftime("%Y-%m-%d"), "status": "unpaid"}
            self.money.add_bills([bill])
            self._db.execute(
                "INSERT INTO grievances VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (number, body["request_id"], terminal_id, body["department"], body["category"],
                 body.get("complaint"), body["description"], body["mobile"],
                 len(body.get("photo_jpeg_b64") or "") * 3 // 4, bill["bill_id"],
                 when.strftime("%Y-%m-%dT%H:%M:%SZ")))
            return self._reply(number)

    def _reply(self, number: str) -> dict[str, Any]:
        bill = self.money.find_bill(catalogue_seed.GRIEVANCE_PROVIDER, number)
        if bill is None:
            raise ApiError(500, "internal_error", "grievance without its fee bill")
        return {"grievance_no": number, "status": "registered" if bill["status"] == "paid"
                else "awaiting_fee", "bill": bill}

    def grievance(self, number: str) -> dict[str, Any]:
        with self._lock:
            row = self._db.execute("SELECT grievance_no FROM grievances WHERE grievance_no = ?",
                                   (number,)).fetchone()
        if row is None:
            raise ApiError(404, "not_found", f"no grievance {number}")
        return self._reply(number)

    def grievances(self) -> list[dict[str, Any]]:
        """Every grievance, for tests (/_sim is not needed: the server object exposes this)."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM grievances ORDER BY grievance_no").fetchall()
        return [dict(r) for r in rows]


SERVICES = web.AppKey("services_store", ServicesStore)


def attach(app: web.Application, money: CentralStore, receipt_key: str,
           close_with_app: bool) -> ServicesStore:
    """Give the app its services store (closed with the app when the app owns the money store;
    a CentralServer keeps both open across stop/start)."""
    store = ServicesStore(money, receipt_key)
    app[SERVICES] = store
    if close_with_app:

        async def _close(app: web.Application) -> None:
            app[SERVICES].close()

        app.on_cleanup.append(_close)
    return store


