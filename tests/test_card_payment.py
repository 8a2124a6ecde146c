"""Card payment end to end: pcscd + vpcd + our card emulator, the reference central server over
loopback, the kiosk's signed client and dialect, and `terminal.card_payment.CardPayment`.

The first tests drive the central endpoint alone, with genuine cryptograms from the emulator's
card logic run in-process (no pcscd needed). The rest use the real PC/SC stack, started as in
tests/test_card_pcsc.py (whose fixtures and helpers they reuse, lock file included).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import shutil
import socket
import threading
import time
from typing import Any

import pytest
import test_card_pcsc as pcsc_tests

from drivers.card.emv import EmvSession
from sim.central.server import CentralServer
from sim.devices import card as simcard
from terminal.card_payment import CardOutcome, CardPayment, CardStep, scrambled_keypad
from terminal.central import CentralClient, CentralError, ReferenceDialect

TERMINAL = "RJ-JPR-0001"
SECRET = "demo-secret"
PIN_OK = "97531864"  # distinctive, so a leak into the log cannot hide in other digits
PIN_WRONG = "86420975"
PIN_BLOCKS = ("2897531864", "2886420975")  # their ISO 9564 format 2 blocks, as hex
FUNDS_PAN = "6521501234560002"  # the reference server declines PANs ending 0002

# the real PC/SC stack, shared with tests/test_card_pcsc.py (same lock, same daemon handling)
pcscd = pcsc_tests.pcscd
emulators = pcsc_tests.emulators
READER = pcsc_tests.READER


@pytest.fixture(scope="module", autouse=True)
def _pcscd_gap():
    """Let pyscard's monitors (one per process) see pcscd stop before another one starts.

    drivers/card/pcsc.py restarts its card monitor, which dies with pcscd, only when it has seen
    the readers go and come back; its reader poll runs every READER_POLL_S. A pcscd stopped by
    one test module and started again at once by the next would leave it with a dead card
    monitor and a stale card. Set up before `pcscd` and torn down after it.
    """
    from drivers.card.pcsc import READER_POLL_S

    gap = 3 * READER_POLL_S
    owned = shutil.which("pcscd") is not None and not pcsc_tests._pcscd_running()
    if owned:
        time.sleep(gap)
    yield
    if owned:
        time.sleep(gap)


def no_secrets(text: str) -> None:
    """Neither a full PAN nor a PIN (nor its block) anywhere in `text`."""
    for secret in (simcard.TEST_PAN, FUNDS_PAN, PIN_OK, PIN_WRONG, *PIN_BLOCKS):
        assert secret not in text.upper(), secret


# -------------------------------------------------------------------------------- central alone


@pytest.fixture
async def central(tmp_path):
    server = CentralServer(db_path=tmp_path / "central.sqlite")
    await server.start()
    dialect = ReferenceDialect(CentralClient(server.url, TERMINAL, SECRET, timeout_s=5))
    yield server, dialect
    await dialect.close()
    await server.stop()
    server.store.close()


def genuine_request(
    amount_paise: int, auth_id: str, *, key: bytes = simcard.TEST_AC_KEY, **profile: Any
) -> dict[str, Any]:
    """An authorisation request built from the emulator's card logic, in-process."""
    card = simcard.VirtualCard("emv", simcard.EmvProfile(ac_key=key, **profile))
    session = EmvSession(card.process)
    info = session.read()
    assert session.verify_pin(simcard.TEST_PIN).ok
    arqc = session.generate_ac(amount_paise)
    return {
        "auth_id": auth_id,
        "txn_id": "T-" + auth_id,
        "amount_paise": amount_paise,
        "pan_masked": info.pan_masked,
        "expiry": info.expiry,
        "aid": info.aid,
        "arqc": arqc["cryptogram"],
        "cdol1_data": arqc["cdol1_data"],
        "atc": arqc["atc"],
    }


