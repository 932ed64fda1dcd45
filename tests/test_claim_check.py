"""The native one-call claim check (hc_claim_check through native.check_claim) against the
general path it stands in for.

A ClaimVerifier / IdentityVerifier on the native backend takes the fast path for str and
bytes claims (signed_data="b64"); the same verifier on the pynacl backend always takes the
general path (parse_claim, key, verify_payload, claim_from_payload). Whatever the claim, the
two must give the same Claim (every field, the same payload, read-only) or the same error
(class, code and message).
"""

from __future__ import annotations

import base64
import json
import struct
import threading
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

import hoody_claims as hc
from hoody_claims import native, strict_json
from hoody_claims.encoding import CodecError
from hoody_claims.key_document import KeySet
from hoody_claims.testing import Issuer

from .conftest import CID, NOW, OTHER_CID, PID

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
AUDIENCE = "app"
KNOWN = (
    "claim_type",
    "sub",
    "type",
    "container_id",
    "containerId",
    "project_id",
    "projectId",
    "aud",
    "iat",
    "exp",
    "nbf",
)
FIELDS = ("kid", "claim_type", "sub", "type", "container_id", "project_id", "aud", "iat",
          "exp", "nbf")

# ----------------------------------------------------------------------------- helpers


def canon(value: Any) -> Any:
    """A value with its types spelled out, so 1, 1.0 and True never compare equal."""
    if isinstance(value, Mapping):
        return ("map", tuple((k, canon(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(canon(v) for v in value))
    if isinstance(value, float):
        return ("float", repr(value))
    return (type(value).__name__, value)


def assert_read_only(value: Any) -> None:
    """No mapping or sequence anywhere in a claim's payload can be changed."""
    if isinstance(value, Mapping):
        assert not isinstance(value, dict)
        with pytest.raises(TypeError):
            value["__probe__"] = 1  # type: ignore[index]
        for v in value.values():
            assert_read_only(v)
    else:
        assert not isinstance(value, (list, dict, set, bytearray))
        if isinstance(value, tuple):
            for v in value:
                assert_read_only(v)


def outcome(verifier: Any, claim_in: Any, now: int = NOW) -> Any:
    try:
        claim = verifier.verify(claim_in, now=now)
    except hc.HoodyClaimsError as exc:
        return ("error", type(exc).__name__, exc.code, exc.message)
    return described(claim)


def described(result: Any) -> Any:
    if isinstance(result, hc.HoodyClaimsError):
        return ("error", type(result).__name__, result.code, result.message)
    assert isinstance(result, hc.Claim)
    assert_read_only(result.payload)
    return (
        "claim",
        tuple(canon(getattr(result, name)) for name in FIELDS),
        canon(dict(result.payload)),
    )


def verifier_pair(keys: KeySet, kind: str, **options: Any) -> tuple[Any, Any]:
    """The same verifier on the native backend (fast path) and on pynacl (general path)."""
    def make(backend: str) -> Any:
        if kind == "identity":
            return hc.IdentityVerifier(keys, audience=AUDIENCE, backend=backend, **options)
        return hc.ClaimVerifier(keys, container_id=CID, backend=backend, **options)

    fast, general = make("native"), make("pynacl")
    assert fast.backend == "native" and general.backend == "pynacl"
    return fast, general


@pytest.fixture(scope="module")
def keys(issuer: Issuer) -> KeySet:
    return issuer.key_set()


@pytest.fixture(scope="module")
def ring(keys: KeySet) -> bytes:
    return native.pack_keys(keys.keys)


def b64(data: bytes, *, urlsafe: bool = False, pad: bool = True) -> str:
    text = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(data).decode("ascii")
    return text if pad else text.rstrip("=")


def compact(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("utf-8")).rstrip(b"=").decode("ascii")


# ----------------------------------------------------------------------------- strategies

# Numbers as they appear in the JSON text (some only a text can hold: -0, 1E400, 4500 digits).
NUMBER_TEXTS = [
    "0", "-0", "1", "1.0", "1e3", "1E+2", "-1.5e-3", "1E400", "0.5",
    str(2**53 - 1), str(2**53), str(-(2**53) + 1), str(-(2**53)), str(2**63), str(10**16),
    str(10**17), "9" * 4000, "9" * 4001, "1" + "0" * 4499, "-" + "7" * 4300,
    "1." + "5" * 4500,
]
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**60), max_value=2**60),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                 max_size=3),
    max_leaves=6,
)
STRINGS = st.one_of(
    st.sampled_from(["container", "identity", "user", "admin", CID, OTHER_CID, PID, AUDIENCE,
                     "", "é", 'q"uote', "back\\slash", "tab\t", "\u2028", "😀", "\ud800"]),
    st.text(max_size=6),
)


