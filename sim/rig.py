"""A whole kiosk on one laptop: the central sim and the device sims, plus a config that points
the core at them. Used by `python -m sim demo`, by the tests' harness and by the benchmarks."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from sim.central.server import CentralServer
from sim.devices.ccnet import CCNETSimulator
from sim.devices.escpos_printer import PrinterSimulator
from sim.devices.scanner import ScannerSimulator

# The simulated kiosk's engineer PIN is 246810 (the tests and the demo type it). Real kiosks
# have no default: the engineer sets pin_hash in /etc/emitra-kiosk/site.toml with the output of
# `emitra-kiosk hash-pin` (the Debian package leaves maintenance off until then).
TEST_PIN = "246810"
TEST_PIN_HASH = (
    "scrypt$16384$8$1$a4f996ee6e47332d69f5fcc86fd5f7d8$"
    "077851ee93e3bc9edb89c259738a904fb3c286023e6dfa71482d2bd3f253ef89"
)


class SimRig:
    """Starts every simulator; `overrides()` gives the config that points the core at them."""

    def __init__(
        self, workdir: str | Path, *, paced: bool = False, acceptor: str = "ccnet"
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.central = CentralServer(db_path=str(self.workdir / "central.sqlite"))
        self.acceptor_protocol = acceptor
        if acceptor == "essp":
            from sim.devices.essp import ESSPSimulator

            self.acceptor_sim = ESSPSimulator(paced=paced)
        else:
            self.acceptor_sim = CCNETSimulator(paced=paced)
        self.printer_sim = PrinterSimulator(self.workdir / "receipts")
        self.scanner_sim = ScannerSimulator(suffix="\r")
        self.heartbeat_token = secrets.token_urlsafe(24)

    async def start(self) -> None:
        await self.central.start()
        await self.acceptor_sim.start()
        await self.printer_sim.start()
        await self.scanner_sim.start()

    async def stop(self) -> None:
        sims = (self.acceptor_sim, self.printer_sim, self.scanner_sim, self.central)
        for stop in (sim.stop for sim in sims):
            try:
                await stop()
            except Exception:  # noqa: BLE001 - best effort teardown
                pass
        self.central.close_databases()

    def overrides(self, **sections: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """Config overrides for the core; `sections` are merged on top (e.g. payment={...})."""
        config: dict[str, dict[str, Any]] = {
            "central": {
                "url": self.central.url,
                "retry_initial_s": 0.2,
                "retry_max_s": 2.0,
                "timeout_s": 3.0,
            },
            "journal": {"path": str(self.workdir / "journal.sqlite")},
            "acceptor": {"protocol": self.acceptor_protocol, "port": self.acceptor_sim.path},
            "printer": {"connection": "serial", "port": self.printer_sim.path},
            "scanner": {"enabled": True, "port": self.scanner_sim.path, "suffix": "cr"},
            "session_api": {"port": 0},
            "heartbeat": {"port": 0, "token": self.heartbeat_token},
            "maintenance": {"pin_hash": TEST_PIN_HASH},
            "logging": {"dir": str(self.workdir / "log")},
            # the simulated site's place in Devanagari too (Hindi screens show no English)
            "terminal": {"location_hi": "जयपुर कलेक्ट्रेट"},
        }
        for section, values in sections.items():
            config.setdefault(section, {}).update(values)
        return config

    def write_config(self, path: str | Path, **sections: dict[str, Any]) -> Path:
        """The same overrides as a TOML site file, for a core started as its own process."""
        path = Path(path)
        lines = []
        for section, values in self.overrides(**sections).items():
            lines.append(f"[{section}]")
            for key, value in values.items():
                lines.append(f"{key} = {_toml(value)}")
            lines.append("")
        path.write_text("\n".join(lines))
        return path


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
