"""`emitra-kiosk ui`: the citizen's touch screen, a thin client of the core's session API.

Kivy is configured here (window size, no argv parsing, no Esc-to-quit) BEFORE any Kivy module
that opens the window is imported; the application itself is screens.kiosk_app.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from terminal.api_messages import PATH

UI_DEFAULTS: dict[str, Any] = {
    "width": 1280,
    "height": 800,
    "fullscreen": False,
    "voice": False,
    "voice_engine": "espeak-ng",
    "idle_return_s": 60,
    "scanner_position": "below",  # where the QR scanner sits: below | right | left of the screen
    # The card PIN keypad in the core's random order (off: a fixed phone-style 1-2-3 layout).
    # Not yet a key of config/default.toml: a site file cannot name it until it is added there.
    "pin_shuffle": False,
}


def ui_settings(config: dict) -> dict[str, Any]:
    """The [ui] section with defaults filled in (the section may be absent in older files)."""
    settings = dict(UI_DEFAULTS)
    settings.update(config.get("ui") or {})
    return settings


def session_url(config: dict) -> str:
    api = config.get("session_api") or {}
    host = api.get("host", "127.0.0.1")
    port = api.get("port", 8700)
    return f"ws://{host}:{port}{PATH}"


def configure_kivy(settings: dict[str, Any]) -> None:
    """Must run before kivy.core.window is imported (it opens the window)."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    from kivy.config import Config

    Config.set("graphics", "width", str(int(settings["width"])))
    Config.set("graphics", "height", str(int(settings["height"])))
    if settings["fullscreen"]:
        Config.set("graphics", "fullscreen", "auto")
        Config.set("graphics", "borderless", "1")
    else:
        Config.set("graphics", "fullscreen", "0")
    Config.set("graphics", "resizable", "1")
    Config.set("kivy", "exit_on_escape", "0")
    Config.set("input", "mouse", "mouse,disable_multitouch")


async def run_async(config: dict, url: str | None = None, driver_factory=None) -> int:
    """Run the screen on the current asyncio loop until the app stops."""
    from screens.kiosk_app import KioskApp

    app = KioskApp(ui_settings_config(config), url or session_url(config))
    driver = driver_factory(app) if driver_factory else None
    if driver is not None:
        driver.start()
    try:
        await app.async_run(async_lib="asyncio")
    finally:
        await app.link.stop()
        if driver is not None:
            await driver.stop()
    return 0


def ui_settings_config(config: dict) -> dict:
    merged = dict(config)
    merged["ui"] = ui_settings(config)
    return merged


def run_ui(config: dict) -> int:
    """Entry point of `emitra-kiosk ui` (terminal/cli.py): blocks until the window closes."""
    from terminal.api_messages import TOKEN_ENV, token_file_for

    # The session link finds the core's token through this (docs/session-api.md).
    os.environ.setdefault(TOKEN_ENV, str(token_file_for(config)))
    configure_kivy(ui_settings(config))
    factory = None
    if os.environ.get("EMITRA_UI_DRIVE") == "1":  # the demo's Xvfb test taps through stdin
        from screens.drive import Driver

        factory = Driver
    return asyncio.run(run_async(config, driver_factory=factory))
