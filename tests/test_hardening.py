"""Edges found by review: key changes the cache must notice, key sources the native check
must defer to, the lazily parsed payload, the 8 KiB payload bound, and the CLI's output."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import subprocess
import sys
from collections.abc import Iterator
from types import MappingProxyType
from typing import Any

import pytest

import hoody_claims as hc
from hoody_claims.testing import Issuer

from .conftest import CID, NOW

BACKENDS = ("native", "pynacl")


def outcome(verifier: Any, claim: Any) -> object:
    try:
        got = verifier.verify(claim, now=NOW)
    except hc.HoodyClaimsError as exc:
        return exc.code
    return got.sub


class Switchable:
    """A key source of the user's own, serving whatever KeySet it was last given."""

    def __init__(self, keys: hc.KeySet) -> None:
        self.keys = keys

    def key_set(self, *, block: bool = True) -> hc.KeySet:
        return self.keys

    def key_for(self, kid: str, *, block: bool = True) -> bytes | None:
        return self.keys.get(kid)


@pytest.mark.parametrize("name", BACKENDS)
def test_a_hand_built_key_set_change_empties_the_remembered_claims(name: str) -> None:
    old, new = Issuer(kid="a", seed=bytes(32)), Issuer(kid="b", seed=bytes(range(32)))
    claim = old.container_claim(container_id=CID, now=NOW, sub="alice")
    source = Switchable(hc.KeySet(keys={"a": old.public_key}))
    verifier = hc.ClaimVerifier(source, container_id=CID, backend=name)
    assert outcome(verifier, claim) == "alice"
    source.keys = hc.KeySet(keys={"b": new.public_key})  # the old key is gone
    assert outcome(verifier, claim) == "UNKNOWN_KEY"
    # dataclasses.replace carries no stale fingerprint either
    source.keys = hc.KeySet(keys={"a": old.public_key})
    assert outcome(verifier, claim) == "alice"
    source.keys = dataclasses.replace(source.keys, keys={"b": new.public_key})
    assert outcome(verifier, claim) == "UNKNOWN_KEY"


def test_fingerprints_follow_the_keys_only() -> None:
    a = hc.KeySet(keys={"k": bytes(32)})
    assert a.fingerprint == hc.KeySet(keys={"k": bytes(32)}, active_kid="k").fingerprint
    assert a.fingerprint != hc.KeySet(keys={"k": bytes(31) + b"\1"}).fingerprint
    # kid and key are length-prefixed: moving bytes between them changes the fingerprint
    assert hc.KeySet(keys={"k\0": bytes(32)}).fingerprint != hc.KeySet(keys={"k": b"\0" + bytes(31)}).fingerprint


class Revoking(hc.KeyStore):
    """A KeyStore subclass whose key_for refuses one kid that its key set still lists."""

    def key_for(self, kid: str, *, block: bool = True) -> bytes | None:
        return None if kid == "k1" else super().key_for(kid, block=block)


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("form", ["compact", "json", "dict"])
def test_the_native_check_defers_to_a_custom_key_for(issuer: Issuer, name: str, form: str) -> None:
    store = Revoking(pinned=issuer.key_set())
    verifier = hc.ClaimVerifier(store, container_id=CID, backend=name)
    claim = issuer.container_claim(container_id=CID, now=NOW, form=form)
    assert outcome(verifier, claim) == "UNKNOWN_KEY"
    assert [getattr(r, "code", None) for r in verifier.verify_many([claim], now=NOW)] == ["UNKNOWN_KEY"]


