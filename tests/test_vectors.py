"""Every shared Ed25519 vector through every backend (SPEC section 5).

The vectors live in ../shared/vectors beside the clone and are never copied
into the repository.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hoody_claims.backends import BACKEND_NAMES, Backend, get_backend

VECTORS = Path(__file__).resolve().parent.parent.parent / "shared" / "vectors"


def _load(rel: str) -> Any:
    path = VECTORS / rel
    assert path.is_file(), f"missing shared vector file {path}"
    return json.loads(path.read_text(encoding="utf-8"))


def _wycheproof() -> list[tuple[str, bytes, bytes, bytes, bool]]:
    doc = _load("wycheproof/ed25519_test.json")
    out = []
    for group in doc["testGroups"]:
        pk = bytes.fromhex(group["publicKey"]["pk"])
        for test in group["tests"]:
            assert test["result"] in ("valid", "invalid"), test
            out.append(
                (
                    f"tc{test['tcId']}",
                    bytes.fromhex(test["msg"]),
                    bytes.fromhex(test["sig"]),
                    pk,
                    test["result"] == "valid",
                )
            )
    assert len(out) == doc["numberOfTests"]
    return out


def _speccheck() -> list[tuple[str, bytes, bytes, bytes, bool]]:
    cases = _load("speccheck/cases.json")
    expected = _load("speccheck/expected.json")["expected_valid"]
    assert len(cases) == len(expected)
    return [
        (
            f"speccheck{i}",
            bytes.fromhex(case["message"]),
            bytes.fromhex(case["signature"]),
            bytes.fromhex(case["pub_key"]),
            bool(valid),
        )
        for i, (case, valid) in enumerate(zip(cases, expected, strict=True))
    ]


WYCHEPROOF = _wycheproof()
SPECCHECK = _speccheck()
ALL = WYCHEPROOF + SPECCHECK


@pytest.fixture(params=BACKEND_NAMES)
def backend(request: pytest.FixtureRequest) -> Backend:
    return get_backend(request.param)


def test_vector_sets_are_not_trivial() -> None:
    assert len(WYCHEPROOF) > 100
    assert any(v for *_, v in WYCHEPROOF) and not all(v for *_, v in WYCHEPROOF)
    assert sum(v for *_, v in SPECCHECK) >= 1


@pytest.mark.parametrize("vector", ALL, ids=[v[0] for v in ALL])
@pytest.mark.parametrize("name", BACKEND_NAMES)
def test_verify(name: str, vector: tuple[str, bytes, bytes, bytes, bool]) -> None:
    _, msg, sig, pk, expected = vector
    assert get_backend(name).verify(sig, msg, pk) is expected


def test_verify_parts_every_split(backend: Backend) -> None:
    for _, msg, sig, pk, expected in ALL:
        for cut in {0, len(msg) // 2, len(msg)}:
            assert backend.verify_parts(sig, msg[:cut], msg[cut:], pk) is expected


def test_verify_batch_all_vectors_in_one_call(backend: Backend) -> None:
    triples = [(msg, sig, pk) for _, msg, sig, pk, _ in ALL]
    assert backend.verify_batch(triples) == [expected for *_, expected in ALL]


def test_speccheck_matches_expected_list(backend: Backend) -> None:
    got = [backend.verify(sig, msg, pk) for _, msg, sig, pk, _ in SPECCHECK]
    assert got == _load("speccheck/expected.json")["expected_valid"]