def escape_first(text: str, member: str, in_name: bool) -> str:
    """A claim's JSON text with the first character of a member's name or value escaped."""
    at = text.index(f'"{member}"') + (1 if in_name else len(member) + 2)
    if not in_name:
        at = text.index('"', at) + 1
    return text[:at] + f"\\u{ord(text[at]):04x}" + text[at + 1 :]


def escaped_name(name: str, how: int) -> str:
    """A member name as JSON text: plain, one character escaped, or all of it escaped."""
    if how == 0 or not name:
        return json.dumps(name)
    if how == 1:
        return '"' + f"\\u{ord(name[0]):04x}" + json.dumps(name[1:])[1:]
    return '"' + "".join(f"\\u{ord(c):04X}" for c in name) + '"'


@st.composite
def value_texts(draw: st.DrawFn, name: str, typical: bool) -> str:
    """A member's value as JSON text: the shape Hoody sends (typical, or kind 0-5), else
    anything."""
    kind = 0 if typical else draw(st.integers(0, 11))
    ascii_only = draw(st.booleans())
    if kind <= 5:
        if name in ("iat", "exp", "nbf"):
            delta = draw(st.integers(-4000, 4000))
            if typical:  # mostly valid now: issued before, expiring after
                delta = abs(delta) + 31 if name == "exp" else -abs(delta)
            return str(NOW + delta)
        if name == "aud":
            return json.dumps(draw(st.sampled_from(
                [AUDIENCE, [AUDIENCE], "app2", ["x", AUDIENCE], ["x"], [], [1], None, {"a": 1}]
            )))
        if name == "claim_type":
            return json.dumps(draw(st.sampled_from(["container", "identity", "other"])))
        if name in ("container_id", "containerId"):
            return json.dumps(draw(st.sampled_from([CID, OTHER_CID, CID.upper()])))
        if name in ("project_id", "projectId"):
            return json.dumps(draw(st.sampled_from([PID, OTHER_CID])))
        if typical:
            return json.dumps(draw(st.sampled_from(["user", "u1", "admin", "é", "😀"])),
                              ensure_ascii=ascii_only)
        return json.dumps(draw(STRINGS), ensure_ascii=ascii_only)
    if kind <= 7:
        return json.dumps(draw(STRINGS), ensure_ascii=ascii_only)
    if kind == 8:
        return json.dumps(draw(st.sampled_from([None, True, 1.5, "1", [1], NOW, -1])))
    if kind == 9:
        return draw(st.sampled_from(NUMBER_TEXTS))
    return json.dumps(draw(json_values), ensure_ascii=ascii_only)


@st.composite
def payload_texts(draw: st.DrawFn) -> bytes:
    """A payload JSON text: the known members in every shape (escaped names, both
    spellings, odd types, boundary numbers), unknown members, odd whitespace. Half of them
    (typical) have the shapes Hoody sends, so that many verify."""
    typical = draw(st.booleans())
    members: list[tuple[str, str]] = []
    for name in KNOWN:
        weight = draw(st.integers(0, 19))
        present = (weight < 18 and not typical) if name in ("iat", "exp") else (
            weight >= 16 if name in ("containerId", "projectId", "nbf") else weight < 15
        )
        if present or (typical and name in ("iat", "exp")):
            how = draw(st.sampled_from([0, 0, 0, 0, 1, 2]))
            members.append((escaped_name(name, how), draw(value_texts(name, typical))))
    for name, value in draw(st.lists(st.tuples(st.text(max_size=6), json_values), max_size=3)):
        members.append((json.dumps(name, ensure_ascii=draw(st.booleans())), json.dumps(value)))
    if not typical and draw(st.integers(0, 9)) == 9:
        members.append(('"big"', draw(st.sampled_from(NUMBER_TEXTS[-6:]))))
    # a duplicate name, maybe spelled otherwise
    if members and not typical and draw(st.integers(0, 14)) == 14:
        name, _ = draw(st.sampled_from(members))
        members.append((name, "1"))
    members = draw(st.permutations(members))
    colon, comma = draw(st.sampled_from([(":", ","), (": ", ", "), (" :\n", "\t,\r\n")]))
    text = "{" + comma.join(f"{k}{colon}{v}" for k, v in members) + "}"
    shape = 0 if typical else draw(st.integers(0, 29))
    if shape == 29:
        text = f"[{text}]"
    elif shape == 28:
        text = text[:-1]
    elif shape == 27:
        text = f" \n{text}\t"
    elif shape == 26:
        text = '{"nested":' * 33 + "1" + "}" * 33
    return text.encode("utf-8", "surrogatepass")


