"""The one parser for QR codes citizens show the kiosk (from the scanner or the camera).

`parse_citizen_qr(payload)` never raises and returns a `QrResult`: what the code is (`kind`),
the few fields the kiosk may use, and the `message_key` the screen shows. What is accepted:

receipt   "EMITRA1|R|<txn_id>|<code>"  our receipt; the code is checked online by central
          (verified=None here).
voucher   "EMITRA1|V|<voucher_id>|<code>"  our voucher; checked offline with
          verification.voucher_code(secret, voucher_id, amount) when the secret and the voucher's
          amount are known (verified=True/False), else verified=None.
bill      a utility bill's QR, two forms:
            "BILL|<PROVIDER>|<consumer number>[|...]"  provider as in terminal/catalogue.py
                (JVVNL, AVVNL, JdVVNL, PHED, BSNL; any case), 6-16 digits, extra fields ignored
                (the amount due always comes from central);
            a web link "http(s)://...?...&kno=<number>" as printed on discom bills: the number
                from kno / k_no / knumber / consumer / consumer_no / cno / ca / account, the
                provider from disc / discom / provider / biller / board, else from a provider
                code in the host or path ("jvvnl" in "bill.jvvnl.example.in"). A number with no
                provider gives provider "" and message qr_bill_provider_unknown (the screen asks).
upi       "upi://pay?pa=...&pn=...&am=..." recognised and explained (this kiosk takes cash
          only); never paid.
aadhaar   UIDAI secure QR (a long decimal number: a big integer whose bytes are gzip/zlib data,
          fields separated by 0xFF) and the old XML QR (<PrintLetterBarcodeData uid=... name=...>).
          Only the last 4 digits of the Aadhaar number and the name are kept, nothing else, and
          nothing at all if the payload cannot be read.
unknown   empty, binary, too long, damaged EMITRA codes, anything else. The payload is not kept.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import parse_qsl, urlsplit

from terminal import catalogue, verification

MAX_PAYLOAD = 16384  # characters; the camera can read large codes, the scanner caps at 4096
MAX_AADHAAR_DIGITS = 12000
MIN_AADHAAR_DIGITS = 100  # consumer numbers are at most 16 digits; secure QRs are thousands
MAX_INFLATED = 256 * 1024  # a decompression bomb stops here
CONSUMER_NUMBER = re.compile(r"[0-9]{6,16}")
MAX_ID = 100  # central's ids (txn, voucher) are at most 100 characters
MAX_CODE = 64  # our codes are 16 hex digits

# Message keys for the screens (to add to terminal/api_messages.MESSAGE_KEYS and the catalogs).
QR_MESSAGE_KEYS = (
    "qr_receipt_checking",  # our receipt: being verified with central
    "qr_voucher_valid",
    "qr_voucher_invalid",
    "qr_voucher_checking",  # cannot check offline (amount unknown): ask central
    "qr_bill_found",
    "qr_bill_provider_unknown",  # number read, provider must be chosen
    "qr_bill_provider_not_served",
    "qr_bill_number_invalid",
    "qr_upi_not_accepted",  # "UPI payments are not taken at this kiosk"
    "qr_aadhaar_not_needed",  # "Aadhaar is not needed here; nothing was stored"
    "qr_emitra_damaged",  # looks like ours but is damaged: "ask at an e-Mitra counter"
    "qr_empty",
    "qr_too_long",
    "qr_unreadable",  # binary / control characters
    "qr_not_recognised",
)


@dataclass(frozen=True)
class QrResult:
    """kind: receipt | voucher | bill | upi | aadhaar | unknown. fields: str -> str, read-only.

    verified: for receipts and vouchers, True / False when checked here, None when central must.
    """

    kind: str
    message_key: str
    fields: Mapping[str, str] = field(default_factory=dict)
    verified: bool | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "message_key": self.message_key,
            "fields": dict(self.fields),
            "verified": self.verified,
        }


def _unknown(key: str, **info: str) -> QrResult:
    return QrResult("unknown", key, info)


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _clean(text: str, limit: int = 64) -> str:
    """Printable, single-line, at most `limit` characters (for anything shown or logged)."""
    return "".join(c for c in text if c.isprintable()).strip()[:limit]


VoucherAmount = Callable[[str], int | None]


def parse_citizen_qr(
    payload: object,
    *,
    voucher_secret: str | None = None,
    voucher_amount: VoucherAmount | None = None,
) -> QrResult:
    """Classify a scanned payload. Never raises; never keeps an unrecognised payload.

    voucher_secret / voucher_amount (voucher_id -> paise or None): to check a voucher offline.
    """
    try:
        return _parse(payload, voucher_secret, voucher_amount)
    except Exception:  # a parser bug must not crash the kiosk or leak the payload
        return _unknown("qr_not_recognised")


def _parse(
    payload: object, voucher_secret: str | None, voucher_amount: VoucherAmount | None
) -> QrResult:
    if isinstance(payload, bytes | bytearray | memoryview):
        try:
            payload = bytes(payload).decode("utf-8")
        except UnicodeDecodeError:
            return _unknown("qr_unreadable")
    if not isinstance(payload, str):
        return _unknown("qr_unreadable")
    text = payload.strip()
    if not text:
        return _unknown("qr_empty")
    if len(text) > MAX_PAYLOAD:
        if _ascii_digits(text[:MIN_AADHAAR_DIGITS]):
            return _aadhaar_unread()  # a huge number is an Aadhaar QR: recognise, keep nothing
        return _unknown("qr_too_long")
    if len(text) >= MIN_AADHAAR_DIGITS and _ascii_digits(text):
        return _aadhaar_secure(text)
    if "PrintLetterBarcodeData" in text:
        return _aadhaar_xml(text)
    if any(not c.isprintable() and c not in "\t\r\n" for c in text):
        return _unknown("qr_unreadable")
    if text.upper().startswith(verification.PREFIX + "|"):
        return _emitra(text, voucher_secret, voucher_amount)
    if text.lower().startswith("upi:"):
        return _upi(text)
    if text.upper().startswith("BILL|"):
        return _bill_pipe(text)
    if re.match(r"(?i)^https?://", text):
        return _bill_url(text)
    return _unknown("qr_not_recognised")


# ---------------------------------------------------------------- ours


def _emitra(text: str, secret: str | None, amount_of: VoucherAmount | None) -> QrResult:
    parsed = verification.parse_qr(text)
    if parsed is None:
        return _unknown("qr_emitra_damaged")
    kind, ident, code = parsed
    if len(ident) > MAX_ID or len(code) > MAX_CODE:
        return _unknown("qr_emitra_damaged")  # longer than anything we print
    if kind == "R":
        return QrResult("receipt", "qr_receipt_checking", {"txn_id": ident, "code": code})
    fields = {"voucher_id": ident, "code": code}
    amount = amount_of(ident) if amount_of is not None else None
    if secret is None or amount is None:
        return QrResult("voucher", "qr_voucher_checking", fields)
    good = verification.voucher_code(secret, ident, amount) == code
    fields["amount_paise"] = str(int(amount))
    key = "qr_voucher_valid" if good else "qr_voucher_invalid"
    return QrResult("voucher", key, fields, verified=good)


# ---------------------------------------------------------------- bills

def _bill_providers() -> dict[str, str]:
    """UPPER -> code of the providers whose bills a QR may name, from the catalogue in force
    (it changes when central publishes a new one)."""
    return {code.upper(): code for code in catalogue.PROVIDERS if catalogue.bill_provider(code)}


_NUMBER_PARAMS = ("kno", "k_no", "knumber", "consumer", "consumer_no", "consumerno", "cno", "ca")
_NUMBER_PARAMS += ("account",)
_PROVIDER_PARAMS = ("disc", "discom", "provider", "biller", "board")


def _bill(provider_raw: str, number: str) -> QrResult:
    number = number.strip()
    provider = _bill_providers().get(provider_raw.strip().upper(), "") if provider_raw else ""
    if not CONSUMER_NUMBER.fullmatch(number):
        fields = {"provider": provider} if provider else {}
        return QrResult("bill", "qr_bill_number_invalid", fields)
    if provider_raw and not provider:
        return QrResult(
            "bill",
            "qr_bill_provider_not_served",
            {"provider": _clean(provider_raw, 24), "consumer_number": number},
        )
    key = "qr_bill_found" if provider else "qr_bill_provider_unknown"
    return QrResult("bill", key, {"provider": provider, "consumer_number": number})


def _bill_pipe(text: str) -> QrResult:
    parts = text.split("|")
    if len(parts) < 3 or not parts[1].strip():
        return QrResult("bill", "qr_bill_number_invalid")
    return _bill(parts[1], parts[2])


def _split_url(text: str) -> tuple[str, str, dict[str, str]]:
    """(host, path, query parameters) of a link. A link urlsplit refuses (a bad IPv6 host, a
    host that changes under NFKC) still has a readable query: the part after '?'."""
    try:
        url = urlsplit(text)
        host, path, query = url.hostname or "", url.path, url.query
    except ValueError:
        host, path = "", ""
        query = text.partition("?")[2].partition("#")[0]
    params = {k.strip().lower(): v for k, v in parse_qsl(query, keep_blank_values=True)}
    return host, path, params


def _bill_url(text: str) -> QrResult:
    host, path, params = _split_url(text)
    number = next((params[k] for k in _NUMBER_PARAMS if params.get(k)), None)
    if number is None:
        return _unknown("qr_not_recognised")  # some other web link
    provider = next((params[k] for k in _PROVIDER_PARAMS if params.get(k)), "")
    if not provider:
        place = f"{host}{path}".lower()
        for code in sorted(_bill_providers(), key=len, reverse=True):
            if code.lower() in place:
                provider = code
                break
    return _bill(provider, number)


# ---------------------------------------------------------------- UPI


def _upi(text: str) -> QrResult:
    _, _, params = _split_url(text)
    fields = {}
    if params.get("pn"):
        fields["payee_name"] = _clean(params["pn"], 60)
    if params.get("pa"):
        fields["payee_vpa"] = _clean(params["pa"], 80)
    amount = params.get("am", "").strip()
    if re.fullmatch(r"\d{1,9}(\.\d{1,2})?", amount):
        fields["amount"] = amount
    return QrResult("upi", "qr_upi_not_accepted", fields)


# ---------------------------------------------------------------- Aadhaar


def _aadhaar_unread() -> QrResult:
    return QrResult("aadhaar", "qr_aadhaar_not_needed", {"format": "secure", "read": "no"})


def _digits_to_int(digits: str) -> int:
    """int(digits) for any length (int() refuses more than 4300 digits by default)."""
    value = 0
    for i in range(0, len(digits), 1000):
        chunk = digits[i : i + 1000]
        value = value * 10 ** len(chunk) + int(chunk)
    return value


def _inflate(data: bytes) -> bytes | None:
    for wbits in (47, -15):  # gzip or zlib header (auto-detected), then raw deflate
        try:
            d = zlib.decompressobj(wbits)
            out = d.decompress(data, MAX_INFLATED)
        except zlib.error:
            continue
        if out:
            return out
    return None


def _name_text(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # UIDAI's field encoding
    return _clean(text, 100)


def _aadhaar_secure(digits: str) -> QrResult:
    if len(digits) > MAX_AADHAAR_DIGITS:
        return _aadhaar_unread()
    value = _digits_to_int(digits)
    data = _inflate(value.to_bytes((value.bit_length() + 7) // 8 or 1, "big"))
    if data is None:
        return _aadhaar_unread()
    parts = data.split(b"\xff")
    # V2+ codes start with "V2", "V3"...; older ones with the email/mobile indicator.
    first = parts[0].decode("latin-1")
    offset = 1 if re.fullmatch(r"V\d+", first) else 0
    if len(parts) < offset + 3:
        return _aadhaar_unread()
    reference = parts[offset + 1].decode("latin-1")  # last 4 of the number + a timestamp
    name = _name_text(parts[offset + 2])
    fields = {"format": "secure", "read": "yes"}
    if re.match(r"[0-9]{4}", reference):
        fields["last4"] = reference[:4]
    if name and not any(ch.isdigit() for ch in name):
        fields["name"] = name
    return QrResult("aadhaar", "qr_aadhaar_not_needed", fields)


_XML_ATTR = re.compile(r"""\b(uid|name)\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)


def _aadhaar_xml(text: str) -> QrResult:
    fields = {"format": "xml"}
    for m in _XML_ATTR.finditer(text):
        key, value = m.group(1).lower(), m.group(2) if m.group(2) is not None else m.group(3)
        if key == "uid":
            digits = re.sub(r"[^0-9]", "", value)
            if len(digits) >= 4 and "last4" not in fields:
                fields["last4"] = digits[-4:]
        elif key == "name" and "name" not in fields:
            name = _clean(value, 100)
            if name and not any(ch.isdigit() for ch in name):
                fields["name"] = name
    return QrResult("aadhaar", "qr_aadhaar_not_needed", fields)
