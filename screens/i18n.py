"""gettext for the screens: the .po sources under screens/locale/ are compiled to .mo (a small
msgfmt of our own, pure Python) and loaded with the standard library's GNUTranslations.

Message ids are symbolic keys ("insert_note", "btn_back"), so both catalogues, hi and en, carry
real text and a missing translation is visible in a test, not on the citizen's screen.

`python -m screens.i18n` writes the .mo files next to the .po files (for packaging); at start-up
the screen compiles any catalogue whose .mo is missing or older than its .po, in memory.
"""

from __future__ import annotations

import ast
import gettext
import io
import struct
import sys
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "emitra"
LANGUAGES = ("hi", "en")


class PoError(ValueError):
    pass


def parse_po(text: str, source: str = "<po>") -> dict[str, str]:
    """msgid -> msgstr of a .po file (no plural forms, no contexts: we use neither)."""
    entries: dict[str, str] = {}
    msgid: list[str] | None = None
    msgstr: list[str] | None = None
    current: list[str] | None = None

    def flush(lineno: int) -> None:
        nonlocal msgid, msgstr
        if msgid is None:
            return
        if msgstr is None:
            raise PoError(f"{source}:{lineno}: msgid without msgstr")
        key = "".join(msgid)
        if key in entries:
            raise PoError(f"{source}:{lineno}: duplicate msgid {key!r}")
        entries[key] = "".join(msgstr)
        msgid = msgstr = None

    lines = text.splitlines()
    for lineno, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("msgid "):
            flush(lineno)
            msgid = [_unquote(line[6:], source, lineno)]
            current = msgid
        elif line.startswith("msgstr "):
            if msgid is None:
                raise PoError(f"{source}:{lineno}: msgstr without msgid")
            msgstr = [_unquote(line[7:], source, lineno)]
            current = msgstr
        elif line.startswith('"'):
            if current is None:
                raise PoError(f"{source}:{lineno}: continuation line outside an entry")
            current.append(_unquote(line, source, lineno))
        else:
            raise PoError(f"{source}:{lineno}: cannot read {line!r}")
    flush(len(lines))
    return entries


def _unquote(token: str, source: str, lineno: int) -> str:
    token = token.strip()
    if len(token) < 2 or token[0] != '"' or token[-1] != '"':
        raise PoError(f"{source}:{lineno}: expected a quoted string, got {token!r}")
    try:
        value = ast.literal_eval(token)
    except (SyntaxError, ValueError) as exc:
        raise PoError(f"{source}:{lineno}: bad string {token!r}: {exc}") from None
    if not isinstance(value, str):
        raise PoError(f"{source}:{lineno}: expected a string")
    return value


def compile_mo(entries: dict[str, str]) -> bytes:
    """GNU .mo bytes (little-endian, no hash table) for the given msgid -> msgstr map."""
    items = sorted((k.encode("utf-8"), v.encode("utf-8")) for k, v in entries.items() if v)
    count = len(items)
    header_size = 7 * 4
    ids_table = header_size
    strs_table = ids_table + count * 8
    data_start = strs_table + count * 8
    ids_blob = io.BytesIO()
    strs_blob = io.BytesIO()
    id_offsets: list[tuple[int, int]] = []
    str_offsets: list[tuple[int, int]] = []
    for key, _value in items:
        id_offsets.append((len(key), ids_blob.tell()))
        ids_blob.write(key + b"\0")
    strs_start = data_start + ids_blob.tell()
    for _key, value in items:
        str_offsets.append((len(value), strs_start + strs_blob.tell()))
        strs_blob.write(value + b"\0")
    out = io.BytesIO()
    out.write(struct.pack("<7I", 0x950412DE, 0, count, ids_table, strs_table, 0, data_start))
    for length, offset in id_offsets:
        out.write(struct.pack("<2I", length, data_start + offset))
    for length, offset in str_offsets:
        out.write(struct.pack("<2I", length, offset))
    out.write(ids_blob.getvalue())
    out.write(strs_blob.getvalue())
    return out.getvalue()


def po_path(language: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def load_catalogue(language: str, locale_dir: Path = LOCALE_DIR) -> gettext.GNUTranslations:
    """The catalogue for `language`: the .mo if it is up to date, else the .po compiled now."""
    po = po_path(language, locale_dir)
    mo = po.with_suffix(".mo")
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as handle:
            return gettext.GNUTranslations(handle)
    entries = parse_po(po.read_text(encoding="utf-8"), str(po))
    return gettext.GNUTranslations(io.BytesIO(compile_mo(entries)))


class Translator:
    """Both catalogues loaded once; `text(key, lang)` never raises and never shows a bare key
    when the other language has the text."""

    def __init__(self, locale_dir: Path = LOCALE_DIR) -> None:
        self.catalogues = {lang: load_catalogue(lang, locale_dir) for lang in LANGUAGES}

    def has(self, key: str, language: str) -> bool:
        return self.catalogues[language].gettext(key) != key

    def text(self, key: str, language: str, **values: object) -> str:
        lang = language if language in self.catalogues else "hi"
        found = self.catalogues[lang].gettext(key)
        if found == key:
            other = "en" if lang == "hi" else "hi"
            found = self.catalogues[other].gettext(key)
            if found == key:
                found = self.catalogues[lang].gettext("bad_request")
        if values:
            try:
                found = found.format(**values)
            except (KeyError, IndexError, ValueError):
                pass
        return found


def main() -> int:
    """Write every catalogue's .mo next to its .po (the packaging step)."""
    for lang in LANGUAGES:
        po = po_path(lang)
        entries = parse_po(po.read_text(encoding="utf-8"), str(po))
        po.with_suffix(".mo").write_bytes(compile_mo(entries))
        print(f"{po.with_suffix('.mo')}: {len(entries)} messages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
