"""The e-Mitra back-to-back dialect (docs/central-api-emitra-b2b.md): the same methods as
ReferenceDialect, with the money calls — payment, verify, cancel — in e-Mitra's sealed form.

Idempotency is by REQUESTID (the kiosk's txn_id, so a restarted core asks about the same request)
plus the verify call: before posting, and after any post that got no believable answer, the
adapter asks central what it holds for that REQUESTID. A lost reply is resolved by verify, never
by posting again in the same attempt; a later attempt posts the same REQUESTID only after central
said it holds nothing for it, and central answers a repeated REQUESTID with the first outcome.

Everything central returns is hostile: an answer that does not decrypt, fails its CHECKSUM, names
another request, or carries another amount than was posted is a retryable CentralError, never a
receipt. Calls the dialect has no form for (bills, vouchers, heartbeats, card authorisations,
the service list) go to the operator's reference API over the signed client.
"""

from __future__ import annotations

import re
import time
from typing import Any

from terminal.central.client import CentralClient, CentralError
from terminal.central.emitra_b2b_crypto import (
    CodecError,
    checksum_ok,
    derive_key,
    reply_checksum,
    request_checksum,
    seal,
    unseal,
)
from terminal.central.emitra_b2b_setup import Secrets, ServiceIds
from terminal.central.emitra_b2b_wire import B2BWire
from terminal.central.reference import Posted, ReferenceDialect
from terminal.session import Bill

PAYMENT_PATH = "/b2b/payment"
VERIFY_PATH = "/b2b/verify"
CANCEL_PATH = "/b2b/cancel"
REQUEST_ID = re.compile(r"[A-Za-z0-9-]{1,50}")
RUPEES = re.compile(r"(0|[1-9][0-9]{0,11})\.[0-9]{2}")
RECEIPT_NO = re.compile(r"[A-Z0-9][A-Z0-9/-]{3,39}")
# Printed in the receipt's QR as its verification code (terminal/verification.py: hex only).
TRANSACTION_ID = re.compile(r"[0-9a-f]{8,40}")
IST_OFFSET_S = 5 * 3600 + 30 * 60
# TRANSACTIONSTATUSCODE of a FAILURE -> (reference error code, final, HTTP-like status for
# terminal/central/refusals.py: 400 means "about this entry", 401/429/5xx the link).
FAILURES: dict[str, tuple[str, bool, int]] = {
    "400": ("bad_request", False, 400),
    "401": ("unauthenticated", False, 401),
    "404": ("bill_not_found", True, 404),
    "409": ("already_paid", True, 409),
    "410": ("idempotency_conflict", True, 409),
    "422": ("amount_mismatch", True, 422),
    "423": ("cancelled", True, 409),
    "429": ("rate_limited", False, 429),
    "500": ("internal_error", False, 500),
}


def _bad(what: str) -> CentralError:
    return CentralError(f"central (e-Mitra) sent {what}", retryable=True)


def request_id(txn_id: str) -> str:
    """REQUESTID for a kiosk transaction: its txn_id (terminal id + time + random: unique, and
    the same after a restart). A txn_id the dialect cannot carry waits for an engineer."""
    if not _request_id_ok(txn_id):
        raise CentralError(f"txn_id {txn_id!r} cannot be a REQUESTID", retryable=True, status=400)
    return txn_id


def _request_id_ok(value: Any) -> bool:
    return isinstance(value, str) and REQUEST_ID.fullmatch(value) is not None


def rupees(paise: int) -> str:
    return f"{paise // 100}.{paise % 100:02d}"


def paise(text: Any) -> int | None:
    """"640.00" -> 64000; anything else (floats, signs, exponents, spaces) -> None."""
    if not isinstance(text, str) or not RUPEES.fullmatch(text):
        return None
    whole, frac = text.split(".")
    return int(whole) * 100 + int(frac)


