"""Whose note is it? Attributing a note the acceptor reports after the core was away.

Before the kiosk tells the acceptor to stack a note it journals `note_stacking` (the session and
the note's value). A note the device reports as stacked when the driver opens, or one it says it
pushed into the cassette at power-up, is then the note of the last stacking the journal has not
seen settled: if that note has a credit already, the report is the same physical note repeated
(the core died after journaling, before the device's ACK); if it has none, it is credited now
to that session under the same note id, so a replay can never count it twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from terminal.journal import Journal


@dataclass(frozen=True)
class StackIntent:
    session_id: str
    note_id: str
    paise: int
    credited: bool  # a credit with this note id is already journaled
    returned: bool  # the note went back to the citizen
    device_count: int | None  # the device's stacked counter just before this note

    @property
    def unresolved(self) -> bool:
        return not self.credited and not self.returned


def last_stack_intent(journal: Journal) -> StackIntent | None:
    """The most recent note the kiosk asked to stack, and what the journal knows of it."""
    last = None
    for ev in journal.events(kinds=("note_stacking",)):
        last = ev
    if last is None:
        return None
    note_id = last.data["note_id"]
    returned = any(
        ev.data.get("note_id") == note_id
        for ev in journal.events(session_id=last.session_id, kinds=("note_returned",))
    )
    return StackIntent(
        session_id=last.session_id,
        note_id=note_id,
        paise=int(last.data["paise"]),
        credited=journal.has_key(f"credit:{note_id}"),
        returned=returned,
        device_count=last.data.get("device_count"),
    )
