"""Strict hex and base64 decoding in pure Python, with exactly the C core's rules.

``decode_b64`` follows SPEC section 2 step 4: the standard or the url-safe
alphabet (not both in one string), padding optional but correct when present
and only at the end, no whitespace or any other character, zero pad bits, and
an unpadded length of 1 mod 4 refused. Python's ``base64.b64decode`` silently
skips characters outside its alphabet unless told not to, and never checks the
pad bits, so its result is only used after the checks below.

Errors are :class:`CodecError` with a short ``reason``; the reasons (and the
numeric codes shared with ``csrc/hoody_core.h``) live here so the native and
the pure-Python codecs report identical words.
"""

from __future__ import annotations

import base64

__all__ = ["CodecError", "decode_b64", "decode_hex", "reason_for_code"]


class CodecError(ValueError):
    """Input that a strict decoder refused; ``reason`` says why, never quoting it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Mirrors enum hc_status in csrc/hoody_core.h (tests/test_native.py checks it).
E_HEX_LENGTH = 10
E_HEX_CHAR = 11
E_B64_CHAR = 20
E_B64_PADDING = 21
E_B64_MIXED = 22
E_B64_LENGTH = 23
E_B64_PAD_BITS = 24
E_UTF8 = 30
E_BOM = 31
E_JSON_SYNTAX = 32
E_JSON_CONTROL = 33
E_JSON_ESCAPE = 34
E_JSON_NONFINITE = 35
E_JSON_DEPTH = 36
E_JSON_DUPLICATE = 37
E_NOT_OBJECT = 40
E_KID_MISSING = 41
E_KID_TYPE = 42
E_PAYLOAD_MISSING = 43
E_PAYLOAD_TYPE = 44
E_SIGNATURE_MISSING = 45
E_SIGNATURE_TYPE = 46
E_SIGNATURE_HEX = 47
E_SIGNATURE_INVALID = 50

REASONS: dict[int, str] = {
    E_HEX_LENGTH: "wrong number of hex digits",
    E_HEX_CHAR: "a character that is not a hex digit",
    E_B64_CHAR: "a character outside the base64 alphabet",
    E_B64_PADDING: "misplaced or wrong base64 padding",
    E_B64_MIXED: "both the standard and the url-safe base64 alphabet",
    E_B64_LENGTH: "truncated base64 (length is 1 mod 4)",
    E_B64_PAD_BITS: "non-zero base64 pad bits",
    E_UTF8: "not valid UTF-8",
    E_BOM: "starts with a byte order mark",
    E_JSON_SYNTAX: "not valid JSON",
    E_JSON_CONTROL: "a raw control character inside a JSON string",
    E_JSON_ESCAPE: "an invalid escape in a JSON string",
    E_JSON_NONFINITE: "NaN or Infinity, which JSON does not allow",
    E_JSON_DEPTH: "JSON nested too deeply",
    E_JSON_DUPLICATE: "a duplicate member name in a JSON object",
    E_NOT_OBJECT: "not a JSON object",
    E_KID_MISSING: "the kid field is missing",
    E_KID_TYPE: "the kid field is not a string",
    E_PAYLOAD_MISSING: "the payload_b64 field is missing",
    E_PAYLOAD_TYPE: "the payload_b64 field is not a string",
    E_SIGNATURE_MISSING: "the signature_hex field is missing",
    E_SIGNATURE_TYPE: "the signature_hex field is not a string",
    E_SIGNATURE_HEX: "the signature_hex field is not 128 hex digits",
    E_SIGNATURE_INVALID: "the signature does not verify",
}

# Only the Python side can hit this one: json refuses integers with more
# digits than sys.get_int_max_str_digits().
REASON_NUMBER_TOO_LONG = "a JSON integer with too many digits"


def reason_for_code(code: int) -> str:
    """The reason text for a C core status code."""
    return REASONS.get(code, f"refused by the native core (code {code})")


def _fail(code: int) -> CodecError:
    return CodecError(REASONS[code])


def _as_bytes(text: str | bytes | bytearray | memoryview) -> bytes:
    if isinstance(text, str):
        # Same bytes the native wrappers hand to C; a non-ASCII character is
        # then refused as a character outside the alphabet.
        return text.encode("utf-8", "surrogatepass")
    return bytes(text)


_HEX_DIGITS = b"0123456789abcdefABCDEF"
_ALNUM = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_B64_STD = _ALNUM + b"+/"
_B64_ANY = _B64_STD + b"-_"
_URL_TO_STD = bytes.maketrans(b"-_", b"+/")


def decode_hex(text: str | bytes, nbytes: int) -> bytes:
    """Exactly ``2 * nbytes`` hex digits (either case) to ``nbytes`` bytes."""
    data = _as_bytes(text)
    if nbytes < 0 or len(data) != 2 * nbytes:
        raise _fail(E_HEX_LENGTH)
    if data.translate(None, _HEX_DIGITS):
        raise _fail(E_HEX_CHAR)
    return bytes.fromhex(data.decode("ascii"))


def decode_b64(text: str | bytes) -> bytes:
    """Strict base64 of either alphabet (SPEC section 2 step 4) to bytes."""
    data = _as_bytes(text)
    n = len(data)
    core = len(data.rstrip(b"="))
    npad = n - core
    # Same order of checks as hc_b64_decode, so both give the same reason.
    if npad and (npad > 2 or n % 4):
        raise _fail(E_B64_PADDING)
    body = data[:core]
    rest = body.translate(None, _B64_ANY)
    if rest.translate(None, b"="):
        raise _fail(E_B64_CHAR)
    if rest:
        raise _fail(E_B64_PADDING)
    std = b"+" in body or b"/" in body
    url = b"-" in body or b"_" in body
    if std and url:
        raise _fail(E_B64_MIXED)
    rem = core % 4
    if rem == 1:
        raise _fail(E_B64_LENGTH)
    if npad and npad != (4 - rem) % 4:
        raise _fail(E_B64_PADDING)
    if rem:
        last = _B64_STD.index(body[-1:].translate(_URL_TO_STD))
        if last & (0x0F if rem == 2 else 0x03):
            raise _fail(E_B64_PAD_BITS)
    if url:
        body = body.translate(_URL_TO_STD)
    return base64.b64decode(body + b"=" * ((4 - rem) % 4), validate=True)
