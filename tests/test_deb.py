"""The Debian package (debian/): the lock, the site template, the drain before an upgrade, and
the whole life of the .deb on this machine -- build, lintian, install, check-config and verify
from /opt/emitra-kiosk, the metrics agent (its config valid for promtool, its unit for
systemd-analyze, the token and labels written, Debian's prometheus.service masked), upgrade to a
rebuilt higher version with the journal, key, site.toml, the agent's files and an edited
conffile untouched, purge leaving nothing behind.

The life-cycle test is marked `deb` (deselect with -m "not deb"): it needs root, dpkg and apt,
and takes a few minutes. CI runs it as root on a fresh Debian 12 machine.
"""

from __future__ import annotations

import configparser
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from terminal.config import load_config

ROOT = Path(__file__).resolve().parent.parent
DRAIN = ROOT / "debian" / "emitra-kiosk-drain"
PREFIX = Path("/opt/emitra-kiosk")
KIOSK = PREFIX / ".venv" / "bin" / "emitra-kiosk"
STATE = Path("/var/lib/emitra-kiosk")
ETC = Path("/etc/emitra-kiosk")
POLICY_RC = Path("/usr/sbin/policy-rc.d")
AGENT_UNIT = Path("/lib/systemd/system/emitra-prometheus-agent.service")
PROMETHEUS_UNIT = Path("/etc/systemd/system/prometheus.service")  # the mask


def _requirement_names() -> set[str]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    lines = cfg["options"]["install_requires"].split("\n")
    return {re.split(r"[<>=!~\[; ]", line.strip())[0].lower() for line in lines if line.strip()}


def test_lock_pins_every_runtime_dependency_with_hashes():
    text = (ROOT / "requirements.lock").read_text()
    pins = dict(re.findall(r"^([A-Za-z0-9._-]+)==(\S+) \\$", text, re.M))
    names = {re.sub(r"[-_.]+", "-", n).lower() for n in pins}
    wanted = {re.sub(r"[-_.]+", "-", n) for n in _requirement_names()}
    assert wanted <= names, f"not in requirements.lock: {sorted(wanted - names)}"
    assert "pycryptodome" in wanted  # eSSP's encryption needs it at run time (issue 11)
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 3)[3])
    for block in blocks:
        assert "--hash=sha256:" in block, f"unhashed pin: {block.splitlines()[0]}"
    assert "--extra-index-url" not in text and "--find-links" not in text


def test_site_template_is_a_valid_config(tmp_path):
    template = (ROOT / "debian" / "conf" / "site.toml.template").read_text()
    assert template.count("@HEARTBEAT_TOKEN@") == 1
    site = tmp_path / "site.toml"
    site.write_text(template.replace("@HEARTBEAT_TOKEN@", "Zq8x0V3kT1mB7wN2pLr5"))
    config = load_config(site)
    assert config["journal"]["path"] == "/var/lib/emitra-kiosk/journal.sqlite"
    assert config["session_api"]["token_file"] == "/var/lib/emitra-kiosk/session.token"
    assert config["logging"]["dir"] == ""
    ui = load_config(ROOT / "debian" / "conf" / "ui.toml")
    assert ui["session_api"]["token_file"] == config["session_api"]["token_file"]


# ------------------------------------------------------------------ drain before an upgrade


class _Health(BaseHTTPRequestHandler):
    """The core's GET /health, behind its bearer token, answering from a script of documents."""

    script: list[dict] = []
    token = ""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path != "/health" or self.headers.get("Authorization") != f"Bearer {self.token}":
            self.send_response(401)
            self.end_headers()
            return
        doc = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        body = json.dumps(doc).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 - an older core: no /drain, so only idle is watched
        self.send_response(401 if self.headers.get("Authorization") != f"Bearer {self.token}"
                           else 404)
        self.end_headers()

    do_DELETE = do_POST  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


def _health(session: bool = False, depth: int = 0, maintenance: bool = False) -> dict:
    return {"session_in_progress": session, "outbox": {"depth": depth},
            "maintenance": {"active": maintenance}}


@pytest.fixture
def health_server(tmp_path):
    handler = type("Health", (_Health,), {"script": [], "token": "Zq8x0V3kT1mB7wN2pLr5"})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    site = tmp_path / "site.toml"
    site.write_text(
        f'[heartbeat]\nbind = "127.0.0.1"\nport = {server.server_address[1]}\n'
        f'token = "{handler.token}"\n'
    )
    yield handler, site
    server.shutdown()
    server.server_close()


