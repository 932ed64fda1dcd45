"""Real processes on 127.0.0.1 for the gate tests: the gate, an upstream, key files, claims.

Every process started here is stopped by its fixture (SIGTERM, then SIGKILL), whatever the test
did.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from hoody_claims.testing import Issuer

from .procs import CONTAINER, Gate, Upstream, start_gate


@pytest.fixture(scope="session")
def issuer() -> Issuer:
    return Issuer(kid="gate-test")


@pytest.fixture(scope="session")
def keys_file(issuer: Issuer, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("keys") / "keys.json"
    path.write_text(json.dumps(issuer.key_document()))
    return str(path)


@pytest.fixture(scope="session")
def claim(issuer: Issuer) -> str:
    return issuer.container_claim(container_id=CONTAINER, sub="alice", type="admin", ttl=3600)


@pytest.fixture(scope="session")
def upstream() -> Iterator[Upstream]:
    up = Upstream()
    try:
        yield up
    finally:
        up.stop()


@pytest.fixture(scope="module")
def gate(upstream: Upstream, keys_file: str) -> Iterator[Gate]:
    g = start_gate(keys_file, "--upstream", upstream.url, "--upstream-timeout", "2")
    try:
        yield g
    finally:
        g.stop()
