"""`python -m bench AREA` prints `name: value unit` lines; `python -m bench all` runs every area."""

from __future__ import annotations

import importlib
import sys

AREAS = ("printer", "qr", "ui", "journal", "payment", "outbox", "soak", "voice")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(f"usage: python -m bench AREA   (AREA: {', '.join(AREAS)}, all)")
        return 0 if argv else 2
    areas = AREAS if argv[0] == "all" else tuple(argv)
    for area in areas:
        if area not in AREAS:
            print(f"bench: unknown area {area!r}; areas: {', '.join(AREAS)}", file=sys.stderr)
            return 2
        try:
            module = importlib.import_module(f"bench.{area}")
        except ModuleNotFoundError as exc:
            print(f"# {area}: not available ({exc})", file=sys.stderr)
            continue
        module.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
