"""`emitra-kiosk`: core (devices and money), ui (the Kivy screen), verify (journal check).

The console script is emitra_kiosk/cli.py, outside the core: it adds the screen. This module
names no UI module; `python -m terminal.cli ui` still works, through that launcher.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path

from terminal.config import ConfigError, load_config


def main(argv: list[str] | None = None, ui: Callable[[dict], int] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="emitra-kiosk", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("core", "run the core: devices, journal, money, session API"),
        ("ui", "run the Kivy touch screen (a client of the core's session API)"),
        (
            "verify",
            "check the journal: every credited paise is paid, a voucher or pending, and "
            "the cash counted at each collection matches the credits",
        ),
        ("check-config", "load and validate the configuration, print it as JSON"),
        ("hash-pin", "make a [maintenance] pin_hash from a PIN (asked twice, or on stdin)"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument(
            "--config",
            action="append",
            default=[],
            help="site TOML file(s) overriding config/default.toml",
        )
    args = parser.parse_args(argv)
    if args.command == "hash-pin":
        from terminal.engineer_auth import hash_pin_cli

        return hash_pin_cli()
    try:
        config = load_config(*args.config)
    except ConfigError as exc:
        print(f"emitra-kiosk: configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "check-config":
        print(json.dumps(config, indent=2, ensure_ascii=False))
        return 0
    if args.command == "core":
        from terminal.core import run_core

        return asyncio.run(run_core(config, tuple(args.config)))
    if args.command == "verify":
        return verify(config["journal"]["path"])
    if args.command == "ui":
        if ui is None:  # `python -m terminal.cli ui`: the launcher knows the screen
            from emitra_kiosk.cli import run_ui as ui
        return ui(config)
    return 2


def verify(path: str | Path) -> int:
    """The journal against itself (terminal/invariant.py) and against the cassette: counts and
    device counters at each collection (terminal/reconcile.py). 0 ok, 1 problems, 2 no journal.

    A missing journal is an error, never an empty "ok": opening it would create one."""
    from terminal.invariant import check_journal, check_projections
    from terminal.journal import Journal
    from terminal.reconcile import reconcile_journal

    path = Path(path)
    if not path.is_file():
        print(f"emitra-kiosk: verify: no journal at {path} (check [journal] path)", file=sys.stderr)
        return 2
    try:
        journal = Journal(path)
    except Exception as exc:  # not a journal, or its key is missing: say so, do not guess
        print(f"emitra-kiosk: verify: cannot open the journal {path}: {exc}", file=sys.stderr)
        return 2
    try:
        money = check_journal(journal)
        cash = reconcile_journal(journal)
        projected = check_projections(journal)  # the projection tables against the full fold
        money["ok"] = money["ok"] and projected["ok"]
        money["problems"] += projected["problems"]
    finally:
        journal.close()
    report = {
        **money,
        "ok": bool(money["ok"] and cash["ok"]),
        "problems": [*money["problems"], *cash["problems"]],
        "cash": cash,
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))
    for problem in report["problems"]:
        print(f"emitra-kiosk: verify: {problem}", file=sys.stderr)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
