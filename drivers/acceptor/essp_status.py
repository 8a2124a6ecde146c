"""eSSP poll events and reject codes -> the shared status vocabulary, as data.

One table for poll events (code, manual name, data bytes, what it does to the device's
condition) and one for LAST REJECT CODE values. A reviewer checks each line against the ITL
manual; a new code is one line.

Conditions are detail words. How an event sets or clears one (`effect`):

* ``LEVEL``  the device repeats the event on every poll while the condition lasts; a poll reply
  without it clears the condition (disabled, jams, stacker full, note path open, initialising).
* ``SET`` / ``CLEAR``  a one-shot event that sets / clears a condition (cashbox removed/replaced).
* ``PULSE``  a one-shot condition that lasts until the next poll reply (fraud attempt).
* ``NOTE``  a note event: no change in condition.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from drivers.base import DeviceState, DeviceStatus


class Effect(enum.Enum):
    NOTE = "note"
    LEVEL = "level"
    SET = "set"
    CLEAR = "clear"
    PULSE = "pulse"


@dataclass(frozen=True)
class EventInfo:
    code: int
    name: str  # the manual's name, for logs
    data_len: int  # data bytes after the event code
    effect: Effect = Effect.NOTE
    detail: str = ""  # the condition word this event sets / clears


# fmt: off
_EVENTS = (
    EventInfo(0xF1, "slave reset", 0),
    EventInfo(0xEF, "read note (channel 0 = reading, >0 = in escrow)", 1),
    EventInfo(0xEE, "note credit", 1),
    EventInfo(0xED, "note rejecting", 0),
    EventInfo(0xEC, "note rejected", 0),
    EventInfo(0xCC, "note stacking", 0),
    EventInfo(0xEB, "note stacked", 0),
    EventInfo(0xEA, "safe note jam", 0, Effect.LEVEL, "jam_safe"),
    EventInfo(0xE9, "unsafe note jam", 0, Effect.LEVEL, "jam_unsafe"),
    EventInfo(0xE8, "disabled", 0, Effect.LEVEL, "disabled"),
    EventInfo(0xE7, "stacker full", 0, Effect.LEVEL, "stacker_full"),
    EventInfo(0xE6, "fraud attempt", 1, Effect.PULSE, "fraud"),
    EventInfo(0xE1, "note cleared from front at reset", 1),
    EventInfo(0xE2, "note cleared into cashbox at reset", 1),
    EventInfo(0xE3, "cashbox removed", 0, Effect.SET, "cashbox_removed"),
    EventInfo(0xE4, "cashbox replaced", 0, Effect.CLEAR, "cashbox_removed"),
    EventInfo(0xE0, "note path open", 0, Effect.LEVEL, "note_path_open"),
    EventInfo(0xB5, "all channels inhibited", 0, Effect.LEVEL, "all_inhibited"),
    EventInfo(0xB6, "device initialising", 0, Effect.LEVEL, "initialising"),
    EventInfo(0xE5, "barcode ticket validated", 0),
    EventInfo(0xD1, "barcode ticket acknowledge", 0),
)
# fmt: on
EVENTS: dict[int, EventInfo] = {info.code: info for info in _EVENTS}

# Which condition words put the device in which state, most serious first. The first state with
# a condition present wins; the status's detail lists every condition present.
_STATE_ORDER: tuple[tuple[DeviceState, frozenset[str]], ...] = (
    (DeviceState.HWERROR, frozenset({"jam_unsafe", "jam_safe"})),
    (DeviceState.USER_ERROR, frozenset({"stacker_full", "cashbox_removed", "note_path_open"})),
    (DeviceState.FRAUD, frozenset({"fraud"})),
    (DeviceState.BUSY, frozenset({"initialising"})),
)
# Generic "jam" is added next to the specific jam word so that consumers can test one word.
_EXTRA_DETAIL = {"jam_safe": "jam", "jam_unsafe": "jam"}

# LAST REJECT CODE (0x17) value -> drivers.base.REJECT_REASONS word.
REJECT_CODES: dict[int, tuple[str, str]] = {
    0x00: ("note accepted", "unknown"),
    0x01: ("note length incorrect", "length"),
    0x02: ("invalid note (average fail)", "not_recognised"),
    0x03: ("invalid note (coastline fail)", "not_recognised"),
    0x04: ("invalid note (graph fail)", "not_recognised"),
    0x05: ("invalid note (buried fail)", "not_recognised"),
    0x06: ("channel inhibited", "inhibited"),
    0x07: ("second note inserted", "multiple_notes"),
    0x08: ("rejected by host", "operation"),
    0x09: ("note recognised in more than one channel", "not_recognised"),
    0x0A: ("invalid note read", "not_recognised"),
    0x0B: ("note too long", "length"),
    0x0C: ("validator disabled", "inhibited"),
    0x0D: ("mechanism slow / stalled", "conveying"),
    0x0E: ("strimming attempt", "fraud"),
    0x0F: ("fraud channel reject", "fraud"),
    0x10: ("no notes inserted", "insertion"),
    0x11: ("peak detect fail", "not_recognised"),
    0x12: ("twisted note detected", "insertion"),
    0x13: ("escrow time-out", "operation"),
    0x14: ("bar code scan fail", "barcode"),
    0x15: ("no cam activate", "conveying"),
    0x16: ("slot fail 1", "not_recognised"),
    0x17: ("slot fail 2", "not_recognised"),
    0x18: ("lens oversample", "not_recognised"),
    0x19: ("width detection fail", "length"),
    0x1A: ("short note detected", "length"),
    0x1B: ("payout note", "operation"),
    0x1C: ("double note detected", "multiple_notes"),
    0x1D: ("unable to stack", "conveying"),
}


def reject_reason(code: int | None) -> str:
    """The device-neutral word for a LAST REJECT CODE value (None: could not be read)."""
    if code is None:
        return "unknown"
    return REJECT_CODES.get(code, ("", "unknown"))[1]


def event_name(code: int) -> str:
    info = EVENTS.get(code)
    return info.name if info else f"unknown event 0x{code:02x}"


def update_conditions(conditions: set[str], codes: list[int]) -> set[str]:
    """The conditions after a poll reply that carried these event codes (oldest first)."""
    out = {
        word
        for word in conditions
        if not any(
            info.detail == word and info.effect in (Effect.LEVEL, Effect.PULSE) for info in _EVENTS
        )
    }
    for code in codes:
        info = EVENTS.get(code)
        if info is None or info.effect is Effect.NOTE:
            continue
        if info.effect is Effect.CLEAR:
            out.discard(info.detail)
        else:
            out.add(info.detail)
    return out


def status_from_conditions(conditions: set[str] | frozenset[str]) -> DeviceStatus:
    """The shared DeviceStatus for a set of condition words."""
    detail = set(conditions)
    for word in conditions:
        if word in _EXTRA_DETAIL:
            detail.add(_EXTRA_DETAIL[word])
    ordered = tuple(sorted(detail))
    for state, words in _STATE_ORDER:
        present = sorted(words & detail)
        if present:
            return DeviceStatus(state, ordered, ", ".join(w.replace("_", " ") for w in present))
    return DeviceStatus(DeviceState.ONLINE, ordered, "")
