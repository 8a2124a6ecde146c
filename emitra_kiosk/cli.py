"""`emitra-kiosk`, the console script (setup.cfg): core, ui, verify, check-config, hash-pin.

The core's commands are terminal/cli.py's; only `ui` is added here, and only its branch imports
the screen (screens.app, Kivy). `emitra-kiosk core` therefore loads no UI module: a test checks
sys.modules in a fresh process (tests/test_cli_imports.py).
"""

from __future__ import annotations

import sys

from terminal import cli as core_cli


def run_ui(config: dict) -> int:
    """`emitra-kiosk ui`: the Kivy touch screen, a client of the core's session API."""
    from screens.app import run_ui as run_screen

    return run_screen(config)


def main(argv: list[str] | None = None) -> int:
    return core_cli.main(argv, ui=run_ui)


if __name__ == "__main__":
    sys.exit(main())
