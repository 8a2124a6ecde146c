"""The service catalogue in force: categories, services, providers, departments and forms, as
central publishes them (GET /v1/catalogue, docs/central-api.md), checked here before any of it
is used. terminal/catalogue_cache.py keeps it on disk and refreshes it; this module holds the one
validated catalogue the kiosk uses and the views older code reads (`PROVIDERS`, `SERVICES`,
`catalogue()`), so a provider, a fee or a consumer-number rule is data, not code.

Everything from central is hostile until `validate` passes: sizes are bounded, every code is a
short identifier, names are short printable text, money is whole paise, and a consumer-number
pattern is short, compiles, and only ever runs on input no longer than its rule's max_len.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from terminal import number_hint
from terminal.catalogue_builtin import BUILTIN
from terminal.form_engine import FormError, check_definition, check_documents, safe_pattern

CONSUMER_NUMBER = re.compile(r"^\d{6,16}$")  # the outer bound every provider's rule sits in
KINDS = ("bill", "status", "certificate", "grievance", "application")
TENDERS = ("cash", "card")
MAX_FEE_PAISE = 1_000_000  # ₹10,000: far above any citizen fee of the e-Mitra schedule
MAX_OVERSHOOT_PAISE = 1_000_000  # ₹10,000: far above the largest note (how far it may overshoot)
LIMITS = {"categories": 16, "services": 64, "providers": 128, "departments": 32, "forms": 16}
MAX_NESTED = 32  # a department's categories, a category's complaints
MAX_FORM_FIELDS = 64
MAX_TEXT = 200
_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")


class CatalogueError(ValueError):
    """A catalogue that must not be used (the message says where it is wrong)."""


# ---------------------------------------------------------------- validation


def _fail(where: str, what: str) -> CatalogueError:
    return CatalogueError(f"{where}: {what}")


def _text(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT \
            or not value.isprintable():
        raise _fail(where, f"{key} must be printable text of 1-{MAX_TEXT} characters")
    return value


def _code(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not _CODE.fullmatch(value):
        raise _fail(where, f"{key} must be a short identifier")
    return value


def _int(obj: Mapping[str, Any], key: str, where: str, lo: int, hi: int) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise _fail(where, f"{key} must be a whole number from {lo} to {hi}")
    return value


def _flag(obj: Mapping[str, Any], key: str, where: str) -> bool:
    value = obj.get(key, False)
    if not isinstance(value, bool):
        raise _fail(where, f"{key} must be true or false")
    return value


def _list(obj: Mapping[str, Any], key: str, where: str, limit: int) -> list[Any]:
    value = obj.get(key)
    if not isinstance(value, list) or len(value) > limit:
        raise _fail(where, f"{key} must be a list of at most {limit}")
    if not all(isinstance(v, dict) for v in value):
        raise _fail(where, f"every entry of {key} must be an object")
    return value


def _named(obj: Mapping[str, Any], where: str) -> dict[str, str]:
    return {"code": _code(obj, "code", where), "name_en": _text(obj, "name_en", where),
            "name_hi": _text(obj, "name_hi", where)}


def _unique(items: list[dict[str, Any]], where: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        if item["code"] in out:
            raise _fail(where, f"code {item['code']!r} appears twice")
        out[item["code"]] = item
    return out


def _rule(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _fail(where, "consumer_number must be an object")
    pattern = raw.get("pattern")
    compiled = safe_pattern(pattern)
    if compiled is None:
        raise _fail(where, "consumer_number.pattern must be short, plain, bounded, and compile")
    lo = _int(raw, "min_len", where, 1, 20)
    hi = _int(raw, "max_len", where, lo, 20)
    return {"pattern": pattern, "min_len": lo, "max_len": hi, "regex": compiled}


def _service(raw: dict[str, Any], categories: Mapping[str, Any], forms: set[str]) -> dict:
    where = f"service {raw.get('code')!r}"
    out: dict[str, Any] = _named(raw, where)
    out["category"] = _code(raw, "category", where)
    if out["category"] not in categories:
        raise _fail(where, "its category is not in the catalogue")
    if raw.get("kind") not in KINDS:
        raise _fail(where, f"kind must be one of {', '.join(KINDS)}")
    out["kind"] = raw["kind"]
    tenders = raw.get("tenders")
    if not isinstance(tenders, list) or not set(tenders) <= set(TENDERS) \
            or len(set(tenders)) != len(tenders):
        raise _fail(where, "tenders must list cash and/or card, each once")
    out["tenders"] = list(tenders)
    out["fee_paise"] = _int(raw, "fee_paise", where, 0, MAX_FEE_PAISE)
    if out["fee_paise"] and not tenders:
        raise _fail(where, "a fee with no tender to pay it")
    form = raw.get("form")
    if out["kind"] == "application" and form not in forms:
        raise _fail(where, "an application needs a form of the catalogue")
    out["form"] = form if out["kind"] == "application" else None
    return out


def _provider(raw: dict[str, Any], services: Mapping[str, Any]) -> dict[str, Any]:
    where = f"provider {raw.get('code')!r}"
    out: dict[str, Any] = _named(raw, where)
    out["service"] = _code(raw, "service", where)
    if out["service"] not in services:
        raise _fail(where, "its service is not in the catalogue")
    out["consumer_number"] = _rule(raw.get("consumer_number"), where)
    out["partial_payment"] = _flag(raw, "partial_payment", where)
    out["advance_payment"] = _flag(raw, "advance_payment", where)
    # How far the last note may go past what is due: the advance the account takes, or the
    # voucher the overshoot becomes (terminal/advance_credit.py). Missing is refused: a
    # provider whose notes must be exact says 0.
    out["max_overshoot_paise"] = _int(raw, "max_overshoot_paise", where, 0, MAX_OVERSHOOT_PAISE)
    try:  # optional: where the number is on the bill, the first digits of its numbers
        hint = number_hint.check(raw.get("number_hint"))
    except number_hint.NumberHintError as exc:
        raise _fail(where, str(exc)) from None
    if hint is not None:
        out["number_hint"] = hint
    return out


def _department(raw: dict[str, Any]) -> dict[str, Any]:
    where = f"department {raw.get('code')!r}"
    out: dict[str, Any] = _named(raw, where)
    cats = []
    for cat in _list(raw, "categories", where, MAX_NESTED):
        c: dict[str, Any] = _named(cat, where)
        c["complaints"] = [_named(x, where)
                           for x in _list(cat, "complaints", where, MAX_NESTED)]
        _unique(c["complaints"], where)
        cats.append(c)
    if not cats:
        raise _fail(where, "a department needs at least one category")
    _unique(cats, where)
    out["categories"] = cats
    return out


def _form(raw: dict[str, Any]) -> dict[str, Any]:
    where = f"form {raw.get('code')!r}"
    code = _code(raw, "code", where)
    schema = raw.get("schema")
    if not isinstance(schema, dict) or schema.get("type") != "object" \
            or not set(schema) <= {"type", "required", "properties"}:
        raise _fail(where, "schema must be a JSON Schema object of type, required, properties")
    props = schema.get("properties")
    if not isinstance(props, dict) or not 0 < len(props) <= MAX_FORM_FIELDS \
            or not all(isinstance(k, str) and _CODE.fullmatch(k) for k in props):
        raise _fail(where, f"schema.properties: 1-{MAX_FORM_FIELDS} fields with short names")
    try:
        check_definition(schema)
    except FormError as exc:
        raise _fail(where, str(exc)) from None
    required = schema.get("required", [])
    if not isinstance(required, list) or not set(required) <= set(props):
        raise _fail(where, "schema.required names fields that are not in the form")
    labels = raw.get("labels")
    if not isinstance(labels, dict) or set(labels) != set(props):
        raise _fail(where, "labels must name every field, and only those")
    for name, label in labels.items():
        if not isinstance(label, dict):
            raise _fail(where, f"label of {name} must be an object")
        _text(label, "en", where), _text(label, "hi", where)
    placed: list[str] = []
    for section in _list(raw, "layout", where, MAX_FORM_FIELDS):
        _text(section, "title_en", where), _text(section, "title_hi", where)
        fields = section.get("fields")
        if not isinstance(fields, list) or not all(f in props for f in fields):
            raise _fail(where, "layout places a field that is not in the form")
        placed += fields
    if sorted(placed) != sorted(props):
        raise _fail(where, "layout must place every field exactly once")
    try:
        documents = check_documents(raw.get("documents"))
    except FormError as exc:
        raise _fail(where, str(exc)) from None
    return {"documents": documents, "code": code, "title_en": _text(raw, "title_en", where),
            "title_hi": _text(raw, "title_hi", where), "schema": schema,
            "layout": raw["layout"], "labels": labels}


def validate(doc: Any) -> dict[str, Any]:
    """The checked catalogue (a new structure: nothing of `doc` is kept by reference but the
    form schemas, which are validated as data); raises CatalogueError."""
    if not isinstance(doc, dict):
        raise CatalogueError("the catalogue is not an object")
    version = doc.get("version")
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        raise CatalogueError("version must be a short identifier")
    lists = {key: _list(doc, key, "catalogue", limit) for key, limit in LIMITS.items()}
    categories = _unique([_named(c, "category") for c in lists["categories"]], "categories")
    forms = _unique([_form(f) for f in lists["forms"]], "forms")
    services = _unique([_service(s, categories, set(forms)) for s in lists["services"]],
                       "services")
    providers = _unique([_provider(p, services) for p in lists["providers"]], "providers")
    departments = _unique([_department(d) for d in lists["departments"]], "departments")
    if not services:
        raise CatalogueError("a catalogue with no service")
    for code, s in services.items():
        if s["kind"] == "bill" and not any(p["service"] == code for p in providers.values()):
            raise _fail(f"service {code!r}", "a bill service without a provider")
        if s["kind"] == "grievance" and not departments:
            raise _fail(f"service {code!r}", "a grievance service without departments")
    return {"version": version, "categories": categories, "services": services,
            "providers": providers, "departments": departments, "forms": forms}


# ---------------------------------------------------------------- the catalogue in force

_current: dict[str, Any] = validate(BUILTIN)


def install(checked: dict[str, Any]) -> None:
    """Make a validated catalogue (from `validate`) the one in force."""
    global _current
    _current = checked


def current() -> dict[str, Any]:
    return _current


def version() -> str:
    return str(_current["version"])


def service(code: str) -> dict[str, Any] | None:
    return _current["services"].get(code)


def provider(code: str) -> dict[str, Any] | None:
    return _current["providers"].get(code)


def department(code: str) -> dict[str, Any] | None:
    return _current["departments"].get(code)


def bill_provider(code: str) -> dict[str, Any] | None:
    """A provider whose bills a citizen may look up (not a fee's provider, e.g. grievances)."""
    p = provider(code)
    s = service(p["service"]) if p else None
    return p if s is not None and s["kind"] == "bill" else None


def consumer_number_ok(provider_code: str, number: str) -> bool:
    """The provider's rule: length first (so the pattern only ever sees short input)."""
    p = provider(provider_code)
    if p is None or not CONSUMER_NUMBER.match(number):
        return False
    rule = p["consumer_number"]
    return rule["min_len"] <= len(number) <= rule["max_len"] \
        and rule["regex"].fullmatch(number) is not None


class _Providers(Mapping[str, dict[str, str]]):
    """The old table (code -> {service, en, hi}), read from the catalogue in force."""

    def __getitem__(self, code: str) -> dict[str, str]:
        p = _current["providers"][code]
        return {"service": p["service"], "en": p["name_en"], "hi": p["name_hi"]}

    def __iter__(self) -> Iterator[str]:
        return iter(list(_current["providers"]))

    def __len__(self) -> int:
        return len(_current["providers"])


class _Services(Mapping[str, dict[str, str]]):
    """The old table of bill services (code -> {en, hi})."""

    def _bills(self) -> dict[str, dict[str, Any]]:
        return {c: s for c, s in _current["services"].items() if s["kind"] == "bill"}

    def __getitem__(self, code: str) -> dict[str, str]:
        s = self._bills()[code]
        return {"en": s["name_en"], "hi": s["name_hi"]}

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._bills()))

    def __len__(self) -> int:
        return len(self._bills())


PROVIDERS: Mapping[str, dict[str, str]] = _Providers()
SERVICES: Mapping[str, dict[str, str]] = _Services()


def providers_for(service_code: str) -> list[str]:
    return [code for code, p in _current["providers"].items() if p["service"] == service_code]


def _hint_of(code: str) -> dict[str, Any]:
    hint = _current["providers"][code].get("number_hint")
    return {"number_hint": hint} if hint else {}


def catalogue() -> list[dict]:
    """The bill services as the screen has always had them (state.catalogue)."""
    return [
        {
            "service": code,
            "name_en": names["en"],
            "name_hi": names["hi"],
            "providers": [
                {"code": c, "name_en": PROVIDERS[c]["en"], "name_hi": PROVIDERS[c]["hi"],
                 **_hint_of(c)}
                for c in providers_for(code)
            ],
        }
        for code, names in SERVICES.items()
    ]