@st.composite
def claims_from(draw: st.DrawFn, issuer: Issuer, payload: bytes) -> Any:
    """A claim over payload in any form the verifiers take, now and then tampered with."""
    urlsafe, pad = draw(st.booleans()), draw(st.booleans())
    payload_b64 = b64(payload, urlsafe=urlsafe, pad=pad)
    claim = issuer.sign_encoded(payload_b64, form="dict")
    change = draw(st.integers(0, 19))
    if change == 19:  # a bad signature
        sig = claim["signature_hex"]
        claim["signature_hex"] = ("0" if sig[0] != "0" else "1") + sig[1:]
    elif change == 18:
        claim["kid"] = "other-key"
    elif change == 17:
        claim["signature_hex"] = claim["signature_hex"].upper()
    text = json.dumps(claim, separators=draw(st.sampled_from([(",", ":"), (", ", ": ")])))
    if change == 16:  # an escape in the claim's own fields: the general path decides
        member = draw(st.sampled_from(list(claim)))
        text = escape_first(text, member, draw(st.booleans()))
    elif change == 15:
        text = text.replace('"k1"', '"k1", "extra": [1, {"kid": 2}]', 1)
    form = draw(st.sampled_from(["compact", "json", "compact-bytes", "json-bytes", "dict"]))
    if form == "dict":
        return json.loads(text)
    out = compact(text) if form.startswith("compact") else text
    return out.encode("utf-8") if form.endswith("bytes") else out


# ----------------------------------------------------------------------------- differential


@SETTINGS
@given(data=st.data(), payload=payload_texts())
def test_fast_path_equals_general_path(
    issuer: Issuer, keys: KeySet, data: st.DataObject, payload: bytes
) -> None:
    claim_in = data.draw(claims_from(issuer, payload))
    now = NOW + data.draw(st.sampled_from([0, 0, 0, -3600, 3600, 10**6]))
    for kind in ("container", "identity"):
        fast, general = verifier_pair(keys, kind)
        expected = outcome(general, claim_in, now)
        assert outcome(fast, claim_in, now) == expected, (kind, claim_in)
        # Remembered now (if it verified): the same answer again, from the cache.
        assert outcome(fast, claim_in, now) == expected, (kind, claim_in)


def _payload(**fields: Any) -> bytes:
    base: dict[str, Any] = {"claim_type": "container", "sub": "u1", "type": "user",
                            "container_id": CID, "iat": NOW - 10, "exp": NOW + 3600}
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not ...}).encode()


