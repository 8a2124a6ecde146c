"""The device board (statuses, change events, the services rule) and the service mode."""

from __future__ import annotations

import pytest

from drivers.base import DeviceState, DeviceStatus
from terminal.device_board import UNKNOWN_STATUS, DeviceBoard
from terminal.service_mode import CONTROL_ROOM, DEVICE, MAINTENANCE, ServiceMode

ONLINE = DeviceStatus(DeviceState.ONLINE)
PAPER_OUT = DeviceStatus(DeviceState.USER_ERROR, ("paper_out",))


def ready_board(**kw) -> DeviceBoard:
    board = DeviceBoard(**kw)
    board.set("acceptor", ONLINE)
    board.set("printer", ONLINE)
    return board


def test_starts_unknown_and_emits_only_changes():
    board = DeviceBoard()
    assert board.get("acceptor") == UNKNOWN_STATUS and board.get("printer") == UNKNOWN_STATUS
    seen = []
    board.subscribe(lambda name, before, now: seen.append((name, before, now)))
    assert board.set("printer", ONLINE) is True
    assert board.set("printer", ONLINE) is False  # no change, no event
    board.seed("acceptor", ONLINE)  # read at open: recorded, no event
    assert seen == [("printer", UNKNOWN_STATUS, ONLINE)]
    assert board.get("acceptor") == ONLINE
    assert [name for name, _ in board.items()] == ["acceptor", "printer"]


def test_a_failing_listener_does_not_stop_the_others():
    board = DeviceBoard()
    seen = []

    def broken(*_):
        raise RuntimeError("boom")

    board.subscribe(broken)
    board.subscribe(lambda name, *_: seen.append(name))
    board.set("printer", ONLINE)
    board.unsubscribe(broken)
    assert seen == ["printer"]


def test_services_rule():
    problem = {"value": None}
    reader = {"on": False}
    board = ready_board(storage_problem=lambda: problem["value"], card_reader=lambda: reader["on"])
    assert board.services() == {"cash_payment": True, "card_payment": False, "lookup": True,
                                "out_of_service": False, "reasons": []}
    problem["value"] = "journal_storage_full"
    assert board.services()["cash_payment"] is False
    assert board.services()["reasons"] == ["journal_storage_full"]
    problem["value"] = None
    reader["on"] = True
    board.set("card", ONLINE)
    assert board.services()["card_payment"] is True
    board.set("printer", PAPER_OUT)
    s = board.services()
    assert s["cash_payment"] is False and s["card_payment"] is False and s["lookup"] is True
    assert s["reasons"] == ["printer_out_of_paper"]


def test_out_of_service_has_reasons_each_owned_by_its_setter():
    mode = ServiceMode()
    board = ready_board(service_mode=mode)
    events = []
    mode.subscribe(lambda reason, out: events.append((reason, out)))
    assert mode.take_out(CONTROL_ROOM) and mode.take_out(MAINTENANCE)
    assert mode.reasons == (CONTROL_ROOM, MAINTENANCE)
    s = board.services()
    assert s["out_of_service"] is True and s["lookup"] is False
    assert "out_of_service_by_control_room" in s["reasons"]
    mode.put_back(MAINTENANCE)  # the engineer leaves: the control room's command still holds
    assert mode.out_of_service and board.services()["cash_payment"] is False
    mode.put_back(CONTROL_ROOM)
    assert not mode.out_of_service and board.services()["cash_payment"] is True
    assert mode.put_back(CONTROL_ROOM) is False  # already in service: no event
    assert events == [(CONTROL_ROOM, True), (MAINTENANCE, True), (MAINTENANCE, False),
                      (CONTROL_ROOM, False)]
    with pytest.raises(ValueError):
        mode.take_out("whim")


def test_the_board_takes_the_kiosk_out_of_service_for_devices_and_back():
    """The `device` reason follows the devices: set while no payment can be taken (no printer,
    or neither notes nor cards), cleared when one can; it closes nothing by command."""
    mode = ServiceMode()
    board = DeviceBoard(service_mode=mode, card_reader=lambda: True,
                        devices=("acceptor", "printer", "card"))
    board.seed("acceptor", ONLINE)
    assert mode.reasons == (DEVICE,)  # the printer not known yet: nothing can be taken
    board.seed("printer", ONLINE)
    assert mode.reasons == ()
    board.set("acceptor", DeviceStatus(DeviceState.OFFLINE, ("no_reply",)))
    assert mode.reasons == (DEVICE,)  # no card reader either
    board.set("card", ONLINE)
    assert mode.reasons == ()  # cards can still be taken
    board.set("printer", PAPER_OUT)
    assert mode.reasons == (DEVICE,) and not mode.commanded
    s = board.services()
    assert s["lookup"] is True and s["out_of_service"] is False  # the QR check still works
    assert "out_of_service_by_control_room" not in s["reasons"]
    mode.take_out(CONTROL_ROOM)
    board.set("printer", ONLINE)
    assert mode.reasons == (CONTROL_ROOM,)  # the device reason cleared, the command holds
