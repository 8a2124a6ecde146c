"""The QR scanner's and the camera's event streams, consumed for as long as the core runs:
a scan goes to the QR flow (terminal/qr_lookup.py), a face in view wakes the attract screen, and
a status change goes on the device board. A bad event is logged, never fatal to the stream."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

from drivers.base import DeviceStatus, StatusChanged
from terminal.live_session import IntentError, LiveSession

log = logging.getLogger("kiosk")


class EventSource(Protocol):
    """A scanner or a camera: an async stream of Scanned / PresenceChanged / StatusChanged."""

    def events(self) -> AsyncIterator[object]: ...


async def consume(
    source: EventSource, device: str, *, on_scan: Callable[[str], Awaitable[None]],
    live: LiveSession, set_device: Callable[[str, DeviceStatus], None],
    changed: Callable[[], None],
) -> None:
    from drivers.camera import PresenceChanged
    from drivers.scanner import Scanned

    async for event in source.events():
        try:
            if isinstance(event, Scanned):
                await on_scan(event.payload)
            elif isinstance(event, PresenceChanged):
                live.presence = event.present
            elif isinstance(event, StatusChanged):
                set_device(device, event.status)
        except IntentError as exc:
            live.say(exc.key)
        except Exception:
            log.exception("scan handling failed" if device == "scanner"
                          else "camera event handling failed")
        changed()
