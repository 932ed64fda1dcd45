"""Shared helpers for the web adapter tests: ids, an injectable clock, the error-case table,
and harnesses (one per framework, see web_harness.py) that are always closed."""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from web_harness import BUILDERS, Harness

import hoody_claims as hc
from hoody_claims.testing import Issuer
from hoody_claims.web import Gatekeeper

CID = "0123456789abcdef01234567"
OTHER_CID = "fedcba9876543210fedcba98"
PID = "aaaaaaaaaaaaaaaaaaaaaaaa"
OTHER_PID = "bbbbbbbbbbbbbbbbbbbbbbbb"
EXEMPT = ("/healthz",)


class Clock:
    """Seconds since the epoch, moved by the test (the verifier's ``clock=``)."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> float:
        return float(self.now)

    def advance(self, seconds: int) -> None:
        self.now += seconds


@dataclass
class Ctx:
    """What a test needs to mint claims and build verifiers for one scenario."""

    issuer: Issuer
    clock: Clock
    stack: contextlib.ExitStack

    def verifier(self, **options: Any) -> hc.ClaimVerifier:
        options.setdefault("container_id", CID)
        options.setdefault("project_id", PID)
        return hc.ClaimVerifier(self.issuer.key_set(), clock=self.clock, **options)

    def gate(self, verifier: Any = None, **options: Any) -> Gatekeeper:
        options.setdefault("exempt_paths", EXEMPT)
        return Gatekeeper(verifier or self.verifier(), clock=self.clock, **options)

    def claim(self, **options: Any) -> Any:
        options.setdefault("container_id", CID)
        options.setdefault("project_id", PID)
        options.setdefault("now", self.clock.now)
        return self.issuer.container_claim(**options)

    def store_verifier(self, api_base: str) -> hc.ClaimVerifier:
        store = hc.KeyStore(api_base=api_base, cache_dir=None, timeout=2, clock=self.clock)
        return hc.ClaimVerifier(store, container_id=CID, project_id=PID, clock=self.clock)


def closed_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tamper_signature(compact: str) -> str:
    obj = json.loads(base64.urlsafe_b64decode(compact + "=" * (-len(compact) % 4)))
    sig = obj["signature_hex"]
    obj["signature_hex"] = ("0" if sig[0] != "0" else "1") + sig[1:]
    text = json.dumps(obj, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(text).rstrip(b"=").decode()


@dataclass(frozen=True)
class ErrorCase:
    """A claim (and, when the default will not do, a verifier) that must be refused with code."""

    id: str
    code: str
    status: int
    token: Callable[[Ctx], str]
    verifier: Callable[[Ctx], Any] | None = None


def _bad_key_document(ctx: Ctx) -> Any:
    api_base = ctx.stack.enter_context(ctx.issuer.serve(document={"keys": []}))
    return ctx.store_verifier(api_base)


ERROR_CASES: tuple[ErrorCase, ...] = (
    ErrorCase(
        "malformed",
        "MALFORMED_CLAIM",
        401,
        lambda c: base64.urlsafe_b64encode(b'{"kid":"k"}').rstrip(b"=").decode(),
    ),
    ErrorCase("malformed-text", "MALFORMED_CLAIM", 401, lambda c: "not a claim at all"),
    ErrorCase(
        "unknown-kid",
        "UNKNOWN_KEY",
        401,
        lambda c: Issuer(kid="other").container_claim(
            container_id=CID, project_id=PID, now=c.clock.now
        ),
    ),
    ErrorCase("bad-signature", "INVALID_SIGNATURE", 401, lambda c: tamper_signature(c.claim())),
    ErrorCase(
        "foreign-signer",
        "INVALID_SIGNATURE",
        401,
        lambda c: Issuer(kid=c.issuer.kid).container_claim(
            container_id=CID, project_id=PID, now=c.clock.now
        ),
    ),
    ErrorCase("expired", "CLAIM_EXPIRED", 401, lambda c: c.claim(now=c.clock.now - 7200)),
    ErrorCase(
        "not-yet-valid", "CLAIM_NOT_YET_VALID", 401, lambda c: c.claim(now=c.clock.now + 3600)
    ),
    ErrorCase(
        "identity-claim",
        "WRONG_CLAIM_TYPE",
        403,
        lambda c: c.issuer.identity_claim(audience="my-app", now=c.clock.now),
    ),
    ErrorCase("wrong-container", "WRONG_CONTAINER", 403, lambda c: c.claim(container_id=OTHER_CID)),
    ErrorCase("wrong-project", "WRONG_PROJECT", 403, lambda c: c.claim(project_id=OTHER_PID)),
    ErrorCase(
        "wrong-audience",
        "WRONG_AUDIENCE",
        403,
        lambda c: c.issuer.identity_claim(audience="other-app", now=c.clock.now),
        verifier=lambda c: hc.IdentityVerifier(
            c.issuer.key_set(), audience="my-app", clock=c.clock
        ),
    ),
    ErrorCase(
        "policy-denied",
        "POLICY_DENIED",
        403,
        lambda c: c.claim(type="user"),
        verifier=lambda c: c.verifier(allow_types={"admin"}),
    ),
    ErrorCase(
        "key-fetch-failed",
        "KEY_FETCH_FAILED",
        503,
        lambda c: c.claim(),
        verifier=lambda c: c.store_verifier(f"http://127.0.0.1:{closed_port()}"),
    ),
    ErrorCase(
        "invalid-key-document",
        "INVALID_KEY_DOCUMENT",
        503,
        lambda c: c.claim(),
        verifier=_bad_key_document,
    ),
)


def assert_refused(resp: Any, status: int, code: str) -> None:
    """Status, Hoody's envelope and the headers every refusal carries."""
    from http import HTTPStatus

    assert resp.status == status, resp.body
    body = resp.json()
    assert set(body) == {"statusCode", "error", "message", "code"}
    assert body["statusCode"] == status
    assert body["error"] == HTTPStatus(status).phrase
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert resp.header("content-type").startswith("application/json")
    assert resp.header("cache-control") == "no-store"
    if status == 401:
        assert resp.header("www-authenticate") == f'HoodyClaim error="{code}"'
    else:
        assert resp.header("www-authenticate") is None
    assert resp.header("set-cookie") is None


@pytest.fixture
def ctx() -> Iterator[Ctx]:
    with contextlib.ExitStack() as stack:
        yield Ctx(Issuer(kid="web-test"), Clock(int(time.time())), stack)


@pytest.fixture
def open_harness() -> Iterator[Callable[[str, Gatekeeper], Harness]]:
    """``open_harness(framework, gate)``; every harness opened is closed after the test."""
    opened: list[Harness] = []

    def open_(framework: str, gate: Gatekeeper) -> Harness:
        h = BUILDERS[framework](gate)
        opened.append(h)
        return h

    yield open_
    for h in reversed(opened):
        h.close()
