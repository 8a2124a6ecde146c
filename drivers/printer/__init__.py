"""Receipt printer drivers. Today: ESC/POS (python-escpos builds the bytes, we own the I/O)."""

from __future__ import annotations

from drivers.printer.escpos_driver import EscposPrinter, JobRenderer


def make_printer(**options) -> EscposPrinter:
    """A printer from config options (the keyword arguments of EscposPrinter).

    An optional "driver" key (only "escpos" exists) is accepted and removed; unknown keys raise
    TypeError naming them.
    """
    driver = options.pop("driver", "escpos")
    if driver != "escpos":
        raise ValueError(f"printer: unknown driver {driver!r} (known: escpos)")
    return EscposPrinter(**options)


__all__ = ["EscposPrinter", "JobRenderer", "make_printer"]