def test_scrambled_keypad():
    orders = {tuple(scrambled_keypad(random.Random(seed))) for seed in range(20)}
    assert all(sorted(order) == list("0123456789") for order in orders)
    assert len(orders) > 15  # it does scramble
    assert scrambled_keypad(random.Random(7)) == scrambled_keypad(random.Random(7))
    assert sorted(scrambled_keypad()) == list("0123456789")  # system randomness by default


async def test_endpoint_idempotent_on_auth_id(central):
    server, dialect = central
    client = dialect.client
    req = genuine_request(640_00, "A-idem-1")
    status, first = await client.request("POST", "/v1/card/authorisations", body=req)
    assert status == 201
    assert first["status"] == "approved" and first["reason"] is None
    assert len(first["auth_code"]) == 6 and first["auth_code"].isdigit()
    # the same body again: the same decision, not a second one
    status, again = await client.request("POST", "/v1/card/authorisations", body=dict(req))
    assert (status, again) == (200, first)
    assert await dialect.authorise_card(req) == first
    # the same auth_id with another body: conflict
    with pytest.raises(CentralError) as err:
        await dialect.authorise_card({**req, "amount_paise": 1})
    assert (err.value.status, err.value.code, err.value.retryable) == (
        409,
        "idempotency_conflict",
        False,
    )
    # the same cryptogram under another auth_id: a replay
    replay = await dialect.authorise_card({**req, "auth_id": "A-idem-2"})
    assert (replay["status"], replay["reason"]) == ("declined", "replayed_cryptogram")
    assert "auth_code" not in replay
    rows = server.card_authorisations()
    assert [(r["auth_id"], r["status"]) for r in rows] == [
        ("A-idem-1", "approved"),
        ("A-idem-2", "declined"),
    ]


async def test_endpoint_declines(central):
    server, dialect = central

    async def reason(req: dict[str, Any]) -> str | None:
        reply = await dialect.authorise_card(req)
        assert reply["status"] == ("approved" if reply["reason"] is None else "declined")
        return reply["reason"]

    # a cryptogram that does not verify: tampered, or from a card with another key
    req = genuine_request(500_00, "A-d-1")
    tampered = req["arqc"][:-1] + ("0" if req["arqc"][-1] != "0" else "1")
    assert await reason({**req, "arqc": tampered}) == "bad_cryptogram"
    assert await reason(genuine_request(500_00, "A-d-2", key=bytes(16))) == "bad_cryptogram"
    # a genuine cryptogram for another amount than the one claimed
    assert await reason({**genuine_request(1_00, "A-d-3"), "amount_paise": 500_00}) == (
        "bad_cryptogram"
    )
    # expired card (valid through the end of its expiry month)
    assert await reason(genuine_request(500_00, "A-d-4", expiry="230131")) == "expired"
    # above the configured card limit
    server.state.card_limit_paise = 1000_00
    assert await reason(genuine_request(1000_01, "A-d-5")) == "limit"
    assert await reason(genuine_request(1000_00, "A-d-6")) is None
    # the test rule for insufficient funds
    assert await reason(genuine_request(500_00, "A-d-7", pan=FUNDS_PAN)) == "insufficient_funds"


async def test_endpoint_refuses_a_full_pan_and_never_stores_one(central, tmp_path):
    server, dialect = central
    req = genuine_request(640_00, "A-pan-1")
    for bad in (simcard.TEST_PAN, "652150******789", "6521501234******"):
        with pytest.raises(CentralError) as err:
            await dialect.authorise_card({**req, "pan_masked": bad})
        assert (err.value.status, err.value.code) == (400, "bad_request")
    for field, value in (("arqc", "XYZ"), ("atc", 70000), ("expiry", "2813"), ("cdol1_data", "")):
        with pytest.raises(CentralError) as err:
            await dialect.authorise_card({**req, field: value})
        assert err.value.status == 400, field
    assert (await dialect.authorise_card(req))["status"] == "approved"
    await server.stop()
    server.store.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("central.sqlite*"))
    assert b"652150******7890" in stored
    assert simcard.TEST_PAN.encode() not in stored


