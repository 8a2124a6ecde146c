"""The fleet's monitoring end to end, with the real binaries on loopback: a kiosk core on the
simulators, a Prometheus agent run as monitoring/systemd/emitra-prometheus-agent.service runs
it (its flags, monitoring/agent/prometheus-agent.yml with test ports and paths), and a Prometheus
server with the remote-write receiver, the fleet's alert rules and monitoring/server/'s storage
settings. A paid bill must arrive at the server by remote write with the kiosk's labels, and
every query of the Grafana dashboard must answer with data."""

import asyncio
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import time
from pathlib import Path

import aiohttp
import pytest
import yaml

from sim.demo import die_with_parent, pay_demo_bill, start_core, stop_core
from sim.rig import SimRig
from sim.session_client import SessionClient

ROOT = Path(__file__).resolve().parent.parent
MON = ROOT / "monitoring"
PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
TERMINAL = {"EMITRA_TERMINAL_ID": "RJ-JPR-0001", "EMITRA_DISTRICT": "Jaipur",
            "EMITRA_SITE": "Jaipur Collectorate"}
# Panels that show only trouble (an out-of-service kiosk, an open alarm): empty after the demo
# payment, then answered once the test makes that trouble.
EMPTY_IN_THE_DEMO = {"Machines out of service now, with reasons", "Open alarms"}
# Metrics with a series only while something is wrong (an open alarm, a detail word, a reason).
ONLY_IN_TROUBLE = {"emitra_alarm", "emitra_device_detail", "emitra_service_unavailable_reason",
                   "emitra_out_of_service_reason"}  # series only while a reason holds

pytestmark = pytest.mark.skipif(
    PROMETHEUS is None or PROMTOOL is None,
    reason="prometheus/promtool missing: install Debian's prometheus package (make test does)",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def agent_argv(config: Path, data: Path, port: int) -> list[str]:
    """The unit's ExecStart with this test's config, WAL folder and port."""
    text = (MON / "systemd" / "emitra-prometheus-agent.service").read_text()
    line = next(x for x in text.replace("\\\n", " ").splitlines() if x.startswith("ExecStart="))
    values = {"--config.file": config, "--storage.agent.path": data,
              "--web.listen-address": f"127.0.0.1:{port}"}
    argv = []
    for arg in shlex.split(line.partition("=")[2]):
        name = arg.partition("=")[0]
        argv.append(f"{name}={values.pop(name)}" if name in values else arg)
    assert not values, f"the unit lost its flags {values}"
    return argv


def agent_config(tmp: Path, token: str, core_port: int, agent_port: int, server: str) -> Path:
    config = yaml.safe_load((MON / "agent" / "prometheus-agent.yml").read_text())
    config["global"].update(scrape_interval="1s", scrape_timeout="1s")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    (tmp / "heartbeat.token").write_text(token)
    (tmp / "remote-write.token").write_text("receiver-token")
    jobs["emitra-kiosk"]["static_configs"] = [{"targets": [f"127.0.0.1:{core_port}"]}]
    jobs["emitra-kiosk"]["authorization"]["credentials_file"] = str(tmp / "heartbeat.token")
    jobs["emitra-agent"]["static_configs"] = [{"targets": [f"127.0.0.1:{agent_port}"]}]
    (remote,) = config["remote_write"]
    remote["url"] = f"{server}/api/v1/write"
    remote["authorization"]["credentials_file"] = str(tmp / "remote-write.token")
    remote["queue_config"]["batch_send_deadline"] = "1s"
    path = tmp / "agent.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def server_config(tmp: Path) -> Path:
    config = yaml.safe_load((MON / "server" / "prometheus.yml").read_text())
    config["global"]["evaluation_interval"] = "1s"
    config["rule_files"] = [str(MON / "rules" / "*.yml")]
    path = tmp / "server.yml"
    path.write_text(yaml.safe_dump(config))
    return path


async def spawn(argv: list[str], log: Path, env: dict | None = None):
    return await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.DEVNULL, stderr=open(log, "ab"),  # noqa: SIM115
        env={**os.environ, **(env or {})}, preexec_fn=die_with_parent(),
    )


