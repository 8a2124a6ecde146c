"""The reference dialect (docs/central-api.md). Another dialect (e.g. the deployed e-Mitra
back-to-back one with REQUESTID/SERVICEID/CHECKSUM) would be a sibling class with the same
methods; the kiosk only ever calls these."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from terminal.central.client import CentralClient, CentralError
from terminal.session import Bill


@dataclass(frozen=True)
class Posted:
    receipt_no: str
    verification: str


def _need(payload: dict[str, Any], *keys: str) -> None:
    missing = [k for k in keys if k not in payload]
    if missing:
        raise CentralError(f"central reply lacks {', '.join(missing)}", retryable=True)


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
        _need(payload, "bill_id", "provider", "consumer_number", "due_paise")
        if not isinstance(payload["due_paise"], int) or payload["due_paise"] < 0:
            raise CentralError("central sent a bill with an invalid amount", retryable=True)
        payload.setdefault("service", "")
        payload.setdefault("consumer_name", "")
        payload.setdefault("period", "")
        payload.setdefault("due_date", "")
        return Bill.from_dict(payload)

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
        _, payload = await self.client.request("POST", "/v1/payments", body=body)
        _need(payload, "receipt_no", "verification")
        return Posted(payload["receipt_no"], payload["verification"])

    async def post_voucher(
        self, voucher_id: str, txn_id: str | None, amount_paise: int, issued_at: str
    ) -> None:
        body = {
            "voucher_id": voucher_id,
            "txn_id": txn_id,
            "amount_paise": amount_paise,
            "issued_at": issued_at,
        }
        await self.client.request("POST", "/v1/vouchers", body=body)

    async def verify_receipt(self, txn_id: str, code: str) -> dict[str, Any]:
        _, payload = await self.client.request(
            "GET", "/v1/receipts/verify", query={"txn_id": txn_id, "code": code}
        )
        return payload

    async def voucher(self, voucher_id: str) -> dict[str, Any]:
        """{"voucher_id", "amount_paise", "status": "active" | "redeemed"}."""
        _, payload = await self.client.request("GET", f"/v1/vouchers/{voucher_id}")
        return payload

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

    async def close(self) -> None:
        await self.client.close()
