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
    on; key objects prebuilt). "Never seen" is honest here: the verifier keeps its default
    remembered-claims cache (4096 entries) and is fed a rotating pool of 8192 distinct claims,
    so every call misses the cache and pays for the insertion and eviction a busy server pays
    too (checked before timing). ``hoody_claims-nocache`` is the same verifier with
    ``cache_size=0``: the difference is what remembering costs a claim seen once.
``repeated``
    the same claim again (served from the remembered claims; type, time and binding are still
    re-checked) against a raw verify of the same bytes.
``verify-many``
    ``verify_many`` of 256 distinct never-seen claims per round (the native batch call spreads
    the signatures over one thread per core) against a single-thread loop of raw PyNaCl
    verifies of the same 256 messages. Wall-clock timed; report it as throughput.
    ``bare-batch-all-cores`` (the same 256 signatures through ``native.verify_batch``, nothing
    else) shows what the host's cores give in that run: on a shared VM it moves a lot.
``response-1KiB`` / ``response-64KiB``
    ``verify_response`` (header parsing, bindings, freshness, key lookup, signature over
    prefix + body) against a raw PyNaCl verify of the same full message, prebuilt.

Interleaving: on a shared machine the load changes from second to second, and timing one peer
after the other would hand one of them the quiet seconds. So every group's test is
parametrized by ``peer`` and by ``slice``: the peers take turns, slice by slice
(``HOODY_BENCH_SLICES``, default 5; report.py uses 10), and report.py pools each peer's slices
into one distribution. ``--benchmark-max-time`` is per slice, so each peer gets about slices
times that.

