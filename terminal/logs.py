"""Structured logging: one JSON line per event, personal data masked before it is written."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

# Long digit runs are consumer numbers, phones, Aadhaar or card numbers: keep the last 4.
_DIGIT_RUN = re.compile(r"\d{8,19}")


def mask_digits(value: str, keep: int = 4) -> str:
    """'210412345678' -> 'XXXXXXXX5678'."""
    if len(value) <= keep:
        return value
    return "X" * (len(value) - keep) + value[-keep:]


def mask_name(name: str) -> str:
    """'Ramesh Kumar' -> 'Ra**** Ku***': enough to recognise one's own bill, not to read it."""
    return " ".join(w[:2] + "*" * max(0, len(w) - 2) for w in name.split())


def mask_text(text: str) -> str:
    return _DIGIT_RUN.sub(lambda m: mask_digits(m.group(0)), text)


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
            entry.update({k: mask_text(v) if isinstance(v, str) else v for k, v in fields.items()})
        if record.exc_info:
            entry["error"] = mask_text(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


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
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setFormatter(formatter)
        root.addHandler(handler)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    return path


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **fields) -> None:
    logger.log(level, event, extra={"fields": fields})
