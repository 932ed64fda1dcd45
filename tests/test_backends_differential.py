"""Differential tests: the three backends agree on every signature, and the C codecs
agree with the pure-Python ones on every input, valid or hostile.

Signatures are built to hit the corners where Ed25519 implementations differ:
small-order A and R (every encoding, sign bit set or not, non-canonical ones),
S >= L, non-canonical A and R, mixed-order A and R (signed properly with a
pure-Python signer, so that about half of the mixed-order-A cases verify), and
single-bit mutations of valid signatures.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from nacl.bindings import crypto_core_ed25519_is_valid_point
from nacl.signing import SigningKey

from hoody_claims import ed25519 as ed
from hoody_claims import encoding, native, strict_json
from hoody_claims.backends import BACKEND_NAMES, get_backend

BACKENDS = [get_backend(name) for name in BACKEND_NAMES]
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ------------------------------------------------------------ curve helpers

P, L = ed.P, ed.L
Point = tuple[int, int, int, int]


def _ext(xy: tuple[int, int]) -> Point:
    x, y = xy
    return x, y, 1, x * y % P


def _affine(pt: Point) -> tuple[int, int]:
    x, y, z, _ = pt
    zi = pow(z, P - 2, P)
    return x * zi % P, y * zi % P


def encode(pt: Point) -> bytes:
    x, y = _affine(pt)
    return (y | (x & 1) << 255).to_bytes(32, "little")


_B = _ext(
    ed.decode_point(
        bytes.fromhex("5866666666666666666666666666666666666666666666666666666666666666")
    )
    or (0, 0)
)
_T8 = _ext(ed.decode_point(ed._ORDER8_Y.to_bytes(32, "little")) or (0, 0))
TORSION = [ed._mul(k, _T8) for k in range(8)]


def _all_encodings_of_small_order() -> list[bytes]:
    out = set()
    for t in TORSION:
        enc = encode(t)
        y = int.from_bytes(enc, "little") & ((1 << 255) - 1)
        for yy in (y, y + P):
            if yy < 1 << 255:
                for sign in (0, 1):
                    out.add((yy | sign << 255).to_bytes(32, "little"))
    return sorted(out)


SMALL_ORDER = _all_encodings_of_small_order()
NONCANONICAL = [((y + P) | s << 255).to_bytes(32, "little") for y in range(19) for s in (0, 1)]


def _scalar(seed: bytes) -> int:
    h = bytearray(hashlib.sha512(seed).digest()[:32])
    h[0] &= 248
    h[31] &= 127
    h[31] |= 64
    return int.from_bytes(h, "little")


def sign_raw(a: int, r: int, a_enc: bytes, r_pt: Point, msg: bytes) -> bytes:
    """Ed25519 signing with any A encoding and any R point (for mixed-order cases)."""
    r_enc = encode(r_pt)
    h = int.from_bytes(hashlib.sha512(r_enc + a_enc + msg).digest(), "little") % L
    return r_enc + ((r + h * a) % L).to_bytes(32, "little")


def test_torsion_and_blocklist_are_what_libsodium_blocks() -> None:
    assert ed._is_identity(TORSION[0])
    assert all(ed._is_identity(ed._mul(8, t)) for t in TORSION)
    assert not ed._is_identity(ed._mul(4, _T8))
    assert len({encode(t) for t in TORSION}) == 8
    assert len(SMALL_ORDER) == 8 + 4 + 2  # 8 points x sign variants, p and p + 1
    for enc in SMALL_ORDER:
        assert ed.has_small_order_encoding(enc)
        assert not ed.is_valid_public_key(enc)
        assert not ed.is_valid_public_key_python(enc)
        assert not crypto_core_ed25519_is_valid_point(enc)
    assert encode(ed._mul(1, _B)) == bytes.fromhex("58" + "66" * 31)
    assert ed._is_identity(ed._mul(L, _B))


def test_sign_raw_matches_pynacl() -> None:
    seed = bytes(range(32))
    key = SigningKey(seed)
    a = _scalar(seed)
    a_enc = encode(ed._mul(a, _B))
    assert a_enc == bytes(key.verify_key)
    r = 12345
    sig = sign_raw(a, r, a_enc, ed._mul(r, _B), b"m")
    for be in BACKENDS:
        assert be.verify(sig, b"m", a_enc)


# ------------------------------------------------------------ signature corpus

KINDS = [
    "valid",
    "bitflip",
    "small_A",
    "small_R",
    "small_both",
    "S_plus_L",
    "S_big",
    "noncanonical_A",
    "noncanonical_R",
    "mixed_A",
    "mixed_R",
    "identity_R",
    "small_solved",
    "random",
]


@st.composite
def triples(draw: st.DrawFn) -> tuple[bytes, bytes, bytes]:
    seed = draw(st.binary(min_size=32, max_size=32))
    msg = draw(st.binary(max_size=48))
    kind = draw(st.sampled_from(KINDS))
    key = SigningKey(seed)
    pk = bytes(key.verify_key)
    sig = key.sign(msg).signature
    if kind == "bitflip":
        which = draw(st.sampled_from(["sig", "pk", "msg"] if msg else ["sig", "pk"]))
        buf = bytearray({"sig": sig, "pk": pk, "msg": msg}[which])
        bit = draw(st.integers(0, len(buf) * 8 - 1))
        buf[bit // 8] ^= 1 << (bit % 8)
        sig, pk, msg = (
            bytes(buf) if which == "sig" else sig,
            bytes(buf) if which == "pk" else pk,
            bytes(buf) if which == "msg" else msg,
        )
    elif kind in ("small_A", "small_both"):
        pk = draw(st.sampled_from(SMALL_ORDER))
        if kind == "small_both":
            s = draw(st.sampled_from([0, 1, draw(st.integers(0, L - 1))]))
            sig = draw(st.sampled_from(SMALL_ORDER)) + s.to_bytes(32, "little")
    elif kind == "small_R":
        sig = draw(st.sampled_from(SMALL_ORDER)) + sig[32:]
    elif kind == "S_plus_L":
        s = int.from_bytes(sig[32:], "little") + L * draw(st.integers(1, 15))
        assume(s < 1 << 256)
        sig = sig[:32] + s.to_bytes(32, "little")
    elif kind == "S_big":
        s = draw(st.integers(L, (1 << 256) - 1))
        sig = sig[:32] + s.to_bytes(32, "little")
    elif kind == "noncanonical_A":
        pk = draw(st.sampled_from(NONCANONICAL))
    elif kind == "noncanonical_R":
        sig = draw(st.sampled_from(NONCANONICAL)) + sig[32:]
    elif kind in ("mixed_A", "mixed_R"):
        a = _scalar(seed)
        r = draw(st.integers(1, L - 1))
        t = TORSION[draw(st.integers(1, 7))]
        a_pt = ed._mul(a, _B)
        r_pt = ed._mul(r, _B)
        if kind == "mixed_A":
            a_pt = ed._add(a_pt, t)
        else:
            r_pt = ed._add(r_pt, t)
        pk = encode(a_pt)
        sig = sign_raw(a, r, pk, r_pt, msg)
    elif kind == "identity_R":
        # R = the identity and S = h * a satisfy the cofactorless equation:
        # OpenSSL accepts this, libsodium refuses R of small order.
        r_enc = encode(TORSION[0])
        h = int.from_bytes(hashlib.sha512(r_enc + pk + msg).digest(), "little") % L
        sig = r_enc + (h * _scalar(seed) % L).to_bytes(32, "little")
    elif kind == "small_solved":
        # A and R of small order and S = 0, with R chosen so that R = -h A
        # holds: valid for OpenSSL, refused by libsodium.
        pk = encode(TORSION[draw(st.integers(0, 7))])
        a_pt = _ext(ed.decode_point(pk) or (0, 0))
        for t in TORSION:
            r_enc = encode(t)
            h = int.from_bytes(hashlib.sha512(r_enc + pk + msg).digest(), "little") % L
            if encode(ed._add(t, ed._mul(h, a_pt))) == encode(TORSION[0]):
                sig = r_enc + bytes(32)
                break
    elif kind == "random":
        sig = draw(st.binary(min_size=64, max_size=64))
        pk = draw(st.binary(min_size=32, max_size=32))
    return msg, sig, pk


@SETTINGS
@given(triples())
def test_backends_agree(triple: tuple[bytes, bytes, bytes]) -> None:
    msg, sig, pk = triple
    verdicts = {be.name: be.verify(sig, msg, pk) for be in BACKENDS}
    assert len(set(verdicts.values())) == 1, verdicts
    cut = len(msg) // 2
    for be in BACKENDS:
        assert be.verify_parts(sig, msg[:cut], msg[cut:], pk) == verdicts["pynacl"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(triples(), max_size=12), st.integers(0, 4))
def test_batches_agree_with_single_verifies(
    items: list[tuple[bytes, bytes, bytes]], threads: int
) -> None:
    expected = [get_backend("pynacl").verify(s, m, k) for m, s, k in items]
    for be in BACKENDS:
        assert be.verify_batch(items) == expected
    assert native.verify_batch(items, threads=threads or None) == expected


def test_openssl_alone_would_accept_the_small_order_corner_cases() -> None:
    # Guards the generator: these cases must really separate OpenSSL from
    # libsodium, or the agreement above would prove nothing.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    def openssl(sig: bytes, msg: bytes, pk: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(pk).verify(sig, msg)
        except Exception:
            return False
        return True

    seed = bytes(range(32))
    pk = bytes(SigningKey(seed).verify_key)
    r_enc = encode(TORSION[0])
    h = int.from_bytes(hashlib.sha512(r_enc + pk + b"m").digest(), "little") % L
    sig = r_enc + (h * _scalar(seed) % L).to_bytes(32, "little")
    assert openssl(sig, b"m", pk)
    assert not any(be.verify(sig, b"m", pk) for be in BACKENDS)
    identity = encode(TORSION[0])
    assert openssl(identity + bytes(32), b"", identity)
    assert not any(be.verify(identity + bytes(32), b"", identity) for be in BACKENDS)


def test_mixed_order_key_cases_do_verify_sometimes() -> None:
    # Guards the generator: without accepted mixed-order cases the comparison
    # above would prove little about cofactorless vs cofactored equations.
    seed = bytes(32)
    a = _scalar(seed)
    accepted = 0
    for i in range(16):
        pk = encode(ed._add(ed._mul(a, _B), TORSION[4]))  # order-2 torsion
        r = 1000 + i
        sig = sign_raw(a, r, pk, ed._mul(r, _B), b"msg%d" % i)
        verdicts = {be.verify(sig, b"msg%d" % i, pk) for be in BACKENDS}
        assert len(verdicts) == 1
        accepted += verdicts.pop()
    assert 0 < accepted < 16


@SETTINGS
@given(
    st.one_of(
        st.binary(min_size=32, max_size=32),
        st.sampled_from(SMALL_ORDER + NONCANONICAL),
        st.integers(1, L - 1).map(lambda k: encode(ed._mul(k, _B))),
        st.tuples(st.integers(1, L - 1), st.integers(1, 7)).map(
            lambda kt: encode(ed._add(ed._mul(kt[0], _B), TORSION[kt[1]]))
        ),
    )
)
def test_is_valid_public_key_matches_libsodium(pk: bytes) -> None:
    assert ed.is_valid_public_key(pk) == bool(crypto_core_ed25519_is_valid_point(pk))
    assert ed.is_valid_public_key_python(pk) == bool(crypto_core_ed25519_is_valid_point(pk))


def test_is_valid_public_key_lengths() -> None:
    assert not ed.is_valid_public_key(b"")
    assert not ed.is_valid_public_key(bytes(33))
    assert ed.is_valid_public_key(bytes(SigningKey(bytes(32)).verify_key))


# ------------------------------------------------------------ codecs: C vs Python


def c_accepts(text: bytes, max_depth: int = 32) -> bool:
    """The C core's own verdict, without the json.loads that follows it in
    native.loads_strict (which would hide a C bug behind json's refusal)."""
    from hoody_claims._hoody_core import lib

    return bool(lib.hc_json_check(text, len(text), max_depth) == 0)


def python_accepts(text: bytes, max_depth: int = 32) -> bool:
    """strict_json's verdict, counting integers too long for Python's int()
    as accepted: they are valid JSON, refused only when converted."""
    verdict = outcome(strict_json.loads_strict, text, max_depth)
    return verdict[0] == "ok" or verdict[1] == encoding.REASON_NUMBER_TOO_LONG


def outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(*args)
    except encoding.CodecError as exc:
        return "refused", exc.reason


def same(a: tuple[str, Any], b: tuple[str, Any], *, reasons: bool = True) -> None:
    assert a[0] == b[0], (a, b)
    if a[0] == "ok" or reasons:
        assert a[1] == b[1], (a, b)


B64_CHARS = "ABCQUWabcxyz01289+/-_=\n \t.\x00é"


@st.composite
def b64_texts(draw: st.DrawFn) -> bytes:
    data = draw(st.binary(max_size=20))
    enc = draw(st.sampled_from([base64.b64encode, base64.urlsafe_b64encode]))(data)
    if draw(st.booleans()):
        enc = enc.rstrip(b"=")
    for _ in range(draw(st.integers(0, 2))):
        pos = draw(st.integers(0, len(enc)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        ch = draw(st.sampled_from(B64_CHARS)).encode()
        if op == "insert":
            enc = enc[:pos] + ch + enc[pos:]
        elif op == "delete":
            enc = enc[:pos] + enc[pos + 1 :]
        else:
            enc = enc[:pos] + ch + enc[pos + 1 :]
    return enc


@SETTINGS
@given(st.one_of(b64_texts(), st.text(B64_CHARS, max_size=16).map(str.encode), st.binary()))
@example(b"QQ==")
@example(b"QR==")
@example(b"====")
def test_b64_c_and_python_agree(text: bytes) -> None:
    same(outcome(native.decode_b64, text), outcome(encoding.decode_b64, text))
    try:
        as_str = text.decode("utf-8")
    except UnicodeDecodeError:
        return
    same(outcome(native.decode_b64, as_str), outcome(encoding.decode_b64, as_str))


@SETTINGS
@given(st.text("0123456789abcdefABCDEFgxG \n\u0660", max_size=20), st.integers(-1, 11))
def test_hex_c_and_python_agree(text: str, nbytes: int) -> None:
    for n in (nbytes, len(text) // 2):
        same(outcome(native.decode_hex, text, n), outcome(encoding.decode_hex, text, n))


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=20,
)

JSON_NOISE = [
    b"{",
    b"}",
    b"[",
    b"]",
    b'"',
    b":",
    b",",
    b"\\",
    b"\\u",
    b"\\ud800",
    b"\\udc00",
    b"\\u0061",
    b"0",
    b"-",
    b".",
    b"e",
    b"+",
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"true",
    b"nul",
    b" ",
    b"\t",
    b"\n",
    b"\x0b",
    b"\x0c",
    b"\x00",
    b"\x1f",
    b"\x7f",
    b"\xef\xbb\xbf",
    b"\xc3\xa9",
    b"\xc3",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xc0\xaf",
    b"\xe2\x80\xa8",
    b"\xc2\xa0",
    b"9" * 30,
    b'"a":1,',
    b'"a":',
    b'"\\u0061":2,',
]


@st.composite
def json_texts(draw: st.DrawFn) -> bytes:
    value = draw(json_values)
    text = json.dumps(
        value,
        ensure_ascii=draw(st.booleans()),
        separators=draw(st.sampled_from([(",", ":"), (", ", ": "), (" ,\n", " :\t")])),
    ).encode("utf-8")
    wrap = draw(st.integers(0, 3))
    if wrap:
        depth = draw(st.sampled_from([30, 31, 32, 33]))
        opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"k":', b"}")]))
        text = opener * depth + text + closer * depth
    for _ in range(draw(st.integers(0, 3))):
        pos = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "dupkey"]))
        if op == "insert":
            text = text[:pos] + draw(st.sampled_from(JSON_NOISE)) + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 3)) :]
        else:
            brace = text.find(b"{", pos)
            if brace >= 0:
                text = text[: brace + 1] + b'"a":1,"\\u0061":2,' + text[brace + 1 :]
    return text