class FakeReader:
    """A card that is in and reads, for the PIN dialogue's own rules (no PC/SC)."""

    def __init__(self) -> None:
        self.verified: list[int] = []  # lengths only: the PINs themselves are not kept

    def events(self):
        async def never():
            await asyncio.Event().wait()
            yield None

        return never()

    def card_present(self) -> bool:
        return True

    async def read_emv(self):
        from drivers.card import EmvCard

        return EmvCard("652150******7890", "2812", "SHARMA/ANITA", "A0000005241010", "RuPay")

    async def verify_pin(self, pin: str):
        from drivers.card import PinResult

        self.verified.append(len(pin))
        return PinResult(pin == PIN_OK, 3, False)

    async def generate_arqc(self, amount_paise: int, **kwargs: Any) -> dict:
        raise AssertionError("not reached in these tests")


async def test_pin_rules_without_a_card_stack():
    reader = FakeReader()

    class NoCentral:
        async def authorise_card(self, request):
            raise AssertionError("nothing may reach central")

    # malformed PINs are asked again without spending a try; too many prompts end the payment
    keypad = Keypad("12", "１２３４", "12345678901234", "abcd", PIN_WRONG, PIN_WRONG)
    steps: list[CardStep] = []
    payment = CardPayment(reader, NoCentral(), keypad, max_pin_prompts=6, on_step=steps.append)
    outcome = await payment.run(100, "T-pins")
    assert (outcome.status, outcome.message_key) == ("cancelled", "card_pin_too_many")
    assert reader.verified == [8, 8]
    assert [s.step for s in steps].count("pin_invalid") == 4

    # the citizen walks away at the PIN
    async def slow_keypad() -> str | None:
        await asyncio.sleep(30)
        return PIN_OK

    payment = CardPayment(FakeReader(), NoCentral(), slow_keypad, pin_timeout_s=0.1)
    outcome = await payment.run(100, "T-walked-away")
    assert (outcome.status, outcome.message_key) == ("cancelled", "card_pin_timeout")

    # a keypad that fails is a cancel, not a crash
    async def broken_keypad() -> str | None:
        raise RuntimeError("screen gone")

    outcome = await CardPayment(FakeReader(), NoCentral(), broken_keypad).run(100, "T-broken")
    assert (outcome.status, outcome.reason) == ("cancelled", "pin_entry_failed")
    with pytest.raises(ValueError):
        await CardPayment(FakeReader(), NoCentral(), broken_keypad).run(0, "T-zero")


# -------------------------------------------------------------------------------- the real stack


@pytest.fixture
async def reader(pcscd):
    from drivers.card.pcsc import CardReader

    r = CardReader(READER)
    await r.open()
    yield r
    await r.close()


class ThreadCard:
    """The emulator's card logic served to vpcd from a thread of this process: for a card the
    emulator's command line cannot make (another cryptogram key). stop() pulls it out."""

    def __init__(self, profile: simcard.EmvProfile) -> None:
        self.card = simcard.VirtualCard("emv", profile)
        self.sock = simcard.connect("127.0.0.1", pcsc_tests.VPCD_PORT, 5.0)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            simcard.serve(self.sock, self.card)

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def thread_cards():
    cards: list[ThreadCard] = []

    def start(profile: simcard.EmvProfile) -> ThreadCard:
        cards.append(ThreadCard(profile))
        return cards[-1]

    yield start
    for card in cards:
        card.stop()


class Keypad:
    """Stands in for the screen's keypad: hands out the given PINs (None = Cancel)."""

    def __init__(self, *pins: str | None) -> None:
        self.pins = list(pins)
        self.asked = 0

    async def __call__(self) -> str | None:
        self.asked += 1
        return self.pins.pop(0)


async def no_card_left(reader) -> None:
    """The previous test's card may still be on its way out of pcscd's state."""
    deadline = time.monotonic() + 5
    while reader.card_present():
        assert time.monotonic() < deadline, "a card is still in the reader from before"
        await asyncio.sleep(0.05)
    await pcsc_tests.drain(reader)