SPECIFIC_PAYLOADS = [
    _payload(),
    _payload(project_id=PID, nbf=NOW - 5, extra={"a": [1, {"b": None}]}),
    _payload(container_id=..., containerId=CID, projectId=PID),
    _payload(containerId=CID),
    _payload(containerId=None),
    _payload(project_id=None, projectId=PID),
    _payload(nbf=None),
    _payload(nbf=NOW + 10**6),
    _payload(iat=float(NOW)),
    _payload(iat=True),
    _payload(exp=2**53),
    _payload(exp=2**53 - 1),
    _payload(iat=-(2**53) + 1),
    _payload(iat=-(2**53)),
    _payload(iat=10**30),
    _payload(exp=...),
    _payload(iat=None),
    _payload(sub=5),
    _payload(sub="é😀", type="\u2028"),
    _payload(aud=None),
    _payload(claim_type="identity", aud=AUDIENCE),
    _payload(claim_type="identity", aud=[AUDIENCE, "x"]),
    _payload(claim_type="identity", aud=["x", 1]),
    _payload(claim_type="identity", aud=""),
    _payload(claim_type=None),
    _payload()[:-1] + b', "big": 1' + b"0" * 4499 + b"}",
    _payload()[:-1] + b', "big": [-1' + b"0" * 4300 + b"]}",
    _payload()[:-1] + b', "big": 1' + b"0" * 4299 + b"}",
    _payload()[:-1] + b', "big": 1' + b"0" * 3999 + b".5}",
    _payload(big=10**3999),
    _payload(big=-(10**4000)),
    _payload(big=[10**4299]),
    _payload(deep=[[[[{"a": [1]}]]]]),
    json.dumps({"\u0073ub": "x"}).encode(),
    b'{"\\u0073ub":"u1","claim_type":"container","container_id":"' + CID.encode()
    + b'","iat":%d,"exp":%d}' % (NOW, NOW + 60),
    b'{"sub":"\\u00e9","claim_type":"cont\\u0061iner","container_id":"' + CID.encode()
    + b'","iat":%d,"exp":%d}' % (NOW, NOW + 60),
    b'{"claim_type":"container","container_id":"' + CID.encode()
    + b'","container\\u005fid":"x","iat":1,"exp":2}',
    b'{"claim_type":"container","container_id":"' + CID.encode()
    + b'","containerI\\u0064":null,"iat":%d,"exp":%d}' % (NOW, NOW + 60),
    b'{"claim_type":"container","container_id":"' + CID.encode()
    + b'","iat":%d,"exp":%d,"iat":%d}' % (NOW, NOW + 60, NOW),
    b'{"claim_type":"container","container_id":"' + CID.encode()
    + b'","iat":-0,"exp":%d}' % (NOW + 60),
    b'{"claim_type":"container","container_id":"' + CID.encode()
    + b'","iat":%d.0,"exp":%d}' % (NOW, NOW + 60),
    b'{"claim_type":"container","container_id":"' + CID.encode()
    + b'","iat":%de0,"exp":%d}' % (NOW, NOW + 60),
    b'{"claim_type":"container","container_id":"' + CID.encode()
    + b'","iat":1E400,"exp":%d}' % (NOW + 60),
    b'{"sub":"\\ud800","claim_type":"container","container_id":"' + CID.encode()
    + b'","iat":%d,"exp":%d}' % (NOW, NOW + 60),
    b' {"claim_type":"container","container_id":"' + CID.encode()
    + b'","iat":%d,"exp":%d} ' % (NOW, NOW + 60),
    b"\xef\xbb\xbf{}",
    b'{"a":"\xff"}',
    b"[]",
    b"{}",
    b"null",
    b"not json",
    b'{"a":1,"a":2}',
    b'{"n":' + b"7" * 4500 + b',"a":1,"a":2}',
    b'{"n":' + b"7" * 4500 + b',"d":' + b"[" * 40 + b"]" * 40 + b"}",
    b'{"a":NaN}',
    b'{"a":"\x01"}',
]


@pytest.mark.parametrize("payload", SPECIFIC_PAYLOADS, ids=range(len(SPECIFIC_PAYLOADS)))
@pytest.mark.parametrize("form", ["compact", "json", "bytes"])
def test_specific_payloads_fast_equals_general(
    issuer: Issuer, keys: KeySet, payload: bytes, form: str
) -> None:
    for urlsafe, pad in ((False, True), (True, False)):
        claim = issuer.sign_encoded(b64(payload, urlsafe=urlsafe, pad=pad), form="json")
        claim_in = {"compact": compact(claim), "json": claim, "bytes": claim.encode()}[form]
        for kind in ("container", "identity"):
            fast, general = verifier_pair(keys, kind)
            assert outcome(fast, claim_in) == outcome(general, claim_in), (kind, payload)


def test_fast_path_is_taken_and_payload_is_read_only(issuer: Issuer, keys: KeySet,
                                                     ring: bytes) -> None:
    claim_in = issuer.sign_encoded(
        b64(_payload(project_id=PID, extra={"a": [1, {"b": None}], "s": "x"})), form="json"
    )
    found = native.check_claim(claim_in.encode(), ring)
    assert found is not native.GENERAL and found is not None
    names, text, times = found
    assert names == ("k1", "container", "u1", "user", CID, PID, None)
    assert times == (NOW - 10, NOW + 3600, None)
    assert json.loads(text)["extra"] == {"a": [1, {"b": None}], "s": "x"}
    fast, general = verifier_pair(keys, "container")
    claim = fast.verify(claim_in, now=NOW)
    payload = claim.payload
    assert isinstance(payload, Mapping) and not isinstance(payload, dict)
    with pytest.raises(TypeError):
        payload["sub"] = "root"  # type: ignore[index]
    with pytest.raises(TypeError):
        payload["extra"]["a"] = 1
    assert payload == general.verify(claim_in, now=NOW).payload
    assert dict(payload) == dict(general.verify(claim_in, now=NOW).payload)
    assert payload["extra"]["a"] == (1, {"b": None})
    assert "sub" in payload and "nope" not in payload and len(payload) == 8
    assert_read_only(payload)


