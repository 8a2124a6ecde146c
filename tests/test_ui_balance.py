"""Balanced titles (screens/balance.py): two lines of about the same length, never one word
left alone on the last line; one line stays one line."""

from __future__ import annotations

from screens.balance import balanced_width, glue_last_words, line_count, words_of


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


def test_last_two_words_are_glued_in_english_and_hindi() -> None:
    """"Pay by" / "card" is already the narrowest two-line wrap: no width saves the last word,
    so the last two words travel together (a no-break space, which the label's wrap keeps)."""
    assert glue_last_words("Pay by card") == "Pay by\u00a0card"
    assert glue_last_words("आपका बिल देखा जा रहा है") == "आपका बिल देखा जा रहा\u00a0है"
    long_title = "Insert your ATM / debit card into the machine"
    assert glue_last_words(long_title).endswith("the\u00a0machine")
    assert words_of(glue_last_words(long_title))[-1] == "the\u00a0machine"  # measured as one


def test_gluing_leaves_short_and_done_texts_alone() -> None:
    for text in ("Continue", "Two words", "", "Pay by\u00a0card"):
        assert glue_last_words(text) == text
    once = glue_last_words("Your bill is being checked")
    assert glue_last_words(once) == once  # idempotent: the label sets its text once more
    assert glue_last_words("a b c\nd e f") == "a b c\nd e\u00a0f"  # the last line's pair
    # a long pair stays free: it might not fit a narrow box together
    assert glue_last_words("Say your name Chandrashekhar Venkataraman") == (
        "Say your name Chandrashekhar Venkataraman")


def test_a_glued_pair_never_leaves_an_orphan() -> None:
    """With the pair measured as one word, the balanced wrap's last line has two words."""
    text = glue_last_words("Insert your ATM / debit card into the machine")
    words = words_of(text)
    widths = [12.0 * len(w) for w in words]
    width = balanced_width(widths, 10, 400)
    last: list[str] = []
    used = 0.0
    for word, w in zip(words, widths, strict=True):
        if last and used + 10 + w <= width:
            last.append(word)
            used += 10 + w
        else:
            last, used = [word], w
    assert len(" ".join(last).replace("\u00a0", " ").split()) >= 2, last
