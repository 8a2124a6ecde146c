"""`python -m screens --url ws://127.0.0.1:8700/session [--width 1280 --height 800] [--drive]`

Runs the touch screen against any session API (the real core, the demo) without the full
configuration; `--drive` adds the JSON-lines test driver on stdin/stdout (screens/drive.py).
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import signal
import sys

from screens.app import configure_kivy, run_async, ui_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m screens", description=__doc__)
    parser.add_argument("--url", default="ws://127.0.0.1:8700/session")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800)
    parser.add_argument("--language", choices=("hi", "en"), default="hi")
    parser.add_argument("--location", default="")
    parser.add_argument("--timezone", default="Asia/Kolkata", help="the header clock's zone")
    parser.add_argument("--voice", action="store_true")
    parser.add_argument("--pin-shuffle", action="store_true")
    parser.add_argument("--idle-return-s", type=float, default=60.0)
    parser.add_argument("--drive", action="store_true", help="take test commands on stdin")
    args = parser.parse_args(argv)
    config = {
        "terminal": {"language": args.language, "location": args.location,
                     "timezone": args.timezone},
        "ui": {
            "width": args.width,
            "height": args.height,
            "voice": args.voice,
            "pin_shuffle": args.pin_shuffle,
            "idle_return_s": args.idle_return_s,
        },
    }
    if hasattr(signal, "SIGUSR1"):
        faulthandler.register(signal.SIGUSR1, all_threads=True)  # where is it stuck?
    configure_kivy(ui_settings(config))
    factory = None
    if args.drive:
        from screens.drive import Driver

        factory = Driver
    return asyncio.run(run_async(config, url=args.url, driver_factory=factory))


if __name__ == "__main__":
    sys.exit(main())
