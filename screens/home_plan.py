"""Which tiles the home screen draws, from the snapshot alone (no Kivy here, so tests can read it).

`state.home` (docs/session-api.md) lists the catalogue's categories with only the services usable
now. The home screen draws: one tile per bill service (the most common errand is one tap from
home), one tile per other category (a category of one service opens it; of several, a choice),
and the QR receipt check while look-ups work. A tile the snapshot does not list is not drawn,
so none leads nowhere; a bill service the catalogue has but that cannot be paid now stays,
greyed, where it was (the banner says why)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from screens import fmt

BILL = "bill"
VERIFY = "verify"
PRINTER_DOWN = ("printer_unavailable", "printer_out_of_paper")
SERVICE_KINDS = ("status", "certificate", "grievance", "application", "info")  # services_*.py
BILL_ICONS = {"electricity": "bolt", "water": "drop", "phone": "phone", "gas": "flame"}
KIND_ICONS = {"status": "search", "certificate": "certificate", "grievance": "megaphone",
              "application": "form", "info": "info", VERIFY: "qr"}


class Words(Protocol):
    lang: str

    def tr(self, key: str, lang: str | None = None, **values: Any) -> str: ...

    def has_text(self, key: str) -> bool: ...


@dataclass(frozen=True)
class TilePlan:
    """One home tile. `action`: "bill" (service), "verify", "service" (kind, service) or
    "choose" (choices: the category's services, each {"kind", "service", "name"})."""

    tid: str
    icon: str
    title: str
    subtitle: str
    action: str
    kind: str = ""
    service: str = ""
    available: bool = True
    choices: tuple[dict[str, str], ...] = field(default_factory=tuple)


def _name(entry: dict[str, Any], lang: str) -> str:
    return str(entry.get(f"name_{lang}") or entry.get("name_en") or entry.get("service") or "")


def _home_tiles(state: dict[str, Any]) -> list[dict[str, Any]] | None:
    home = state.get("home")
    if not isinstance(home, dict) or not isinstance(home.get("tiles"), list):
        return None  # an older core: the catalogue and cash decide (bills and the QR check)
    return [t for t in home["tiles"] if isinstance(t, dict)]


def _services(tile: dict[str, Any]) -> list[dict[str, Any]]:
    found = tile.get("services")
    return [s for s in found if isinstance(s, dict) and s.get("service")] \
        if isinstance(found, list) else []


def _fee_amount(fee: Any) -> str:
    """The citizen fee in rupees, "" when there is none (0, or not a sane amount)."""
    if isinstance(fee, int) and not isinstance(fee, bool) and fee > 0:
        return fmt.rupees(fee)
    return ""


def _fee_text(words: Words, fee: Any) -> str:
    amount = _fee_amount(fee)
    return words.tr("tile_fee", amount=amount) if amount else ""


def bill_tiles(words: Words, state: dict[str, Any],
               tiles: list[dict[str, Any]] | None) -> list[TilePlan]:
    """A tile per bill service, in the catalogue's order; stopped ones greyed, not dropped."""
    services = state.get("services") or {}
    usable: dict[str, dict[str, Any]] = {}
    for tile in tiles or []:
        for svc in _services(tile):
            if svc.get("kind") == BILL:
                usable.setdefault(str(svc["service"]), svc)
    order: list[tuple[str, dict[str, Any]]] = []
    for entry in state.get("catalogue") or []:
        if isinstance(entry, dict) and entry.get("service"):
            order.append((str(entry["service"]), entry))
    known = {code for code, _ in order}
    order += [(code, svc) for code, svc in usable.items() if code not in known]
    plans = []
    for code, entry in order:
        if tiles is None:
            available = bool(services.get("cash_payment"))  # the old rule
        else:
            available = code in usable
        key = f"service_{code}"
        title = words.tr(key) if words.has_text(key) else _name(usable.get(code, entry),
                                                                 words.lang)
        plans.append(TilePlan(
            tid=f"tile_{code}", icon=BILL_ICONS.get(code, "receipt"), title=title,
            subtitle=words.tr("tile_pay" if available else "degraded_tile"),
            action=BILL, kind=BILL, service=code, available=available))
    return plans


def service_tile(words: Words, tile: dict[str, Any], seen: set[str]) -> TilePlan | None:
    """One category of citizen services as one tile (None: nothing on it the screen can open)."""
    entries = [s for s in _services(tile) if s.get("kind") in SERVICE_KINDS]
    if not entries:
        return None
    kind = str(entries[0]["kind"])
    tid = f"tile_{kind}" if f"tile_{kind}" not in seen else f"tile_{tile.get('category', kind)}"
    if len(entries) == 1 or kind != "application" and len({e["kind"] for e in entries}) == 1:
        entry = entries[0]
        fee = _fee_text(words, entry.get("fee_paise"))
        if kind == "status":
            title, sub = words.tr("tile_status"), words.tr("tile_status_hint")
        elif kind == "certificate":
            title, sub = words.tr("tile_certificate"), words.tr("tile_certificate_sub")
        elif kind == "grievance":
            title, sub = words.tr("tile_grievance"), fee or words.tr("tile_grievance_sub")
        elif kind == "info":  # the scheme pages (terminal/info_service.py)
            title, sub = words.tr("tile_info"), words.tr("tile_info_sub")
        else:  # one service to apply for: its name is what the citizen looks for
            title = _name(entry, words.lang)
            amount = _fee_amount(entry.get("fee_paise"))
            sub = words.tr("tile_apply_fee", amount=amount) if amount \
                else words.tr("tile_application")
        return TilePlan(tid=tid, icon=KIND_ICONS[kind], title=title, subtitle=sub,
                        action="service", kind=kind, service=str(entry["service"]))
    title = words.tr("tile_application") if kind == "application" else _name(tile, words.lang)
    choices = tuple(
        {"kind": str(e["kind"]), "service": str(e["service"]),
         "name": ", ".join(x for x in (_name(e, words.lang),
                                        _fee_text(words, e.get("fee_paise"))) if x)}
        for e in entries)
    return TilePlan(tid=tid, icon=KIND_ICONS[kind], title=title,
                    subtitle=words.tr("tile_choose_sub", n=len(entries)), action="choose",
                    kind=kind, choices=choices)


def plan(words: Words, state: dict[str, Any]) -> list[TilePlan]:
    """Every tile to draw, in order: bills, the other categories as central lists them, then
    the receipt check."""
    tiles = _home_tiles(state)
    plans = bill_tiles(words, state, tiles)
    seen = {p.tid for p in plans}
    for tile in tiles or []:
        made = service_tile(words, tile, seen)
        if made is not None:
            plans.append(made)
            seen.add(made.tid)
    if (state.get("services") or {}).get("lookup", True):
        plans.append(TilePlan(tid="tile_verify", icon=KIND_ICONS[VERIFY],
                              title=words.tr("tile_receipt_check"),
                              subtitle=words.tr("tile_verify_sub"), action=VERIFY, kind=VERIFY))
    return plans


def reprint_possible(state: dict[str, Any]) -> bool:
    """The home screen's "print an old receipt" button (screens/reprint_views.py): a core that
    sends state.home knows the reprint intent (an older one does not), look-ups work and no
    reason says the printer is down. A button, not a tile: a tenth tile leaves the tiles too
    small for their words on a 1280x800 panel."""
    if _home_tiles(state) is None:
        return False
    services = state.get("services") or {}
    reasons = services.get("reasons") if isinstance(services.get("reasons"), list) else []
    return bool(services.get("lookup", True)) and not any(r in PRINTER_DOWN for r in reasons)


def grid_shape(count: int, width: float, height: float, gap: float) -> tuple[int, int]:
    """(columns, rows) for `count` tiles in a width x height grid: the shape whose tiles are
    largest, judged as if a tile wanted to be twice as wide as tall (icon beside the words,
    or above them when a tile is tall enough)."""
    if count <= 0:
        return 1, 1
    best, best_score = (1, count), -1.0
    for cols in range(1, count + 1):
        rows = -(-count // cols)
        if cols > 1 and -(-count // (cols - 1)) == rows:
            continue  # a column more would only leave a hole
        w = (width - (cols - 1) * gap) / cols
        h = (height - (rows - 1) * gap) / rows
        score = min(w, 2 * h)
        if score > best_score + 0.5:
            best, best_score = (cols, rows), score
    return best
