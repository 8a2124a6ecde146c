"""schemathesis against the reference central (sim/central/openapi.yaml) on loopback.

Every operation gets schema-valid requests, signed as docs/central-api.md says (a requests auth
hook signs the exact bytes and path that go on the wire, so the signature covers what schemathesis
built). Checks: no 5xx, the status code and content type are documented, the body matches the
documented schema. Unsigned and wrongly signed calls to every /v1 operation must get 401 with one
of the documented codes. `/_sim/fail` (a test control that makes the server fail on purpose) is
left out. Bounded: a few dozen examples per operation, well under a minute.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
import threading
import time
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sim.central.server import CentralServer

ROOT = Path(__file__).resolve().parents[2]
TERMINAL, SECRET = "RJ-JPR-0001", "demo-secret"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
AUTH_CODES = {"unknown_terminal", "bad_signature", "stale_timestamp", "replayed_nonce"}

schema = schemathesis.openapi.from_path(ROOT / "sim" / "central" / "openapi.yaml").exclude(
    path="/_sim/fail"
)
signed_api = schema.exclude(path_regex="^/(_sim|b2b)/")  # b2b: sealed bodies, no HMAC


class Signed(requests.auth.AuthBase):
    """Signs the prepared request: the method, the path and query as sent, the body bytes."""

    def __init__(self, secret: str = SECRET, terminal: str = TERMINAL) -> None:
        self.secret = secret
        self.terminal = terminal

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        timestamp = str(int(time.time()))
        nonce = secrets.token_hex(16)
        lines = [request.method.upper(), request.path_url, timestamp, nonce]
        lines.append(hashlib.sha256(body).hexdigest())
        mac = hmac.new(self.secret.encode(), "\n".join(lines).encode(), hashlib.sha256)
        request.headers.update(
            {
                "X-Terminal-Id": self.terminal,
                "X-Timestamp": timestamp,
                "X-Nonce": nonce,
                "X-Signature": mac.hexdigest(),
            }
        )
        return request


class CentralThread:
    """The reference server on its own event loop in a thread (schemathesis calls are sync)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server = CentralServer(terminals={TERMINAL: SECRET})

    def start(self) -> str:
        self.thread.start()
        return asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def central_url():
    central = CentralThread()
    url = central.start()
    try:
        yield url
    finally:
        central.stop()


@pytest.fixture(scope="module")
def http():
    with requests.Session() as session:
        yield session


# EMITRA_SCHEMA_EXAMPLES=500 for a longer hunt (not derandomized then).
EXAMPLES = int(os.environ.get("EMITRA_SCHEMA_EXAMPLES", "25"))
BOUNDED = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize="EMITRA_SCHEMA_EXAMPLES" not in os.environ,
)


@schema.parametrize()
@BOUNDED
def test_signed_calls_conform_to_the_schema(case, central_url, http) -> None:
    response = case.call(base_url=central_url, session=http, auth=Signed(), timeout=5)
    case.validate_response(response, checks=CHECKS)


@signed_api.parametrize()
@settings(BOUNDED, max_examples=max(5, EXAMPLES // 5))
def test_unsigned_calls_are_refused(case, central_url, http) -> None:
    bare = case.call(base_url=central_url, session=http, timeout=5)
    if case.method.upper() != case.operation.method.upper():  # schemathesis tries other methods
        assert bare.status_code in (401, 405), (case.method, case.path, bare.status_code)
        return
    if bare.status_code == 413:  # over central's 256 KiB body limit: refused before it is read
        size = len(bare.request.body or b"")
        assert size > 256 * 1024 and bare.json()["error"] == "too_large", (case.path, size)
        return
    assert bare.status_code == 401, (case.method, case.path, bare.status_code, bare.text[:200])
    assert bare.json()["error"] in AUTH_CODES and bare.json()["message"]
    case.validate_response(bare, checks=CHECKS)
    forged = case.call(
        base_url=central_url, session=http, auth=Signed(secret="not-the-secret"), timeout=5
    )
    assert forged.status_code == 401 and forged.json()["error"] == "bad_signature"
    stranger = case.call(
        base_url=central_url, session=http, auth=Signed(terminal="RJ-XXX-9999"), timeout=5
    )
    assert stranger.status_code == 401 and stranger.json()["error"] == "unknown_terminal"


def test_the_signer_matches_the_server(central_url, http) -> None:
    """The auth hook itself is right: a signed GET /v1/services is answered 200."""
    response = http.get(central_url + "/v1/services", auth=Signed(), timeout=5)
    assert response.status_code == 200, response.text
    assert response.json()["services"]
