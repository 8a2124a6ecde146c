"""The systemd watchdog pinger: WATCHDOG=1 only while the core is really alive.

systemd (WatchdogSec= in emitra-kiosk.service) restarts the core when the pings stop. A ping
therefore has to prove two things:

(a) the asyncio loop is responsive: the pinger is a coroutine on the loop itself (never a thread:
    a thread would keep pinging for a hung loop), and it measures how late each of its own
    wake-ups was. A loop that was blocked longer than `max_lag_s` since the last ping gets no
    ping at the next opportunity;
(b) the device supervisor is alive: the watchdog calls `liveness.beat()` on every supervision
    pass; a beat older than `supervisor_max_age_s` withholds the ping.

Each ping also carries a one-line STATUS= summary (shown by `systemctl status`). When a ping is
withheld, STATUS= says why, so the last words before a restart are in the journal.

Also here: `request_exit(core, code)`, the one way maintenance ("restart") and central
("reboot_at_idle") end the process with a distinct exit code for systemd to restart it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
import weakref
from collections.abc import Callable
from typing import Any

from terminal.core_view import CoreView
from terminal.logs import log_event
from terminal.systemd import notify

log = logging.getLogger("liveness")

DEFAULT_PING_INTERVAL_S = 10.0  # when not started by systemd with WatchdogSec=
EXIT_RESTART_REQUESTED = 75  # an engineer pressed "restart" (EX_TEMPFAIL)
EXIT_REBOOT_AT_IDLE = 76  # central's reboot_at_idle command, applied when idle

_last_beat: float | None = None
_exit_codes: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()


def beat() -> None:
    """Called by the device supervisor on every pass: "I am alive"."""
    global _last_beat
    _last_beat = time.monotonic()


def last_beat() -> float | None:
    return _last_beat


def watchdog_interval(environ: dict[str, str] | None = None) -> float:
    """Seconds between pings: half of systemd's WatchdogSec ($WATCHDOG_USEC), else 10 s.

    As sd_watchdog_enabled(3): ignored when $WATCHDOG_PID names another process.
    """
    env = os.environ if environ is None else environ
    pid = env.get("WATCHDOG_PID")
    if pid and pid.strip() != str(os.getpid()):
        return DEFAULT_PING_INTERVAL_S
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return DEFAULT_PING_INTERVAL_S
    return usec / 2e6 if usec > 0 else DEFAULT_PING_INTERVAL_S


def status_line(core: CoreView) -> str:
    """One line for STATUS=: service mode and its reasons, screen, devices."""
    kiosk = core.kiosk
    s = kiosk.session
    screen = s.state.value if s is not None else "IDLE"
    devices = ", ".join(
        f"{name} {st.state.value}{'/' + '+'.join(st.detail) if st.detail else ''}"
        for name, st in kiosk.board.items()
    )
    reasons = kiosk.service_mode.reasons
    if reasons:
        mode = f"out of service ({', '.join(reasons)})"
    else:
        mode = "in service" if kiosk.board.services()["cash_payment"] else "cash payment closed"
    return f"{mode}; screen {screen}; {devices}"


class Liveness:
    """Pings systemd from the loop while the loop and the supervisor are alive."""

    def __init__(
        self,
        core: CoreView | None = None,
        *,
        interval_s: float | None = None,
        max_lag_s: float | None = None,
        supervisor_max_age_s: float | None = None,
        supervised: bool = True,
        status: Callable[[], str] | None = None,
        send: Callable[..., bool] = notify,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = interval_s if interval_s is not None else watchdog_interval()
        # A probe several times per ping interval, so a stall is seen wherever it falls.
        self.tick = min(1.0, self.interval / 4)
        self.max_lag = max_lag_s if max_lag_s is not None else min(2.0, self.interval / 2)
        self.supervisor_max_age = (
            supervisor_max_age_s if supervisor_max_age_s is not None else 2 * self.interval
        )
        self.supervised = supervised
        self.core = core
        self._status = status
        self._send = send
        self.clock = clock
        self.started_at = clock()
        # A beat from before this Liveness is an earlier core's in the same process (tests,
        # benches): until the supervisor beats again, the grace period from our start applies.
        self._earlier_beat = _last_beat
        self.pings = 0
        self.withheld = 0
        self.worst_lag = 0.0  # since the last ping decision
        self.last_ping: float | None = None
        self.last_reason = ""
        self._task: asyncio.Task | None = None

    # ---------------------------------------------------------------- the checks

    def supervisor_fresh(self) -> bool:
        if not self.supervised:
            return True
        beat_at = self._own_beat()
        if beat_at is None:  # not yet: the supervisor gets a grace period from our start
            return self.clock() - self.started_at <= self.supervisor_max_age
        return self.clock() - beat_at <= self.supervisor_max_age

    def _own_beat(self) -> float | None:
        return None if _last_beat == self._earlier_beat else _last_beat

    def healthy(self) -> tuple[bool, str]:
        if self.worst_lag > self.max_lag:
            return False, f"event loop blocked {self.worst_lag:.1f}s"
        if not self.supervisor_fresh():
            beat_at = self._own_beat()
            age = self.clock() - (beat_at if beat_at is not None else self.started_at)
            return False, f"device supervisor silent {age:.0f}s"
        return True, ""

    def summary(self) -> str:
        try:
            if self._status is not None:
                return self._status()
            if self.core is not None:
                return status_line(self.core)
        except Exception as exc:  # the summary must never stop the pings
            return f"status unavailable: {exc}"
        return "running"

    # ---------------------------------------------------------------- the loop

    def decide(self) -> bool:
        """One ping decision (called every interval): ping, or withhold and say why."""
        ok, reason = self.healthy()
        self.worst_lag = 0.0
        if ok:
            self._send("WATCHDOG=1", f"STATUS={self.summary()}")
            self.pings += 1
            self.last_ping = self.clock()
            if self.last_reason:
                log_event(log, "watchdog pings resumed")
            self.last_reason = ""
            return True
        self.withheld += 1
        self._send(f"STATUS=NOT HEALTHY: {reason}; {self.summary()}")
        if reason != self.last_reason:
            log_event(log, "watchdog ping withheld", logging.ERROR, reason=reason)
        self.last_reason = reason
        return False

    async def run(self) -> None:
        next_ping = self.clock()  # the first ping at once: start-up is a sign of life
        expected = self.clock()
        while True:
            now = self.clock()
            self.worst_lag = max(self.worst_lag, now - expected)
            if now >= next_ping:
                # After a withheld ping, try again at the next tick, not a whole interval later.
                next_ping = now + (self.interval if self.decide() else self.tick)
            delay = max(0.0, min(self.tick, next_ping - now))
            expected = self.clock() + delay
            await asyncio.sleep(delay)

    def start(self) -> Liveness:
        self.started_at = self.clock()
        self._task = asyncio.create_task(self.run(), name="watchdog-pinger")
        return self

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None


def start_liveness(core: CoreView, *, supervised: bool = True, **options: Any) -> Liveness:
    """Start pinging systemd. supervised=False until the device supervisor calls beat()."""
    live = Liveness(core, supervised=supervised, **options).start()
    log_event(
        log,
        "watchdog pinger started",
        interval_s=live.interval,
        max_lag_s=live.max_lag,
        supervised=supervised,
    )
    return live


# -------------------------------------------------------------------- exiting for a restart


def request_exit(core: CoreView, code: int, reason: str) -> bool:
    """Ask the core process to stop with `code` (systemd's Restart=always starts it again).

    Uses core.request_exit(code) when the core has it; otherwise raises SIGTERM, which
    run_core turns into a clean stop. Returns False (and does nothing) when no SIGTERM handler
    is installed — e.g. a core embedded in a test process, which must not be killed.
    """
    _exit_codes[core] = code
    log_event(log, "exit requested", logging.WARNING, code=code, reason=reason)
    hook = getattr(core, "request_exit", None)
    if callable(hook):
        hook(code)
        return True
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, signal.SIG_IGN, None):
        log_event(log, "no SIGTERM handler: exit request not delivered", logging.ERROR)
        return False
    signal.raise_signal(signal.SIGTERM)
    return True


def exit_code(core: CoreView, default: int = 0) -> int:
    """The exit code run_core should return (a requested restart's, else `default`)."""
    return _exit_codes.get(core, default)
