"""The engineer's maintenance screens: what each action's result `data` says, as plain lines of
text (no Kivy here, so tests can read it). English first: the readers are engineers.

Results never show a traceback: a failed action shows its message key's words; an `error` field
in a result is cut to one short line."""

from __future__ import annotations

from typing import Any

from screens import fmt
from screens.maint_count import CashCount  # noqa: F401 - the screen uses maint.CashCount

# (action, button label) of the maintenance menu, in order.
MENU = (
    ("cash_summary", "Cash collection"),
    ("test_print", "Test print"),
    ("test_note", "Test note"),
    ("identities", "Device info"),
    ("fault_log", "Fault log"),
    ("outbox_view", "Outbox"),
    ("network_test", "Network test"),
    ("recent_receipts", "Reprint receipts"),
    ("restart", "Restart"),
)

# What a menu button sends to the core when that is not the button's own name. "Cash
# collection" begins the collection, before the engineer opens the cassette, so taking it out
# raises no alarm; the core answers with the cash summary, drawn as cash_summary's.
SENDS = {"cash_summary": "begin_collection"}


def sent_action(action: str) -> str:
    """The maintenance action (terminal/api_messages.MAINTENANCE_ACTIONS) a button sends."""
    return SENDS.get(action, action)


TITLES = {
    **dict(MENU),
    "begin_collection": "Cash collection",
    "acknowledge_alarm": "Alarm acknowledged",
    "collect_cash": "Cash collected",
    "send_now": "Outbox: send now",
    "reprint": "Reprint",
    "leave": "Leave",
}

# What the screen says while an action runs (some wait for a device or the network).
WAITING = {
    "test_note": "Insert one note now (waiting up to 60 s) ...",
    "network_test": "Testing the network ...",
    "test_print": "Printing a test page ...",
    "collect_cash": "Recording the collection and the count, printing the slip ...",
    "reprint": "Printing ...",
}

MAX_LINES = 40
MAX_TEXT = 90


def short(value: Any) -> str:
    """One short line for any value: never a traceback, never a wall of text."""
    text = str(value).strip().splitlines()[0] if str(value).strip() else ""
    if "Traceback" in text:
        text = "internal error"
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def rupees(paise: Any) -> str:
    try:
        return fmt.rupees(int(paise))
    except (TypeError, ValueError):
        return short(paise)


def when(at: Any) -> str:
    if not at:
        return "-"
    return fmt.date_time_dmy(str(at)) or short(at)


def label(key: str) -> str:
    words = key.replace("_paise", "").replace("_", " ")
    return words[:1].upper() + words[1:]


def generic(data: Any, indent: str = "") -> list[str]:
    """Any dict / list as "Key: value" lines, nested values indented, money in rupees."""
    lines: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            key = str(key)
            if isinstance(value, (dict, list)):
                if not value:
                    lines.append(f"{indent}{label(key)}: -")
                    continue
                lines.append(f"{indent}{label(key)}:")
                lines.extend(generic(value, indent + "    "))
            elif key.endswith("_paise"):
                lines.append(f"{indent}{label(key)}: {rupees(value)}")
            elif isinstance(value, bool):
                lines.append(f"{indent}{label(key)}: {'yes' if value else 'no'}")
            else:
                lines.append(f"{indent}{label(key)}: {short(value) if value is not None else '-'}")
    elif isinstance(data, list):
        for item in data:
            if isinstance(item, dict):
                lines.append(
                    f"{indent}- "
                    + ", ".join(
                        f"{label(str(k))} {rupees(v) if str(k).endswith('_paise') else short(v)}"
                        for k, v in item.items()
                        if v not in (None, "", [], {})
                    )
                )
            else:
                lines.append(f"{indent}- {short(item)}")
    elif data is not None:
        lines.append(f"{indent}{short(data)}")
    return lines


def denominations(data: dict[str, Any]) -> list[str]:
    rows = data.get("by_denomination") or []
    lines = []
    for row in rows:
        count = int(row.get("count") or 0)
        if count:
            paise = int(row.get("paise") or 0)
            lines.append(f"{rupees(paise)} x {count} = {rupees(paise * count)}")
    return lines or ["No notes in the cassette"]


