"""The shared device contract: status vocabulary, acceptor events and print documents.

Every driver package implements one of the abstract classes here, so the core (terminal/)
never knows which protocol a device speaks. The status words follow XFS4IoT's device states.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import AsyncIterator
from dataclasses import dataclass, field


class DeviceState(enum.StrEnum):
    """Where a device stands, in the words the watchdog and the heartbeat use."""

    ONLINE = "online"
    BUSY = "busy"
    OFFLINE = "offline"
    HWERROR = "hwerror"
    USER_ERROR = "user_error"
    FRAUD = "fraud_attempt"


@dataclass(frozen=True)
class DeviceStatus:
    """A device's state plus detail words (e.g. "paper_low", "stacker_full", "jam")."""

    state: DeviceState
    detail: tuple[str, ...] = ()
    message: str = ""

    def to_dict(self) -> dict:
        return {"state": self.state.value, "detail": list(self.detail), "message": self.message}


OFFLINE = DeviceStatus(DeviceState.OFFLINE, ("not_opened",))


class DeviceError(Exception):
    """A device could not be opened or did not answer; the message names the device and port."""


# ---------------------------------------------------------------- banknote acceptor


@dataclass(frozen=True)
class NoteInEscrow:
    """A note is held in escrow; the host must stack() or return_note() it (or hold())."""

    note_id: str
    paise: int


@dataclass(frozen=True)
class NoteStacked:
    """The credit point: the note is in the cassette. note_id is unique per physical note.

    found_at_open: the device was already reporting this note stacked when the driver opened
    (the host died before acknowledging it). The driver cannot know whether a previous run
    journaled it; the core decides from its journal (the note it last asked to stack).
    """

    note_id: str
    paise: int
    found_at_open: bool = False


@dataclass(frozen=True)
class NoteReturned:
    """A note that was in escrow went back to the citizen (host asked, or escrow timed out)."""

    note_id: str
    paise: int


@dataclass(frozen=True)
class NoteRejected:
    """The device refused a note by itself. reason is a word from REJECT_REASONS."""

    reason: str
    paise: int | None = None


@dataclass(frozen=True)
class StatusChanged:
    """The device's status changed (jam, cassette full, back online...)."""

    status: DeviceStatus


@dataclass(frozen=True)
class NoteFoundAtPowerUp:
    """At power-up the device reported a note in its path (where = "validator" or "stacker"),
    or none ("none": the core checks whether a note it asked to stack is unaccounted for).

    A note "in stacker" may have been stacked without our journal seeing it: recovery must
    credit it or flag it for reconciliation.
    """

    where: str
    paise: int | None = None


AcceptorEvent = (
    NoteInEscrow | NoteStacked | NoteReturned | NoteRejected | StatusChanged | NoteFoundAtPowerUp
)

# Reject reasons, device-neutral; each protocol maps its own codes onto these words.
REJECT_REASONS = (
    "insertion",  # note not inserted properly -> "please insert the note flat"
    "not_recognised",  # magnetic / optic / identification / verification failures
    "remained_in_head",
    "multiple_notes",
    "conveying",
    "inhibited",  # denomination not accepted now
    "length",
    "operation",
    "barcode",
    "fraud",
    "unknown",
)


# ---------------------------------------------------------------- detail words
# The declared vocabulary of DeviceStatus.detail: every word a driver may put there
# (tests/test_detail_words.py checks each driver's tables and literals against it). The core
# tests these words (the watchdog's LOST_WORDS, the services rule's "paper_out", maintenance's
# "cassette_removed", the heartbeat's paper state), so a new word is added here first.

# The link to the device: it is gone, or was never there (the watchdog re-opens the device).
LOST_WORDS = frozenset(
    {"port_lost", "closed", "open_failed", "not_opened", "disconnected", "not_connected"}
)
_LINK_WORDS = LOST_WORDS | {"no_reply", "bad_reply", "driver_error", "unknown_state"}
# Banknote acceptors (drivers/acceptor/ccnet_status.py, essp_status.py).
_ACCEPTOR_WORDS = frozenset(
    {
        "power_up", "power_up_note_in_validator", "power_up_note_in_stacker", "initialising",
        "idling", "accepting", "stacking", "returning", "disabled", "escrow", "holding", "busy",
        "rejecting", "stacker_full", "cassette_removed", "cashbox_removed", "note_path_open",
        "all_inhibited", "jam", "jam_validator", "jam_cassette", "jam_safe", "jam_unsafe",
        "cheated", "fraud", "paused", "failure",
    }
)
# Receipt printers (drivers/printer/status.py).
_PRINTER_WORDS = frozenset(
    {
        "unrecoverable_error", "autocutter_error", "mechanical_error", "error", "cover_open",
        "paper_out", "paper_near_end", "auto_recoverable_error", "offline", "waiting_recovery",
        "paper_feeding", "feed_button",
    }
)
# Card reader, QR scanner, camera (drivers/card, drivers/scanner, drivers/camera).
_OTHER_WORDS = frozenset(
    {"reader_absent", "card_present", "no_card", "reader_failed", "presence_unavailable",
     "no_frames"}
)
# A CCNET "rejecting" status carries the reject reason (a REJECT_REASONS word) after it.
DETAIL_WORDS: frozenset[str] = (
    _LINK_WORDS | _ACCEPTOR_WORDS | _PRINTER_WORDS | _OTHER_WORDS | frozenset(REJECT_REASONS)
)
# Words with a device-specific tail: "failure:<cause>" (a CCNET failure sub-code).
DETAIL_PREFIXES = ("failure:",)