def _drain(site: Path, timeout: float, *extra: str) -> subprocess.CompletedProcess:
    program = Path(sys.executable).parent / "emitra-kiosk"  # the kiosk's own config loader
    return subprocess.run(
        [sys.executable, str(DRAIN), "--always", "--config", str(site), "--program", str(program),
         "--timeout", str(timeout), "--interval", "0.05", *extra],
        capture_output=True, text=True, timeout=120,
    )


def test_drain_waits_for_the_session_maintenance_and_outbox(health_server):
    handler, site = health_server
    handler.script[:] = [_health(session=True)] * 3 + [_health(maintenance=True)] * 2 + [
        _health(depth=2)] * 2 + [_health()]
    done = _drain(site, 60)
    assert done.returncode == 0, done.stderr
    assert "a citizen session is in progress" in done.stderr
    assert "an engineer is in maintenance mode" in done.stderr
    assert "2 payment(s) not yet posted to central" in done.stderr
    assert "the core is idle" in done.stderr
    assert "no /drain (an older version)" in done.stderr
    assert handler.script == [_health()]  # it asked until the last document


def test_drain_gives_up_after_the_timeout_and_says_why(health_server):
    handler, site = health_server
    handler.script[:] = [_health(session=True, depth=1)]
    done = _drain(site, 0.5)
    assert done.returncode == 3
    assert "still busy after 0.5 s" in done.stderr and "going ahead anyway" in done.stderr


def test_drain_with_a_wrong_token_does_not_wait(health_server, tmp_path):
    handler, site = health_server
    handler.script[:] = [_health(session=True)]
    site.write_text(site.read_text().replace(handler.token, "another-long-token-1234"))
    done = _drain(site, 30)
    assert done.returncode == 4 and "cannot ask the core" in done.stderr


def test_drain_without_systemd_running_the_core_returns_at_once(health_server):
    handler, site = health_server
    handler.script[:] = [_health(session=True)]
    program = Path(sys.executable).parent / "emitra-kiosk"
    done = subprocess.run(
        [sys.executable, str(DRAIN), "--config", str(site), "--program", str(program),
         "--timeout", "30"], capture_output=True, text=True, timeout=60,
    )
    if Path("/run/systemd/system").is_dir():
        pytest.skip("systemd runs as init here: the unit's state decides")
    assert done.returncode == 0 and "not running: nothing to wait for" in done.stderr


# ------------------------------------------------------------------ the package's whole life


@pytest.mark.deb
@pytest.mark.timeout(900)
def test_build_lint_install_upgrade_purge(tmp_path):
    reasons = []
    if os.geteuid() != 0:
        reasons.append("not root")
    for tool in ("dpkg-buildpackage", "apt-get", "lintian", "dh"):
        if shutil.which(tool) is None:
            reasons.append(f"no {tool} (make apt installs debhelper, dpkg-dev, lintian)")
    if reasons:
        pytest.skip("the .deb test needs root and Debian's tools: " + "; ".join(reasons))
    installed = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", "emitra-kiosk"], capture_output=True, text=True
    ).stdout
    if "installed" in installed and "not-installed" not in installed:
        pytest.skip("emitra-kiosk is installed on this machine; the test would purge it")
    run_lifecycle(tmp_path)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    """A command that must succeed; its output is in the assertion message when it does not."""
    done = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, **kw)
    assert done.returncode == 0, f"{cmd} -> {done.returncode}\n{done.stdout[-3000:]}\n" \
                                 f"{done.stderr[-3000:]}"
    return done


def installed_packages() -> set[str]:
    out = run(["dpkg-query", "-W", "-f=${Package} ${Status}\n"]).stdout
    return {line.split()[0] for line in out.splitlines() if line.endswith(" installed")}


def as_kiosk(*args: str) -> subprocess.CompletedProcess:
    """The installed program as the core's user, from /tmp (as systemd would not run it)."""
    return subprocess.run(["runuser", "-u", "emitra", "--", *args], capture_output=True,
                          text=True, cwd="/tmp", stdin=subprocess.DEVNULL, timeout=120)


