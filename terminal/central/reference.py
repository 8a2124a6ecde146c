"""The reference dialect (docs/central-api.md). Another dialect (e.g. the deployed e-Mitra
back-to-back one with REQUESTID/SERVICEID/CHECKSUM) would be a sibling class with the same
methods; the kiosk only ever calls these."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from terminal.central.client import CentralClient, CentralError
from terminal.name_mask import shown_name_hi
from terminal.session import Bill


@dataclass(frozen=True)
class Posted:
    receipt_no: str
    verification: str


RECEIPT_NO = re.compile(r"RCPT-[0-9]{6,}")  # openapi PaymentReply
VERIFICATION = re.compile(r"[0-9a-f]{16}")
VOUCHER_STATUS = ("active", "redeemed", "expired")
BILL_TEXT = ("service", "consumer_name", "period", "due_date")  # shown; "" when central omits
APPLICATION_TEXT = ("service", "stage", "stage_date", "office", "status", "next_step_en",
                    "next_step_hi")
APPLICATION_STATUS = ("in_progress", "awaiting_citizen", "approved", "rejected")
CERTIFICATE_TEXT = ("type", "holder_name", "issued_on", "issued_by", "status")
CERTIFICATE_TYPES = ("caste", "domicile", "income", "birth", "death", "marriage")
CERTIFICATE_STATUS = ("valid", "expired", "revoked")
GRIEVANCE_NO = re.compile(r"[0-9]{13}")
APPLICATION_NO = re.compile(r"[0-9]{10,16}")
MAX_DETAILS = 12
MAX_SHOWN = 120  # characters of any text central sends to be shown or printed
SCHEME_PAGE_REPLY_BYTES = 384 * 1024  # a picture of up to 200 KB in base64, and its words


def _bad(what: str) -> CentralError:
    """A reply central signed but that makes no sense: retry later, never act on it."""
    return CentralError(f"central sent {what}", retryable=True)


def _need(payload: dict[str, Any], *keys: str) -> None:
    missing = [k for k in keys if k not in payload]
    if missing:
        raise CentralError(f"central reply lacks {', '.join(missing)}", retryable=True)


def _short_text(payload: dict[str, Any], key: str) -> str:
    """A field shown to the citizen or printed: printable text of bounded length."""
    value = payload.get(key)
    if not isinstance(value, str) or len(value) > MAX_SHOWN or not value.isprintable():
        raise _bad(f"a {key} that is not short printable text")
    return value


def _is_paise(value: Any, minimum: int = 0) -> bool:
    """A whole number of paise: True is an int to isinstance, and would be a 1-paise bill."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _check_bill(payload: dict[str, Any], provider: str, consumer_number: str) -> Bill:
    """The asked consumer's bill, every field of the type the kiosk shows and charges."""
    _need(payload, "bill_id", "provider", "consumer_number", "due_paise")
    if not _is_paise(payload["due_paise"]):
        raise _bad("a bill with an invalid amount")
    if (payload["provider"], payload["consumer_number"]) != (provider, consumer_number):
        raise _bad("a bill for another consumer than the one asked for")
    if not isinstance(payload["bill_id"], str) or not payload["bill_id"]:
        raise _bad("a bill without a bill id")
    text = {k: payload.get(k, "") for k in BILL_TEXT}
    if not all(isinstance(v, str) for v in text.values()):
        raise _bad("a bill with a field that is not text")
    status = payload.get("status", "unpaid")
    if status not in ("unpaid", "paid"):
        raise _bad("a bill with an unknown status")
    return Bill(
        bill_id=payload["bill_id"],
        provider=provider,
        consumer_number=consumer_number,
        due_paise=payload["due_paise"],
        status=status,
        # optional, and only cosmetic: anything but short Devanagari text is dropped, not shown
        consumer_name_hi=payload["consumer_name_hi"] if shown_name_hi(
            payload.get("consumer_name_hi")) else "",
        **text,
    )


