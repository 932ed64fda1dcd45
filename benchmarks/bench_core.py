"""Core benchmarks: hoody_claims against its peers, every peer timed in the same run.

Run through ``python3 benchmarks/report.py`` (which prints the ratio table), or directly:

    python3 -m pytest benchmarks/bench_core.py --benchmark-json=out.json

pytest collects this file only when it is named on the command line (the default run uses
``testpaths = ["tests"]`` and the file name does not match ``test_*.py``). Nothing here fails
on timing: the asserts only check that every timed call really verified.

Each comparison is one benchmark group, so the ratios between its members mean something:

``full-check``
    ``ClaimVerifier.verify`` of a compact claim it has never seen, against the bare signature
    check of the same bytes (PyNaCl's ``VerifyKey.verify`` and ``cryptography``'s
    ``Ed25519PublicKey.verify``, key objects prebuilt, message and signature already decoded)
    and against the two token libraries decoding a token with the same fields (PyJWT EdDSA with
    its audience and expiry checks on; pyseto ``v4.public`` with its expiry and audience checks
    on). "Never seen" is honest here: the verifier keeps its default remembered-claims cache
    (4096 entries) and is fed a rotating pool of 8192 distinct claims, so every call misses
    the cache and pays for the insertion and eviction a busy server pays too.
``repeated``
    the same claim again (served from the remembered claims; type, time and binding are still
    re-checked) against a raw verify of the same bytes.
``verify-many``
    ``verify_many`` of 256 distinct never-seen claims per round (the native batch call spreads
    the signatures over one thread per core) against a single-thread loop of raw PyNaCl
    verifies of the same 256 messages. Wall-clock timed; report it as throughput.
``response-1KiB`` / ``response-64KiB``
    ``verify_response`` (header parsing, bindings, freshness, key lookup, signature over
    prefix + body) against a raw PyNaCl verify of the same full message, prebuilt.

Timer: wall clock (``time.perf_counter``) by default. ``HOODY_BENCH_TIMER=cpu`` times the
single-thread groups with ``time.process_time`` instead (CPU time of this process, so other
programs on a shared machine inflate it less); ``verify-many`` always uses the wall clock,
since the point there is work spread over several threads.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import jwt
import pyseto
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from nacl.signing import VerifyKey

import hoody_claims as hc
from hoody_claims.testing import Issuer

CONTAINER_ID = "0123456789abcdef01234567"
SEED = bytes(range(32))
CACHE_SIZE = 4096  # ClaimVerifier's default, stated here so the pool below can exceed it
POOL = 2 * CACHE_SIZE  # distinct claims cycled through: each is evicted before it returns
TOKEN_POOL = 1024  # distinct PyJWT / PASETO tokens (those libraries remember nothing)
BATCH = 256
RESPONSE_PATH = "/api/v1/containers/0123456789abcdef01234567/files?limit=50"

_TIMERS = {"wall": time.perf_counter, "cpu": time.process_time}
_timer_name = os.environ.get("HOODY_BENCH_TIMER", "wall").strip().lower()
if _timer_name not in _TIMERS:
    raise RuntimeError(f"HOODY_BENCH_TIMER must be one of {sorted(_TIMERS)}, not {_timer_name!r}")
SINGLE_THREAD_TIMER = _TIMERS[_timer_name]


def _group(name: str, timer: Any = SINGLE_THREAD_TIMER) -> pytest.MarkDecorator:
    return pytest.mark.benchmark(group=name, timer=timer)


def _note(benchmark: Any, **info: Any) -> None:
    """Record what ran (read back by report.py from the JSON)."""
    benchmark.extra_info.update(info)
    benchmark.extra_info.setdefault("timer", _timer_name)


# -- what everyone verifies ------------------------------------------------------------------


class Material:
    """One issuer key, seen by every library, and the claims/tokens/messages built from it."""

    def __init__(self) -> None:
        self.issuer = Issuer(kid="bench", seed=SEED)
        self.keys = self.issuer.key_set()
        self.private_key = Ed25519PrivateKey.from_private_bytes(SEED)
        self.public_key: Ed25519PublicKey = self.private_key.public_key()
        assert self.public_key.public_bytes_raw() == self.issuer.public_key
        self.nacl_key = VerifyKey(self.issuer.public_key)
        pem = self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.paseto_key = pyseto.Key.new(version=4, purpose="public", key=pem)
        self.paseto_signing_key = pyseto.Key.new(
            version=4,
            purpose="public",
            key=self.private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        self.now = int(time.time())

        # Container claims, compact form, each for a different user (so each is distinct),
        # and for each the exact (message, signature) a raw verify checks.
        self.claims: list[str] = []
        self.messages: list[tuple[bytes, bytes]] = []
        for i in range(POOL):
            token = self.issuer.container_claim(
                container_id=CONTAINER_ID, sub=f"user-{i:05d}", now=self.now, ttl=3600
            )
            self.claims.append(token)
            self.messages.append(_message_of(token))

        # The same fields as a JWT (plus aud, so PyJWT has an audience to check) and as a
        # PASETO v4.public token (iat/exp in PASETO's ISO 8601 form, so pyseto checks exp).
        self.jwts: list[str] = []
        self.pasetos: list[bytes] = []
        issued = datetime.fromtimestamp(self.now, tz=timezone.utc)
        for i in range(TOKEN_POOL):
            fields = {
                "claim_type": "container",
                "sub": f"user-{i:05d}",
                "type": "user",
                "container_id": CONTAINER_ID,
                "aud": CONTAINER_ID,
            }
            self.jwts.append(
                jwt.encode(
                    {**fields, "iat": self.now, "exp": self.now + 3600},
                    self.private_key,
                    algorithm="EdDSA",
                    headers={"kid": "bench"},
                )
            )
            self.pasetos.append(
                pyseto.encode(
                    self.paseto_signing_key,
                    {
                        **fields,
                        "iat": issued.isoformat(timespec="seconds"),
                        "exp": (issued + timedelta(seconds=3600)).isoformat(timespec="seconds"),
                    },
                    serializer=json,
                )
            )

    def verifier(self) -> hc.ClaimVerifier:
        return hc.ClaimVerifier(self.keys, container_id=CONTAINER_ID, cache_size=CACHE_SIZE)


def _message_of(compact: str) -> tuple[bytes, bytes]:
    """The signed bytes and signature inside a compact claim (default signed data)."""
    claim = json.loads(base64.urlsafe_b64decode(compact + "=" * (-len(compact) % 4)))
    return claim["payload_b64"].encode("ascii"), bytes.fromhex(claim["signature_hex"])


@pytest.fixture(scope="module")
def m() -> Material:
    return Material()


def _cycle(items: Sequence[Any]) -> Iterator[Any]:
    return itertools.cycle(items)


# -- full check of a new claim ----------------------------------------------------------------


@_group("full-check")
def test_full_check_hoody_claims(benchmark: Any, m: Material) -> None:
    verifier = m.verifier()
    # Prove the pool defeats the cache: after one lap, the first claim is verified afresh
    # (a remembered claim comes back as the very same Claim object).
    first = verifier.verify(m.claims[0])
    for claim in m.claims[1:]:
        verifier.verify(claim)
    assert verifier.verify(m.claims[0]) is not first
    pool = _cycle(m.claims[1:] + m.claims[:1])
    verify = verifier.verify

    result = benchmark(lambda: verify(next(pool)))
    assert result.container_id == CONTAINER_ID
    _note(benchmark, backend=verifier.backend, peer="hoody_claims", pool=POOL, cache=CACHE_SIZE)


@_group("full-check")
def test_full_check_pynacl_raw(benchmark: Any, m: Material) -> None:
    pool = _cycle(m.messages)
    verify = m.nacl_key.verify
    benchmark(lambda: verify(*next(pool)))
    _note(benchmark, peer="pynacl")


@_group("full-check")
def test_full_check_cryptography_raw(benchmark: Any, m: Material) -> None:
    pool = _cycle([(sig, msg) for msg, sig in m.messages])
    verify = m.public_key.verify
    benchmark(lambda: verify(*next(pool)))
    _note(benchmark, peer="cryptography")


@_group("full-check")
def test_full_check_pyjwt(benchmark: Any, m: Material) -> None:
    pool = _cycle(m.jwts)
    key = m.public_key
    options: Any = {"require": ["exp", "iat", "aud"]}

    def decode() -> dict[str, Any]:
        return jwt.decode(
            next(pool), key, algorithms=["EdDSA"], audience=CONTAINER_ID, options=options
        )

    assert decode()["container_id"] == CONTAINER_ID
    result = benchmark(decode)
    assert result["container_id"] == CONTAINER_ID
    _note(benchmark, peer="pyjwt")


@_group("full-check")
def test_full_check_pyseto(benchmark: Any, m: Material) -> None:
    pool = _cycle(m.pasetos)
    key = m.paseto_key

    def decode() -> Any:
        return pyseto.decode(key, next(pool), deserializer=json, aud=CONTAINER_ID)

    result = benchmark(decode)
    assert result.payload["container_id"] == CONTAINER_ID
    _note(benchmark, peer="pyseto")


# -- the same claim again (remembered) --------------------------------------------------------


@_group("repeated")
def test_repeated_hoody_claims(benchmark: Any, m: Material) -> None:
    verifier = m.verifier()
    claim = m.claims[0]
    first = verifier.verify(claim)
    verify = verifier.verify
    result = benchmark(lambda: verify(claim))
    assert result is first  # served from the remembered claims
    _note(benchmark, backend=verifier.backend, peer="hoody_claims")


@_group("repeated")
def test_repeated_pynacl_raw(benchmark: Any, m: Material) -> None:
    msg, sig = m.messages[0]
    verify = m.nacl_key.verify
    benchmark(lambda: verify(msg, sig))
    _note(benchmark, peer="pynacl")


# -- verify_many: 256 new claims per round ----------------------------------------------------


@_group("verify-many", timer=time.perf_counter)
def test_verify_many_hoody_claims(benchmark: Any, m: Material) -> None:
    verifier = m.verifier()
    batches = [m.claims[i : i + BATCH] for i in range(0, POOL, BATCH)]
    pool = _cycle(batches)
    verify_many = verifier.verify_many
    # One full lap first, so the timed rounds run with the cache full and evicting.
    for batch in batches:
        verify_many(batch)

    results = benchmark(lambda: verify_many(next(pool)))
    assert len(results) == BATCH and all(isinstance(r, hc.Claim) for r in results)
    _note(
        benchmark,
        backend=verifier.backend,
        peer="hoody_claims",
        batch=BATCH,
        threads=os.cpu_count(),
        timer="wall",
    )


@_group("verify-many", timer=time.perf_counter)
def test_verify_many_pynacl_raw_single_thread(benchmark: Any, m: Material) -> None:
    batches = [m.messages[i : i + BATCH] for i in range(0, POOL, BATCH)]
    pool = _cycle(batches)
    verify = m.nacl_key.verify

    def loop() -> None:
        for msg, sig in next(pool):
            verify(msg, sig)

    benchmark(loop)
    _note(benchmark, peer="pynacl", batch=BATCH, threads=1, timer="wall")


# -- verify_response on 1 KiB and 64 KiB bodies -----------------------------------------------


def _response_case(m: Material, size: int) -> tuple[str, bytes, bytes, bytes]:
    body = bytes((i * 131 + 7) % 256 for i in range(size))
    t = int(time.time())
    header = m.issuer.sign_response(body, method="GET", status=200, path=RESPONSE_PATH, t=t)
    parsed = hc.parse_signature_header(header)
    message = f"{t}\nGET\n200\n{RESPONSE_PATH}\n".encode() + body
    return header, body, message, parsed.sig


def _bench_response_hoody(benchmark: Any, m: Material, size: int) -> None:
    header, body, _, _ = _response_case(m, size)
    keys = m.keys

    def check() -> hc.SignatureHeader:
        return hc.verify_response(
            keys, header, method="GET", status=200, path=RESPONSE_PATH, body=body
        )

    result = benchmark(check)
    assert result.path == RESPONSE_PATH
    _note(benchmark, backend=hc.backend(), peer="hoody_claims", body_bytes=size)


def _bench_response_raw(benchmark: Any, m: Material, size: int) -> None:
    _, _, message, sig = _response_case(m, size)
    verify = m.nacl_key.verify
    benchmark(lambda: verify(message, sig))
    _note(benchmark, peer="pynacl", body_bytes=size)


@_group("response-1KiB")
def test_response_1k_hoody_claims(benchmark: Any, m: Material) -> None:
    _bench_response_hoody(benchmark, m, 1024)


@_group("response-1KiB")
def test_response_1k_pynacl_raw(benchmark: Any, m: Material) -> None:
    _bench_response_raw(benchmark, m, 1024)


@_group("response-64KiB")
def test_response_64k_hoody_claims(benchmark: Any, m: Material) -> None:
    _bench_response_hoody(benchmark, m, 64 * 1024)


@_group("response-64KiB")
def test_response_64k_pynacl_raw(benchmark: Any, m: Material) -> None:
    _bench_response_raw(benchmark, m, 64 * 1024)
