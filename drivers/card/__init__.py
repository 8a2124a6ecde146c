"""Smart-card reader (PC/SC via pyscard): events, typed results and errors.

Layers, as in the other drivers:
- `tlv`    BER-TLV parsing (sans-I/O).
- `apdu`   command APDUs, status words, the GET RESPONSE / wrong-Le exchange rules.
- `emv`    the EMV contact flow over any blocking `transmit(bytes) -> bytes` callable.
- `engineer` the field engineer's card (our own AID, challenge / response).
- `pcsc`   `CardReader`, the asyncio facade over pyscard and its reader / card monitors.

Importing this package does not import pyscard: `CardReader` is loaded on first use.
Nothing that leaves this package carries a full PAN or a PIN.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.base import DeviceError

__all__ = [
    "CardApplicationNotFound",
    "CardDataError",
    "CardError",
    "CardInserted",
    "CardReader",
    "CardRemoved",
    "CardRemovedError",
    "CardStatusError",
    "EmvCard",
    "NoCardError",
    "PinResult",
    "ReaderAdded",
    "ReaderRemoved",
    "mask_pan",
]

# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class ReaderAdded:
    reader: str


@dataclass(frozen=True)
class ReaderRemoved:
    reader: str


@dataclass(frozen=True)
class CardInserted:
    reader: str
    atr_hex: str


@dataclass(frozen=True)
class CardRemoved:
    reader: str


CardEvent = ReaderAdded | ReaderRemoved | CardInserted | CardRemoved

# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class EmvCard:
    """What the kiosk may keep about a payment card. pan_masked: first 6 and last 4 only."""

    pan_masked: str
    expiry: str  # 'YYMM'
    name: str
    aid: str  # hex
    label: str


@dataclass(frozen=True)
class PinResult:
    ok: bool
    tries_left: int | None  # None when the card does not say
    blocked: bool


def mask_pan(pan: str) -> str:
    """'6521501234567890' -> '652150******7890'. Short or odd input is masked entirely."""
    digits = "".join(ch for ch in pan if ch.isdigit())
    if len(digits) < 13:
        return "*" * len(digits)
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]


# ---------------------------------------------------------------- errors


class CardError(DeviceError):
    """Anything that went wrong talking to a card. The message never holds card data."""


class NoCardError(CardError):
    """No card in the reader (or no reader)."""


class CardRemovedError(CardError):
    """The card left the reader (or stopped answering) in the middle of an exchange."""


class CardApplicationNotFound(CardError):
    """The card has none of the applications we accept (SELECT answered 6A82 or none listed)."""


class CardDataError(CardError):
    """The card's answer is malformed (bad TLV, missing mandatory data, bad AFL...)."""


class CardStatusError(CardError):
    """The card refused a command with an unexpected status word."""

    def __init__(self, message: str, sw: int) -> None:
        super().__init__(message)
        self.sw = sw


def __getattr__(name: str):  # lazy: importing drivers.card must not need pyscard
    if name == "CardReader":
        from drivers.card.pcsc import CardReader

        return CardReader
    raise AttributeError(f"module 'drivers.card' has no attribute {name!r}")
