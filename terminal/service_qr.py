"""QR codes of ours that lead into a citizen service rather than a payment: the
acknowledgement slip's "EMITRA1|A|<application number>" (status) and a certificate's
"EMITRA1|C|<certificate number>|<code>" (verify). Kept apart from terminal/qr.py, whose parser
classifies everything else; never raises, never keeps a payload it does not recognise."""

from __future__ import annotations

import re

from terminal.verification import PREFIX

_APPLICATION = re.compile(rf"{PREFIX}\|A\|([0-9]{{10,16}})")
_CERTIFICATE = re.compile(rf"{PREFIX}\|C\|([A-Z]{{2,6}}[0-9]{{6,14}})\|([0-9a-fA-F]{{16}})")


def parse_service_qr(payload: object) -> tuple[str, tuple[str, ...]] | None:
    """("application", (number,)) or ("certificate", (number, code)), else None."""
    if not isinstance(payload, str) or len(payload) > 128:
        return None
    text = payload.strip()
    found = _APPLICATION.fullmatch(text)
    if found:
        return "application", (found.group(1),)
    found = _CERTIFICATE.fullmatch(text)
    if found:
        return "certificate", (found.group(1), found.group(2).lower())
    return None
