"""Fault tests: `--runs N` sets how many random-moment kills run in total across the variants
(CCNET cash, eSSP cash, card); EMITRA_KILL_RUNS does the same from the environment. Default 30,
as in `make test`; `make soak` runs 300."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent))  # crash_helpers, harness
sys.path.insert(0, str(Path(__file__).parent))  # kill_helpers

DEFAULT_RUNS = 30
VARIANTS = 3  # ccnet cash, essp cash, card


def pytest_addoption(parser):
    parser.addoption("--runs", type=int, default=None,
                     help="random-moment kill runs in total across ccnet, essp and card")


@pytest.fixture
def runs_per_variant(request) -> int:
    import os

    total = request.config.getoption("--runs", default=None)
    if total is None:
        total = int(os.environ.get("EMITRA_KILL_RUNS", DEFAULT_RUNS))
    return max(1, round(total / VARIANTS))
