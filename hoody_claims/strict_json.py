"""Strict JSON in pure Python, accepting exactly what the C core's hc_json_check accepts.

On top of :func:`json.loads` this refuses: bytes that are not strict UTF-8
(json would guess UTF-16/32 from bytes), a byte order mark, NaN and
+/-Infinity, a duplicate member name in any object (compared after
unescaping, as Python compares the keys), and nesting deeper than
``max_depth`` (objects + arrays, a top-level container counting 1). What
json.loads already does strictly is kept: only the four JSON whitespace
characters around tokens, no raw control characters in strings, the RFC 8259
number grammar with ASCII digits, lone ``\\uD800``-style escapes accepted.

Also here: the claim object split and the payload decode used when the native
core is absent, and the small finishing helpers the native wrappers share.
"""

from __future__ import annotations

import json
from typing import Any

from .encoding import (
    E_BOM,
    E_JSON_CONTROL,
    E_JSON_DEPTH,
    E_JSON_DUPLICATE,
    E_JSON_ESCAPE,
    E_JSON_NONFINITE,
    E_JSON_SYNTAX,
    E_KID_MISSING,
    E_KID_TYPE,
    E_NOT_OBJECT,
    E_PAYLOAD_MISSING,
    E_PAYLOAD_TYPE,
    E_SIGNATURE_MISSING,
    E_SIGNATURE_TYPE,
    E_UTF8,
    REASON_NUMBER_TOO_LONG,
    REASONS,
    CodecError,
    decode_b64,
    decode_hex,
)

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "MAX_CLAIM_TEXT",
    "MAX_COMPACT",
    "MAX_DEPTH_LIMIT",
    "MAX_PAYLOAD_B64",
    "MAX_PAYLOAD_BYTES",
    "REASON_CLAIM_TOO_LARGE",
    "REASON_PAYLOAD_NOT_BASE64",
    "REASON_PAYLOAD_TOO_LARGE",
    "REASON_SIGNATURE_HEX",
    "decode_payload",
    "finish_claim_field",
    "finish_claim_parts",
    "finish_payload",
    "loads_checked",
    "loads_strict",
    "payload_b64_too_large",
    "prepare_claim",
    "reason_not_claim_object",
    "reason_not_compact",
    "split_claim",
]

DEFAULT_MAX_DEPTH = 32
# Same bound as HC_JSON_DEPTH_LIMIT in csrc/hoody_core.h.
MAX_DEPTH_LIMIT = 1024

