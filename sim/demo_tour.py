"""The headless demo's tour of the services after the first bill (`make run` without a display):
each service a citizen comes for, done once through the session API against the simulators and
the reference central, one line printed per service so a newcomer sees them all work.

The numbers are the reference central's seeded ones (sim/central/seed.py, catalogue_seed.py).
"""

from __future__ import annotations

from typing import Any

from sim.rig import SimRig
from sim.session_client import SessionClient
from terminal.form_engine import verhoeff_digit

PENSION_APPLICATION = "2026110400101"
CASTE_CERTIFICATE = "RJCC2026000451"
PHED_BILL = ("PHED", "5012345678")  # ₹350; PHED takes part payments
GRIEVANCE = {"department": "PHED", "category": "no_supply", "complaint": "days",
             "description": "Handpump near the school is broken", "mobile": "9829012345"}
_AADHAAR = "49873216540" + verhoeff_digit("49873216540")
PENSION_FORM = {"name": "Kamla Devi Saini", "date_of_birth": "1958-07-14",
                "jan_aadhaar": "1098765432", "aadhaar": _AADHAAR, "mobile": "9414012345",
                "district": "Jaipur"}


def _done(state: dict[str, Any]) -> bool:
    return (state.get("lookup") or {}).get("status") == "done"


async def _home(citizen: SessionClient) -> None:
    await citizen.send("finish")
    await citizen.wait_screen("IDLE", timeout=30)


async def _catalogue(citizen: SessionClient, timeout: float = 30.0) -> None:
    """The home screen's tiles come from central's catalogue, fetched in the background."""
    await citizen.wait_for(lambda s: any(
        t.get("category") == "applications" for t in (s.get("home") or {}).get("tiles", [])),
        timeout)


async def _pay_fee(citizen: SessionClient, rig: SimRig, note_rupees: int) -> dict[str, Any]:
    await citizen.wait_screen("BILL", timeout=30)
    await citizen.send("confirm")
    await citizen.wait_screen("PAYING")
    rig.acceptor_sim.insert_note(note_rupees)
    return await citizen.wait_screen("DONE", timeout=30)


async def status(citizen: SessionClient) -> str:
    await citizen.send("status_start")
    await citizen.send("status_lookup", number=PENSION_APPLICATION)
    result = (await citizen.wait_for(_done, 30))["lookup"].get("result") or {}
    await _home(citizen)
    return f"{PENSION_APPLICATION}: {result.get('stage')} ({result.get('office')})"


async def certificate(citizen: SessionClient) -> str:
    await citizen.send("certificate_start")
    await citizen.send("certificate_lookup", number=CASTE_CERTIFICATE)
    lookup = (await citizen.wait_for(_done, 30))["lookup"]
    await _home(citizen)
    return f"{CASTE_CERTIFICATE}: {lookup.get('message_key')}"


async def grievance(citizen: SessionClient, rig: SimRig) -> str:
    await citizen.send("grievance_start")
    await citizen.wait_screen("GRIEVANCE")
    await citizen.send("grievance_details", **GRIEVANCE)
    await citizen.send("grievance_photo", action="skip")
    await citizen.send("grievance_submit")
    number = (await citizen.wait_screen("BILL", timeout=30))["lookup"]["grievance_no"]
    done = await _pay_fee(citizen, rig, 10)
    await _home(citizen)
    return f"{number}, fee ₹{done['session']['amount_paise'] // 100} paid"


async def application(citizen: SessionClient, rig: SimRig) -> str:
    await citizen.send("application_start", service="old_age_pension")
    await citizen.wait_screen("APPLICATION")
    await citizen.send("application_answers", answers=PENSION_FORM)
    kept = 0
    while (citizen.state.get("lookup") or {}).get("step") == "documents" and kept < 4:
        await citizen.send("application_document", action="take")  # the camera's paper
        await citizen.send("application_document", action="keep")
        kept += 1
    await citizen.send("application_submit")
    number = (await citizen.wait_screen("BILL", timeout=30))["lookup"]["application_no"]
    done = await _pay_fee(citizen, rig, 10)
    await _home(citizen)
    return (f"{number}, {kept} documents, "
            f"fee ₹{done['session']['amount_paise'] // 100} paid")


async def part_payment(citizen: SessionClient, rig: SimRig) -> str:
    await citizen.send("start", provider=PHED_BILL[0])
    await citizen.send("consumer", number=PHED_BILL[1])
    await citizen.wait_screen("BILL", timeout=30)
    await citizen.send("confirm")
    await citizen.wait_screen("PAYING")
    rig.acceptor_sim.insert_note(200)
    await citizen.wait_for(lambda s: (s["session"] or {}).get("part_payment") is not None, 15)
    await citizen.send("pay_part")
    session = (await citizen.wait_screen("DONE", timeout=30))["session"]
    await _home(citizen)
    return (f"₹{session['amount_paise'] // 100} paid, "
            f"₹{session['still_due_paise'] // 100} still due on the bill")


async def reprint(citizen: SessionClient, receipt_no: str) -> str:
    result = await citizen.send("reprint", receipt_no=receipt_no)
    if not result["ok"]:
        raise RuntimeError(result.get("message_key"))
    state = await citizen.wait_for(_done, 30)
    return f"{receipt_no}: {state['lookup']['message_key']}"


async def tour(citizen: SessionClient, rig: SimRig, receipt_no: str) -> dict[str, str]:
    """Each service once; a failure is said on its line and the tour goes on."""
    await _home(citizen)
    await _catalogue(citizen)
    steps = {
        "status": lambda: status(citizen),
        "certificate": lambda: certificate(citizen),
        "grievance": lambda: grievance(citizen, rig),
        "application": lambda: application(citizen, rig),
        "part payment": lambda: part_payment(citizen, rig),
        "reprint": lambda: reprint(citizen, receipt_no),
    }
    said: dict[str, str] = {}
    for name, step in steps.items():
        try:
            said[name] = await step()
        except (TimeoutError, KeyError, RuntimeError) as exc:
            said[name] = f"FAILED ({type(exc).__name__}: {exc})"
            await _home(citizen)
        print(f"service {name}: {said[name]}", flush=True)
    return said
