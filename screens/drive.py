"""Test mode: the real screen, driven by JSON lines on stdin (`python -m screens --drive`).

Used by tests/test_ui*.py and bench/ui.py. Taps are real touch events sent through Kivy's event
loop at the widget's position on the window, so a button hidden under another widget, disabled
or off-screen does not get pressed. Replies go to stdout as one line each, prefixed "@@".

Commands ({"cmd": ...}):
  texts                        -> {"screen", "texts": {tid: text}, "modal": bool}
  geom                         -> {"window", "boxes": {tid: [x, y, w, h, tappable]}}
  wait  screen [tid contains] [timeout]  -> as texts, once true and drawn
  tap   tid                    -> {"ok"}; error if no such visible, enabled widget
  press x y hold               -> long press at window fractions (0,0 = top-left)
  timed_tap tid screen         -> {"ms": tap to the first frame showing `screen`}
  screenshot path              -> PNG of the window
  resize w h                   -> new window size
  quit
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from typing import Any

from kivy.base import EventLoop
from kivy.core.window import Window
from kivy.input.motionevent import MotionEvent
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.modalview import ModalView

_ids = itertools.count(1)
log = logging.getLogger("screens.drive")


class DriveTouch(MotionEvent):
    """A finger: position as window fractions (sx, sy from the bottom-left)."""

    def __init__(self, sx: float, sy: float) -> None:
        super().__init__("drive", next(_ids), (sx, sy), is_touch=True, type_id="touch")

    def depack(self, args) -> None:
        self.sx, self.sy = args
        self.profile = ["pos"]
        super().depack(args)


def touch_down(x: float, y: float) -> DriveTouch:
    touch = DriveTouch(x / Window.width, y / Window.height)
    EventLoop.post_dispatch_input("begin", touch)
    return touch


def touch_up(touch: DriveTouch) -> None:
    EventLoop.post_dispatch_input("end", touch)


def walk_visible(widget):
    """Widgets under `widget` that a citizen could see (opacity > 0 all the way down)."""
    if widget.opacity <= 0:
        return
    yield widget
    for child in widget.children:
        yield from walk_visible(child)


class Driver:
    def __init__(self, app) -> None:
        self.app = app
        self.started = time.monotonic()
        self._task: asyncio.Task | None = None
        self._ready_sent = False
        self._frame_waiters: list[asyncio.Future] = []
        app.frame_listeners.append(self._on_frame)

    # ------------------------------------------------------------------ plumbing

    def start(self) -> None:
        self._task = asyncio.get_event_loop().create_task(self._serve())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def emit(self, data: dict[str, Any]) -> None:
        sys.stdout.write("@@" + json.dumps(data, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    def _on_frame(self) -> None:
        waiters, self._frame_waiters = self._frame_waiters, []
        for future in waiters:
            if not future.done():
                future.set_result(time.perf_counter())
        sm = self.app.sm
        if not self._ready_sent and sm is not None and sm.current == "attract":
            self._ready_sent = True
            self.emit(
                {"event": "ready", "screen": "attract", "uptime_s": time.monotonic() - self.started}
            )

    async def next_frame(self, timeout: float = 0.25) -> float | None:
        """Time of the next drawn frame, or None if nothing needed drawing."""
        future = asyncio.get_event_loop().create_future()
        self._frame_waiters.append(future)
        Window.canvas.ask_update()
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return None

    async def _serve(self) -> None:
        loop = asyncio.get_event_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while True:
            line = await reader.readline()
            if not line:
                self.app.stop()
                return
            try:
                command = json.loads(line)
                log.debug("drive: %s", json.dumps(command, ensure_ascii=False))
                reply = await self.handle(command)
            except Exception as exc:  # report, keep serving
                reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            self.emit(reply)

    # ------------------------------------------------------------------ looking

    def roots(self) -> list:
        """Where to look: an open overlay first (it covers the rest), else screen and header."""
        overlays = [w for w in Window.children if isinstance(w, ModalView)]
        if overlays:
            return overlays
        sm = self.app.sm
        header = self.app.root.children[-1]  # the Header (first child added)
        return [sm.current_screen, header]

    def texts(self) -> dict[str, Any]:
        found: dict[str, str] = {}
        for root in self.roots():
            for widget in walk_visible(root):
                tid = getattr(widget, "tid", "")
                text = getattr(widget, "text", None)
                if tid and isinstance(text, str) and tid not in found:
                    found[tid] = text.replace("\u00a0", " ")  # a title's glued last words
        overlays = [w for w in Window.children if isinstance(w, ModalView)]
        return {
            "ok": True,
            "screen": self.app.sm.current,
            "modal": type(overlays[0]).__name__ if overlays else None,
            "texts": found,
        }

    def geometry(self) -> dict[str, Any]:
        """Window-space boxes of every visible named widget: [x, y, w, h, tappable]."""
        boxes: dict[str, list] = {}
        for root in self.roots():
            for widget in walk_visible(root):
                tid = getattr(widget, "tid", "")
                if not tid or tid in boxes:
                    continue
                x, y = widget.to_window(widget.x, widget.y)
                tappable = isinstance(widget, ButtonBehavior) and not widget.disabled
                boxes[tid] = [x, y, widget.width, widget.height, tappable]
        return {
            "ok": True,
            "screen": self.app.sm.current,
            "window": list(Window.size),
            "boxes": boxes,
        }

    def find(self, tid: str):
        for root in self.roots():
            for widget in walk_visible(root):
                if getattr(widget, "tid", "") == tid:
                    return widget
        return None

    # ------------------------------------------------------------------ commands

    async def handle(self, command: dict[str, Any]) -> dict[str, Any]:
        cmd = command.get("cmd")
        if cmd == "texts":
            return self.texts()
        if cmd == "wait":
            return await self.wait(command)
        if cmd == "geom":
            return self.geometry()
        if cmd == "tap":
            return await self.tap(command["tid"])
        if cmd == "press":
            return await self.press(command["x"], command["y"], command.get("hold", 0.1))
        if cmd == "timed_tap":
            return await self.timed_tap(
                command["tid"], command["screen"], command.get("timeout", 10)
            )
        if cmd == "screenshot":
            return await self.screenshot(command["path"])
        if cmd == "resize":
            Window.size = (int(command["w"]), int(command["h"]))
            for _ in range(3):
                await self.next_frame()
            return {"ok": True, "size": list(Window.size)}
        if cmd == "quit":
            self.app.stop()
            return {"ok": True}
        return {"ok": False, "error": f"unknown command {cmd!r}"}

    def _matches(self, command: dict[str, Any]) -> bool:
        if command.get("screen") and self.app.sm.current != command["screen"]:
            return False
        if command.get("modal") is not None:
            overlays = [type(w).__name__ for w in Window.children if isinstance(w, ModalView)]
            if (command["modal"] or None) != (overlays[0] if overlays else None):
                return False
        if command.get("tid"):
            widget = self.find(command["tid"])
            if widget is None:
                return False
            if command.get("contains") is not None:
                shown = str(getattr(widget, "text", "")).replace("\u00a0", " ")
                return command["contains"] in shown
        return True

    async def wait(self, command: dict[str, Any]) -> dict[str, Any]:
        deadline = time.monotonic() + float(command.get("timeout", 10))
        while time.monotonic() < deadline:
            if self._matches(command):
                await self.next_frame()
                if self._matches(command):
                    return self.texts()
            await asyncio.sleep(0.02)
        reply = self.texts()
        reply["ok"] = False
        reply["error"] = f"timed out waiting for {command}"
        return reply

    async def tap(self, tid: str) -> dict[str, Any]:
        # A widget drawn in this tick has no position until the layout pass before the next
        # frame: touching it now would land where it is not (seen in CI on a loaded machine).
        await self.next_frame(timeout=2.0)
        widget = self.find(tid)
        if widget is None:
            return {"ok": False, "error": f"no visible widget {tid!r} on {self.app.sm.current}"}
        if widget.disabled:
            return {"ok": False, "error": f"{tid!r} is disabled"}
        x, y = widget.to_window(*widget.center)
        touch = touch_down(x, y)
        await asyncio.sleep(0.03)
        touch_up(touch)
        await self.next_frame()
        return {"ok": True, "screen": self.app.sm.current}

    async def press(self, fx: float, fy: float, hold: float) -> dict[str, Any]:
        touch = touch_down(fx * Window.width, (1 - fy) * Window.height)
        await asyncio.sleep(hold)
        touch_up(touch)
        await self.next_frame()
        return {"ok": True, "screen": self.app.sm.current}

    async def timed_tap(self, tid: str, screen: str, timeout: float) -> dict[str, Any]:
        widget = self.find(tid)
        if widget is None or widget.disabled:
            return {"ok": False, "error": f"no tappable widget {tid!r}"}
        x, y = widget.to_window(*widget.center)
        changed = asyncio.get_event_loop().create_future()
        drawn = asyncio.get_event_loop().create_future()

        def on_screen(name: str) -> None:
            if name == screen and not changed.done():
                changed.set_result(time.perf_counter())

        def on_frame() -> None:
            if changed.done() and not drawn.done():
                drawn.set_result(time.perf_counter())

        self.app.screen_listeners.append(on_screen)
        self.app.frame_listeners.append(on_frame)
        try:
            start = time.perf_counter()
            touch = touch_down(x, y)
            touch_up(touch)
            end = await asyncio.wait_for(drawn, timeout)
        finally:
            self.app.screen_listeners.remove(on_screen)
            self.app.frame_listeners.remove(on_frame)
        return {"ok": True, "ms": (end - start) * 1000.0, "screen": self.app.sm.current}

    async def screenshot(self, path: str) -> dict[str, Any]:
        for _ in range(2):
            await self.next_frame()
        target = os.path.abspath(path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            # Window.screenshot appends a counter (0001) to the name: take it, then rename.
            made = Window.screenshot(name=os.path.join(tmp, "shot.png"))
            shutil.move(made, target)
        return {"ok": True, "path": target}
