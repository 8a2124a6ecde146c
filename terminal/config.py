"""Configuration: config/default.toml is both the defaults and the schema.

A site file may override any key that exists in the defaults, with a value of the same type.
Anything else stops start-up with a ConfigError naming the file, the key and what is allowed.
"""

from __future__ import annotations

import copy
import math
import re
import reprlib
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "config" / "default.toml"

# Extra rules beyond "same type as the default": key -> (check, what is allowed).
CHOICES: dict[str, tuple[str, ...]] = {
    "terminal.language": ("hi", "en"),
    "central.dialect": ("reference", "emitra_b2b"),
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
    "acceptor.cassette_capacity_notes",
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
    "ui.accessibility_timeout_factor",
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
PIN_HASH = re.compile(r"scrypt\$[0-9]+\$[0-9]+\$[0-9]+\$[0-9a-f]{16,}\$[0-9a-f]{32,}")
ESSP_KEY = re.compile(r"[0-9A-Fa-f]{16}")  # int(x, 16) also takes "0x..", "_" and spaces
NON_NEGATIVE = {"payment.max_overpay_paise"}
PORTS = {"session_api.port", "heartbeat.port", "printer.tcp_port"}
NOTE_RUPEES = (10, 20, 50, 100, 200, 500, 2000)
MAX_CASSETTE_NOTES = 20000


class ConfigError(Exception):
    """A configuration problem, worded for the person who edits the file."""


# A hostile value (a megabyte string, a list nested 500 deep) must not make the message huge.
_SHOW = reprlib.Repr()
_SHOW.maxstring = _SHOW.maxother = 120
_SHOW.maxlist = _SHOW.maxdict = 20
_SHOW.maxlevel = 4


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


def _finite(value: Any) -> bool:
    """nan passes no comparison and inf passes "> 0": neither is a setting anybody meant."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


def _url_ok(value: str) -> bool:
    """http(s) with a host (and a valid port, if one is given): "http://" is no address, and
    urlsplit quietly drops tabs and newlines that the HTTP client would not."""
    if not value.startswith(("http://", "https://")) or not value.isprintable() or " " in value:
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not 0..65535
    except ValueError:
        return False
    return bool(parts.hostname)


def _read_toml(path: Path) -> dict:
    """The file as a dict, or a ConfigError naming it: never a traceback at start-up."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"{path}: is a directory, not a config file") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    except RecursionError as exc:
        raise ConfigError(f"{path}: not valid TOML: nested too deeply") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def _check_value(source: Path, dotted: str, default: Any, value: Any) -> Any:
    where = f"{source}: [{dotted.split('.')[0]}] {dotted.split('.', 1)[1]}"
    shown = _SHOW.repr(value)
    if not _same_type(default, value):
        raise ConfigError(f"{where} = {shown}: must be {_type_name(default)}")
    if not _finite(value):
        raise ConfigError(f"{where} = {shown}: must be a finite number (not nan or inf)")
    if isinstance(default, float):
        try:
            value = float(value)
        except OverflowError:
            raise ConfigError(f"{where} = {shown}: too large for a number") from None
    if dotted in CHOICES and value not in CHOICES[dotted]:
        allowed = ", ".join(repr(c) for c in CHOICES[dotted])
        raise ConfigError(f"{where} = {shown}: allowed values are {allowed}")
    if dotted in POSITIVE and value <= 0:
        raise ConfigError(f"{where} = {shown}: must be greater than 0")
    if dotted in NON_NEGATIVE and value < 0:
        raise ConfigError(f"{where} = {shown}: must be 0 or more")
    if dotted in PORTS and not 0 <= value <= 65535:
        raise ConfigError(f"{where} = {shown}: must be a TCP port 0..65535 (0 = any free port)")
    if dotted == "acceptor.accepted_notes":
        bad = [v for v in value if v not in NOTE_RUPEES]
        if bad or not value:
            allowed = ", ".join(str(n) for n in NOTE_RUPEES)
            raise ConfigError(
                f"{where} = {shown}: list one or more notes in rupees from {allowed}"
            )
    if dotted == "acceptor.cassette_capacity_notes" and value > MAX_CASSETTE_NOTES:
        # The largest cassettes hold about 2200 notes: a bigger figure is a typo, and would
        # keep the "cassette near full" alert silent for ever.
        raise ConfigError(f"{where} = {shown}: at most {MAX_CASSETTE_NOTES} notes")
    if dotted == "acceptor.essp_fixed_key":
        if not ESSP_KEY.fullmatch(value):
            raise ConfigError(f"{where} = {shown}: must be exactly 16 hex digits (0-9, a-f)")
    if dotted == "maintenance.engineer_card_keys":
        for entry in value:
            eid, _, key = str(entry).partition(":")
            try:
                ok = bool(eid) and len(bytes.fromhex(key)) >= 16
            except ValueError:
                ok = False
            if not ok:
                shown = _SHOW.repr(entry)
                raise ConfigError(
                    f"{where}: entry {shown} must be \"ENGINEER_ID:hexkey\" (key >= 16 bytes)"
                )
    if dotted == "maintenance.pin_hash" and value and not PIN_HASH.fullmatch(value):
        raise ConfigError(
            f"{where}: must be empty (maintenance off) or the output of `emitra-kiosk hash-pin`"
        )
    if dotted == "terminal.timezone":
        from terminal.local_time import zone

        try:
            zone(value)
        except ValueError:
            raise ConfigError(
                f"{where} = {shown}: not a time zone this machine knows (e.g. \"Asia/Kolkata\")"
            ) from None
    if dotted == "central.url" and not _url_ok(value):
        raise ConfigError(
            f"{where} = {shown}: must start with http:// or https:// and name a host"
        )
    if dotted == "central.emitra_url" and value and not _url_ok(value):
        raise ConfigError(
            f"{where} = {shown}: must be empty (the same as url) or start with http:// or "
            "https:// and name a host"
        )
    if dotted == "central.emitra_services":
        from terminal.central.emitra_b2b_setup import SetupError, parse_services

        try:
            parse_services(value)
        except SetupError as exc:
            raise ConfigError(f"{source}: {exc}") from None
    return value


def _check_dialect(config: Config, sources: str) -> None:
    """The emitra_b2b dialect's secret files must exist and be private, checked at load so a
    kiosk never starts half-configured (file permissions are not a per-key check)."""
    if config["central"]["dialect"] != "emitra_b2b":
        return
    from terminal.central.emitra_b2b_setup import SetupError, check_section

    try:
        check_section(config["central"])
    except SetupError as exc:
        raise ConfigError(f"{sources}: {exc}") from None


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
    named = [str(p) for p in site_files] + (["<overrides>"] if overrides else [])
    _check_dialect(config, ", ".join(named) or str(DEFAULT_PATH))
    return config
