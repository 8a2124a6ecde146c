"""Fuzz: site config files and values (terminal/config.py load_config / merge).

Property: random TOML-ish text, and random values for every known key, give either a config that
obeys the rules or a ConfigError naming the file, the section and the key — never a traceback.
The defaults file is the schema, so the keys are read from it (new keys are fuzzed too).

The tests at the end are bugs found here in terminal/config.py, kept as examples now they are
fixed: nothing read from a site file reaches the kiosk as a traceback or an unmeant value.
"""

from __future__ import annotations

import math
import re
import tomllib
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from terminal import config as cfg
from terminal.config import ConfigError, load_config

FUZZ = settings(
    max_examples=300,
    deadline=3000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
DEFAULTS = load_config()
KEYS = sorted((section, key) for section, values in DEFAULTS.items() for key in values)


# ---------------------------------------------------------------- values as TOML text


def toml_value(value) -> str:
    """A TOML literal for a str / bool / int / float / list / dict value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        out = "".join(
            c if c.isprintable() and c not in '"\\' else f"\\U{ord(c):08x}" for c in value
        )
        return f'"{out}"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f'"{k}" = {toml_value(v)}' for k, v in value.items()) + "}"
    raise TypeError(type(value))


toml_strings = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=24
) | st.sampled_from(
    ["", "hi", "en", "ccnet", "essp", "serial", "usb", "network", "cr", "INFO", "below",
     "reference", "http://127.0.0.1:1", "ftp://x", "0123456701234567", "ABCDEF0123456789",
     "ENG-1:" + "00" * 16, "ENG-1:" + "00" * 15, ":" + "ab" * 16, "/dev/null"]
)  # fmt: skip
toml_ints = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([0, 1, -1, 10, 20, 50, 100, 200, 500, 2000, 384, 576, 65535, 65536]),
)
toml_floats = st.floats(allow_nan=False, allow_infinity=False)
toml_scalars = st.one_of(st.booleans(), toml_ints, toml_floats, toml_strings)
toml_values = st.recursive(
    toml_scalars,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4),
        st.dictionaries(st.text("abcxyz_", min_size=1, max_size=5), kids, max_size=3),
    ),
    max_leaves=8,
)


def obeys_rules(dotted: str, default, value) -> bool:
    """An independent reading of the rules in the module docstring and the tables."""
    if isinstance(default, bool) or isinstance(value, bool):
        if not (isinstance(default, bool) and isinstance(value, bool)):
            return False
    elif isinstance(default, float):
        if not isinstance(value, int | float) or not _finite_float(value):
            return False
    elif isinstance(default, list):
        if not isinstance(value, list):
            return False
        if default and not all(obeys_rules("", default[0], v) for v in value):
            return False
    elif not isinstance(value, type(default)):
        return False
    if dotted in cfg.CHOICES and value not in cfg.CHOICES[dotted]:
        return False
    if dotted in cfg.POSITIVE and not value > 0:
        return False
    if dotted in cfg.NON_NEGATIVE and not value >= 0:
        return False
    if dotted in cfg.PORTS and not 0 <= value <= 65535:
        return False
    if dotted == "acceptor.accepted_notes" and (
        not value or any(v not in cfg.NOTE_RUPEES for v in value)
    ):
        return False
    if dotted == "acceptor.essp_fixed_key":
        return len(value) == 16 and all(c in "0123456789abcdefABCDEF" for c in value)
    if dotted == "central.url":
        return _has_http_host(value)
    if dotted == "maintenance.engineer_card_keys":
        return all(isinstance(e, str) and _engineer_key_ok(*e.split(":", 1)) for e in value)
    if dotted == "maintenance.pin_hash":
        return value == "" or value.startswith("scrypt$")  and len(value.split("$")) == 6
    if dotted == "acceptor.cassette_capacity_notes":
        return value <= 20000  # no cassette holds more: a bigger figure is a typo
    if dotted == "central.emitra_url":
        return value == "" or _has_http_host(value)
    if dotted == "central.emitra_services":
        return _service_table_ok(value)
    if dotted == "terminal.timezone":
        return _zone_known(value)
    return True


def _service_table_ok(entries: list[str]) -> bool:
    """Each "PROVIDER:SERVICEID:SUBSERVICEID:REVENUEHEAD": a short plain provider code, then
    three numbers; no provider twice."""
    providers = []
    for entry in entries:
        parts = entry.split(":")
        if len(parts) != 4:
            return False
        provider, *numbers = parts
        if not (0 < len(provider) <= 20 and provider.isascii() and provider.isalnum()):
            return False
        if not all(0 < len(n) <= 10 and n.isascii() and n.isdigit() for n in numbers):
            return False
        providers.append(provider)
    return len(providers) == len(set(providers))


def _zone_known(name: str) -> bool:
    if name in ("Asia/Kolkata", "UTC"):  # known even without the tz database
        return True
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _finite_float(value: int | float) -> bool:
    try:
        return math.isfinite(float(value))
    except OverflowError:  # a whole number beyond any float
        return False


def _has_http_host(url: str) -> bool:
    """http:// or https://, then a host name (and a port 0..65535 if one is written)."""
    if not re.match(r"https?://", url) or not url.isprintable() or " " in url:
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return False
    return bool(parts.hostname)


def _engineer_key_ok(engineer_id: str, key: str = "") -> bool:
    try:
        return bool(engineer_id) and len(bytes.fromhex(key)) >= 16
    except ValueError:
        return False


def assert_names_key(exc: ConfigError, source: str, section: str, key: str) -> None:
    text = str(exc)
    assert source in text, text
    assert f"[{section}]" in text and key in text, text
    assert "Traceback" not in text


def assert_refused(path: Path, section: str, key: str) -> None:
    try:
        load_config(path)
    except ConfigError as exc:
        assert_names_key(exc, str(path), section, key)
    else:
        raise AssertionError(f"[{section}] {key}: accepted")


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "site.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


# ---------------------------------------------------------------- one known key, any value


@FUZZ
@given(st.sampled_from(KEYS), toml_values)
@example(("acceptor", "accepted_notes"), [])
@example(("acceptor", "accepted_notes"), [10, 30])
@example(("acceptor", "accepted_notes"), [10.0])
@example(("session_api", "port"), 65536)
@example(("session_api", "port"), True)
@example(("central", "timeout_s"), 0)
@example(("central", "timeout_s"), 1)  # an int where a float is the default: fine
@example(("printer", "paper_width_dots"), 576.0)
@example(("maintenance", "engineer_card_keys"), ["ENG-1:" + "00" * 15])
@example(("maintenance", "engineer_card_keys"), [{"a": 1}])
@example(("central", "url"), "ftp://x")
@example(("central", "url"), "https://:443/")
@example(("central", "url"), "http://h:65536")
@example(("central", "url"), "http://ho\tst/")
@example(("central", "timeout_s"), 10**400)  # an int too large for a float
@example(("central", "emitra_services"), [""])  # found by a full run
@example(("central", "emitra_services"), ["JVVNL:1:1:1", "JVVNL:2:2:2"])
@example(("acceptor", "cassette_capacity_notes"), 20001)
@example(("terminal", "timezone"), "Mars/Olympus")
def test_any_value_for_a_known_key(tmp_path, section_key, value) -> None:
    section, key = section_key
    dotted = f"{section}.{key}"
    default = DEFAULTS[section][key]
    path = write(tmp_path, f"[{section}]\n{key} = {toml_value(value)}\n")
    parsed = tomllib.loads(path.read_text("utf-8"))[section][key]  # what the file says
    try:
        loaded = load_config(path)
    except ConfigError as exc:
        assert_names_key(exc, str(path), section, key)
        assert not obeys_rules(dotted, default, parsed), (dotted, parsed, str(exc))
        return
    assert obeys_rules(dotted, default, parsed), (dotted, parsed)
    assert loaded[section][key] == (float(parsed) if isinstance(default, float) else parsed)
    # every other key kept its default
    for other_section, other_key in KEYS:
        if (other_section, other_key) != (section, key):
            assert loaded[other_section][other_key] == DEFAULTS[other_section][other_key]


@FUZZ
@given(st.sampled_from(KEYS), toml_values)
def test_overrides_check_the_same_way(section_key, value) -> None:
    section, key = section_key
    try:
        load_config(overrides={section: {key: value}})
    except ConfigError as exc:
        assert_names_key(exc, "<overrides>", section, key)
        assert not obeys_rules(f"{section}.{key}", DEFAULTS[section][key], value)
    else:
        assert obeys_rules(f"{section}.{key}", DEFAULTS[section][key], value)


# ---------------------------------------------------------------- random TOML-ish text

sections = st.sampled_from(sorted(DEFAULTS) + ["nope", "terminal.sub", "[x]", ""])
line = st.one_of(
    sections.map(lambda s: f"[{s}]"),
    st.tuples(st.sampled_from([k for _, k in KEYS] + ["bogus", "a.b", '"q"']), toml_values).map(
        lambda kv: f"{kv[0]} = {toml_value(kv[1])}"
    ),
    st.sampled_from(
        [
            "",
            "# comment",
            "=",
            "x =",
            "= 1",
            "[",
            "]]",
            "[[terminal]]",
            'id = """',
            "id = '",
            "a = [1,",
            "a = {",
            "a = 1979-05-27T07:32:00Z",
            "a = 0x1F",
            "a = 1_000",
            "a = +inf",
            "\ufeff",
            "\t",
            "\r",
            "key = 'value' trailing",
            "dup = 1\ndup = 2",
        ]
    ),  # fmt: skip
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30),
)
toml_texts = st.lists(line, max_size=15).map("\n".join)


