"""The citizen services beyond bills, built for the kiosk in one place so that Kiosk only
registers them (terminal/kiosk.py): the catalogue cache (terminal/catalogue_cache.py), application
status, certificates, grievances, applications and the scheme pages (terminal/info_service.py,
scheme_cache.py), plus the QR routes that lead into them from
terminal/qr_lookup.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol, cast

from terminal.application_drafts import ApplicationDrafts
from terminal.application_service import ApplicationService
from terminal.application_store import ApplicationStore
from terminal.catalogue_cache import CatalogueCache, cache_path
from terminal.certificate_service import CertificateService
from terminal.grievance_service import GrievanceService
from terminal.info_service import InfoService
from terminal.live_session import Flow, LiveSession, SetDevice
from terminal.scheme_cache import SchemeCache, cache_dir
from terminal.status_service import StatusService

log = logging.getLogger("kiosk")


class QrRoutes(Protocol):
    def add_route(self, kind: str, handler: Callable[..., Any]) -> None: ...


class KioskParts(Protocol):
    """What the builder reads of terminal/kiosk.Kiosk (some are set by the core later, so
    they are read when used, not now)."""

    config: dict
    central: Any
    journal: Any
    live: LiveSession
    printer: Any
    camera: Any
    maintenance: Any
    qr: QrRoutes

    def services(self) -> dict[str, Any]: ...

    def changed(self) -> None: ...

    def add_listener(self, listener: Callable[[dict], None]) -> None: ...


def _set_device(kiosk: Any) -> SetDevice:
    return cast(SetDevice, kiosk.board.set)


class CitizenServices:
    def __init__(self, kiosk: KioskParts) -> None:
        self.kiosk = kiosk
        config = kiosk.config
        self.catalogue = CatalogueCache(cache_path(config), self._fetch, self._alarm,
                                        changed=kiosk.changed)
        common = dict(printer=lambda: kiosk.printer, terminal=config["terminal"],
                      set_device=_set_device(kiosk),
                      lookup_allowed=lambda: bool(kiosk.services().get("lookup")))
        self.status = StatusService(kiosk.central, kiosk.live, **common)
        self.certificates = CertificateService(kiosk.central, kiosk.live, **common)
        self.grievances = GrievanceService(
            kiosk.central, kiosk.live, terminal=config["terminal"], services=kiosk.services,
            camera=lambda: kiosk.camera, printer=lambda: kiosk.printer)
        store = ApplicationStore(cache_path(config).parent / "applications",
                                 kiosk.journal.key_file)
        self.drafts = ApplicationDrafts(store, kiosk.central, self._money_taken)
        self.applications = ApplicationService(
            kiosk.central, kiosk.live, terminal=config["terminal"], services=kiosk.services,
            printer=lambda: kiosk.printer, drafts=self.drafts, camera=lambda: kiosk.camera)
        kiosk.add_listener(self.grievances.on_state)  # its slip, and the photo dropped
        kiosk.add_listener(self.applications.slip.on_state)
        kiosk.add_listener(self.applications.on_state)
        self.schemes = SchemeCache(cache_dir(config), self._fetch_schemes, self._fetch_scheme,
                                   self._alarm, changed=kiosk.changed)
        self.info = InfoService(self.schemes, kiosk.live,
                                lambda: bool(kiosk.services().get("lookup")))
        kiosk.qr.add_route("application", self.status.from_qr)
        kiosk.qr.add_route("certificate", self.certificates.from_qr)
        self.flows: tuple[Flow, ...] = (self.status, self.certificates, self.grievances,
                                        self.applications, self.info)

    async def _fetch(self) -> Any:
        return await self.kiosk.central.catalogue()

    async def _fetch_schemes(self) -> Any:
        return await self.kiosk.central.scheme_index()

    async def _fetch_scheme(self, code: str) -> Any:
        return await self.kiosk.central.scheme_page(code)

    def _alarm(self, code: str, message: str) -> bool:
        m = self.kiosk.maintenance
        if m is None:
            return False  # the core sets maintenance after the kiosk: raised at the next try
        m.raise_alarm(code, message)
        self.kiosk.changed()
        return True

    def _money_taken(self, session_id: str) -> bool:
        from terminal.application_drafts import MONEY_KINDS

        return next(iter(self.kiosk.journal.events(session_id, MONEY_KINDS)), None) is not None

    async def run(self) -> None:
        """The kiosk's background work for these services: the catalogue and the scheme pages
        refreshed from central, and the application drafts a crash left
        (terminal/application_drafts.py)."""
        # The pages in a task of their own: the catalogue's refresh starts now, as before.
        pages = asyncio.create_task(self.schemes.run(), name="scheme-pages-refresh")
        try:
            await asyncio.gather(self.catalogue.run(), self.drafts.recover())
        finally:
            pages.cancel()
            await asyncio.gather(pages, return_exceptions=True)

