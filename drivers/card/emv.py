"""EMV contact flow (EMV 4.x Book 1 / Book 3) over a blocking `transmit(bytes) -> bytes`.

`EmvSession` is plain synchronous code: the facade runs it in a worker thread, and tests can
drive it with any callable that answers APDUs. The steps:

1. Candidate list: SELECT the contact PSE '1PAY.SYS.DDF01' and read its directory records; else
   the PPSE '2PAY.SYS.DDF01' (its FCI lists the applications); else (or when neither lists an
   application we take) SELECT each supported AID in turn ("list of AIDs" method).
2. Choose by the card's Application Priority Indicator (tag 87, 1 highest, 0 = none, last),
   then by our order: RuPay, Visa, Mastercard. SELECT it (on 6A82 try the next).
3. GET PROCESSING OPTIONS with the PDOL (9F38) filled from terminal data -> AIP and AFL.
4. READ RECORD over the AFL -> PAN (5A, or Track 2 equivalent 57), expiry (5F24), name (5F20),
   CDOL1 (8C).
5. Offline plaintext PIN: GET DATA 9F17 (PIN try counter), VERIFY P2=80 with an ISO 9564 format 2
   block: 9000 ok, 63Cx x tries left, 6983/6984 blocked.
6. GENERATE AC asking for an ARQC with CDOL1 filled (amount in paise, INR, date, unpredictable
   number) -> CID, ATC, application cryptogram, issuer application data.

The full PAN is masked (first 6 / last 4) the moment it is parsed and never kept, logged or
returned; the PIN lives only in a wiped bytearray for the VERIFY.
"""

from __future__ import annotations

import datetime as _dt
import logging
import secrets
from dataclasses import dataclass

from drivers.card import (
    CardApplicationNotFound,
    CardDataError,
    CardStatusError,
    EmvCard,
    PinResult,
    mask_pan,
)
from drivers.card.apdu import (
    AC_ARQC,
    CID_NAMES,
    SW_OK,
    Command,
    Response,
    Transmit,
    describe_sw,
    exchange,
    generate_ac,
    get_data,
    get_processing_options,
    pin_block,
    read_record,
    select_by_name,
    tries_left,
    verify_plaintext_pin,
)
from drivers.card.tlv import Tlv, TLVError, find, find_value, parse, parse_dol

log = logging.getLogger("drivers.card.emv")

PSE = b"1PAY.SYS.DDF01"
PPSE = b"2PAY.SYS.DDF01"

RUPAY = bytes.fromhex("A0000005241010")
VISA = bytes.fromhex("A0000000031010")
MASTERCARD = bytes.fromhex("A0000000041010")
# Our preference when the card's priorities tie (or are absent): first is preferred.
SUPPORTED_AIDS: dict[bytes, str] = {RUPAY: "RuPay", VISA: "Visa", MASTERCARD: "Mastercard"}

# Tags whose format is 'n' (BCD numbers): padded / truncated on the left (Book 3, 5.4).
NUMERIC_TAGS = {0x9F02, 0x9F03, 0x9F1A, 0x5F2A, 0x9A, 0x9C, 0x9F21, 0x5F36, 0x9F41, 0x9F15}

MAX_COMMAND_DATA = 255  # short APDUs only: a DOL or AID from the card must fit one command
AID_SIZES = range(5, 17)  # ISO 7816-4: an AID is 5 to 16 bytes

INR = "0356"
INDIA = "0356"


def bcd(number: int, size: int) -> bytes:
    """Unsigned number as packed BCD, right-aligned in `size` bytes."""
    if number < 0:
        raise ValueError("negative amount")
    digits = str(number).rjust(size * 2, "0")
    if len(digits) > size * 2:
        raise ValueError(f"{number} does not fit in {size} BCD bytes")
    return bytes.fromhex(digits)


def fill_dol(dol: tuple[tuple[int, int], ...], values: dict[int, bytes]) -> bytes:
    """Concatenate the values a DOL asks for, each fitted to its length (Book 3, 5.4).

    Unknown tags are sent as zeros of the asked length.
    """
    out = bytearray()
    for tag, length in dol:
        value = values.get(tag, b"")
        numeric = tag in NUMERIC_TAGS
        if len(value) > length:
            value = value[-length:] if numeric else value[:length]
        elif len(value) < length:
            pad = bytes(length - len(value))
            value = pad + value if numeric else value + pad
        out += value
    return bytes(out)


