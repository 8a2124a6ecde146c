"""What the fleet-facing services read of the running core, as a Protocol.

The health document (/health), /metrics, the heartbeat pusher, the control-room commands and
systemd liveness are given the core as a `CoreView`, not as `Any`: this is the whole of what
they may use. terminal/core.py's `Core` satisfies it; tests may pass anything that does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from terminal.maint_ports import MaintenanceCore

if TYPE_CHECKING:  # the kiosk imports the flows; the fleet services only read it
    from terminal.clock_trust import ClockTrust
    from terminal.kiosk import Kiosk


class CentralView(Protocol):
    """The dialect adapter (terminal/central/), as far as the fleet services use it."""

    @property
    def last_success(self) -> float | None: ...  # time.time() of central's last good answer

    async def heartbeat(self, report: dict[str, Any]) -> list[dict[str, Any]]: ...

    async def services(self) -> Any: ...  # the network test's signed call


class CoreView(MaintenanceCore, Protocol):
    started_monotonic: float
    clock_trust: ClockTrust  # may postings go out (/health says why not)

    @property
    def kiosk(self) -> Kiosk: ...

    @property
    def central(self) -> CentralView: ...


__all__ = ["CentralView", "CoreView"]
