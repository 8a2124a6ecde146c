"""The fleet's monitoring files (monitoring/): the alert rules pass their promtool unit tests,
every alert says what to do and is tested firing, the agent's configuration and systemd unit
are valid for the real tools (promtool, systemd-analyze)."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
MON = ROOT / "monitoring"
RULES = sorted((MON / "rules").glob("*.yml"))
UNIT_TESTS = sorted((MON / "tests").glob("*.yml"))
AGENT_CONFIG = MON / "agent" / "prometheus-agent.yml"
AGENT_UNIT = MON / "systemd" / "emitra-prometheus-agent.service"

needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None,
    reason="promtool missing: install Debian's prometheus package (make test does)",
)

# What a field engineer must act on (issue 15), each with the alert that covers it.
REQUIRED = {
    "acceptor faulted for 10 minutes": "EmitraAcceptorFaulted",
    "printer faulted for 10 minutes": "EmitraPrinterFaulted",
    "paper low": "EmitraPaperLow",
    "paper out": "EmitraPaperOut",
    "cassette near full": "EmitraCassetteNearFull",
    "cassette removed outside a collection": "EmitraCassetteRemovedOutsideCollection",
    "out of service": "EmitraOutOfService",
    "heartbeat / remote write missing": "EmitraKioskNotReporting",
    "core not answering its agent": "EmitraCoreNotAnswering",
    "oldest unsent payment older than an hour": "EmitraPaymentUnsent",
    "journal disk low": "EmitraJournalDiskLow",
    "clock skew": "EmitraClockSkew",
    "repeated PIN lockouts": "EmitraRepeatedPinLockouts",
    "an upgrade's drain that never ends": "EmitraDrainStuck",
}


def alerts() -> dict[str, dict]:
    found = {}
    for path in RULES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                assert rule["alert"] not in found, f"{rule['alert']} defined twice"
                found[rule["alert"]] = rule
    return found


def run(*argv: str, cwd: Path = MON) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=60)


@needs_promtool
def test_rules_are_valid():
    result = run("promtool", "check", "rules", *map(str, RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULES)


@needs_promtool
def test_promtool_unit_tests_pass():
    result = run("promtool", "test", "rules", *(str(p.relative_to(MON)) for p in UNIT_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(UNIT_TESTS) >= 2


def test_every_required_alert_exists_and_says_what_to_do():
    rules = alerts()
    missing = {topic: name for topic, name in REQUIRED.items() if name not in rules}
    assert not missing
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in ("critical", "warning"), name
        notes = rule["annotations"]
        if not rule["expr"].startswith("absent("):  # per kiosk: the summary names it
            assert "{{ $labels.terminal_id }}" in notes["summary"], name
        assert len(notes["action"].split()) >= 12, f"{name}: the action says too little"


def test_every_alert_is_unit_tested_firing_and_silent():
    """Each alert has a promtool case where it fires and one where it must not."""
    fires, silent = set(), set()
    for path in UNIT_TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (fires if check["exp_alerts"] else silent).add(check["alertname"])
    assert set(alerts()) <= fires
    assert set(alerts()) <= silent


def test_readme_explains_every_alert():
    readme = (MON / "README.md").read_text()
    for name in alerts():
        assert f"### {name}" in readme, f"monitoring/README.md does not explain {name}"


def agent_config_for(tmp_path: Path) -> Path:
    """The shipped agent config with its credential files under tmp_path."""
    text = AGENT_CONFIG.read_text()
    for name in ("heartbeat.token", "remote-write.token"):
        (tmp_path / name).write_text("t0ken-for-the-check\n")
        old = f"/etc/emitra-kiosk/{name}"
        assert old in text
        text = text.replace(old, str(tmp_path / name))
    path = tmp_path / "prometheus-agent.yml"
    path.write_text(text)
    return path


@needs_promtool
def test_agent_config_is_valid(tmp_path):
    result = run("promtool", "check", "config", str(agent_config_for(tmp_path)))
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load(AGENT_CONFIG.read_text())
    assert set(config["global"]["external_labels"]) == {"terminal_id", "district", "site"}
    (scrape,) = [job for job in config["scrape_configs"] if job["job_name"] == "emitra-kiosk"]
    assert scrape["authorization"]["credentials_file"] == "/etc/emitra-kiosk/heartbeat.token"
    (target,) = config["remote_write"]
    assert target["url"].startswith("https://")


def unit_settings() -> dict[str, list[str]]:
    text = AGENT_UNIT.read_text().replace("\\\n", " ")
    settings: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def test_agent_unit_runs_an_agent_with_a_bounded_buffer():
    (exec_start,) = unit_settings()["ExecStart"]
    argv = exec_start.split()
    assert argv[0] == "/usr/bin/prometheus"
    assert "--enable-feature=agent,expand-external-labels" in argv
    assert "--config.file=/etc/emitra-kiosk/prometheus-agent.yml" in argv
    retention = [a for a in argv if a.startswith("--storage.agent.retention.max-time=")]
    assert retention and re.fullmatch(r".*=\d+h", retention[0])
    # The agent's own metrics are scraped by its config: same port as it listens on.
    listen = next(a for a in argv if a.startswith("--web.listen-address="))
    assert listen.split("=", 1)[1] in AGENT_CONFIG.read_text()
    assert unit_settings()["EnvironmentFile"] == ["/etc/emitra-kiosk/monitoring.env"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_agent_unit_verifies_without_a_word(tmp_path):
    """systemd-analyze verify exits 0 even for unknown keys, so any output is a failure.
    Where Prometheus is not installed a stand-in takes its path."""
    text = AGENT_UNIT.read_text()
    if not Path("/usr/bin/prometheus").exists():
        stand_in = tmp_path / "prometheus"
        stand_in.write_text("#!/bin/sh\nexit 0\n")
        stand_in.chmod(0o755)
        text = text.replace("/usr/bin/prometheus", str(stand_in))
    unit = tmp_path / AGENT_UNIT.name
    unit.write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0 and result.stdout == "" and result.stderr == "", (
        result.stdout + result.stderr
    )
