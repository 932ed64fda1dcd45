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
)

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "MAX_DEPTH_LIMIT",
    "decode_payload",
    "finish_claim_field",
    "finish_payload",
    "loads_checked",
    "loads_strict",
    "split_claim",
]

DEFAULT_MAX_DEPTH = 32
# Same bound as HC_JSON_DEPTH_LIMIT in csrc/hoody_core.h.
MAX_DEPTH_LIMIT = 1024

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
