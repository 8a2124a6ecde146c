"""No tests here: what the test_dialect* files share — the reference central's demo merchant
written to private secret files, and the [central] settings that select the emitra_b2b dialect."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sim.central.b2b_routes import DEFAULT_MERCHANTS
from sim.rig import SimRig

MERCHANT = DEFAULT_MERCHANTS["EMITRA-KIOSK-0001"]
SECRET_VALUES = {
    "emitra_merchant_code_file": MERCHANT.merchant_code,
    "emitra_ssoid_file": MERCHANT.ssoid,
    "emitra_sso_token_file": MERCHANT.sso_token,
    "emitra_aes_secret_file": MERCHANT.aes_secret,
}


def write_secrets(directory: Path, mode: int = 0o600, **values: str) -> dict[str, str]:
    """The four secret files (values overridable), created with `mode`; returns the config keys."""
    directory.mkdir(parents=True, exist_ok=True)
    keys = {}
    for key, value in {**SECRET_VALUES, **values}.items():
        path = directory / key.removesuffix("_file")
        path.write_text(value + "\n")
        os.chmod(path, mode)
        keys[key] = str(path)
    return keys


def b2b_central(directory: Path) -> dict[str, Any]:
    """[central] settings for the emitra_b2b dialect with the demo merchant's secrets."""
    return {"dialect": "emitra_b2b", **write_secrets(directory)}


def use_b2b_in_rigs(monkeypatch) -> None:
    """Every SimRig's config (in-process harness and site files alike) selects emitra_b2b, with
    secret files in the rig's own directory: the existing flow tests run unchanged on it."""
    plain = SimRig.overrides

    def overrides(self: SimRig, **sections: dict[str, Any]) -> dict[str, dict[str, Any]]:
        config = plain(self, **sections)
        config["central"].update(b2b_central(self.workdir / "secrets"))
        return config

    monkeypatch.setattr(SimRig, "overrides", overrides)