Timer: wall clock (``time.perf_counter``) by default. ``HOODY_BENCH_TIMER=cpu`` times the
single-thread groups with ``time.process_time`` instead (CPU time of this process, so other
programs on a shared machine inflate it less; report.py then makes rounds of >= 0.5 ms so the
timer's own system call is amortised); ``verify-many`` always uses the wall clock, since the
point there is work spread over several threads.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
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
from hoody_claims import native
from hoody_claims.testing import Issuer

CONTAINER_ID = "0123456789abcdef01234567"
SEED = bytes(range(32))
CACHE_SIZE = 4096  # ClaimVerifier's default, stated here so the pool below can exceed it
POOL = 2 * CACHE_SIZE  # distinct claims cycled through: each is evicted before it returns
TOKEN_POOL = 1024  # distinct PyJWT / PASETO tokens (those libraries remember nothing)
BATCH = 256
RESPONSE_PATH = "/api/v1/containers/0123456789abcdef01234567/files?limit=50"
SLICES = int(os.environ.get("HOODY_BENCH_SLICES", "5"))

_TIMERS = {"wall": time.perf_counter, "cpu": time.process_time}
_timer_name = os.environ.get("HOODY_BENCH_TIMER", "wall").strip().lower()
if _timer_name not in _TIMERS:
    raise RuntimeError(f"HOODY_BENCH_TIMER must be one of {sorted(_TIMERS)}, not {_timer_name!r}")
if SLICES < 1:
    raise RuntimeError("HOODY_BENCH_SLICES must be at least 1")


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
        paseto_signing_key = pyseto.Key.new(
            version=4,
            purpose="public",
            key=self.private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        now = int(time.time())

        # Container claims, compact form, each for a different user (so each is distinct),
        # and for each the exact (message, signature) a raw verify checks.
        self.claims: list[str] = []
        self.messages: list[tuple[bytes, bytes]] = []
        for i in range(POOL):
            token = self.issuer.container_claim(
                container_id=CONTAINER_ID, sub=f"user-{i:05d}", now=now, ttl=3600
            )
            self.claims.append(token)
            self.messages.append(_message_of(token))

        # The same fields as a JWT (plus aud, so PyJWT has an audience to check) and as a
        # PASETO v4.public token (iat/exp in PASETO's ISO 8601 form, so pyseto checks exp).
        self.jwts: list[str] = []
        self.pasetos: list[bytes] = []
        issued = datetime.fromtimestamp(now, tz=timezone.utc)
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
                    {**fields, "iat": now, "exp": now + 3600},
                    self.private_key,
                    algorithm="EdDSA",
                    headers={"kid": "bench"},
                )
            )
            self.pasetos.append(
                pyseto.encode(
                    paseto_signing_key,
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


@dataclass
class Case:
    """What one peer runs in one group: the timed call and a check of its last result."""

    call: Callable[[], Any]
    check: Callable[[Any], bool]
    info: dict[str, Any]


class Cases:
    """Every (group, peer) case, built once, so state (a verifier, a pool position) carries
    over from one slice to the next exactly as it would in one long run."""

    def __init__(self, m: Material) -> None:
        self.m = m
        self._built: dict[tuple[str, str], Case] = {}

    def get(self, group: str, peer: str) -> Case:
        build: dict[str, Callable[[str], Case]] = {
            "full-check": self._full_check,
            "repeated": self._repeated,
            "verify-many": self._verify_many,
            "response-1KiB": lambda p: self._response(p, 1024),
            "response-64KiB": lambda p: self._response(p, 64 * 1024),
        }
        if group.startswith("response-"):
            # Minted afresh for each slice, so the header's t stays within the 300 s
            # freshness window however long the whole run takes.
            return build[group](peer)
        key = (group, peer)
        if key not in self._built:
            self._built[key] = build[group](peer)
        return self._built[key]

    # -- full check of a new claim -----------------------------------------------------------

    def _full_check(self, peer: str) -> Case:
        m = self.m
        if peer == "hoody_claims":
            verifier = m.verifier()
            # Prove the pool defeats the cache: after one lap, the first claim is verified
            # afresh (a remembered claim comes back as the very same Claim object).
            first = verifier.verify(m.claims[0])
            for claim in m.claims[1:]:
                verifier.verify(claim)
            assert verifier.verify(m.claims[0]) is not first
            pool = itertools.cycle(m.claims[1:] + m.claims[:1])
            verify = verifier.verify
            return Case(
                lambda: verify(next(pool)),
                lambda c: c.container_id == CONTAINER_ID,
                {"backend": verifier.backend, "pool": POOL, "cache": CACHE_SIZE},
            )
        if peer == "hoody_claims-nocache":
            # The same checks with remembering off: what the cache's upkeep costs a miss.
            forgetful = hc.ClaimVerifier(m.keys, container_id=CONTAINER_ID, cache_size=0)
            pool = itertools.cycle(m.claims)
            verify = forgetful.verify
            return Case(
                lambda: verify(next(pool)),
                lambda c: c.container_id == CONTAINER_ID,
                {"backend": forgetful.backend, "pool": POOL, "cache": 0},
            )
        if peer == "pynacl":
            msgs = itertools.cycle(m.messages)
            nacl_verify = m.nacl_key.verify
            return Case(lambda: nacl_verify(*next(msgs)), lambda r: r is not None, {})
        if peer == "cryptography":
            sigs = itertools.cycle([(sig, msg) for msg, sig in m.messages])
            crypto_verify = m.public_key.verify
            return Case(lambda: crypto_verify(*next(sigs)), lambda r: r is None, {})
        if peer == "pyjwt":
            jwts = itertools.cycle(m.jwts)
            key = m.public_key
            options: Any = {"require": ["exp", "iat", "aud"]}

            def jwt_decode() -> dict[str, Any]:
                return jwt.decode(
                    next(jwts), key, algorithms=["EdDSA"], audience=CONTAINER_ID, options=options
                )

            return Case(jwt_decode, lambda d: d["container_id"] == CONTAINER_ID, {})
        if peer == "pyseto":
            pasetos = itertools.cycle(m.pasetos)
            paseto_key = m.paseto_key

            def paseto_decode() -> Any:
                return pyseto.decode(paseto_key, next(pasetos), deserializer=json, aud=CONTAINER_ID)

            return Case(paseto_decode, lambda t: t.payload["container_id"] == CONTAINER_ID, {})
        raise AssertionError(peer)

    # -- the same claim again (remembered) -------------------------------------------------

    def _repeated(self, peer: str) -> Case:
        m = self.m
        if peer == "hoody_claims":
            verifier = m.verifier()
            claim = m.claims[0]
            first = verifier.verify(claim)
            verify = verifier.verify
            # `is first`: it really came from the remembered claims.
            return Case(lambda: verify(claim), lambda c: c is first, {"backend": verifier.backend})
        if peer == "pynacl":
            msg, sig = m.messages[0]
            nacl_verify = m.nacl_key.verify
            return Case(lambda: nacl_verify(msg, sig), lambda r: r is not None, {})
        raise AssertionError(peer)

    # -- verify_many: 256 new claims per round ---------------------------------------------

    def _verify_many(self, peer: str) -> Case:
        m = self.m
        if peer == "hoody_claims":
            verifier = m.verifier()
            batches = [m.claims[i : i + BATCH] for i in range(0, POOL, BATCH)]
            verify_many = verifier.verify_many
            # One full lap first, so the timed rounds run with the cache full and evicting.
            for batch in batches:
                verify_many(batch)
            pool = itertools.cycle(batches)
            return Case(
                lambda: verify_many(next(pool)),
                lambda rs: len(rs) == BATCH and all(isinstance(r, hc.Claim) for r in rs),
                {"backend": verifier.backend, "batch": BATCH, "threads": os.cpu_count()},
            )
        if peer == "pynacl-1-thread":
            msg_batches = itertools.cycle(
                [m.messages[i : i + BATCH] for i in range(0, POOL, BATCH)]
            )
            nacl_verify = m.nacl_key.verify

            def loop() -> int:
                n = 0
                for msg, sig in next(msg_batches):
                    nacl_verify(msg, sig)
                    n += 1
                return n

            return Case(loop, lambda n: n == BATCH, {"batch": BATCH, "threads": 1})
        if peer == "bare-batch-all-cores":
            # The signatures alone through the native batch on every core (no parsing, no
            # Python per claim): how much two cores give on this host in this run.
            triple_batches = itertools.cycle(
                [[(msg, sig, m.issuer.public_key) for msg, sig in m.messages[i : i + BATCH]]
                 for i in range(0, POOL, BATCH)]
            )  # fmt: skip
            bare = native.verify_batch
            return Case(
                lambda: bare(next(triple_batches)),
                lambda oks: len(oks) == BATCH and all(oks),
                {"batch": BATCH, "threads": os.cpu_count()},
            )
        raise AssertionError(peer)

    # -- verify_response on 1 KiB and 64 KiB bodies ----------------------------------------

    def _response(self, peer: str, size: int) -> Case:
        m = self.m
        body = bytes((i * 131 + 7) % 256 for i in range(size))
        t = int(time.time())
        header = m.issuer.sign_response(body, method="GET", status=200, path=RESPONSE_PATH, t=t)
        if peer == "hoody_claims":
            keys = m.keys

            def check() -> hc.SignatureHeader:
                return hc.verify_response(
                    keys, header, method="GET", status=200, path=RESPONSE_PATH, body=body
                )

            return Case(
                check, lambda h: h.path == RESPONSE_PATH, {"backend": hc.backend(), "body": size}
            )
        if peer == "pynacl":
            message = f"{t}\nGET\n200\n{RESPONSE_PATH}\n".encode() + body
            sig = hc.parse_signature_header(header).sig
            nacl_verify = m.nacl_key.verify
            return Case(lambda: nacl_verify(message, sig), lambda r: r is not None, {"body": size})
        raise AssertionError(peer)


@pytest.fixture(scope="module")
def cases() -> Cases:
    return Cases(Material())


def _run(benchmark: Any, cases: Cases, group: str, peer: str, slice_: int) -> None:
    case = cases.get(group, peer)
    result = benchmark(case.call)
    assert case.check(result), f"{group}/{peer}: the timed call did not verify"
    timer = "wall" if group == "verify-many" else _timer_name
    benchmark.extra_info.update(case.info, peer=peer, slice=slice_, slices=SLICES, timer=timer)


# The peers alternate first (the outer parametrize varies fastest), then the slices.
_slices = pytest.mark.parametrize("slice_", range(SLICES), ids=lambda s: f"slice{s}")


def _group(name: str, timer: Any = _TIMERS[_timer_name]) -> pytest.MarkDecorator:
    return pytest.mark.benchmark(group=name, timer=timer)


@pytest.mark.parametrize(
    "peer", ["hoody_claims", "hoody_claims-nocache", "pynacl", "cryptography", "pyjwt", "pyseto"]
)
@_slices
@_group("full-check")
def test_full_check(benchmark: Any, cases: Cases, peer: str, slice_: int) -> None:
    _run(benchmark, cases, "full-check", peer, slice_)


@pytest.mark.parametrize("peer", ["hoody_claims", "pynacl"])
@_slices
@_group("repeated")
def test_repeated(benchmark: Any, cases: Cases, peer: str, slice_: int) -> None:
    _run(benchmark, cases, "repeated", peer, slice_)


@pytest.mark.parametrize("peer", ["hoody_claims", "pynacl-1-thread", "bare-batch-all-cores"])
@_slices
@_group("verify-many", timer=time.perf_counter)
def test_verify_many(benchmark: Any, cases: Cases, peer: str, slice_: int) -> None:
    _run(benchmark, cases, "verify-many", peer, slice_)


@pytest.mark.parametrize("peer", ["hoody_claims", "pynacl"])
@_slices
@_group("response-1KiB")
def test_response_1k(benchmark: Any, cases: Cases, peer: str, slice_: int) -> None:
    _run(benchmark, cases, "response-1KiB", peer, slice_)


@pytest.mark.parametrize("peer", ["hoody_claims", "pynacl"])
@_slices
@_group("response-64KiB")
def test_response_64k(benchmark: Any, cases: Cases, peer: str, slice_: int) -> None:
    _run(benchmark, cases, "response-64KiB", peer, slice_)