# ----------------------------------------------------------------------------- check_claim


def _signed(signing_key: SigningKey, kid: str, payload_b64: str, **extra: str) -> bytes:
    sig = signing_key.sign(payload_b64.encode("ascii")).signature.hex()
    claim = {"kid": kid, "payload_b64": payload_b64, "signature_hex": sig, **extra}
    return json.dumps(claim, separators=(",", ":")).encode()


@pytest.fixture(scope="module")
def signer() -> tuple[SigningKey, bytes]:
    """A signing key and a ring holding its key as "s1", a 31-byte key as "s2" (left out)
    and another key as "s3" (last)."""
    sk = SigningKey(bytes(range(32)))
    keys = {"s1": bytes(sk.verify_key), "s2": bytes(31), "s3": bytes(SigningKey(bytes(32))
                                                                      .verify_key)}
    return sk, native.pack_keys(keys)


def test_pack_keys_layout() -> None:
    ring = native.pack_keys({"a": bytes(32), "é": bytes(range(32)), "short": bytes(31)})
    assert ring == (
        struct.pack("=I", 1) + b"a" + bytes(32) + struct.pack("=I", 2) + "é".encode()
        + bytes(range(32))
    )
    assert native.pack_keys({}) == b""


def test_check_claim_general_cases(signer: tuple[SigningKey, bytes]) -> None:
    sk, ring = signer
    good = _signed(sk, "s1", b64(_payload()))
    assert native.check_claim(good, ring) not in (None, native.GENERAL)
    text = good.decode()
    general_cases = [
        _signed(sk, "unknown", b64(_payload())),
        _signed(sk, "s2", b64(_payload())),  # a key of the wrong size is not in the ring
        escape_first(text, "kid", False).encode(),  # escaped kid
        escape_first(text, "payload_b64", False).encode(),
        escape_first(text, "signature_hex", False).encode(),
        good.replace(b'"s1"', b'"s\xff"'),  # not UTF-8
        good[:-1] + b',"pad":"' + b"x" * 16384 + b'"}',  # over 16 KiB
        compact(text).encode() + b"=",
        b"",
        b"{}",
        b"[]",
        b"garbage",
        b"\xef\xbb\xbf" + good,
        good[:-1],
        good.replace(b'"kid":"s1"', b'"kid":1'),
        good.replace(b'"kid":"s1"', b'"kid":"s1","kid":"s1"'),  # duplicate
        good.replace(b'"signature_hex":"', b'"signature_hex":"a'),  # 129 hex digits
        good.replace(b'"signature_hex":"', b'"signature_hex":"g')[:-3] + b'"}',
        _signed(sk, "s1", "A" * 10928),  # payload_b64 over the 8 KiB limit
        good.replace(b'"payload_b64":"', '"payload_b64":"é'.encode()),  # not ASCII
    ]
    for data in general_cases:
        assert native.check_claim(data, ring) is native.GENERAL, data[:80]
    # The same claims in the compact form are GENERAL too.
    for data in general_cases[:5]:
        token = base64.urlsafe_b64encode(data).rstrip(b"=")
        assert native.check_claim(token, ring) is native.GENERAL, data[:80]
    # An escaped member name of the claim is no escape in its fields: checked here.
    for name in ("kid", "payload_b64", "signature_hex"):
        escaped = escape_first(text, name, True).encode()
        assert native.check_claim(escaped, ring) == native.check_claim(good, ring)
    assert native.check_claim(good, b"") is native.GENERAL
    assert native.check_claim(good, ring[:-1]) not in (None, native.GENERAL)  # s1 first
    assert native.check_claim(good, ring[: 4 + 2 + 31]) is native.GENERAL  # s1 cut short