@SETTINGS
@given(
    st.one_of(json_texts(), st.lists(st.sampled_from(JSON_NOISE), max_size=12).map(b"".join)),
    st.sampled_from([32, 32, 0, 1, 33]),
)
@example(b'{"a":1,"\\u0061":2}', 32)
@example(b"[" * 33 + b"]" * 33, 32)
@example(b"[" * 32 + b"]" * 32, 32)
@example(b'{"\\ud83d\\ude00":1,"\xf0\x9f\x98\x80":2}', 32)
def test_json_c_and_python_agree(text: bytes, max_depth: int) -> None:
    c = outcome(native.loads_strict, text, max_depth)
    py = outcome(strict_json.loads_strict, text, max_depth)
    # With several faults in one text the two parsers may name different
    # ones (C stops at the first too-deep container, Python finds depth
    # last), so only the verdict and the value must match.
    same(c, py, reasons=False)
    assert c[0] == "refused" or c[1] == json.loads(text)
    assert c_accepts(text, max_depth) == python_accepts(text, max_depth)


CLAIM_VALUES = st.one_of(st.text(max_size=6), st.integers(), st.none(), st.lists(st.integers()))


@st.composite
def claim_texts(draw: st.DrawFn) -> bytes:
    doc: dict[str, Any] = {}
    names = ["kid", "payload_b64", "signature_hex", "x", "kid2", "Kid"]
    for name in draw(st.permutations(names)):
        if draw(st.integers(0, 5)):
            doc[name] = draw(st.text(max_size=8)) if draw(st.booleans()) else draw(CLAIM_VALUES)
    text = json.dumps(doc, ensure_ascii=draw(st.booleans())).encode()
    if draw(st.booleans()):
        text = text.replace(b'"kid"', b'"k\\u0069d"', 1)
    if draw(st.integers(0, 3)) == 0:
        pos = draw(st.integers(0, len(text)))
        text = text[:pos] + draw(st.sampled_from(JSON_NOISE)) + text[pos:]
    return text