def cash_summary(data: dict[str, Any]) -> list[str]:
    lines = [f"Since: {when(data.get('since')) if data.get('since') else 'the first note'}"]
    lines += denominations(data)
    lines.append(f"Notes: {data.get('notes', 0)}")
    lines.append(f"Total: {rupees(data.get('total_paise', 0))}")
    if data.get("test_notes_paise"):
        lines.append(f"of which test notes: {rupees(data['test_notes_paise'])}")
    if data.get("unattributed_paise"):
        lines.append(f"of which unattributed: {rupees(data['unattributed_paise'])}")
    counters = data.get("acceptor_counters") or {}
    if counters.get("available"):
        match = counters.get("matches_journal")
        lines.append(
            "Acceptor counters: " + ("match the journal" if match else "DO NOT match the journal")
        )
    elif counters:
        lines.append("Acceptor counters: not available")
    last = data.get("last_collection") or {}
    if last:
        lines.append(
            f"Last collection: {when(last.get('at'))}, {rupees(last.get('total_paise', 0))}"
            f" by {short(last.get('engineer_id'))}"
        )
    return lines


def collect_cash(data: dict[str, Any]) -> list[str]:
    lines = [f"Collection: {short(data.get('collection_id'))}"]
    lines += count_result(data.get("count") or {})  # the news first: a difference, or none
    lines.append(printed(data, "Slip"))
    lines.append(f"Seal/bag no.: {short(data.get('seal_no') or 'not given')}")
    since = when(data.get("since")) if data.get("since") else "the first note"
    lines.append(f"Period: {since} to {when(data.get('at'))}")
    if data.get("vouchers_issued") is not None:
        lines.append(
            f"Vouchers issued in the period: {data['vouchers_issued']}"
            f" ({rupees(data.get('vouchers_paise', 0))})"
        )
    lines.append("The journal had:")
    lines += denominations(data)
    lines.append(f"Notes: {data.get('notes', 0)}")
    lines.append(f"Total: {rupees(data.get('total_paise', 0))}")
    return lines


def count_result(count: dict[str, Any]) -> list[str]:
    """The engineer's count against the journal, as the core compared it (cash_counted)."""
    if not count:
        return []
    if count.get("counted") is None:
        return ["NOT COUNTED: alarm raised"]
    diff = int(count.get("difference_paise") or 0)
    lines = [f"Counted: {rupees(count.get('counted_paise', 0))}"]
    if diff:
        words = "SHORT" if diff < 0 else "OVER"
        lines.append(f"DIFFERENCE: {rupees(abs(diff))} {words} - alarm raised")
    elif count.get("problems"):
        lines.append("Notes DO NOT match the journal - alarm raised")
    else:
        lines.append("Count matches the journal")
    for row in count.get("denominations_differ") or []:
        lines.append(
            f"    {rupees(row.get('paise', 0))} notes: counted {row.get('counted')},"
            f" journal {row.get('expected')}"
        )
    device = count.get("device") or {}
    if "device_notes" in count:
        same = count["device_notes"] == count.get("journal_notes")
        lines.append(
            f"Acceptor counter: {count['device_notes']} notes stacked"
            + (" (matches)" if same else f", journal {count.get('journal_notes')}: DO NOT match")
        )
    elif device.get("available"):
        lines.append("Acceptor counter: read (first collection: nothing to compare yet)")
    else:
        lines.append("Acceptor counter: not available")
    return lines


def printed(data: dict[str, Any], what: str = "Page") -> str:
    if data.get("printed"):
        return f"{what} printed"
    return f"{what} NOT printed: {short(data.get('error') or 'printer problem')}"


def test_print(data: dict[str, Any]) -> list[str]:
    lines = [printed(data, "Test page")]
    status = data.get("status") or {}
    if status:
        lines.append(f"Printer: {short(status.get('state', '-'))}")
        if status.get("detail"):
            lines.append(f"Detail: {', '.join(short(d) for d in status['detail'])}")
    return lines


def test_note(data: dict[str, Any]) -> list[str]:
    result = data.get("result")
    paise = data.get("paise")
    if result == "stacked":
        return [f"Note accepted and stacked: {rupees(paise)}", "Counted as a test note."]
    if result == "returned":
        return [f"Note returned: {rupees(paise) if paise else 'unknown value'}"]
    if result == "rejected":
        return [f"Note rejected: {short(data.get('reason') or 'not recognised')}"]
    if result == "no_note":
        return ["No note was inserted in time."]
    return [f"Test note failed: {short(data.get('error') or result or 'unknown')}"]