def test_check_claim_bad_signature_is_none(signer: tuple[SigningKey, bytes]) -> None:
    sk, ring = signer
    good = _signed(sk, "s1", b64(_payload()))
    sig_at = good.index(b'"signature_hex":"') + len(b'"signature_hex":"')
    flipped = good[:sig_at] + (b"1" if good[sig_at:sig_at + 1] == b"0" else b"0") + good[
        sig_at + 1:]
    assert native.check_claim(flipped, ring) is None
    assert native.check_claim(compact(flipped.decode()).encode(), ring) is None
    assert native.check_claim(_signed(sk, "s3", b64(_payload())), ring) is None
    # signed over the decoded payload, not payload_b64: the default signed data refuses it
    sig = sk.sign(_payload()).signature.hex()
    raw_signed = json.dumps({"kid": "s1", "payload_b64": b64(_payload()), "signature_hex": sig})
    assert native.check_claim(raw_signed.encode(), ring) is None
    # a bad signature over a payload that is not even base64: None, not CodecError
    assert native.check_claim(flipped.replace(b'"payload_b64":"', b'"payload_b64":"!'),
                              ring) is None


@pytest.mark.parametrize(
    "payload_b64",
    [
        b64(b"not json"),
        b64(b"[1,2]"),
        b64(b'{"a":1,"a":2}'),
        b64(b'{"a":"\xff"}'),
        b64(b"\xef\xbb\xbf{}"),
        b64(b'{"a":NaN}'),
        b64(b'{"a":"\x01"}'),
        b64(b'{"a":"\\x"}'),
        b64(b"{" + b'"a":{' * 32 + b"}" * 33),
        b64(b'{"n":1' + b"0" * 4300 + b',"a":1,"a":2}'),
        b64(b'{"n":1' + b"0" * 4300 + b',"d":' + b"[" * 33 + b"]" * 33 + b"}"),
        "A" * 10920,  # just under the size limit: 8190 zero bytes
        "e30 ",
        "e3=0",
        "e31",
        "e30+_",
        "",
    ],
    ids=lambda p: p if len(p) < 16 else f"{p[:12]}..{len(p)}",
)
def test_check_claim_verified_but_malformed_payload(
    signer: tuple[SigningKey, bytes], payload_b64: str
) -> None:
    sk, ring = signer
    data = _signed(sk, "s1", payload_b64)
    with pytest.raises(CodecError) as want:
        native.decode_payload(payload_b64)
    with pytest.raises(CodecError) as got:
        native.check_claim(data, ring)
    assert got.value.reason == want.value.reason
    with pytest.raises(CodecError) as got:
        native.check_claim(compact(data.decode()).encode(), ring)
    assert got.value.reason == want.value.reason
    with pytest.raises(CodecError):
        strict_json.decode_payload(payload_b64)
    # The verifiers say the same, on both paths.
    issuer_keys = Issuer(kid="s1", seed=bytes(range(32))).key_set()
    assert issuer_keys.keys["s1"] == bytes(sk.verify_key)
    for kind in ("container", "identity"):
        fast, general = verifier_pair(issuer_keys, kind)
        assert outcome(fast, data) == outcome(general, data)
        assert outcome(fast, data)[2] == "MALFORMED_CLAIM"


def test_check_claim_leaves_long_integers_to_the_json_parse(
    signer: tuple[SigningKey, bytes]
) -> None:
    """Python's json refuses integers of over 4300 digits; the C core does not, so a payload
    holding a number of over 4000 characters comes back unbuilt (times None), and the
    verifier's parse of its text refuses it as the general path does."""
    sk, ring = signer
    for digits in (4001, 4300, 4301, 6000):
        text = b'{"iat":1,"exp":2,"n":1' + b"0" * (digits - 1) + b"}"
        data = _signed(sk, "s1", b64(text))
        assert native.check_claim(data, ring) == (("s1",), text, None)
        issuer_keys = Issuer(kid="s1", seed=bytes(range(32))).key_set()
        for kind in ("container", "identity"):
            fast, general = verifier_pair(issuer_keys, kind)
            assert outcome(fast, data, 1) == outcome(general, data, 1)
            if digits > 4300:
                assert outcome(fast, data, 1)[3].endswith("a JSON integer with too many digits")
            else:
                assert outcome(fast, data, 1)[2] == "WRONG_CLAIM_TYPE"  # not malformed
    text = b'{"iat":1,"exp":2,"n":' + b"9" * 4000 + b"}"
    found = native.check_claim(_signed(sk, "s1", b64(text)), ring)
    assert found == (("s1", None, None, None, None, None, None), text, (1, 2, None))


