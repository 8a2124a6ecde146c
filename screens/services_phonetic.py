"""Phonetic entry: Latin letters as Hindi is spelt in them ("raam" -> राम, "seeta" -> सीता),
for citizens who read Hindi but find a letter faster on the familiar Latin keys.

A small fixed scheme (longest match first): a consonant followed by a vowel takes the vowel's
matra, by another consonant a halant; "a" after a consonant is its own sound (no matra), except
at the end of a word, where it is long (सीता); n between a vowel and a consonant is an anusvara. The
word being typed stays Latin in `buffer` and is shown transliterated until a space commits it.
"""

from __future__ import annotations

CONSONANTS = {
    "chh": "छ", "kh": "ख", "gh": "घ", "ch": "च", "jh": "झ", "th": "थ", "dh": "ध", "ph": "फ",
    "bh": "भ", "sh": "श", "k": "क", "g": "ग", "c": "क", "j": "ज", "t": "त",
    "d": "द", "n": "न", "p": "प", "f": "फ़", "b": "ब", "m": "म", "y": "य", "r": "र", "l": "ल",
    "v": "व", "w": "व", "s": "स", "h": "ह", "z": "ज़", "q": "क़", "x": "क्स",
}
VOWELS = {  # latin -> (letter alone, matra after a consonant)
    "aa": ("आ", "ा"), "ai": ("ऐ", "ै"), "au": ("औ", "ौ"), "ee": ("ई", "ी"), "ii": ("ई", "ी"),
    "oo": ("ऊ", "ू"), "uu": ("ऊ", "ू"), "ri": ("ऋ", "ृ"), "a": ("अ", ""), "i": ("इ", "ि"),
    "u": ("उ", "ु"), "e": ("ए", "े"), "o": ("ओ", "ो"),
}
HALANT = "्"


def _match(table: dict, text: str, at: int) -> str | None:
    for size in (3, 2, 1):
        piece = text[at:at + size]
        if len(piece) == size and piece in table:
            return piece
    return None


def transliterate(latin: str) -> str:
    """One word of phonetic Latin as Devanagari; characters outside the scheme stay as typed."""
    out: list[str] = []
    at = 0
    after_consonant = False
    while at < len(latin):
        vowel = _match(VOWELS, latin, at)
        consonant = None if vowel else _match(CONSONANTS, latin, at)
        if vowel:
            alone, matra = VOWELS[vowel]
            if vowel == "a" and after_consonant and at + 1 == len(latin):
                matra = "ा"  # "seeta", "sharma": a final a is long, as people spell names
            out.append(matra if after_consonant else alone)
            after_consonant = False
            at += len(vowel)
        elif consonant == "n" and not after_consonant and at > 0 \
                and _match(CONSONANTS, latin, at + 1):
            out.append("ं")  # "ganga", "hindi": n between a vowel and a consonant
            at += 1
        elif consonant:
            if after_consonant:
                out.append(HALANT)
            out.append(CONSONANTS[consonant])
            after_consonant = True
            at += len(consonant)
        else:
            out.append(latin[at])
            after_consonant = False
            at += 1
    return "".join(out)


class Phonetic:
    """The Latin letters of the word being typed; `pending` is how it reads in Devanagari."""

    def __init__(self) -> None:
        self.buffer = ""

    @property
    def pending(self) -> str:
        return transliterate(self.buffer)

    def feed(self, letter: str) -> str:
        """Add a letter (nothing is committed until the word ends): returns ""; a digit or any
        other key ends the word and is returned after it."""
        if letter.isascii() and letter.isalpha():
            self.buffer += letter.lower()
            return ""
        return self.flush() + letter

    def back(self) -> None:
        self.buffer = self.buffer[:-1]

    def flush(self) -> str:
        done, self.buffer = self.pending, ""
        return done

    def reset(self) -> None:
        self.buffer = ""
