"""`emitra-kiosk`: core (devices and money), ui (the Kivy screen), verify (journal check)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from terminal.config import ConfigError, load_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="emitra-kiosk", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("core", "run the core: devices, journal, money, session API"),
        ("ui", "run the Kivy touch screen (a client of the core's session API)"),
        ("verify", "check the journal: every credited paise is paid, a voucher or pending"),
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
        from terminal.maintenance import hash_pin_cli

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
        from terminal.invariant import check_journal
        from terminal.journal import Journal

        report = check_journal(Journal(config["journal"]["path"]))
        print(json.dumps(report, indent=2))
        return 0 if report["ok"] else 1
    if args.command == "ui":
        from screens.app import run_ui

        return run_ui(config)
    return 2


if __name__ == "__main__":
    sys.exit(main())
