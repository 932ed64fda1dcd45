"""Hypothesis properties: mint→verify round-trips, and any single-byte change is refused
with a HoodyClaimsError (never another exception)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hoody_claims as hc
from hoody_claims.backends import get_backend
from hoody_claims.testing import Issuer

CID = "0123456789abcdef01234567"
NOW = 1_800_000_000
ISSUER = Issuer(kid="prop")
KEYS = ISSUER.key_set()
BACKENDS = [get_backend(n) for n in ("native", "pynacl", "cryptography")]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_leaf = st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.text(max_size=20)
json_value = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
extra_fields = st.dictionaries(
    st.text(max_size=12).filter(lambda k: k not in {
        "claim_type", "sub", "type", "container_id", "containerId", "project_id", "projectId",
        "aud", "iat", "exp", "nbf"}),
    json_value, max_size=5)


@SETTINGS
@given(sub=st.text(max_size=40), user_type=st.text(max_size=10), extra=extra_fields,
       iat=st.integers(NOW - 10**6, NOW), ttl=st.integers(31, 10**6),
       form=st.sampled_from(["compact", "json", "dict"]), signed=st.sampled_from(["b64", "raw"]),
       backend_index=st.integers(0, 2))
def test_mint_then_verify_round_trips(sub: str, user_type: str, extra: dict[str, Any], iat: int, ttl: int,
                                      form: str, signed: str, backend_index: int) -> None:
    claim = ISSUER.container_claim(container_id=CID, sub=sub, type=user_type, iat=iat, exp=NOW + ttl,
                                   extra=extra, form=form, signed_data=signed)  # type: ignore[arg-type]
    v = hc.ClaimVerifier(KEYS, container_id=CID, signed_data="auto", backend=BACKENDS[backend_index])
    got = v.verify(claim, now=NOW)
    assert (got.sub, got.type, got.iat, got.exp, got.container_id) == (sub, user_type, iat, NOW + ttl, CID)
    for key, value in extra.items():
        assert json.dumps(got.payload[key], default=lambda m: dict(m)) == json.dumps(value)


def _mutations(data: bytes) -> st.SearchStrategy[bytes]:
    return st.tuples(st.integers(0, len(data) - 1), st.integers(1, 255)).map(
        lambda t: data[: t[0]] + bytes([data[t[0]] ^ t[1]]) + data[t[0] + 1:])


CLAIM_JSON = ISSUER.container_claim(container_id=CID, now=NOW, form="json").encode()
CLAIM_COMPACT = ISSUER.container_claim(container_id=CID, now=NOW).encode()


def _semantically_same(text: bytes) -> bool:
    """A flip of JSON whitespace or of hex-digit case changes nothing a signature covers."""
    try:
        a = json.loads(text)
        b = json.loads(CLAIM_JSON)
    except ValueError:
        return False
    if not isinstance(a, dict):
        return False
    return a.get("kid") == b["kid"] and a.get("payload_b64") == b["payload_b64"] and \
        str(a.get("signature_hex", "")).lower() == b["signature_hex"] and set(a) == set(b)


@SETTINGS
@given(data=st.data(), backend_index=st.integers(0, 2))
def test_any_byte_change_in_a_claim_is_refused(data: st.DataObject, backend_index: int) -> None:
    v = hc.ClaimVerifier(KEYS, container_id=CID, backend=BACKENDS[backend_index], cache_size=0)
    for original in (CLAIM_JSON, CLAIM_COMPACT):
        mutated = data.draw(_mutations(original))
        try:
            v.verify(mutated, now=NOW)
        except hc.HoodyClaimsError:
            continue
        # Accepted: only a change the signature does not cover may pass.
        assert original is CLAIM_JSON and _semantically_same(mutated), mutated


BODY = b'{"statusCode":200,"data":{"containers":[1,2,3]}}'
HEADER = ISSUER.sign_response(BODY, method="GET", status=200, path="/api/v1/containers", t=NOW)


@SETTINGS
@given(data=st.data(), backend_index=st.integers(0, 2), target=st.sampled_from(["header", "body"]))
def test_any_byte_change_in_a_response_is_refused(data: st.DataObject, backend_index: int, target: str) -> None:
    header, body = HEADER.encode(), BODY
    if target == "header":
        header = data.draw(_mutations(header))
    else:
        body = data.draw(_mutations(body))
    try:
        hc.verify_response(KEYS, header, method="GET", status=200, path="/api/v1/containers",
                           body=body, now=NOW, backend=BACKENDS[backend_index])
    except hc.HoodyClaimsError:
        return
    # Accepted: only a change of letter case in the method, a key name or the hex is harmless.
    assert target == "header" and header.lower() == HEADER.encode().lower()


@SETTINGS
@given(text=st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_arbitrary_header_text_never_raises_anything_else(text: str) -> None:
    try:
        hc.parse_signature_header(text)
    except hc.MalformedSignatureHeader:
        pass


@SETTINGS
@given(blob=st.binary(max_size=600) | st.text(max_size=600), backend_index=st.integers(0, 2))
def test_arbitrary_claim_input_never_raises_anything_else(blob: Any, backend_index: int) -> None:
    v = hc.ClaimVerifier(KEYS, container_id=CID, backend=BACKENDS[backend_index])
    try:
        v.verify(blob, now=NOW)
    except hc.HoodyClaimsError as exc:
        assert exc.code in hc.errors.ERRORS_BY_CODE


@SETTINGS
@given(items=st.lists(st.tuples(st.sampled_from(["t", "kid", "KID", " m", "s ", "path", "sig", "x-y", "a b", ""]),
                                st.sampled_from(["=", "", "=="]),
                                st.text(alphabet=" \t=abc/?&09,", max_size=8)), max_size=7))
def test_plain_and_quoted_splitters_agree(items: list[tuple[str, str, str]]) -> None:
    from hoody_claims.signature_header import _split_items, _split_plain

    value = ",".join(k + eq + v for k, eq, v in items)
    outcomes = []
    for split in (_split_items, _split_plain):
        try:
            outcomes.append(split(value))
        except hc.MalformedSignatureHeader:
            outcomes.append(None)
    assert outcomes[0] == outcomes[1], value
