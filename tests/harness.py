"""The whole kiosk for tests: simulators + the real core in this process, over real ptys and
real loopback HTTP/WebSocket. Usage:

    async with KioskHarness(tmp_path, payment={"max_overpay_paise": 10000}) as h:
        async with h.client() as citizen: ...
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sim.rig import SimRig
from sim.session_client import SessionClient
from terminal.config import load_config
from terminal.core import Core


class KioskHarness:
    def __init__(self, workdir: str | Path, protocol: str = "ccnet", camera_source=None,
                 **config_overrides: dict[str, Any]) -> None:
        self.rig = SimRig(workdir, acceptor=protocol)
        self.camera_source = camera_source
        self.config_overrides = config_overrides
        self.core: Core | None = None
        self.session_url = ""
        self.config: dict = {}

    @property
    def acceptor_sim(self):
        return self.rig.acceptor_sim

    @property
    def printer_sim(self):
        return self.rig.printer_sim

    @property
    def central(self):
        return self.rig.central

    async def __aenter__(self) -> KioskHarness:
        await self.rig.start()
        await self.start_core()
        return self

    async def start_core(self) -> None:
        self.config = load_config(overrides=self.rig.overrides(**self.config_overrides))
        self.core = Core(self.config, camera_source=self.camera_source)
        self.session_url = await self.core.start()

    async def stop_core(self) -> None:
        if self.core is not None:
            await self.core.stop()
            self.core = None

    async def __aexit__(self, *exc) -> None:
        await self.stop_core()
        await self.rig.stop()

    def client(self) -> SessionClient:
        return SessionClient(self.session_url)
