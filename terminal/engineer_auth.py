"""Engineer login: PIN hashing (salted scrypt) and EngineerAuth, the PIN + card check with its
lockout. Split out of terminal/maintenance.py; that module re-exports these names.

The lockout is counted atomically: an attempt is counted (and journaled) before the slow hash,
so guesses sent at once cannot all be checked, and a guess still in flight when the lockout
starts is refused even if it was right. Locks are per engineer id and per connection (the
session API sets `login_source`), with a global rate limit over all of them.
"""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import hmac
import inspect
import logging
import re
import secrets
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from terminal.journal import Journal, utc_now
from terminal.logs import log_event
from terminal.session_guard import RateLimitedLog

log = logging.getLogger("maintenance")

SESSION = "maintenance"  # the journal session id of every maintenance event
ENGINEER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
PIN = re.compile(r"^\d{4,12}$")
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
LOCKOUT_ALARM = "pin_lockout"
RATE_WINDOW_S = 60.0

# Which connection a login attempt (and a maintenance action) comes from: the session API sets
# it per WebSocket; None is the core itself (in-process callers, tests).
login_source: ContextVar[str | None] = ContextVar("login_source", default=None)


class MaintenanceError(Exception):
    """A maintenance action that cannot be done; `key` is the message the screen shows."""

    def __init__(self, key: str, detail: str = "") -> None:
        super().__init__(detail or key)
        self.key = key


class AuthError(MaintenanceError):
    """Login refused: wrong_pin, locked (with `until`), busy, card_required, card_refused..."""

    def __init__(self, key: str, detail: str = "", until: float | None = None) -> None:
        super().__init__(key, detail)
        self.until = until


# -------------------------------------------------------------------- PIN hashing


def hash_pin(pin: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """A [maintenance] pin_hash: "scrypt$N$r$p$salt_hex$hash_hex" (16-byte salt, 32-byte key)."""
    if not PIN.match(pin):
        raise ValueError("the PIN must be 4 to 12 digits")
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=_maxmem(n, r))
    return f"scrypt${n}${r}${p}${salt.hex()}${key.hex()}"


def _maxmem(n: int, r: int) -> int:
    return 128 * r * n * 2 + 1024 * 1024


def parse_pin_hash(text: str) -> tuple[int, int, int, bytes, bytes]:
    parts = text.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise ValueError("pin_hash must look like scrypt$N$r$p$salt_hex$hash_hex")
    n, r, p = (int(v) for v in parts[1:4])
    if n < 2 or n & (n - 1) or r < 1 or p < 1 or n > 2**20:
        raise ValueError("pin_hash has unusable scrypt parameters")
    salt, key = bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
    if len(salt) < 8 or len(key) < 16:
        raise ValueError("pin_hash salt or hash too short")
    return n, r, p, salt, key


def check_pin(pin: str, pin_hash: str) -> bool:
    """Constant-time comparison of scrypt(pin) with the stored hash. ValueError: bad hash."""
    n, r, p, salt, expected = parse_pin_hash(pin_hash)
    got = hashlib.scrypt(
        pin.encode(), salt=salt, n=n, r=r, p=p, dklen=len(expected), maxmem=_maxmem(n, r)
    )
    return hmac.compare_digest(got, expected)


def hash_pin_cli(argv: list[str] | None = None) -> int:
    """`emitra-kiosk hash-pin`: read a PIN twice (or one from stdin when piped), print the hash."""
    if sys.stdin.isatty():
        pin = getpass.getpass("Engineer PIN (4-12 digits): ")
        if getpass.getpass("Again: ") != pin:
            print("emitra-kiosk: the two PINs differ", file=sys.stderr)
            return 2
    else:
        pin = sys.stdin.readline().strip()
    try:
        print(hash_pin(pin))
    except ValueError as exc:
        print(f"emitra-kiosk: {exc}", file=sys.stderr)
        return 2
    print('put it in the site file as [maintenance] pin_hash = "..."', file=sys.stderr)
    return 0


def pin_hash_problem(pin_hash: str) -> str | None:
    """Why this pin_hash cannot open maintenance, or None when it can."""
    if not pin_hash:
        return "no [maintenance] pin_hash configured"
    try:
        parse_pin_hash(pin_hash)
    except ValueError as exc:
        return str(exc)
    return None


# -------------------------------------------------------------------- the login check


