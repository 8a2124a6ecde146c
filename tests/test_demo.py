"""`make run` without a display: the headless demo pays the seeded bill end to end, with the core
as its own process, says where the receipt, voucher, journal and log are, then uses every other
service once."""

import subprocess
import sys

from PIL import Image
from pyzbar.pyzbar import decode

from terminal.invariant import check_journal
from terminal.journal import Journal


def test_headless_demo_pays_the_bill(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "demo", "--headless", "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = dict(line.split(": ", 1) for line in proc.stdout.splitlines() if ": " in line)
    assert lines["transaction"].startswith("T-RJ-JPR-0001-")
    assert lines["receipt_no"] == "RCPT-000001"
    receipt = Image.open(lines["receipt"])
    assert receipt.width == 576
    payload = decode(receipt)[0].data.decode()
    assert payload.startswith(f"EMITRA1|R|{lines['transaction']}|")
    voucher_png = lines["voucher"].split(" (")[0]
    assert decode(Image.open(voucher_png))[0].data.decode().startswith("EMITRA1|V|")
    assert "₹60" in lines["voucher"]
    report = check_journal(Journal(lines["journal"]))
    # the bill ₹640, then the tour's grievance fee ₹5, application fee ₹10, part payment ₹200
    assert report["ok"] and report["totals"]["posted"] == 64000 + 500 + 1000 + 20000
    assert report["totals"]["voucher"] == 6000 + 500  # ₹10 note for the ₹5 grievance fee
    # The structured log never carries the full consumer number.
    log_text = open(lines["log"], encoding="utf-8").read()
    assert "0141640640" not in log_text
    assert '"event": "credit"' in log_text and '"event": "payment posted"' in log_text
    # Then a tour of every service (sim/demo_tour.py), one line each.
    assert lines["service status"].endswith("Verified by the Tehsildar (Tehsil office, Sanganer, "
                                            "Jaipur)")
    assert lines["service certificate"].endswith("certificate_genuine")
    assert lines["service grievance"].endswith("fee ₹5 paid")
    assert lines["service application"].endswith(", 2 documents, fee ₹10 paid")
    assert lines["service part payment"] == "₹200 paid, ₹150 still due on the bill"
    assert lines["service reprint"] == "RCPT-000001: reprint_printed"


def test_site_example_loads_and_names_only_real_keys():
    """config/site.example.toml is what a real kiosk starts from: the loader (which refuses an
    unknown key) takes it, and it keeps the fixed session port the screen's config must match."""
    from pathlib import Path

    from terminal.config import load_config

    example = Path(__file__).resolve().parent.parent / "config" / "site.example.toml"
    config = load_config(example)
    assert config["session_api"]["port"] == 8700
    assert config["central"]["url"].startswith("https://")
    assert config["ui"]["fullscreen"] is True
