"""Certificates verified through the session API against the reference central: by number or by
the QR on the certificate; the printed summary carries a QR that verifies again; a QR with a code
central did not issue is "not genuine"; expired and revoked are said as such."""

from __future__ import annotations

import asyncio

import pytest
from harness import KioskHarness
from PIL import Image
from pyzbar.pyzbar import decode

from sim.central import catalogue_seed
from sim.central.services_store import certificate_code

CASTE = "RJCC2026000451"


async def ready():
    from terminal import catalogue

    for _ in range(200):
        if catalogue.version() == catalogue_seed.VERSION:
            return
        await asyncio.sleep(0.05)


def done(s):
    return (s["lookup"] or {}).get("status") == "done"


async def test_verify_by_number_print_the_summary_and_its_qr_verifies_again(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await ready()
        assert (await citizen.send("certificate_start"))["ok"]
        await citizen.wait_screen("CERTIFICATE")
        assert (await citizen.send("certificate_lookup", number=CASTE.lower()))["ok"]
        state = await citizen.wait_for(done)
        result = state["lookup"]["result"]
        assert state["lookup"]["message_key"] == "certificate_genuine"
        assert (result["type"], result["holder_name"], result["status"]) == (
            "caste", "Sita Ram Meghwal", "valid")
        assert result["details"] == {"caste": "Meghwal", "category": "SC"}
        assert "verification" not in result  # the code goes on paper only

        assert (await citizen.send("certificate_print"))["ok"]
        assert await h.printer_sim.wait_for_receipts(1, timeout=10)
        codes = [c.data.decode() for c in decode(Image.open(h.printer_sim.receipts[0]))]
        key = h.central.store.receipt_key
        assert codes == [f"EMITRA1|C|{CASTE}|{certificate_code(key, CASTE)}"]
        assert "Sita Ram Meghwal" in h.printer_sim.texts[0]

        assert (await citizen.send("finish"))["ok"]
        await citizen.wait_screen("IDLE")
        h.rig.scanner_sim.scan(codes[0])
        state = await citizen.wait_for(lambda s: s["screen"] == "CERTIFICATE" and done(s))
        assert state["lookup"]["message_key"] == "certificate_genuine"


async def test_a_forged_certificate_qr_is_not_genuine(tmp_path):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await ready()
        h.rig.scanner_sim.scan(f"EMITRA1|C|{CASTE}|{'0' * 16}")
        state = await citizen.wait_for(lambda s: s["screen"] == "CERTIFICATE" and done(s))
        assert state["lookup"]["message_key"] == "certificate_not_genuine"
        assert state["lookup"]["result"] == {"certificate_no": CASTE, "result": "not_genuine"}
        assert (await citizen.send("certificate_print"))["message_key"] == "not_now"


@pytest.mark.parametrize(("number", "key"), [
    ("RJIC2026000453", "certificate_expired"),
    ("RJMC2026000455", "certificate_revoked"),
    ("RJBC2026000454", "certificate_genuine"),
    ("RJDC2026000452", "certificate_genuine"),
])
async def test_each_kind_of_certificate_is_said_as_central_has_it(tmp_path, number, key):
    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await ready()
        assert (await citizen.send("certificate_start"))["ok"]
        assert (await citizen.send("certificate_lookup", number=number))["ok"]
        state = await citizen.wait_for(done)
        assert state["lookup"]["message_key"] == key


async def test_unknown_invalid_and_hostile_answers(tmp_path, monkeypatch):
    from sim.central import services_store

    async with KioskHarness(tmp_path) as h, h.client() as citizen:
        await ready()
        assert (await citizen.send("certificate_start"))["ok"]
        for number, key in (("RJCC0000000000", "certificate_not_found"),
                            ("123", "certificate_number_invalid")):
            result = await citizen.send("certificate_lookup", number=number)
            assert result["message_key"] == key
        real = services_store.ServicesStore.certificate
        for change in ({"type": "driving_licence"}, {"verification": "not-a-code"},
                       {"details": {f"k{i}": "v" for i in range(50)}},
                       {"certificate_no": "RJDC2026000452"}, {"result": "maybe"}):
            monkeypatch.setattr(services_store.ServicesStore, "certificate",
                                lambda self, n, c, ch=change: {**real(self, n, c), **ch})
            result = await citizen.send("certificate_lookup", number=CASTE)
            assert result["message_key"] == "central_unavailable", change
