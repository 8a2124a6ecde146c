"""The device board: each device's last known DeviceStatus, the ONE rule for which services are
usable, and change events for whoever needs them (the kiosk reprints when the printer comes
back; anyone may subscribe).

Writers: the kiosk's flows (cash intake, completion, bill service) through `set`, the watchdog
each pass, the core when it opens a device. Readers: the snapshot, the heartbeat's health
document, liveness, maintenance diagnostics. Nothing here does I/O.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from drivers.base import DeviceState, DeviceStatus
from terminal.logs import log_event
from terminal.service_mode import CONTROL_ROOM, DEVICE, ServiceMode

log = logging.getLogger("kiosk")

USABLE = (DeviceState.ONLINE, DeviceState.BUSY)
UNKNOWN_STATUS = DeviceStatus(DeviceState.OFFLINE, ("not_connected",))

# (device name, previous status or None, new status)
DeviceListener = Callable[[str, "DeviceStatus | None", DeviceStatus], None]


def services(
    device_status: Mapping[str, DeviceStatus],
    *,
    storage_problem: str | None,
    out_of_service_command: bool,
    card_reader: bool,
) -> dict[str, Any]:
    """Which services are usable now, and why not: no printer -> no payments; no acceptor -> no
    cash; a full journal -> no cash; out of service (control room, maintenance) -> nothing."""
    acc = device_status["acceptor"].state
    prn = device_status["printer"]
    printer_ok = prn.state in USABLE and "paper_out" not in prn.detail
    acceptor_ok = acc in USABLE
    reasons = []
    if not acceptor_ok:
        reasons.append("acceptor_unavailable")
    if not printer_ok:
        reasons.append(
            "printer_out_of_paper" if "paper_out" in prn.detail else "printer_unavailable"
        )
    storage_ok = storage_problem is None
    if not storage_ok:
        reasons.append(storage_problem)
    cash = acceptor_ok and printer_ok and storage_ok and not out_of_service_command
    if out_of_service_command:
        reasons.append("out_of_service_by_control_room")
    card_status = device_status.get("card")
    card = (
        card_reader
        and card_status is not None
        and card_status.state in USABLE
        and printer_ok
        and not out_of_service_command
    )
    return {
        "cash_payment": cash,
        "card_payment": card,
        "lookup": not out_of_service_command,
        "out_of_service": not cash and out_of_service_command,
        "reasons": reasons,
    }


class DeviceBoard:
    """name -> DeviceStatus, with change events and the services rule."""

    def __init__(
        self,
        service_mode: ServiceMode | None = None,
        *,
        storage_problem: Callable[[], str | None] = lambda: None,
        card_reader: Callable[[], bool] = lambda: False,
        devices: tuple[str, ...] = ("acceptor", "printer"),
    ) -> None:
        self.service_mode = service_mode if service_mode is not None else ServiceMode()
        self._storage_problem = storage_problem
        self._card_reader = card_reader
        # The mapping itself: kiosk.device_status is this dict (old callers write into it).
        self.status: dict[str, DeviceStatus] = dict.fromkeys(devices, UNKNOWN_STATUS)
        self._listeners: list[DeviceListener] = []

    # ---------------------------------------------------------------- reading

    def get(self, name: str) -> DeviceStatus | None:
        return self.status.get(name)

    def items(self) -> Iterator[tuple[str, DeviceStatus]]:
        """(name, status) sorted by name, a copy (safe while devices change)."""
        return iter(sorted(self.status.items()))

    def copy(self) -> dict[str, DeviceStatus]:
        return dict(self.status)

    def services(self) -> dict[str, Any]:
        """The one rule: what the kiosk can offer now, and the reasons for what it cannot."""
        return services(
            self.status,
            storage_problem=self._storage_problem(),
            out_of_service_command=self.service_mode.commanded,
            card_reader=self._card_reader(),
        )

    def devices_block_payments(self) -> bool:
        """No payment can be taken because of the devices alone: no usable printer, or neither
        notes nor cards can be taken."""
        usable = services(self.status, storage_problem=None, out_of_service_command=False,
                          card_reader=self._card_reader())
        return not usable["cash_payment"] and not usable["card_payment"]

    def _update_device_reason(self) -> None:
        self.service_mode.set(DEVICE, self.devices_block_payments())

    # ---------------------------------------------------------------- writing

    def set(self, name: str, status: DeviceStatus) -> bool:
        """Record a device's status; log it and tell subscribers when it changed."""
        previous = self.status.get(name)
        if previous == status:
            return False
        self.status[name] = status
        log_event(log, "device status", device=name, **status.to_dict())
        self._update_device_reason()
        for listener in list(self._listeners):
            try:
                listener(name, previous, status)
            except Exception:
                log.exception("device listener failed")
        return True

    def seed(self, name: str, status: DeviceStatus) -> None:
        """The status read when a device is opened: recorded without a change event."""
        self.status[name] = status
        self._update_device_reason()

    def subscribe(self, listener: DeviceListener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: DeviceListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)


class BoardFields:
    """The kiosk's old names, delegating to its board and service mode (like LiveFields)."""

    board: DeviceBoard
    service_mode: ServiceMode

    @property
    def device_status(self) -> dict[str, DeviceStatus]:
        """The board's statuses (name -> DeviceStatus); write through board.set."""
        return self.board.status

    @property
    def out_of_service_command(self) -> bool:
        """Out of service by command: the control room or an engineer (service_mode.reasons
        has every reason, the devices' too)."""
        return self.service_mode.commanded

    @out_of_service_command.setter
    def out_of_service_command(self, value: bool) -> None:
        self.service_mode.set(CONTROL_ROOM, bool(value))  # the old flag: the control room's

    def services(self) -> dict[str, Any]:
        return self.board.services()

    def _set_device(self, name: str, status: DeviceStatus) -> None:
        self.board.set(name, status)  # the old name; the board logs and notifies
