"""The field engineer's screens: the PIN pad and the menu (screens/maint.py words the results)."""

from __future__ import annotations

from typing import Any

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.modalview import ModalView

from screens import (
    maint,
    maint_seal,
)
from screens.screen_base import (
    KioskScreen,
)
from screens.widgets import (
    ACCENT,
    INK,
    LINE,
    RED,
    KButton,
    KLabel,
)


class MaintenanceScreen(KioskScreen):
    """Engineer login: id, then PIN (dots only), on the big keypad."""

    prompt_key = "maint_title"

    def update(self, app, state: dict[str, Any]) -> None:
        on_id = app.maint_stage == "id"
        self.ids.engineer.text = app.maint_id or "—"
        self.ids.pin.text = "•" * len(app.pin) if app.pin else "—"
        self.ids.id_box.border = list(ACCENT if on_id else LINE)
        self.ids.pin_box.border = list(LINE if on_id else ACCENT)
        self.ids.hint.text = app.tr("maint_hint_id" if on_id else "maint_hint_pin")
        locked = bool((state.get("maintenance") or {}).get("locked"))
        key = app.notice or ("locked" if locked else None)
        self.ids.message.text = app.tr(key) if key else ""
        self.ids.go.disabled = not (app.maint_id if on_id else app.pin)


