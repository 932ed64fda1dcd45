"""Fixtures shared by the whole suite: an issuer, ids, the vectors, every backend."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hoody_claims.backends import Backend, get_backend
from hoody_claims.testing import Issuer

VECTORS = Path(__file__).resolve().parents[1].parent / "shared" / "vectors"
CID = "0123456789abcdef01234567"
OTHER_CID = "fedcba9876543210fedcba98"
PID = "aaaaaaaaaaaaaaaaaaaaaaaa"
OTHER_PID = "bbbbbbbbbbbbbbbbbbbbbbbb"
NOW = 1_800_000_000
BACKEND_NAMES = ("native", "pynacl", "cryptography")


@pytest.fixture(scope="session")
def issuer() -> Issuer:
    return Issuer(kid="k1")


@pytest.fixture(params=BACKEND_NAMES)
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each test using this runs once per backend; an unavailable backend is a failure."""
    return get_backend(request.param)


@pytest.fixture
def vectors() -> Path:
    assert VECTORS.is_dir(), f"the shared vectors are missing at {VECTORS}"
    return VECTORS


def now() -> int:
    return int(time.time())
