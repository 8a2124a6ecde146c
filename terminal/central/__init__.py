"""Talking to the central transaction API: a signed HTTP client and one adapter per dialect."""

from terminal.central.client import CentralClient, CentralError
from terminal.central.reference import ReferenceDialect

__all__ = ["CentralClient", "CentralError", "ReferenceDialect", "make_central"]


def make_central(config: dict) -> ReferenceDialect:
    """The dialect named in [central] dialect, over a signed client."""
    section = config["central"]
    client = CentralClient(
        section["url"], config["terminal"]["id"], section["secret"], timeout_s=section["timeout_s"]
    )
    return ReferenceDialect(client)
