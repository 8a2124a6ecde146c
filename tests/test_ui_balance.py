"""Balanced titles (screens/balance.py): two lines of about the same length, never one word
left alone on the last line; one line stays one line."""

from __future__ import annotations

from screens.balance import balanced_width, line_count


def lines(widths: list[float], space: float, limit: float) -> list[float]:
    """The widths of the lines a greedy wrap makes (what a label does with text_size)."""
    out: list[float] = []
    for width in widths:
        if out and out[-1] + space + width <= limit:
            out[-1] += space + width
        else:
            out.append(width)
    return out


def test_an_orphan_word_gets_company() -> None:
    words = [60.0, 40.0, 80.0, 30.0, 50.0, 20.0]  # "आपका बिल देखा जा रहा है"
    greedy = lines(words, 10, 300)
    assert len(greedy) == 2 and greedy[1] == 20  # the orphan
    width = balanced_width(words, 10, 300)
    even = lines(words, 10, width)
    assert len(even) == 2
    assert min(even) >= 0.6 * max(even), even


def test_one_line_stays_one_line_at_full_width() -> None:
    assert balanced_width([50.0, 50.0], 10, 300) == 300
    assert balanced_width([], 10, 300) == 300


def test_never_more_lines_than_the_greedy_wrap() -> None:
    words = [float(w) for w in (90, 15, 70, 40, 40, 120, 10, 60, 35, 55)]
    for limit in (130.0, 200.0, 260.0, 400.0):
        width = balanced_width(words, 8, limit)
        assert width <= limit
        assert line_count(words, 8, width) == line_count(words, 8, limit)


def test_a_word_wider_than_the_limit() -> None:
    assert balanced_width([500.0, 20.0], 10, 300) == 300
