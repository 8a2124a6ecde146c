"""Amounts in words (Hindi and English, Indian units) and rupee formatting."""

from __future__ import annotations

import pytest

from terminal.amount_words import (
    HINDI_1_99,
    amount_in_words_en,
    amount_in_words_hi,
    number_in_words_hi,
)
from terminal.money import ascii_rupees, format_rupees

TABLE = [
    # (paise, Hindi, English)
    (0, "शून्य रुपये मात्र", "Rupees zero only"),
    (100, "एक रुपया मात्र", "Rupees one only"),
    (1000, "दस रुपये मात्र", "Rupees ten only"),
    (1100, "ग्यारह रुपये मात्र", "Rupees eleven only"),
    (9900, "निन्यानवे रुपये मात्र", "Rupees ninety-nine only"),
    (10000, "एक सौ रुपये मात्र", "Rupees one hundred only"),
    (10100, "एक सौ एक रुपये मात्र", "Rupees one hundred one only"),
    (64000, "छह सौ चालीस रुपये मात्र", "Rupees six hundred forty only"),
    (100000, "एक हज़ार रुपये मात्र", "Rupees one thousand only"),
    (10000000, "एक लाख रुपये मात्र", "Rupees one lakh only"),
    (
        12564000,
        "एक लाख पच्चीस हज़ार छह सौ चालीस रुपये मात्र",
        "Rupees one lakh twenty-five thousand six hundred forty only",
    ),
    (
        99999950,
        "नौ लाख निन्यानवे हज़ार नौ सौ निन्यानवे रुपये और पचास पैसे मात्र",
        "Rupees nine lakh ninety-nine thousand nine hundred ninety-nine and fifty paise only",
    ),
    (1000000000, "एक करोड़ रुपये मात्र", "Rupees one crore only"),
    (
        2345678900,
        "दो करोड़ चौंतीस लाख छप्पन हज़ार सात सौ नवासी रुपये मात्र",
        "Rupees two crore thirty-four lakh fifty-six thousand seven hundred eighty-nine only",
    ),
    (
        150000000000,
        "एक सौ पचास करोड़ रुपये मात्र",
        "Rupees one hundred fifty crore only",
    ),
    (
        123550,
        "एक हज़ार दो सौ पैंतीस रुपये और पचास पैसे मात्र",
        "Rupees one thousand two hundred thirty-five and fifty paise only",
    ),
    (101, "एक रुपया और एक पैसा मात्र", "Rupees one and one paisa only"),
    (50, "पचास पैसे मात्र", "Fifty paise only"),
]


@pytest.mark.parametrize(("paise", "hindi", "english"), TABLE)
def test_amount_in_words(paise: int, hindi: str, english: str) -> None:
    assert amount_in_words_hi(paise) == hindi
    assert amount_in_words_en(paise) == english


@pytest.mark.parametrize(
    ("n", "word"),
    [
        (11, "ग्यारह"),
        (21, "इक्कीस"),
        (45, "पैंतालीस"),
        (69, "उनहत्तर"),
        (79, "उन्यासी"),
        (89, "नवासी"),
        (99, "निन्यानवे"),
        (18, "अठारह"),
        (5, "पाँच"),
        (6, "छह"),
    ],
)
def test_irregular_hindi_words(n: int, word: str) -> None:
    assert HINDI_1_99[n] == word
    assert number_in_words_hi(n) == word


def test_every_number_1_to_99_has_its_own_hindi_word() -> None:
    words = [number_in_words_hi(n) for n in range(1, 100)]
    assert all(w and "None" not in w and " " not in w for w in words)
    assert len(set(words)) == 99  # all distinct: a table, not rules
    for w in words:  # Devanagari only
        assert all("\u0900" <= ch <= "\u097f" for ch in w), w


def test_words_are_never_broken_for_many_amounts() -> None:
    for paise in list(range(0, 200_000, 97)) + [10**9 - 1, 10**11 + 1]:
        hi, en = amount_in_words_hi(paise), amount_in_words_en(paise)
        assert "None" not in hi and "  " not in hi and hi.endswith("मात्र")
        assert "None" not in en and "  " not in en and en.endswith("only")


def test_money_must_be_int_paise() -> None:
    with pytest.raises(TypeError):
        amount_in_words_hi(640.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        amount_in_words_en(-1)
    with pytest.raises(TypeError):
        format_rupees(1.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("paise", "unicode_text", "ascii_text"),
    [
        (0, "₹0", "Rs. 0"),
        (64000, "₹640", "Rs. 640"),
        (123550, "₹1,235.50", "Rs. 1,235.50"),
        (10000000, "₹1,00,000", "Rs. 1,00,000"),
        (99999950, "₹9,99,999.50", "Rs. 9,99,999.50"),
        (1234567800, "₹1,23,45,678", "Rs. 1,23,45,678"),
        (5, "₹0.05", "Rs. 0.05"),
    ],
)
def test_indian_grouping(paise: int, unicode_text: str, ascii_text: str) -> None:
    assert format_rupees(paise) == unicode_text
    assert ascii_rupees(paise) == ascii_text
