"""The catalogue from central: served by the reference central, validated, cached on disk with its
version, used while central is unreachable, refused (last good kept, alarm raised) when
malformed; the home screen's tiles and the per-provider consumer-number rules come from it.
Against the real core, simulators on ptys and the reference central on loopback."""

from __future__ import annotations

import asyncio
import copy
import json

import pytest
from harness import KioskHarness

from sim.central import catalogue_seed
from terminal import catalogue
from terminal.catalogue import CatalogueError, validate
from terminal.catalogue_builtin import BUILTIN


async def loaded(h, version=catalogue_seed.VERSION, timeout=10.0):
    """Wait until the core has central's catalogue in force."""
    for _ in range(int(timeout * 20)):
        if catalogue.version() == version:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"catalogue {catalogue.version()} in force, not {version}")


def grievance_tile(state):
    return next(t for t in state["home"]["tiles"] if t["category"] == "grievance")["services"][0]


def tiles(state):
    return {t["category"]: [s["service"] for s in t["services"]]
            for t in state["home"]["tiles"]}


async def test_catalogue_from_central_is_cached_and_drives_the_home(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await loaded(h)
        cache = tmp_path / "catalogue.json"
        assert json.loads(cache.read_text())["version"] == catalogue_seed.VERSION
        state = await citizen.wait_for(lambda s: s["home"]["version"] == catalogue_seed.VERSION)
        assert tiles(state) == {
            "bills": ["electricity", "water", "phone", "gas"],
            "applications": ["old_age_pension"],
            "status": ["application_status"],
            "certificates": ["certificate_verify"],
            "grievance": ["grievance"],
        }
        grievance = grievance_tile(state)
        assert grievance["fee_paise"] == 500 and grievance["tenders"] == ["cash", "card"]
        gas = [e for e in state["catalogue"] if e["service"] == "gas"][0]
        assert [p["code"] for p in gas["providers"]] == ["RSGL"]

        # The gas provider came with the catalogue: its bill is found and payable.
        assert (await citizen.send("start", provider="RSGL"))["ok"]
        assert (await citizen.send("consumer", number="4100200300"))["ok"]
        bill = await citizen.wait_screen("BILL")
        assert bill["session"]["due_paise"] == 84500
        assert (await citizen.send("cancel"))["ok"]
        # A fee's provider is not a bill a citizen can look up.
        assert (await citizen.send("finish"))["ok"]
        result = await citizen.send("start", provider="SAMPARK")
        assert result["ok"] is False and result["message_key"] == "bad_request"


async def test_provider_rules_are_the_catalogues(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await loaded(h)
        assert (await citizen.send("start", provider="BSNL"))["ok"]
        # BSNL numbers start with the STD code's 0: the generic 6-16 digits are not enough.
        result = await citizen.send("consumer", number="141222333")
        assert result["message_key"] == "consumer_number_invalid"
        assert (await citizen.send("consumer", number="0141222333"))["ok"]
        await citizen.wait_screen("BILL")


async def test_home_works_from_the_cache_while_central_is_down(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir(), second.mkdir()
    async with KioskHarness(first) as h:
        await loaded(h)
    catalogue.install(validate(BUILTIN))  # forget it in memory: only the disk copy remains
    (second / "catalogue.json").write_bytes((first / "catalogue.json").read_bytes())
    async with KioskHarness(second, central={"url": "http://127.0.0.1:9"}) as h, \
            h.client() as citizen:
        assert citizen.state["home"]["version"] == catalogue_seed.VERSION
        assert "gas" in tiles(citizen.state)["bills"]
        assert (await citizen.send("start", provider="RSGL"))["ok"]


async def test_first_start_without_cache_or_central_offers_the_built_in_bills(tmp_path):
    async with KioskHarness(tmp_path, central={"url": "http://127.0.0.1:9"}) as h, \
            h.client() as citizen:
        assert citizen.state["home"]["version"] == BUILTIN["version"]
        assert tiles(citizen.state) == {"bills": ["electricity", "water", "phone"]}
        assert not (tmp_path / "catalogue.json").exists()


def hostile_catalogues():
    good = catalogue_seed.catalogue()

    def edit(fn):
        doc = copy.deepcopy(good)
        fn(doc)
        return doc

    yield "not an object", []
    yield "no version", edit(lambda d: d.pop("version"))
    yield "fee is a bool", edit(lambda d: d["services"][6].update(fee_paise=True))
    yield "negative fee", edit(lambda d: d["services"][6].update(fee_paise=-500))
    yield "unknown tender", edit(lambda d: d["services"][0].update(tenders=["cash", "upi"]))
    yield "ReDoS pattern", edit(lambda d: d["providers"][0]["consumer_number"].update(
        pattern="^(a+)+$" + "x" * 80))
    yield "bad regex", edit(lambda d: d["providers"][0]["consumer_number"].update(
        pattern="^[0-9{6,16}$"))
    yield "provider of no service", edit(lambda d: d["providers"][0].update(service="tv"))
    yield "duplicate provider", edit(lambda d: d["providers"].append(d["providers"][0]))
    yield "too many services", edit(lambda d: d["services"].extend([d["services"][0]] * 70))
    yield "huge name", edit(lambda d: d["services"][0].update(name_en="x" * 5000))
    yield "control char", edit(lambda d: d["services"][0].update(name_hi="बिल\x1b[2J"))
    yield "form field not laid out", edit(lambda d: d["forms"][0]["layout"][1].update(
        fields=["jan_aadhaar"]))
    yield "application without form", edit(lambda d: d["services"][7].update(form="none"))
    yield "overshoot missing", edit(lambda d: d["providers"][4].pop("max_overshoot_paise"))
    yield "overshoot negative", edit(lambda d: d["providers"][4].update(max_overshoot_paise=-1))
    yield "overshoot in rupees", edit(lambda d: d["providers"][0].update(
        max_overshoot_paise=50.5))
    yield "overshoot huge", edit(lambda d: d["providers"][0].update(
        max_overshoot_paise=10**12))
    yield "advance not a flag", edit(lambda d: d["providers"][0].update(advance_payment="yes"))


@pytest.mark.parametrize(("why", "doc"), list(hostile_catalogues()))
def test_validation_refuses_hostile_catalogues(why, doc):
    with pytest.raises(CatalogueError):
        validate(doc)


def test_the_reference_catalogue_validates():
    checked = validate(catalogue_seed.catalogue())
    assert checked["services"]["grievance"]["fee_paise"] == 500
    assert checked["services"]["old_age_pension"]["fee_paise"] == 1000
    assert checked["services"]["electricity"]["fee_paise"] == 0
    # Electricity and water take advance payment; a phone bill's overshoot is a voucher (≤ ₹500).
    assert [p for p, v in checked["providers"].items() if v["advance_payment"]] == [
        "JVVNL", "AVVNL", "JdVVNL", "PHED"]
    assert checked["providers"]["BSNL"]["max_overshoot_paise"] == 50000


async def test_malformed_catalogue_keeps_the_last_good_one_and_raises_an_alarm(
        tmp_path, monkeypatch):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await loaded(h)
        cache = tmp_path / "catalogue.json"
        before = cache.read_bytes()
        good = catalogue_seed.catalogue
        bad = good()
        bad["version"] = "2026.12.8"
        bad["services"][0]["fee_paise"] = "free"
        monkeypatch.setattr(catalogue_seed, "catalogue", lambda: bad)
        assert await h.core.kiosk.citizen.catalogue.refresh() is False
        assert catalogue.version() == catalogue_seed.VERSION
        assert cache.read_bytes() == before
        h.core.kiosk.changed()
        state = await citizen.wait_for(
            lambda s: "catalogue_invalid" in (s["maintenance"] or {}).get("alarms", []))
        assert state["home"]["version"] == catalogue_seed.VERSION

        # A good new version replaces it, on disk too.
        newer = good()
        newer["version"] = "2026.12.9"
        next(x for x in newer["services"] if x["code"] == "grievance")["fee_paise"] = 700
        monkeypatch.setattr(catalogue_seed, "catalogue", lambda: newer)
        assert await h.core.kiosk.citizen.catalogue.refresh() is True
        assert json.loads(cache.read_text())["version"] == "2026.12.9"
        state = await citizen.wait_for(lambda s: s["home"]["version"] == "2026.12.9")
        assert grievance_tile(state)["fee_paise"] == 700


async def test_corrupt_cache_is_refused_with_an_alarm(tmp_path):
    (tmp_path / "catalogue.json").write_text('{"version": "x", "services": [')
    async with KioskHarness(tmp_path, central={"url": "http://127.0.0.1:9"}) as h, \
            h.client() as citizen:
        state = await citizen.wait_for(
            lambda s: "catalogue_cache_invalid" in (s["maintenance"] or {}).get("alarms", []),
            timeout=10)
        assert state["home"]["version"] == BUILTIN["version"]


def test_bill_qr_providers_follow_the_catalogue_in_force():
    from terminal.qr import parse_citizen_qr

    try:
        catalogue.install(validate(BUILTIN))
        assert parse_citizen_qr("BILL|RSGL|4100200300").message_key == \
            "qr_bill_provider_not_served"
        catalogue.install(validate(catalogue_seed.catalogue()))
        found = parse_citizen_qr("BILL|rsgl|4100200300")
        assert (found.message_key, found.fields["provider"]) == ("qr_bill_found", "RSGL")
        # A fee's provider is no bill a QR can start.
        assert parse_citizen_qr("BILL|SAMPARK|2026120200001").message_key == \
            "qr_bill_provider_not_served"
    finally:
        catalogue.install(validate(BUILTIN))
