"""The engineer's count of the cassette on the collection screen (per denomination) and the
seal/bag number the cash leaves in, held by the screen until both are sent with collect_cash.
No Kivy here: tests read it."""

from __future__ import annotations

from typing import Any

from screens import fmt


def rupees(paise: int) -> str:
    return fmt.rupees(int(paise))


MAX_COUNT = 100_000  # per denomination, as the core accepts


class CashCount:
    """The engineer's count of the cassette on the collection screen, per denomination, until
    it is sent with collect_cash (the core compares it with the journal and journals both).

    It starts at zero for every note value the kiosk takes: the engineer counts the notes in
    hand, the figures are not copied from the journal's."""

    STEPS = ((-1, "minus", "-1"), (1, "plus", "+1"), (10, "plus10", "+10"))

    def __init__(self) -> None:
        self.values: list[int] = []
        self.notes: dict[int, int] = {}
        self.seal = ""  # the seal/bag number the cash leaves in (screens/maint_seal.py)
        self._source: str | None = None

    def start(self, data: dict[str, Any]) -> None:
        """A new cash summary: a new count (the same summary redrawn keeps the count)."""
        source = repr(data)
        if source == self._source:
            return
        self._source = source
        values = data.get("denominations") or [
            row.get("paise") for row in data.get("by_denomination") or []
        ]
        self.values = sorted({int(v) for v in values if v}, reverse=True)
        self.notes = {value: 0 for value in self.values}
        self.seal = ""

    def add(self, paise: int, delta: int) -> None:
        self.notes[paise] = max(0, min(MAX_COUNT, self.notes.get(paise, 0) + delta))

    @property
    def total_paise(self) -> int:
        return sum(value * n for value, n in self.notes.items())

    def cell(self, paise: int) -> str:
        """ "₹500: 3" (the amounts add up on the collect button)."""
        return f"{rupees(paise)}: {self.notes.get(paise, 0)}"

    def total_line(self) -> str:
        return f"{sum(self.notes.values())} notes ({rupees(self.total_paise)})"

    def seal_line(self) -> str:
        if self.seal:
            return f"Seal/bag no.: {self.seal}  (tap to change)"
        return "Seal/bag no.: not typed yet - tap to type it"

    def collect_line(self) -> str:
        if not self.seal:
            return f"Type the seal/bag number, then collect {self.total_line()}"
        return f"Collect {self.total_line()} and print slip"

    def args(self) -> dict[str, Any]:
        """collect_cash's arguments: {"counted": {"50000": n, ...}} (every value, zeros too)
        and "seal_no"."""
        return {
            "counted": {str(value): n for value, n in self.notes.items()},
            "seal_no": self.seal,
        }

    def key(self) -> tuple[Any, ...]:
        return (*sorted(self.notes.items()), self.seal)
