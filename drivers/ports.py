"""Finding a serial device again after it was unplugged and came back under another name.

A port spec is either a path (best: the udev rule's stable name, /dev/emitra-acceptor, which
follows the device to its new /dev/ttyUSBn) or `usb:VID:PID[:SERIAL]`, looked up in the list of
ports each time the device is (re)opened.
"""

from __future__ import annotations

from serial.tools import list_ports

from drivers.base import DeviceError


def resolve_port(spec: str) -> str:
    """The device path for a port spec. Raises DeviceError when a USB id matches nothing."""
    if not spec.startswith("usb:"):
        return spec
    parts = spec.split(":")
    if len(parts) not in (3, 4):
        raise DeviceError(f"port {spec!r}: expected usb:VID:PID or usb:VID:PID:SERIAL (hex ids)")
    try:
        vid, pid = int(parts[1], 16), int(parts[2], 16)
    except ValueError:
        raise DeviceError(f"port {spec!r}: USB ids must be hex, e.g. usb:0403:6001") from None
    serial_number = parts[3] if len(parts) == 4 else None
    for port in sorted(list_ports.comports(), key=lambda p: p.device):
        if port.vid == vid and port.pid == pid and (
            serial_number is None or port.serial_number == serial_number
        ):
            return port.device
    raise DeviceError(f"no serial device with USB id {spec[4:]} is plugged in")
