"""Serial / USB-CDC 2D scanner driver (one payload per line)."""

from drivers.scanner.serial_scanner import (
    MAX_LINE,
    LineError,
    LineFramer,
    Scanned,
    SerialScanner,
    suffix_bytes,
)

__all__ = ["MAX_LINE", "LineError", "LineFramer", "Scanned", "SerialScanner", "suffix_bytes"]
