"""The home screen's tiles from the snapshot, without a window (screens/home_plan.py): every tile
of state.home drawn, none it does not list, stopped bills greyed in place, a category of several
services opened as a choice, hostile entries ignored, and grid shapes that hold the tiles."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from screens import home_plan
from screens.i18n import Translator, parse_po, po_path


class Words:
    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.translator = Translator()

    def tr(self, key: str, lang: str | None = None, **values: Any) -> str:
        return self.translator.text(key, lang or self.lang, **values)

    def has_text(self, key: str) -> bool:
        return self.translator.has(key, self.lang)


def bill(code: str, hi: str, en: str) -> dict[str, Any]:
    return {"service": code, "kind": "bill", "name_en": en, "name_hi": hi, "fee_paise": 0,
            "tenders": ["cash"], "providers": ["X"]}


def service(code: str, kind: str, fee: int = 0, en: str = "", hi: str = "") -> dict[str, Any]:
    return {"service": code, "kind": kind, "name_en": en or code, "name_hi": hi or code,
            "fee_paise": fee, "tenders": ["cash"] if fee else [], "providers": []}


CATALOGUE = [{"service": s, "name_en": s, "name_hi": s, "providers": [{"code": "X"}]}
             for s in ("electricity", "water", "gas")]


def state(tiles: list[dict] | None, cash: bool = True, lookup: bool = True) -> dict[str, Any]:
    snap: dict[str, Any] = {"catalogue": CATALOGUE,
                            "services": {"cash_payment": cash, "lookup": lookup}}
    if tiles is not None:
        snap["home"] = {"version": "v", "tiles": tiles}
    return snap


FULL = [
    {"category": "bills", "name_en": "Pay a bill", "name_hi": "बिल",
     "services": [bill("electricity", "बिजली बिल", "Electricity bill"),
                  bill("water", "पानी का बिल", "Water bill"),
                  bill("gas", "गैस बिल", "Gas bill")]},
    {"category": "applications", "name_en": "Apply", "name_hi": "आवेदन",
     "services": [service("old_age_pension", "application", 1000, "Old-age pension",
                          "वृद्धावस्था पेंशन")]},
    {"category": "status", "name_en": "Status", "name_hi": "स्थिति",
     "services": [service("application_status", "status")]},
    {"category": "certificates", "name_en": "Cert", "name_hi": "प्रमाण",
     "services": [service("certificate_verify", "certificate")]},
    {"category": "grievance", "name_en": "Grievance", "name_hi": "शिकायत",
     "services": [service("grievance", "grievance", 500)]},
]


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_every_tile_of_state_home_and_the_receipt_check(lang):
    plans = home_plan.plan(Words(lang), state(FULL))
    assert [p.tid for p in plans] == [
        "tile_electricity", "tile_water", "tile_gas", "tile_application", "tile_status",
        "tile_certificate", "tile_grievance", "tile_verify"]
    assert all(p.available for p in plans)
    by = {p.tid: p for p in plans}
    assert (by["tile_application"].action, by["tile_application"].kind,
            by["tile_application"].service) == ("service", "application", "old_age_pension")
    assert by["tile_application"].title == ("वृद्धावस्था पेंशन" if lang == "hi"
                                            else "Old-age pension")
    assert "₹10" in by["tile_application"].subtitle and "₹5" in by["tile_grievance"].subtitle
    assert by["tile_gas"].title == ("गैस बिल" if lang == "hi" else "Gas bill")  # central's name
    assert by["tile_verify"].action == "verify"
    for p in plans:
        assert p.title and p.subtitle and "_" not in p.title + p.subtitle, p


def test_stopped_bills_stay_greyed_and_a_tile_not_listed_is_not_drawn():
    # cash stopped: central's home lists only the free look-ups
    plans = home_plan.plan(Words("hi"), state(FULL[2:4], cash=False))
    by = {p.tid: p for p in plans}
    assert [by[t].available for t in ("tile_electricity", "tile_water", "tile_gas")] == [
        False, False, False]
    assert by["tile_electricity"].subtitle == "अभी बंद है"
    assert "tile_grievance" not in by and "tile_application" not in by
    assert by["tile_status"].available and by["tile_verify"].available
    # look-ups stopped too: no receipt check
    dark = home_plan.plan(Words("hi"), state([], lookup=False))
    assert "tile_verify" not in {p.tid for p in dark}


def test_several_services_in_a_category_are_a_choice():
    apply = {"category": "applications", "name_en": "Apply", "name_hi": "आवेदन",
             "services": [service("old_age_pension", "application", 1000, "Pension"),
                          service("labour_card", "application", 2000, "Labour card")]}
    (tile,) = [p for p in home_plan.plan(Words("en"), state([apply])) if p.kind == "application"]
    assert tile.action == "choose" and tile.tid == "tile_application"
    assert [c["service"] for c in tile.choices] == ["old_age_pension", "labour_card"]
    assert tile.choices[1]["name"] == "Labour card, Fee ₹20"
    assert "2" in tile.subtitle


def test_hostile_or_unknown_entries_draw_nothing():
    tiles = [None, "x", {"category": "odd", "services": "nope"},
             {"category": "future", "services": [service("reprint", "reprint")]},
             {"category": "bad", "services": [{"kind": "status"}, 7]},
             {"category": "fee", "services": [service("grievance", "grievance", True)]}]
    plans = home_plan.plan(Words("hi"), state(tiles))  # type: ignore[arg-type]
    tids = [p.tid for p in plans]
    assert "tile_reprint" not in tids and "tile_status" not in tids
    grievance = next(p for p in plans if p.tid == "tile_grievance")
    assert "₹" not in grievance.subtitle  # True is not a fee
    # an older core without state.home: the bills by cash, and the receipt check
    old = home_plan.plan(Words("hi"), state(None, cash=True))
    assert [p.tid for p in old] == ["tile_electricity", "tile_water", "tile_gas", "tile_verify"]


@pytest.mark.parametrize(("count", "size", "shape"), [
    (4, (1224, 450), (2, 2)),  # few tiles: big ones
    (6, (1224, 450), (3, 2)),
    (9, (1224, 450), (3, 3)),
    (9, (744, 900), (2, 5)),
    (1, (1224, 450), (1, 1)),
])
def test_grid_shape_holds_every_tile(count, size, shape):
    cols, rows = home_plan.grid_shape(count, *size, gap=16)
    assert (cols, rows) == shape
    assert cols * rows >= count and cols * (rows - 1) < count  # no empty row


def test_every_word_the_tiles_use_is_in_both_catalogues():
    source = Path(home_plan.__file__).read_text(encoding="utf-8")
    keys = set(re.findall(r"""\btr\(\s*["']([a-z0-9_]+)["']""", source))
    assert {"tile_receipt_check", "tile_apply_fee", "tile_fee"} <= keys
    for lang in ("hi", "en"):
        entries = parse_po(po_path(lang).read_text(encoding="utf-8"))
        assert not keys - set(entries), lang


def test_the_reprint_button_needs_state_home_lookups_and_a_printer():
    assert home_plan.reprint_possible(state(FULL))
    assert not home_plan.reprint_possible(state(None))  # an older core: no reprint intent
    assert not home_plan.reprint_possible(state(FULL, lookup=False))
    for reason in home_plan.PRINTER_DOWN:
        snap = state(FULL, cash=False)
        snap["services"]["reasons"] = [reason]
        assert not home_plan.reprint_possible(snap), reason
