"""The e-Mitra back-to-back envelope at unit level, real AES: the kiosk's codec and the reference
central's (written apart) understand each other, and every kind of tampering is caught. Then the
dialect's configuration: private secret files, the service table, clear errors."""

from __future__ import annotations

import base64
import os

import pytest
from test_dialect_support import MERCHANT, SECRET_VALUES, write_secrets

from sim.central import b2b_codec
from terminal.central import emitra_b2b_crypto as kiosk
from terminal.central.emitra_b2b import paise, rupees
from terminal.central.emitra_b2b_setup import SetupError, load_secrets, parse_services
from terminal.config import ConfigError, load_config

KEY = kiosk.derive_key(MERCHANT.aes_secret)
FIELDS = {"REQUESTID": "T-RJ-JPR-0001-261201120000-ABC123", "SERVICEID": "2001",
          "REVENUEHEAD": "0801-640.00", "CONSUMERNAME": "रमेश कुमार"}


def test_key_is_sha256_of_the_secret_and_both_ends_agree():
    assert KEY == MERCHANT.key and len(KEY) == 32


def test_kiosk_seal_opens_at_central_and_back():
    sealed = kiosk.seal(KEY, FIELDS)
    assert b2b_codec.unseal(MERCHANT.key, sealed) == FIELDS
    assert kiosk.unseal(KEY, b2b_codec.seal(MERCHANT.key, FIELDS)) == FIELDS


def test_every_message_has_a_fresh_iv():
    one, two = kiosk.seal(KEY, FIELDS), kiosk.seal(KEY, FIELDS)
    assert one != two
    assert base64.b64decode(one)[:16] != base64.b64decode(two)[:16]


def test_pkcs5_padding_of_a_whole_block_adds_a_block():
    iv = bytes(16)
    sealed = base64.b64decode(kiosk.encrypt(KEY, b"x" * 16, iv))
    assert len(sealed) == 16 + 32
    assert kiosk.decrypt(KEY, base64.b64encode(sealed)) == b"x" * 16


@pytest.mark.parametrize(
    "tamper",
    [
        lambda raw: raw[:-1] + bytes([raw[-1] ^ 1]),  # last block: the padding breaks
        lambda raw: raw[:-16],  # a block cut off
        lambda raw: raw[:20],  # not whole blocks
        lambda raw: raw[:16],  # an IV and nothing else
        lambda raw: raw[:16] + os.urandom(len(raw) - 16),  # random cipher text
    ],
)
def test_tampered_cipher_text_never_opens(tamper):
    raw = base64.b64decode(kiosk.seal(KEY, FIELDS))
    bad = base64.b64encode(tamper(raw))
    with pytest.raises(kiosk.CodecError):
        kiosk.unseal(KEY, bad)
    with pytest.raises(b2b_codec.SealError):
        b2b_codec.unseal(MERCHANT.key, bad.decode())


@pytest.mark.parametrize("text", ["", "not base64!", "QUJD", "=" * 8, "\u0967" * 44])
def test_text_that_is_no_envelope_is_refused(text):
    with pytest.raises(kiosk.CodecError):
        kiosk.unseal(KEY, text)


def test_another_key_never_opens():
    sealed = kiosk.seal(kiosk.derive_key("someone-else"), FIELDS)
    with pytest.raises(kiosk.CodecError):
        kiosk.unseal(KEY, sealed)


@pytest.mark.parametrize(
    "plain",
    [b"[1, 2]", b'{"A": 1}', b'{"A": {"B": "c"}}', b'{"A": "' + b"x" * 600 + b'"}',
     b"\xff\xfe", b"[" * 5000],
)
def test_decrypted_text_must_be_a_flat_object_of_short_text(plain):
    with pytest.raises(kiosk.CodecError):
        kiosk.unseal(KEY, kiosk.encrypt(KEY, plain))


def test_flipping_the_iv_changes_the_checksum_field_so_the_answer_fails_its_checksum():
    answer = b2b_codec.sign_answer(MERCHANT, {"REQUESTID": "T-1", "TRANSAMT": "640.00",
                                              "TRANSACTIONSTATUS": "SUCCESS"}, "X")
    raw = bytearray(base64.b64decode(b2b_codec.seal(MERCHANT.key, answer)))
    raw[15] ^= 0x01  # plaintext byte 15: inside '{"CHECKSUM": "...' (sorted keys come first)
    opened = kiosk.unseal(KEY, base64.b64encode(bytes(raw)))
    want = kiosk.reply_checksum(opened, "X", MERCHANT.sso_token)
    assert not kiosk.checksum_ok(want, opened["CHECKSUM"])
    assert kiosk.checksum_ok(kiosk.reply_checksum(answer, "X", MERCHANT.sso_token),
                             answer["CHECKSUM"])