async def pay(
    reader,
    dialect,
    get_pin,
    insert,
    amount_paise: int = 640_00,
    **options: Any,
) -> tuple[CardOutcome, CardPayment, list[CardStep]]:
    """Start a payment with no card in, then insert one (`insert()`), and await the outcome."""
    steps: list[CardStep] = []
    payment = CardPayment(reader, dialect, get_pin, on_step=steps.append, **options)
    if insert is not None:
        await no_card_left(reader)
    task = asyncio.create_task(payment.run(amount_paise, "T-RJ-JPR-0001-000042"))
    if insert is not None:
        await asyncio.sleep(0.05)
        # it waits for the card, and says how long (the screen's countdown)
        assert steps[:1] == [CardStep("insert_card", timeout_s=payment.insert_timeout_s)]
        await asyncio.to_thread(insert)
    return await asyncio.wait_for(task, 20), payment, steps


async def test_approved_after_a_cancel_and_a_wrong_pin(reader, emulators, central, caplog):
    caplog.set_level(logging.DEBUG)
    server, dialect = central
    emu: list[Any] = []

    # the citizen cancels at the PIN: nothing goes to central
    keypad = Keypad(None)
    outcome, _, _ = await pay(
        reader, dialect, keypad, lambda: emu.append(emulators("--pin", PIN_OK))
    )
    assert outcome == CardOutcome(
        "cancelled", "card_cancelled", pan_masked="652150******7890", reason="cancelled"
    )
    assert server.card_authorisations() == []

    # the card is still in: the next payment starts at once; wrong PIN once, then the right one
    keypad = Keypad(PIN_WRONG, PIN_OK)
    outcome, payment, steps = await pay(reader, dialect, keypad, None, amount_paise=1234_50)
    assert outcome.status == "approved" and outcome.message_key == "card_approved"
    assert outcome.approved and outcome.reason is None
    assert outcome.pan_masked == "652150******7890"
    assert len(outcome.auth_code) == 6 and outcome.auth_code.isdigit()
    assert keypad.asked == 2
    assert [s.step for s in steps] == ["reading", "enter_pin", "pin_wrong", "authorising"]
    assert steps[2].tries_left == 2

    (row,) = server.card_authorisations()
    assert (row["auth_id"], row["status"], row["amount_paise"]) == (
        outcome.auth_id,
        "approved",
        1234_50,
    )
    assert (row["pan_masked"], row["expiry"], row["aid"]) == (
        "652150******7890",
        "2812",
        "A0000005241010",
    )
    assert row["auth_code"] == outcome.auth_code

    # the request as sent can be posted again (e.g. after a lost reply): the same decision
    request = payment.last_request
    assert request["auth_id"] == outcome.auth_id
    again = await dialect.authorise_card(dict(request))
    assert again["auth_code"] == outcome.auth_code
    assert len(server.card_authorisations()) == 1

    emu[0].stop()
    no_secrets(caplog.text)
    no_secrets(repr(outcome) + repr(request) + repr(steps))
    assert "652150******7890" in caplog.text


async def test_pin_blocked(reader, emulators, central, caplog):
    caplog.set_level(logging.DEBUG)
    server, dialect = central
    keypad = Keypad(PIN_WRONG, PIN_WRONG, PIN_OK)
    outcome, _, steps = await pay(
        reader, dialect, keypad, lambda: emulators("--pin", PIN_OK, "--pin-tries", "2")
    )
    assert (outcome.status, outcome.message_key, outcome.reason) == (
        "pin_blocked",
        "card_pin_blocked",
        "pin_blocked",
    )
    assert keypad.asked == 2 and outcome.auth_code is None
    assert [(s.step, s.tries_left) for s in steps if s.step == "pin_wrong"] == [("pin_wrong", 1)]
    assert server.card_authorisations() == []
    no_secrets(caplog.text)


async def test_declined_insufficient_funds(reader, emulators, central, caplog):
    caplog.set_level(logging.DEBUG)
    server, dialect = central
    outcome, _, _ = await pay(
        reader, dialect, Keypad(PIN_OK), lambda: emulators("--pin", PIN_OK, "--pan", FUNDS_PAN)
    )
    assert outcome == CardOutcome(
        "declined",
        "card_declined_funds",
        pan_masked="652150******0002",
        reason="insufficient_funds",
        auth_id=outcome.auth_id,
    )
    assert server.card_authorisations()[0]["status"] == "declined"
    no_secrets(caplog.text)