@FUZZ
@given(toml_texts)
@example("[terminal]\nid = 1")
@example("[terminal]\nnope = 1")
@example("[nope]\na = 1")
@example("terminal = 1")
@example("[terminal.sub]\na = 1")
@example("[[terminal]]\nid = 'x'")
@example("id = 'x'")  # a key outside any table
def test_random_toml_text(tmp_path, text) -> None:
    path = write(tmp_path, text)
    try:
        config = load_config(path)
    except ConfigError as exc:
        assert str(path) in str(exc)
        return
    assert set(config) == set(DEFAULTS)
    for section, key in KEYS:
        assert obeys_rules(f"{section}.{key}", DEFAULTS[section][key], config[section][key])


# ---------------------------------------------------------------- bugs found here (fixed)


@FUZZ
@given(st.binary(max_size=40))
@example(b'[terminal]\nid = "\xff"\n')
def test_any_bytes_as_a_site_file(tmp_path, raw) -> None:
    """Was: a site file that is not UTF-8 raises UnicodeDecodeError, not ConfigError."""
    path = write(tmp_path, raw)
    try:
        load_config(path)
    except ConfigError:
        pass
    except Exception as exc:  # noqa: BLE001 - the property is "nothing but ConfigError"
        raise AssertionError(f"{type(exc).__name__}: {exc}") from exc


