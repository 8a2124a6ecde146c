"""What the e-Mitra back-to-back dialect needs from the site: four secrets, each in its own file
that only the kiosk's user may read, and the provider -> SERVICEID/SUBSERVICEID/revenue head table.

Checked when the configuration is loaded (terminal/config.py), so `emitra-kiosk check-config`
and start-up both stop with a ConfigError that names the file and what is wrong with it.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SECRET_KEYS = {  # [central] key -> what the file holds
    "emitra_merchant_code_file": "MERCHANTCODE",
    "emitra_ssoid_file": "SSOID",
    "emitra_sso_token_file": "SSO token",
    "emitra_aes_secret_file": "AES secret",
}
MAX_SECRET_BYTES = 4096
SERVICE_ENTRY = re.compile(r"([A-Za-z0-9]{1,20}):([0-9]{1,10}):([0-9]{1,10}):([0-9]{1,10})")
CODE_LIKE = re.compile(r"[A-Za-z0-9._-]{1,64}")  # MERCHANTCODE and SSOID travel in the clear


class SetupError(Exception):
    """Worded for the person who installs the kiosk; terminal/config.py turns it into a
    ConfigError."""


@dataclass(frozen=True)
class Secrets:
    merchant_code: str
    ssoid: str
    sso_token: str
    aes_secret: str

    def __repr__(self) -> str:  # never in a log or a traceback
        return f"Secrets(merchant_code={self.merchant_code!r}, ssoid=..., sso_token=..., aes=...)"


@dataclass(frozen=True)
class ServiceIds:
    service_id: str
    sub_service_id: str
    revenue_head: str


def read_secret(key: str, path_text: str) -> str:
    """One secret: a regular file, not a symlink, no group or world permission bits, short
    printable text (one trailing newline allowed)."""
    what = f"[central] {key} = {path_text!r}"
    if not path_text:
        raise SetupError(f"{what}: the emitra_b2b dialect needs this file ({SECRET_KEYS[key]})")
    path = Path(path_text)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise SetupError(f"{what}: file not found") from None
    except OSError as exc:
        raise SetupError(f"{what}: cannot be opened: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SetupError(f"{what}: not a regular file")
        if info.st_mode & 0o077:
            raise SetupError(
                f"{what}: readable or writable by group or others (mode "
                f"{stat.S_IMODE(info.st_mode):03o}); run `chmod 600 {path}`"
            )
        data = os.read(fd, MAX_SECRET_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_SECRET_BYTES:
        raise SetupError(f"{what}: longer than {MAX_SECRET_BYTES} bytes")
    try:
        text = data.decode("utf-8").removesuffix("\n").removesuffix("\r")
    except UnicodeDecodeError:
        raise SetupError(f"{what}: not UTF-8 text") from None
    if not text or not text.isprintable():
        raise SetupError(f"{what}: must hold one line of printable text")
    return text


def load_secrets(section: dict[str, Any]) -> Secrets:
    values = {key: read_secret(key, section[key]) for key in SECRET_KEYS}
    for key in ("emitra_merchant_code_file", "emitra_ssoid_file"):
        if not CODE_LIKE.fullmatch(values[key]):
            raise SetupError(
                f"[central] {key}: the {SECRET_KEYS[key]} must be 1-64 of A-Z a-z 0-9 . _ -"
            )
    return Secrets(
        merchant_code=values["emitra_merchant_code_file"],
        ssoid=values["emitra_ssoid_file"],
        sso_token=values["emitra_sso_token_file"],
        aes_secret=values["emitra_aes_secret_file"],
    )


def parse_services(entries: list[str]) -> dict[str, ServiceIds]:
    """["JVVNL:2001:1:0801", ...] -> provider -> ids; a provider named twice is an error."""
    table: dict[str, ServiceIds] = {}
    for entry in entries:
        match = SERVICE_ENTRY.fullmatch(str(entry))
        if match is None:
            raise SetupError(
                f"[central] emitra_services: entry {str(entry)[:60]!r} must be "
                '"PROVIDER:SERVICEID:SUBSERVICEID:REVENUEHEAD" (digits after the provider)'
            )
        provider, service_id, sub_id, head = match.groups()
        if provider in table:
            raise SetupError(f"[central] emitra_services: provider {provider} is listed twice")
        table[provider] = ServiceIds(service_id, sub_id, head)
    return table


def check_section(section: dict[str, Any]) -> None:
    """The whole [central] section for the emitra_b2b dialect: secrets readable and private,
    the service table well formed and not empty."""
    load_secrets(section)
    if not parse_services(section["emitra_services"]):
        raise SetupError("[central] emitra_services: list at least one provider")