async def test_declined_bad_cryptogram_from_a_card_with_another_key(
    reader, thread_cards, central, caplog
):
    caplog.set_level(logging.DEBUG)
    _, dialect = central
    profile = simcard.EmvProfile(pin=PIN_OK, ac_key=bytes(range(16)))
    outcome, _, _ = await pay(reader, dialect, Keypad(PIN_OK), lambda: thread_cards(profile))
    assert (outcome.status, outcome.message_key, outcome.reason) == (
        "declined",
        "card_declined",
        "bad_cryptogram",
    )
    assert outcome.auth_code is None
    no_secrets(caplog.text)


async def test_card_pulled_mid_read(reader, emulators, central):
    server, dialect = central
    keypad = Keypad(PIN_OK)
    outcome, _, _ = await pay(
        reader, dialect, keypad, lambda: emulators("--pin", PIN_OK, "--pull-after", "4")
    )
    assert (outcome.status, outcome.message_key) == ("card_error", "card_removed")
    assert outcome.pan_masked is None  # it never got that far
    assert keypad.asked == 0 and server.card_authorisations() == []


async def test_card_pulled_while_the_pin_is_typed(reader, emulators, central):
    server, dialect = central
    emu: list[Any] = []

    async def get_pin() -> str | None:
        await asyncio.to_thread(emu[0].stop)  # the citizen takes the card back...
        await asyncio.Event().wait()  # ...and never finishes typing
        return PIN_OK

    outcome, _, _ = await pay(
        reader, dialect, get_pin, lambda: emu.append(emulators("--pin", PIN_OK))
    )
    assert (outcome.status, outcome.message_key, outcome.pan_masked) == (
        "card_error",
        "card_removed",
        "652150******7890",
    )
    assert server.card_authorisations() == []


async def test_central_down_is_unavailable_never_approved(reader, emulators, central, caplog):
    caplog.set_level(logging.DEBUG)
    server, dialect = central
    emu: list[Any] = []

    # central answers 500 once: the same auth_id is posted again and approved once
    server.fail_next("http500", 1)
    outcome, payment, _ = await pay(
        reader,
        dialect,
        Keypad(PIN_OK),
        lambda: emu.append(emulators("--pin", PIN_OK)),
        retry_delay_s=0.05,
    )
    assert outcome.status == "approved"
    assert [r["auth_id"] for r in server.card_authorisations()] == [outcome.auth_id]

    # central answers 500 to both attempts
    server.fail_next("http500", 2)
    outcome, _, _ = await pay(reader, dialect, Keypad(PIN_OK), None, retry_delay_s=0.05)
    assert (outcome.status, outcome.message_key, outcome.reason) == (
        "unavailable",
        "card_central_unavailable",
        "http_500",
    )
    assert outcome.auth_code is None

    # nothing listens where central should be
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    down = ReferenceDialect(CentralClient(f"http://127.0.0.1:{dead_port}", TERMINAL, SECRET))
    try:
        outcome, _, _ = await pay(reader, down, Keypad(PIN_OK), None, retry_delay_s=0.05)
    finally:
        await down.close()
    assert (outcome.status, outcome.message_key, outcome.reason) == (
        "unavailable",
        "card_central_unavailable",
        "unreachable",
    )
    assert len(server.card_authorisations()) == 1  # only the first payment reached central
    emu[0].stop()
    no_secrets(caplog.text)


async def test_no_card_inserted_times_out(reader, central):
    _, dialect = central
    await no_card_left(reader)
    keypad = Keypad(PIN_OK)
    payment = CardPayment(reader, dialect, keypad, insert_timeout_s=0.3)
    outcome = await payment.run(100_00, "T-timeout")
    assert (outcome.status, outcome.message_key) == ("cancelled", "card_insert_timeout")
    assert keypad.asked == 0
