"""systemd integration: the units verify cleanly, the udev rules and install script are sound,
and the watchdog pings (to a fake NOTIFY_SOCKET) stop when the loop hangs or the supervisor
stops beating."""

import asyncio
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from harness import KioskHarness

from terminal import liveness
from terminal.config import load_config
from terminal.liveness import Liveness, start_liveness, watchdog_interval

SYSTEMD = Path(__file__).resolve().parent.parent / "systemd"
UNITS = ("emitra-kiosk.service", "emitra-kiosk-ui.service")
PROGRAMS = ("/opt/emitra-kiosk/.venv/bin/emitra-kiosk", "/usr/bin/cage")


# -------------------------------------------------------------------- unit files


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
@pytest.mark.parametrize("unit", UNITS)
def test_unit_verifies_without_a_word(tmp_path, unit):
    """systemd-analyze verify exits 0 even for unknown keys, so any output is a failure.
    The programs in ExecStart must exist: stand-ins are made under tmp_path."""
    text = (SYSTEMD / unit).read_text()
    for program in PROGRAMS:
        stand_in = tmp_path / "root" / program.lstrip("/")
        stand_in.parent.mkdir(parents=True, exist_ok=True)
        stand_in.write_text("#!/bin/sh\nexit 0\n")
        stand_in.chmod(0o755)
        text = text.replace(program, str(stand_in))
    for other in UNITS:  # the UI unit Requires= the core: both in the same directory
        if other != unit:
            (tmp_path / other).write_text((SYSTEMD / other).read_text())
    (tmp_path / unit).write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / unit)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0 and result.stdout == "" and result.stderr == "", (
        result.stdout + result.stderr
    )


def test_core_unit_has_the_required_settings():
    settings = {}
    for line in (SYSTEMD / "emitra-kiosk.service").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), value.strip())
    assert settings["Type"] == "notify" and settings["NotifyAccess"] == "main"
    assert settings["WatchdogSec"] == "30" and settings["Restart"] == "always"
    assert settings["RestartSec"] == "2" and settings["User"] == "emitra"
    assert settings["NoNewPrivileges"] == "yes" and settings["ProtectSystem"] == "strict"
    assert settings["PrivateTmp"] == "yes" and settings["ProtectHome"] == "yes"
    assert settings["SupplementaryGroups"] == "dialout"
    assert settings["ReadWritePaths"].split() == [
        "/var/lib/emitra-kiosk",
        "/var/lib/emitra-kiosk/photos",
    ]
    assert settings["ExecStart"] == (
        "/opt/emitra-kiosk/.venv/bin/emitra-kiosk core --config /etc/emitra-kiosk/site.toml"
    )
    assert "PrivateDevices" not in settings  # the serial devices must stay reachable
    ui = (SYSTEMD / "emitra-kiosk-ui.service").read_text()
    assert "Requires=emitra-kiosk.service" in ui and "Restart=always" in ui
    assert re.search(r"^ExecStart=/usr/bin/cage .*-- .*emitra-kiosk ui", ui, re.M)


_UDEV_PAIR = re.compile(
    r'^\s*(?P<key>[A-Z_]+)(?:\{(?P<attr>[^}]+)\})?\s*(?P<op>==|!=|\+=|-=|:=|=)\s*"(?P<val>[^"]*)"\s*$'
)
_UDEV_MATCH = {"SUBSYSTEM", "KERNEL", "KERNELS", "ATTR", "ATTRS", "ENV", "DRIVERS", "ACTION"}
_UDEV_ASSIGN = {"SYMLINK", "GROUP", "MODE", "OWNER", "ENV", "TAG"}


def test_udev_rules_parse_and_name_every_device():
    names = set()
    for number, line in enumerate((SYSTEMD / "99-emitra-kiosk.rules").read_text().splitlines()):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        matches = assigns = 0
        for pair in line.split(", "):
            m = _UDEV_PAIR.match(pair)
            assert m, f"line {number + 1}: cannot parse {pair!r}"
            key, op = m["key"], m["op"]
            if op in ("==", "!="):
                assert key in _UDEV_MATCH, f"line {number + 1}: {key} is not a match key"
                matches += 1
            else:
                assert key in _UDEV_ASSIGN, f"line {number + 1}: {key} is not assignable"
                assigns += 1
            if key in ("ATTRS", "ATTR") and m["attr"] in ("idVendor", "idProduct"):
                assert re.fullmatch(r"[0-9a-f]{4}", m["val"]), line
            if key == "SYMLINK":
                names.add(m["val"])
            if key == "MODE":
                assert m["val"] == "0660"
        assert matches and assigns, f"line {number + 1} matches or assigns nothing"
    assert names == {"emitra-acceptor", "emitra-printer", "emitra-scanner"}


def test_install_script_and_journald_conf(tmp_path):
    script = SYSTEMD / "install.sh"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in text
    # The site file the package writes (once, debian/emitra-kiosk.postinst) is a valid config.
    template = (SYSTEMD.parent / "debian" / "conf" / "site.toml.template").read_text()
    (tmp_path / "site.toml").write_text(template.replace("@HEARTBEAT_TOKEN@", "t0k3n"))
    config = load_config(tmp_path / "site.toml")
    assert config["journal"]["path"] == "/var/lib/emitra-kiosk/journal.sqlite"
    assert config["logging"]["dir"] == ""
    load_config(SYSTEMD.parent / "debian" / "conf" / "ui.toml")

    conf = (SYSTEMD / "journald-emitra.conf").read_text().splitlines()
    body = [line for line in conf if line.strip() and not line.startswith("#")]
    assert body[0] == "[Journal]"
    keys = dict(line.split("=", 1) for line in body[1:])
    assert keys["SystemMaxUse"] and keys["Storage"] == "persistent"
    known = {
        "Storage",
        "Compress",
        "SystemMaxUse",
        "SystemMaxFileSize",
        "SystemKeepFree",
        "MaxRetentionSec",
        "RateLimitIntervalSec",
        "RateLimitBurst",
        "SyncIntervalSec",
        "ForwardToSyslog",
    }
    assert set(keys) <= known