def test_the_lazy_payload_reads_like_a_mappingproxy(issuer: Issuer) -> None:
    claim = issuer.container_claim(container_id=CID, now=NOW, extra={"team": {"ids": [1, 2]}, "n": 1})
    native = hc.ClaimVerifier(issuer.key_set(), container_id=CID, backend="native").verify(claim, now=NOW)
    python = hc.ClaimVerifier(issuer.key_set(), container_id=CID, backend="pynacl").verify(claim, now=NOW)
    assert isinstance(python.payload, MappingProxyType)
    for p, q in ((native.payload, python.payload), (python.payload, native.payload)):
        assert p == q and dict(p) == dict(q)
        assert p.copy() == q.copy() and type(p.copy()) is dict  # type: ignore[attr-defined]
        assert list(reversed(p)) == list(reversed(q))  # type: ignore[call-overload]
        assert (p | {"x": 1}) == (q | {"x": 1}) and ({"x": 1} | p) == ({"x": 1} | q)  # type: ignore[operator]
    with pytest.raises(TypeError):
        native.payload["n"] = 2  # type: ignore[index]
    with pytest.raises(TypeError):
        native.payload["team"]["ids"] += (3,)  # type: ignore[index]


@pytest.fixture
def int_digits_limit() -> Iterator[None]:
    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(1000)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(before)


@pytest.mark.parametrize("name", BACKENDS)
def test_a_lowered_int_limit_refuses_at_verify_not_later(issuer: Issuer, name: str, int_digits_limit: None) -> None:
    payload = (b'{"claim_type": "container", "sub": "u", "container_id": "' + CID.encode()
               + b'", "iat": ' + str(NOW).encode() + b', "exp": ' + str(NOW + 60).encode()
               + b', "big": ' + b"7" * 2000 + b"}")
    claim = issuer.sign_payload(payload)
    verifier = hc.ClaimVerifier(issuer.key_set(), container_id=CID, backend=name)
    assert outcome(verifier, claim) == "MALFORMED_CLAIM"


@pytest.mark.parametrize("name", [*BACKENDS, "cryptography"])
@pytest.mark.parametrize("form", ["compact", "json", "dict"])
def test_the_payload_bound_is_8192_decoded_bytes(issuer: Issuer, name: str, form: str) -> None:
    verifier = hc.ClaimVerifier(issuer.key_set(), container_id=CID, backend=name)
    head = (b'{"claim_type": "container", "sub": "u", "container_id": "' + CID.encode()
            + b'", "iat": ' + str(NOW).encode() + b', "exp": ' + str(NOW + 60).encode() + b', "pad": "')
    for size, expected in ((8192, "u"), (8193, "MALFORMED_CLAIM")):
        data = head + b"x" * (size - len(head) - 2) + b'"}'
        assert len(data) == size
        payload_b64 = base64.b64encode(data).decode()
        assert len(payload_b64) == 10924  # both sizes give the longest base64 allowed
        claim = issuer.sign_encoded(payload_b64.rstrip("=") if size == 8193 else payload_b64, form=form)
        assert outcome(verifier, claim) == expected, (size, form)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "hoody_claims", *args], capture_output=True, timeout=120,
                          check=False)
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def test_cli_decode_cannot_drive_the_terminal(tmp_path: Any) -> None:
    liar = Issuer(kid='k\x1b[2J\nVALID container claim: root', seed=bytes(32))
    claim = liar.container_claim(container_id=CID, now=NOW, sub="\x1b]0;owned\x07")
    out = run_cli("decode", claim)
    assert out.returncode == 0, out.stderr
    assert "\x1b" not in out.stdout and "\x07" not in out.stdout
    assert not any(line.startswith("VALID") for line in out.stdout.splitlines())
    assert "UNVERIFIED" in out.stdout.splitlines()[0]


def test_cli_verify_survives_a_lone_surrogate(issuer: Issuer, tmp_path: Any) -> None:
    keyfile = tmp_path / "keys.json"
    keyfile.write_text(json.dumps(issuer.key_document()))
    claim = issuer.sign_payload(('{"claim_type": "container", "sub": "\\ud800\\u001b", "container_id": "' + CID
                                 + f'", "iat": {NOW}, "exp": {NOW + 60}}}').encode())
    out = run_cli("verify", claim, "--keys", str(keyfile), "--container-id", CID, "--now", str(NOW))
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith("VALID") and "\x1b" not in out.stdout and "Traceback" not in out.stderr
    out = run_cli("decode", claim)
    assert out.returncode == 0 and "Traceback" not in out.stderr


