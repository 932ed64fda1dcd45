"""SPEC §2, rule by rule: each edge case asserts its exact error code, on every backend."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

import hoody_claims as hc
from hoody_claims.backends import Backend
from hoody_claims.testing import Issuer

from .conftest import CID, NOW, OTHER_CID, OTHER_PID, PID


def verifier(issuer: Issuer, backend: Backend, **kw: Any) -> hc.ClaimVerifier:
    kw.setdefault("container_id", CID)
    return hc.ClaimVerifier(issuer.key_set(), backend=backend, **kw)


def payload(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"claim_type": "container", "sub": "u1", "type": "user",
                            "container_id": CID, "iat": NOW - 10, "exp": NOW + 600}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not _DROP}


_DROP = object()


def code_of(v: hc.ClaimVerifier | hc.IdentityVerifier, claim: Any, now: int = NOW) -> str:
    with pytest.raises(hc.HoodyClaimsError) as info:
        v.verify(claim, now=now)
    return info.value.code


# -- step 1: size and shape ---------------------------------------------------------------

def test_valid_claim_in_every_form(issuer: Issuer, backend: Backend) -> None:
    v = verifier(issuer, backend)
    for form in ("compact", "json", "dict"):
        claim = issuer.container_claim(container_id=CID, now=NOW, form=form)
        got = v.verify(claim, now=NOW)
        assert (got.container_id, got.sub, got.kid, got.claim_type) == (CID, "user-1", "k1", "container")
    as_bytes = issuer.container_claim(container_id=CID, now=NOW, form="json").encode()
    assert v.verify(as_bytes, now=NOW).sub == "user-1"


@pytest.mark.parametrize("mutate", [
    pytest.param(lambda c: {k: v for k, v in c.items() if k != "kid"}, id="no-kid"),
    pytest.param(lambda c: {k: v for k, v in c.items() if k != "payload_b64"}, id="no-payload"),
    pytest.param(lambda c: {k: v for k, v in c.items() if k != "signature_hex"}, id="no-signature"),
    pytest.param(lambda c: {**c, "kid": 1}, id="kid-not-string"),
    pytest.param(lambda c: {**c, "payload_b64": ["x"]}, id="payload-not-string"),
    pytest.param(lambda c: {**c, "signature_hex": None}, id="signature-null"),
    pytest.param(lambda c: {**c, "signature_hex": c["signature_hex"][:-1]}, id="sig-127-digits"),
    pytest.param(lambda c: {**c, "signature_hex": c["signature_hex"] + "0"}, id="sig-129-digits"),
    pytest.param(lambda c: {**c, "signature_hex": "g" + c["signature_hex"][1:]}, id="sig-not-hex"),
    pytest.param(lambda c: {**c, "signature_hex": " " + c["signature_hex"][1:]}, id="sig-space"),
    pytest.param(lambda c: {**c, "payload_b64": "A" * 11000}, id="payload-over-8KiB"),
    pytest.param(lambda c: {**c, "payload_b64": c["payload_b64"] + "é"}, id="payload-not-ascii"),
])
def test_shape_errors_are_malformed(issuer: Issuer, backend: Backend, mutate: Any) -> None:
    claim = mutate(issuer.container_claim(container_id=CID, now=NOW, form="dict"))
    v = verifier(issuer, backend)
    assert code_of(v, claim) == "MALFORMED_CLAIM"
    assert code_of(v, json.dumps(claim)) == "MALFORMED_CLAIM"


def test_uppercase_signature_hex_is_accepted(issuer: Issuer, backend: Backend) -> None:
    claim = issuer.container_claim(container_id=CID, now=NOW, form="dict")
    claim["signature_hex"] = claim["signature_hex"].upper()
    assert verifier(issuer, backend).verify(claim, now=NOW).container_id == CID


@pytest.mark.parametrize("text", [
    "", "{", "[]", '"claim"', "null", "not a claim!", "e30",  # e30 = compact of "{}"
    '{"kid":"k1","kid":"k1","payload_b64":"e30=","signature_hex":"' + "0" * 128 + '"}',
    "{" + '"x":[' * 40 + "]" * 40 + "}",
])
def test_unparseable_claim_text_is_malformed(issuer: Issuer, backend: Backend, text: str) -> None:
    assert code_of(verifier(issuer, backend), text) == "MALFORMED_CLAIM"


def test_claim_text_over_16_kib_is_malformed(issuer: Issuer, backend: Backend) -> None:
    claim = issuer.container_claim(container_id=CID, now=NOW, form="dict")
    v = verifier(issuer, backend)
    small = json.dumps({**claim, "pad": "x" * (16 * 1024 - 400)})
    assert v.verify(small, now=NOW).sub == "user-1"  # unknown members are ignored
    big = json.dumps({**claim, "pad": "x" * (16 * 1024)})
    assert code_of(v, big) == "MALFORMED_CLAIM"
    assert code_of(v, hc.to_compact(big)) == "MALFORMED_CLAIM"


@pytest.mark.parametrize("bad", [3, 3.5, None, ["a"], object()])
def test_claim_of_wrong_python_type_is_malformed(issuer: Issuer, backend: Backend, bad: Any) -> None:
    assert code_of(verifier(issuer, backend), bad) == "MALFORMED_CLAIM"


def test_shape_is_checked_before_the_key(issuer: Issuer, backend: Backend) -> None:
    claim = issuer.container_claim(container_id=CID, now=NOW, form="dict")
    assert code_of(verifier(issuer, backend), {**claim, "kid": "nope", "signature_hex": "zz"}) == "MALFORMED_CLAIM"


# -- step 2: key ---------------------------------------------------------------------------

def test_unknown_kid(issuer: Issuer, backend: Backend) -> None:
    stranger = Issuer(kid="other")
    claim = stranger.container_claim(container_id=CID, now=NOW)
    assert code_of(verifier(issuer, backend), claim) == "UNKNOWN_KEY"


# -- step 3: signature ---------------------------------------------------------------------

def test_signature_by_another_key_under_a_known_kid(issuer: Issuer, backend: Backend) -> None:
    impostor = Issuer(kid="k1")
    claim = impostor.container_claim(container_id=CID, now=NOW)
    assert code_of(verifier(issuer, backend), claim) == "INVALID_SIGNATURE"


def test_signature_is_checked_before_the_payload(issuer: Issuer, backend: Backend) -> None:
    claim = issuer.container_claim(container_id=CID, now=NOW, form="dict")
    claim["payload_b64"] = "!!not base64!!"
    assert code_of(verifier(issuer, backend), claim) == "INVALID_SIGNATURE"


@pytest.mark.parametrize("mode,signed,expected", [
    ("b64", "b64", None), ("b64", "raw", "INVALID_SIGNATURE"),
    ("raw", "raw", None), ("raw", "b64", "INVALID_SIGNATURE"),
    ("auto", "b64", None), ("auto", "raw", None),
])
def test_signed_data_modes(issuer: Issuer, backend: Backend, mode: str, signed: str, expected: str | None) -> None:
    v = verifier(issuer, backend, signed_data=mode)
    claim = issuer.container_claim(container_id=CID, now=NOW, signed_data=signed)
    if expected is None:
        assert v.verify(claim, now=NOW).container_id == CID
    else:
        assert code_of(v, claim) == expected


def test_raw_mode_refuses_a_payload_that_does_not_decode_strictly(issuer: Issuer, backend: Backend) -> None:
    body = json.dumps(payload()).encode()
    claim = issuer.sign_encoded(base64.b64encode(body).decode() + "\n", message=body)
    assert code_of(verifier(issuer, backend, signed_data="raw"), claim) == "MALFORMED_CLAIM"


# -- step 4: payload -----------------------------------------------------------------------

def signed_b64(issuer: Issuer, payload_b64: str) -> str:
    return issuer.sign_encoded(payload_b64)  # type: ignore[no-any-return]


GOOD = json.dumps(payload()).encode()


@pytest.mark.parametrize("payload_b64", [
    pytest.param(base64.b64encode(GOOD).decode() + "!", id="stray-char"),
    pytest.param(base64.b64encode(GOOD).decode()[:8] + "\n" + base64.b64encode(GOOD).decode()[8:], id="newline"),
    pytest.param(base64.b64encode(GOOD).decode()[:8] + " " + base64.b64encode(GOOD).decode()[8:], id="space"),
    pytest.param("=" + base64.b64encode(GOOD).decode().rstrip("="), id="misplaced-padding"),
    pytest.param(base64.b64encode(b'{"a":1}').decode() + "==", id="too-much-padding"),
    pytest.param("e30x", id="length-1-mod-4-after-decode"),
    pytest.param("e31=", id="nonzero-pad-bits"),
    pytest.param("eyJh+-", id="mixed-alphabets"),
])
def test_payload_base64_is_strict(issuer: Issuer, backend: Backend, payload_b64: str) -> None:
    assert code_of(verifier(issuer, backend), signed_b64(issuer, payload_b64)) == "MALFORMED_CLAIM"


def test_payload_accepts_both_alphabets_and_optional_padding(issuer: Issuer, backend: Backend) -> None:
    v = verifier(issuer, backend)
    body = json.dumps(payload(sub="ÿÿ>>??")).encode()  # non-ASCII puts + and / in the encoding
    for text in (base64.b64encode(body).decode(), base64.urlsafe_b64encode(body).decode()):
        for candidate in (text, text.rstrip("=")):
            assert v.verify(signed_b64(issuer, candidate), now=NOW).sub == "ÿÿ>>??"


def nested(depth: int) -> bytes:
    inner = "1"
    for _ in range(depth - 1):
        inner = "[" + inner + "]"
    return (json.dumps(payload())[:-1] + ', "deep": ' + inner + "}").encode()


@pytest.mark.parametrize("body", [
    pytest.param(b"[1, 2]", id="array"),
    pytest.param(b'"text"', id="string"),
    pytest.param(b"\xff\xfe{}", id="invalid-utf8"),
    pytest.param(b'{"sub": "\xed\xa0\x80"}', id="utf8-encoded-surrogate"),
    pytest.param(nested(33), id="depth-33"),
    pytest.param(json.dumps(payload())[:-1].encode() + b', "sub": "again"}', id="duplicate-key"),
    pytest.param(json.dumps(payload(meta={"a": 1}))[:-2].encode() + b', "a": 2}}', id="duplicate-nested"),
    pytest.param(json.dumps(payload())[:-1].encode() + b', "s\\u0075b": "x"}', id="duplicate-escaped"),
    pytest.param(json.dumps(payload(containerId=CID)).encode(), id="both-container-spellings"),
    pytest.param(json.dumps(payload(project_id=PID, projectId=PID)).encode(), id="both-project-spellings"),
    pytest.param(json.dumps(payload(exp=_DROP)).encode(), id="no-exp"),
    pytest.param(json.dumps(payload(iat=_DROP)).encode(), id="no-iat"),
    pytest.param(json.dumps(payload(exp=True)).encode(), id="exp-true"),
    pytest.param(json.dumps(payload(exp=NOW + 0.5)).encode(), id="exp-float"),
    pytest.param(json.dumps(payload(iat=str(NOW))).encode(), id="iat-string"),
    pytest.param(json.dumps(payload(exp=1)).replace('"exp": 1', '"exp": 1e400').encode(), id="exp-1e400"),
    pytest.param(json.dumps(payload())[:-1].encode() + b', "exp2": Infinity}', id="infinity"),
    pytest.param(json.dumps(payload())[:-1].encode() + b', "x": NaN}', id="nan"),
    pytest.param(json.dumps(payload(nbf="1")).encode(), id="nbf-string"),
    pytest.param(json.dumps(payload(sub=5)).encode(), id="sub-not-string"),
    pytest.param(json.dumps(payload(container_id=["x"])).encode(), id="container-id-list"),
])
def test_payload_errors_are_malformed(issuer: Issuer, backend: Backend, body: bytes) -> None:
    claim = signed_b64(issuer, base64.b64encode(body).decode())
    assert code_of(verifier(issuer, backend), claim) == "MALFORMED_CLAIM"


def test_null_nbf_counts_as_absent(issuer: Issuer, backend: Backend) -> None:
    claim = signed_b64(issuer, base64.b64encode(json.dumps(payload(nbf=None)).encode()).decode())
    assert verifier(issuer, backend).verify(claim, now=NOW).nbf is None


def test_depth_32_is_accepted(issuer: Issuer, backend: Backend) -> None:
    claim = signed_b64(issuer, base64.b64encode(nested(31)).decode())  # object + 31 arrays = 32
    assert verifier(issuer, backend).verify(claim, now=NOW).payload["deep"] is not None


def test_unknown_fields_are_kept_read_only(issuer: Issuer, backend: Backend) -> None:
    claim = issuer.container_claim(container_id=CID, now=NOW, extra={"team": {"name": "x", "ids": [1, 2]}})
    got = verifier(issuer, backend).verify(claim, now=NOW)
    assert got.payload["team"]["name"] == "x" and tuple(got.payload["team"]["ids"]) == (1, 2)
    with pytest.raises(TypeError):
        got.payload["team"]["name"] = "y"  # type: ignore[index]
    with pytest.raises(TypeError):
        got.payload["sub"] = "root"  # type: ignore[index]


def test_camel_case_spellings(issuer: Issuer, backend: Backend) -> None:
    body = json.dumps(payload(container_id=_DROP, containerId=CID, projectId=PID)).encode()
    got = verifier(issuer, backend, project_id=PID).verify(signed_b64(issuer, base64.b64encode(body).decode()), now=NOW)
    assert (got.container_id, got.project_id) == (CID, PID)


# -- step 5: type --------------------------------------------------------------------------

def test_identity_claim_is_not_a_container_claim(issuer: Issuer, backend: Backend) -> None:
    claim = issuer.identity_claim(audience="app", now=NOW, extra={"container_id": CID})
    assert code_of(verifier(issuer, backend), claim) == "WRONG_CLAIM_TYPE"


def test_container_claim_is_not_an_identity_claim(issuer: Issuer, backend: Backend) -> None:
    v = hc.IdentityVerifier(issuer.key_set(), audience="app", backend=backend)
    claim = issuer.container_claim(container_id=CID, now=NOW, extra={"aud": "app"})
    assert code_of(v, claim) == "WRONG_CLAIM_TYPE"


def test_missing_claim_type_is_the_wrong_type(issuer: Issuer, backend: Backend) -> None:
    body = json.dumps(payload(claim_type=_DROP)).encode()
    assert code_of(verifier(issuer, backend), signed_b64(issuer, base64.b64encode(body).decode())) == "WRONG_CLAIM_TYPE"


# -- step 6: time --------------------------------------------------------------------------

@pytest.mark.parametrize("leeway", [0, 30])
def test_expiry_boundary(issuer: Issuer, backend: Backend, leeway: int) -> None:
    exp = NOW + 100
    claim = issuer.container_claim(container_id=CID, iat=NOW - 10, exp=exp)
    v = verifier(issuer, backend, leeway=leeway, cache_size=0)
    assert v.verify(claim, now=exp + leeway - 1).exp == exp
    assert code_of(v, claim, now=exp + leeway) == "CLAIM_EXPIRED"
    assert code_of(v, claim, now=exp + leeway + 10_000) == "CLAIM_EXPIRED"


@pytest.mark.parametrize("field", ["iat", "nbf"])
def test_not_yet_valid_boundary(issuer: Issuer, backend: Backend, field: str) -> None:
    start = NOW + 100
    times = {"iat": start} if field == "iat" else {"iat": NOW - 10, "nbf": start}
    claim = issuer.container_claim(container_id=CID, exp=NOW + 1000, **times)
    v = verifier(issuer, backend, leeway=30)
    assert v.verify(claim, now=start - 30).sub == "user-1"
    assert code_of(v, claim, now=start - 31) == "CLAIM_NOT_YET_VALID"


def test_now_defaults_to_the_clock(issuer: Issuer, backend: Backend) -> None:
    v = verifier(issuer, backend, clock=lambda: NOW + 10_000)
    assert code_of(v, issuer.container_claim(container_id=CID, now=NOW), now=None) == "CLAIM_EXPIRED"
    assert v.verify(issuer.container_claim(container_id=CID, now=NOW + 10_000)).sub == "user-1"


# -- step 7: binding -----------------------------------------------------------------------

def test_wrong_container(issuer: Issuer, backend: Backend) -> None:
    assert code_of(verifier(issuer, backend), issuer.container_claim(container_id=OTHER_CID, now=NOW)) == "WRONG_CONTAINER"


def test_project_binding(issuer: Issuer, backend: Backend) -> None:
    v = verifier(issuer, backend, project_id=PID)
    assert v.verify(issuer.container_claim(container_id=CID, project_id=PID, now=NOW), now=NOW).project_id == PID
    assert code_of(v, issuer.container_claim(container_id=CID, project_id=OTHER_PID, now=NOW)) == "WRONG_PROJECT"
    assert code_of(v, issuer.container_claim(container_id=CID, now=NOW)) == "WRONG_PROJECT"
    unbound = verifier(issuer, backend)
    assert unbound.verify(issuer.container_claim(container_id=CID, project_id=OTHER_PID, now=NOW), now=NOW)


def test_container_id_from_environment(issuer: Issuer, backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOODY_CONTAINER_ID", OTHER_CID)
    v = hc.ClaimVerifier(issuer.key_set(), backend=backend)
    assert v.verify(issuer.container_claim(container_id=OTHER_CID, now=NOW), now=NOW).container_id == OTHER_CID
    assert code_of(v, issuer.container_claim(container_id=CID, now=NOW)) == "WRONG_CONTAINER"


def test_a_verifier_without_container_refuses_to_start(issuer: Issuer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOODY_CONTAINER_ID", raising=False)
    with pytest.raises(ValueError, match="container"):
        hc.ClaimVerifier(issuer.key_set())
    with pytest.raises(ValueError, match="container"):
        hc.ClaimVerifier(issuer.key_set(), container_id=None)


@pytest.mark.parametrize("bad", ["0123456789ABCDEF01234567", "0123", "0123456789abcdef012345678", "x" * 24, ""])
def test_configured_ids_must_be_24_lowercase_hex(issuer: Issuer, bad: str) -> None:
    with pytest.raises(ValueError):
        hc.ClaimVerifier(issuer.key_set(), container_id=bad)
    with pytest.raises(ValueError):
        hc.ClaimVerifier(issuer.key_set(), container_id=CID, project_id=bad)


def test_any_container(issuer: Issuer, backend: Backend) -> None:
    v = verifier(issuer, backend, container_id=hc.ANY_CONTAINER)
    assert v.verify(issuer.container_claim(container_id=OTHER_CID, now=NOW), now=NOW).container_id == OTHER_CID


@pytest.mark.parametrize("aud,expected", [
    ("my-app", None), (["x", "my-app"], None),
    ("my-app-evil", "WRONG_AUDIENCE"), ("my", "WRONG_AUDIENCE"), ("MY-APP", "WRONG_AUDIENCE"),
    (["my-app-evil", "my"], "WRONG_AUDIENCE"), ([], "WRONG_AUDIENCE"), (_DROP, "WRONG_AUDIENCE"),
    (5, "MALFORMED_CLAIM"), (["my-app", 5], "MALFORMED_CLAIM"), ({"aud": "my-app"}, "MALFORMED_CLAIM"),
])
def test_audience_binding(issuer: Issuer, backend: Backend, aud: Any, expected: str | None) -> None:
    v = hc.IdentityVerifier(issuer.key_set(), audience="my-app", backend=backend)
    fields = {"claim_type": "identity", "sub": "u1", "iat": NOW, "exp": NOW + 60, "aud": aud}
    claim = issuer.sign_payload({k: x for k, x in fields.items() if x is not _DROP})
    if expected is None:
        assert v.verify(claim, now=NOW).sub == "u1"
    else:
        assert code_of(v, claim) == expected


def test_identity_verifier_requires_an_audience(issuer: Issuer) -> None:
    for bad in ("", None):
        with pytest.raises(ValueError):
            hc.IdentityVerifier(issuer.key_set(), audience=bad)  # type: ignore[arg-type]


# -- step 8: policy ------------------------------------------------------------------------

def test_policy(issuer: Issuer, backend: Backend) -> None:
    admin = issuer.container_claim(container_id=CID, sub="alice", type="admin", iat=NOW - 100, exp=NOW + 100)
    user = issuer.container_claim(container_id=CID, sub="bob", type="user", iat=NOW - 100, exp=NOW + 100)
    only_admins = verifier(issuer, backend, allow_types={"admin"})
    assert only_admins.verify(admin, now=NOW).sub == "alice"
    assert code_of(only_admins, user) == "POLICY_DENIED"
    only_bob = verifier(issuer, backend, users=["bob"])
    assert only_bob.verify(user, now=NOW).sub == "bob"
    assert code_of(only_bob, admin) == "POLICY_DENIED"
    fresh = verifier(issuer, backend, max_age=100)
    assert fresh.verify(admin, now=NOW).sub == "alice"
    assert code_of(fresh, admin, now=NOW + 1) == "POLICY_DENIED"
    assert verifier(issuer, backend, allow_types="admin").verify(admin, now=NOW).type == "admin"


def test_with_policy_shares_remembered_claims(issuer: Issuer, backend: Backend) -> None:
    base = verifier(issuer, backend)
    admins = base.with_policy(allow_types={"admin"})
    user = issuer.container_claim(container_id=CID, type="user", now=NOW)
    assert base.verify(user, now=NOW).type == "user"
    assert code_of(admins, user) == "POLICY_DENIED"
    assert base.policy.allow_types is None
    projects = base.with_policy(project_id=PID)
    assert code_of(projects, user) == "WRONG_PROJECT"
    with pytest.raises(TypeError):
        base.with_policy(audience="x")


def test_errors_carry_status(issuer: Issuer, backend: Backend) -> None:
    with pytest.raises(hc.WrongContainer) as info:
        verifier(issuer, backend).verify(issuer.container_claim(container_id=OTHER_CID, now=NOW), now=NOW)
    assert info.value.status == 403 and "another container" in info.value.message


def test_fast_claim_construction_matches_the_dataclass() -> None:
    from types import MappingProxyType

    from hoody_claims.claim import claim_from_payload

    obj = payload(project_id=PID, nbf=NOW - 5, extra=1)
    got = claim_from_payload(dict(obj), "k1")
    expected = hc.Claim(kid="k1", claim_type="container", sub="u1", type="user", container_id=CID,
                        project_id=PID, aud=None, iat=NOW - 10, exp=NOW + 600, nbf=NOW - 5,
                        payload=MappingProxyType(obj))
    assert got == expected and repr(got) == repr(expected)
    with pytest.raises(AttributeError):
        got.sub = "root"  # type: ignore[misc]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1, 1.5, True, "60"])
def test_max_age_must_be_a_non_negative_integer(issuer: Issuer, bad: Any) -> None:
    with pytest.raises(ValueError):
        hc.ClaimVerifier(issuer.key_set(), container_id=CID, max_age=bad)
