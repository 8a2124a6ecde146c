"""Whether the kiosk's clock may be believed for what it tells central.

Many kiosks have no clock battery: after a power cut the clock may be days off until NTP or
central sets it right, and a payment posted then would carry a wrong time. So nothing is posted
until the clock is either synchronised by the operating system (NTP via systemd-timesyncd: the
kernel's adjtimex says synchronised) or checked against central's signed Date header (the HTTP
client, terminal/central/client.py, corrects its requests by the measured skew). When neither
holds, `ensure()` asks central the time with one cheap signed call before the first posting.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Callable
from typing import Any

from terminal.central.client import CentralClient, CentralError
from terminal.logs import log_event

log = logging.getLogger("kiosk")

TIME_ERROR = 5  # adjtimex(2): the clock is not synchronised
NOT_SYNCHRONISED = "clock_not_synchronised"


def os_clock_synchronised() -> bool | None:
    """The kernel's view (what `timedatectl` shows as "System clock synchronized"); None
    where adjtimex cannot be called."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        timex = ctypes.create_string_buffer(512)  # struct timex, modes = 0: read only
        state = libc.adjtimex(timex)
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return state != TIME_ERROR


def http_client(central: Any) -> CentralClient | None:
    """The signed HTTP client behind a dialect adapter: the reference dialect keeps it as
    `.client`, the e-Mitra back-to-back one under `.reference.client`."""
    for holder in (central, getattr(central, "client", None),
                   getattr(getattr(central, "reference", None), "client", None)):
        if isinstance(holder, CentralClient):
            return holder
    return None


class ClockTrust:
    def __init__(
        self, central: Any, *, os_synchronised: Callable[[], bool | None] = os_clock_synchronised
    ) -> None:
        self.central = central
        self.client = http_client(central)
        self.os_synchronised = os_synchronised

    def checked_with_central(self) -> bool:
        return self.client is not None and self.client.time_checked_at is not None

    def problem(self) -> str | None:
        """None when the clock may be believed; else the reason (shown on /health)."""
        if self.client is None:
            return None  # a dialect without our client measures nothing: nothing to wait for
        if self.os_synchronised() or self.checked_with_central():
            return None
        return NOT_SYNCHRONISED

    async def ensure(self) -> None:
        """Before a posting: ask central the time when the clock is not yet trusted. Raises a
        retryable CentralError when central cannot tell (the posting waits and is retried)."""
        if self.problem() is None:
            return
        log_event(log, "clock not synchronised: asking central the time", logging.WARNING)
        await self.central.services()  # any signed reply carries central's Date
        if self.problem() is not None:
            raise CentralError("the clock is not synchronised and central did not tell the time",
                               retryable=True, code=NOT_SYNCHRONISED)

    def state(self) -> dict[str, Any]:
        """For /health: whether postings may go out, and why not."""
        return {
            "synchronised_by_os": self.os_synchronised(),
            "checked_with_central": self.checked_with_central(),
            "skew_s": round(self.client.skew_s, 1) if self.client is not None else None,
            "problem": self.problem(),
        }