def test_request_checksum_is_md5_of_the_four_values_and_central_agrees():
    fields = {"REQTIMESTAMP": "20261201173000123", "REQUESTID": "T-1"}
    fields["CHECKSUM"] = kiosk.request_checksum(MERCHANT.ssoid, "T-1", fields["REQTIMESTAMP"],
                                                MERCHANT.sso_token)
    assert len(fields["CHECKSUM"]) == 32
    assert b2b_codec.request_checksum_ok(MERCHANT, fields, "T-1")
    assert not b2b_codec.request_checksum_ok(MERCHANT, fields, "T-2")
    assert not b2b_codec.request_checksum_ok(MERCHANT, {**fields, "REQTIMESTAMP": "1"}, "T-1")


@pytest.mark.parametrize(("text", "want"), [("640.00", 64000), ("0.05", 5), ("1235.50", 123550),
                                            ("640", None), ("640.0", None), ("-1.00", None),
                                            ("6.4e2", None), ("064.00", None), (" 1.00", None),
                                            ("१.००", None), (".50", None), (640.0, None)])
def test_rupee_amounts_parse_exactly_at_both_ends(text, want):
    assert paise(text) == want
    if isinstance(text, str):
        assert b2b_codec.from_rupees(text) == want
    if want is not None:
        assert rupees(want) == text == b2b_codec.to_rupees(want)


# -- configuration --------------------------------------------------------------------------


def test_private_secret_files_load(tmp_path):
    secrets = load_secrets(write_secrets(tmp_path))
    assert secrets.merchant_code == MERCHANT.merchant_code
    assert secrets.sso_token == MERCHANT.sso_token
    assert MERCHANT.sso_token not in repr(secrets) and MERCHANT.aes_secret not in repr(secrets)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o666])
def test_a_secret_file_others_can_read_or_write_is_refused(tmp_path, mode):
    keys = write_secrets(tmp_path, mode=mode)
    with pytest.raises(SetupError, match="chmod 600"):
        load_secrets(keys)


def test_missing_empty_symlinked_or_odd_secret_files_are_refused(tmp_path):
    keys = write_secrets(tmp_path)
    with pytest.raises(SetupError, match="file not found"):
        load_secrets({**keys, "emitra_sso_token_file": str(tmp_path / "nope")})
    with pytest.raises(SetupError, match="needs this file"):
        load_secrets({**keys, "emitra_aes_secret_file": ""})
    link = tmp_path / "link"
    link.symlink_to(keys["emitra_aes_secret_file"])
    with pytest.raises(SetupError, match="cannot be opened"):
        load_secrets({**keys, "emitra_aes_secret_file": str(link)})
    empty = write_secrets(tmp_path / "e", emitra_sso_token_file="")
    with pytest.raises(SetupError, match="printable"):
        load_secrets(empty)
    spaced = write_secrets(tmp_path / "s", emitra_merchant_code_file="A B")
    with pytest.raises(SetupError, match="MERCHANTCODE"):
        load_secrets(spaced)


def test_config_selects_the_dialect_and_reports_bad_setups_clearly(tmp_path):
    keys = write_secrets(tmp_path / "ok")
    config = load_config(overrides={"central": {"dialect": "emitra_b2b", **keys}})
    assert config["central"]["dialect"] == "emitra_b2b"
    with pytest.raises(ConfigError, match="emitra_merchant_code_file.*needs this file"):
        load_config(overrides={"central": {"dialect": "emitra_b2b"}})
    loose = write_secrets(tmp_path / "loose", mode=0o644)
    with pytest.raises(ConfigError, match=r"emitra_merchant_code_file.*mode 644"):
        load_config(overrides={"central": {"dialect": "emitra_b2b", **loose}})
    with pytest.raises(ConfigError, match="allowed values are 'reference', 'emitra_b2b'"):
        load_config(overrides={"central": {"dialect": "emitra"}})
    with pytest.raises(ConfigError, match="PROVIDER:SERVICEID"):
        load_config(overrides={"central": {"emitra_services": ["JVVNL-2001"]}})
    with pytest.raises(ConfigError, match="listed twice"):
        load_config(overrides={"central": {"emitra_services": ["A:1:1:1", "A:2:1:1"]}})
    with pytest.raises(ConfigError, match="at least one provider"):
        load_config(overrides={"central": {"dialect": "emitra_b2b", **keys,
                                           "emitra_services": []}})
    with pytest.raises(ConfigError, match="emitra_url"):
        load_config(overrides={"central": {"emitra_url": "ftp://x"}})
    assert set(SECRET_VALUES) <= set(config["central"])


def test_the_service_table_maps_providers_to_ids():
    table = parse_services(["JVVNL:2001:1:0801", "PHED:3001:2:0215"])
    assert table["PHED"].service_id == "3001" and table["PHED"].sub_service_id == "2"
    assert table["JVVNL"].revenue_head == "0801"


def test_the_default_service_table_is_the_reference_centrals_and_covers_its_providers():
    from sim.central import seed
    from sim.central.b2b_routes import SERVICES

    table = parse_services(load_config()["central"]["emitra_services"])
    kiosk_side = {p: (i.service_id, i.sub_service_id, i.revenue_head) for p, i in table.items()}
    central_side = {p: (sid, sub, head) for (sid, sub), (p, head) in SERVICES.items()}
    assert kiosk_side == central_side
    billed = {p["code"] for entry in seed.CATALOGUE for p in entry["providers"]}
    assert billed <= set(table)