WRITE_JOURNAL = """
from terminal.journal import Journal
j = Journal("/var/lib/emitra-kiosk/journal.sqlite")
j.append("session_opened", "S-1", {"service": "electricity", "provider": "JVVNL",
                                   "consumer_number": "210412345678"})
j.append("credit", "S-1", {"note_id": "n1", "paise": 50000}, key="credit:S-1:n1")
j.append("credit", "S-1", {"note_id": "n2", "paise": 20000}, key="credit:S-1:n2")
j.append("settled", "S-1", {"txn_id": "T-1", "amount_paise": 64000, "voucher_id": "V-1",
                            "voucher_paise": 6000})
j.append("posted", "S-1", {"txn_id": "T-1", "receipt_no": "R1", "verification": "c"})
j.close()
"""

APT_ENV = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}


def build(tmp: Path, name: str, version: str | None = None) -> Path:
    env = {**os.environ, "PIP_CACHE_DIR": str(tmp / "pip-cache")}  # shared by both builds
    out = run([str(ROOT / "debian" / "make-deb"), str(tmp / name), *([version] if version else [])],
              env=env, timeout=600).stdout.strip().splitlines()[-1]
    deb = Path(out)
    assert deb.is_file() and deb.name.endswith("_all.deb"), out
    return deb


def check_installed(version: str) -> None:
    status = run(["dpkg-query", "-W", "-f=${Status} ${Version}", "emitra-kiosk"]).stdout
    assert status == f"install ok installed {version}"
    config = as_kiosk(str(KIOSK), "check-config", "--config", str(ETC / "site.toml"))
    assert config.returncode == 0, config.stderr
    loaded = json.loads(config.stdout)
    assert loaded["journal"]["path"] == str(STATE / "journal.sqlite")
    assert len(loaded["heartbeat"]["token"]) >= 20  # a random one, made by postinst
    assert not (PREFIX / ".venv.old").exists()


def verify_journal() -> dict:
    done = as_kiosk(str(KIOSK), "verify", "--config", str(ETC / "site.toml"))
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def kept_files() -> dict[str, str]:
    names = [STATE / "journal.sqlite", STATE / "journal.key", ETC / "site.toml",
             ETC / "ui.toml", Path("/etc/default/emitra-kiosk"), ETC / "heartbeat.token",
             ETC / "monitoring.env", ETC / "prometheus-agent.yml"]
    return {str(p): sha256(p) for p in names}


