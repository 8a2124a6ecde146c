"""`CardReader`: the asyncio facade over pyscard (PC/SC), its monitors and the card flows.

pyscard is blocking and its monitors are process-wide singletons running their own threads, so:
- one `_Hub` per process owns pyscard's `ReaderMonitor` and `CardMonitor`, keeps the current
  readers and cards, and fans the changes out to every open `CardReader`;
- each `CardReader` hands those changes to its event loop with `call_soon_threadsafe`, and runs
  every APDU exchange in a worker thread (`asyncio.to_thread`), one at a time.

pyscard's `ReaderMonitor` stops for good when listing readers raises (pcscd gone), and its
`CardMonitor` thread stops on SCARD_E_NO_SERVICE. The hub gives the reader monitor a listing
function that never raises (no service = no readers) and restarts the card monitor when readers
come back, so a restarted pcscd is picked up without restarting the kiosk. (Its listing opens
a PC/SC context every READER_POLL_S seconds; that is how pyscard finds new readers.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from drivers.base import OFFLINE as NOT_OPENED
from drivers.base import DeviceError, DeviceState, DeviceStatus
from drivers.card import (
    CardError,
    CardEvent,
    CardInserted,
    CardRemoved,
    CardRemovedError,
    EmvCard,
    NoCardError,
    PinResult,
    ReaderAdded,
    ReaderRemoved,
)
from drivers.card.emv import EmvSession
from drivers.card.engineer import EngineerAuth, EngineerCard, KeyLookup, check, new_nonce

log = logging.getLogger("drivers.card.pcsc")

READER_POLL_S = 0.5

Listener = Callable[[CardEvent], None]


# ---------------------------------------------------------------- pyscard glue


def _import_pyscard() -> Any:
    try:
        import smartcard  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise DeviceError(f"card reader: pyscard is not installed ({exc})") from None
    import smartcard

    return smartcard


def _list_readers() -> list[str]:
    """Reader names; [] when pcscd is not running (never raises)."""
    from smartcard.System import readers

    try:
        return [str(r) for r in readers()]
    except Exception:  # pcscd down, no context: no readers
        return []


def _cards_present(names: list[str]) -> dict[str, str]:
    """reader -> ATR hex for the readers in `names` that hold a card (never raises)."""
    if not names:
        return {}
    from smartcard import scard

    out: dict[str, str] = {}
    try:
        rv, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if rv != scard.SCARD_S_SUCCESS:
            return {}
        try:
            rv, states = scard.SCardGetStatusChange(
                ctx, 0, [(n, scard.SCARD_STATE_UNAWARE) for n in names]
            )
            if rv == scard.SCARD_S_SUCCESS:
                for name, state, atr in states:
                    if state & scard.SCARD_STATE_PRESENT and atr:
                        out[name] = bytes(atr).hex().upper()
        finally:
            scard.SCardReleaseContext(ctx)
    except Exception:  # service gone between calls
        return {}
    return out


class _Hub:
    """Process-wide: pyscard's monitors -> current state -> listeners (any thread).

    Both monitors start on the first subscribe and then run for the life of the process:
    removing the `ReaderMonitor`'s last observer joins its thread while holding the lock that
    thread needs, which deadlocks (pyscard 2.x); and the `CardMonitor` reports changes only
    against its own list, so a monitor restarted later could miss a card that left in between
    and leave a stale "card present" here. Unsubscribing only drops the listener.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()  # state, listeners, start; taken by monitor callbacks
        self._listeners: list[Listener] = []
        self.readers: set[str] = set()
        self.cards: dict[str, str] = {}
        self._started = False
        self._card_observer: Any = None
        self._reader_observer: Any = None

    # ---- subscription

    def subscribe(self, listener: Listener) -> list[CardEvent]:
        """Add a listener; returns the current state as events (blocking, call in a thread)."""
        with self._lock:
            if not self._started:
                self._start()
            self._listeners.append(listener)
            snapshot: list[CardEvent] = [ReaderAdded(r) for r in sorted(self.readers)]
            snapshot += [CardInserted(r, atr) for r, atr in sorted(self.cards.items())]
            return snapshot

    def unsubscribe(self, listener: Listener) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    # ---- monitors

    def _start(self) -> None:
        from smartcard.CardMonitoring import CardObserver
        from smartcard.ReaderMonitoring import ReaderMonitor, ReaderObserver

        hub = self

        class _Readers(ReaderObserver):
            def update(self, observable, handlers):  # pyscard's signature
                added, removed = handlers
                hub._readers_changed([str(r) for r in added], [str(r) for r in removed])

        class _Cards(CardObserver):
            def update(self, observable, handlers):
                added, removed = handlers
                hub._cards_changed(
                    [(str(c.reader), bytes(c.atr).hex().upper()) for c in added],
                    [str(c.reader) for c in removed],
                )

        # Seed the state, so the first CardReader knows where it stands at once.
        self.readers = set(_list_readers())
        self.cards = _cards_present(sorted(self.readers))
        self._reader_observer = _Readers()
        self._card_observer = _Cards()
        ReaderMonitor(readerProc=_list_readers, period=READER_POLL_S).addObserver(
            self._reader_observer
        )
        self._start_card_monitor()
        self._started = True

    def _start_card_monitor(self) -> None:
        from smartcard import CardMonitoring as cm

        instance = cm.CardMonitoringThread.instance
        if instance is not None and not instance.is_alive():
            # pyscard's singleton thread died (pcscd went away): build a fresh one. Its
            # request's context died with that pcscd; releasing it again only raises.
            request = getattr(getattr(instance, "cardrequest", None), "pcsccardrequest", None)
            if request is not None:
                request.hcontext = None
            cm.CardMonitoringThread.instance = None
            cm.CardMonitor.instance = None
        cm.CardMonitor().addObserver(self._card_observer)  # reports present cards at once

    def _emit(self, events: list[CardEvent]) -> None:
        for ev in events:
            log.info("pcsc event %s", ev)
            for listener in list(self._listeners):
                try:
                    listener(ev)
                except Exception:  # a closed loop must not kill pyscard's thread
                    log.exception("card event listener failed")

    def _readers_changed(self, added: list[str], removed: list[str]) -> None:
        events: list[CardEvent] = []
        with self._lock:
            for name in removed:
                if name in self.cards:
                    del self.cards[name]
                    events.append(CardRemoved(name))
                if name in self.readers:
                    self.readers.discard(name)
                    events.append(ReaderRemoved(name))
            came_back = bool(added) and not self.readers
            for name in added:
                if name not in self.readers:
                    self.readers.add(name)
                    events.append(ReaderAdded(name))
            if came_back and self._started:
                # pcscd is back: pyscard's card monitor stopped when it went; start it again
                with contextlib.suppress(Exception):
                    self._start_card_monitor()
            self._emit(events)

    def _cards_changed(self, added: list[tuple[str, str]], removed: list[str]) -> None:
        events: list[CardEvent] = []
        with self._lock:
            for name in removed:
                if name in self.cards:
                    del self.cards[name]
                    events.append(CardRemoved(name))
            for name, atr in added:
                if self.cards.get(name) != atr:
                    if name in self.cards:
                        events.append(CardRemoved(name))
                    self.cards[name] = atr
                    events.append(CardInserted(name, atr))
            self._emit(events)


