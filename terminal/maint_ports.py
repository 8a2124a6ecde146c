"""What maintenance needs of the core, as Protocols: the facade and its areas are given a
`MaintenanceCore`, not an `Any`. terminal/core.Core provides it (config, journal, devices,
central, the kiosk); tests may hand in anything of this shape."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

from drivers.base import BanknoteAcceptor, DeviceStatus, ReceiptPrinter
from terminal.journal import Journal
from terminal.service_mode import ServiceMode


class OutboxPort(Protocol):
    last_error: str | None

    def pending(self) -> Sequence[Any]: ...  # folded sessions not yet confirmed by central

    def kick(self) -> None: ...


class BoardPort(Protocol):
    """terminal/device_board.DeviceBoard, read-only."""

    @property
    def status(self) -> Mapping[str, DeviceStatus]: ...

    def get(self, name: str) -> DeviceStatus | None: ...


class KioskPort(Protocol):
    # Maintenance takes the kiosk out of service (reason "maintenance") while an engineer is in.
    service_mode: ServiceMode
    board: BoardPort

    @property
    def session(self) -> object | None: ...  # the citizen's session, None between citizens

    @property
    def outbox(self) -> OutboxPort: ...

    def add_listener(self, listener: Callable[[dict], None]) -> None: ...

    def remove_listener(self, listener: Callable[[dict], None]) -> None: ...

    def changed(self) -> None: ...  # push a fresh snapshot

    # A handler returning True claims an acceptor event (the test note); returns unsubscribe.
    def subscribe_acceptor(
        self, handler: Callable[[object], Awaitable[bool]]
    ) -> Callable[[], None]: ...


class CentralPort(Protocol):
    async def services(self) -> Sequence[Any]: ...  # the network test's signed call


class MaintenanceCore(Protocol):
    config: dict[str, Any]
    journal: Journal
    acceptor: BanknoteAcceptor | None
    printer: ReceiptPrinter | None

    @property
    def kiosk(self) -> KioskPort: ...

    @property
    def central(self) -> CentralPort: ...
