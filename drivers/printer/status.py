"""ESC/POS real-time status (DLE EOT n) -> the shared status vocabulary. No I/O here.

The host sends `10 04 n`; the printer answers one byte, even when offline or its buffer is full.
Every valid reply has bit 1 and bit 4 set and bits 0 and 7 clear (`0xx1xx10`).

  n=1 printer status      bit 3: offline; bit 5: waiting for online recovery;
                          bit 6: paper feed button pressed (bit 2: drawer kick-out connector pin 3)
  n=2 offline cause       bit 2: cover open; bit 3: paper fed by the feed button;
                          bit 5: printing stopped by paper end; bit 6: an error occurred
  n=3 error cause         bit 2: recoverable error; bit 3: autocutter error;
                          bit 5: unrecoverable error; bit 6: automatically recoverable error
  n=4 roll paper sensor   bits 2+3: paper near end; bits 5+6: paper end (out)

A request that got no reply is None: that is "unknown", reported as OFFLINE "no_reply" — never
"paper ok" (python-escpos's paper_status() says "adequate" when nothing came back).
"""

from __future__ import annotations

from drivers.base import DeviceState, DeviceStatus

DLE_EOT = b"\x10\x04"

# The status requests a full check sends, in order (n=3 only when n=2 reports an error).
QUERY_ORDER = (1, 2, 4)
ERROR_CAUSE = 3


def request(n: int) -> bytes:
    """The bytes asking for status n (1..4)."""
    if n not in (1, 2, 3, 4):
        raise ValueError(f"DLE EOT n must be 1..4, got {n}")
    return DLE_EOT + bytes((n,))


def is_status_byte(value: int) -> bool:
    """True for a byte shaped like a DLE EOT reply (fixed bits 1 and 4 set, 0 and 7 clear)."""
    return value & 0x93 == 0x12


# ONE table: (request n, bit mask) -> (detail word, device state it implies). A row matches
# when any of its mask bits is set (a sensor pair reporting on one bit still counts).
# Precedence when several are set: the first row's state wins (rows are ordered by severity).
STATUS_BITS: tuple[tuple[int, int, str, DeviceState], ...] = (
    (3, 0x20, "unrecoverable_error", DeviceState.HWERROR),
    (3, 0x08, "autocutter_error", DeviceState.HWERROR),
    (3, 0x04, "mechanical_error", DeviceState.HWERROR),
    (2, 0x40, "error", DeviceState.HWERROR),  # cause unknown (no n=3 reply) -> hardware
    (2, 0x04, "cover_open", DeviceState.USER_ERROR),
    (4, 0x60, "paper_out", DeviceState.USER_ERROR),
    (2, 0x20, "paper_out", DeviceState.USER_ERROR),
    (3, 0x40, "auto_recoverable_error", DeviceState.OFFLINE),  # e.g. head too hot: waits
    (1, 0x08, "offline", DeviceState.OFFLINE),
    (1, 0x20, "waiting_recovery", DeviceState.OFFLINE),
    (2, 0x08, "paper_feeding", DeviceState.BUSY),
    (1, 0x40, "feed_button", DeviceState.BUSY),
    (4, 0x0C, "paper_near_end", DeviceState.ONLINE),
)

# Details that make printing impossible (print_document refuses / fails on them).
BLOCKING = frozenset(
    {
        "no_reply",
        "bad_reply",
        "offline",
        "cover_open",
        "paper_out",
        "error",
        "unrecoverable_error",
        "autocutter_error",
        "mechanical_error",
        "auto_recoverable_error",
    }
)

_MESSAGES = {
    "no_reply": "printer did not answer the status request",
    "bad_reply": "printer answered with a byte that is not a status reply",
    "cover_open": "printer cover is open",
    "paper_out": "printer is out of paper",
    "offline": "printer is offline",
    "error": "printer reports an error",
    "paper_near_end": "paper roll is nearly used up",
}


def parse_status(replies: dict[int, int | None]) -> DeviceStatus:
    """Fold the replies to DLE EOT 1/2/4 (and 3 if asked) into one DeviceStatus.

    replies maps n -> reply byte, or None when that request got no reply.
    """
    asked = [n for n in QUERY_ORDER if n in replies] or list(replies)
    if not asked or any(replies.get(n) is None for n in asked):
        return DeviceStatus(DeviceState.OFFLINE, ("no_reply",), _MESSAGES["no_reply"])
    if not all(is_status_byte(replies[n]) for n in replies if replies[n] is not None):
        return DeviceStatus(DeviceState.OFFLINE, ("bad_reply",), _MESSAGES["bad_reply"])
    details: list[str] = []
    state: DeviceState | None = None
    cause = replies.get(ERROR_CAUSE)
    explained = cause is not None and bool(cause & 0x6C)  # n=3 named the error
    for n, mask, word, implied in STATUS_BITS:
        value = replies.get(n)
        if value is None or not value & mask:
            continue
        if word == "error" and explained:
            continue
        if word not in details:
            details.append(word)
        if state is None and implied is not DeviceState.ONLINE:
            state = implied
    if state is None:
        state = DeviceState.ONLINE
    if "paper_out" in details and "paper_near_end" in details:
        details.remove("paper_near_end")  # an empty roll also trips the near-end sensor
    message = "; ".join(_MESSAGES[w] for w in details if w in _MESSAGES)
    return DeviceStatus(state, tuple(details), message)


def blocks_printing(status: DeviceStatus) -> bool:
    """True when a job cannot (or did not) print completely in this state."""
    if BLOCKING & set(status.detail):
        return True
    return status.state in (DeviceState.OFFLINE, DeviceState.HWERROR, DeviceState.USER_ERROR)


def needs_error_cause(replies: dict[int, int | None]) -> bool:
    """Ask DLE EOT 3 too when the offline cause says an error occurred."""
    value = replies.get(2)
    return value is not None and is_status_byte(value) and bool(value & 0x40)