_HUB = _Hub()


# ---------------------------------------------------------------- the facade

_CLOSED = object()


class CardReader:
    """A PC/SC contact reader. `reader`: exact PC/SC reader name, or None for whichever
    reader holds a card (the first one listed when none does)."""

    def __init__(self, reader: str | None = None, *, terminal: dict[int, bytes] | None = None):
        self.reader_name = reader
        self._terminal = terminal
        self._opened = False
        self._busy = False
        self._readers: set[str] = set()
        self._cards: dict[str, str] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._lock = asyncio.Lock()
        # touched only from the worker thread, one operation at a time (self._lock)
        self._conn: Any = None
        self._conn_reader: str | None = None
        self._stale = False
        self._emv: EmvSession | None = None
        self._early: list[CardEvent] | None = None  # events that beat the snapshot in open()

    # ---- lifecycle

    async def open(self) -> None:
        if self._opened:
            return
        _import_pyscard()
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self._early = []
        try:
            snapshot = await asyncio.to_thread(_HUB.subscribe, self._from_thread)
        except BaseException:
            self._early = None
            raise
        early, self._early = self._early, None
        self._opened = True
        for ev in [*snapshot, *early]:  # the state at subscribe, then what changed since
            self._deliver(ev)
        log.info("card reader open reader=%s status=%s", self.reader_name, self.status())

    async def close(self) -> None:
        if not self._opened:
            return
        self._opened = False
        _HUB.unsubscribe(self._from_thread)
        async with self._lock:
            await asyncio.to_thread(self._disconnect)
        self._queue.put_nowait(_CLOSED)

    async def __aenter__(self) -> CardReader:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- status and events

    def _reader(self) -> str | None:
        """The reader we work with now, or None."""
        if self.reader_name is not None:
            return self.reader_name if self.reader_name in self._readers else None
        with_card = sorted(r for r in self._cards if r in self._readers)
        if with_card:
            return with_card[0]
        return min(self._readers) if self._readers else None

    def card_present(self) -> bool:
        reader = self._reader()
        return reader is not None and reader in self._cards

    def status(self) -> DeviceStatus:
        if not self._opened:
            return NOT_OPENED
        reader = self._reader()
        if reader is None:
            name = self.reader_name or "any reader"
            return DeviceStatus(DeviceState.OFFLINE, ("reader_absent",), f"{name} not present")
        detail = ("card_present",) if reader in self._cards else ("no_card",)
        state = DeviceState.BUSY if self._busy else DeviceState.ONLINE
        return DeviceStatus(state, detail, reader)

    def events(self) -> AsyncIterator[CardEvent]:
        """Reader / card changes (starting with the state at open()), oldest first."""
        return self._iter_events()

    async def _iter_events(self) -> AsyncIterator[CardEvent]:
        while True:
            ev = await self._queue.get()
            if ev is _CLOSED:
                return
            yield ev

    def _from_thread(self, ev: CardEvent) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # loop closing
            loop.call_soon_threadsafe(self._deliver, ev)

    def _deliver(self, ev: CardEvent) -> None:
        if self._early is not None:
            self._early.append(ev)
            return
        if not self._opened:
            return
        if isinstance(ev, ReaderAdded):
            if ev.reader in self._readers:
                return
            self._readers.add(ev.reader)
        elif isinstance(ev, ReaderRemoved):
            if ev.reader not in self._readers:
                return
            self._readers.discard(ev.reader)
        elif isinstance(ev, CardInserted):
            if self._cards.get(ev.reader) == ev.atr_hex:
                return
            self._cards[ev.reader] = ev.atr_hex
        elif isinstance(ev, CardRemoved):
            if ev.reader not in self._cards:
                return
            del self._cards[ev.reader]
        if isinstance(ev, CardRemoved | CardInserted | ReaderRemoved):
            if ev.reader == self._conn_reader:
                self._stale = True  # the worker drops the old connection next time
        if self.reader_name is None or ev.reader == self.reader_name:
            self._queue.put_nowait(ev)

    # ---- card operations (each in a worker thread, one at a time)

    async def _run(self, fn: Callable[[], Any]) -> Any:
        if not self._opened:
            raise DeviceError("card reader: not opened")
        async with self._lock:
            reader = self._reader()
            if reader is None:
                raise NoCardError("card reader: no reader present")
            if reader not in self._cards:
                raise NoCardError(f"card reader: no card in {reader}")
            self._busy = True
            try:
                return await asyncio.to_thread(self._in_thread, reader, fn)
            finally:
                self._busy = False

    def _in_thread(self, reader: str, fn: Callable[[], Any]) -> Any:
        if self._stale or self._conn_reader != reader:
            self._disconnect()
        if self._conn is None:
            self._connect(reader)
        try:
            return fn()
        except CardRemovedError:
            self._disconnect()
            raise

    def _connect(self, reader: str) -> None:
        from smartcard.Exceptions import SmartcardException
        from smartcard.pcsc.PCSCReader import PCSCReader

        conn = PCSCReader(reader).createConnection()
        try:
            conn.connect()
        except SmartcardException as exc:
            with contextlib.suppress(Exception):
                conn.release()
            raise CardRemovedError(f"card reader {reader}: cannot connect to the card") from exc
        self._conn, self._conn_reader, self._stale, self._emv = conn, reader, False, None
        log.info("card connected reader=%s", reader)

    def _disconnect(self) -> None:
        conn, self._conn, self._conn_reader, self._emv = self._conn, None, None, None
        self._stale = False
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.disconnect()
            with contextlib.suppress(Exception):
                conn.release()

    def _transmit(self, apdu: bytes) -> bytes:
        from smartcard.Exceptions import SmartcardException

        conn = self._conn
        if conn is None:
            raise CardRemovedError("card reader: card connection lost")
        try:
            data, sw1, sw2 = conn.transmit(list(apdu))
        except SmartcardException as exc:
            raise CardRemovedError(
                f"card reader {self._conn_reader}: card removed or not answering"
            ) from exc
        return bytes(data) + bytes([sw1, sw2])

    def _emv_session(self) -> EmvSession:
        if self._emv is None or self._emv.card is None:
            self._emv = EmvSession(self._transmit, self._terminal)
            self._emv.read()
        return self._emv

    async def read_emv(self) -> EmvCard:
        """Select the payment application and read it: masked PAN, expiry, name, AID, label."""

        def work() -> EmvCard:
            self._emv = EmvSession(self._transmit, self._terminal)
            try:
                return self._emv.read()
            except CardError:
                self._emv = None
                raise

        return await self._run(work)

    async def verify_pin(self, pin: str) -> PinResult:
        """Offline plaintext PIN (reads the card first if needed). Never logs the PIN."""
        return await self._run(lambda: self._emv_session().verify_pin(pin))

    async def generate_arqc(self, amount_paise: int, **kwargs: Any) -> dict:
        """GENERATE AC asking for an ARQC; a dict for the authorisation request (masked PAN)."""
        return await self._run(lambda: self._emv_session().generate_ac(amount_paise, **kwargs))

    async def engineer_challenge(self, nonce: bytes) -> tuple[str, bytes]:
        """(engineer_id, HMAC-SHA256(card key, nonce)) from an engineer card."""

        def work() -> tuple[str, bytes]:
            self._emv = None  # selecting another application ends any EMV session
            return EngineerCard(self._transmit).run(nonce)

        return await self._run(work)

    async def engineer_login(
        self, key_lookup: KeyLookup, nonce: bytes | None = None
    ) -> EngineerAuth:
        """Challenge the engineer card with a fresh nonce and check it with `key_lookup`."""
        nonce = nonce or new_nonce()
        engineer_id, mac = await self.engineer_challenge(nonce)
        return check(engineer_id, nonce, mac, key_lookup)