@SETTINGS
@given(st.one_of(claim_texts(), json_texts()))
@example(b'{"kid":"a","payload_b64":"b","signature_hex":"c","kid":"d"}')
def test_claim_split_c_and_python_agree(text: bytes) -> None:
    same(outcome(native.split_claim, text), outcome(strict_json.split_claim, text), reasons=False)


@SETTINGS
@given(claim_texts())
def test_claim_split_reasons_agree_on_well_formed_json(text: bytes) -> None:
    try:
        json.loads(text)
    except ValueError:
        return
    same(outcome(native.split_claim, text), outcome(strict_json.split_claim, text))


@st.composite
def payloads(draw: st.DrawFn) -> bytes:
    text = draw(json_texts()) if draw(st.booleans()) else json.dumps(draw(json_values)).encode()
    enc = draw(st.sampled_from([base64.b64encode, base64.urlsafe_b64encode]))(text)
    if draw(st.booleans()):
        enc = enc.rstrip(b"=")
    if draw(st.integers(0, 4)) == 0:
        pos = draw(st.integers(0, len(enc)))
        enc = enc[:pos] + draw(st.sampled_from(B64_CHARS)).encode() + enc[pos + 1 :]
    return enc


@SETTINGS
@given(payloads())
def test_payload_c_and_python_agree(enc: bytes) -> None:
    from hoody_claims._hoody_core import ffi, lib

    cap = len(enc) // 4 * 3 + 3
    outlen = ffi.new("size_t *")
    rc = lib.hc_payload_decode(enc, len(enc), ffi.new("char[]", cap), cap, outlen, 32)
    py = outcome(strict_json.decode_payload, enc)
    assert (rc == 0) == (py[0] == "ok" or py[1] == encoding.REASON_NUMBER_TOO_LONG)
    same(
        outcome(native.decode_payload, enc),
        outcome(strict_json.decode_payload, enc),
        reasons=False,
    )