def test_check_claim_minimal_payloads(signer: tuple[SigningKey, bytes]) -> None:
    sk, ring = signer
    # A payload the fast path does not build (no iat / exp): the kid only, and its text.
    assert native.check_claim(_signed(sk, "s1", "e30"), ring) == (("s1",), b"{}", None)
    assert native.check_claim(_signed(sk, "s1", "e30="), ring) == (("s1",), b"{}", None)
    found = native.check_claim(_signed(sk, "s1", b64(b'{"iat":1,"exp":-2}')), ring)
    assert found == (("s1", None, None, None, None, None, None), b'{"iat":1,"exp":-2}',
                     (1, -2, None))
    found = native.check_claim(_signed(sk, "s1", b64(b'{"iat":1,"exp":2,"nbf":0,"aud":""}')),
                               ring)
    assert found is not None and found is not native.GENERAL
    assert found[0] == ("s1", None, None, None, None, None, "") and found[2] == (1, 2, 0)


def test_check_claims_start_matches_check_claim(issuer: Issuer, ring: bytes) -> None:
    sk = SigningKey(bytes(range(32)))
    texts: list[bytes] = [
        issuer.container_claim(container_id=CID, now=NOW).encode(),
        issuer.identity_claim(audience=["a", AUDIENCE], now=NOW, form="json").encode(),
        issuer.sign_encoded(b64(b"[1]"), form="json").encode(),
        issuer.sign_encoded(b64(_payload()), kid="nope", form="json").encode(),
        _signed(sk, "k1", b64(_payload())),  # signed by another key: None
        b"garbage",
        b"",
        b"{" + b" " * 20000 + b"}",
    ] * 5
    want: list[Any] = []
    for text in texts:
        try:
            want.append(native.check_claim(text, ring))
        except CodecError as exc:
            want.append(("codec", exc.reason))
    for threads in (None, 1, 3):
        got = native.check_claims_start(texts, ring, threads=threads).wait()
        assert [("codec", g.reason) if isinstance(g, CodecError) else g for g in got] == want
    assert native.check_claims_start([], ring).wait() == []


def test_claim_batch_take_gives_each_result_once_in_order(issuer: Issuer, ring: bytes) -> None:
    texts = [issuer.container_claim(container_id=CID, now=NOW, sub=f"u{i}").encode() for i in range(40)]
    texts[7] = b"garbage"
    texts[20] = issuer.sign_encoded(b64(b"[1]"), form="json").encode()
    want = native.check_claims_start(texts, ring, threads=1).wait()
    assert want[7] is native.GENERAL and isinstance(want[20], CodecError)
    for threads in (None, 1, 3):
        for step in (1, 3, 8, 100):
            batch = native.check_claims_start(texts, ring, threads=threads)
            got: list[Any] = []
            while len(got) < len(texts):
                part = batch.take(step)
                assert len(part) >= min(step, len(texts) - len(got))
                got += part
            assert batch.take(step) == []  # nothing left to take
            assert _reasons(got) == _reasons(want)
            assert _reasons(batch.wait()) == _reasons(want)  # wait still gives every result
    # take after join reads what the threads wrote; an empty batch has nothing to take.
    batch = native.check_claims_start(texts, ring)
    batch.join()
    assert _reasons(batch.take(5) + batch.take(100)) == _reasons(want)
    assert native.check_claims_start([], ring).take(3) == []
    # One claim and threads=None: no new thread at all (CPUs - 1 is capped by the claims - 1),
    # this thread checks it in take.
    assert _reasons(native.check_claims_start(texts[:1], ring).take(1)) == _reasons(want[:1])


def _reasons(found: list[Any]) -> list[Any]:
    return [("codec", f.reason) if isinstance(f, CodecError) else f for f in found]


# ----------------------------------------------------------------------------- verify_many