class EngineerAuth:
    """PIN (salted scrypt, constant-time compare) + optional engineer card. `lockout_tries`
    wrong tries in a row for one engineer id, or from one connection, lock that id / that
    connection for `lockout_minutes`; `pin_attempts_per_minute` bounds all attempts together.
    Counts and locks of engineer ids are restored from the journal, so switching the kiosk off
    and on resets nothing, and a guess whose check a crash cut short counts as wrong."""

    def __init__(
        self,
        section: dict[str, Any],
        journal: Journal | None = None,
        *,
        clock: Callable[[], float] = time.time,
        card_check: Callable[[str], bool | Awaitable[bool]] | None = None,
    ) -> None:
        self.pin_hash: str = section["pin_hash"]
        self.tries: int = section["lockout_tries"]
        self.lockout_s: float = section["lockout_minutes"] * 60
        self.rate: int = section.get("pin_attempts_per_minute", 10)
        self.require_card: bool = section["require_engineer_card"]
        self.journal = journal
        self.clock = clock
        self.card_check = card_check
        self.problem = pin_hash_problem(self.pin_hash)
        self._failures: dict[str, int] = {}  # scope ("id:E1", "conn:ws-3") -> wrong in a row
        self._in_flight: dict[str, int] = {}
        self._locked_until: dict[str, float] = {}
        self._refusal_journaled: set[str] = set()
        self._recent: deque[float] = deque()  # attempt times, for the global rate limit
        self.last_lockout: dict[str, Any] | None = None
        self._log = RateLimitedLog(log, 60.0)
        if journal is not None:
            self._restore(journal)

    # ---------------------------------------------------------------- state

    @property
    def enabled(self) -> bool:
        return self.problem is None

    @property
    def failures(self) -> int:
        """The longest run of wrong tries of any engineer id or connection."""
        return max(self._failures.values(), default=0)

    @property
    def locked_until(self) -> float | None:
        self.locked()
        return max(self._locked_until.values(), default=None)

    def locked(self, scope: str | None = None) -> bool:
        """Is this scope (default: anything) locked now? Expired locks are lifted here."""
        now = self.clock()
        for key, until in list(self._locked_until.items()):
            if now >= until:
                del self._locked_until[key]
                self._failures.pop(key, None)
                self._refusal_journaled.discard(key)
        return scope in self._locked_until if scope else bool(self._locked_until)

    def alarm(self) -> dict[str, Any] | None:
        until = self.locked_until
        if until is None:
            return None
        return {
            "code": LOCKOUT_ALARM,
            "message": f"{self.tries} wrong engineer PINs: maintenance locked",
            "until": datetime.fromtimestamp(until, UTC).isoformat(),
            "engineer_id": (self.last_lockout or {}).get("engineer_id"),
        }

    def forget_source(self, source: str) -> None:
        """A connection closed: its own counters go (the rate limit still holds)."""
        scope = f"conn:{source}"
        for table in (self._failures, self._locked_until):
            table.pop(scope, None)
        self._refusal_journaled.discard(scope)

    def _restore(self, journal: Journal) -> None:
        pending: dict[str, int] = {}
        for ev in journal.events(session_id=SESSION, kinds=("maintenance",)):
            action, data = ev.data.get("action"), ev.data
            scope = f"id:{data.get('engineer_id')}"
            if action == "pin_attempt":
                pending[scope] = pending.get(scope, 0) + 1
            elif action in ("pin_failed", "pin_accepted", "pin_unchecked"):
                pending[scope] = max(0, pending.get(scope, 0) - 1)
                if action == "pin_failed":
                    self._failures[scope] = data.get("failures", self._failures.get(scope, 0) + 1)
            elif action == "pin_lockout":
                for locked in data.get("scopes") or [scope]:
                    if locked.startswith("id:"):
                        self._locked_until[locked] = data["until_epoch"]
                self.last_lockout = {"at": ev.at, "engineer_id": data.get("engineer_id")}
            elif action == "entered":
                self._failures.pop(scope, None)
                self._locked_until.pop(scope, None)
                pending.pop(scope, None)
        for scope, count in pending.items():  # checks a crash cut short count as wrong
            if count:
                self._failures[scope] = self._failures.get(scope, 0) + count

    def _journal(self, action: str, engineer_id: str, **data: Any) -> None:
        if self.journal is not None:
            self.journal.append(
                "maintenance", SESSION, {"action": action, "engineer_id": engineer_id, **data}
            )

    # ---------------------------------------------------------------- the check

    def _refuse_if_locked(self, engineer_id: str, scopes: list[str]) -> None:
        for scope in scopes:
            if self.locked(scope):
                if scope not in self._refusal_journaled:  # once per lock, not per guess
                    self._refusal_journaled.add(scope)
                    self._journal("pin_refused_locked", engineer_id, scope=scope)
                self._log(f"locked:{scope}", "maintenance login refused", reason="locked",
                          engineer=engineer_id, scope=scope)
                raise AuthError("locked", "maintenance is locked", self._locked_until[scope])

    def _admit(self, engineer_id: str, scopes: list[str]) -> None:
        """Count the attempt now, before the hash, or refuse it."""
        self._refuse_if_locked(engineer_id, scopes)
        now = self.clock()
        while self._recent and now - self._recent[0] >= RATE_WINDOW_S:
            self._recent.popleft()
        if len(self._recent) >= self.rate:
            self._log("rate", "maintenance login refused", reason="rate limit", limit=self.rate)
            raise AuthError("locked", "too many PIN attempts on this kiosk; wait a minute",
                            self._recent[0] + RATE_WINDOW_S)
        if any(self._failures.get(s, 0) + self._in_flight.get(s, 0) >= self.tries
               for s in scopes):
            self._log(f"busy:{scopes[0]}", "maintenance login refused", reason="in flight",
                      engineer=engineer_id)
            raise AuthError("busy", "earlier PIN attempts are still being checked")
        self._recent.append(now)
        for scope in scopes:
            self._in_flight[scope] = self._in_flight.get(scope, 0) + 1
        self._journal("pin_attempt", engineer_id, scopes=scopes)

    async def _check(self, engineer_id: str, pin: str) -> str | None:
        """None when right; else the reason ("wrong_pin", "card_refused")."""
        if PIN.match(pin or "") is None:
            return "wrong_pin"
        if not await asyncio.to_thread(check_pin, pin, self.pin_hash):
            return "wrong_pin"
        if self.require_card:
            if self.card_check is None:
                raise AuthError("card_required", "an engineer card is required; no reader")
            verdict = self.card_check(engineer_id)
            if inspect.isawaitable(verdict):
                verdict = await verdict
            if not verdict:
                return "card_refused"
        return None

    def _fail(self, engineer_id: str, scopes: list[str], reason: str) -> AuthError:
        for scope in scopes:
            self._failures[scope] = self._failures.get(scope, 0) + 1
        worst = max(self._failures[s] for s in scopes)
        self._journal("pin_failed", engineer_id, failures=self._failures[scopes[0]],
                      reason=reason, scopes=scopes)
        log_event(log, "maintenance login refused", logging.WARNING, engineer=engineer_id,
                  reason=reason, failures=worst)
        hit = [s for s in scopes if self._failures[s] >= self.tries]
        if not hit:
            return AuthError(reason, f"{self.tries - worst} tries left")
        until_epoch = self.clock() + self.lockout_s
        until = datetime.fromtimestamp(until_epoch, UTC).isoformat()
        for scope in hit:
            self._locked_until[scope] = until_epoch
            self._refusal_journaled.discard(scope)
        self.last_lockout = {"at": utc_now(), "engineer_id": engineer_id}
        self._journal("pin_lockout", engineer_id, until=until, until_epoch=until_epoch,
                      scopes=hit)
        log_event(log, "maintenance locked", logging.ERROR, engineer=engineer_id, until=until,
                  scopes=hit)
        return AuthError("locked", f"too many wrong PINs; locked until {until}", until_epoch)

    async def verify(self, engineer_id: str, pin: str) -> None:
        """Raises AuthError unless the PIN (and the card, if required) are right."""
        if not ENGINEER_ID.match(engineer_id or ""):
            raise AuthError("bad_engineer_id", "engineer id: letters, digits, . _ -")
        if self.problem is not None:
            raise AuthError("pin_not_configured", f"maintenance is off: {self.problem}")
        source = login_source.get()
        scopes = [f"id:{engineer_id}"] + ([f"conn:{source}"] if source else [])
        self._admit(engineer_id, scopes)
        try:
            reason = await self._check(engineer_id, pin)
        except AuthError:  # card_required: not a guess either way
            self._journal("pin_unchecked", engineer_id)
            raise
        finally:
            for scope in scopes:
                left = self._in_flight.get(scope, 0) - 1
                if left > 0:
                    self._in_flight[scope] = left
                else:
                    self._in_flight.pop(scope, None)
        if reason is not None:
            raise self._fail(engineer_id, scopes, reason)
        # Right, but a lockout that began while it was being checked still holds.
        self._refuse_if_locked(engineer_id, scopes)
        for scope in scopes:
            self._failures.pop(scope, None)
        self._journal("pin_accepted", engineer_id)
