"""Personal data at rest: journal fields sealed with AES-GCM and opened transparently, the key
file's rules, old clear journals, file modes; and log masking that keeps ids whole."""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import sqlite3
import stat

import pytest

from terminal import journal_crypto
from terminal.journal import Journal, JournalKeyError
from terminal.journal_crypto import FieldCipher, reveal
from terminal.logs import JsonFormatter, mask_text, setup_logging
from terminal.session import fold

CONSUMER = "210412345678"
NAME = "Ramesh Kumar"
OPENED = {"service": "electricity", "provider": "JVVNL", "consumer_number": CONSUMER}
BILL = {"bill_id": f"B-JVVNL-{CONSUMER}-202610", "provider": "JVVNL", "service": "electricity",
        "consumer_number": CONSUMER, "consumer_name": NAME, "period": "2026-10",
        "due_paise": 64000, "due_date": "2026-12-05", "status": "unpaid"}


@pytest.fixture(autouse=True)
def _no_key_env(monkeypatch):
    monkeypatch.delenv(journal_crypto.KEY_FILE_ENV, raising=False)


def _pay(j: Journal, sid: str = "S-1") -> None:
    j.append("session_opened", sid, dict(OPENED))
    j.append("bill", sid, dict(BILL))
    j.append("credit", sid, {"note_id": "n1", "paise": 50000}, key=f"credit:{sid}:n1")


def _raw(path) -> list[dict]:
    db = sqlite3.connect(path)
    rows = [json.loads(d) for (d,) in db.execute("SELECT data FROM events ORDER BY seq")]
    db.close()
    return rows


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# ---------------------------------------------------------------- round trip


