"""Attack: someone gets the kiosk's journal and logs (a support bundle, a backup, another local
account, a copied journal file without its key). They must not read who paid, and the log must
still be matchable to the journal by session and transaction id (issue 10, "Personal data at
rest").

The core runs as its own process, as in production (`emitra-kiosk core`, not systemd: no
UMask= from a unit file), and pays the demo bill; the files are read while it is still running,
so the WAL holds the latest pages too.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
from pathlib import Path

from sim.demo import DEMO_CONSUMER, pay_demo_bill, start_core
from sim.rig import SimRig
from sim.session_client import SessionClient

CONSUMER_NAME = "Farida Khan"  # the seeded BSNL bill of DEMO_CONSUMER


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _secrets_in(blob: bytes) -> list[str]:
    """Which personal values appear anywhere in these bytes (text or UTF-16, as SQLite may)."""
    found = []
    for value in (DEMO_CONSUMER, CONSUMER_NAME, "Farida"):
        for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
            if value.encode(encoding) in blob:
                found.append(f"{value!r} ({encoding})")
    return found


async def _pay_and_inspect(workdir: Path) -> dict:
    """Pay the demo bill with a core child process; snapshot the files before it stops."""
    rig = SimRig(workdir)
    await rig.start()
    site = rig.write_config(workdir / "site.toml")
    proc = None
    try:
        proc, url = await start_core(site, workdir)
        async with SessionClient(url) as citizen:
            # A loaded machine may open the devices a moment after the socket: wait for cash.
            await citizen.wait_for(lambda s: s["services"]["cash_payment"], timeout=30)
            done = await pay_demo_bill(citizen, rig)
        journal = workdir / "journal.sqlite"
        files = {p.name: p.read_bytes() for p in journal.parent.glob("journal.sqlite*")}
        modes = {p.name: _mode(p) for p in journal.parent.glob("journal.sqlite*")}
        return {"session": done["session"], "files": files, "modes": modes}
    finally:
        if proc is not None and proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            await proc.wait()
        await rig.stop()


async def test_stolen_journal_and_log_reveal_no_consumer(tmp_path):
    old_umask = os.umask(0o022)  # a shell's usual umask, not systemd's UMask=0027
    try:
        result = await _pay_and_inspect(tmp_path)
    finally:
        os.umask(old_umask)
    session = result["session"]
    assert session["receipt_no"], session

    # Every byte of the journal and its WAL: no consumer number, no name.
    assert "journal.sqlite-wal" in result["files"], "read while the core runs: the WAL is there"
    for name, blob in result["files"].items():
        assert not _secrets_in(blob), f"{name} holds {_secrets_in(blob)}"

    # Plain sqlite3 (no key) still reads the journal as JSON, with the masked number beside.
    db = sqlite3.connect(tmp_path / "journal.sqlite")
    rows = db.execute("SELECT session_id, kind, data FROM events ORDER BY seq").fetchall()
    db.close()
    opened = [json.loads(d) for sid, kind, d in rows if kind == "session_opened"]
    assert len(opened) == 1
    assert opened[0]["consumer_number"].startswith("enc:v1:")
    assert opened[0]["consumer_number_masked"] == "XXXXXX" + DEMO_CONSUMER[-4:]
    settled = [(sid, json.loads(d)) for sid, kind, d in rows if kind == "settled"]
    assert len(settled) == 1
    session_id, txn_id = settled[0][0], settled[0][1]["txn_id"]
    assert txn_id == session["txn_id"]

    # File modes, whatever the umask: journal, WAL, SHM 0600; the log 0640 at most.
    for name, mode in result["modes"].items():
        assert mode == 0o600, f"{name} is {oct(mode)}"
    log_path = tmp_path / "log" / "core.log"
    assert _mode(log_path) & 0o137 == 0, f"core.log is {oct(_mode(log_path))}"

    # The log names the session and the transaction exactly as the journal does, no consumer.
    log_text = log_path.read_text(encoding="utf-8")
    assert not _secrets_in(log_text.encode()), _secrets_in(log_text.encode())
    lines = [json.loads(line) for line in log_text.splitlines() if line.strip()]
    posted = [e for e in lines if e["event"] == "payment posted"]
    assert posted, "the payment was logged"
    assert posted[0]["session"] == session_id
    assert posted[0]["txn"] == txn_id
    credits = [e for e in lines if e["event"] == "credit"]
    assert credits and all(e["session"] == session_id for e in credits)
