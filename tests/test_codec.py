"""Exact behaviour of the strict codecs, asserted for the C core and the pure-Python
twins alike (each case names the reason it must be refused with)."""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace
from typing import Any

import pytest

from hoody_claims import encoding as E
from hoody_claims import native, strict_json

PY = SimpleNamespace(
    decode_hex=E.decode_hex,
    decode_b64=E.decode_b64,
    loads_strict=strict_json.loads_strict,
    split_claim=strict_json.split_claim,
    decode_payload=strict_json.decode_payload,
)


@pytest.fixture(params=["native", "python"])
def impl(request: pytest.FixtureRequest) -> Any:
    if request.param == "native":
        assert native.AVAILABLE, native.LOAD_ERROR
        return native
    return PY


def refused(fn: Any, *args: Any) -> str:
    with pytest.raises(E.CodecError) as info:
        fn(*args)
    assert isinstance(info.value, ValueError)
    return info.value.reason


R = E.REASONS

# ---------------------------------------------------------------- hex


@pytest.mark.parametrize(
    ("text", "n", "out"),
    [("", 0, b""), ("00ff", 2, b"\x00\xff"), ("aBcD", 2, b"\xab\xcd"), ("0" * 128, 64, bytes(64))],
)
def test_hex_ok(impl: Any, text: str, n: int, out: bytes) -> None:
    assert impl.decode_hex(text, n) == out
    assert impl.decode_hex(text.encode(), n) == out


@pytest.mark.parametrize(
    ("text", "n", "code"),
    [
        ("0", 1, E.E_HEX_LENGTH),
        ("000", 1, E.E_HEX_LENGTH),
        ("0000", 1, E.E_HEX_LENGTH),
        ("00", 2, E.E_HEX_LENGTH),
        ("0g", 1, E.E_HEX_CHAR),
        (" 0", 1, E.E_HEX_CHAR),
        ("0\n", 1, E.E_HEX_CHAR),
        ("+1", 1, E.E_HEX_CHAR),
        ("0x", 1, E.E_HEX_CHAR),
        ("\u0660\u0661", 2, E.E_HEX_CHAR),  # Arabic-Indic digits: 4 UTF-8 bytes
        ("\u0660", 1, E.E_HEX_CHAR),
        ("00", -1, E.E_HEX_LENGTH),
    ],
)
def test_hex_refused(impl: Any, text: str, n: int, code: int) -> None:
    assert refused(impl.decode_hex, text, n) == R[code]


# ---------------------------------------------------------------- base64


@pytest.mark.parametrize("size", range(0, 12))
def test_b64_round_trip_every_form(impl: Any, size: int) -> None:
    data = bytes(range(250, 256)) * 2
    data = data[:size]
    std = base64.b64encode(data)
    url = base64.urlsafe_b64encode(data)
    for form in (std, std.rstrip(b"="), url, url.rstrip(b"=")):
        assert impl.decode_b64(form) == data
        assert impl.decode_b64(form.decode()) == data


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("QQ=", E.E_B64_PADDING),
        ("QQ===", E.E_B64_PADDING),
        ("QUI==", E.E_B64_PADDING),
        ("QUJD=", E.E_B64_PADDING),
        ("QUJD====", E.E_B64_PADDING),
        ("====", E.E_B64_PADDING),
        ("=", E.E_B64_PADDING),
        ("Q=Q=", E.E_B64_PADDING),
        ("QQ==QUJD", E.E_B64_PADDING),
        ("QUJDQ===", E.E_B64_PADDING),
        ("Q", E.E_B64_LENGTH),
        ("QUJDQ", E.E_B64_LENGTH),
        ("QR==", E.E_B64_PAD_BITS),
        ("QR", E.E_B64_PAD_BITS),
        ("QUJ", E.E_B64_PAD_BITS),
        ("QUJ=", E.E_B64_PAD_BITS),
        ("a+b_", E.E_B64_MIXED),
        ("-/==", E.E_B64_MIXED),
        ("QU JD", E.E_B64_CHAR),
        ("QUJD\n", E.E_B64_CHAR),
        ("QUJD\r\n", E.E_B64_CHAR),
        ("\tQUJD", E.E_B64_CHAR),
        ("QUJ.", E.E_B64_CHAR),
        ("QUJ\x00", E.E_B64_CHAR),
        ("QUJé", E.E_B64_CHAR),
        ("QU=D", E.E_B64_PADDING),
        ("Q U=", E.E_B64_CHAR),  # a bad character wins over a padding fault
        ("a+b_ ", E.E_B64_CHAR),
        ("a=+_", E.E_B64_PADDING),  # misplaced '=' wins over mixed alphabets
    ],
)
def test_b64_refused(impl: Any, text: str, code: int) -> None:
    assert refused(impl.decode_b64, text) == R[code]
    assert refused(impl.decode_b64, text.encode("utf-8")) == R[code]


