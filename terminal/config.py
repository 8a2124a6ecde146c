"""Configuration: config/default.toml is both the defaults and the schema.

A site file may override any key that exists in the defaults, with a value of the same type.
Anything else stops start-up with a ConfigError naming the file, the key and what is allowed.
"""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "config" / "default.toml"

# Extra rules beyond "same type as the default": key -> (check, what is allowed).
CHOICES: dict[str, tuple[str, ...]] = {
    "terminal.language": ("hi", "en"),
    "central.dialect": ("reference",),
    "acceptor.protocol": ("ccnet", "essp"),
    "printer.connection": ("serial", "network", "usb"),
    "printer.paper_width_dots": (576, 384),
    "scanner.suffix": ("cr", "crlf", "lf"),
    "ui.scanner_position": ("below", "right", "left"),
    "logging.level": ("DEBUG", "INFO", "WARNING", "ERROR"),
}
POSITIVE = {
    "central.timeout_s",
    "central.retry_initial_s",
    "central.retry_max_s",
    "acceptor.poll_interval_ms",
    "printer.baudrate",
    "scanner.baudrate",
    "payment.identify_timeout_s",
    "payment.cash_idle_timeout_s",
    "payment.more_time_timeout_s",
    "payment.done_screen_s",
    "heartbeat.push_interval_s",
    "camera.keep_days",
    "card.insert_timeout_s",
    "card.pin_timeout_s",
    "ui.width",
    "ui.height",
    "ui.idle_return_s",
    "maintenance.lockout_tries",
    "maintenance.lockout_minutes",
    "maintenance.auto_leave_s",
    "maintenance.pin_attempts_per_minute",
    "session_api.max_connections",
    "session_api.max_message_bytes",
    "session_api.send_queue_max",
    "session_api.send_timeout_s",
    "session_api.log_interval_s",
}
PIN_HASH = re.compile(r"^scrypt\$\d+\$\d+\$\d+\$[0-9a-f]{16,}\$[0-9a-f]{32,}$")
NON_NEGATIVE = {"payment.max_overpay_paise"}
PORTS = {"session_api.port", "heartbeat.port", "printer.tcp_port"}
NOTE_RUPEES = (10, 20, 50, 100, 200, 500, 2000)


class ConfigError(Exception):
    """A configuration problem, worded for the person who edits the file."""


Config = dict[str, dict[str, Any]]


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a quoted string"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _same_type(default: Any, value: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    if isinstance(default, list):
        return (
            isinstance(value, list) and all(_same_type(default[0], v) for v in value)
            if default
            else isinstance(value, list)
        )
    return isinstance(value, type(default))


def _read_toml(path: Path) -> dict:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def _check_value(source: Path, dotted: str, default: Any, value: Any) -> Any:
    where = f"{source}: [{dotted.split('.')[0]}] {dotted.split('.', 1)[1]}"
    if not _same_type(default, value):
        raise ConfigError(f"{where} = {value!r}: must be {_type_name(default)}")
    if isinstance(default, float):
        value = float(value)
    if dotted in CHOICES and value not in CHOICES[dotted]:
        allowed = ", ".join(repr(c) for c in CHOICES[dotted])
        raise ConfigError(f"{where} = {value!r}: allowed values are {allowed}")
    if dotted in POSITIVE and value <= 0:
        raise ConfigError(f"{where} = {value!r}: must be greater than 0")
    if dotted in NON_NEGATIVE and value < 0:
        raise ConfigError(f"{where} = {value!r}: must be 0 or more")
    if dotted in PORTS and not 0 <= value <= 65535:
        raise ConfigError(f"{where} = {value!r}: must be a TCP port 0..65535 (0 = any free port)")
    if dotted == "acceptor.accepted_notes":
        bad = [v for v in value if v not in NOTE_RUPEES]
        if bad or not value:
            allowed = ", ".join(str(n) for n in NOTE_RUPEES)
            raise ConfigError(
                f"{where} = {value!r}: list one or more notes in rupees from {allowed}"
            )
    if dotted == "acceptor.essp_fixed_key":
        try:
            int(value, 16)
        except ValueError:
            raise ConfigError(f"{where} = {value!r}: must be 16 hex digits") from None
        if len(value) != 16:
            raise ConfigError(f"{where} = {value!r}: must be 16 hex digits")
    if dotted == "maintenance.engineer_card_keys":
        for entry in value:
            eid, _, key = str(entry).partition(":")
            try:
                ok = bool(eid) and len(bytes.fromhex(key)) >= 16
            except ValueError:
                ok = False
            if not ok:
                raise ConfigError(
                    f"{where}: entry {entry!r} must be \"ENGINEER_ID:hexkey\" (key >= 16 bytes)"
                )
    if dotted == "maintenance.pin_hash" and value and not PIN_HASH.match(value):
        raise ConfigError(
            f"{where}: must be empty (maintenance off) or the output of `emitra-kiosk hash-pin`"
        )
    if dotted == "central.url" and not value.startswith(("http://", "https://")):
        raise ConfigError(f"{where} = {value!r}: must start with http:// or https://")
    return value


def merge(base: Config, override: dict, source: Path) -> Config:
    """Overlay `override` (read from `source`) onto `base`, checking every key and value."""
    merged = copy.deepcopy(base)
    for section, values in override.items():
        if section not in base:
            allowed = ", ".join(f"[{s}]" for s in base)
            raise ConfigError(f"{source}: unknown section [{section}]; sections are {allowed}")
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: [{section}] must be a table of settings")
        for key, value in values.items():
            if key not in base[section]:
                allowed = ", ".join(base[section])
                raise ConfigError(
                    f"{source}: [{section}] unknown key {key!r}; keys in [{section}] are {allowed}"
                )
            merged[section][key] = _check_value(
                source, f"{section}.{key}", base[section][key], value
            )
    return merged


def load_config(*site_files: str | Path, overrides: dict | None = None) -> Config:
    """Defaults, then each site file in order, then `overrides` (a dict, e.g. from tests)."""
    config: Config = _read_toml(DEFAULT_PATH)
    # The defaults themselves go through the same checks, so a bad default fails in CI.
    config = merge(config, config, DEFAULT_PATH)
    for site in site_files:
        path = Path(site)
        config = merge(config, _read_toml(path), path)
    if overrides:
        config = merge(config, overrides, Path("<overrides>"))
    return config