@pytest.mark.parametrize("limit", [0, 1, 31, 32, 33, 100])
def test_depth_boundaries_agree(limit: int) -> None:
    for depth in (limit - 1, limit, limit + 1):
        if depth >= 0:
            text = b"[" * depth + b"0" + b"]" * depth
            assert c_accepts(text, limit) == python_accepts(text, limit) == (depth <= limit)
        if depth < 0:
            continue
        for open_, close in ((b"[", b"]"), (b'{"a":', b"}")):
            text = open_ * depth + b"0" + close * depth
            same(
                outcome(native.loads_strict, text, limit),
                outcome(strict_json.loads_strict, text, limit),
            )


@pytest.mark.parametrize("special", [b'"', b"\\", b"\\n", b"\x00", b"\x1f", b"\x7f", b"\xc3\xa9"])
def test_every_position_of_a_special_byte_in_long_strings(special: bytes) -> None:
    # The C string scanner skips eight plain bytes at a time: put the byte
    # that must stop it at every offset of runs around that stride.
    for size in range(0, 42):
        for pos in range(size + 1):
            body = b"a" * pos + special + b"b" * (size - pos)
            for text in (b'"' + body + b'"', b'{"' + body + b'":1}', b'["x", "' + body + b'"]'):
                assert c_accepts(text) == python_accepts(text), text