async def until(what: str, probe, timeout: float, logs: list[Path]):
    """probe() until it returns something truthy; on time out, say what and show the logs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await probe()
        if value:
            return value
        await asyncio.sleep(0.3)
    tails = "\n".join(f"--- {p.name}\n{p.read_text()[-1500:]}" for p in logs if p.exists())
    raise AssertionError(f"{what}: not within {timeout} s\n{tails}")


class Server:
    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http, self.url = http, url

    async def ready(self) -> bool:
        try:
            async with self.http.get(self.url + "/-/ready") as r:
                return r.status == 200
        except aiohttp.ClientError:
            return False

    async def api(self, path: str, **params: str) -> dict:
        async with self.http.get(f"{self.url}/api/v1/{path}", params=params) as r:
            body = await r.json()
        assert body["status"] == "success", (path, params, body)
        return body["data"]

    async def query(self, expr: str) -> list[dict]:
        return (await self.api("query", query=expr))["result"]


def rule_metric_names() -> set[str]:
    names = set()
    for path in (MON / "rules").glob("*.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                names |= set(re.findall(r"\b(emitra_[a-z_]+|up)\b", rule["expr"]))
    return names


def dashboard_queries() -> list[tuple[str, str]]:
    board = json.loads((MON / "grafana" / "dashboards" / "emitra-fleet.json").read_text())
    every = [(p["title"], t["expr"]) for p in board["panels"] for t in p["targets"]]
    assert len(every) >= 10
    # Grafana's "All" for the district variable is its allValue.
    return [(title, expr.replace("$district", ".*")) for title, expr in every]


async def test_kiosk_metrics_reach_the_server_by_remote_write(tmp_path):
    rig = SimRig(tmp_path / "kiosk")
    await rig.start()
    ports = {name: free_port() for name in ("core", "agent", "server")}
    site = rig.write_config(tmp_path / "site.toml", heartbeat={"port": ports["core"]})
    server_url = f"http://127.0.0.1:{ports['server']}"
    logs = [tmp_path / "server.log", tmp_path / "agent.log"]
    procs: list = []
    try:
        core, session_url = await start_core(site, tmp_path / "kiosk")
        procs.append(core)
        async with aiohttp.ClientSession() as http:
            # A real scrape passes promtool's lint of names, types and help texts.
            headers = {"Authorization": f"Bearer {rig.heartbeat_token}"}
            async with http.get(f"http://127.0.0.1:{ports['core']}/metrics", headers=headers) as r:
                assert r.status == 200
                scrape = await r.read()
            lint = subprocess.run([PROMTOOL, "check", "metrics"], input=scrape,
                                  capture_output=True, timeout=30)
            assert lint.returncode == 0 and not lint.stdout and not lint.stderr, lint

            procs.append(await spawn([
                PROMETHEUS, f"--config.file={server_config(tmp_path)}",
                f"--storage.tsdb.path={tmp_path / 'server-data'}",
                f"--web.listen-address=127.0.0.1:{ports['server']}",
                "--web.enable-remote-write-receiver", "--log.level=warn",
            ], logs[0]))
            cfg = agent_config(tmp_path, rig.heartbeat_token, ports["core"], ports["agent"],
                               server_url)
            procs.append(await spawn(agent_argv(cfg, tmp_path / "agent-wal", ports["agent"]),
                                     logs[1], env=TERMINAL))
            server = Server(http, server_url)
            await until("the server ready", server.ready, 20, logs)

            async with SessionClient(session_url) as citizen:
                await pay_demo_bill(citizen, rig)  # ₹500 + ₹200 in the cassette

            kiosk = 'terminal_id="RJ-JPR-0001"'
            (info,) = await until(
                "emitra_kiosk_info by remote write",
                lambda: server.query(f"emitra_kiosk_info{{{kiosk}}}"), 20, logs)
            labels = info["metric"]
            assert labels["job"] == "emitra-kiosk"
            assert (labels["district"], labels["site"]) == ("Jaipur", "Jaipur Collectorate")
            assert "instance" not in labels  # the same loopback address on every kiosk

            async def paid():
                got = await server.query(
                    f"emitra_payments_total{{{kiosk}}} == 1 and on (terminal_id)"
                    f" emitra_cash_box_paise{{{kiosk}}} == 70000")
                return got
            await until("the paid bill in the server's metrics", paid, 20, logs)

            for title, expr in dashboard_queries():
                if title in EMPTY_IN_THE_DEMO:
                    await server.query(expr)  # valid PromQL, answered
                    continue
                await until(f"panel {title!r}: {expr}", lambda e=expr: server.query(e), 15, logs)
            districts = await server.api(
                "label/district/values", **{"match[]": 'emitra_kiosk_info{job="emitra-kiosk"}'})
            assert districts == ["Jaipur"]

            # Every metric the alerts read arrives (a rename in terminal/metrics.py fails here).
            arrived = set(await server.api("label/__name__/values"))
            assert rule_metric_names() - ONLY_IN_TROUBLE <= arrived, arrived

            # The fleet's rules load and evaluate on real data without an error.
            groups = (await server.api("rules"))["groups"]
            rules = [rule for g in groups for rule in g["rules"]]
            assert len(rules) >= 15
            assert all(rule["health"] == "ok" for rule in rules), rules
            firing = await server.query('ALERTS{alertstate="firing"}')
            assert firing == [], firing

            # Then trouble, as a field engineer meets it: the printer runs out of paper (the
            # kiosk takes no payment) and the cassette is pulled outside a collection (an
            # alarm). The two panels that show only trouble answer with it.
            rig.printer_sim.set_paper("out")
            rig.acceptor_sim.remove_cassette()
            for title, expr in dashboard_queries():
                if title in EMPTY_IN_THE_DEMO:
                    await until(f"panel {title!r} in trouble: {expr}",
                                lambda e=expr: server.query(e), 30, logs)
    finally:
        for proc in reversed(procs):
            await stop_core(proc)
        await rig.stop()