def is_detail_word(word: str) -> bool:
    """True for a word of the declared vocabulary (DETAIL_WORDS, or a DETAIL_PREFIXES word)."""
    return word in DETAIL_WORDS or any(
        word.startswith(p) and len(word) > len(p) for p in DETAIL_PREFIXES
    )


class BanknoteAcceptor(abc.ABC):
    """A bill acceptor with escrow. Values are int paise; denominations come from the device."""

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect, reset and read the device's denominations. Raises DeviceError."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Disable and release the port; safe to call twice."""

    @abc.abstractmethod
    def status(self) -> DeviceStatus:
        """Last known status, without I/O."""

    @abc.abstractmethod
    def denominations(self) -> list[int]:
        """Note values (paise) this device knows, read from the device itself."""

    @abc.abstractmethod
    async def enable(self, accept_paise: set[int]) -> None:
        """Accept only these values, every one stopping in escrow. Empty set = disable."""

    @abc.abstractmethod
    async def disable(self) -> None:
        """Accept nothing. A note already in escrow is left for stack()/return_note()."""

    @abc.abstractmethod
    async def stack(self) -> None:
        """Stack the note in escrow (a NoteStacked event follows). Never stacks twice."""

    @abc.abstractmethod
    async def return_note(self) -> None:
        """Return the note in escrow (a NoteReturned event follows)."""

    @abc.abstractmethod
    async def hold(self) -> None:
        """Keep the note in escrow longer while the host decides."""

    @abc.abstractmethod
    def events(self) -> AsyncIterator[AcceptorEvent]:
        """Async stream of events, oldest first. One consumer."""

    def credit_durable(self, note_id: str) -> None:
        """The core journaled the credit for `note_id` (or found it journaled already). A
        driver that withholds the device's acknowledgement of "stacked" until the credit is
        durable sends it now; the default is for drivers that need no such promise."""
        return None

    def stacked_count(self) -> int | None:
        """The device's own count of notes stacked, as far as this driver knows it now (read
        at open, advanced by each credit it reported), or None where the protocol has none.
        Journaled with each stacking so a restart can tell whether that note went in."""
        return None

    def drain_events(self) -> list[AcceptorEvent]:
        """Events already queued (e.g. a note found in the path while opening), taken without
        waiting, so recovery can attribute them before it settles open sessions."""
        return []

    def identity(self) -> dict:
        """Model, serial, firmware where the device tells them (for maintenance)."""
        return {}


# ---------------------------------------------------------------- receipt printer


@dataclass(frozen=True)
class TextLine:
    """ASCII text; the printer's own font. align: left|center|right."""

    text: str
    align: str = "left"
    bold: bool = False
    double: bool = False  # double width and height


@dataclass(frozen=True)
class ImageBlock:
    """A 1-bit picture printed as GS v 0 raster (Hindi text is printed this way).

    png: the image as PNG bytes, width <= the paper's printable dots.
    """

    png: bytes
    align: str = "center"


@dataclass(frozen=True)
class QRBlock:
    """A QR code; the driver uses native GS ( k or an image per the printer profile."""

    data: str
    size: int = 6  # module size in dots


@dataclass(frozen=True)
class Feed:
    lines: int = 1


@dataclass(frozen=True)
class PrintDocument:
    """One paper: blocks printed top to bottom, then a cut."""

    blocks: tuple[TextLine | ImageBlock | QRBlock | Feed, ...]
    name: str = "receipt"
    cut: bool = True
    meta: dict = field(default_factory=dict)


class PrintError(Exception):
    """The printer did not take the whole job (paper out, cover open, offline, no answer)."""


class ReceiptPrinter(abc.ABC):
    @abc.abstractmethod
    async def open(self) -> None:
        """Connect and query status. Raises DeviceError."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    def status(self) -> DeviceStatus:
        """Last known status, without I/O."""

    @abc.abstractmethod
    async def refresh_status(self) -> DeviceStatus:
        """Ask the printer (DLE EOT). No reply = OFFLINE "no_reply", never "paper ok"."""

    @abc.abstractmethod
    async def print_document(self, doc: PrintDocument) -> None:
        """Print the whole document or raise PrintError. Returns only after the printer
        answered a status query after the job and reported no paper-out / error."""

    @property
    @abc.abstractmethod
    def paper_width_dots(self) -> int: ...