def _mixed_claims(issuer: Issuer, n: int) -> list[Any]:
    other = Issuer(kid="k1")  # same kid, another key: the signature does not verify
    stranger = Issuer(kid="k9")
    makers: list[Callable[[int], Any]] = [
        lambda i: issuer.container_claim(container_id=CID, sub=f"c{i}", now=NOW),
        lambda i: issuer.container_claim(container_id=CID, sub=f"j{i}", now=NOW, form="json"),
        lambda i: issuer.container_claim(container_id=CID, sub=f"d{i}", now=NOW, form="dict"),
        lambda i: issuer.container_claim(container_id=CID, sub=f"b{i}", now=NOW).encode(),
        lambda i: issuer.container_claim(container_id=OTHER_CID, now=NOW),
        lambda i: issuer.container_claim(container_id=CID, now=NOW - 10**6),  # expired
        lambda i: issuer.identity_claim(audience=AUDIENCE, now=NOW),  # wrong type
        lambda i: issuer.container_claim(
            container_id=CID, now=NOW, extra={"aud": ["x", str(i)], "n": [i, {"i": i}]}
        ),
        lambda i: other.container_claim(container_id=CID, now=NOW),
        lambda i: stranger.container_claim(container_id=CID, now=NOW, form="json"),
        lambda i: issuer.sign_encoded(b64(b'{"iat":1,"exp":2,"iat":3}'), form="json"),
        lambda i: issuer.sign_encoded(b64(b"[]")),
        lambda i: issuer.sign_encoded(b64(_payload(containerId=CID))),
        lambda i: f"junk {i}",
        lambda i: b"",
        lambda i: {"kid": "k1"},
        lambda i: 12345,
        lambda i: issuer.container_claim(container_id=CID, sub="same", now=NOW),  # repeats
    ]
    return [makers[(i * 7) % len(makers)](i) for i in range(n)]


@pytest.mark.parametrize("n", [0, 1, 17, 300])
def test_verify_many_equals_verify_one_by_one(issuer: Issuer, keys: KeySet, n: int) -> None:
    claims = _mixed_claims(issuer, n)
    many, _ = verifier_pair(keys, "container")
    one, general = verifier_pair(keys, "container")
    got = [described(r) for r in many.verify_many(claims, now=NOW)]
    assert len(got) == n
    assert got == [outcome(one, c) for c in claims]
    assert got == [outcome(general, c) for c in claims]
    # Again, now that the good ones are remembered.
    assert [described(r) for r in many.verify_many(claims, now=NOW)] == got
    if n:
        kinds = {g[0] if g[0] == "claim" else g[2] for g in got}
        assert n < 17 or kinds >= {"claim", "MALFORMED_CLAIM", "INVALID_SIGNATURE",
                                   "UNKNOWN_KEY", "WRONG_CONTAINER", "CLAIM_EXPIRED",
                                   "WRONG_CLAIM_TYPE"}


# ----------------------------------------------------------------------------- threads


def test_threads_share_one_verifier(issuer: Issuer, keys: KeySet) -> None:
    verifier, _ = verifier_pair(keys, "container")
    identity, _ = verifier_pair(keys, "identity")
    other = Issuer(kid="k1")
    n_threads, rounds = 8, 12
    barrier = threading.Barrier(n_threads)
    failures: list[str] = []

    def work(t: int) -> None:
        try:
            barrier.wait()
            for r in range(rounds):
                good = [
                    issuer.container_claim(container_id=CID, sub=f"t{t}-r{r}-{k}", now=NOW,
                                           form="json" if k % 2 else "compact")
                    for k in range(6)
                ]
                bad = other.container_claim(container_id=CID, sub=f"bad{t}-{r}", now=NOW)
                mixed = [*good, bad, f"junk{t}"]
                if r % 2:
                    results = verifier.verify_many(mixed, now=NOW)
                else:
                    results = []
                    for c in mixed:
                        try:
                            results.append(verifier.verify(c, now=NOW))
                        except hc.HoodyClaimsError as exc:
                            results.append(exc)
                for k, res in enumerate(results[:6]):
                    if not isinstance(res, hc.Claim) or res.sub != f"t{t}-r{r}-{k}":
                        failures.append(f"thread {t} round {r} item {k}: {res!r}")
                if not isinstance(results[6], hc.InvalidSignature):
                    failures.append(f"thread {t} round {r}: bad signature gave {results[6]!r}")
                if not isinstance(results[7], hc.MalformedClaim):
                    failures.append(f"thread {t} round {r}: junk gave {results[7]!r}")
                aud = issuer.identity_claim(audience=AUDIENCE, sub=f"i{t}-{r}", now=NOW)
                if identity.verify(aud, now=NOW).sub != f"i{t}-{r}":
                    failures.append(f"thread {t} round {r}: identity claim")
        except Exception as exc:  # reported below, not lost in the thread
            failures.append(f"thread {t}: {exc!r}")

    threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert failures == []
