"""`python -m sim NAME`: run one simulator standalone, or the whole demo.

  central                   the reference central transaction API
  acceptor [--protocol P]   a banknote acceptor on a pty (ccnet | essp)
  printer --out DIR         an ESC/POS receipt printer on a pty, one PNG per receipt
  scanner [--suffix cr|crlf|lf]   a serial QR scanner on a pty; scans stdin lines
  card [--kind emv|engineer] [--pin P]   a virtual EMV (RuPay) / engineer card in vpcd's reader
  demo [--headless]         central + devices + the real core, paying a bill end to end
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name == "central":
        from sim.central.server import main as run
    elif name == "acceptor":
        protocol = "ccnet"
        if "--protocol" in rest:
            i = rest.index("--protocol")
            protocol = rest[i + 1] if i + 1 < len(rest) else ""
            del rest[i : i + 2]
        if protocol == "ccnet":
            from sim.devices.ccnet import main as run
        elif protocol == "essp":
            from sim.devices.essp import main as run
        else:
            print(f"sim acceptor: unknown protocol {protocol!r} (ccnet, essp)", file=sys.stderr)
            return 2
    elif name == "printer":
        from sim.devices.escpos_printer import main as run
    elif name == "scanner":
        from sim.devices.scanner import main as run
    elif name == "card":
        from sim.devices.card import main as run
    elif name == "demo":
        from sim.demo import main as run
    else:
        print(f"sim: unknown simulator {name!r}\n{__doc__}", file=sys.stderr)
        return 2
    return run(rest) or 0


if __name__ == "__main__":
    sys.exit(main())
