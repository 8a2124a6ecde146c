"""What a session is that the journal does not hold, and the small interfaces flows share.

`Session` (terminal/session.py) is the journal's fold: money never changes anywhere else.
`LiveSession` holds the rest — the screen's message, the note just handed back, the step's
deadline, the card dialogue, a QR check on the home screen — which a restart rightly forgets.
The flows (terminal/cash_intake.py, completion.py, qr_lookup.py, bill_service.py) share one
`LiveSession`; the kiosk pushes it to the screen through `changed()`.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from drivers.base import DeviceStatus
from terminal.events import JournalEvent
from terminal.journal import Event
from terminal.local_time import DEFAULT_ZONE, known_zone, local
from terminal.session import Session, State

# The states a session is over in: the DONE / CANCELLED / TIMEOUT screen before going home.
ENDED = (State.DONE, State.CANCELLED, State.TIMEOUT)


class JournalLike(Protocol):
    """What flows need of terminal/journal.Journal: events are written typed (record(), with
    terminal/events.py), so a misspelled kind is a name error, not an event that never folds."""

    def append(
        self, kind: str, session_id: str, data: dict[str, Any], key: str | None = None
    ) -> Event | None: ...

    def record(
        self, session_id: str, event: JournalEvent, key: str | None = None
    ) -> Event | None: ...

    def events(
        self, session_id: str | None = None, kinds: tuple[str, ...] | None = None
    ) -> Iterator[Event]: ...


# One intent's handler: its args in, data for the caller out (most return None).
Handler = Callable[[dict], Awaitable[Any]]


class Flow(Protocol):
    """A flow the kiosk registers: the intents it answers (terminal/kiosk.Kiosk.register)."""

    def intents(self) -> Mapping[str, Handler]: ...


# Tell the kiosk a device's new status (it decides the services on offer from them all).
SetDevice = Callable[[str, DeviceStatus], None]


# The zone of the date and time inside ids: the kiosk's [terminal] timezone (set_id_zone, from
# the Kiosk at start), so a slip's transaction id carries the same date as its printed time.
_id_zone = DEFAULT_ZONE


def set_id_zone(name: object) -> None:
    """Use this zone for the stamp in new ids (an unknown name keeps the default)."""
    global _id_zone
    _id_zone = known_zone(name, DEFAULT_ZONE)


def id_stamp(now: datetime | None = None) -> str:
    """ "261124003000": year to second in the kiosk's zone. Ids made before this was local
    carry a UTC stamp of the same shape; nothing parses the stamp back, ids are opaque."""
    return local(now or datetime.now(UTC), _id_zone).strftime("%y%m%d%H%M%S")


def new_id(prefix: str, terminal_id: str, now: datetime | None = None) -> str:
    """ "T-RJ-JPR-0001-261124003000-1A2B3C": prefix, machine, local time, 24 random bits."""
    return f"{prefix}-{terminal_id}-{id_stamp(now)}-{secrets.token_hex(3).upper()}"


class IntentError(Exception):
    """An intent that cannot be done now; `key` is the message shown to the citizen."""

    def __init__(self, key: str, detail: str = "") -> None:
        super().__init__(detail or key)
        self.key = key


class LiveSession:
    """The session the citizen is in now, plus everything about it that is not money."""

    def __init__(
        self, clock: Callable[[], float], payment: dict[str, Any], notify: Callable[[], None]
    ) -> None:
        self.clock = clock
        self.payment = payment  # [payment] of the config: the step timeouts
        self.notify = notify
        self.session: Session | None = None
        self.message: dict | None = None
        self.last_returned: dict | None = None  # the note just handed back, and why
        self.ask_more_time = False
        self.deadline: float | None = None  # when the current step times out (clock())
        self.busy = False  # waiting on central for the citizen
        self.card_state: dict | None = None  # step, tries_left, keypad of a card payment
        # the running card payment's "more time" (CardPayment.more_insert_time), or None
        self.card_more_time: Callable[[], bool] | None = None
        self.lookup: dict | None = None  # a QR check on the home screen, or None
        self.lookup_in_flight = False  # one bill lookup per session at a time
        self.presence = False  # a face in front of the machine (wakes the attract screen)
        self.recovering = False  # completing sessions found open at start-up

    def changed(self) -> None:
        """Push the new state to the screen."""
        self.notify()

    def say(self, key: str | None) -> None:
        self.message = None if key is None else {"key": key}

    def in_progress(self) -> bool:
        s = self.session
        return s is not None and s.state not in ENDED

    def touch(self) -> None:
        """Citizen activity: restart the inactivity timer of the current step."""
        self.ask_more_time = False
        s = self.session
        pay = self.payment
        if s is None:
            self.deadline = (self.clock() + pay["identify_timeout_s"]) if self.lookup else None
        elif s.state in (State.IDENTIFY, State.BILL):
            self.deadline = self.clock() + pay["identify_timeout_s"]
        elif s.state == State.PAYING:
            self.deadline = self.clock() + pay["cash_idle_timeout_s"]
        elif s.state in ENDED:
            self.deadline = self.clock() + pay["done_screen_s"]
        elif s.state == State.CARD:
            # The card flow times its own steps (bill_service._card_step sets the deadline);
            # a tap restarts only the wait for the card, never the PIN's security timeout.
            if self.card_more_time is not None:
                self.card_more_time()
        else:
            self.deadline = None

    def end(self) -> None:
        """Back to the home screen once the session is over (DONE, CANCELLED, TIMEOUT)."""
        s = self.session
        if s is not None and s.state in ENDED:
            self.session = None
            self.message = None
            self.last_returned = None
            self.deadline = None

    def need(self, *states: State) -> Session:
        s = self.session
        if s is None or s.state not in states:
            raise IntentError("not_now", f"intent not valid in {s.state.value if s else 'IDLE'}")
        return s


def _live(name: str) -> property:
    def get(self: LiveFields) -> Any:
        return getattr(self.live, name)

    def put(self: LiveFields, value: Any) -> None:
        setattr(self.live, name, value)

    return property(get, put, doc=f"LiveSession.{name}")


class LiveFields:
    """The live session's fields as attributes of the object holding it (the kiosk), for the
    modules that read them there (heartbeat, liveness, maintenance, tests)."""

    live: LiveSession
    session = _live("session")
    busy = _live("busy")
    message = _live("message")
    last_returned = _live("last_returned")
    ask_more_time = _live("ask_more_time")
    deadline = _live("deadline")
    card_state = _live("card_state")
    lookup = _live("lookup")
    presence = _live("presence")
    recovering = _live("recovering")
