"""SPEC §3: parsing X-Hoody-Signature and verifying responses, each rule with its code."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hoody_claims as hc
from hoody_claims.backends import Backend
from hoody_claims.testing import Issuer

from .conftest import NOW

SIG = "ab" * 64
BODY = b'{"statusCode":200,"data":{"id":1}}'


def parse_code(value: Any) -> str:
    with pytest.raises(hc.MalformedSignatureHeader) as info:
        hc.parse_signature_header(value)
    return info.value.code


# -- parsing -------------------------------------------------------------------------------

def test_parse_current_form() -> None:
    h = hc.parse_signature_header(f"t={NOW},kid=v1,m=get,s=200,path=/api/v1/x?a=b=c,sig={SIG}")
    assert (h.t, h.kid, h.method, h.status, h.path, h.sig) == (NOW, "v1", "GET", 200, "/api/v1/x?a=b=c", bytes.fromhex(SIG))
    assert h.bound and h.fields["m"] == "get"


def test_parse_legacy_form_keys_case_spaces_quotes_and_unknown_keys() -> None:
    h = hc.parse_signature_header(f' T = {NOW} , KID="v,1" ,  Path = "/a,b\\"c\\\\d" , x-future=1, SIG={SIG} ')
    assert (h.t, h.kid, h.path, h.method, h.status) == (NOW, "v,1", '/a,b"c\\d', None, None)
    assert not h.bound and h.fields["x-future"] == "1"


@pytest.mark.parametrize("value", [
    pytest.param(f"kid=v1,path=/,sig={SIG}", id="no-t"),
    pytest.param(f"t=1,path=/,sig={SIG}", id="no-kid"),
    pytest.param(f"t=1,kid=v1,sig={SIG}", id="no-path"),
    pytest.param("t=1,kid=v1,path=/", id="no-sig"),
    pytest.param(f"t=1,t=2,kid=v1,path=/,sig={SIG}", id="duplicate-t"),
    pytest.param(f"t=1,kid=v1,KID=v2,path=/,sig={SIG}", id="duplicate-key-any-case"),
    pytest.param(f"t=-1,kid=v1,path=/,sig={SIG}", id="t-signed"),
    pytest.param(f"t=+1,kid=v1,path=/,sig={SIG}", id="t-plus"),
    pytest.param(f"t=1_000,kid=v1,path=/,sig={SIG}", id="t-underscore"),
    pytest.param(f"t=1 0,kid=v1,path=/,sig={SIG}", id="t-inner-space"),
    pytest.param(f"t=١٢٣,kid=v1,path=/,sig={SIG}", id="t-arabic-digits"),
    pytest.param(f"t=1.5,kid=v1,path=/,sig={SIG}", id="t-fraction"),
    pytest.param(f"t=,kid=v1,path=/,sig={SIG}", id="t-empty"),
    pytest.param(f"t=1,kid=v1,path=/,sig={SIG[:-2]}", id="sig-short"),
    pytest.param(f"t=1,kid=v1,path=/,sig={SIG}00", id="sig-long"),
    pytest.param(f"t=1,kid=v1,path=/,sig={'zz' * 64}", id="sig-not-hex"),
    pytest.param(f"t=1,kid=v1,m=G3T,s=200,path=/,sig={SIG}", id="method-not-letters"),
    pytest.param(f"t=1,kid=v1,m=GET,s=20,path=/,sig={SIG}", id="status-two-digits"),
    pytest.param(f"t=1,kid=v1,m=GET,s=2OO,path=/,sig={SIG}", id="status-letters"),
    pytest.param(f"t=1,kid=v1,m=GET,path=/,sig={SIG}", id="method-without-status"),
    pytest.param(f"t=1,kid=v1,s=200,path=/,sig={SIG}", id="status-without-method"),
    pytest.param(f't=1,kid="v1,path=/,sig={SIG}', id="unterminated-quote"),
    pytest.param(f't=1,kid="v1"x,path=/,sig={SIG}', id="text-after-quote"),
    pytest.param(f"t=1,kid,path=/,sig={SIG}", id="item-without-equals"),
    pytest.param(f"t=1,,kid=v1,path=/,sig={SIG}", id="empty-item"),
    pytest.param(f"t=1,kid=v1,path=/,sig={SIG},", id="trailing-comma"),
    pytest.param(f"t=1,kid=v1,path=/\n,sig={SIG}", id="control-char"),
    pytest.param(f"t=1,kid=v1,path=relative,sig={SIG}", id="relative-path"),
    pytest.param("", id="empty"),
    pytest.param("x" * 9000, id="too-long"),
    pytest.param(b"t=1,kid=\xff", id="non-ascii-bytes"),
    pytest.param(None, id="none"),
    # U+212A KELVIN SIGN lower-cases to an ASCII "k": not the kid key, in either splitter.
    pytest.param(f"t=1,\u212aid=v1,path=/,sig={SIG}", id="kelvin-sign-kid"),
    pytest.param(f't=1,\u212aid="v1",path=/,sig={SIG}', id="kelvin-sign-kid-quoted"),
])
def test_malformed_headers(value: Any) -> None:
    assert parse_code(value) == "MALFORMED_SIGNATURE_HEADER"


# -- verification --------------------------------------------------------------------------

def check(issuer: Issuer, backend: Backend, header: str, **kw: Any) -> hc.SignatureHeader:
    args: dict[str, Any] = {"method": "GET", "status": 200, "path": "/api/v1/x", "body": BODY, "now": NOW}
    args.update(kw)
    return hc.verify_response(issuer.key_set(), header, backend=backend, **args)


def check_code(issuer: Issuer, backend: Backend, header: str, **kw: Any) -> str:
    with pytest.raises(hc.HoodyClaimsError) as info:
        check(issuer, backend, header, **kw)
    return info.value.code


def test_current_and_legacy_forms_verify(issuer: Issuer, backend: Backend) -> None:
    current = issuer.sign_response(BODY, method="GET", status=200, path="/api/v1/x", t=NOW)
    assert check(issuer, backend, current).bound
    legacy = issuer.sign_response(BODY, path="/api/v1/x", t=NOW, legacy=True)
    assert not check(issuer, backend, legacy).bound
    assert check_code(issuer, backend, legacy, require_bound=True) == "SIGNATURE_MISMATCH"


def test_body_and_fields_are_signed(issuer: Issuer, backend: Backend) -> None:
    header = issuer.sign_response(BODY, path="/api/v1/x", t=NOW)
    assert check_code(issuer, backend, header, body=BODY + b" ") == "INVALID_SIGNATURE"
    forged_t = header.replace(f"t={NOW}", f"t={NOW + 1}")
    assert check_code(issuer, backend, forged_t) == "INVALID_SIGNATURE"
    forged_path = issuer.sign_response(BODY, path="/api/v1/y", t=NOW).replace("/api/v1/y", "/api/v1/x")
    assert check_code(issuer, backend, forged_path) == "INVALID_SIGNATURE"


@pytest.mark.parametrize("kw", [{"method": "POST"}, {"status": 201}, {"path": "/api/v1/x?y=1"}, {"path": "/api/v1/X"}])
def test_bindings(issuer: Issuer, backend: Backend, kw: dict[str, Any]) -> None:
    header = issuer.sign_response(BODY, path="/api/v1/x", t=NOW)
    assert check_code(issuer, backend, header, **kw) == "SIGNATURE_MISMATCH"


def test_method_compares_case_insensitively(issuer: Issuer, backend: Backend) -> None:
    header = issuer.sign_response(BODY, method="post", status=201, path="/api/v1/x", t=NOW)
    assert check(issuer, backend, header, method="post", status=201).method == "POST"


def test_legacy_form_binds_only_path(issuer: Issuer, backend: Backend) -> None:
    legacy = issuer.sign_response(BODY, path="/api/v1/x", t=NOW, legacy=True)
    assert check(issuer, backend, legacy, method="DELETE", status=500).t == NOW
    assert check_code(issuer, backend, legacy, path="/other") == "SIGNATURE_MISMATCH"


def test_freshness(issuer: Issuer, backend: Backend) -> None:
    header = issuer.sign_response(BODY, path="/api/v1/x", t=NOW)
    assert check(issuer, backend, header, now=NOW + 300).t == NOW
    assert check(issuer, backend, header, now=NOW - 300).t == NOW
    assert check_code(issuer, backend, header, now=NOW + 301) == "STALE_SIGNATURE"
    assert check_code(issuer, backend, header, now=NOW - 301) == "STALE_SIGNATURE"
    assert check_code(issuer, backend, header, now=NOW + 11, max_skew=10) == "STALE_SIGNATURE"


def test_default_skew_comes_from_the_key_document(issuer: Issuer, backend: Backend) -> None:
    keys = hc.KeySet.from_document(issuer.key_document(replay_tolerance_seconds=20))
    header = issuer.sign_response(BODY, path="/p", t=NOW)
    args = {"method": "GET", "status": 200, "path": "/p", "body": BODY, "backend": backend}
    assert hc.verify_response(keys, header, now=NOW + 20, **args).t == NOW
    with pytest.raises(hc.StaleSignature):
        hc.verify_response(keys, header, now=NOW + 21, **args)


def test_kids(issuer: Issuer, backend: Backend) -> None:
    header = issuer.sign_response(BODY, path="/api/v1/x", t=NOW)
    assert check(issuer, backend, header, allowed_kids={"k1"}).kid == "k1"
    assert check_code(issuer, backend, header, allowed_kids={"k2"}) == "UNKNOWN_KEY"
    stranger = Issuer(kid="zz").sign_response(BODY, path="/api/v1/x", t=NOW)
    assert check_code(issuer, backend, stranger) == "UNKNOWN_KEY"


def test_paths_with_commas_and_quotes_round_trip(issuer: Issuer, backend: Backend) -> None:
    path = '/api/v1/search?q=a,b&x="y"&z=\\'
    header = issuer.sign_response(BODY, path=path, t=NOW)
    assert check(issuer, backend, header, path=path).path == path


def test_large_body(issuer: Issuer, backend: Backend) -> None:
    body = bytes(range(256)) * 256
    header = issuer.sign_response(body, method="PUT", status=204, path="/b", t=NOW)
    assert check(issuer, backend, header, body=body, method="PUT", status=204, path="/b").status == 204
    assert check_code(issuer, backend, header, body=body[:-1], method="PUT", status=204, path="/b") == "INVALID_SIGNATURE"


def test_a_string_kid_allowlist_is_one_kid_not_a_substring(issuer: Issuer, backend: Backend) -> None:
    header = issuer.sign_response(BODY, path="/api/v1/x", t=NOW)
    assert check(issuer, backend, header, allowed_kids="k1").kid == "k1"
    assert check_code(issuer, backend, header, allowed_kids="k1-old") == "UNKNOWN_KEY"


@pytest.mark.parametrize("skew", [float("nan"), float("inf"), -1, 1.5, True, "300"])
def test_max_skew_must_be_a_non_negative_integer(issuer: Issuer, backend: Backend, skew: Any) -> None:
    header = issuer.sign_response(BODY, path="/api/v1/x", t=NOW)
    with pytest.raises(ValueError):
        check(issuer, backend, header, max_skew=skew, now=NOW + 10**6)


@pytest.mark.parametrize("kw", [{"method": None}, {"status": "200"}, {"status": 200.0}])
def test_method_and_status_types(issuer: Issuer, backend: Backend, kw: dict[str, Any]) -> None:
    header = issuer.sign_response(BODY, path="/api/v1/x", t=NOW)
    with pytest.raises(TypeError):
        check(issuer, backend, header, **kw)


# -- the one-match parse of the canonical form agrees with the general parser -------------

_ITEM_TEXT = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E,
                                            blacklist_characters=',"'), min_size=0, max_size=12)


@settings(max_examples=300, deadline=None)
@given(t=st.integers(0, 10**15), kid=_ITEM_TEXT, method=st.sampled_from(["", "get", "POST", "Put", "x1"]),
       status=st.sampled_from(["", "200", "04", "5000", "abc"]), path=_ITEM_TEXT,
       sig=st.sampled_from([SIG, SIG.upper(), SIG[:-1], SIG + "0", "zz" * 64]))
def test_canonical_fast_parse_matches_the_general_parser(t: int, kid: str, method: str, status: str,
                                                        path: str, sig: str) -> None:
    items = [f"t={t}", f"kid={kid}"]
    if method:
        items.append(f"m={method}")
    if status:
        items.append(f"s={status}")
    items += [f"path={path}", f"sig={sig}"]
    value = ",".join(items)

    def outcome(v: str) -> object:
        try:
            return hc.parse_signature_header(v)
        except hc.MalformedSignatureHeader as exc:
            return exc.code, exc.message

    # A leading space is stripped by the general parser and never matches the canonical one.
    assert outcome(value) == outcome(" " + value)


def test_headers_hoody_sends_take_the_one_match_route(issuer: Issuer) -> None:
    from hoody_claims.signature_header import _CANONICAL

    for legacy in (False, True):
        header = issuer.sign_response(BODY, method="GET", status=200, path="/api/v1/x?a=b", t=NOW, legacy=legacy)
        assert _CANONICAL.fullmatch(header) is not None, header
        assert hc.parse_signature_header(header) == hc.parse_signature_header(" " + header)
