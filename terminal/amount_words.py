"""Amounts in words for receipts, Hindi and English, with Indian units (thousand, lakh, crore).

Hindi number words 1-99 are irregular, so they come from one complete table, not from rules.
Spellings follow common standard usage (e.g. पाँच, छह, अठारह, तिरपन, चवालीस, उन्यासी).
"""

from __future__ import annotations

# fmt: off
HINDI_1_99: tuple[str, ...] = (
    "",  # 0 is never looked up in this table
    "एक", "दो", "तीन", "चार", "पाँच", "छह", "सात", "आठ", "नौ", "दस",  # 1-10
    "ग्यारह", "बारह", "तेरह", "चौदह", "पंद्रह",  # 11-15
    "सोलह", "सत्रह", "अठारह", "उन्नीस", "बीस",  # 16-20
    "इक्कीस", "बाईस", "तेईस", "चौबीस", "पच्चीस",  # 21-25
    "छब्बीस", "सत्ताईस", "अट्ठाईस", "उनतीस", "तीस",  # 26-30
    "इकतीस", "बत्तीस", "तैंतीस", "चौंतीस", "पैंतीस",  # 31-35
    "छत्तीस", "सैंतीस", "अड़तीस", "उनतालीस", "चालीस",  # 36-40
    "इकतालीस", "बयालीस", "तैंतालीस", "चवालीस", "पैंतालीस",  # 41-45
    "छियालीस", "सैंतालीस", "अड़तालीस", "उनचास", "पचास",  # 46-50
    "इक्यावन", "बावन", "तिरपन", "चौवन", "पचपन",  # 51-55
    "छप्पन", "सत्तावन", "अट्ठावन", "उनसठ", "साठ",  # 56-60
    "इकसठ", "बासठ", "तिरसठ", "चौंसठ", "पैंसठ",  # 61-65
    "छियासठ", "सड़सठ", "अड़सठ", "उनहत्तर", "सत्तर",  # 66-70
    "इकहत्तर", "बहत्तर", "तिहत्तर", "चौहत्तर", "पचहत्तर",  # 71-75
    "छिहत्तर", "सतहत्तर", "अठहत्तर", "उन्यासी", "अस्सी",  # 76-80
    "इक्यासी", "बयासी", "तिरासी", "चौरासी", "पचासी",  # 81-85
    "छियासी", "सत्तासी", "अट्ठासी", "नवासी", "नब्बे",  # 86-90
    "इक्यानवे", "बानवे", "तिरानवे", "चौरानवे", "पचानवे",  # 91-95
    "छियानवे", "सत्तानवे", "अट्ठानवे", "निन्यानवे",  # 96-99
)
# fmt: on
assert len(HINDI_1_99) == 100

# fmt: off
_EN_ONES = (
    "", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
)
_EN_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
# fmt: on

# (size, Hindi unit, English unit), largest first; crore takes any count (recursively).
_UNITS = ((10_000_000, "करोड़", "crore"), (100_000, "लाख", "lakh"), (1000, "हज़ार", "thousand"))


def _en_below_100(n: int) -> str:
    if n < 20:
        return _EN_ONES[n]
    tens, ones = divmod(n, 10)
    return _EN_TENS[tens] + (f"-{_EN_ONES[ones]}" if ones else "")


def _words(n: int, below_100, hundred: str, lang: int) -> list[str]:
    """Words of n >= 1 in Indian units; lang 1 = Hindi, 2 = English (index into _UNITS)."""
    out: list[str] = []
    for size, *names in _UNITS:
        if n >= size:
            count, n = divmod(n, size)
            out += _words(count, below_100, hundred, lang)
            out.append(names[lang - 1])
    if n >= 100:
        count, n = divmod(n, 100)
        out += [below_100(count), hundred]
    if n:
        out.append(below_100(n))
    return out


def number_in_words_hi(n: int) -> str:
    if n == 0:
        return "शून्य"
    return " ".join(_words(n, HINDI_1_99.__getitem__, "सौ", 1))


def number_in_words_en(n: int) -> str:
    if n == 0:
        return "zero"
    return " ".join(_words(n, _en_below_100, "hundred", 2))


def _split(paise: int) -> tuple[int, int]:
    if isinstance(paise, bool) or not isinstance(paise, int):
        raise TypeError(f"money must be int paise, got {type(paise).__name__}")
    if paise < 0:
        raise ValueError(f"money must not be negative: {paise}")
    return divmod(paise, 100)


def amount_in_words_hi(paise: int) -> str:
    """64000 -> "छह सौ चालीस रुपये मात्र"; 99999950 -> "... रुपये और पचास पैसे मात्र"."""
    rupees, rest = _split(paise)
    parts = []
    if rupees or not rest:
        parts.append(f"{number_in_words_hi(rupees)} {'रुपया' if rupees == 1 else 'रुपये'}")
    if rest:
        parts.append(f"{number_in_words_hi(rest)} {'पैसा' if rest == 1 else 'पैसे'}")
    return " और ".join(parts) + " मात्र"


def amount_in_words_en(paise: int) -> str:
    """64000 -> "Rupees six hundred forty only"; 50 -> "Fifty paise only"."""
    rupees, rest = _split(paise)
    paise_words = f"{number_in_words_en(rest)} {'paisa' if rest == 1 else 'paise'}"
    if rupees or not rest:
        text = f"Rupees {number_in_words_en(rupees)}"
        if rest:
            text += f" and {paise_words}"
    else:
        text = paise_words[0].upper() + paise_words[1:]
    return text + " only"