def test_a_key_set_does_not_follow_the_dict_it_was_built_from() -> None:
    a, b = Issuer(kid="a"), Issuer(kid="b")
    keys = {"a": bytearray(a.public_key)}
    key_set = hc.KeySet(keys=keys)
    fingerprint = key_set.fingerprint
    verifier = hc.ClaimVerifier(key_set, container_id=CID)
    claim = a.container_claim(container_id=CID, now=NOW, sub="alice")
    assert outcome(verifier, claim) == "alice"
    keys["a"][:] = b.public_key  # the caller reuses its dict and its buffer
    keys["b"] = bytearray(b.public_key)
    assert key_set.fingerprint == fingerprint and sorted(key_set) == ["a"]
    assert key_set.get("a") == a.public_key and isinstance(key_set.get("a"), bytes)
    assert outcome(hc.ClaimVerifier(key_set, container_id=CID), claim) == "alice"
    assert outcome(hc.ClaimVerifier(key_set, container_id=CID),
                   b.container_claim(container_id=CID, now=NOW)) == "UNKNOWN_KEY"
    with pytest.raises(TypeError):
        key_set.keys["b"] = b.public_key  # type: ignore[index]
    with pytest.raises(TypeError):
        hc.KeySet(keys={"a": 32})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        hc.KeySet(keys={1: a.public_key})  # type: ignore[dict-item]
    for short in (b"", b"abc", bytes(33)):
        with pytest.raises(ValueError, match="not 32 bytes"):
            hc.KeySet(keys={"a": short})


@pytest.mark.parametrize("now", [float("inf"), float("-inf"), float("nan"), "soon", "1800000000",
                                 b"1800000000", True, [NOW]])
def test_a_now_that_is_no_time_is_a_clear_value_error(issuer: Issuer, now: Any) -> None:
    v = hc.ClaimVerifier(issuer.key_set(), container_id=CID)
    claim = issuer.container_claim(container_id=CID, now=NOW)
    header = issuer.sign_response(b"{}", path="/x", t=NOW)
    checks = [
        lambda: v.verify(claim, now=now),
        lambda: v.verify_many([claim], now=now),
        lambda: asyncio.run(v.averify(claim, now=now)),
        lambda: hc.verify_response(issuer.key_set(), header, method="GET", status=200,
                                   path="/x", body=b"{}", now=now),
    ]
    for check in checks:
        with pytest.raises(ValueError, match="not a finite number of Unix seconds"):
            check()


def test_a_header_path_with_a_lone_surrogate_is_malformed(issuer: Issuer) -> None:
    header = issuer.sign_response(b"{}", path="/x", t=NOW).replace("path=/x", "path=/x\ud800")
    for value in (header, header.replace("path=/x\ud800", 'path="/x\ud800"')):
        with pytest.raises(hc.MalformedSignatureHeader):
            hc.parse_signature_header(value)
        with pytest.raises(hc.MalformedSignatureHeader):
            hc.verify_response(issuer.key_set(), value, method="GET", status=200,
                               path="/x\ud800", body=b"{}", now=NOW)
    assert hc.parse_signature_header(header.replace("\ud800", "\u00e9")).path == "/x\u00e9"


def test_to_compact_of_an_incomplete_or_non_ascii_claim_is_malformed(issuer: Issuer) -> None:
    for bad in ({}, {"kid": "k"}, "caf\u00e9"):
        with pytest.raises(hc.MalformedClaim):
            hc.to_compact(bad)
    claim = issuer.container_claim(container_id=CID, now=NOW, form="dict")
    assert hc.ClaimVerifier(issuer.key_set(), container_id=CID).verify(
        hc.to_compact(claim), now=NOW).sub == "user-1"