def test_deeply_nested_site_file(tmp_path) -> None:
    """Was: nesting deeper than tomllib's recursion limit raises RecursionError."""
    path = write(tmp_path, "[terminal]\nid = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError, match="not valid TOML") as err:
        load_config(path)
    assert str(path) in str(err.value)


def test_site_path_is_a_directory(tmp_path) -> None:
    """Was: a site path that is a directory raises IsADirectoryError."""
    with pytest.raises(ConfigError, match="is a directory") as err:
        load_config(tmp_path)
    assert str(tmp_path) in str(err.value)


def test_site_file_not_utf8_names_the_file(tmp_path) -> None:
    path = write(tmp_path, b'[terminal]\nid = "\xff"\n')
    with pytest.raises(ConfigError, match="not UTF-8") as err:
        load_config(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("literal", ["nan", "inf", "-nan", "+inf"])
def test_positive_keys_refuse_nan_and_inf(tmp_path, literal) -> None:
    """Was: nan / inf pass the 'greater than 0' checks."""
    path = write(tmp_path, f"[central]\ntimeout_s = {literal}\n")
    assert_refused(path, "central", "timeout_s")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_overrides_refuse_nan_and_inf(value) -> None:
    with pytest.raises(ConfigError, match="finite"):
        load_config(overrides={"central": {"timeout_s": value}})


@pytest.mark.parametrize(
    "key",
    ["0x0123456789abcd", "0_23456789abcdef", " 123456789abcdef", "0X0123456789ABCD",
     "0123456789abcde\\n", "٠١٢٣٤٥٦٧٨٩abcdef"],  # a newline; Arabic-Indic digits
)  # fmt: skip
def test_essp_key_must_be_16_hex_digits(tmp_path, key) -> None:
    """Was: essp_fixed_key accepts int(x, 16) forms that are not 16 hex digits."""
    path = write(tmp_path, f'[acceptor]\nessp_fixed_key = "{key}"\n')
    assert_refused(path, "acceptor", "essp_fixed_key")


@pytest.mark.parametrize("url", ["http://", "https://", "http://:8080", "https:///v1"])
def test_central_url_needs_a_host(tmp_path, url) -> None:
    """Was: central.url 'http://' (no host) is accepted."""
    path = write(tmp_path, f'[central]\nurl = "{url}"\n')
    assert_refused(path, "central", "url")