class ReferenceDialect:
    def __init__(self, client: CentralClient) -> None:
        self.client = client

    @property
    def last_success(self) -> float | None:
        return self.client.last_success

    async def services(self) -> list[dict[str, Any]]:
        _, payload = await self.client.request("GET", "/v1/services")
        return payload.get("services", [])

    async def fetch_bill(self, provider: str, consumer_number: str) -> Bill:
        _, payload = await self.client.request(
            "GET", "/v1/bills", query={"provider": provider, "consumer": consumer_number}
        )
        return _check_bill(payload, provider, consumer_number)

    async def post_payment(self, intent: dict[str, Any]) -> Posted:
        """intent: the journal's `settled` data plus bill fields. Idempotent on txn_id."""
        body = {
            "txn_id": intent["txn_id"],
            "bill_id": intent["bill_id"],
            "provider": intent["provider"],
            "consumer_number": intent["consumer_number"],
            "amount_paise": intent["amount_paise"],
            "tendered_paise": intent["tendered_paise"],
            "notes": intent["notes"],
            "paid_at": intent["paid_at"],
            "voucher_id": intent.get("voucher_id"),
            "voucher_paise": intent.get("voucher_paise", 0),
        }
        for key in ("advance_paise", "vouchers_redeemed"):  # sent only when there are any
            if intent.get(key):
                body[key] = intent[key]
        _, payload = await self.client.request("POST", "/v1/payments", body=body)
        _need(payload, "receipt_no", "verification")
        receipt_no, verification = payload["receipt_no"], payload["verification"]
        # What is printed on the receipt and checked by its QR: a payment is posted only with
        # a real receipt number, else the outbox retries (idempotent on txn_id).
        if not (isinstance(receipt_no, str) and RECEIPT_NO.fullmatch(receipt_no)):
            raise _bad("a payment reply without a valid receipt_no")
        if not (isinstance(verification, str) and VERIFICATION.fullmatch(verification)):
            raise _bad("a payment reply without a valid verification code")
        return Posted(receipt_no, verification)

    async def post_voucher(
        self, voucher_id: str, txn_id: str | None, amount_paise: int, issued_at: str,
        owner: dict[str, str] | None = None,
    ) -> None:
        """owner: provider, consumer_number (and mobile) the voucher is bound to."""
        body: dict[str, Any] = {
            "voucher_id": voucher_id,
            "txn_id": txn_id,
            "amount_paise": amount_paise,
            "issued_at": issued_at,
        }
        body.update(owner or {})
        await self.client.request("POST", "/v1/vouchers", body=body)

    async def redeem_voucher(
        self, voucher_id: str, txn_id: str, provider: str, consumer_number: str
    ) -> int:
        """Redeem for this bill's consumer (idempotent on voucher id + txn id); the paise
        central redeemed. A refusal (already_redeemed, voucher_expired, ...) raises."""
        body = {"txn_id": txn_id, "provider": provider, "consumer_number": consumer_number}
        _, payload = await self.client.request(
            "POST", f"/v1/vouchers/{voucher_id}/redeem", body=body)
        _need(payload, "voucher_id", "amount_paise", "status")
        if payload["voucher_id"] != voucher_id or payload["status"] != "redeemed":
            raise _bad("a redemption reply for another voucher, or not redeemed")
        if not _is_paise(payload["amount_paise"], minimum=1):
            raise _bad("a redemption with an invalid amount")
        return int(payload["amount_paise"])

    async def send_sms(self, message_id: str, mobile: str, text: str) -> None:
        """Central sends the citizen the text (idempotent on message_id)."""
        body = {"message_id": message_id, "mobile": mobile, "text": text}
        _, payload = await self.client.request("POST", "/v1/sms", body=body)
        if payload.get("message_id") != message_id or payload.get("status") != "sent":
            raise _bad("an SMS reply for another message")

    async def release_voucher(self, voucher_id: str, txn_id: str) -> bool:
        """Undo this txn's redemption (idempotent); False if another txn holds the voucher."""
        _, payload = await self.client.request(
            "POST", f"/v1/vouchers/{voucher_id}/release", body={"txn_id": txn_id})
        if payload.get("voucher_id") != voucher_id or not isinstance(
                payload.get("released"), bool):
            raise _bad("a release reply for another voucher")
        return bool(payload["released"])

    async def verify_receipt(self, txn_id: str, code: str) -> dict[str, Any]:
        """{"result": "genuine" | "not_genuine" | "unknown"}, and for a genuine receipt its
        receipt_no, amount_paise, provider and paid_at: the fields the kiosk shows, checked."""
        _, payload = await self.client.request(
            "GET", "/v1/receipts/verify", query={"txn_id": txn_id, "code": code}
        )
        result = payload.get("result")
        if not isinstance(result, str) or result not in ("genuine", "not_genuine", "unknown"):
            raise _bad("a receipt verdict that is not genuine, not_genuine or unknown")
        if result != "genuine":
            return {"result": result}
        verdict = {"result": result, "txn_id": txn_id}
        if not isinstance(payload.get("receipt_no"), str) or not _is_paise(
            payload.get("amount_paise")
        ):
            raise _bad("a genuine verdict without a receipt number and amount")
        for key in ("receipt_no", "amount_paise", "provider", "paid_at"):
            value = payload.get(key, "")
            if key != "amount_paise" and not isinstance(value, str):
                raise _bad(f"a receipt verdict whose {key} is not text")
            verdict[key] = value
        return verdict

    async def find_voucher(self, provider: str, consumer_number: str, code: str) -> str:
        """The id of this consumer's voucher whose id ends in `code` (the slip's short code)."""
        _, payload = await self.client.request(
            "GET", "/v1/vouchers",
            query={"provider": provider, "consumer": consumer_number, "code": code})
        _need(payload, "voucher_id")
        found = payload["voucher_id"]
        if not isinstance(found, str) or len(found) > 100 or not found.endswith(f"-{code}"):
            raise _bad("a voucher that does not end in the code asked for")
        return found

    async def voucher(self, voucher_id: str) -> dict[str, Any]:
        """{"voucher_id", "amount_paise", "status": "active" | "redeemed"}, checked: the kiosk
        tells the citizen what the voucher is worth from this."""
        _, payload = await self.client.request("GET", f"/v1/vouchers/{voucher_id}")
        _need(payload, "voucher_id", "amount_paise", "status")
        if payload["voucher_id"] != voucher_id:
            raise _bad("another voucher than the one asked for")
        if not _is_paise(payload["amount_paise"], minimum=1):
            raise _bad("a voucher with an invalid amount")
        if not isinstance(payload["status"], str) or payload["status"] not in VOUCHER_STATUS:
            raise _bad("a voucher with an unknown status")
        return {k: payload[k] for k in ("voucher_id", "amount_paise", "status")}

    async def heartbeat(self, report: dict[str, Any]) -> list[dict[str, Any]]:
        _, payload = await self.client.request("POST", "/v1/heartbeat", body=report)
        return payload.get("commands", [])

    async def authorise_card(self, request: dict[str, Any]) -> dict[str, Any]:
        """Online authorisation of a card payment. Idempotent on request["auth_id"].

        request: auth_id, txn_id, amount_paise, pan_masked, expiry, aid, arqc, cdol1_data, atc.
        Returns {"auth_id", "status": "approved" | "declined", "reason", "auth_code"}; raises
        CentralError when central cannot be reached, refuses the request or answers nonsense.
        """
        _, payload = await self.client.request("POST", "/v1/card/authorisations", body=request)
        _need(payload, "auth_id", "status")
        if payload["auth_id"] != request["auth_id"]:
            raise CentralError("central answered for another authorisation", retryable=True)
        status = payload["status"]
        if status not in ("approved", "declined"):
            raise CentralError("central sent an unknown authorisation status", retryable=True)
        code = payload.get("auth_code")
        if status == "approved" and not (
            isinstance(code, str) and code.isascii() and code.isdigit() and len(code) == 6
        ):
            raise CentralError("central approved without a valid auth code", retryable=True)
        return payload

    # ------------------------------------------------------------ the citizen services

    async def catalogue(self) -> dict[str, Any]:
        """The raw catalogue: terminal/catalogue.py validates every field before any use."""
        _, payload = await self.client.request("GET", "/v1/catalogue")
        return payload

    async def scheme_index(self) -> dict[str, Any]:
        """The raw list of scheme pages: terminal/scheme_pages.py validates it before any use."""
        _, payload = await self.client.request("GET", "/v1/schemes")
        return payload

    async def scheme_page(self, code: str) -> dict[str, Any]:
        """One raw scheme page with its picture (base64, so a larger reply is allowed);
        validated by terminal/scheme_pages.py."""
        _, payload = await self.client.request("GET", f"/v1/schemes/{code}",
                                               max_reply_bytes=SCHEME_PAGE_REPLY_BYTES)
        return payload

    async def application_status(self, application_no: str) -> dict[str, Any]:
        """An application's stage, date, office and next step, checked; CentralError
        code not_found for an unknown number."""
        _, payload = await self.client.request("GET", f"/v1/applications/{application_no}")
        _need(payload, "application_no", *APPLICATION_TEXT)
        if payload["application_no"] != application_no:
            raise _bad("the status of another application than the one asked for")
        out = {"application_no": application_no}
        for key in APPLICATION_TEXT:
            out[key] = _short_text(payload, key)
        if out["status"] not in APPLICATION_STATUS:
            raise _bad("an application status that is not one of " + ", ".join(
                APPLICATION_STATUS))
        for key in ("stage_hi", "office_hi"):  # optional; terminal/status_service.py checks
            if key in payload:
                out[key] = payload[key]
        return out

    async def certificate(self, number: str, code: str | None = None) -> dict[str, Any]:
        """A certificate's verdict: {"result": "not_genuine"} for a QR whose code central
        refuses; else "genuine" with its type, holder, dates, issuer, status, details and the
        verification code for a new QR. CentralError code not_found for an unknown number."""
        query = {"code": code} if code is not None else None
        _, payload = await self.client.request("GET", f"/v1/certificates/{number}", query=query)
        _need(payload, "certificate_no", "result")
        if payload["certificate_no"] != number:
            raise _bad("another certificate than the one asked for")
        if payload["result"] == "not_genuine":
            return {"certificate_no": number, "result": "not_genuine"}
        if payload["result"] != "genuine":
            raise _bad("a certificate verdict that is not genuine or not_genuine")
        _need(payload, *CERTIFICATE_TEXT, "details", "verification")
        out: dict[str, Any] = {"certificate_no": number, "result": "genuine"}
        for key in CERTIFICATE_TEXT:
            out[key] = _short_text(payload, key)
        if out["type"] not in CERTIFICATE_TYPES or out["status"] not in CERTIFICATE_STATUS:
            raise _bad("a certificate of an unknown type or status")
        verification = payload["verification"]
        if not (isinstance(verification, str) and VERIFICATION.fullmatch(verification)):
            raise _bad("a certificate without a valid verification code")
        out["verification"] = verification
        details = payload["details"]
        if not isinstance(details, dict) or len(details) > MAX_DETAILS:
            raise _bad("certificate details that are not a small object")
        out["details"] = {str(k)[:40]: _short_text(details, k) for k in list(details)}
        return out

    async def register_grievance(self, request: dict[str, Any]) -> tuple[str, Bill]:
        """Register a grievance (idempotent on request["request_id"]); returns its number and
        the fee bill, checked like any bill (paid through the bill money path)."""
        _, payload = await self.client.request("POST", "/v1/grievances", body=request)
        _need(payload, "grievance_no", "bill")
        number = payload["grievance_no"]
        if not (isinstance(number, str) and GRIEVANCE_NO.fullmatch(number)):
            raise _bad("a grievance without a valid number")
        bill = payload["bill"]
        if not isinstance(bill, dict):
            raise _bad("a grievance without its fee bill")
        return number, _check_bill(bill, str(bill.get("provider")), number)

    async def submit_application(self, request: dict[str, Any]) -> tuple[str, Bill]:
        """Submit an application (idempotent on request["request_id"]); returns its number and
        the fee bill, checked like any bill (paid through the bill money path)."""
        _, payload = await self.client.request("POST", "/v1/applications", body=request)
        _need(payload, "application_no", "bill")
        number = payload["application_no"]
        if not (isinstance(number, str) and APPLICATION_NO.fullmatch(number)):
            raise _bad("an application without a valid number")
        bill = payload["bill"]
        if not isinstance(bill, dict):
            raise _bad("an application without its fee bill")
        return number, _check_bill(bill, str(bill.get("provider")), number)

    async def upload_application_document(self, request: dict[str, Any]) -> str:
        """One document of an application not yet submitted (request_id, service, code,
        jpeg_b64; idempotent): the sha256 central holds for it, to name it in the submit."""
        _, payload = await self.client.request("POST", "/v1/applications/documents",
                                               body=request)
        _need(payload, "sha256")
        digest = payload["sha256"]
        if not (isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest)):
            raise _bad("a document receipt without its sha256")
        return digest

    async def withdraw_application(self, request_id: str) -> bool:
        """Give up an application whose fee was not taken (idempotent): True if central held
        it. CentralError 409 when its fee is paid after all."""
        _, payload = await self.client.request("POST", "/v1/applications/withdraw",
                                               body={"request_id": request_id})
        _need(payload, "withdrawn")
        return payload["withdrawn"] is True

    async def close(self) -> None:
        await self.client.close()
