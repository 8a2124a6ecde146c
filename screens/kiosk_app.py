"""The Kivy application: draws the core's state, sends the citizen's intents. Imported only after
screens.app has configured Kivy (window size, no argv parsing)."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.screenmanager import NoTransition, ScreenManager

from screens import find_provider, maint, services_views, views, voucher_views
from screens.accessibility import AccessibleApp
from screens.client import SessionLink
from screens.i18n import Translator
from screens.sound import Chime
from screens.step_timer import asks_locally
from screens.widgets import register_fonts
from terminal.api_messages import MAINTENANCE
from terminal.local_time import DEFAULT_ZONE, clock, known_zone

log = logging.getLogger("screens")

KV_FILE = Path(__file__).resolve().parent / "layout.kv"
LOCAL_IDLE_SCREENS = ("attract", "home", "providers", "find_provider", "unavailable",
                      "maintenance", "reprint")
HINT_SECONDS = 4.0
TIMED_SCREENS = ("IDENTIFY", "BILL", "PAYING", "CARD")  # the core's deadline runs on these
COUNTDOWN_FROM_S = 30  # the header shows the seconds left from here down
DONE_HOLD_S = 30.0  # the done screen stays until a tap or this long, whatever the core does
LOCAL_ASK_S = 20  # number entry and bill: "more time?" this long before the core gives up
LONG_PRESS_S = 3.0
CORNER_FRACTION = 0.1


class KioskApp(AccessibleApp, App):
    # layout scale (1.0 at 1280x800), type scale (plus 15 % for Devanagari), orientation
    s = NumericProperty(1.0)
    k = NumericProperty(1.15)
    portrait = BooleanProperty(False)
    lang = StringProperty("hi")
    location = StringProperty("")
    location_hi = StringProperty("")  # the place in Devanagari, for Hindi screens
    helpline = StringProperty("")
    clock_text = StringProperty("")
    countdown_text = StringProperty("")  # seconds left of a timed step, in the header

    def __init__(self, config: dict, url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kiosk_config = config
        ui = config.get("ui") or {}
        self.title = "e-Mitra Plus"
        self.url = url
        self.translator = Translator()
        self.lang = (config.get("terminal") or {}).get("language", "hi")
        self.location = (config.get("terminal") or {}).get("location", "")
        self.helpline = (config.get("terminal") or {}).get("helpline", "")
        # The header clock reads the kiosk's zone, never the OS's (often UTC on a kiosk image).
        self.zone = known_zone((config.get("terminal") or {}).get("timezone"), DEFAULT_ZONE)
        self.idle_return_s = float(ui.get("idle_return_s", 60))
        self.pin_shuffle = bool(ui.get("pin_shuffle", False))
        self.setup_voice(ui)  # voice guidance and its listen button (screens/accessibility.py)
        self.link = SessionLink(url, self.on_state, self.on_connection)
        self.chime = Chime()
        self._card_done_for: str | None = None
        self.state: dict[str, Any] = {}
        self.connected = False
        self.local = "attract"  # where the citizen is while the core is IDLE
        self.local_service: str | None = None
        self.local_choices: Any = None  # a home tile's services to choose from (home_plan)
        self.unavailable_key: str | None = None
        self.digits = ""
        self.pending_digits = ""  # screens/provider_hint.py: typed before the session began
        self.pin = ""
        # maintenance: engineer id then PIN on the keypad; the menu's last result
        self.maint_stage = "id"
        self.maint_id = ""
        self.maint_result: dict[str, Any] | None = None
        self.maint_busy: str | None = None
        self.maint_confirm: str | None = None
        self._maint_active = False
        self.card_pin = ""  # the citizen's card PIN while typed (never sent to the state)
        self._card_keypad: object = None
        self.notice: str | None = None  # message key of the last failed intent
        self._session_id: str | None = None
        self._pending: set[str] = set()
        self._last_touch = time.monotonic()
        self._more_time: views.MoreTimeView | None = None
        self._deadline_at: float | None = None  # monotonic end of the current timed step
        self._done_state: dict[str, Any] | None = None  # the DONE state, held after the core
        self._done_until = 0.0
        self._help: views.HelpView | None = None
        self._corner_event = None
        self._verify_back = False  # the citizen left the QR check with "back": home, not attract
        self._presence = False
        self._last_message: str | None = None
        self._lookup_seen: object = None
        self.overlay: str | None = None  # a keypad over the core's screen (voucher_views)
        self.frame_listeners: list = []  # called after each drawn frame (tests, bench)
        self.screen_listeners: list = []  # called with the new screen name
        self._tasks: list[asyncio.Task] = []
        self.sm: ScreenManager | None = None

    # ------------------------------------------------------------------ Kivy lifecycle

    def build(self):
        register_fonts()
        Builder.load_file(str(KV_FILE))
        root = views.KioskRoot()
        self.sm = root.ids.sm
        self.sm.transition = NoTransition()
        for cls in views.SCREEN_CLASSES:
            self.sm.add_widget(cls())
        services_views.register(self)  # status, certificate, grievance, application
        self.sm.add_widget(find_provider.FindProviderScreen())
        voucher_views.register(self)  # voucher and SMS keypads, the citizen's reprint
        self.sm.current = "wait"
        Window.bind(size=self._on_window_size, on_flip=self._on_flip)
        Window.bind(on_touch_down=self._on_any_touch_down, on_touch_up=self._on_any_touch_up)
        self._on_window_size(Window, Window.size)
        Clock.schedule_interval(self._tick_clock, 1.0)
        Clock.schedule_interval(self._tick_hint, HINT_SECONDS)
        Clock.schedule_interval(self._tick_idle, 0.5)
        self._tick_clock(0)
        self.render()
        return root

    def on_start(self) -> None:
        self._tasks.append(asyncio.get_event_loop().create_task(self.link.run()))

    def on_stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        self.voice.stop()

    # ------------------------------------------------------------------ text

    def tr(self, key: str, lang: str | None = None, **values: Any) -> str:
        return self.translator.text(key, lang or self.lang, **values)

    def has_text(self, key: str) -> bool:
        return self.translator.has(key, self.lang)

    def on_lang(self, *_args) -> None:
        self.scale_type()
        if getattr(self, "sm", None) is not None:
            self.render()

    def _on_window_size(self, _window, size) -> None:
        width, height = size
        self.s = max(0.5, min(width, height) / 800.0)
        self.scale_type()  # Latin and Devanagari type, larger in accessibility mode
        self.portrait = height > width

    # ------------------------------------------------------------------ from the core

    def on_connection(self, connected: bool) -> None:
        log.info("session API %s", "connected" if connected else "lost")
        self.connected = connected
        if not connected:
            # The core may be restarting: whatever the citizen was doing locally starts over.
            self._pending.clear()
            self.local = "attract"
            self.notice = None
        self.render()

    def on_state(self, state: dict[str, Any]) -> None:
        previous = self.state.get("screen") if self.state else None
        self.state = state
        seconds = state.get("seconds_left")
        self._deadline_at = (time.monotonic() + seconds
                             if isinstance(seconds, (int, float)) else None)
        terminal = state.get("terminal") or {}
        self.location = terminal.get("location", self.location)
        self.location_hi = str(terminal.get("location_hi") or "")
        self.helpline = terminal.get("helpline", self.helpline)
        self.zone = known_zone(terminal.get("timezone"), self.zone)
        if state.get("language") in ("hi", "en") and state["language"] != self.lang:
            self.lang = state["language"]
        self.accessibility_from_state(state)
        session = state.get("session") or {}
        session_id = session.get("session_id")
        if session_id != self._session_id:
            self._session_id = session_id
            # a number typed on the provider finder carries into the new session's entry
            self.digits = self.pending_digits if session_id else ""
            self.pending_digits = ""
        screen = state.get("screen")
        active = bool((state.get("maintenance") or {}).get("active"))
        if active != self._maint_active:
            self._maint_active = active
            self.maint_result = None
            self.maint_confirm = None
            self.maint_busy = None
            if not active:  # left (or timed out): back to the citizen's start
                self.local = "attract"
                self.pin = ""
                self.maint_id = ""
                self.maint_stage = "id"
                self._last_touch = time.monotonic()
        if screen == "DONE" and previous != "DONE":
            self._done_until = time.monotonic() + DONE_HOLD_S
        if screen == "DONE":
            self._done_state = state
        elif screen != "IDLE":
            self._done_state = None  # a new session: nothing to hold
        if screen == "IDLE" and previous not in (None, "IDLE"):
            # A session ended: back to the start; "back" from the QR check: the home tiles.
            back = ("VERIFY", *services_views.LOOKUP_SCREENS)
            self.local = "home" if previous in back and self._verify_back else "attract"
            if self.local == "attract":
                self.back_to_defaults()  # the next citizen: the site's voice and text size
            self.notice = None
            self._last_touch = time.monotonic()
        if screen not in ("VERIFY", *services_views.LOOKUP_SCREENS):
            self._verify_back = False
        card = session.get("card") or {}
        keypad = (card.get("step"), tuple(card.get("keypad") or ()))
        if screen != "CARD" or keypad != self._card_keypad:
            self.card_pin = ""  # a new keypad (or step): type the PIN again
        self._card_keypad = keypad if screen == "CARD" else None
        lookup = state.get("lookup")
        if lookup != self._lookup_seen:
            self._lookup_seen = lookup
            self._last_touch = time.monotonic()  # a scan is the citizen doing something
        # A QR shown on the number-entry or bill screen that is not a bill: say what it was.
        key = views.message_key(state)
        if key != self._last_message:
            self._last_message = key
            if key and key.startswith(("qr_", "voucher_")) and screen in ("IDENTIFY", "BILL"):
                self.notice = key
        # Someone stepped in front of the camera: wake the attract screen to the home tiles.
        present = bool(state.get("presence"))
        if present and not self._presence and screen == "IDLE" and self.local == "attract":
            self.local = "home"
            self._last_touch = time.monotonic()
        self._presence = present
        self.render()

    # ------------------------------------------------------------------ drawing

    def target_screen(self) -> str:
        state = self.state
        if not self.connected or not state:
            return "wait"
        screen = state.get("screen")
        busy = bool(state.get("busy"))
        services = state.get("services") or {}
        if screen == "IDLE":
            if (state.get("maintenance") or {}).get("active"):
                return "maint_menu"
            if self.holding_done():
                return "done"
            if self.local == "maintenance":
                return "maintenance"
            # Nothing works: out of service. Cash stopped but the QR check works: the home
            # screen with the bill tiles off and a banner saying why (HomeScreen).
            if services.get("out_of_service") or not services.get("lookup", True):
                return "out_of_service"
            return self.local if self.local in LOCAL_IDLE_SCREENS else "attract"
        if screen in ("IDENTIFY", "BILL"):
            return "processing" if busy else screen.lower()
        return {
            "PAYING": "paying",
            "CARD": "card",
            "POSTING": "processing",
            "RECEIPT": "processing",
            "DONE": "done",
            "CANCELLED": "ended",
            "TIMEOUT": "ended",
            "RECOVERY": "recovery",
            "VERIFY": "verify",
        }.get(screen or "", "wait")

    def render(self) -> None:
        sm = self.sm
        if sm is None:
            return
        target = voucher_views.route(self, services_views.route(self, self.target_screen()))
        screen = sm.get_screen(target)
        held = target == "done" and self.state.get("screen") == "IDLE"
        shown_state = self._done_state if held and self._done_state else self.state
        screen.update(self, shown_state)
        if sm.current != target:
            old = sm.current_screen
            sm.current = target
            if old is not None:
                old.hidden(self)
            screen.shown(self)
            for listener in list(self.screen_listeners):
                listener(target)
        self.speak_drawn(target, screen.prompt_key, shown_state)  # what is new, if voice is on
        self._render_more_time()

    def seconds_left(self) -> int | None:
        """Seconds before the core ends the current timed step, None if none is running."""
        if self._deadline_at is None or self.state.get("screen") not in TIMED_SCREENS:
            return None
        return max(0, round(self._deadline_at - time.monotonic()))

    def _wants_more_time(self) -> bool:
        """The core asks on the paying screen; on number entry, bill and the wait for a card
        (where the core just ends the step) the screen asks itself, LOCAL_ASK_S before the
        end. Never on the PIN: its limit is not extended (terminal/card_payment.py)."""
        state = self.state
        if not self.connected or state.get("busy"):
            return False
        if state.get("ask_more_time"):
            return True
        left = self.seconds_left()
        return asks_locally(state) and left is not None and left <= LOCAL_ASK_S

    def _render_more_time(self) -> None:
        if self._wants_more_time():
            if self._more_time is None:
                self._more_time = views.MoreTimeView()
                self._more_time.open(animation=False)
                self.voice.say(self.tr("more_time_title"), self.lang)
        elif self._more_time is not None:
            self._more_time.dismiss(animation=False)
            self._more_time = None
        self._update_more_time()

    def _update_more_time(self) -> None:
        left = self.seconds_left()
        self.countdown_text = (
            self.tr("seconds_left_short", n=left)
            if left is not None and (left <= COUNTDOWN_FROM_S or self._more_time is not None)
            else ""
        )
        screen = self.sm.current_screen if self.sm is not None else None
        if hasattr(screen, "countdown"):
            screen.countdown(self, left)  # the card PIN's own line (no more time there)
        if self._more_time is None:
            return
        paid = int((self.state.get("session") or {}).get("paid_paise") or 0)
        self._more_time.update(self, left, paid)

    def holding_done(self) -> bool:
        """The core has gone back to IDLE, but the citizen may still be reading what was paid
        and taking the slips: the done screen stays until a tap or DONE_HOLD_S."""
        if self._done_state is None:
            return False
        if time.monotonic() >= self._done_until:
            self._done_state = None
            return False
        return True

    def card_done(self, session_id: str | None) -> None:
        """Once per session: a chime for "take your card" (the screen's prompt speaks it)."""
        if session_id is None or session_id == self._card_done_for:
            return
        self._card_done_for = session_id
        self.chime.play()

    def finish_done(self) -> None:
        self._done_state = None
        self.send_intent("finish")
        self.render()

    def more_time_answer(self, more: bool) -> None:
        """The citizen's answer: more time (any intent restarts the core's timer), or finish
        now (cancel: with cash in, the core prints its voucher at once)."""
        self.send_intent("more_time" if more else "cancel")

    def _on_flip(self, *_args) -> None:
        for listener in list(self.frame_listeners):
            listener()

    # ------------------------------------------------------------------ timers

    def _tick_clock(self, _dt) -> None:
        self.clock_text = clock(datetime.now(UTC), self.zone)
        if self._done_state is not None and not self.holding_done():
            self.render()  # the held done screen's time is up
        self._render_more_time()

    def _tick_hint(self, _dt) -> None:
        if self.sm is not None and self.sm.current == "attract":
            self.sm.get_screen("attract").next_hint(self)

    def _tick_idle(self, _dt) -> None:
        """Left alone on a local screen (home, providers, ...) or the QR check: back to the
        attract screen (the core also ends an idle QR check; this makes sure of it)."""
        idle = time.monotonic() - self._last_touch >= self.idle_return_s
        screen = self.state.get("screen")
        if screen == "VERIFY" and idle and self.connected:
            self._last_touch = time.monotonic()
            self.send_intent("finish")
            return
        if self.local == "attract" or screen != "IDLE":
            return
        if idle:
            self.go_local("attract")

    # ------------------------------------------------------------------ touches

    def _on_any_touch_down(self, window, touch) -> None:
        self._last_touch = time.monotonic()
        corner = min(window.width, window.height) * CORNER_FRACTION
        if touch.x <= corner and touch.y >= window.height - corner:
            if self._corner_event is not None:
                self._corner_event.cancel()
            self._corner_event = Clock.schedule_once(self._corner_held, LONG_PRESS_S)

    def _on_any_touch_up(self, _window, _touch) -> None:
        if self._corner_event is not None:
            self._corner_event.cancel()
            self._corner_event = None

    def _corner_held(self, _dt) -> None:
        """The hidden maintenance entry: long press in the top-left corner, only between
        citizens (never over a session in progress)."""
        self._corner_event = None
        if self.connected and self.state.get("screen") == "IDLE":
            self.pin = ""
            self.maint_id = ""
            self.maint_stage = "id"
            self.go_local("maintenance")

    # ------------------------------------------------------------------ citizen actions

    def go_local(self, name: str) -> None:
        if name == "attract" and self.local != "attract":
            self.back_to_defaults()
        self.local = name
        self.notice = None
        self.render()

    def set_language(self, lang: str) -> None:
        if lang not in ("hi", "en"):
            return
        self.lang = lang  # at once; the core's state confirms it
        if self.connected:
            self.send_intent("language", language=lang)

    def choose_language_and_start(self, lang: str) -> None:
        self.set_language(lang)
        self.go_local("home")

    def open_tile(self, tile: Any) -> None:
        """A home tile (screens/home_plan.TilePlan): a bill, the QR check, a citizen service,
        or a choice among a category's services."""
        if tile.action == "bill":
            self.choose_service(tile.service)
        elif tile.action == "verify":
            self.start_verify()
        elif tile.action == "service":
            self.open_service(tile.kind, tile.service)
        elif tile.action == "choose":
            self.local_choices = tile
            self.go_local("providers")

    def choose_service(self, service: str) -> None:
        self.local_choices = None
        providers = []
        for entry in self.state.get("catalogue") or []:
            if entry.get("service") == service:
                providers = entry.get("providers") or []
        self.local_service = service
        if len(providers) == 1:
            self.start_session(providers[0].get("code", ""))
        else:
            self.go_local("providers")

    def open_service(self, kind: str, service: str = "") -> None:
        """A home tile of state.home other than a bill: its kind's start intent."""
        services_views.open_service(self, kind, service)

    def show_unavailable(self, title_key: str) -> None:
        self.unavailable_key = title_key
        self.go_local("unavailable")

    def start_verify(self) -> None:
        """Home tile "verify a receipt / certificate": the core waits for a QR (VERIFY)."""
        self.send_intent("verify")

    def verify_back(self) -> None:
        self._verify_back = True
        self.send_intent("finish")

    def start_session(self, provider: str) -> None:
        self.digits = ""
        self.send_intent("start", provider=provider)

    def open_help(self) -> None:
        if self._help is None:
            self._help = views.HelpView()
            self._help.bind(on_dismiss=lambda *_a: setattr(self, "_help", None))
            self._help.open(animation=False)

    def screen_key(self, key: str) -> None:
        """A keypad key on the current screen (consumer number or maintenance PIN)."""
        current = self.sm.current if self.sm else ""
        if current == "maintenance":
            self.maint_key(key)
            return
        if current != "identify":
            return
        self.notice = None
        if key == "delete":
            self.digits = self.digits[:-1]
        elif key == "continue":
            if self.digits:
                self.send_intent("consumer", number=self.digits)
        elif key.isdigit() and len(self.digits) < 16:
            self.digits += key
        self.render()

    # ------------------------------------------------------------------ card payment

    def card_key(self, key: str) -> None:
        """The card PIN keypad (digits in the core's scrambled order)."""
        if self.state.get("screen") != "CARD":
            return
        if key == "delete":
            self.card_pin = self.card_pin[:-1]
        elif key == "continue":
            if self.card_pin:
                pin, self.card_pin = self.card_pin, ""
                self.send_intent("card_pin", pin=pin)
        elif key.isdigit() and len(self.card_pin) < 12:
            self.card_pin += key
        self.render()

    # ------------------------------------------------------------------ maintenance

    def maint_key(self, key: str) -> None:
        """The maintenance keypad: engineer id first, then the PIN (shown as dots)."""
        self.notice = None
        field = "maint_id" if self.maint_stage == "id" else "pin"
        value = getattr(self, field)
        if key == "delete":
            if not value and self.maint_stage == "pin":
                self.maint_stage = "id"  # delete on an empty PIN: back to the id
            value = value[:-1]
        elif key == "continue":
            if self.maint_stage == "id" and self.maint_id:
                self.maint_stage = "pin"
                self.pin = ""
            elif self.maint_stage == "pin" and self.pin:
                pin, self.pin = self.pin, ""
                self.maint_action("enter", engineer_id=self.maint_id, pin=pin)
            self.render()
            return
        elif key.isdigit() and len(value) < (12 if field == "maint_id" else 8):
            value += key
        setattr(self, field, value)
        self.render()

    def maint_leave_entry(self) -> None:
        self.pin = ""
        self.maint_id = ""
        self.maint_stage = "id"
        self.go_local("attract")

    def maint_ask(self, action: str) -> None:
        """Actions that need a second tap (restart)."""
        self.maint_confirm = action
        self.maint_result = None
        self.render()

    def maint_action(self, action: str, **args: Any) -> None:
        """A maintenance action; its result (data, or a message key) is drawn on the menu."""
        if self.maint_busy is not None and action != "leave":
            return  # one at a time (a test note waits for a note)
        self.maint_confirm = None
        if action != "enter":
            self.maint_busy = action
            self.maint_result = None
        self.render()

        async def go() -> None:
            try:
                reply = await self.link.send(
                    MAINTENANCE, timeout=120.0, action=maint.sent_action(action), **args
                )
            except Exception:  # the link dropped: on_connection redraws
                reply = {"ok": False, "message_key": "please_wait"}
            if self.maint_busy == action:
                self.maint_busy = None
            if action == "enter":
                self.notice = None if reply.get("ok") else (reply.get("message_key") or "wrong_pin")
            elif action != "leave":
                self.maint_result = {
                    "action": action,
                    "args": args,
                    "ok": bool(reply.get("ok")),
                    "data": reply.get("data"),
                    "message_key": reply.get("message_key"),
                }
            self.render()

        self._tasks.append(asyncio.get_event_loop().create_task(go()))
        self._tasks = [t for t in self._tasks if not t.done()]

    def send_intent(self, intent: str, **args: Any) -> None:
        """Fire an intent at the core; a failure comes back as a message key to show."""
        if intent in self._pending and intent != "language":
            return  # a double tap: the first is still on its way
        self._pending.add(intent)
        screen_then = self.state.get("screen")

        async def go() -> None:
            try:
                reply = await self.link.send(intent, **args)
            finally:
                self._pending.discard(intent)
            if reply.get("ok"):
                if intent != "language":
                    self.notice = None
            else:
                key = reply.get("message_key") or "bad_request"
                if key == "not_now" and self.state.get("screen") != screen_then:
                    key = None  # the screen moved on meanwhile: nothing to tell the citizen
                self.notice = key
            self.render()

        self._tasks.append(asyncio.get_event_loop().create_task(go()))
        self._tasks = [t for t in self._tasks if not t.done()]