# ------------------------------------------------ prepare_claim / verify_payload


_CLAIM_KEY = SigningKey(bytes(range(32)))
_CLAIM_PK = bytes(_CLAIM_KEY.verify_key)
PREPARE_NOISE = [b'"', b"\\", b"\\u0061", b"{", b"}", b",", b"=", b"-", b"+", b"\n", b"\xc3\xa9",
                 b"g", b"A", b"0"]  # fmt: skip


@st.composite
def claim_inputs(draw: st.DrawFn) -> bytes:
    """Claims as received: valid ones in every form, mutated ones, random bytes."""
    kind = draw(st.sampled_from(["valid", "mutated", "claim_text", "random"]))
    if kind == "claim_text":
        return draw(claim_texts())
    if kind == "random":
        return draw(st.binary(max_size=64))
    payload = draw(payloads()).decode("ascii", "replace")
    sig = _CLAIM_KEY.sign(payload.encode()).signature.hex()
    if draw(st.booleans()):
        sig = sig.upper()
    doc: dict[str, Any] = {"kid": draw(st.text(max_size=6)), "payload_b64": payload,
                           "signature_hex": sig}  # fmt: skip
    if draw(st.integers(0, 3)) == 0:
        doc["x"] = draw(json_values)
    text = json.dumps(doc, ensure_ascii=draw(st.booleans())).encode()
    if draw(st.booleans()):  # escape one character of a field's value
        field = draw(st.sampled_from([b'"kid": "', b'"payload_b64": "', b'"signature_hex": "']))
        at = text.find(field) + len(field)
        if text[at : at + 1].isalnum():
            text = text[:at] + b"\\u%04x" % text[at] + text[at + 1 :]
    if kind == "mutated":
        for _ in range(draw(st.integers(1, 3))):
            pos = draw(st.integers(0, len(text)))
            noise = draw(st.sampled_from(PREPARE_NOISE))
            cut = draw(st.integers(0, 1))
            text = text[:pos] + noise + text[pos + cut :]
    form = draw(st.sampled_from(["json", "url", "std", "std_unpadded"]))
    if form == "url":
        return base64.urlsafe_b64encode(text).rstrip(b"=")
    if form == "std":
        return base64.b64encode(text)
    if form == "std_unpadded":
        return base64.b64encode(text).rstrip(b"=")
    return text


