"""What the voice guidance says, decided from one drawn state to the next: the screen's
instruction when the screen (or its step) changes, and what changed on it — the amount put in and
still due, a note handed back and why, take your card, take your receipt. Pure text decisions (no
Kivy, no audio) so the tests can check every sentence; screens/voice.py speaks them.

Amounts are said as numbers and the word for rupees ("140 रुपये"): espeak-ng reads the digits in
the sentence's language, and it has no word for the ₹ sign."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Translate = Callable[..., str]  # (key, lang, **values) -> text
# Messages that finish a payment: said before the done screen's "take your receipt".
DONE_MESSAGES = ("payment_successful", "paid_provisional", "voucher_issued",
                 "print_failed_money_safe")
REASON_KEYS = {"note_too_large": "voice_note_too_large"}


def joined(said: list[str], lang: str) -> str:
    """One utterance: each sentence ends with a stop, so the engine pauses between them."""
    stop = "।" if lang == "hi" else "."
    return " ".join(x if x.rstrip()[-1:] in ("।", ".", "?", "!") else f"{x}{stop}"
                    for x in said if x.strip())


def spoken_amount(paise: int, lang: str, tr: Translate) -> str:
    rupees, rest = divmod(max(0, int(paise)), 100)
    if rest:
        return tr("voice_rupees_paise", lang, rupees=rupees, paise=rest)
    return tr("voice_rupees", lang, rupees=rupees)


@dataclass(frozen=True)
class Seen:
    """What the last spoken-about state showed, to compare the next one with."""

    screen: str = ""
    prompt: str = ""
    session_id: str | None = None
    paid_paise: int = 0
    returned: tuple | None = None


def seen_of(screen: str, prompt: str, state: dict[str, Any]) -> Seen:
    session = state.get("session") or {}
    returned = session.get("last_returned")
    return Seen(
        screen=screen,
        prompt=prompt,
        session_id=session.get("session_id"),
        paid_paise=int(session.get("paid_paise") or 0),
        returned=None if not isinstance(returned, dict)
        else (returned.get("paise"), returned.get("message_key")),
    )


def _message_key(state: dict[str, Any]) -> str | None:
    message = state.get("message")
    return message.get("key") if isinstance(message, dict) else None


def sentences(before: Seen, now: Seen, state: dict[str, Any], lang: str,
              tr: Translate) -> list[str]:
    """What to say on going from `before` to `now` (empty: nothing new to say)."""
    session = state.get("session") or {}
    remaining = int(session.get("remaining_paise") or 0)
    same_session = now.session_id is not None and now.session_id == before.session_id
    said: list[str] = []
    if now.returned is not None and (now.returned != before.returned or not same_session):
        note_paise, key = now.returned
        note = spoken_amount(int(note_paise or 0), lang, tr)
        # a note the acceptor could not read has no value to say
        said.append(tr("voice_note_back", lang, note=note) if note_paise
                    else tr("voice_note_back_any", lang))
        reason = REASON_KEYS.get(str(key))
        if reason:
            said.append(tr(reason, lang, note=note, due=spoken_amount(remaining, lang, tr)))
        elif key:
            said.append(tr(str(key), lang))
    paid_more = same_session and now.paid_paise > before.paid_paise
    if paid_more and now.screen == "paying":
        said.append(tr("voice_paid", lang, paid=spoken_amount(now.paid_paise, lang, tr),
                       due=spoken_amount(remaining, lang, tr)))
    if (now.screen, now.prompt) != (before.screen, before.prompt):
        if now.screen == "done":
            key = _message_key(state)
            if key in DONE_MESSAGES:
                said.append(tr(key, lang))
        if now.prompt:
            said.append(tr(now.prompt, lang))
        if now.screen == "paying" and not paid_more and remaining:
            said.append(tr("voice_due", lang, due=spoken_amount(remaining, lang, tr)))
    return said


class Narrator:
    """Keeps what was last seen and said; `replay()` gives the screen's last words again."""

    def __init__(self, say: Callable[[str, str], None], tr: Translate) -> None:
        self.say = say
        self.tr = tr
        self.seen = Seen()
        self.last: list[str] = []  # the instruction and what changed, for the replay button
        self.last_lang = "hi"

    def drawn(self, screen: str, prompt: str, state: dict[str, Any], lang: str) -> list[str]:
        """Called after every render; speaks what is new and returns it."""
        now = seen_of(screen, prompt, state)
        said = sentences(self.seen, now, state, lang, self.tr)
        self.seen = now
        if said:
            self.last, self.last_lang = said, lang
            if prompt and self.tr(prompt, lang) not in said:
                self.last = [*said, self.tr(prompt, lang)]  # a replay ends with what to do
            self.say(joined(said, lang), lang)
        return said

    def replay(self, screen_prompt: str, lang: str) -> str:
        """The button: the last words again, or the screen's instruction in today's language."""
        words = self.last if self.last and lang == self.last_lang else (
            [self.tr(screen_prompt, lang)] if screen_prompt else [])
        text = joined(words, lang)
        if text:
            self.say(text, lang)
        return text