def test_b64_lone_surrogate_text_is_refused_not_crashing(impl: Any) -> None:
    assert refused(impl.decode_b64, "QU\ud800") == R[E.E_B64_CHAR]


# ---------------------------------------------------------------- JSON


@pytest.mark.parametrize(
    "text",
    [
        '{"a":1}',
        " \t\r\n{ } \n",
        "[]",
        '"x"',
        "0",
        "-0",
        "-0.0e-0",
        "1E+2",
        "true",
        "null",
        '{"a":{"a":{"a":[1,2,{"a":null}]}}}',
        '{"\\ud800":1,"\\udc00":2,"\\ud800\\u0041":3}',
        '{"\\ud83d\\ude00x":1,"\\ud83d\\ude00":2}',
        '{"a\\/b":1,"a/c":2}',
        '"\\u0000\\"\\\\\\/\\b\\f\\n\\r\\t"',
        '"\x7f\u2028é😀"',
        '{"A":1,"a":2}',
        "[" + "1" * 4000 + "]",
        "1e400",
        '{"n":' + "9" * 300 + ".5}",
    ],
)
def test_json_ok(impl: Any, text: str) -> None:
    assert impl.loads_strict(text) == json.loads(text)
    assert impl.loads_strict(text.encode("utf-8")) == json.loads(text)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (b"", E.E_JSON_SYNTAX),
        (b"  ", E.E_JSON_SYNTAX),
        (b"{", E.E_JSON_SYNTAX),
        (b'{"a":1,}', E.E_JSON_SYNTAX),
        (b"[1,]", E.E_JSON_SYNTAX),
        (b'{"a" 1}', E.E_JSON_SYNTAX),
        (b"{a:1}", E.E_JSON_SYNTAX),
        (b"{'a':1}", E.E_JSON_SYNTAX),
        (b"01", E.E_JSON_SYNTAX),
        (b"1.", E.E_JSON_SYNTAX),
        (b".5", E.E_JSON_SYNTAX),
        (b"+1", E.E_JSON_SYNTAX),
        (b"-", E.E_JSON_SYNTAX),
        (b"1e", E.E_JSON_SYNTAX),
        (b"0x10", E.E_JSON_SYNTAX),
        (b"True", E.E_JSON_SYNTAX),
        (b"nul", E.E_JSON_SYNTAX),
        (b"{}{}", E.E_JSON_SYNTAX),
        (b"{}\x0b", E.E_JSON_SYNTAX),
        (b"\x0c{}", E.E_JSON_SYNTAX),
        (b"\xc2\xa0{}", E.E_JSON_SYNTAX),
        (" {}\u3000".encode(), E.E_JSON_SYNTAX),
        (b" \xef\xbb\xbf{}", E.E_JSON_SYNTAX),
        (b'"abc', E.E_JSON_SYNTAX),
        (b"NaN", E.E_JSON_NONFINITE),
        (b"[Infinity]", E.E_JSON_NONFINITE),
        (b'{"x":-Infinity}', E.E_JSON_NONFINITE),
        (b'"a\x01"', E.E_JSON_CONTROL),
        (b'"a\nb"', E.E_JSON_CONTROL),
        (b'"\x00"', E.E_JSON_CONTROL),
        (b'"\\x41"', E.E_JSON_ESCAPE),
        (b'"\\u12G4"', E.E_JSON_ESCAPE),
        (b'"\\U1234"', E.E_JSON_ESCAPE),
        (b"\xef\xbb\xbf{}", E.E_BOM),
        (b'"\xff"', E.E_UTF8),
        (b'"\xc0\xaf"', E.E_UTF8),  # overlong '/'
        (b'"\xe0\x80\xaf"', E.E_UTF8),  # overlong
        (b'"\xed\xa0\x80"', E.E_UTF8),  # UTF-8-encoded surrogate
        (b'"\xf4\x90\x80\x80"', E.E_UTF8),  # above U+10FFFF
        (b'"\xf8\x88\x80\x80\x80"', E.E_UTF8),
        (b'"\xe2\x82"', E.E_UTF8),  # truncated
        (b"{}\x80", E.E_UTF8),
        (b'{"a":1,"a":2}', E.E_JSON_DUPLICATE),
        (b'{"a":1,"\\u0061":2}', E.E_JSON_DUPLICATE),
        (b'{"\\/":1,"/":2}', E.E_JSON_DUPLICATE),
        (b'{"\\ud83d\\ude00":1,"\xf0\x9f\x98\x80":2}', E.E_JSON_DUPLICATE),
        (b'{"\\ud800":1,"\\uD800":2}', E.E_JSON_DUPLICATE),
        (b'{"x":[{"b":1,"c":{},"b":[]}]}', E.E_JSON_DUPLICATE),
        (
            b"{" + b",".join(b'"k%d":%d' % (i, i) for i in range(300)) + b',"k7":0}',
            E.E_JSON_DUPLICATE,
        ),
        (b"[" * 33 + b"]" * 33, E.E_JSON_DEPTH),
        (b'{"a":' * 33 + b"1" + b"}" * 33, E.E_JSON_DEPTH),
    ],
)
def test_json_refused(impl: Any, text: bytes, code: int) -> None:
    assert refused(impl.loads_strict, text) == R[code]


