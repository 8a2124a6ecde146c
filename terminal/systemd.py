"""sd_notify without a dependency: READY=1, WATCHDOG=1 and STATUS= to $NOTIFY_SOCKET."""

from __future__ import annotations

import os
import socket


def notify(*lines: str) -> bool:
    """Send lines to systemd; False when not run under systemd (no NOTIFY_SOCKET)."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.sendto("\n".join(lines).encode(), address)
        except OSError:
            return False
    return True
