"""The cassette's capacity for the fleet's "cassette near full" alert: `[acceptor]
cassette_capacity_notes` is checked like every key, and a real core serves it on /metrics next
to the fill the alert divides by it (monitoring/rules/emitra-kiosk-devices.yml)."""

from __future__ import annotations

import aiohttp
import pytest
from harness import KioskHarness
from prometheus_client.parser import text_string_to_metric_families

from terminal.config import ConfigError, load_config
from terminal.heartbeat import start_heartbeat

TOKEN = "capacity-test-heartbeat-token"


def test_default_capacity_is_a_1000_note_cassette():
    assert load_config()["acceptor"]["cassette_capacity_notes"] == 1000


@pytest.mark.parametrize("value, words", [
    ("0", "greater than 0"), ("-600", "greater than 0"), ("20001", "at most 20000"),
    ("600.0", "whole number"), ("true", "whole number"), ('"600"', "whole number"),
])
def test_a_wrong_capacity_stops_start_up(tmp_path, value, words):
    site = tmp_path / "site.toml"
    site.write_text(f"[acceptor]\ncassette_capacity_notes = {value}\n")
    with pytest.raises(ConfigError, match=words) as caught:
        load_config(site)
    assert "[acceptor] cassette_capacity_notes" in str(caught.value)


def test_the_capacity_belongs_to_the_acceptor_section_only(tmp_path):
    site = tmp_path / "site.toml"
    site.write_text("[printer]\ncassette_capacity_notes = 600\n")
    with pytest.raises(ConfigError):
        load_config(site)


async def scrape(url: str) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as reply:
        assert reply.status == 200
        text = await reply.text()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.labels
    }


async def test_a_core_serves_its_capacity_next_to_the_fill(tmp_path):
    async with KioskHarness(tmp_path, acceptor={"cassette_capacity_notes": 600},
                            heartbeat={"token": TOKEN}) as h:
        url = (await start_heartbeat(h.core)).url + "/metrics"
        metrics = await scrape(url)
        assert metrics["emitra_cash_box_capacity_notes"] == 600
        assert metrics["emitra_cash_box_fill_notes"] == 0