def _category(reason: str) -> str:
    return reason.split(":")[0] if reason.startswith("the claim is not a valid") else reason


@SETTINGS
@given(claim_inputs())
@example(b"")
@example(b"e30")
@example(b'{"kid":"a","payload_b64":"b","signature_hex":"' + b"0" * 128 + b'"}')
@example(b'{"kid":"a","payload_b64":"b","signature_hex":"\\u0030' + b"0" * 127 + b'"}')
def test_prepare_claim_c_and_python_agree(data: bytes) -> None:
    c = outcome(native.prepare_claim, data)
    py = outcome(strict_json.prepare_claim, data)
    assert c[0] == py[0], (c, py)
    if c[0] == "ok":
        assert c[1] == py[1]
    else:
        # As for split_claim: with several JSON faults the two parsers may
        # name different ones; the kind of refusal must still match.
        assert _category(c[1]) == _category(py[1]), (c, py)
    for name in ("pynacl", "cryptography"):
        assert outcome(get_backend(name).prepare_claim, data) == py


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(claim_inputs())
def test_prepare_claim_matches_parse_claim(data: bytes) -> None:
    """strict_json.prepare_claim says what claim_parse.parse_claim says, word for word."""
    from hoody_claims.claim_parse import parse_claim
    from hoody_claims.errors import MalformedClaim

    try:
        raw = parse_claim(data, get_backend("pynacl"))
        expected: tuple[str, Any] = ("ok", (raw.kid, raw.payload_b64, raw.signature))
    except MalformedClaim as exc:
        expected = ("refused", str(exc))
    got = outcome(strict_json.prepare_claim, data)
    assert got[0] == expected[0], (got, expected)
    if got[0] == "ok":
        assert got[1] == expected[1]
    else:
        assert expected[1].endswith(got[1]) or got[1] in expected[1], (got, expected)


