"""Talking to the central transaction API: a signed HTTP client and one adapter per dialect."""

from __future__ import annotations

from terminal.central.client import CentralClient, CentralError
from terminal.central.reference import ReferenceDialect

__all__ = ["CentralClient", "CentralError", "ReferenceDialect", "make_central"]


def make_central(config: dict) -> ReferenceDialect:
    """The dialect named in [central] dialect, over a signed client. The e-Mitra back-to-back
    dialect has the same methods (terminal/central/emitra_b2b.py)."""
    section = config["central"]
    client = CentralClient(
        section["url"], config["terminal"]["id"], section["secret"], timeout_s=section["timeout_s"]
    )
    reference = ReferenceDialect(client)
    if section["dialect"] != "emitra_b2b":
        return reference
    from terminal.central.emitra_b2b import EmitraB2BDialect
    from terminal.central.emitra_b2b_setup import load_secrets, parse_services
    from terminal.central.emitra_b2b_wire import B2BWire

    wire = B2BWire(section["emitra_url"] or section["url"], section["timeout_s"])
    dialect = EmitraB2BDialect(
        reference, wire, load_secrets(section), parse_services(section["emitra_services"])
    )
    return dialect  # type: ignore[return-value] - same methods, duck-typed like the tests' stubs
