"""Certificates: verify a certificate by its number or the QR on it, with central (caste,
domicile, income, birth, death, marriage — whatever central returns), and print its summary
with a verification QR that asks central again when scanned.

Intents: certificate_start, certificate_lookup {number}, certificate_print. A scanned
certificate QR ("EMITRA1|C|<number>|<code>") comes through terminal/qr_lookup.py. The answer is
`state.lookup` with service "certificate" (screen CERTIFICATE).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any, Protocol

from terminal.central import CentralError
from terminal.live_session import Handler, IntentError
from terminal.logs import log_event
from terminal.service_lookup import LookupFlow

log = logging.getLogger("kiosk")

CERTIFICATE_NO = re.compile(r"[A-Z]{2,6}[0-9]{6,14}")
CODE = re.compile(r"[0-9a-f]{16}")


class CertificateCentral(Protocol):
    async def certificate(self, number: str, code: str | None = None) -> dict[str, Any]: ...


class CertificateService(LookupFlow):
    service = "certificate"

    def __init__(self, central: CertificateCentral, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.central = central

    def intents(self) -> Mapping[str, Handler]:
        return {"certificate_start": self.start, "certificate_lookup": self.lookup,
                "certificate_print": self.print}

    async def start(self, args: dict) -> None:
        self.begin("certificate_enter_number")

    async def lookup(self, args: dict) -> None:
        number = args.get("number")
        if not isinstance(number, str) or not CERTIFICATE_NO.fullmatch(number.strip().upper()):
            raise self.refuse("certificate_number_invalid")
        await self.check(number.strip().upper(), None)

    async def from_qr(self, number: str, code: str) -> None:
        if not CERTIFICATE_NO.fullmatch(number) or not CODE.fullmatch(code):
            raise IntentError("qr_emitra_damaged")
        self.begin("certificate_enter_number")
        await self.check(number, code)

    async def check(self, number: str, code: str | None) -> None:
        self.checking("please_wait")
        try:
            cert = await self.central.certificate(number, code)
        except CentralError as exc:
            self.live.busy = False
            key = "certificate_not_found" if exc.code == "not_found" else "central_unavailable"
            log_event(log, "certificate check failed", logging.WARNING, certificate=number,
                      error=str(exc)[:200])
            raise self.refuse(key, str(exc)) from None
        log_event(log, "certificate checked", certificate=number, result=cert["result"])
        if cert["result"] != "genuine":
            self.show("certificate_not_genuine", {"certificate_no": number,
                                                  "result": "not_genuine"}, None)
            return
        key = "certificate_genuine" if cert["status"] == "valid" \
            else f"certificate_{cert['status']}"
        shown = {k: v for k, v in cert.items() if k != "verification"}
        self.show(key, shown, cert)

    async def print(self, args: dict) -> None:
        from terminal.status_slip import build_certificate_slip

        await self.print_slip(build_certificate_slip)
