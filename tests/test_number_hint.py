"""The catalogue's number help (terminal/number_hint.py) and the Devanagari name (terminal/
name_mask.py): the first digits suggest the company, hostile hints refuse the catalogue, and a
Devanagari name is masked by whole letters — never half a conjunct — or not shown at all."""

from __future__ import annotations

import copy

import pytest

from sim.central import catalogue_seed
from terminal.catalogue import CatalogueError, validate
from terminal.central.reference import _check_bill
from terminal.name_mask import aksharas, mask_name_any, shown_name_hi
from terminal.number_hint import NumberHintError, check, matches, suggest

ELECTRICITY = [
    {"code": "JVVNL", "number_hint": {"prefixes": ["21"]}},
    {"code": "AVVNL", "number_hint": {"prefixes": ["11", "12"]}},
    {"code": "JdVVNL", "number_hint": {"prefixes": ["31", "3105"]}},
    {"code": "NOHINT"},
]


def codes(found) -> list[str]:
    return [p["code"] for p in found]


def test_first_digits_suggest_the_company():
    assert codes(suggest(ELECTRICITY, "")) == []
    assert codes(suggest(ELECTRICITY, "2")) == ["JVVNL"]  # still possible
    assert codes(suggest(ELECTRICITY, "2104123")) == ["JVVNL"]
    assert codes(suggest(ELECTRICITY, "1")) == ["AVVNL"]
    assert codes(suggest(ELECTRICITY, "12")) == ["AVVNL"]
    assert codes(suggest(ELECTRICITY, "9")) == []  # no company's numbers start so
    assert codes(suggest(ELECTRICITY, "31x")) == []  # digits only
    assert matches(["31", "3105"], "310") == "yes"
    assert matches(["3105"], "310") == "maybe"
    assert matches(["3105"], "32") == "no"


def test_surest_first_when_prefixes_overlap():
    overlapping = [{"code": "WIDE", "number_hint": {"prefixes": ["3"]}},
                   {"code": "NARROW", "number_hint": {"prefixes": ["3105"]}}]
    assert codes(suggest(overlapping, "31")) == ["WIDE", "NARROW"]  # WIDE: yes, NARROW: maybe
    assert codes(suggest(list(reversed(overlapping)), "31")) == ["WIDE", "NARROW"]


@pytest.mark.parametrize("raw", [
    "21", {"prefixes": "21"}, {"prefixes": ["2a"]}, {"prefixes": [""]},
    {"prefixes": ["123456789"]}, {"prefixes": ["1"] * 9}, {"prefixes": [21]},
    {"prefixes": ["٢١"]},  # Arabic-Indic digits: isdigit() but not ASCII
    {"box": [0.1, 0.1, 0.5]}, {"box": [0.6, 0.1, 0.5, 0.1]}, {"box": [0, 0, 0, 0.1]},
    {"box": [0.1, 0.1, float("nan"), 0.1]}, {"box": [True, 0, 0.5, 0.5]},
    {"box": "top right"}, {"prefixes": ["21"], "script": "x"},
])
def test_hostile_hints_are_refused(raw):
    with pytest.raises(NumberHintError):
        check(raw)


def test_a_hostile_hint_refuses_the_whole_catalogue():
    doc = copy.deepcopy(catalogue_seed.catalogue())
    doc["providers"][0]["number_hint"] = {"prefixes": ["2" * 40]}
    with pytest.raises(CatalogueError, match="JVVNL"):
        validate(doc)


def test_the_reference_catalogue_gives_hints_and_the_screen_gets_them():
    checked = validate(catalogue_seed.catalogue())
    assert checked["providers"]["JVVNL"]["number_hint"] == {
        "prefixes": ["21"], "box": [0.52, 0.2, 0.42, 0.16]}
    assert "number_hint" not in checked["providers"]["PHED"]  # optional


def test_devanagari_names_are_masked_by_whole_letters():
    assert aksharas("श्याम") == ["श्या", "म"]
    assert aksharas("राठौड़") == ["रा", "ठौ", "ड़"]
    assert mask_name_any("रमेश कुमार") == "र** कु**"
    assert mask_name_any("मोहन लाल चौधरी") == "मो** ला* चौ**"
    assert mask_name_any("Ramesh Kumar") == "Ra**** Ku***"  # Latin: as logs.mask_name
    assert "म" not in mask_name_any("श्याम")[len("श्या"):]


@pytest.mark.parametrize("hostile", [None, 42, "", "x" * 500, "राम\x1b[2J", "Ramesh"])
def test_a_broken_devanagari_name_is_not_shown(hostile):
    assert shown_name_hi(hostile) == ""


def test_the_dialect_keeps_a_sane_hindi_name_and_drops_a_hostile_one():
    reply = {"bill_id": "B-1", "provider": "JVVNL", "consumer_number": "210412345678",
             "due_paise": 64000, "consumer_name": "Ramesh Kumar",
             "consumer_name_hi": "रमेश कुमार"}
    assert _check_bill(reply, "JVVNL", "210412345678").consumer_name_hi == "रमेश कुमार"
    for bad in ("रमेश" * 100, ["रमेश"], "रमेश\n"):
        bill = _check_bill({**reply, "consumer_name_hi": bad}, "JVVNL", "210412345678")
        assert bill.consumer_name_hi == ""  # the Latin name is shown instead; the bill stands
        assert bill.due_paise == 64000
