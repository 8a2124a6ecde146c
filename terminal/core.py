"""The core process: devices, journal, money, central link and the session API, on one loop."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from drivers.base import DeviceError, DeviceState, DeviceStatus
from drivers.ports import resolve_port
from terminal import liveness
from terminal.central import make_central
from terminal.clock_trust import ClockTrust
from terminal.heartbeat import start_heartbeat
from terminal.journal import Journal
from terminal.kiosk import Kiosk
from terminal.liveness import exit_code, start_liveness
from terminal.logs import log_event, setup_logging
from terminal.maintenance import maintenance_for
from terminal.session_api import SessionAPI
from terminal.systemd import notify
from terminal.watchdog import Watchdog

log = logging.getLogger("core")


def make_acceptor_from_config(config: dict):
    from drivers.acceptor import make_acceptor

    acc = config["acceptor"]
    options: dict = {"country": acc["country"], "poll_interval": acc["poll_interval_ms"] / 1000}
    if acc["protocol"] == "essp":
        options["fixed_key"] = int(acc["essp_fixed_key"], 16)
    else:  # ACK "stacked" only once the credit is in the journal (kiosk.credit_durable)
        options["confirm_credits"] = True
    try:  # a usb:VID:PID spec names whatever port the device has now; the watchdog re-resolves
        port = resolve_port(acc["port"])
    except DeviceError:
        port = acc["port"]
    return make_acceptor(acc["protocol"], port, **options)


def make_printer_from_config(config: dict):
    from drivers.printer import make_printer

    p = config["printer"]
    return make_printer(
        connection=p["connection"],
        port=p["port"],
        baudrate=p["baudrate"],
        host=p["host"] or None,
        tcp_port=p["tcp_port"],
        paper_width_dots=p["paper_width_dots"],
        native_qr=p["native_qr"],
    )


class Core:
    def __init__(self, config: dict, camera_source=None) -> None:
        """camera_source: a frame source object instead of the configured webcam (tests)."""
        self.config = config
        self.started_at = time.time()
        self.journal = Journal(config["journal"]["path"])
        self.central = make_central(config)
        self.acceptor = make_acceptor_from_config(config)
        self.printer = make_printer_from_config(config)
        self.kiosk = Kiosk(config, self.journal, self.central, self.acceptor, self.printer)
        self.clock_trust = ClockTrust(self.central)
        self.scanner = None
        devices = {"acceptor": self.acceptor, "printer": self.printer}
        if config["scanner"]["enabled"]:
            from drivers.scanner import SerialScanner

            sc = config["scanner"]
            self.scanner = SerialScanner(sc["port"], baudrate=sc["baudrate"], suffix=sc["suffix"])
            devices["scanner"] = self.scanner
        api = config["session_api"]
        self.session_api = SessionAPI(self.kiosk, api["host"], api["port"])
        self.card_reader = None
        if config["card"]["enabled"]:
            from drivers.card import CardReader

            self.card_reader = CardReader(config["card"]["reader"] or None)
            self.kiosk.card_reader = self.card_reader
            devices["card"] = self.card_reader
        self.camera = None
        if config["camera"]["enabled"] or camera_source is not None:
            from drivers.camera import Camera

            source = config["camera"]["source"]
            if camera_source is not None:
                source = camera_source
            elif source.isdigit():
                source = int(source)
            self.camera = Camera(source, presence=config["camera"]["presence"])
            self.kiosk.camera = self.camera
            devices["camera"] = self.camera
        self.watchdog = Watchdog(
            self.kiosk,
            devices,
            poll_s=config["acceptor"]["poll_interval_ms"] / 1000 * 5,
            resolve_port=resolve_port,
            port_specs={"acceptor": config["acceptor"]["port"]},
            beat=liveness.beat,
        )
        self._tasks: list[asyncio.Task] = []
        self._heartbeat = None
        self._liveness = None
        self.config_files: tuple[str, ...] = ()
        self.started_monotonic = time.monotonic()

    async def _open(self, name: str, device) -> bool:
        try:
            await device.open()
        except DeviceError as exc:
            log_event(log, "device not available", logging.ERROR, device=name, error=str(exc))
            self.kiosk.board.seed(
                name, DeviceStatus(DeviceState.OFFLINE, ("open_failed",), str(exc))
            )
            return False
        self.kiosk.board.seed(name, device.status())
        log_event(log, "device open", device=name, **device.status().to_dict())
        return True

    async def start(self) -> str:
        for name, device in self.watchdog.devices.items():
            await self._open(name, device)
        # The session API first, so a screen can show "completing the last payment" while
        # recovery runs; intents are refused until it is done.
        url = await self.session_api.start()
        self.kiosk.outbox.check_clock = self.clock_trust.ensure  # recovery posts too
        await self.kiosk.start()
        self._heartbeat = await start_heartbeat(self)
        self.kiosk.maintenance = maintenance_for(self)
        # A final refusal of money already taken is an alarm the engineer sees at once.
        self.kiosk.outbox.on_alarm = self.kiosk.maintenance.raise_alarm
        if self.card_reader is not None:
            self.kiosk.maintenance.auth.card_check = self._engineer_card_check
        self._liveness = start_liveness(self, supervised=True)
        if self.scanner is not None:
            self._tasks.append(asyncio.create_task(self.kiosk.scanner_loop(self.scanner)))
        if self.camera is not None:
            self._tasks.append(asyncio.create_task(self.kiosk.camera_loop(self.camera)))
            self._tasks.append(asyncio.create_task(self._purge_photos()))
        self.watchdog.start()
        log_event(log, "core ready", session_api=url, journal=str(self.journal.path))
        notify("READY=1", f"STATUS=ready; session API {url}")
        return url

    async def _engineer_card_check(self, engineer_id: str) -> bool:
        """Second factor: the engineer's card answers a fresh challenge with its key."""
        keys = {}
        for entry in self.config["maintenance"]["engineer_card_keys"]:
            eid, _, key = entry.partition(":")
            keys[eid] = bytes.fromhex(key)
        try:
            result = await self.card_reader.engineer_login(keys.get)
        except Exception as exc:  # no card, wrong card, reader gone: refused, never a crash
            log_event(log, "engineer card check failed", logging.WARNING, error=str(exc))
            return False
        return result.ok and result.engineer_id == engineer_id

    async def _purge_photos(self) -> None:
        from drivers.camera import purge_audit_photos

        cam = self.config["camera"]
        while True:
            try:
                removed = purge_audit_photos(cam["photo_dir"], cam["keep_days"])
                if removed:
                    log_event(log, "audit photos purged", count=removed)
            except OSError as exc:
                log_event(log, "audit photo purge failed", logging.WARNING, error=str(exc))
            await asyncio.sleep(6 * 3600)

    async def stop(self) -> None:
        """Everything in order; a step that takes over a second is logged by name, so a slow
        shutdown (systemd's stop timeout, an upgrade's drain) says what held it."""
        if self._liveness is not None:
            self._liveness.stop()
        if self._heartbeat is not None:
            await _timed("heartbeat", self._heartbeat.stop())
        for task in self._tasks:
            task.cancel()
        await _timed("watchdog", self.watchdog.stop())
        await _timed("session api", self.session_api.stop())
        await _timed("kiosk", self.kiosk.stop())
        for task in self._tasks:
            task.cancel()
        for name, device in self.watchdog.devices.items():
            try:
                await _timed(f"close {name}", device.close())
            except Exception:
                log.exception("closing device failed")
        await _timed("central", self.central.close())
        self.journal.close()


async def _timed(step: str, work: Awaitable[Any]) -> None:
    started = time.monotonic()
    try:
        await work
    finally:
        took = time.monotonic() - started
        if took > 1.0:
            log_event(log, "slow shutdown step", logging.WARNING, step=step, took_s=round(took, 1))


async def run_core(config: dict, config_files: tuple[str, ...] = ()) -> int:
    setup_logging(config["logging"]["dir"], config["logging"]["level"], "core")
    Path(config["journal"]["path"]).parent.mkdir(parents=True, exist_ok=True)
    core = Core(config)
    core.config_files = config_files
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    url = await core.start()
    print(f"session-api: {url}", flush=True)
    await stop.wait()
    await core.stop()
    return exit_code(core)
