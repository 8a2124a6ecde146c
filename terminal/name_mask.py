"""Masking a name written in Devanagari the way logs.mask_name masks a Latin one: enough of each
word to recognise one's own bill, not to read the name.

A Devanagari letter is often several code points (consonant + vowel sign, or a conjunct joined
by the virama ्): cutting after two code points can leave half a letter ("श्" of "श्याम"). So the
unit here is the akshara (a cluster): the first one of each word is kept, each further one
becomes a star. Latin words are left to logs.mask_name's rule (first two letters)."""

from __future__ import annotations

import unicodedata

from terminal.logs import mask_name

VIRAMA = "\u094d"
MAX_NAME = 120  # characters: a longer "name" from central is not shown at all


def aksharas(word: str) -> list[str]:
    """The word cut into letter clusters: a base letter with its vowel signs and marks, and a
    consonant joined by a virama stays with the cluster before it."""
    clusters: list[str] = []
    for ch in word:
        joins = unicodedata.category(ch) in ("Mn", "Mc") or (
            clusters and clusters[-1].endswith(VIRAMA)
        )
        if clusters and joins:
            clusters[-1] += ch
        else:
            clusters.append(ch)
    return clusters


def is_devanagari(text: str) -> bool:
    return any("\u0900" <= ch <= "\u097f" for ch in text)


def mask_name_any(name: str) -> str:
    """'रमेश कुमार' -> 'र** कु**'; a Latin name as logs.mask_name does ('Ra**** Ku***')."""
    if not is_devanagari(name):
        return mask_name(name)
    words = []
    for word in name.split():
        parts = aksharas(word)
        words.append(parts[0] + "*" * (len(parts) - 1))
    return " ".join(words)


def shown_name_hi(name: object) -> str:
    """central's Devanagari name, masked, when it is sane text; "" otherwise (the screen then
    shows the Latin name): a hostile or broken value never reaches the screen."""
    if not isinstance(name, str) or not name or len(name) > MAX_NAME or not name.isprintable():
        return ""
    if not is_devanagari(name):
        return ""
    return mask_name_any(name)
