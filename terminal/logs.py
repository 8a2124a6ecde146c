"""Structured logging: one JSON line per event, personal data masked before it is written.

Masking must hide who paid, yet keep every line matchable to the journal: session, transaction,
voucher, note and receipt ids (S-…, T-…, V-…, P-…, A-…, RCPT-…) pass untouched, even though
they hold long digit runs. Personal values are masked by field name, and in free text (error
messages, URLs) by patterns that an id cannot match.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

LOG_FILE_MODE = 0o640

# An id the kiosk or central made: a prefix, a dash, then letters/digits/dashes. Kept whole.
_ID = r"(?<![\w-])(?:[STVPA]|RCPT)-[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*"
# PAN (income tax): five letters, four digits, a letter.
_PAN = r"(?<![A-Za-z0-9])[A-Z]{5}\d{4}[A-Z](?![A-Za-z0-9])"
# Aadhaar or a card number written in groups of four: 1234 5678 9012, 4111-1111-1111-1111.
_GROUPED = r"(?<![\d-])\d{4}(?:[ -]\d{4}){2,4}(?![\d-])"
# An Indian mobile written with a space: +91 98290 12345, 98290 12345.
_MOBILE = r"(?<!\d)(?:\+?91[ -]?)?[6-9]\d{4}[ -]\d{5}(?!\d)"
# Any other long digit run: consumer numbers, phones, Aadhaar, card numbers.
_DIGIT_RUN = r"\d{8,19}"
_TEXT = re.compile(f"(?P<id>{_ID})|(?P<pii>{_PAN}|{_GROUPED}|{_MOBILE}|{_DIGIT_RUN})")

# Fields whose value is personal whatever it looks like; names are masked as names.
PERSONAL_NUMBER_FIELDS = frozenset({
    "consumer", "consumer_number", "mobile", "mobile_number", "phone", "phone_number",
    "aadhaar", "aadhaar_number", "pan", "card_number", "account", "bill_id",
})
PERSONAL_NAME_FIELDS = frozenset(
    {"name", "consumer_name", "consumer_name_hi", "holder", "card_holder"}
)


def mask_digits(value: str, keep: int = 4) -> str:
    """'210412345678' -> 'XXXXXXXX5678'."""
    if len(value) <= keep:
        return value
    return "X" * (len(value) - keep) + value[-keep:]


def mask_name(name: str) -> str:
    """'Ramesh Kumar' -> 'Ra**** Ku***': enough to recognise one's own bill, not to read it."""
    return " ".join(w[:2] + "*" * max(0, len(w) - 2) for w in name.split())


def _mask_match(m: re.Match[str]) -> str:
    if m.group("id") is not None:
        return m.group("id")
    text = m.group("pii")
    return "".join("X" if c.isalnum() else c for c in text[:-4]) + text[-4:]


def mask_text(text: str) -> str:
    """Free text with personal numbers masked (last 4 kept) and ids left exactly as they are."""
    return _TEXT.sub(_mask_match, text)


def mask_field(name: str, value: Any) -> Any:
    """A log field's value, masked by what the field is and then by what the text looks like."""
    if isinstance(value, dict):
        return {k: mask_field(k, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_field(name, v) for v in value]
    if not isinstance(value, str):
        if name in PERSONAL_NUMBER_FIELDS and isinstance(value, int):
            return mask_digits(str(value))
        return value
    if name in PERSONAL_NAME_FIELDS:
        return mask_name(value)
    if name in PERSONAL_NUMBER_FIELDS:
        return mask_digits(value)
    return mask_text(value)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "at": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": record.levelname,
            "logger": record.name,
            "event": mask_text(record.getMessage()),
        }
        fields = getattr(record, "fields", None)
        if fields:
            entry.update({k: mask_field(k, v) for k, v in fields.items()})
        if record.exc_info:
            entry["error"] = mask_text(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def _private_log_file(path: Path) -> None:
    """Create the log 0640 whatever the umask (outside systemd there is no UMask=), and tighten
    one an older version left wider."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, LOG_FILE_MODE))
    try:
        if path.stat().st_mode & 0o777 & ~LOG_FILE_MODE:
            path.chmod(LOG_FILE_MODE)
    except PermissionError:
        pass


def setup_logging(
    log_dir: str | Path | None, level: str = "INFO", name: str = "core"
) -> Path | None:
    """Log JSON lines to <log_dir>/<name>.log (and stderr). Returns the log file path."""
    root = logging.getLogger()
    root.handlers.clear()
    root.setLevel(level)
    formatter = JsonFormatter()
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(formatter)
    root.addHandler(stream)
    path = None
    if log_dir:
        path = Path(log_dir) / f"{name}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        _private_log_file(path)
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setFormatter(formatter)
        root.addHandler(handler)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    return path


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **fields) -> None:
    logger.log(level, event, extra={"fields": fields})
