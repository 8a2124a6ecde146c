"""Every detail word a driver can put in a DeviceStatus is in the vocabulary declared in
drivers/base.py (DETAIL_WORDS / DETAIL_PREFIXES): from the drivers' status tables, run over
every code they know, and from every DeviceStatus(...) written out in drivers/ and terminal/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from drivers.acceptor import ccnet_status, essp_status
from drivers.base import DETAIL_WORDS, LOST_WORDS, OFFLINE, DeviceState, is_detail_word
from drivers.printer import status as printer_status

ROOT = Path(__file__).resolve().parents[1]


def _ccnet_words() -> set[str]:
    words: set[str] = set()
    for code in range(256):
        for data in (b"", *(bytes((d,)) for d in range(256))):
            status = ccnet_status.status_for(code, data)
            if status is not None:
                words.update(status.detail)
    return words


def _essp_words() -> set[str]:
    conditions = {info.detail for info in essp_status.EVENTS.values() if info.detail}
    words = set(essp_status.status_from_conditions(conditions).detail)
    for word in conditions:
        words.update(essp_status.status_from_conditions({word}).detail)
    return words


def _printer_words() -> set[str]:
    words = {row[2] for row in printer_status.STATUS_BITS} | set(printer_status.BLOCKING)
    words.update(printer_status.parse_status({1: None}).detail)
    words.update(printer_status.parse_status({1: 0xFF}).detail)
    for n, mask, _word, _state in printer_status.STATUS_BITS:
        replies = dict.fromkeys((1, 2, 3, 4), 0x12)
        replies[n] = 0x12 | mask
        words.update(printer_status.parse_status(replies).detail)
    return words


def _tuple_strings(node: ast.AST) -> set[str]:
    out = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Tuple):
            out.update(e.value for e in sub.elts
                       if isinstance(e, ast.Constant) and isinstance(e.value, str))
    return out


def _parse(source: str) -> ast.Module:
    """ast.parse, once more if it hits CPython 3.11's thread race in the ast module ("AST
    constructor recursion depth mismatch" while another test's background thread formats a
    traceback, which parses source too); a real syntax error still fails."""
    try:
        return ast.parse(source)
    except SystemError:
        return ast.parse(source)


def _literal_words(folder: str) -> dict[str, set[str]]:
    """Strings in the detail tuples written out in the source: DeviceStatus(state, (...)),
    DeviceStatus(detail=(...)), and `detail = (...)` / `details = ...` assignments."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        tree = _parse(path.read_text(encoding="utf-8"))
        words: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "DeviceStatus":
                detail = node.args[1:2] + [k.value for k in node.keywords if k.arg == "detail"]
                for arg in detail:
                    words |= _tuple_strings(arg)
            elif isinstance(node, ast.Assign) and any(
                getattr(t, "id", None) in ("detail", "details") for t in node.targets
            ):
                words |= _tuple_strings(node.value)
        if words:
            found[str(path.relative_to(ROOT))] = words
    return found


def test_the_scan_finds_words():
    literal = set().union(*_literal_words("drivers").values())
    assert {"port_lost", "no_reply", "reader_absent", "no_frames", "reader_failed"} <= literal
    assert {"cassette_removed", "jam_validator", "failure:stack_motor"} <= _ccnet_words()
    assert {"cashbox_removed", "jam", "jam_safe"} <= _essp_words()
    assert {"paper_out", "paper_near_end", "cover_open"} <= _printer_words()


@pytest.mark.parametrize(
    "source", ["ccnet", "essp", "printer", "drivers literals", "terminal literals"]
)
def test_every_emitted_detail_word_is_declared(source):
    if source == "ccnet":
        words = {"ccnet_status": _ccnet_words()}
    elif source == "essp":
        words = {"essp_status": _essp_words()}
    elif source == "printer":
        words = {"printer/status": _printer_words()}
    else:
        words = _literal_words(source.split()[0])
    undeclared = {where: sorted(w for w in ws if not is_detail_word(w))
                  for where, ws in words.items()}
    assert not {k: v for k, v in undeclared.items() if v}, (
        "add these words to drivers/base.py DETAIL_WORDS (or fix the driver)"
    )


def test_the_vocabulary_is_words():
    assert OFFLINE.state is DeviceState.OFFLINE and set(OFFLINE.detail) <= DETAIL_WORDS
    assert LOST_WORDS <= DETAIL_WORDS
    assert all(w and w == w.strip().lower() and " " not in w for w in DETAIL_WORDS)
    assert not is_detail_word("paper out") and not is_detail_word("failure:")
    assert is_detail_word("failure:0x99")
