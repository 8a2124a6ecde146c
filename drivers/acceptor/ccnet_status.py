"""CCNET poll states, reject reasons and failure sub-codes -> the shared status vocabulary.

One table per kind of code, so a reviewer can check each line against the CCNET manual and a
new code is one line. `status` None means the state is a note event (escrow position aside),
not a change in the device's condition: the last status stands.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.base import DeviceState, DeviceStatus

ONLINE = DeviceState.ONLINE
BUSY = DeviceState.BUSY
HWERROR = DeviceState.HWERROR
USER_ERROR = DeviceState.USER_ERROR
FRAUD = DeviceState.FRAUD


@dataclass(frozen=True)
class PollStateInfo:
    code: int
    name: str  # the manual's name, for logs
    state: DeviceState | None  # None: a note event, the device's status does not change
    detail: tuple[str, ...] = ()
    has_data: bool = False  # one data byte follows the state code


_STATES = (
    PollStateInfo(0x10, "power up", BUSY, ("power_up",)),
    PollStateInfo(
        0x11, "power up with bill in validator", BUSY, ("power_up", "power_up_note_in_validator")
    ),
    PollStateInfo(
        0x12, "power up with bill in stacker", BUSY, ("power_up", "power_up_note_in_stacker")
    ),
    PollStateInfo(0x13, "initialize", BUSY, ("initialising",)),
    PollStateInfo(0x14, "idling", ONLINE, ("idling",)),
    PollStateInfo(0x15, "accepting", BUSY, ("accepting",)),
    PollStateInfo(0x17, "stacking", BUSY, ("stacking",)),
    PollStateInfo(0x18, "returning", BUSY, ("returning",)),
    PollStateInfo(0x19, "unit disabled", ONLINE, ("disabled",)),
    PollStateInfo(0x1A, "holding", BUSY, ("escrow", "holding")),
    PollStateInfo(0x1B, "device busy", BUSY, ("busy",), has_data=True),
    PollStateInfo(0x1C, "rejecting", BUSY, ("rejecting",), has_data=True),
    PollStateInfo(0x41, "drop cassette full", HWERROR, ("stacker_full",)),
    PollStateInfo(0x42, "drop cassette out of position", USER_ERROR, ("cassette_removed",)),
    PollStateInfo(0x43, "validator jammed", HWERROR, ("jam", "jam_validator")),
    PollStateInfo(0x44, "drop cassette jammed", HWERROR, ("jam", "jam_cassette")),
    PollStateInfo(0x45, "cheated", FRAUD, ("cheated",)),
    PollStateInfo(0x46, "pause", USER_ERROR, ("paused",)),
    PollStateInfo(0x47, "failure", HWERROR, ("failure",), has_data=True),
    PollStateInfo(0x80, "escrow position", BUSY, ("escrow",), has_data=True),
    PollStateInfo(0x81, "bill stacked", None, (), has_data=True),
    PollStateInfo(0x82, "bill returned", None, (), has_data=True),
)
POLL_STATES: dict[int, PollStateInfo] = {info.code: info for info in _STATES}

# Power-up states that say where a note was left when the power went.
# "none": powered up with nothing in the path (a note whose "stacked" report died with the
# power may still be in the cassette: the core decides from its journal).
POWER_UP_NOTE = {0x10: "none", 0x11: "validator", 0x12: "stacker"}
POWER_UP_STATES = frozenset((0x10, 0x11, 0x12))

# Reject reason (data byte of 0x1C) -> drivers.base.REJECT_REASONS word.
REJECT_REASON_CODES: dict[int, str] = {
    0x60: "insertion",
    0x61: "not_recognised",  # magnetic
    0x62: "remained_in_head",
    0x63: "multiple_notes",  # multiplying
    0x64: "conveying",
    0x65: "not_recognised",  # identification
    0x66: "not_recognised",  # verification
    0x67: "not_recognised",  # optic
    0x68: "inhibited",
    0x69: "not_recognised",  # capacitance
    0x6A: "operation",
    0x6C: "length",
    0x6D: "not_recognised",  # UV
    0x92: "barcode",  # unrecognised barcode
    0x93: "barcode",  # wrong number of characters
    0x94: "barcode",  # unknown start sequence
    0x95: "barcode",  # unknown stop sequence
}

# Failure sub-code (data byte of 0x47) -> detail word after "failure:".
FAILURE_CODES: dict[int, str] = {
    0x50: "stack_motor",
    0x51: "transport_motor_speed",
    0x52: "transport_motor",
    0x53: "aligning_motor",
    0x54: "initial_cassette_status",
    0x55: "optic_canal",
    0x56: "magnetic_canal",
    0x5F: "capacitance_canal",
    # One source numbers the last three canals 0x65/0x66/0x67; accept both.
    0x65: "optic_canal",
    0x66: "magnetic_canal",
    0x67: "capacitance_canal",
}


def reject_reason(code: int) -> str:
    """The device-neutral word for a CCNET reject reason code."""
    return REJECT_REASON_CODES.get(code, "unknown")


def failure_detail(code: int) -> str:
    return "failure:" + FAILURE_CODES.get(code, f"0x{code:02x}")


def state_name(code: int) -> str:
    info = POLL_STATES.get(code)
    return info.name if info else f"unknown state 0x{code:02x}"


def status_for(code: int, data: bytes = b"") -> DeviceStatus | None:
    """DeviceStatus for a poll reply (state code + data), or None for a pure note event."""
    info = POLL_STATES.get(code)
    if info is None:
        return DeviceStatus(HWERROR, ("unknown_state",), f"unknown CCNET state 0x{code:02x}")
    if info.state is None:
        return None
    detail = info.detail
    message = info.name
    if code == 0x47:
        sub = data[0] if data else 0
        detail = detail + (failure_detail(sub),)
        message = f"failure {FAILURE_CODES.get(sub, hex(sub)).replace('_', ' ')}"
    elif code == 0x1C and data:
        detail = detail + (reject_reason(data[0]),)
    return DeviceStatus(info.state, detail, message)