def test_json_depth_limit_is_exact(impl: Any) -> None:
    for limit in (0, 1, 2, 32):
        assert impl.loads_strict(b"1", limit) == 1
        ok = b"[" * limit + b"]" * limit
        assert impl.loads_strict(ok or b"1", limit) == json.loads(ok or b"1")
        deep = b"[" * (limit + 1) + b"]" * (limit + 1)
        assert refused(impl.loads_strict, deep, limit) == R[E.E_JSON_DEPTH]
    mixed = b'{"a":[' * 16 + b"0" + b"]}" * 16
    assert impl.loads_strict(mixed) is not None
    assert refused(impl.loads_strict, b"[" + mixed + b"]") == R[E.E_JSON_DEPTH]
    with pytest.raises(ValueError):
        impl.loads_strict(b"1", -1)


def test_json_thousands_deep_is_refused_not_a_recursion_error(impl: Any) -> None:
    assert refused(impl.loads_strict, b"[" * 20000 + b"]" * 20000) == R[E.E_JSON_DEPTH]


def test_json_integer_too_long_for_python(impl: Any) -> None:
    assert refused(impl.loads_strict, b"[" + b"7" * 5000 + b"]") == E.REASON_NUMBER_TOO_LONG


def test_json_str_with_lone_surrogate_is_not_utf8(impl: Any) -> None:
    assert refused(impl.loads_strict, '"\ud800"') == R[E.E_UTF8]


# ---------------------------------------------------------------- claim split

GOOD = {"kid": "v1", "payload_b64": "eyJhIjoxfQ", "signature_hex": "ab" * 64}


def _claim(**changes: Any) -> bytes:
    doc = dict(GOOD)
    for key, value in changes.items():
        if value is KeyError:
            doc.pop(key)
        else:
            doc[key] = value
    return json.dumps(doc).encode()


def test_split_plain(impl: Any) -> None:
    assert impl.split_claim(_claim()) == ("v1", "eyJhIjoxfQ", "ab" * 64)
    assert impl.split_claim(_claim().decode()) == ("v1", "eyJhIjoxfQ", "ab" * 64)


def test_split_ignores_other_members_of_any_type(impl: Any) -> None:
    text = _claim(extra=[1, {"kid": 5}, None], n=10**5000 if False else 1.5, big=0)
    text = text[:-1] + b', "huge": ' + b"9" * 5000 + b"}"
    assert impl.split_claim(text) == ("v1", "eyJhIjoxfQ", "ab" * 64)