class EmitraB2BDialect:
    def __init__(
        self,
        reference: ReferenceDialect,
        wire: B2BWire,
        secrets: Secrets,
        services: dict[str, ServiceIds],
        clock: Any = None,
    ) -> None:
        self.reference = reference
        self.wire = wire
        self.secrets = secrets
        self.services_ids = services
        self.key = derive_key(secrets.aes_secret)
        # Central's time as the signed client measured it, else ours: REQTIMESTAMP must be in
        # central's window, and the reference calls (heartbeats) keep the skew measured.
        self.clock = clock or reference.client.now
        self._b2b_success: float | None = None

    @property
    def client(self) -> CentralClient:
        return self.reference.client

    @property
    def last_success(self) -> float | None:
        times = [t for t in (self.reference.last_success, self._b2b_success) if t is not None]
        return max(times) if times else None

    # -- the sealed calls -----------------------------------------------------------------

    def _timestamp(self) -> str:
        t = self.clock() + IST_OFFSET_S
        return time.strftime("%Y%m%d%H%M%S", time.gmtime(t)) + f"{int(t * 1000) % 1000:03d}"

    async def _call(
        self, path: str, fields: dict[str, str], ref: str, status_key: str
    ) -> dict[str, str]:
        """Seal, post, unseal and authenticate one call. `ref` is what the CHECKSUM covers in
        the REQUESTID position; the answer must echo this request's REQTIMESTAMP."""
        s = self.secrets
        stamp = self._timestamp()
        message = {
            **fields,
            "MERCHANTCODE": s.merchant_code,
            "SSOID": s.ssoid,
            "REQTIMESTAMP": stamp,
            "CHECKSUM": request_checksum(s.ssoid, ref, stamp, s.sso_token),
        }
        status, body = await self.wire.post(path, s.merchant_code, seal(self.key, message))
        if status != 200:
            raise CentralError(
                f"central (e-Mitra) answered HTTP {status} to {path}",
                retryable=True,
                status=status if status in (401, 429) or status >= 500 else None,
            )
        try:
            answer = unseal(self.key, body.strip())
        except CodecError as exc:
            raise _bad(f"an answer to {path} that does not decrypt ({exc})") from None
        want = reply_checksum(answer, status_key, s.sso_token)
        if not checksum_ok(want, answer.get("CHECKSUM")):
            raise _bad(f"an answer to {path} with a wrong CHECKSUM")
        if answer.get("REQTIMESTAMP") != stamp:
            raise _bad(f"an answer to {path} meant for another request")
        self._b2b_success = time.time()
        return answer

    async def verify(
        self, *, request_id: str | None = None, transaction_id: str | None = None
    ) -> dict[str, str] | None:
        """What central holds for one REQUESTID or TRANSACTIONID (VERIFYSTATUSCODE 200), or
        None when it holds nothing (404). Checked to be about what was asked."""
        if (request_id is None) == (transaction_id is None):
            raise ValueError("verify by exactly one of request_id, transaction_id")
        fields = {"REQUESTID": request_id} if request_id else {"TRANSACTIONID": transaction_id}
        ref = request_id or transaction_id or ""
        answer = await self._call(VERIFY_PATH, fields, ref, "VERIFYSTATUSCODE")
        code = answer.get("VERIFYSTATUSCODE")
        if code == "404":
            return None
        if code != "200":
            raise _bad(f"a verify status {str(code)[:8]!r}")
        if request_id is not None and answer.get("REQUESTID") != request_id:
            raise _bad("a verify answer for another REQUESTID")
        if transaction_id is not None and answer.get("TRANSACTIONID") != transaction_id:
            raise _bad("a verify answer for another TRANSACTIONID")
        return answer

    async def cancel(self, txn_id: str, transaction_id: str, reason: str = "") -> bool:
        """Ask central to cancel a booked payment; True once central holds it cancelled."""
        rid = request_id(txn_id)
        fields = {"REQUESTID": rid, "TRANSACTIONID": transaction_id, "CANCELREASON": reason[:100]}
        answer = await self._call(CANCEL_PATH, fields, rid, "CANCELSTATUSCODE")
        if answer.get("REQUESTID") != rid or answer.get("TRANSACTIONID") != transaction_id:
            raise _bad("a cancel answer for another transaction")
        code = answer.get("CANCELSTATUSCODE")
        if code == "200" and answer.get("TRANSACTIONSTATUS") == "CANCELLED":
            return True
        if code == "404":
            return False
        raise _bad(f"a cancel status {str(code)[:8]!r}")

    # -- payments -------------------------------------------------------------------------

    def _payment_fields(self, intent: dict[str, Any]) -> tuple[str, int, dict[str, str]]:
        ids = self.services_ids.get(intent["provider"])
        if ids is None:  # a site table without this provider: the entry waits for an engineer
            raise CentralError(
                f"no e-Mitra SERVICEID for provider {intent['provider']!r} "
                "([central] emitra_services)",
                retryable=True,
                status=400,
                code="unmapped_provider",
            )
        rid = request_id(intent["txn_id"])
        amount = intent["amount_paise"]
        fields = {
            "REQUESTID": rid,
            "SERVICEID": ids.service_id,
            "SUBSERVICEID": ids.sub_service_id,
            "REVENUEHEAD": f"{ids.revenue_head}-{rupees(amount)}",
            "CONSUMERKEY": str(intent["consumer_number"]),
            "CONSUMERNAME": str(intent.get("consumer_name") or "")[:100],
            "PAYMODE": "CARD" if intent.get("card") else "CASH",
        }
        return rid, amount, fields

    def _outcome(self, answer: dict[str, str], rid: str, amount: int) -> Posted:
        """A receipt from a payment or verify answer, only if it is a success for this
        REQUESTID and amount, with a receipt number and a transaction id."""
        if answer.get("REQUESTID") != rid:
            raise _bad("a receipt for another REQUESTID")
        status = answer.get("TRANSACTIONSTATUS")
        if status == "CANCELLED":
            raise CentralError(
                f"central cancelled payment {rid}", retryable=False, status=409, code="cancelled"
            )
        if status == "FAILURE":
            code = answer.get("TRANSACTIONSTATUSCODE", "")
            name, final, http = FAILURES.get(code, ("failure", False, 500))
            raise CentralError(
                str(answer.get("MSG") or f"central refused payment {rid}")[:200],
                retryable=not final,
                status=http,
                code=name,
            )
        if status != "SUCCESS":
            raise _bad("a transaction status that is not SUCCESS or FAILURE")
        if paise(answer.get("TRANSAMT")) != amount:
            raise _bad(f"TRANSAMT {str(answer.get('TRANSAMT'))[:20]!r} for {rupees(amount)}")
        receipt_no, transaction_id = answer.get("RECEIPTNO", ""), answer.get("TRANSACTIONID", "")
        if not RECEIPT_NO.fullmatch(receipt_no):
            raise _bad("a success without a valid RECEIPTNO")
        if not TRANSACTION_ID.fullmatch(transaction_id):
            raise _bad("a success without a valid TRANSACTIONID")
        return Posted(receipt_no, transaction_id)

    async def post_payment(self, intent: dict[str, Any]) -> Posted:
        """Book the payment once: verify first (a crashed core may have posted it), post only
        if central holds nothing, and after a post without a believable answer verify again.
        Posted.verification is central's TRANSACTIONID (the receipt QR's code)."""
        rid, amount, fields = self._payment_fields(intent)
        held = await self.verify(request_id=rid)
        if held is not None:
            return self._outcome(held, rid, amount)
        try:
            answer = await self._call(PAYMENT_PATH, fields, rid, "TRANSACTIONSTATUSCODE")
        except CentralError as exc:
            if not exc.retryable:
                raise
            held = await self.verify(request_id=rid)  # the lost reply, resolved
            if held is None:
                raise CentralError(
                    f"no answer to payment {rid} and central holds none yet: will ask again",
                    retryable=True,
                    status=exc.status,
                ) from exc
            return self._outcome(held, rid, amount)
        return self._outcome(answer, rid, amount)

    async def verify_receipt(self, txn_id: str, code: str) -> dict[str, Any]:
        """A receipt QR (txn_id, TRANSACTIONID): genuine when central's record of that
        TRANSACTIONID is this txn_id's successful payment; not_genuine when central knows the
        txn_id under another code; unknown otherwise."""
        if not _request_id_ok(txn_id):
            return {"result": "unknown"}
        shaped = isinstance(code, str) and TRANSACTION_ID.fullmatch(code)
        held = await self.verify(transaction_id=code) if shaped else None
        if held is None or held.get("REQUESTID") != txn_id:
            by_request = await self.verify(request_id=txn_id)
            return {"result": "unknown" if by_request is None else "not_genuine"}
        if held.get("TRANSACTIONSTATUS") != "SUCCESS":
            return {"result": "not_genuine"}
        amount = paise(held.get("TRANSAMT"))
        if amount is None or not RECEIPT_NO.fullmatch(held.get("RECEIPTNO", "")):
            raise _bad("a verified receipt without a receipt number and amount")
        provider = next(
            (p for p, ids in self.services_ids.items()
             if (ids.service_id, ids.sub_service_id)
             == (held.get("SERVICEID"), held.get("SUBSERVICEID"))),
            "",
        )
        return {
            "result": "genuine",
            "txn_id": txn_id,
            "receipt_no": held["RECEIPTNO"],
            "amount_paise": amount,
            "provider": provider,
            "paid_at": held.get("TRANSDATE", ""),
        }

    # -- what the dialect has no form for: the operator's reference API -------------------

    async def services(self) -> list[dict[str, Any]]:
        return await self.reference.services()

    async def fetch_bill(self, provider: str, consumer_number: str) -> Bill:
        return await self.reference.fetch_bill(provider, consumer_number)

    async def post_voucher(
        self, voucher_id: str, txn_id: str | None, amount_paise: int, issued_at: str,
        owner: dict[str, str] | None = None,
    ) -> None:
        await self.reference.post_voucher(voucher_id, txn_id, amount_paise, issued_at, owner)

    async def find_voucher(self, provider: str, consumer_number: str, code: str) -> str:
        return await self.reference.find_voucher(provider, consumer_number, code)

    async def voucher(self, voucher_id: str) -> dict[str, Any]:
        return await self.reference.voucher(voucher_id)

    async def redeem_voucher(self, voucher_id: str, txn_id: str, provider: str,
                             consumer_number: str) -> int:
        return await self.reference.redeem_voucher(voucher_id, txn_id, provider, consumer_number)

    async def release_voucher(self, voucher_id: str, txn_id: str) -> bool:
        return await self.reference.release_voucher(voucher_id, txn_id)

    async def send_sms(self, message_id: str, mobile: str, text: str) -> None:
        await self.reference.send_sms(message_id, mobile, text)

    async def heartbeat(self, report: dict[str, Any]) -> list[dict[str, Any]]:
        return await self.reference.heartbeat(report)

    async def authorise_card(self, request: dict[str, Any]) -> dict[str, Any]:
        return await self.reference.authorise_card(request)

    def __getattr__(self, name: str) -> Any:
        """Any other call of the reference dialect (the catalogue and the citizen services as
        they are added there) goes to the operator's reference API unchanged."""
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.reference, name)

    async def close(self) -> None:
        await self.wire.close()
        await self.reference.close()
