"""Configuration: defaults load; wrong keys and values stop start-up with a clear message."""

import subprocess
import sys

import pytest

from terminal.config import DEFAULT_PATH, ConfigError, load_config


def write(tmp_path, text):
    path = tmp_path / "site.toml"
    path.write_text(text)
    return path


def test_defaults_load_with_every_section():
    config = load_config()
    assert config["acceptor"]["accepted_notes"] == [10, 20, 50, 100, 200, 500]
    assert config["payment"]["max_overpay_paise"] == 10000
    assert isinstance(config["central"]["timeout_s"], float)


def test_site_file_overrides_defaults(tmp_path):
    site = write(tmp_path, '[terminal]\nid = "RJ-AJM-0042"\n[payment]\nmax_overpay_paise = 0\n')
    config = load_config(site)
    assert config["terminal"]["id"] == "RJ-AJM-0042"
    assert config["payment"]["max_overpay_paise"] == 0
    assert config["terminal"]["location"] == load_config()["terminal"]["location"]


def test_int_accepted_where_float_expected(tmp_path):
    config = load_config(write(tmp_path, "[central]\ntimeout_s = 5\n"))
    assert config["central"]["timeout_s"] == 5.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[terminl]\nid = 'x'\n", "unknown section [terminl]"),
        ("[terminal]\nname = 'x'\n", "[terminal] unknown key 'name'"),
        ("[payment]\nmax_overpay_paise = '100'\n", "must be a whole number"),
        ("[payment]\nmax_overpay_paise = -1\n", "must be 0 or more"),
        ("[acceptor]\nprotocol = 'jcm'\n", "allowed values are 'ccnet', 'essp'"),
        ("[acceptor]\naccepted_notes = [100, 150]\n", "list one or more notes in rupees"),
        ("[acceptor]\naccepted_notes = []\n", "list one or more notes in rupees"),
        ("[printer]\npaper_width_dots = 500\n", "allowed values are 576, 384"),
        ("[central]\nurl = 'ftp://x'\n", "must start with http://"),
        ("[central]\nurl = 'http://'\n", "name a host"),
        ("[central]\ntimeout_s = nan\n", "must be a finite number"),
        ("[acceptor]\nessp_fixed_key = '0x0123456789abcd'\n", "exactly 16 hex digits"),
        ("[heartbeat]\nport = 70000\n", "must be a TCP port"),
        ("[heartbeat]\nenabled = 1\n", "must be true or false"),
        ("[terminal\nid = 1\n", "not valid TOML"),
        ("[maintenance]\nengineer_card_keys = ['E1:abcd']\n", "ENGINEER_ID:hexkey"),
        ("[scanner]\nsuffix = 'tab'\n", "allowed values are 'cr', 'crlf', 'lf'"),
    ],
)
def test_bad_values_name_file_and_key(tmp_path, text, expected):
    site = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(site)
    assert expected in str(err.value)
    assert str(site) in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")


def test_unreadable_site_files_name_the_file(tmp_path):
    """A directory, or a file saved as Windows-1252 by an editor: a message, not a traceback."""
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)
    site = tmp_path / "cp1252.toml"
    site.write_bytes("[terminal]\nlocation = 'Jodhpur \u2013 Sojati Gate'\n".encode("cp1252"))
    with pytest.raises(ConfigError, match="not UTF-8") as err:
        load_config(site)
    assert str(site) in str(err.value)


def test_default_file_documents_every_key():
    """Every setting in default.toml has a comment line somewhere above it in its section."""
    lines = DEFAULT_PATH.read_text().splitlines()
    undocumented = []
    for i, line in enumerate(lines):
        if "=" in line and not line.startswith("#") and not line.startswith("["):
            j = i - 1
            while j >= 0 and "=" in lines[j] and not lines[j].startswith("#"):
                j -= 1
            if j < 0 or not lines[j].startswith("#"):
                undocumented.append(line)
    assert not undocumented


def test_core_refuses_to_start_on_bad_config(tmp_path):
    site = write(tmp_path, "[payment]\nmax_overpay_paise = 'lots'\n")
    proc = subprocess.run(
        [sys.executable, "-m", "terminal.cli", "core", "--config", str(site)],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    assert "configuration error" in proc.stderr
    assert "max_overpay_paise" in proc.stderr and str(site) in proc.stderr
    assert "Traceback" not in proc.stderr