@st.composite
def signed_payloads(draw: st.DrawFn) -> tuple[bytes, bytes, str]:
    payload = draw(payloads()).decode("ascii", "replace")
    if draw(st.integers(0, 9)) == 0:
        payload = draw(st.text(max_size=12))
    key = SigningKey(draw(st.binary(min_size=32, max_size=32)))
    sig = key.sign(payload.encode("utf-8", "surrogatepass")).signature
    pk = bytes(key.verify_key)
    kind = draw(st.sampled_from(["valid", "valid", "bitflip", "other_key", "short", "random"]))
    if kind == "bitflip":
        bit = draw(st.integers(0, 511))
        sig = bytes(b ^ (1 << (bit % 8)) if i == bit // 8 else b for i, b in enumerate(sig))
    elif kind == "other_key":
        pk = _CLAIM_PK
    elif kind == "short":
        sig = sig[: draw(st.integers(0, 63))]
    elif kind == "random":
        sig = draw(st.binary(min_size=64, max_size=64))
        pk = draw(st.binary(min_size=32, max_size=32))
    return sig, pk, payload


@SETTINGS
@given(signed_payloads())
def test_verify_payload_backends_agree(item: tuple[bytes, bytes, str]) -> None:
    sig, pk, payload = item
    results = {be.name: outcome(be.verify_payload, sig, pk, payload) for be in BACKENDS}
    verdicts = {name: (r[0], r[1] is None) for name, r in results.items()}
    assert len(set(verdicts.values())) == 1, results
    if results["pynacl"][0] == "ok":
        assert all(r[1] == results["pynacl"][1] for r in results.values())
        valid = get_backend("pynacl").verify(sig, payload.encode("utf-8", "surrogatepass"), pk)
        assert (results["pynacl"][1] is not None) == valid
