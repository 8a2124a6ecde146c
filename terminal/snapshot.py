"""What the screen sees: the state snapshot, as pure functions of the kiosk's state objects
(device statuses, the live session, the journal's fold). No I/O here: the kiosk gathers the
inputs and pushes the result to every listener (the session API). Which services are usable is
the device board's rule (terminal/device_board.py `services`, re-exported here).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from drivers.base import DeviceStatus
from terminal import catalogue
from terminal.advance_credit import receipt_fact
from terminal.catalogue_cache import home_view
from terminal.device_board import USABLE, services  # noqa: F401 - the rule lives on the board
from terminal.live_session import LiveSession
from terminal.logs import mask_digits, mask_name
from terminal.name_mask import shown_name_hi
from terminal.part_payment import offer as part_offer
from terminal.session import Session, State
from terminal.sms_receipt import sms_view


class Lockout(Protocol):
    def locked(self) -> bool: ...


class MaintenanceLike(Protocol):
    """What the screen is told of terminal/maintenance.Maintenance."""

    active: bool
    engineer: str | None
    auth: Lockout  # terminal/engineer_auth.EngineerAuth

    def alarms(self) -> list[dict[str, Any]]: ...


def maintenance_view(m: MaintenanceLike | None) -> dict[str, Any] | None:
    if m is None:
        return None
    return {"active": m.active, "engineer_id": m.engineer, "locked": m.auth.locked(),
            "alarms": [a.get("code") for a in m.alarms()]}


def session_view(
    s: Session, live: LiveSession, accepted_now_paise: set[int]
) -> dict[str, Any]:
    bill = s.bill
    return {
        "session_id": s.session_id,
        "service": s.service,
        "provider": s.provider,
        "consumer_masked": mask_digits(s.consumer_number) if s.consumer_number else "",
        "bill": None
        if bill is None
        else {
            "consumer_name_masked": mask_name(bill.consumer_name),
            "consumer_name_hi_masked": shown_name_hi(bill.consumer_name_hi),
            "period": bill.period,
            "due_paise": bill.due_paise,
            "due_date": bill.due_date,
            "status": bill.status,
        },
        "due_paise": s.due_paise,
        "paid_paise": s.paid_paise,
        "remaining_paise": s.remaining_paise,
        "notes_paise": s.notes,
        "accepted_now_paise": sorted(accepted_now_paise),
        "last_returned": live.last_returned,
        "cash_in_machine": s.paid_paise > 0,
        "txn_id": s.txn_id,
        "receipt_no": s.receipt_no,
        "provisional": s.settled and s.amount_paise > 0 and s.receipt_no is None
        and s.refund_voucher_id is None,
        "refund_voucher": None if not s.refund_voucher_id
        else {"id": s.refund_voucher_id, "paise": s.refund_paise},
        "amount_paise": s.amount_paise,
        "voucher": None if not s.voucher_id else {"id": s.voucher_id, "paise": s.voucher_paise},
        # issue 13: the overshoot credited to the consumer's account; vouchers taken in
        "advance": receipt_fact(s.advance_paise) if s.advance_paise else None,
        "vouchers_in": [{"id": v, "paise": p} for v, p in sorted(s.redeemed.items())],
        "sms": sms_view(s),  # offered when paper failed or the receipt is provisional
        # part payments (terminal/part_payment.py): offered while paying; what is left after
        "part_payment": part_offer(s),
        "still_due_paise": s.due_paise - s.amount_paise
        if s.settled and 0 < s.amount_paise < s.due_paise else 0,
        "printed": sorted(s.printed),
        "print_failed": sorted(s.print_failed - s.printed),
        "recovered": s.recovered,
        "card": live.card_state,
        "paid_by_card": None
        if not s.card
        else {"pan_masked": s.card["pan_masked"], "auth_code": s.card["auth_code"]},
    }


# A look-up service's screen (terminal/service_lookup.py); a QR check is VERIFY.
LOOKUP_SCREENS = {"status": "STATUS", "certificate": "CERTIFICATE", "info": "INFO"}
# A form filled in within a fee's session (its IDENTIFY step has its own screen).
SESSION_FORMS = {"grievance": "GRIEVANCE", "application": "APPLICATION"}


def screen_of(s: Session | None, lookup: dict[str, Any] | None) -> str:
    if s is not None:
        form = SESSION_FORMS.get(str((lookup or {}).get("service")))
        if s.state == State.IDENTIFY and form:
            return form
        return s.state.value
    if lookup:
        return LOOKUP_SCREENS.get(str(lookup.get("service")), "VERIFY")
    return State.IDLE.value


def snapshot(
    *,
    seq: int,
    live: LiveSession,
    now: float,
    language: str,
    terminal: Mapping[str, Any],
    services_now: dict[str, Any],
    device_status: Mapping[str, DeviceStatus],
    maintenance: dict[str, Any] | None,
    accepted_now_paise: set[int],
    info_tile: dict[str, Any] | None = None,
    accessibility: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`info_tile`: the scheme pages' home tile (terminal/info_service.py), while any are
    cached; it follows the catalogue's categories on the home screen. `accessibility`: the
    mode's state (terminal/accessibility.py)."""
    s = live.session
    lookup = live.lookup
    if lookup is not None and lookup.get("service") in SESSION_FORMS and s is None:
        lookup = None  # a grievance's or an application's form lives only with its session
    state: dict[str, Any] = {
        "seq": seq,
        "screen": screen_of(s, lookup),
        "lookup": lookup,
        "presence": live.presence,
        "accessibility": accessibility or {"on": False, "default": False, "timeout_factor": 1.0},
        "maintenance": maintenance,
        "language": language,
        "terminal": {
            "id": terminal["id"],
            "location": terminal["location"],
            "location_hi": terminal.get("location_hi") or "",
            "helpline": terminal["helpline"],
        },
        "catalogue": catalogue.catalogue(),
        "home": home_view(services_now),  # + the scheme pages' tile, below
        "services": services_now,
        "devices": {k: v.to_dict() for k, v in device_status.items()},
        "busy": live.busy,
        "message": live.message,
        "ask_more_time": live.ask_more_time,
        "seconds_left": None if live.deadline is None else max(0, round(live.deadline - now)),
        "session": None if s is None else session_view(s, live, accepted_now_paise),
    }
    if info_tile is not None:
        state["home"]["tiles"].append(info_tile)
    return state
