"""Accessibility mode: a citizen who reads slowly or sees poorly asks for it with one button on the
attract or home screen; the screens draw large text in high contrast and the core gives every
timed step of the session (number entry, bill, paying, "more time?", card insert, PIN) `[ui]
accessibility_timeout_factor` times as long. It lasts for the session: when the session ends the
mode goes back to the site's default (`[ui] accessibility`).

The timeouts are scaled where they are read, through `ScaledTimeouts` (a read-only view of a
config section), so the flows keep reading `payment["cash_idle_timeout_s"]` as before."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from terminal.api_messages import ACCESSIBILITY
from terminal.live_session import IntentError, LiveSession

MIN_FACTOR, MAX_FACTOR = 1.0, 5.0


class Accessibility:
    """The mode of the citizen in front of the kiosk now, and the factor it puts on timeouts."""

    def __init__(self, live: LiveSession, default_on: bool = False, factor: float = 2.0) -> None:
        self.live = live
        self.default_on = bool(default_on)
        self.factor = min(MAX_FACTOR, max(MIN_FACTOR, float(factor)))
        self.on = self.default_on
        self._session_seen: str | None = None

    @classmethod
    def for_live(cls, live: LiveSession, config: dict[str, Any]) -> Accessibility:
        """The kiosk's mode from [ui]; the live session's step timeouts are read through it."""
        ui = config.get("ui") or {}
        mode = cls(live, ui.get("accessibility", False),
                   ui.get("accessibility_timeout_factor", 2.0))
        live.payment = ScaledTimeouts(config["payment"], mode)
        return mode

    def timeout_factor(self) -> float:
        return self.factor if self.on else 1.0

    def view(self) -> dict[str, Any]:
        """The state's `accessibility` object (docs/session-api.md)."""
        return {"on": self.on, "default": self.default_on, "timeout_factor": self.timeout_factor()}

    def intents(self) -> dict[str, Any]:
        return {ACCESSIBILITY: self._intent}

    async def _intent(self, args: dict) -> None:
        on = args.get("on")
        if type(on) is not bool or set(args) - {"on"}:
            raise IntentError("bad_request", 'accessibility takes {"on": true | false} only')
        self.on = on
        self.live.touch()  # the running step's deadline at the new pace

    def observe(self) -> None:
        """Called on every state change: a session that has ended (the kiosk back at IDLE)
        takes the mode back to the site's default for the next citizen."""
        s = self.live.session
        current = s.session_id if s is not None else None
        if current is None and self._session_seen is not None:
            self.on = self.default_on
        self._session_seen = current

    def back_to_default(self) -> None:
        self.on = self.default_on


class ScaledTimeouts(Mapping[str, Any]):
    """A config section whose `*_timeout_s` values are multiplied by the current factor."""

    def __init__(self, section: Mapping[str, Any], mode: Accessibility) -> None:
        self.section = section
        self.mode = mode

    def __getitem__(self, key: str) -> Any:
        value = self.section[key]
        if key.endswith("_timeout_s") and isinstance(value, (int, float)):
            return value * self.mode.timeout_factor()
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self.section)

    def __len__(self) -> int:
        return len(self.section)
