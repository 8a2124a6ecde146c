"""A virtual smart card for vsmartcard's vpcd: an EMV (RuPay) card or our engineer card.

Written from the card's side and importing nothing from drivers/ (DESIGN.md): its TLV encoder,
APDU parsing and PIN block decoding are its own. Run it and any PC/SC program on the machine
sees a card in the "Virtual PCD" reader:

    python -m sim card [--kind emv|engineer] [--pin 1234] [--port 35963] [faults...]

The first line printed is the reader name alone (e.g. "Virtual PCD 00 00"); the card shows up
in pcscd about 1.3 s after that. Stop it (SIGINT / SIGTERM) and the card is "pulled out".
If nothing listens on the vpcd port and no pcscd runs, it starts `pcscd --foreground` itself
and stops it on exit.

vpcd's wire protocol (the card is the TCP client): every message is a 2-byte big-endian length
then the payload. A 1-byte payload from vpcd is a control message: 00 power off, 01 power on,
02 reset, 04 "send your ATR" (answered with the ATR); none of the others is answered. Any longer
payload is a command APDU, answered with the response APDU (data + SW1 SW2).

The EMV card: contact PSE (or PPSE) directory, one application per `--aid` (RuPay by default),
PDOL, GPO format 2 with an AFL over SFI 1 and 2, records with Track 2, PAN, expiry, name and
CDOL1, GET DATA 9F17 / 9F36, offline plaintext PIN VERIFY with a try counter, GENERATE AC. Its
"cryptogram" is HMAC-SHA256(card key, CDOL1 data || ATC), first 8 bytes: a stand-in for the
issuer's 3DES/AES session-key MAC, good enough to prove the data went through the card.

The engineer card: application F0454D495452414B01, GET DATA DF01 (CLA 00) -> engineer id,
INTERNAL AUTHENTICATE (00 88) with an 8..64-byte nonce -> HMAC-SHA256(card key, nonce).

Faults: --pin-tries N (0 = blocked), --pull-after N (vanish when APDU N+1 arrives),
--aid with an AID the kiosk does not take (every SELECT of ours then gets 6A82),
--malformed-record (a record whose TLV lengths lie), --directory pse|ppse|none.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

log = logging.getLogger("sim.card")

VPCD_PORT = 35963
CTRL_OFF, CTRL_ON, CTRL_RESET, CTRL_ATR = 0x00, 0x01, 0x02, 0x04

PSE_NAME = b"1PAY.SYS.DDF01"
PPSE_NAME = b"2PAY.SYS.DDF01"
AID_RUPAY = "A0000005241010"
AID_VISA = "A0000000031010"
AID_MASTERCARD = "A0000000041010"
LABELS = {AID_RUPAY: "RuPay", AID_VISA: "VISA", AID_MASTERCARD: "Mastercard"}

ENGINEER_AID = bytes.fromhex("F0454D495452414B01")  # F0 "EMITRAK" 01

# Test card defaults (public test values, nothing real).
TEST_PAN = "6521501234567890"
TEST_EXPIRY = "281231"  # YYMMDD
TEST_NAME = "SHARMA/ANITA"
TEST_PIN = "1234"
TEST_AC_KEY = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
TEST_ENGINEER_ID = "ENG-RJ-0042"
TEST_ENGINEER_KEY = bytes.fromhex(
    "8f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
)

# ---------------------------------------------------------------------------------------------
# encoding, card side
# ---------------------------------------------------------------------------------------------


def _len_bytes(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    if n <= 0xFF:
        return bytes([0x81, n])
    return bytes([0x82, n >> 8, n & 0xFF])


def tlv(tag: int, *parts: bytes) -> bytes:
    """Encode one object; the value is the parts joined."""
    value = b"".join(parts)
    tag_raw = tag.to_bytes((tag.bit_length() + 7) // 8 or 1, "big")
    return tag_raw + _len_bytes(len(value)) + value


def dol(*entries: tuple[int, int]) -> bytes:
    out = b""
    for tag, length in entries:
        out += tag.to_bytes((tag.bit_length() + 7) // 8 or 1, "big") + bytes([length])
    return out


def dol_size(entries: tuple[tuple[int, int], ...]) -> int:
    return sum(length for _, length in entries)


def make_atr(historical: bytes) -> bytes:
    """TS 3B, T0, TD1 = 80 (T=0 indicated next), TD2 = 01 (T=1), historical bytes, TCK."""
    if len(historical) > 15:
        raise ValueError("at most 15 historical bytes")
    body = bytes([0x80 | len(historical), 0x80, 0x01]) + historical
    tck = 0
    for b in body:
        tck ^= b
    return b"\x3b" + body + bytes([tck])


def sw(word: int) -> bytes:
    return bytes([word >> 8, word & 0xFF])


SW_OK = sw(0x9000)


@dataclass
class Apdu:
    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes
    le: int | None


class BadApdu(Exception):
    pass


def parse_apdu(raw: bytes) -> Apdu:
    """Short APDU cases 1-4 (ISO 7816-3 12.1)."""
    if len(raw) < 4:
        raise BadApdu("shorter than a header")
    cla, ins, p1, p2 = raw[:4]
    body = raw[4:]
    if not body:
        return Apdu(cla, ins, p1, p2, b"", None)
    if len(body) == 1:
        return Apdu(cla, ins, p1, p2, b"", body[0] or 256)
    lc = body[0]
    if lc == 0 or len(body) not in (1 + lc, 2 + lc):
        raise BadApdu("Lc does not match the body")
    le = (body[1 + lc] or 256) if len(body) == 2 + lc else None
    return Apdu(cla, ins, p1, p2, bytes(body[1 : 1 + lc]), le)


def decode_pin_block(block: bytes) -> str | None:
    """ISO 9564 format 2: 2N, N digits, F filler. None when malformed."""
    if len(block) != 8:
        return None
    nibbles = "".join(f"{b:02X}" for b in block)
    if nibbles[0] != "2":
        return None
    n = int(nibbles[1], 16)
    if not 4 <= n <= 12:
        return None
    digits, filler = nibbles[2 : 2 + n], nibbles[2 + n :]
    if not digits.isdigit() or set(filler) - {"F"}:
        return None
    return digits


# ---------------------------------------------------------------------------------------------
# the cards
# ---------------------------------------------------------------------------------------------


@dataclass
class EmvProfile:
    pan: str = TEST_PAN
    expiry: str = TEST_EXPIRY  # YYMMDD
    name: str = TEST_NAME
    aids: list[str] = field(default_factory=lambda: [AID_RUPAY])
    pin: str = TEST_PIN
    pin_tries: int = 3
    pin_limit: int = 3
    ac_key: bytes = TEST_AC_KEY
    directory: str = "pse"  # pse | ppse | none
    malformed_record: bool = False
    atc: int = 0x0010


PDOL = ((0x9F1A, 2), (0x5F2A, 2), (0x9C, 1))
CDOL1 = (
    (0x9F02, 6), (0x9F03, 6), (0x9F1A, 2), (0x95, 5), (0x5F2A, 2),
    (0x9A, 3), (0x9C, 1), (0x9F37, 4), (0x9F35, 1), (0x9F34, 3),
)  # fmt: skip
CDOL2 = ((0x8A, 2), (0x95, 5), (0x9F37, 4))


class VirtualCard:
    """The card's logic: APDU in, response out. No I/O."""

    def __init__(
        self,
        kind: str = "emv",
        emv: EmvProfile | None = None,
        engineer_id: str = TEST_ENGINEER_ID,
        engineer_key: bytes = TEST_ENGINEER_KEY,
    ) -> None:
        if kind not in ("emv", "engineer"):
            raise ValueError("kind must be emv or engineer")
        self.kind = kind
        self.emv = emv or EmvProfile()
        self.engineer_id = engineer_id
        self.engineer_key = engineer_key
        self.atr = make_atr(b"EMITRA-" + (b"EMV" if kind == "emv" else b"ENG"))
        self.apdus = 0
        self.reset()

    def reset(self) -> None:
        self.selected: str | None = None  # "pse" "ppse" an AID hex, "engineer"
        self.gpo_done = False

    # ---- data

    def _records(self) -> dict[tuple[int, int], bytes]:
        p = self.emv
        pan_bcd = bytes.fromhex(p.pan + ("F" if len(p.pan) % 2 else ""))
        track2 = p.pan + "D" + p.expiry[:4] + "201" + "0000000000"
        track2 += "F" if len(track2) % 2 else ""
        rec1 = tlv(0x70, tlv(0x57, bytes.fromhex(track2)), tlv(0x5F20, p.name.encode("ascii")))
        rec2_items = [
            tlv(0x5A, pan_bcd),
            tlv(0x5F24, bytes.fromhex(p.expiry)),
            tlv(0x5F25, bytes.fromhex("230101")),
            tlv(0x5F28, bytes.fromhex("0356")),
            tlv(0x5F34, b"\x01"),
            tlv(0x8C, dol(*CDOL1)),
            tlv(0x8D, dol(*CDOL2)),
            tlv(0x8E, bytes(8) + bytes.fromhex("4103" + "1E03" + "1F00")),
        ]
        rec2 = tlv(0x70, *rec2_items)
        if p.malformed_record:
            # the cardholder name claims 0x40 bytes that are not there; the 70 length is right
            bad = bytes.fromhex("5F2040") + b"SHARMA"
            rec2 = tlv(0x70, rec2_items[0], rec2_items[1], bad)
        rec3 = tlv(
            0x70,
            tlv(0x9F07, bytes.fromhex("FF00")),
            tlv(0x9F08, bytes.fromhex("0002")),
            tlv(0x9F42, bytes.fromhex("0356")),
            tlv(0x9F0D, bytes.fromhex("B860AC8800")),
            tlv(0x9F0E, bytes(5)),
            tlv(0x9F0F, bytes.fromhex("B868BC9800")),
        )
        return {(1, 1): rec1, (1, 2): rec2, (2, 1): rec3}

    def _app_entry(self, index: int, aid: str) -> bytes:
        label = LABELS.get(aid, "UNKNOWN").encode("ascii")
        return tlv(0x61, tlv(0x4F, bytes.fromhex(aid)), tlv(0x50, label), tlv(0x87, bytes([index])))

    # ---- dispatch

    def process(self, raw: bytes) -> bytes:
        self.apdus += 1
        try:
            apdu = parse_apdu(raw)
        except BadApdu:
            return sw(0x6700)
        if apdu.cla not in (0x00, 0x80):
            return sw(0x6E00)
        handler = {
            0xA4: self._select,
            0xB2: self._read_record,
            0xA8: self._gpo,
            0xCA: self._get_data,
            0x20: self._verify,
            0xAE: self._generate_ac,
            0x88: self._internal_authenticate,
        }.get(apdu.ins)
        if handler is None:
            return sw(0x6D00)
        return handler(apdu)

    def _select(self, a: Apdu) -> bytes:
        if a.p1 != 0x04:
            return sw(0x6A86)
        name = a.data
        self.gpo_done = False
        if self.kind == "engineer":
            if name == ENGINEER_AID:
                self.selected = "engineer"
                label = tlv(0x50, b"EMITRAK ENGINEER")
                return tlv(0x6F, tlv(0x84, name), tlv(0xA5, label)) + SW_OK
            self.selected = None
            return sw(0x6A82)
        p = self.emv
        if name == PSE_NAME and p.directory == "pse":
            self.selected = "pse"
            prop = tlv(0xA5, tlv(0x88, b"\x01"), tlv(0x5F2D, b"enhi"))
            return tlv(0x6F, tlv(0x84, name), prop) + SW_OK
        if name == PPSE_NAME and p.directory == "ppse":
            self.selected = "ppse"
            entries = b"".join(self._app_entry(i + 1, aid) for i, aid in enumerate(p.aids))
            return tlv(0x6F, tlv(0x84, name), tlv(0xA5, tlv(0xBF0C, entries))) + SW_OK
        if name.hex().upper() in p.aids:
            aid = name.hex().upper()
            self.selected = aid
            prop = tlv(
                0xA5,
                tlv(0x50, LABELS.get(aid, "UNKNOWN").encode("ascii")),
                tlv(0x87, b"\x01"),
                tlv(0x9F38, dol(*PDOL)),
                tlv(0x5F2D, b"enhi"),
            )
            return tlv(0x6F, tlv(0x84, name), prop) + SW_OK
        self.selected = None
        return sw(0x6A82)

    def _read_record(self, a: Apdu) -> bytes:
        if a.p2 & 0x07 != 0x04 or a.p1 == 0:
            return sw(0x6A86)
        sfi, rec = a.p2 >> 3, a.p1
        if self.selected == "pse":
            if sfi == 1 and 1 <= rec <= len(self.emv.aids):
                return tlv(0x70, self._app_entry(rec, self.emv.aids[rec - 1])) + SW_OK
            return sw(0x6A83)
        if self.kind != "emv" or self.selected not in self.emv.aids:
            return sw(0x6985)
        if not self.gpo_done:
            return sw(0x6985)
        record = self._records().get((sfi, rec))
        return record + SW_OK if record is not None else sw(0x6A83)

    def _gpo(self, a: Apdu) -> bytes:
        if a.cla != 0x80 or self.kind != "emv" or self.selected not in self.emv.aids:
            return sw(0x6985)
        want = dol_size(PDOL)
        if len(a.data) != 2 + want or a.data[0] != 0x83 or a.data[1] != want:
            return sw(0x6700)
        self.gpo_done = True
        aip = bytes.fromhex("1800")
        afl = bytes.fromhex("08010200" + "10010100")
        return tlv(0x77, tlv(0x82, aip), tlv(0x94, afl)) + SW_OK

    def _get_data(self, a: Apdu) -> bytes:
        tag = (a.p1 << 8) | a.p2
        if self.kind == "engineer":
            if self.selected == "engineer" and a.cla == 0x00 and tag == 0xDF01:
                return tlv(0xDF01, self.engineer_id.encode("ascii")) + SW_OK
            return sw(0x6A88)
        if self.selected not in self.emv.aids:
            return sw(0x6985)
        if tag == 0x9F17:
            return tlv(0x9F17, bytes([self.emv.pin_tries])) + SW_OK
        if tag == 0x9F36:
            return tlv(0x9F36, self.emv.atc.to_bytes(2, "big")) + SW_OK
        return sw(0x6A88)

    def _verify(self, a: Apdu) -> bytes:
        p = self.emv
        if self.kind != "emv" or self.selected not in p.aids:
            return sw(0x6985)
        if a.p2 != 0x80:
            return sw(0x6A86)
        if p.pin_tries == 0:
            return sw(0x6983)
        pin = decode_pin_block(a.data)
        if pin is None:
            return sw(0x6A80)
        if hmac.compare_digest(pin.encode(), p.pin.encode()):
            p.pin_tries = p.pin_limit
            return SW_OK
        p.pin_tries -= 1
        return sw(0x63C0 | p.pin_tries)

    def _generate_ac(self, a: Apdu) -> bytes:
        p = self.emv
        if a.cla != 0x80 or self.kind != "emv" or not self.gpo_done:
            return sw(0x6985)
        if len(a.data) != dol_size(CDOL1):
            return sw(0x6700)
        asked = a.p1 & 0xC0
        cid = 0x00 if asked == 0x00 else 0x80  # online-only card: an ARQC unless AAC asked
        p.atc = (p.atc + 1) & 0xFFFF
        atc = p.atc.to_bytes(2, "big")
        ac = hmac.new(p.ac_key, a.data + atc, hashlib.sha256).digest()[:8]
        iad = bytes.fromhex("0110A00003220000000000000000000000FF")
        body = tlv(0x9F27, bytes([cid])) + tlv(0x9F36, atc) + tlv(0x9F26, ac) + tlv(0x9F10, iad)
        return tlv(0x77, body) + SW_OK

    def _internal_authenticate(self, a: Apdu) -> bytes:
        if self.kind != "engineer" or self.selected != "engineer":
            return sw(0x6985)
        if not 8 <= len(a.data) <= 64:
            return sw(0x6700)
        return hmac.new(self.engineer_key, a.data, hashlib.sha256).digest() + SW_OK


