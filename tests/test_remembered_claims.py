"""SPEC §4 remembered claims: exact match, bounded, never past exp, forgotten on key change.

Signature work is counted through a Backend whose verify functions count their calls — the
verifier's collaborator is replaced, the code under test is not."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
from typing import Any

import pytest

import hoody_claims as hc
from hoody_claims.backends import Backend, get_backend
from hoody_claims.testing import Issuer

from .conftest import CID, NOW
from .keyserver import KeyServer


class Counting:
    def __init__(self, name: str = "native") -> None:
        self.inner = get_backend(name)
        self.calls = 0
        self.batch_sizes: list[int] = []
        self._lock = threading.Lock()

    def verify(self, sig: bytes, msg: bytes, pk: bytes) -> bool:
        with self._lock:
            self.calls += 1
        return self.inner.verify(sig, msg, pk)

    def verify_payload(self, sig: bytes, pk: bytes, payload_b64: str) -> Any:
        with self._lock:
            self.calls += 1
        return self.inner.verify_payload(sig, pk, payload_b64)

    def verify_batch(self, triples: Any) -> list[bool]:
        self.batch_sizes.append(len(triples))
        return self.inner.verify_batch(triples)

    def check(self, data: bytes, table: bytes) -> Any:
        assert self.inner.claim_checker is not None
        found = self.inner.claim_checker.check(data, table)
        if found is not self.inner.claim_checker.general:  # the general path counts its own
            with self._lock:
                self.calls += 1
        return found

    def start(self, texts: Any, table: bytes) -> Any:
        assert self.inner.claim_checker is not None
        self.batch_sizes.append(len(texts))
        return self.inner.claim_checker.start(texts, table)

    def backend(self) -> Backend:
        checker = self.inner.claim_checker
        if checker is not None:
            checker = dataclasses.replace(checker, check=self.check, start=self.start)
        return dataclasses.replace(self.inner, verify=self.verify, verify_payload=self.verify_payload,
                                   verify_batch=self.verify_batch,
                                   claim_checker=checker)


def test_same_claim_costs_one_signature_check(issuer: Issuer) -> None:
    counter = Counting()
    v = hc.ClaimVerifier(issuer.key_set(), container_id=CID, backend=counter.backend())
    for form in ("compact", "json", "dict"):
        claim = issuer.container_claim(container_id=CID, now=NOW, form=form, sub=form)
        for _ in range(5):
            assert v.verify(claim, now=NOW).sub == form
    assert counter.calls == 3


def test_exact_match_only(issuer: Issuer) -> None:
    counter = Counting()
    v = hc.ClaimVerifier(issuer.key_set(), container_id=CID, backend=counter.backend())
    claim = issuer.container_claim(container_id=CID, now=NOW, form="dict")
    v.verify(claim, now=NOW)
    upper = {**claim, "signature_hex": claim["signature_hex"].upper()}
    v.verify(upper, now=NOW)
    assert counter.calls == 2
    forged = {**claim, "signature_hex": "0" * 128}
    with pytest.raises(hc.InvalidSignature):
        v.verify(forged, now=NOW)


def test_remembered_claim_still_expires(issuer: Issuer) -> None:
    counter = Counting()
    v = hc.ClaimVerifier(issuer.key_set(), container_id=CID, backend=counter.backend(), leeway=0)
    claim = issuer.container_claim(container_id=CID, iat=NOW, exp=NOW + 10)
    assert v.verify(claim, now=NOW).exp == NOW + 10
    assert v.verify(claim, now=NOW + 9).exp == NOW + 10
    with pytest.raises(hc.ClaimExpired):
        v.verify(claim, now=NOW + 10)
    with pytest.raises(hc.ClaimExpired):
        v.verify(claim, now=NOW + 5000)


def test_policy_and_time_rechecked_on_every_hit(issuer: Issuer) -> None:
    v = hc.ClaimVerifier(issuer.key_set(), container_id=CID, max_age=60)
    claim = issuer.container_claim(container_id=CID, iat=NOW, exp=NOW + 1000)
    v.verify(claim, now=NOW)
    with pytest.raises(hc.PolicyDenied):
        v.verify(claim, now=NOW + 61)


def test_bounded(issuer: Issuer) -> None:
    counter = Counting()
    v = hc.ClaimVerifier(issuer.key_set(), container_id=CID, backend=counter.backend(), cache_size=3)
    claims = [issuer.container_claim(container_id=CID, now=NOW, sub=str(i)) for i in range(5)]
    for c in claims:
        v.verify(c, now=NOW)
    assert counter.calls == 5
    v.verify(claims[4], now=NOW)  # still remembered
    assert counter.calls == 5
    v.verify(claims[0], now=NOW)  # evicted long ago
    assert counter.calls == 6


def test_forgotten_when_the_key_set_changes(issuer: Issuer) -> None:
    counter = Counting()
    srv = KeyServer().start()
    try:
        srv.serve_document(issuer.key_document())
        clock = [float(NOW)]
        store = hc.KeyStore(srv.api_base, cache_dir=None, ttl=100, clock=lambda: clock[0])
        v = hc.ClaimVerifier(store, container_id=CID, backend=counter.backend(), clock=lambda: clock[0])
        claim = issuer.container_claim(container_id=CID, now=NOW)
        v.verify(claim)
        v.verify(claim)
        assert counter.calls == 1
        srv.serve_document(issuer.key_document(extra_keys=(Issuer(kid="k9"),)))
        clock[0] += 101
        v.verify(claim)
        assert counter.calls == 2
        # The key itself is revoked: the remembered claim must not outlive it.
        srv.serve_document(Issuer(kid="k9").key_document())
        clock[0] += 101
        with pytest.raises(hc.UnknownKey):
            v.verify(claim)
    finally:
        srv.stop()


@pytest.mark.parametrize("backend", ["native", "pynacl"])
@pytest.mark.parametrize("how", ["verify", "averify", "verify_many", "json-dict"])
def test_a_key_revoked_after_a_rotation_does_not_stay_remembered(backend: str, how: str) -> None:
    # The key set read at the start of a check is {k1}; the claim's kid k2 makes the store
    # fetch {k1, k2}, and the claim verifies. When the set goes back to {k1} (k2 revoked),
    # the claim must be refused, exactly as a verifier that never saw it refuses it.
    k1, k2 = Issuer(kid="k1"), Issuer(kid="k2")
    srv = KeyServer().start()
    try:
        srv.serve_document(k1.key_document())
        store = hc.KeyStore(srv.api_base, cache_dir=None, min_refresh_interval=0)
        v = hc.ClaimVerifier(store, container_id=CID, backend=backend)
        assert sorted(store.key_set().keys) == ["k1"]
        claim: Any = k2.container_claim(container_id=CID, now=NOW, form="json")
        if how == "json-dict":
            claim = json.loads(claim)  # a dict takes the general path on every backend

        def check() -> hc.Claim:
            if how == "averify":
                return asyncio.run(v.averify(claim, now=NOW))
            if how == "verify_many":
                result = v.verify_many([claim], now=NOW)[0]
                if isinstance(result, hc.HoodyClaimsError):
                    raise result
                return result
            return v.verify(claim, now=NOW)

        srv.serve_document(k1.key_document(extra_keys=(k2,)))
        assert check().kid == "k2"  # nothing else is checked before the revocation
        srv.serve_document(k1.key_document())
        store.refresh()
        with pytest.raises(hc.UnknownKey):
            check()
        with pytest.raises(hc.UnknownKey):
            hc.ClaimVerifier(store, container_id=CID, backend=backend).verify(claim, now=NOW)
    finally:
        srv.stop()


def test_failures_are_not_remembered_as_successes(issuer: Issuer) -> None:
    v = hc.ClaimVerifier(issuer.key_set(), container_id=CID)
    wrong = issuer.container_claim(container_id="fedcba9876543210fedcba98", now=NOW)
    for _ in range(3):
        with pytest.raises(hc.WrongContainer):
            v.verify(wrong, now=NOW)


def test_verify_many_uses_one_batch_call(issuer: Issuer) -> None:
    counter = Counting()
    v = hc.ClaimVerifier(issuer.key_set(), container_id=CID, backend=counter.backend())
    good = [issuer.container_claim(container_id=CID, now=NOW, sub=f"u{i}") for i in range(20)]
    bad_sig = Issuer(kid="k1").container_claim(container_id=CID, now=NOW)
    expired = issuer.container_claim(container_id=CID, iat=NOW - 100, exp=NOW - 50)
    claims: list[Any] = [*good[:10], bad_sig, "junk", expired, *good[10:], good[0]]
    results = v.verify_many(claims, now=NOW)
    assert len(results) == len(claims)
    assert [r.sub for r in results[:10]] == [f"u{i}" for i in range(10)]  # type: ignore[union-attr]
    assert [getattr(r, "code", None) for r in results[10:13]] == ["INVALID_SIGNATURE", "MALFORMED_CLAIM", "CLAIM_EXPIRED"]
    assert [r.sub for r in results[13:]] == [f"u{i}" for i in range(10, 20)] + ["u0"]  # type: ignore[union-attr]
    # One batch of all 24, every one sent to the native check (the junk is refused there before
    # any signature work; good[0]'s second copy is sent too: nothing is remembered before the
    # batch starts).
    assert counter.batch_sizes == [24]
    assert v.verify_many(good, now=NOW) == [v.verify(c, now=NOW) for c in good]
    assert counter.batch_sizes == [24] and counter.calls == 0  # all remembered: no batch at all
    later = v.verify_many(good[:2], now=NOW + 10_000)
    assert [getattr(r, "code", None) for r in later] == ["CLAIM_EXPIRED", "CLAIM_EXPIRED"]


class _Interrupted(Exception):
    pass


def test_verify_many_interrupted_cancels_its_batch(issuer: Issuer) -> None:
    # The batch verify_many starts is wrapped so that its third take raises, as a Ctrl-C
    # landing there would: verify_many must pass the exception on and cancel the batch, so
    # the claims not yet started are never checked, and the verifier works afterwards.
    inner = get_backend("native")
    assert inner.claim_checker is not None
    seen: dict[str, Any] = {}

    class Failing:
        def __init__(self, batch: Any) -> None:
            self.batch = batch
            self.takes = 0

        def take(self, at_least: int) -> Any:
            self.takes += 1
            if self.takes == 3:
                raise _Interrupted
            return self.batch.take(at_least)

        def cancel(self) -> None:
            seen["cancelled"] = True
            self.batch.cancel()

        def join(self) -> None:
            self.batch.join()

        def wait(self) -> Any:
            return self.batch.wait()

    def start(texts: Any, table: bytes) -> Any:
        assert inner.claim_checker is not None
        seen["batch"] = batch = inner.claim_checker.start(texts, table)
        return Failing(batch)

    checker = dataclasses.replace(inner.claim_checker, start=start)
    v = hc.ClaimVerifier(issuer.key_set(), container_id=CID,
                         backend=dataclasses.replace(inner, claim_checker=checker))
    claims = [issuer.container_claim(container_id=CID, now=NOW, sub=f"u{i}") for i in range(1500)]
    with pytest.raises(_Interrupted):
        v.verify_many(claims, now=NOW)
    assert seen.get("cancelled") is True
    batch = seen.pop("batch")
    with pytest.raises(RuntimeError, match="cancelled"):
        batch.wait()
    checked = sum(1 for code in batch._status[0:1500] if code == 0)  # status HC_OK
    assert 16 <= checked < 1500  # two takes of >= 8 were done; the rest was never started
    assert [r.sub for r in v.verify_many(claims[:20], now=NOW)] == [f"u{i}" for i in range(20)]  # type: ignore[union-attr]


def test_verify_many_large_mixed_batches_match_one_by_one(issuer: Issuer) -> None:
    counter = Counting()
    stranger = Issuer(kid="k1")
    claims: list[Any] = []
    for i in range(300):
        kind = i % 5
        if kind == 0:
            claims.append(stranger.container_claim(container_id=CID, now=NOW, sub=f"s{i}"))
        elif kind == 1:
            claims.append(issuer.container_claim(container_id="fedcba9876543210fedcba98", now=NOW))
        elif kind == 2:
            claims.append("garbage" * (i % 3))
        else:
            claims.append(issuer.container_claim(container_id=CID, now=NOW, sub=f"u{i}", form="json"))
    claims += claims[:50]  # repeats, some already remembered by then
    many = hc.ClaimVerifier(issuer.key_set(), container_id=CID, backend=counter.backend())
    one = hc.ClaimVerifier(issuer.key_set(), container_id=CID)

    def outcome(r: object) -> str:
        return r.code if isinstance(r, hc.HoodyClaimsError) else r.sub  # type: ignore[attr-defined]

    expected = []
    for c in claims:
        try:
            expected.append(one.verify(c, now=NOW).sub)
        except hc.HoodyClaimsError as exc:
            expected.append(exc.code)
    assert [outcome(r) for r in many.verify_many(claims, now=NOW)] == expected
    # One batch of every text: the junk (kind 2) goes to the native check, which refuses it
    # before any signature work (calls stays 0: the general path that then words the error
    # verifies nothing); repeats are sent too, since nothing is remembered before it starts.
    assert counter.batch_sizes == [350] and counter.calls == 0
    # Run again, everything but the failures is remembered: only those are sent.
    assert [outcome(r) for r in many.verify_many(claims, now=NOW)] == expected
    assert counter.batch_sizes == [350, 140] and counter.calls == 0


def test_verify_many_matches_verify_one_by_one(issuer: Issuer) -> None:
    claims = [issuer.container_claim(container_id=CID, now=NOW, sub=f"u{i}", signed_data="raw" if i % 2 else "b64")
              for i in range(8)]
    for mode in ("b64", "raw", "auto"):
        one = hc.ClaimVerifier(issuer.key_set(), container_id=CID, signed_data=mode)  # type: ignore[arg-type]
        many = hc.ClaimVerifier(issuer.key_set(), container_id=CID, signed_data=mode)  # type: ignore[arg-type]
        expected = []
        for c in claims:
            try:
                expected.append(one.verify(c, now=NOW).sub)
            except hc.HoodyClaimsError as exc:
                expected.append(exc.code)
        got = [r.code if isinstance(r, hc.HoodyClaimsError) else r.sub for r in many.verify_many(claims, now=NOW)]
        assert got == expected


def test_threads_share_a_verifier(issuer: Issuer) -> None:
    v = hc.ClaimVerifier(issuer.key_set(), container_id=CID, cache_size=50)
    claims = [issuer.container_claim(container_id=CID, now=NOW, sub=f"u{i}") for i in range(200)]
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for i in range(400):
                c = claims[(i * 7 + offset) % 200]
                assert v.verify(c, now=NOW).sub == f"u{(i * 7 + offset) % 200}"
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_verify_many_refuses_a_single_claim(issuer: Issuer) -> None:
    v = hc.ClaimVerifier(issuer.key_set(), container_id=CID)
    token = issuer.container_claim(container_id=CID, now=NOW)
    with pytest.raises(TypeError):
        v.verify_many(token, now=NOW)
    with pytest.raises(TypeError):
        v.verify_many(token.encode(), now=NOW)
    assert v.verify_many((token,), now=NOW)[0].sub == "user-1"  # type: ignore[union-attr]


def test_a_claim_checked_under_old_keys_is_never_served_under_new_ones(issuer: Issuer) -> None:
    from hoody_claims.claim_cache import RememberedClaims

    claim = hc.ClaimVerifier(issuer.key_set(), container_id=CID).verify(
        issuer.container_claim(container_id=CID, now=NOW), now=NOW)
    cache = RememberedClaims(8)
    assert cache.get("c", "new-keys", NOW) is None  # one thread already sees the new key set
    cache.put("c", "old-keys", claim)  # a slower thread finishes a check made with the old one
    assert cache.get("c", "new-keys", NOW) is None
    assert len(cache) == 0
    cache.put("c", "new-keys", claim)
    assert cache.get("c", "new-keys", NOW) is claim
    # A late put under the old keys is dropped; it does not empty what the new keys checked.
    cache.put("late", "old-keys", claim)
    cache.put_many([("late", claim)], "old-keys")
    assert cache.get("c", "new-keys", NOW) is claim and cache.get("late", "new-keys", NOW) is None
    assert cache.get("c", "old-keys", NOW) is None  # a lookup under other keys empties it
    assert cache.get("c", "new-keys", NOW) is None
    assert cache.get("c", "new-keys", claim.exp) is None and len(cache) == 0  # never at exp


@pytest.mark.parametrize("backend", ["native", "pynacl", "cryptography"])
@pytest.mark.parametrize("form", ["json", "dict"])
@pytest.mark.parametrize("order", ["new-first", "remembered-first"])
def test_verify_many_answers_every_claim_under_the_key_set_it_ends_with(
    backend: str, form: str, order: str
) -> None:
    # X is remembered under {a}. The server now serves {b} only, and a batch holds X and Y
    # (kid b): Y makes the store refresh to {b}. X must then be refused as a single verify
    # refuses it, wherever it stands in the batch, not answered from the memory of {a}.
    a, b = Issuer(kid="a"), Issuer(kid="b")
    srv = KeyServer().start()
    try:
        srv.serve_document(a.key_document())
        store = hc.KeyStore(srv.api_base, cache_dir=None, min_refresh_interval=0)
        v = hc.ClaimVerifier(store, container_id=CID, backend=backend)
        x = a.container_claim(container_id=CID, now=NOW, form=form, sub="x")
        y = b.container_claim(container_id=CID, now=NOW, form=form, sub="y")
        assert v.verify(x, now=NOW).sub == "x"
        assert v.verify_many([x], now=NOW)[0].sub == "x"  # type: ignore[union-attr]
        srv.serve_document(b.key_document())
        batch = [y, x] if order == "new-first" else [x, y]
        results = v.verify_many(batch, now=NOW)
        found = dict(zip(("y", "x") if order == "new-first" else ("x", "y"), results))
        assert isinstance(found["y"], hc.Claim) and found["y"].sub == "y"
        assert isinstance(found["x"], hc.UnknownKey), found["x"]
        with pytest.raises(hc.UnknownKey):
            v.verify(x, now=NOW)
        # And the claims checked under {b} are remembered under it.
        assert [r.sub for r in v.verify_many([y, y], now=NOW)] == ["y", "y"]  # type: ignore[union-attr]
    finally:
        srv.stop()