def check_agent(token: str) -> None:
    """The metrics agent as installed: config and unit valid for the real tools, the token
    file for its user only, the labels file, Debian's full server masked."""
    config = ETC / "prometheus-agent.yml"
    checked = run(["promtool", "check", "config", str(config)])
    assert "SUCCESS" in checked.stdout, checked.stdout + checked.stderr
    verify = subprocess.run(["systemd-analyze", "verify", str(AGENT_UNIT)],
                            capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0 and verify.stdout == verify.stderr == "", (
        verify.stdout + verify.stderr)
    hb = ETC / "heartbeat.token"
    assert hb.read_text() == token + "\n"
    assert oct(hb.stat().st_mode & 0o777) == "0o640"
    assert hb.owner() == "root" and hb.group() == "prometheus"
    labels = (ETC / "monitoring.env").read_text()
    # The template's placeholder id is no label: empty until [terminal] id is set.
    assert "EMITRA_TERMINAL_ID=\n" in labels and "EMITRA_DISTRICT=\n" in labels
    assert os.readlink(PROMETHEUS_UNIT) == "/dev/null"


def run_lifecycle(tmp: Path) -> None:
    before = installed_packages()
    masked_before = PROMETHEUS_UNIT.is_symlink() or PROMETHEUS_UNIT.exists()
    policy = None
    if Path("/run/systemd/system").is_dir() and not POLICY_RC.exists():
        # systemd is init here: deb-systemd-invoke would start the core. policy-rc.d says no.
        POLICY_RC.write_text("#!/bin/sh\nexit 101\n")
        POLICY_RC.chmod(0o755)
        policy = POLICY_RC
    try:
        _life(tmp)
    finally:
        subprocess.run(["apt-get", "purge", "-y", "emitra-kiosk"], env=APT_ENV,
                       capture_output=True, stdin=subprocess.DEVNULL)
        extra = sorted(installed_packages() - before)  # dependencies the test pulled in
        if extra:
            subprocess.run(["apt-get", "purge", "-y", *extra], env=APT_ENV,
                           capture_output=True, stdin=subprocess.DEVNULL)
        if policy is not None:
            policy.unlink()
    assert installed_packages() == before
    for gone in (PREFIX, ETC, STATE, Path("/var/lib/emitra-kiosk-ui"),
                 Path("/etc/systemd/system/multi-user.target.wants/emitra-kiosk.service"),
                 Path("/lib/systemd/system/emitra-kiosk.service"), AGENT_UNIT,
                 Path("/etc/systemd/system/multi-user.target.wants/"
                      "emitra-prometheus-agent.service"),
                 Path("/var/lib/emitra-prometheus-agent")):
        assert not gone.exists(), f"{gone} left after purge"
    if not masked_before:  # the mask postinst made is gone with the package
        assert not PROMETHEUS_UNIT.is_symlink() and not PROMETHEUS_UNIT.exists()
    for user in ("emitra", "emitra-ui"):
        assert subprocess.run(["getent", "passwd", user], capture_output=True).returncode == 2
        assert subprocess.run(["getent", "group", user], capture_output=True).returncode == 2


def _life(tmp: Path) -> None:
    first = build(tmp, "first")
    lint = subprocess.run(["lintian", "--display-info", "--fail-on", "error,warning,info",
                           str(first)], capture_output=True, text=True, timeout=300)
    tags = [line for line in lint.stdout.splitlines() if re.match(r"[EWI]: ", line)]
    assert lint.returncode == 0 and not tags, "\n".join(tags) or lint.stderr

    install = run(["apt-get", "install", "-y", "--no-install-recommends", f"./{first.name}"],
                  cwd=first.parent, env=APT_ENV, timeout=600)
    assert "wrote /etc/emitra-kiosk/site.toml" in install.stdout
    check_installed("0.1.0")
    conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", "emitra-kiosk"]).stdout
    for conffile in ("/etc/emitra-kiosk/ui.toml", "/etc/default/emitra-kiosk",
                     "/etc/systemd/timesyncd.conf.d/timesyncd-emitra.conf",
                     "/etc/emitra-kiosk/prometheus-agent.yml"):
        assert conffile in conffiles
    for per_kiosk in ("site.toml", "heartbeat.token", "monitoring.env"):
        assert per_kiosk not in conffiles  # secrets and labels: per kiosk, never shipped
    site = ETC / "site.toml"
    assert oct(site.stat().st_mode & 0o777) == "0o640" and site.group() == "emitra"
    assert STATE.owner() == "emitra" and oct(STATE.stat().st_mode & 0o777) == "0o750"
    # No journal yet: verify says so (2) instead of making an empty one.
    assert as_kiosk(str(KIOSK), "verify", "--config", str(site)).returncode == 2

    check_agent(json.loads(as_kiosk(str(KIOSK), "check-config", "--config",
                                    str(site)).stdout)["heartbeat"]["token"])
    # No core runs here (no systemd as init, or policy-rc.d): the undo postinst runs is a no-op.
    undo = run([str(PREFIX / "libexec" / "emitra-kiosk-drain"), "--undo"])
    assert "not running" in undo.stderr
    labels = ETC / "monitoring.env"  # the engineer sets the labels; an upgrade keeps them
    labels.write_text(labels.read_text().replace("EMITRA_DISTRICT=\n", "EMITRA_DISTRICT=Jaipur\n")
                      .replace("EMITRA_SITE=\n", 'EMITRA_SITE="Jaipur Collectorate"\n'))

    written = as_kiosk(str(PREFIX / ".venv" / "bin" / "python"), "-c", WRITE_JOURNAL)
    assert written.returncode == 0, written.stderr
    report = verify_journal()
    assert report["ok"] and (STATE / "journal.key").is_file()
    with open(ETC / "ui.toml", "a") as ui:  # a site's edit to a conffile
        ui.write("# this kiosk's own edit\n")
    kept = kept_files()

    second = build(tmp, "second", "0.1.0+upgrade1")
    run(["apt-get", "install", "-y", "--no-install-recommends", f"./{second.name}"],
        cwd=second.parent, env=APT_ENV, timeout=600)
    check_installed("0.1.0+upgrade1")
    assert kept_files() == kept, "the upgrade changed the journal, its key or the config"
    assert verify_journal() == report

    purge = subprocess.run(["apt-get", "purge", "-y", "emitra-kiosk"], env=APT_ENV,
                           capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert purge.returncode == 0, purge.stderr