@dataclass(frozen=True)
class Candidate:
    aid: bytes
    label: str
    priority: int  # 1 (highest) .. 15; 16 when the card gave none

    def rank(self) -> tuple[int, int]:
        return (self.priority, _preference(self.aid))


def _preference(aid: bytes) -> int:
    for i, ours in enumerate(SUPPORTED_AIDS):
        if aid.startswith(ours):
            return i
    return len(SUPPORTED_AIDS)


def _supported(aid: bytes) -> bool:
    return _preference(aid) < len(SUPPORTED_AIDS)


def _parse_or_fail(data: bytes, what: str) -> tuple[Tlv, ...]:
    try:
        return parse(data)
    except TLVError as exc:
        raise CardDataError(f"malformed TLV in {what}: {exc}") from None


def _entry_to_candidate(entry: Tlv) -> Candidate | None:
    aid = find_value(entry.children, 0x4F)
    if not aid or len(aid) not in AID_SIZES:
        return None
    label_raw = find_value(entry.children, 0x50) or b""
    prio_raw = find_value(entry.children, 0x87)
    priority = (prio_raw[0] & 0x0F) if prio_raw else 0
    label = label_raw.decode("ascii", "replace").strip()
    return Candidate(aid, label, priority or 16)


class EmvSession:
    """One EMV transaction with the card behind `transmit`. Not thread-safe; one at a time."""

    def __init__(self, transmit: Transmit, terminal: dict[int, bytes] | None = None) -> None:
        self._transmit = transmit
        self.terminal: dict[int, bytes] = {
            0x9F1A: bytes.fromhex(INDIA),  # terminal country code
            0x5F2A: bytes.fromhex(INR),  # transaction currency code
            0x5F36: b"\x02",  # currency exponent (paise)
            0x9F35: b"\x24",  # terminal type: unattended, online only
            0x9F33: bytes.fromhex("E0B0C8"),  # terminal capabilities (plaintext PIN)
            0x9F40: bytes.fromhex("6000F0A001"),
            0x9F66: bytes.fromhex("36000000"),
            0x95: bytes(5),  # TVR
            0x9C: b"\x00",  # transaction type: goods and services
        }
        if terminal:
            self.terminal.update(terminal)
        self.card: EmvCard | None = None
        self._aid: bytes | None = None
        self._cdol1: tuple[tuple[int, int], ...] | None = None
        self._pin_verified = False

    # -------------------------------------------------------------- plumbing

    def _cmd(self, command: Command, what: str) -> Response:
        if len(command.data) > MAX_COMMAND_DATA:  # sized by the card's PDOL / CDOL1
            raise CardDataError(f"{what}: the card asks for {len(command.data)} bytes of data")
        resp = exchange(self._transmit, command)
        log.debug("apdu %s sw=%04X %s", what, resp.sw, describe_sw(resp.sw))
        return resp

    # -------------------------------------------------------------- application selection

    def candidates(self) -> list[Candidate]:
        """Supported applications on the card, best first (may SELECT several things)."""
        listed = self._from_pse() or self._from_ppse()
        found = [c for c in listed if _supported(c.aid)]
        if not found:
            log.info("no supported application listed (%d listed); trying AIDs", len(listed))
            found = [Candidate(aid, label, 16) for aid, label in SUPPORTED_AIDS.items()]
        return sorted(found, key=Candidate.rank)

    def _from_pse(self) -> list[Candidate]:
        resp = self._cmd(select_by_name(PSE), "select PSE")
        if not resp.ok:
            return []
        fci = _parse_or_fail(resp.data, "PSE FCI")
        sfi_raw = find_value(fci, 0x88)
        if not sfi_raw or not 1 <= sfi_raw[0] <= 30:
            raise CardDataError("PSE FCI has no valid directory SFI (88)")
        out: list[Candidate] = []
        for record in range(1, 17):
            resp = self._cmd(read_record(sfi_raw[0], record), f"read PSE record {record}")
            if resp.sw == 0x6A83:
                break
            if not resp.ok:
                raise CardStatusError(f"PSE directory read failed: {resp.word}", resp.sw)
            nodes = _parse_or_fail(resp.data, f"PSE directory record {record}")
            if not nodes or nodes[0].tag != 0x70:
                raise CardDataError(f"PSE directory record {record} is not a 70 template")
            for entry in nodes[0].children:
                if entry.tag == 0x61 and (cand := _entry_to_candidate(entry)):
                    out.append(cand)
        return out

    def _from_ppse(self) -> list[Candidate]:
        resp = self._cmd(select_by_name(PPSE), "select PPSE")
        if not resp.ok:
            return []
        fci = _parse_or_fail(resp.data, "PPSE FCI")
        directory = find(fci, 0xBF0C)
        if directory is None:
            return []
        out = []
        for entry in directory.children:
            if entry.tag == 0x61 and (cand := _entry_to_candidate(entry)):
                out.append(cand)
        return out

    def select_application(self) -> tuple[Candidate, tuple[Tlv, ...]]:
        tried = 0
        for cand in self.candidates():
            tried += 1
            resp = self._cmd(select_by_name(cand.aid), f"select {cand.aid.hex()}")
            if resp.sw in (0x6A82, 0x6A81, 0x6283):
                continue
            if not resp.ok:
                raise CardStatusError(f"SELECT application failed: {resp.word}", resp.sw)
            fci = _parse_or_fail(resp.data, "application FCI")
            label = cand.label
            if not label:
                label_raw = find_value(fci, 0x50)
                label = label_raw.decode("ascii", "replace").strip() if label_raw else ""
            label = label or SUPPORTED_AIDS.get(cand.aid[:7], "")
            self._aid = cand.aid
            log.info("application selected aid=%s label=%s", cand.aid.hex().upper(), label)
            return Candidate(cand.aid, label, cand.priority), fci
        raise CardApplicationNotFound(
            f"card has no RuPay/Visa/Mastercard application ({tried} tried, all not found)"
        )

    # -------------------------------------------------------------- reading

    def read(self) -> EmvCard:
        """Select, GET PROCESSING OPTIONS, read the AFL. Returns the masked card data."""
        self.card, self._aid, self._cdol1, self._pin_verified = None, None, None, False
        cand, fci = self.select_application()
        pdol_raw = find_value(fci, 0x9F38) or b""
        try:
            pdol = parse_dol(pdol_raw)
        except TLVError as exc:
            raise CardDataError(f"malformed PDOL: {exc}") from None
        values = self._transaction_values(amount_paise=0)
        resp = self._cmd(get_processing_options(fill_dol(pdol, values)), "GPO")
        if not resp.ok:
            raise CardStatusError(f"GET PROCESSING OPTIONS refused: {resp.word}", resp.sw)
        afl = self._parse_gpo(resp.data)

        found: dict[int, bytes] = {}
        for sfi, first, last in afl:
            for record in range(first, last + 1):
                resp = self._cmd(read_record(sfi, record), f"read SFI {sfi} rec {record}")
                if not resp.ok:
                    raise CardStatusError(
                        f"READ RECORD SFI {sfi} record {record}: {resp.word}", resp.sw
                    )
                nodes = _parse_or_fail(resp.data, f"record SFI {sfi} #{record}")
                if len(nodes) != 1 or nodes[0].tag != 0x70:
                    raise CardDataError(f"record SFI {sfi} #{record} is not a 70 template")
                for node in nodes[0].children:
                    if node.tag in (0x5A, 0x57, 0x5F24, 0x5F20, 0x9F0B, 0x8C, 0x8D):
                        found.setdefault(node.tag, node.value)

        pan_masked, expiry = self._pan_and_expiry(found)
        name_raw = found.get(0x5F20) or found.get(0x9F0B) or b""
        name = name_raw.decode("ascii", "replace").strip()
        if 0x8C in found:
            try:
                self._cdol1 = parse_dol(found[0x8C])
            except TLVError as exc:
                raise CardDataError(f"malformed CDOL1: {exc}") from None
        found.clear()
        self.card = EmvCard(pan_masked, expiry, name, cand.aid.hex().upper(), cand.label)
        log.info("emv read aid=%s pan=%s expiry=%s", self.card.aid, pan_masked, expiry)
        return self.card

    @staticmethod
    def _parse_gpo(data: bytes) -> list[tuple[int, int, int]]:
        nodes = _parse_or_fail(data, "GPO response")
        if not nodes:
            raise CardDataError("empty GPO response")
        top = nodes[0]
        if top.tag == 0x80:  # format 1: AIP (2) + AFL
            if len(top.value) < 2:
                raise CardDataError("GPO format 1 shorter than its AIP")
            afl = top.value[2:]
        elif top.tag == 0x77:
            afl = find_value(top.children, 0x94)
            if afl is None or find_value(top.children, 0x82) is None:
                raise CardDataError("GPO format 2 lacks AIP (82) or AFL (94)")
        else:
            raise CardDataError(f"GPO response template {top.tag:X} is neither 80 nor 77")
        if not afl or len(afl) % 4:
            raise CardDataError(f"AFL of {len(afl)} bytes is not a multiple of 4")
        out = []
        for i in range(0, len(afl), 4):
            sfi, first, last = afl[i] >> 3, afl[i + 1], afl[i + 2]
            if not 1 <= sfi <= 30 or first == 0 or last < first or afl[i + 3] > last - first + 1:
                raise CardDataError(f"invalid AFL entry {i // 4}")
            out.append((sfi, first, last))
        return out

    @staticmethod
    def _pan_and_expiry(found: dict[int, bytes]) -> tuple[str, str]:
        pan = ""
        expiry = ""
        if 0x5A in found:
            pan = found[0x5A].hex().upper().rstrip("F")
        track2 = found[0x57].hex().upper() if 0x57 in found else ""
        if "D" in track2:
            t2_pan, rest = track2.split("D", 1)
            pan = pan or t2_pan
            expiry = rest[:4]
        if 0x5F24 in found:
            expiry = found[0x5F24].hex()[:4]
        if not pan or not pan.isdigit() or not 12 <= len(pan) <= 19:
            raise CardDataError("card records hold no valid PAN")
        if len(expiry) != 4 or not expiry.isdigit() or not 1 <= int(expiry[2:]) <= 12:
            raise CardDataError("card records hold no valid expiry date")
        return mask_pan(pan), expiry

    # -------------------------------------------------------------- PIN

    def _require_app(self) -> None:
        if self.card is None:
            raise CardDataError("no EMV application read yet (call read() first)")

    def pin_try_counter(self) -> int | None:
        self._require_app()
        resp = self._cmd(get_data(0x9F17), "get data 9F17")
        if not resp.ok:
            return None
        value = find_value(_parse_or_fail(resp.data, "PIN try counter"), 0x9F17)
        return value[0] if value else None

    def verify_pin(self, pin: str) -> PinResult:
        """Offline plaintext PIN. The PIN is never logged; its block is wiped after sending."""
        self._require_app()
        counter = self.pin_try_counter()
        if counter == 0:
            log.info("pin verify skipped: try counter is 0 (blocked)")
            return PinResult(False, 0, True)
        block = pin_block(pin)
        try:
            # VERIFY returns no data: only its own status word says whether the PIN was right.
            # No GET RESPONSE chain (61xx), which would let a later answer stand in for it.
            wire = verify_plaintext_pin(bytes(block)).to_bytes()
            resp = Response.from_bytes(self._transmit(wire))
            log.debug("apdu verify sw=%04X %s", resp.sw, describe_sw(resp.sw))
        finally:
            block[:] = bytes(len(block))
        if resp.ok:
            self._pin_verified = True
            result = PinResult(True, self.pin_try_counter(), False)
        elif (left := tries_left(resp.sw)) is not None:
            result = PinResult(False, left, left == 0)
        elif resp.sw in (0x6983, 0x6984):
            result = PinResult(False, 0, True)
        else:
            raise CardStatusError(f"VERIFY refused: {resp.word}", resp.sw)
        log.info(
            "pin verify ok=%s tries_left=%s blocked=%s",
            result.ok,
            result.tries_left,
            result.blocked,
        )
        return result

    # -------------------------------------------------------------- GENERATE AC

    def _transaction_values(
        self,
        amount_paise: int,
        other_paise: int = 0,
        unpredictable: bytes | None = None,
        when: _dt.datetime | None = None,
    ) -> dict[int, bytes]:
        when = when or _dt.datetime.now(_dt.UTC)
        values = dict(self.terminal)
        values.update(
            {
                0x9F02: bcd(amount_paise, 6),
                0x9F03: bcd(other_paise, 6),
                0x9A: bytes.fromhex(when.strftime("%y%m%d")),
                0x9F21: bytes.fromhex(when.strftime("%H%M%S")),
                0x9F37: unpredictable or secrets.token_bytes(4),
                0x9F34: bytes.fromhex("010002" if self._pin_verified else "3F0000"),
            }
        )
        return values

    def generate_ac(
        self,
        amount_paise: int,
        *,
        reference: int = AC_ARQC,
        other_paise: int = 0,
        unpredictable: bytes | None = None,
        when: _dt.datetime | None = None,
    ) -> dict:
        """First GENERATE AC. Returns what an authorisation request needs (no full PAN)."""
        self._require_app()
        if self._cdol1 is None:
            raise CardDataError("card records hold no CDOL1 (8C)")
        if amount_paise <= 0:
            raise ValueError("amount must be positive paise")
        values = self._transaction_values(amount_paise, other_paise, unpredictable, when)
        cdol_data = fill_dol(self._cdol1, values)
        resp = self._cmd(generate_ac(reference, cdol_data), "generate ac")
        if not resp.ok:
            raise CardStatusError(f"GENERATE AC refused: {resp.word}", resp.sw)
        nodes = _parse_or_fail(resp.data, "GENERATE AC response")
        if not nodes:
            raise CardDataError("empty GENERATE AC response")
        top = nodes[0]
        if top.tag == 0x80:
            if len(top.value) < 11:
                raise CardDataError("GENERATE AC format 1 too short")
            cid, atc, ac, iad = top.value[0], top.value[1:3], top.value[3:11], top.value[11:]
        elif top.tag == 0x77:
            cid_raw = find_value(top.children, 0x9F27)
            atc = find_value(top.children, 0x9F36)
            ac = find_value(top.children, 0x9F26)
            iad = find_value(top.children, 0x9F10) or b""
            if not cid_raw or atc is None or ac is None:
                raise CardDataError("GENERATE AC format 2 lacks 9F27, 9F36 or 9F26")
            cid = cid_raw[0]
        else:
            raise CardDataError(f"GENERATE AC template {top.tag:X} is neither 80 nor 77")
        if len(ac) != 8 or len(atc) != 2:
            raise CardDataError("GENERATE AC cryptogram must be 8 bytes and ATC 2")
        assert self.card is not None
        result = {
            "cryptogram_type": CID_NAMES[cid & 0xC0],
            "cid": f"{cid:02X}",
            "cryptogram": ac.hex().upper(),
            "atc": int.from_bytes(atc, "big"),
            "issuer_application_data": iad.hex().upper(),
            "amount_paise": amount_paise,
            "other_amount_paise": other_paise,
            "currency": INR,
            "country": INDIA,
            "transaction_date": values[0x9A].hex(),
            "transaction_type": values[0x9C].hex(),
            "unpredictable_number": values[0x9F37].hex().upper(),
            "tvr": values[0x95].hex().upper(),
            "cvm_results": values[0x9F34].hex().upper(),
            "cdol1_data": cdol_data.hex().upper(),
            "aid": self.card.aid,
            "pan_masked": self.card.pan_masked,
        }
        log.info(
            "generate ac type=%s atc=%d aid=%s",
            result["cryptogram_type"],
            result["atc"],
            result["aid"],
        )
        return result


__all__ = [
    "AC_ARQC",
    "SUPPORTED_AIDS",
    "SW_OK",
    "Candidate",
    "EmvSession",
    "bcd",
    "fill_dol",
]
