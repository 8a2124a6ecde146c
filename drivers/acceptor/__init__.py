"""Banknote acceptor drivers, one module family per protocol.

`make_acceptor("ccnet", "/dev/ttyUSB0", country="INR")` builds the driver the config names.
Protocols are imported lazily so a kiosk only loads the one it uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from drivers.acceptor.ccnet import CCNETAcceptor
    from drivers.base import BanknoteAcceptor

PROTOCOLS = ("ccnet", "essp")


def make_acceptor(protocol: str, port: str, **options: Any) -> BanknoteAcceptor:
    """A banknote acceptor driver for `protocol` on `port`; options go to its constructor."""
    name = protocol.strip().lower()
    if name == "ccnet":
        from drivers.acceptor.ccnet import CCNETAcceptor

        return CCNETAcceptor(port, **options)
    if name == "essp":
        from drivers.acceptor.essp import ESSPAcceptor

        return ESSPAcceptor(port, **options)
    raise ValueError(f"unknown banknote acceptor protocol {protocol!r}; known: {PROTOCOLS}")


def __getattr__(name: str) -> Any:
    if name == "CCNETAcceptor":
        from drivers.acceptor.ccnet import CCNETAcceptor

        return CCNETAcceptor
    if name == "ESSPAcceptor":
        from drivers.acceptor.essp import ESSPAcceptor

        return ESSPAcceptor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["CCNETAcceptor", "ESSPAcceptor", "PROTOCOLS", "make_acceptor"]
