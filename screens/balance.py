"""Balanced line breaking for titles: a heading that needs two lines gets two lines of about
the same length, never a full line and one orphaned word ("आपका बिल देखा जा रहा" / "है",
"Insert your card into the" / "machine"), in Hindi and English alike.
Pure arithmetic on measured word widths (no Kivy here); widgets.KLabel measures and applies.

Narrowing the wrap width evens the lines, but cannot always save the last word: "Pay by" /
"card" is already the narrowest two-line wrap. So a title's last two words are also glued with a
no-break space (glue_last_words): they wrap together, and a line never ends with one word alone.
Words are split on the plain space only, so a glued pair is measured as one word."""

from __future__ import annotations

from collections.abc import Sequence


def line_count(widths: Sequence[float], space: float, limit: float) -> int:
    """Lines a greedy wrap makes of words this wide in `limit` (a word wider than the limit
    takes a line of its own, as the label's own wrap does)."""
    lines, used = 0, 0.0
    for width in widths:
        if lines and used + space + width <= limit:
            used += space + width
        else:
            lines += 1
            used = width
    return lines


def balanced_width(widths: Sequence[float], space: float, limit: float) -> float:
    """The narrowest width (<= limit) that wraps into no more lines than `limit` does: the
    lines then come out even. `limit` itself when one line (or no text) is enough."""
    if not widths or limit <= 0:
        return limit
    lines = line_count(widths, space, limit)
    if lines <= 1:
        return limit
    low = max(max(widths), (sum(widths) + space * (len(widths) - 1)) / lines)
    if low >= limit:
        return limit
    high = limit
    for _ in range(24):  # well under a pixel
        mid = (low + high) / 2
        if line_count(widths, space, mid) <= lines:
            high = mid
        else:
            low = mid
    return high


NBSP = "\u00a0"
GLUE_MAX_CHARS = 18  # a longer last pair is left free: gluing it could not fit a narrow box


def words_of(text: str) -> list[str]:
    """The units the label's wrap moves: split on plain spaces (a no-break space holds)."""
    return [word for word in text.split(" ") if word]


def glue_last_words(text: str) -> str:
    """The text with its last two words joined by a no-break space, so the wrap can never
    leave the last word alone on a line. Only for three words or more on one paragraph line
    (two words alone may take a line each) and a short pair; idempotent."""
    lines = text.split("\n")
    last = lines[-1]
    head, sep, tail = last.rstrip(" ").rpartition(" ")
    if not sep or NBSP in tail or len(words_of(head)) < 2:
        return text
    before_tail = head.rpartition(" ")[2]
    if len(before_tail) + 1 + len(tail) > GLUE_MAX_CHARS or NBSP in before_tail:
        return text
    lines[-1] = f"{head}{NBSP}{tail}"
    return "\n".join(lines)