# SPEC section 2 step 1 sizes, as claim_parse.py applies them (same values).
MAX_CLAIM_TEXT = 16 * 1024
MAX_PAYLOAD_BYTES = 8 * 1024
MAX_COMPACT = -(-MAX_CLAIM_TEXT // 3) * 4
MAX_PAYLOAD_B64 = -(-MAX_PAYLOAD_BYTES // 3) * 4

# prepare_claim's refusals: the whole message, word for word what
# claim_parse.parse_claim puts in MalformedClaim for the same fault.
REASON_CLAIM_TOO_LARGE = "the claim is larger than 16 KiB"
REASON_PAYLOAD_TOO_LARGE = "the claim's payload is larger than 8 KiB"
REASON_PAYLOAD_NOT_BASE64 = "the claim's payload_b64 is not base64"
REASON_SIGNATURE_HEX = "the claim's signature_hex is not 128 hex digits"


def reason_not_compact(reason: str) -> str:
    """prepare_claim's message for input that is neither JSON nor strict base64."""
    return f"the claim is neither JSON nor a compact token ({reason})"


def reason_not_claim_object(reason: str) -> str:
    """prepare_claim's message for JSON text that is not a valid claim object."""
    return f"the claim is not a valid claim object: {reason}"


_CLAIM_FIELDS = (
    ("kid", E_KID_MISSING, E_KID_TYPE),
    ("payload_b64", E_PAYLOAD_MISSING, E_PAYLOAD_TYPE),
    ("signature_hex", E_SIGNATURE_MISSING, E_SIGNATURE_TYPE),
)


class _Refused(Exception):
    """Raised inside json's hooks; carries the status code out of json.loads."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _Refused(E_JSON_DUPLICATE)
    return obj


def _constant(name: str) -> Any:
    raise _Refused(E_JSON_NONFINITE)


def _any_int(text: str) -> int:
    return 0


def _fail(code: int) -> CodecError:
    return CodecError(REASONS[code])


def _syntax_code(msg: str) -> int:
    if msg.startswith("Invalid control character"):
        return E_JSON_CONTROL
    if msg.startswith("Invalid \\"):
        return E_JSON_ESCAPE
    return E_JSON_SYNTAX


def _text(data: str | bytes | bytearray | memoryview) -> str:
    if isinstance(data, str):
        try:
            data.encode("utf-8")
        except UnicodeEncodeError:
            raise _fail(E_UTF8) from None
        return data
    try:
        return bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        raise _fail(E_UTF8) from None


def _too_deep(obj: Any, max_depth: int) -> bool:
    # Iterative, so a deep document cannot exhaust the Python stack here.
    if not isinstance(obj, (dict, list)):
        return False
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            return True
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return False


def _parse(data: str | bytes, max_depth: int, *, ints: bool) -> Any:
    if not 0 <= max_depth <= MAX_DEPTH_LIMIT:
        raise ValueError(f"max_depth must be between 0 and {MAX_DEPTH_LIMIT}")
    text = _text(data)
    if text.startswith("\ufeff"):
        raise _fail(E_BOM)
    try:
        obj = json.loads(
            text,
            object_pairs_hook=_pairs,
            parse_constant=_constant,
            parse_int=None if ints else _any_int,
        )
    except _Refused as exc:
        raise _fail(exc.code) from None
    except json.JSONDecodeError as exc:
        raise _fail(_syntax_code(exc.msg)) from None
    except RecursionError:
        raise _fail(E_JSON_DEPTH) from None
    except ValueError:
        if not ints:  # cannot happen: without int conversion no number is too long
            raise
        # json stops at the first over-long integer; the C core reports any other fault in
        # the text first. Look for one without converting integers, then report the length.
        _parse(text, max_depth, ints=False)
        raise CodecError(REASON_NUMBER_TOO_LONG) from None
    if _too_deep(obj, max_depth):
        raise _fail(E_JSON_DEPTH)
    return obj


def loads_strict(data: str | bytes, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """Parse strict JSON text (see the module docstring) or raise CodecError."""
    return _parse(data, max_depth, ints=True)


def split_claim(text: str | bytes) -> tuple[str, str, str]:
    """``(kid, payload_b64, signature_hex)`` of a claim object's JSON text.

    The text must be strict JSON (nesting <= 32) whose top level is an object
    holding the three members as strings; other members are ignored.
    """
    # Integers are not converted: the other members are ignored, so a huge
    # one must not be refused here when the C core does not refuse it.
    obj = _parse(text, DEFAULT_MAX_DEPTH, ints=False)
    if not isinstance(obj, dict):
        raise _fail(E_NOT_OBJECT)
    for name, missing, wrong_type in _CLAIM_FIELDS:
        if name not in obj:
            raise _fail(missing)
        if not isinstance(obj[name], str):
            raise _fail(wrong_type)
    return obj["kid"], obj["payload_b64"], obj["signature_hex"]


def payload_b64_too_large(payload_b64: str | bytes) -> bool:
    """Whether a payload_b64 decodes to more than 8 KiB: longer than MAX_PAYLOAD_B64, or
    exactly that long without the one "=" that makes it 8192 bytes rather than 8193."""
    n = len(payload_b64)
    return n > MAX_PAYLOAD_B64 or (n == MAX_PAYLOAD_B64 and payload_b64[-1:] not in ("=", b"="))


def finish_claim_parts(kid: str, payload_b64: str, signature_hex: str) -> tuple[str, str, bytes]:
    """The checks after the split, in claim_parse's order: payload size, payload
    ASCII, then signature_hex as exactly 128 hex digits (decoded to 64 bytes)."""
    if payload_b64_too_large(payload_b64):
        raise CodecError(REASON_PAYLOAD_TOO_LARGE)
    if not payload_b64.isascii():
        raise CodecError(REASON_PAYLOAD_NOT_BASE64)
    if len(signature_hex) != 128:
        raise CodecError(REASON_SIGNATURE_HEX)
    try:
        signature = decode_hex(signature_hex, 64)
    except CodecError:
        raise CodecError(REASON_SIGNATURE_HEX) from None
    return kid, payload_b64, signature


def prepare_claim(data: bytes) -> tuple[str, str, bytes]:
    """``(kid, payload_b64, signature)`` of a claim's JSON text or compact token (bytes).

    SPEC section 2 step 1 in one call: JSON text when the first byte is ``{``,
    else the compact form (strict base64 of the JSON text); the size limits;
    the claim object split; the payload size and ASCII checks; signature_hex
    as 128 hex digits. Refusals are ``CodecError`` whose reason is the whole
    message (see the REASON_* constants and reason_not_*()).
    """
    if data[:1] != b"{":
        if len(data) > MAX_COMPACT:
            raise CodecError(REASON_CLAIM_TOO_LARGE)
        try:
            data = decode_b64(data)
        except CodecError as exc:
            raise CodecError(reason_not_compact(exc.reason)) from None
    if len(data) > MAX_CLAIM_TEXT:
        raise CodecError(REASON_CLAIM_TOO_LARGE)
    try:
        kid, payload_b64, signature_hex = split_claim(data)
    except CodecError as exc:
        raise CodecError(reason_not_claim_object(exc.reason)) from None
    return finish_claim_parts(kid, payload_b64, signature_hex)


def decode_payload(payload_b64: str | bytes) -> dict[str, Any]:
    """Strict base64 of strict UTF-8 JSON that is an object (SPEC section 2 step 4)."""
    obj = loads_strict(decode_b64(payload_b64), DEFAULT_MAX_DEPTH)
    if not isinstance(obj, dict):
        raise _fail(E_NOT_OBJECT)
    return obj


# --- helpers for hoody_claims.native, after the C core has checked the text ---


def loads_checked(text: str) -> Any:
    """json.loads of text the C core already validated."""
    try:
        return json.loads(text)
    except RecursionError:
        raise _fail(E_JSON_DEPTH) from None
    except json.JSONDecodeError:
        # Only reachable if the C core ever accepted what json refuses; the
        # differential tests compare the C verdict itself, so this is a net.
        raise _fail(E_JSON_SYNTAX) from None
    except ValueError:
        # Only an integer longer than the int-conversion limit gets here.
        raise CodecError(REASON_NUMBER_TOO_LONG) from None


def finish_payload(text: str) -> dict[str, Any]:
    """The payload object from text the C core checked to be a JSON object."""
    obj = loads_checked(text)
    if not isinstance(obj, dict):  # cannot happen after hc_payload_decode
        raise _fail(E_NOT_OBJECT)
    return obj


def finish_claim_field(quoted: bytes) -> str:
    """Unescape one JSON string (quotes included) the C core already checked."""
    try:
        value = json.loads(quoted.decode("utf-8"))
    except ValueError:  # as in loads_checked: a net, not an expected path
        raise _fail(E_JSON_SYNTAX) from None
    if not isinstance(value, str):  # cannot happen for a span from hc_claim_split
        raise _fail(E_JSON_SYNTAX)
    return value