def test_split_escapes(impl: Any) -> None:
    text = (
        b'{"k\\u0069d":"v\\u00e9\\ud83d\\ude00\\n","payload_b64":"a\\/b","signature_hex":"\\ud800"}'
    )
    assert impl.split_claim(text) == ("vé😀\n", "a/b", "\ud800")
    raw = '{"kid":"é😀","payload_b64":"","signature_hex":""}'.encode()
    assert impl.split_claim(raw) == ("é😀", "", "")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (_claim(kid=KeyError), E.E_KID_MISSING),
        (_claim(kid=1), E.E_KID_TYPE),
        (_claim(kid=None), E.E_KID_TYPE),
        (_claim(kid=["v1"]), E.E_KID_TYPE),
        (_claim(kid={"x": "v1"}), E.E_KID_TYPE),
        (_claim(payload_b64=KeyError), E.E_PAYLOAD_MISSING),
        (_claim(payload_b64=True), E.E_PAYLOAD_TYPE),
        (_claim(signature_hex=KeyError), E.E_SIGNATURE_MISSING),
        (_claim(signature_hex=12), E.E_SIGNATURE_TYPE),
        (_claim(kid=KeyError, signature_hex=KeyError), E.E_KID_MISSING),
        (_claim(kid=KeyError, signature_hex=1), E.E_KID_MISSING),
        (_claim(payload_b64=1, signature_hex=KeyError), E.E_PAYLOAD_TYPE),
        (b'["kid","payload_b64","signature_hex"]', E.E_NOT_OBJECT),
        (b'"kid"', E.E_NOT_OBJECT),
        (b'{"x":{"kid":"a","payload_b64":"b","signature_hex":"c"}}', E.E_KID_MISSING),
        (_claim()[:-1] + b',"kid":"v2"}', E.E_JSON_DUPLICATE),
        (_claim()[:-1] + b',"k\\u0069d":"v2"}', E.E_JSON_DUPLICATE),
        (_claim()[:-1] + b',"x":' + b"[" * 32 + b"]" * 32 + b"}", E.E_JSON_DEPTH),
        (_claim()[:-1] + b',"x":NaN}', E.E_JSON_NONFINITE),
        (b"\xef\xbb\xbf" + _claim(), E.E_BOM),
        (_claim(kid="\xe9").replace(b"\\u00e9", "\xe9".encode()), None),
        (_claim()[:-1] + b',"x":"\xc3"}', E.E_UTF8),
        (_claim()[:-1] + b",}", E.E_JSON_SYNTAX),
        (b"", E.E_JSON_SYNTAX),
    ],
)
def test_split_refused(impl: Any, text: bytes, code: int | None) -> None:
    if code is None:
        assert impl.split_claim(text)[0] == "\xe9"
        return
    assert refused(impl.split_claim, text) == R[code]


def test_split_depth_32_is_allowed(impl: Any) -> None:
    text = _claim()[:-1] + b',"x":' + b"[" * 31 + b"]" * 31 + b"}"
    assert impl.split_claim(text)[0] == "v1"


# ---------------------------------------------------------------- payload


def _b64(obj: Any, url: bool = False) -> str:
    raw = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    enc = base64.urlsafe_b64encode(raw) if url else base64.b64encode(raw)
    return enc.decode()


def test_payload_ok(impl: Any) -> None:
    payload = {"sub": "u", "iat": 1, "exp": 2, "aud": ["a", "b"], "x": {"y": [None]}}
    for url in (False, True):
        text = _b64(payload, url)
        assert impl.decode_payload(text) == payload
        assert impl.decode_payload(text.rstrip("=")) == payload
        assert impl.decode_payload(text.encode()) == payload


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (_b64({"a": 1}) + "\n", E.E_B64_CHAR),
        (" " + _b64({"a": 1}).rstrip("="), E.E_B64_CHAR),
        (" " + _b64({"a": 1}), E.E_B64_PADDING),
        ("e-J+", E.E_B64_MIXED),
        (_b64(b"[1]"), E.E_NOT_OBJECT),
        (_b64(b'"x"'), E.E_NOT_OBJECT),
        (_b64(b"\xff{}"), E.E_UTF8),
        (_b64(b"\xef\xbb\xbf{}"), E.E_BOM),
        (_b64(b'{"a":1,"a":1}'), E.E_JSON_DUPLICATE),
        (_b64(b'{"a":' * 32 + b"1" + b"}" * 32), None),
        (_b64(b'{"a":' * 33 + b"1" + b"}" * 33), E.E_JSON_DEPTH),
        (_b64(b'{"iat":NaN}'), E.E_JSON_NONFINITE),
        (_b64(b""), E.E_JSON_SYNTAX),
        ("", E.E_JSON_SYNTAX),
    ],
)
def test_payload_refused(impl: Any, text: str, code: int | None) -> None:
    if code is None:
        assert isinstance(impl.decode_payload(text), dict)
        return
    assert refused(impl.decode_payload, text) == R[code]


def test_payload_huge_integer(impl: Any) -> None:
    text = _b64(b'{"iat":' + b"1" * 5000 + b"}")
    assert refused(impl.decode_payload, text) == E.REASON_NUMBER_TOO_LONG


def test_codec_error_never_echoes_input(impl: Any) -> None:
    secret = "SECRETSECRET"
    for fn, args in (
        (impl.decode_b64, (secret + "!",)),
        (impl.decode_hex, (secret, 6)),
        (impl.loads_strict, ('{"' + secret + '":NaN}',)),
        (impl.split_claim, ('{"' + secret + '":1}',)),
        (impl.decode_payload, (_b64({secret: 1})[:-2] + "!!",)),
    ):
        with pytest.raises(E.CodecError) as info:
            fn(*args)
        assert secret not in str(info.value) and secret not in info.value.reason