# ---------------------------------------------------------------------------------------------
# the vpcd link
# ---------------------------------------------------------------------------------------------


class CardPulled(Exception):
    """The fault injector pulled the card (connection closed without an answer)."""


def reader_name(port: int) -> str:
    """pcscd's name for the vpcd slot on `port` (FRIENDLYNAME, then '00 NN')."""
    friendly = "Virtual PCD"
    with contextlib.suppress(OSError):
        with open("/etc/reader.conf.d/vpcd", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("FRIENDLYNAME"):
                    friendly = line.split(None, 1)[1].strip().strip('"')
    return f"{friendly} 00 {port - VPCD_PORT:02d}"


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def _send(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(len(payload).to_bytes(2, "big") + payload)


def serve(sock: socket.socket, card: VirtualCard, pull_after: int | None = None) -> str:
    """Answer vpcd until it hangs up or the card is pulled. Returns why it stopped."""
    answered = 0
    while True:
        head = _recv_exact(sock, 2)
        if head is None:
            return "vpcd closed the connection"
        size = int.from_bytes(head, "big")
        payload = _recv_exact(sock, size) if size else b""
        if payload is None:
            return "vpcd closed the connection"
        if size == 1:
            ctrl = payload[0]
            if ctrl == CTRL_ATR:
                _send(sock, card.atr)
            elif ctrl in (CTRL_OFF, CTRL_ON, CTRL_RESET):
                card.reset()
                log.debug("card power %s", {0: "off", 1: "on", 2: "reset"}[ctrl])
            else:
                log.warning("unknown vpcd control byte %02X", ctrl)
            continue
        if not payload:
            continue
        if pull_after is not None and answered >= pull_after:
            return f"card pulled after {answered} APDUs"
        response = card.process(payload)
        log.debug("apdu ins=%02X -> sw=%s", payload[1] if len(payload) > 1 else 0,
                  response[-2:].hex())  # fmt: skip
        _send(sock, response)
        answered += 1


def _pcscd_running() -> bool:
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            with contextlib.suppress(OSError):
                with open(f"/proc/{pid}/comm", encoding="ascii", errors="replace") as fh:
                    if fh.read().strip() == "pcscd":
                        return True
    return False


def connect(host: str, port: int, timeout: float) -> socket.socket:
    deadline = time.monotonic() + timeout
    while True:
        try:
            sock = socket.create_connection((host, port), timeout=2.0)
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except OSError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sim card", description="virtual EMV / engineer card for vpcd (pcscd)"
    )
    parser.add_argument("--kind", choices=("emv", "engineer"), default="emv")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=VPCD_PORT, help="35963 = 'Virtual PCD 00 00'")
    parser.add_argument("--pin", default=TEST_PIN)
    parser.add_argument("--pin-tries", type=int, default=3, help="tries left; 0 = blocked")
    parser.add_argument("--pin-limit", type=int, default=3)
    parser.add_argument("--pan", default=TEST_PAN)
    parser.add_argument("--expiry", default=TEST_EXPIRY, help="YYMMDD")
    parser.add_argument("--name", default=TEST_NAME)
    parser.add_argument("--aid", action="append", help="application AID (hex), repeatable; "
                        "default RuPay A0000005241010")  # fmt: skip
    parser.add_argument("--directory", choices=("pse", "ppse", "none"), default="pse")
    parser.add_argument("--malformed-record", action="store_true")
    parser.add_argument("--pull-after", type=int, default=None, metavar="N",
                        help="disconnect (card pulled) when APDU N+1 arrives")  # fmt: skip
    parser.add_argument("--engineer-id", default=TEST_ENGINEER_ID)
    parser.add_argument("--key", default=TEST_ENGINEER_KEY.hex(), help="engineer key, hex")
    parser.add_argument("--connect-timeout", type=float, default=5.0)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.DEBUG if args.verbose else logging.INFO,
                        format="sim.card: %(message)s")  # fmt: skip

    profile = EmvProfile(
        pan=args.pan,
        expiry=args.expiry,
        name=args.name,
        aids=[a.upper() for a in (args.aid or [AID_RUPAY])],
        pin=args.pin,
        pin_tries=args.pin_tries,
        pin_limit=args.pin_limit,
        directory=args.directory,
        malformed_record=args.malformed_record,
    )
    card = VirtualCard(args.kind, profile, args.engineer_id, bytes.fromhex(args.key))

    pcscd: subprocess.Popen | None = None

    def _stop(signum: int, frame: object) -> None:  # noqa: ARG001
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        try:
            sock = connect(args.host, args.port, 0.3)
        except OSError:
            if not _pcscd_running() and shutil.which("pcscd"):
                log.info("no pcscd running: starting pcscd --foreground")
                pcscd = subprocess.Popen(
                    ["pcscd", "--foreground"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
            try:
                sock = connect(args.host, args.port, args.connect_timeout)
            except OSError as exc:
                print(f"sim card: cannot reach vpcd at {args.host}:{args.port}: {exc} "
                      "(is pcscd with vsmartcard-vpcd running?)", file=sys.stderr)  # fmt: skip
                return 1
        print(reader_name(args.port), flush=True)
        with sock:
            why = serve(sock, card, args.pull_after)
        log.info("%s", why)
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        if pcscd is not None:
            pcscd.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                pcscd.wait(5)


if __name__ == "__main__":
    sys.exit(main())