def test_round_trip_fold_sees_the_values_appended(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    _pay(j)
    assert [e.data for e in j.events()][:2] == [OPENED, BILL]
    s = fold("S-1", list(j.events(session_id="S-1")))
    assert s.consumer_number == CONSUMER and s.bill.consumer_name == NAME
    assert s.bill.bill_id == BILL["bill_id"] and s.paid_paise == 50000
    j.close()
    # Reopened (a restart): same values, same key, same lookup hash.
    again = Journal(tmp_path / "j.sqlite")
    assert [e.data for e in again.events()][:2] == [OPENED, BILL]
    assert again.sessions_of_consumer(CONSUMER) == ["S-1"]


def test_on_disk_tokens_masked_copy_and_lookup_hash(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    _pay(j)
    j.close()
    opened, bill, credit = _raw(tmp_path / "j.sqlite")
    assert opened["consumer_number"].startswith("enc:v1:")
    assert opened["consumer_number_masked"] == "XXXXXXXX5678"
    assert len(opened["consumer_number_hmac"]) == 64
    assert opened["provider"] == "JVVNL"  # the rest stays readable
    assert bill["consumer_name"].startswith("enc:v1:")
    assert bill["consumer_name_masked"] == "Ra**** Ku***"
    assert bill["bill_id"].startswith("enc:v1:") and bill["due_paise"] == 64000
    assert credit == {"note_id": "n1", "paise": 50000}  # money events untouched
    blob = b"".join(p.read_bytes() for p in tmp_path.glob("j.sqlite*"))
    assert CONSUMER.encode() not in blob and NAME.encode() not in blob


def test_tokens_are_fresh_and_bound_to_their_field(tmp_path):
    cipher = FieldCipher(secrets.token_bytes(32))
    a, b = cipher.seal("consumer_number", CONSUMER), cipher.seal("consumer_number", CONSUMER)
    assert a != b  # a random nonce each time: equal numbers are not linkable on disk
    assert cipher.open("consumer_number", a) == CONSUMER
    with pytest.raises(JournalKeyError):
        cipher.open("consumer_name", a)  # moved to another field: refused


def test_lookup_by_consumer_number_without_opening_events(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    _pay(j, "S-1")
    j.append("session_opened", "S-2", {**OPENED, "consumer_number": "5012345678"})
    _pay(j, "S-3")
    assert j.sessions_of_consumer(CONSUMER) == ["S-1", "S-3"]
    assert j.sessions_of_consumer("5012345678") == ["S-2"]
    assert j.sessions_of_consumer("999") == []


def test_nested_and_hostile_values_round_trip(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    data = {"action": "x", "people": [{"name": "enc:v1:AAAA", "mobile": 9829012345}],
            "consumer_number": ""}
    j.append("maintenance", "maintenance", data)
    assert next(j.events()).data == data
    raw = _raw(tmp_path / "j.sqlite")[0]
    assert raw["people"][0]["mobile"].startswith("enc:v1:")
    assert raw["people"][0]["name"] != "enc:v1:AAAA"
    assert raw["consumer_number"] == ""  # nothing to hide


def test_no_personal_field_no_key_file(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    j.append("credit", "S-1", {"note_id": "n1", "paise": 50000})
    j.append("session_opened", "S-2", {"service": "voucher", "provider": "",
                                       "consumer_number": ""})
    assert not (tmp_path / "journal.key").exists()


# ---------------------------------------------------------------- the key


def test_key_file_made_once_0600_and_read_once(tmp_path, monkeypatch):
    old = os.umask(0o022)
    try:
        j = Journal(tmp_path / "j.sqlite")
        calls = []
        real = journal_crypto.read_key
        monkeypatch.setattr("terminal.journal.read_key", lambda p: calls.append(p) or real(p))
        for i in range(50):
            _pay(j, f"S-{i}")
    finally:
        os.umask(old)
    key = tmp_path / "journal.key"
    assert _mode(key) == 0o600
    assert len(base64.b64decode(key.read_text())) == 32
    assert len(calls) <= 1  # never re-read per append


def test_key_path_from_argument_and_environment(tmp_path, monkeypatch):
    j = Journal(tmp_path / "a.sqlite", key_file=tmp_path / "keys" / "k1")
    _pay(j)
    assert (tmp_path / "keys" / "k1").exists() and not (tmp_path / "journal.key").exists()
    monkeypatch.setenv(journal_crypto.KEY_FILE_ENV, str(tmp_path / "keys" / "k1"))
    assert [e.data for e in Journal(tmp_path / "a.sqlite").events()][0] == OPENED


def test_wrong_key_is_a_clear_error(tmp_path):
    _pay(Journal(tmp_path / "j.sqlite"))
    (tmp_path / "journal.key").write_text(base64.b64encode(secrets.token_bytes(32)).decode())
    with pytest.raises(JournalKeyError, match="not the key"):
        Journal(tmp_path / "j.sqlite")
    # Even past the key-id check (a token copied from another journal), GCM refuses it.
    token = _raw(tmp_path / "j.sqlite")[0]
    with pytest.raises(JournalKeyError, match="wrong journal key"):
        reveal(token, FieldCipher(secrets.token_bytes(32)))


def test_missing_key_is_a_clear_error(tmp_path):
    _pay(Journal(tmp_path / "j.sqlite"))
    (tmp_path / "journal.key").unlink()
    with pytest.raises(JournalKeyError, match="missing"):
        Journal(tmp_path / "j.sqlite")
    (tmp_path / "journal.key").write_text("not a key\n")
    with pytest.raises(JournalKeyError, match="32-byte"):
        Journal(tmp_path / "j.sqlite")


def test_reader_opened_before_the_key_existed(tmp_path):
    reader = Journal(tmp_path / "j.sqlite")  # e.g. a test or `verify` beside a fresh core
    _pay(Journal(tmp_path / "j.sqlite"))
    assert [e.data for e in reader.events()][:2] == [OPENED, BILL]


# ---------------------------------------------------------------- old journals


def test_old_clear_journal_replays_and_gains_sealed_events(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)  # the schema and rows of a journal before encryption
    db.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL,"
               " session_id TEXT NOT NULL, kind TEXT NOT NULL, key TEXT UNIQUE,"
               " data TEXT NOT NULL)")
    for kind, data in (("session_opened", OPENED), ("bill", BILL),
                       ("credit", {"note_id": "n1", "paise": 50000})):
        db.execute("INSERT INTO events(at, session_id, kind, data) VALUES ('t', 'S-old', ?, ?)",
                   (kind, json.dumps(data)))
    db.commit()
    db.close()
    j = Journal(path)
    old = fold("S-old", list(j.events(session_id="S-old")))
    assert old.consumer_number == CONSUMER and old.bill.consumer_name == NAME
    _pay(j, "S-new")
    assert fold("S-new", list(j.events(session_id="S-new"))).bill.consumer_name == NAME
    assert j.sessions_of_consumer(CONSUMER) == ["S-old", "S-new"]


# ---------------------------------------------------------------- file modes


def test_journal_files_0600_under_a_loose_umask(tmp_path):
    old = os.umask(0o000)
    try:
        j = Journal(tmp_path / "j.sqlite")
        _pay(j)
        for suffix in ("", "-wal", "-shm"):
            assert _mode(tmp_path / f"j.sqlite{suffix}") == 0o600, suffix
        j.close()
        (tmp_path / "j.sqlite").chmod(0o644)  # left wide by an older version
        Journal(tmp_path / "j.sqlite").close()
        assert _mode(tmp_path / "j.sqlite") == 0o600
    finally:
        os.umask(old)


def test_log_file_0640_under_a_loose_umask(tmp_path):
    old, root = os.umask(0o000), logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        path = setup_logging(tmp_path / "log")
        logging.getLogger("t").info("hello")
        assert _mode(path) == 0o640
    finally:
        os.umask(old)
        for h in root.handlers:
            if h not in handlers:
                h.close()
        root.handlers[:] = handlers
        root.setLevel(level)


# ---------------------------------------------------------------- log masking


SID = "S-RJ-JPR-0001-261123112000-4F2A9C"
TXN = "T-RJ-JPR-0001-261123112000-0A1B2C"


def _line(event: str, **fields) -> dict:
    record = logging.LogRecord("kiosk", logging.INFO, __file__, 1, event, None, None)
    record.fields = fields
    return json.loads(JsonFormatter().format(record))


def test_log_keeps_ids_and_masks_the_consumer():
    line = _line("payment posted", session=SID, txn=TXN, receipt="RCPT-000001",
                 voucher="V-RJ-JPR-0001-261123112000-FFFFFF", consumer_number=CONSUMER,
                 consumer_name=NAME, error=f"GET /v1/bills?consumer={CONSUMER} for {SID}: 404")
    assert line["session"] == SID and line["txn"] == TXN and line["receipt"] == "RCPT-000001"
    assert line["voucher"] == "V-RJ-JPR-0001-261123112000-FFFFFF"
    assert line["consumer_number"] == "XXXXXXXX5678" and line["consumer_name"] == "Ra**** Ku***"
    assert line["error"] == f"GET /v1/bills?consumer=XXXXXXXX5678 for {SID}: 404"
    assert CONSUMER not in json.dumps(line)


@pytest.mark.parametrize("text, masked", [
    ("aadhaar 1234 5678 9012", "aadhaar XXXX XXXX 9012"),
    ("card 4111-1111-1111-1111", "card XXXX-XXXX-XXXX-1111"),
    ("mobile 9829012345", "mobile XXXXXX2345"),
    ("mobile 98290 12345", "mobile XXXXX X2345"),
    ("PAN ABCDE1234F", "PAN XXXXXX234F"),
    ("bill B-JVVNL-210412345678-202610", "bill B-JVVNL-XXXXXXXX5678-202610"),
    (f"note P-RJ-JPR-0001-261123112000-4F2A9C in {SID}",
     f"note P-RJ-JPR-0001-261123112000-4F2A9C in {SID}"),
    ("auth A-0123456789abcdef amount 64000", "auth A-0123456789abcdef amount 64000"),
])
def test_mask_text_patterns(text, masked):
    assert mask_text(text) == masked


def test_personal_fields_masked_by_name_whatever_their_shape():
    line = _line("x", mobile=9829012345, phone="0141-222333", name="Sunita Devi",
                 nested={"consumer": "5012345678", "session": SID})
    assert line["mobile"] == "XXXXXX2345" and line["phone"] == "XXXXXXX2333"
    assert line["name"] == "Su**** De**"
    assert line["nested"] == {"consumer": "XXXXXX5678", "session": SID}
