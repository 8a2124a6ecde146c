"""The touch screen's speed, on the real core and simulators, offscreen (no X server needed).

- ui.tap_to_frame_p95_ms: a synthetic touch on a real button to the first drawn frame showing the
  next screen. Local moves (attract -> home -> providers) and moves that wait for the core
  (start, cancel, finish: intent over the session API, state back, redraw) are both counted.
- ui.cold_start_s: launching `python -m screens` to the attract screen drawn (window up, fonts,
  catalogues, connection to the core, first snapshot), median of a few launches.
"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import tempfile

from screens.drive_client import UIProcess
from sim.rig import SimRig
from terminal.config import load_config
from terminal.core import Core

LAUNCHES = 3
ROUNDS = 12
# (tap this, the screen it leads to): one citizen's round trip without paying
STEPS = (
    ("attract_touch", "home"),
    ("tile_electricity", "providers"),
    ("provider_JVVNL", "identify"),
    ("cancel", "ended"),
    ("finish", "attract"),
)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(0.95 * (len(ordered) - 1))))
    return ordered[index]


async def _run() -> tuple[list[float], list[float]]:
    os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
    logging.getLogger().setLevel(logging.WARNING)
    cold: list[float] = []
    taps: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        rig = SimRig(tmp)
        await rig.start()
        core = Core(load_config(overrides=rig.overrides()))
        url = await core.start()
        try:
            for _ in range(LAUNCHES):
                ui = UIProcess(url)
                await ui.start()
                assert ui.ready_after_s is not None
                cold.append(ui.ready_after_s)
                await ui.close()
            ui = UIProcess(url)
            await ui.start()
            try:
                for _ in range(ROUNDS):
                    for tid, target in STEPS:
                        await ui.wait()  # let the previous screen settle
                        reply = await ui.cmd(cmd="timed_tap", tid=tid, screen=target)
                        if not reply.get("ok"):
                            raise RuntimeError(f"tap {tid} -> {target}: {reply}")
                        taps.append(reply["ms"])
                        await ui.wait(target)
            finally:
                await ui.close()
        finally:
            await core.stop()
            await rig.stop()
    return cold, taps


def main() -> None:
    cold, taps = asyncio.run(_run())
    print(f"ui.tap_to_frame_p95_ms: {p95(taps):.1f} ms")
    print(f"ui.cold_start_s: {statistics.median(cold):.2f} s")


if __name__ == "__main__":
    main()
