"""Balanced line breaking for titles: a heading that needs two lines gets two lines of about
the same length, never a full line and one orphaned word ("आपका बिल देखा जा रहा" / "है").
Pure arithmetic on measured word widths (no Kivy here); widgets.KLabel measures and applies."""

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
