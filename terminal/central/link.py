"""Central as one destination: up, or down with one probe at a time on an exponential clock.

Backoff belongs to the destination, not to each queued entry: with 10,000 payments queued and
central down, the kiosk sends one request per probe interval, not 10,000, and logs the outage
once when it starts and once when it ends.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from terminal.logs import log_event

log = logging.getLogger("outbox")


class Link:
    def __init__(
        self, initial_s: float, ceiling_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.initial = initial_s
        self.ceiling = ceiling_s
        self.clock = clock
        self.down_since: float | None = None
        self.delay = 0.0
        self.next_try = 0.0
        self.probing = False
        self.failed_probes = 0
        self.outages = 0
        self.confirmed = False  # central answered the last request (not yet known at start)

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def wait_s(self) -> float:
        """Seconds until the next probe is due (0 when up or due now)."""
        return 0.0 if not self.down else max(0.0, self.next_try - self.clock())

    def may_probe(self, *, live: bool = False) -> bool:
        """While down: one probe at a time, and (unless a citizen is waiting) only when due."""
        if not self.down:
            return True
        return not self.probing and (live or self.clock() >= self.next_try)

    def failed(
        self, error: str, pending: int, retry_after: float | None = None, *, probe: bool = True
    ) -> None:
        """A request got no authenticated answer. Only a failed probe doubles the delay (the
        drain's other requests in flight when central went down say nothing new)."""
        now = self.clock()
        self.confirmed = False
        if self.down_since is None:
            self.down_since = now
            self.delay = self.initial
            self.failed_probes = 0
            self.outages += 1
            log_event(
                log, "central unreachable, holding the outbox", logging.WARNING,
                pending=pending, error=error,
            )
        elif probe:
            self.delay = min(self.ceiling, self.delay * 2)
            self.failed_probes += 1
        else:
            return
        wait = max(self.delay, min(self.ceiling, retry_after or 0.0))
        self.next_try = now + wait

    def answered(self, pending: int) -> None:
        """Central answered (anything authenticated): the outage, if any, is over."""
        self.confirmed = True
        if self.down_since is None:
            return
        log_event(
            log, "central reachable again, draining the outbox",
            outage_s=round(self.clock() - self.down_since, 1),
            failed_probes=self.failed_probes, pending=pending,
        )
        self.down_since = None
        self.delay = 0.0
        self.next_try = 0.0

    def reset(self) -> None:
        """Probe now (an engineer pressed send, or the network came back)."""
        self.next_try = 0.0