# -------------------------------------------------------------------- the watchdog pinger


class FakeNotifySocket:
    """A bound AF_UNIX datagram socket standing in for systemd; a thread timestamps arrivals
    (it keeps running while the event loop is blocked)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="nfy")  # short: AF_UNIX paths max ~107 bytes
        self.path = str(Path(self.dir) / "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.05)
        self.messages: list[tuple[float, str]] = []
        self._stop = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        while not self._stop:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.messages.append((time.monotonic(), data.decode()))

    def pings(self, start=0.0, end=float("inf")):
        return [t for t, m in self.messages if "WATCHDOG=1" in m.split("\n") and start <= t < end]

    def lines(self, prefix):
        return [line for _, m in self.messages for line in m.split("\n") if line.startswith(prefix)]

    def close(self):
        self._stop = True
        self._thread.join(1)
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def notify_socket(monkeypatch):
    fake = FakeNotifySocket()
    monkeypatch.setenv("NOTIFY_SOCKET", fake.path)
    yield fake
    fake.close()


async def beat_forever(period=0.05):
    while True:
        liveness.beat()
        await asyncio.sleep(period)


def test_ping_interval_is_half_watchdog_sec(monkeypatch):
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert watchdog_interval({}) == 10.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}) == 10.0


async def test_pings_stop_while_the_loop_is_blocked(notify_socket):
    supervisor = asyncio.create_task(beat_forever())
    live = Liveness(
        interval_s=0.1, max_lag_s=0.3, supervisor_max_age_s=0.5, status=lambda: "all good"
    ).start()
    try:
        await asyncio.sleep(0.6)
        assert len(notify_socket.pings()) >= 4  # healthy: one every 0.1 s
        assert "STATUS=all good" in notify_socket.lines("STATUS=")

        blocked_at = time.monotonic()
        time.sleep(1.0)  # a callback that hangs the loop
        unblocked_at = time.monotonic()
        await asyncio.sleep(0.05)
        assert notify_socket.pings(blocked_at + 0.02, unblocked_at) == []
        # The first decision after the stall withholds the ping and says why.
        assert any("event loop blocked" in s for s in notify_socket.lines("STATUS=NOT HEALTHY"))
        assert live.withheld >= 1
        await asyncio.sleep(0.5)
        assert len(notify_socket.pings(unblocked_at)) >= 2  # and the pings come back
    finally:
        live.stop()
        supervisor.cancel()


async def test_pings_stop_when_the_supervisor_stops_beating(notify_socket):
    supervisor = asyncio.create_task(beat_forever())
    live = Liveness(
        interval_s=0.1, max_lag_s=0.3, supervisor_max_age_s=0.3, status=lambda: "ok"
    ).start()
    try:
        await asyncio.sleep(0.4)
        assert notify_socket.pings()
        supervisor.cancel()
        stopped_at = time.monotonic()
        await asyncio.sleep(1.0)
        late = notify_socket.pings(stopped_at + 0.3 + 0.15)
        assert late == [], f"{len(late)} pings after the supervisor went silent"
        assert any(
            "device supervisor silent" in s for s in notify_socket.lines("STATUS=NOT HEALTHY")
        )
        supervisor = asyncio.create_task(beat_forever())
        resumed_at = time.monotonic()
        await asyncio.sleep(0.4)
        assert notify_socket.pings(resumed_at)
    finally:
        live.stop()
        supervisor.cancel()


async def test_core_sends_ready_and_status_with_a_summary(tmp_path, notify_socket):
    async with KioskHarness(tmp_path) as h:
        live = start_liveness(h.core, supervised=False, interval_s=0.1)
        try:
            await asyncio.sleep(0.3)
        finally:
            live.stop()
    assert any(line == "READY=1" for line in notify_socket.lines("READY="))
    assert notify_socket.pings()
    status = notify_socket.lines("STATUS=")[-1]
    assert "screen IDLE" in status and "acceptor online" in status and "\n" not in status


async def test_status_line_names_every_out_of_service_reason(tmp_path):
    from drivers.base import DeviceState, DeviceStatus
    from terminal.liveness import status_line
    from terminal.service_mode import CONTROL_ROOM

    async with KioskHarness(tmp_path) as h:
        kiosk = h.core.kiosk
        assert status_line(h.core).startswith("in service; screen IDLE")
        kiosk.board.set("printer", DeviceStatus(DeviceState.USER_ERROR, ("paper_out",)))
        kiosk.service_mode.take_out(CONTROL_ROOM)
        line = status_line(h.core)
        assert line.startswith("out of service (control_room, device)"), line
        assert "printer user_error/paper_out" in line


def test_an_earlier_cores_beat_is_not_taken_for_a_silent_supervisor():
    """Two cores in one process (tests, benches): the first one's last beat, long ago, must not
    make the second one's liveness withhold pings before its own supervisor had a chance."""
    now = [1000.0]
    liveness.beat()  # the earlier core's supervisor, then that core stops
    live = liveness.Liveness(supervised=True, interval_s=10, clock=lambda: now[0])
    now[0] += 5  # inside the grace period of 2 intervals
    assert live.healthy() == (True, "")
    now[0] += 30  # past it, and still no beat of ours: silent
    ok, reason = live.healthy()
    assert not ok and reason == "device supervisor silent 35s"