def network_test(data: dict[str, Any]) -> list[str]:
    lines = [
        f"Central {short(data.get('host'))}:{data.get('port')}: "
        + ("OK" if data.get("ok") else "FAILED")
    ]
    for step in data.get("steps") or []:
        mark = "ok" if step.get("ok") else "FAILED"
        extra = step.get("detail") if step.get("ok") else step.get("error")
        extra_text = f" - {short(extra)}" if extra not in (None, "", []) else ""
        lines.append(f"{short(step.get('step'))}: {mark} ({step.get('ms')} ms){extra_text}")
    return lines


def outbox_view(data: dict[str, Any]) -> list[str]:
    lines = [f"Waiting to send: {data.get('depth', 0)}"]
    for entry in data.get("entries") or []:
        lines.append(
            f"{short(entry.get('txn_id') or entry.get('session_id'))}  "
            f"{short(entry.get('provider') or '')}  {rupees(entry.get('amount_paise', 0))}"
            f"  ({entry.get('age_s')} s old)"
        )
    if data.get("last_error"):
        lines.append(f"Last error: {short(data['last_error'])}")
    return lines


def fault_log(data: list[dict[str, Any]]) -> list[str]:
    if not data:
        return ["No faults in the last 24 hours"]
    lines = []
    for row in data:
        what = row.get("action") or row.get("device") or ""
        rest = {
            k: v
            for k, v in row.items()
            if k not in ("at", "kind", "session_id", "action", "engineer_id")
            and v not in (None, "", [], {})
        }
        details = ", ".join(f"{k} {short(v)}" for k, v in list(rest.items())[:3])
        lines.append(short(f"{when(row.get('at'))}  {row.get('kind', '')} {what}  {details}"))
    return lines


def identities(data: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for name, info in data.items():
        if not isinstance(info, dict) or not info.get("present"):
            lines.append(f"{label(str(name))}: not present")
            continue
        lines.append(f"{label(str(name))}: {short(info.get('driver', ''))}")
        for key, value in info.items():
            if key in ("present", "driver"):
                continue
            if key == "status" and isinstance(value, dict):
                lines.append(f"    Status: {short(value.get('state', '-'))}")
                continue
            lines.extend(generic({key: value}, "    "))
    return lines


def recent_receipts(data: list[dict[str, Any]]) -> list[str]:
    if not data:
        return ["No receipts in the last 24 hours"]
    return [f"{len(data)} receipt(s) in the last 24 hours: tap one to reprint it."]


def receipt_choice(row: dict[str, Any]) -> tuple[str, str, str]:
    """(ref, doc, button text) of one row of recent_receipts."""
    ref = row.get("txn_id") or row.get("session_id") or row.get("voucher_id") or ""
    if row.get("amount_paise"):
        doc = "receipt"
        text = f"{when(row.get('at'))}  {short(ref)}  {rupees(row['amount_paise'])}"
    else:
        doc = "voucher"
        ref = row.get("voucher_id") or ref
        text = f"{when(row.get('at'))}  voucher {short(ref)}  {rupees(row.get('voucher_paise', 0))}"
    return str(ref), doc, text


def reprint(data: dict[str, Any]) -> list[str]:
    return [printed(data, (data.get("doc") or "Document").capitalize())]


FORMATTERS = {
    "cash_summary": cash_summary,
    "begin_collection": cash_summary,
    "collect_cash": collect_cash,
    "test_print": test_print,
    "test_note": test_note,
    "network_test": network_test,
    "outbox_view": outbox_view,
    "fault_log": fault_log,
    "identities": identities,
    "recent_receipts": recent_receipts,
    "reprint": reprint,
}


def result_lines(action: str, data: Any) -> list[str]:
    """The lines to show for a successful action's data."""
    try:
        formatter = FORMATTERS.get(action)
        if formatter is not None and isinstance(data, (dict, list)):
            lines = formatter(data)
        elif action == "send_now":
            lines = ["Sending the outbox now. Open Outbox again to see what is left."]
        elif data in (None, {}, []):
            lines = ["Done"]
        else:
            lines = generic(data)
    except Exception:  # an unexpected shape: still readable, never a traceback
        lines = generic(data)
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES] + [f"... and {len(lines) - MAX_LINES} more"]
    return lines
