"""The console script lives outside the core: `emitra-kiosk core` (and the core's other
commands) load no UI module — neither Kivy nor the screens package — checked in a fresh
process, where nothing else has imported them."""

from __future__ import annotations

import ast
import configparser
import importlib
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, sys
import terminal.cli
import emitra_kiosk.cli
from terminal.core import run_core  # what `emitra-kiosk core` runs
import terminal.heartbeat, terminal.maintenance, terminal.session_api
assert callable(run_core)
for argv in (["check-config"], ["verify", "--config", sys.argv[1]]):
    try:
        emitra_kiosk.cli.main(argv)
    except SystemExit:
        pass
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("kivy", "screens"))
print("@@" + json.dumps(loaded))
"""


def loaded_ui_modules(tmp_path: Path) -> list[str]:
    site = tmp_path / "site.toml"
    site.write_text(f'[journal]\npath = "{tmp_path / "none" / "journal.sqlite"}"\n')
    run = subprocess.run(
        [sys.executable, "-c", PROBE, str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    line = [ln for ln in run.stdout.splitlines() if ln.startswith("@@")][-1]
    return json.loads(line[2:])


def test_the_core_loads_no_ui_module(tmp_path):
    assert loaded_ui_modules(tmp_path) == []


def test_the_core_cli_imports_no_ui_module():
    """Not even inside a branch: only the launcher (emitra_kiosk/cli.py) imports the screen."""
    tree = ast.parse((ROOT / "terminal" / "cli.py").read_text())
    imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names]
    imported += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert not [m for m in imported if m.split(".")[0] in ("screens", "kivy")], imported


def test_the_console_script_is_the_launcher():
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    scripts = setup["options.entry_points"]["console_scripts"].strip().splitlines()
    target = dict(s.replace(" ", "").split("=") for s in scripts)["emitra-kiosk"]
    module, func = target.split(":")
    assert module == "emitra_kiosk.cli"
    assert callable(getattr(importlib.import_module(module), func))
    assert "emitra_kiosk*" in setup["options.packages.find"]["include"]