class MaintMenuScreen(KioskScreen):
    """The engineer's menu (state.maintenance.active): big buttons on the left, the last
    action's result as plain lines on the right, with its follow-up buttons."""

    prompt_key = "maint_title"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._built = False
        self._drawn: object = None
        self._count = maint.CashCount()  # the engineer's count on the collection screen
        self._seal_view: ModalView | None = None  # the seal number's keyboard, when open

    def on_leave(self, *_args) -> None:
        """Leaving maintenance (or timed out of it) closes the seal keyboard too."""
        if self._seal_view is not None:
            self._seal_view.dismiss(animation=False)
            self._seal_view = None

    def _build_menu(self, app) -> None:
        grid = self.ids.menu
        for action, text in maint.MENU:
            button = KButton(
                tid=f"maint_{action}", text=text, kind="secondary", tall=100, base=30, latin=True
            )
            button.size_hint_y = 1
            if action == "restart":
                button.bind(on_release=lambda _w: app.maint_ask("restart"))
            else:
                button.bind(on_release=lambda _w, a=action: app.maint_action(a))
            grid.add_widget(button)
        leave = KButton(
            tid="maint_leave", text="Leave", kind="danger_outline", tall=100, base=30, latin=True
        )
        leave.size_hint_y = 1
        leave.bind(on_release=lambda _w: app.maint_action("leave"))
        grid.add_widget(leave)
        self._built = True

    def update(self, app, state: dict[str, Any]) -> None:
        if not self._built:
            self._build_menu(app)
        m = state.get("maintenance") or {}
        alarms = m.get("alarms") or []
        self.ids.engineer.text = f"Engineer {m.get('engineer_id') or ''}" + (
            f"  |  alarms: {', '.join(maint.short(a) for a in alarms)}" if alarms else ""
        )
        for child in self.ids.menu.children:
            child.disabled = app.maint_busy is not None and child.tid != "maint_leave"
        result = app.maint_result
        if result and result.get("action") == "cash_summary" and isinstance(result["data"], dict):
            self._count.start(result["data"])  # before the key: one drawing per count
        key = (app.maint_busy, app.maint_confirm, repr(result), app.lang, self._count.key())
        if key == self._drawn:
            return
        self._drawn = key
        box = self.ids.lines
        box.clear_widgets()
        lines: list[tuple[str, object]] = []  # (tid, text) or (tid, (button text, callback))
        if app.maint_busy:
            self.ids.title.text = maint.TITLES.get(app.maint_busy, app.maint_busy)
            lines.append(("maint_line_0", maint.WAITING.get(app.maint_busy, "Please wait ...")))
        elif app.maint_confirm == "restart":
            self.ids.title.text = "Restart"
            lines.append(("maint_line_0", "Restart the kiosk software now?"))
            lines.append(("maint_line_1", "It is back in about a minute."))
            lines.append(
                ("maint_confirm_restart", ("Yes, restart now", lambda: app.maint_action("restart")))
            )
        elif result is None:
            self.ids.title.text = "Maintenance"
            lines.append(("maint_line_0", "Choose a task on the left."))
        else:
            action = result["action"]
            self.ids.title.text = maint.TITLES.get(action, action)
            if not result["ok"]:
                words = result.get("message_key") or "bad_request"
                lines.append(("maint_error", app.tr(words, "en")))
            else:
                data = result.get("data")
                if action == "cash_summary" and isinstance(data, dict):
                    # the count and its button first (in view), the journal's figures below
                    lines.extend(self._count_lines(app))
                for index, line in enumerate(maint.result_lines(action, data)):
                    lines.append((f"maint_line_{index}", line))
                if action == "outbox_view":
                    lines.append(
                        ("maint_send_now", ("Send now", lambda: app.maint_action("send_now")))
                    )
                elif action == "recent_receipts" and isinstance(data, list):
                    for index, row in enumerate(data[:20]):
                        ref, doc, text = maint.receipt_choice(row)
                        lines.append(
                            (
                                f"maint_reprint_{index}",
                                (
                                    text,
                                    lambda r=ref, d=doc: app.maint_action("reprint", ref=r, doc=d),
                                ),
                            )
                        )
        for tid, what in lines:
            if isinstance(what, list):  # a row of count cells: words, then -1 / +1 / +10
                row = BoxLayout(
                    size_hint_y=None,
                    height=84 * app.s,
                    spacing=8 * app.s,
                    padding=(0, 0, 16 * app.s, 0),
                )
                for cell_tid, words, buttons in what:
                    row.add_widget(
                        KLabel(
                            text=words,
                            tid=cell_tid,
                            base=26,
                            latin=True,
                            halign="left",
                            size_hint_x=0.2,
                            size_hint_y=1,
                            auto_height=False,
                        )
                    )
                    for btn_tid, text, callback in buttons:
                        button = KButton(
                            tid=btn_tid, text=text, kind="secondary", tall=84, base=26, latin=True
                        )
                        button.size_hint_x = 0.3 / len(buttons)
                        button.bind(on_release=lambda _w, c=callback: c())
                        row.add_widget(button)
                box.add_widget(row)
            elif isinstance(what, tuple):
                text, callback = what
                kind = "secondary" if tid == "maint_seal" else "primary"
                button = KButton(tid=tid, text=text, kind=kind, tall=96, base=28, latin=True)
                button.bind(on_release=lambda _w, c=callback: c())
                box.add_widget(button)
            else:
                box.add_widget(
                    KLabel(
                        text=str(what),
                        tid=tid,
                        base=26,
                        latin=True,
                        halign="left",
                        pad=4,
                        color=RED if tid == "maint_error" else INK,
                    )
                )

    def _count_lines(self, app) -> list[tuple[str, object]]:
        """The count by denomination (-1 / +1 / +10 per note value, two values a row, so the
        collect button stays in view on a landscape screen), then collect with it."""
        count = self._count

        def step(paise: int, delta: int):
            def go() -> None:
                count.add(paise, delta)
                app.render()

            return go

        cells = [
            (
                f"maint_count_{paise}",
                count.cell(paise),
                [
                    (f"maint_count_{paise}_{name}", text, step(paise, delta))
                    for delta, name, text in count.STEPS
                ],
            )
            for paise in count.values
        ]
        lines: list[tuple[str, object]] = [
            (f"maint_count_row_{i}", cells[i : i + 2]) for i in range(0, len(cells), 2)
        ]
        def type_seal() -> None:
            self._seal_view = maint_seal.SealEntryView(app, count.seal, seal_typed)
            self._seal_view.open(animation=False)

        def seal_typed(seal: str) -> None:
            count.seal = seal
            app.render()

        def collect() -> None:  # no seal number yet: type it first
            if count.seal:
                app.maint_action("collect_cash", **count.args())
            else:
                type_seal()

        lines.append(("maint_seal", (count.seal_line(), type_seal)))
        lines.append(("maint_collect", (count.collect_line(), collect)))
        lines.append(("maint_count_note", "Journal since the last collection:"))
        return lines
