"""Verify an API response's ``X-Hoody-Signature`` (SPEC §3)."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection

from .backends import Backend, get_backend
from .claim_rules import unix_seconds
from .errors import (
    InvalidSignature,
    SignatureMismatch,
    StaleSignature,
    UnknownKey,
)
from .key_document import KeySet
from .keystore import KeySource, as_key_source
from .signature_header import SignatureHeader, parse_signature_header

__all__ = ["DEFAULT_MAX_SKEW", "signed_message_prefix", "verify_response"]

DEFAULT_MAX_SKEW = 300


def signed_message_prefix(header: SignatureHeader) -> bytes:
    """What precedes the body in the signed message: current form, or legacy ``"{t}."``."""
    if header.method is not None:
        return f"{header.t}\n{header.method}\n{header.status:03d}\n{header.path}\n".encode()
    return f"{header.t}.".encode()


def verify_response(
    keys_or_store: KeySet | KeySource,
    value: str | bytes | SignatureHeader,
    *,
    method: str,
    status: int,
    path: str,
    body: bytes,
    now: float | None = None,
    max_skew: int | None = None,
    require_bound: bool = False,
    allowed_kids: Collection[str] | None = None,
    backend: Backend | str | None = None,
    clock: Callable[[], float] = time.time,
) -> SignatureHeader:
    """Check that ``body`` came from Hoody as the answer to ``method path`` with ``status``.

    ``path`` is the request's path as sent, query string included. ``require_bound=True``
    refuses legacy headers that do not sign the method and status. Returns the parsed header.
    """
    if max_skew is not None and (type(max_skew) is not int or max_skew < 0):
        raise ValueError("max_skew must be a non-negative integer number of seconds")
    if isinstance(allowed_kids, str):
        allowed_kids = (allowed_kids,)  # one kid, never a substring test
    if not isinstance(method, str) or type(status) is not int:
        raise TypeError("method must be a str and status an int")
    header = value if isinstance(value, SignatureHeader) else parse_signature_header(value)
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise TypeError("body must be the response body as bytes")
    if header.method is None:
        if require_bound:
            raise SignatureMismatch(
                "legacy signature header (no m=/s=) refused: require_bound is on"
            )
    else:
        if header.method != method.upper():
            raise SignatureMismatch(
                f"the signature is for method {header.method}, not {method.upper()}"
            )
        if header.status != status:
            raise SignatureMismatch(f"the signature is for status {header.status}, not {status}")
    if header.path != path:
        raise SignatureMismatch("the signature is for another path")
    if allowed_kids is not None and header.kid not in allowed_kids:
        raise UnknownKey("the response is signed with a key that is not allowed here")

    source = as_key_source(keys_or_store)
    keys = source.key_set()
    if max_skew is None:
        max_skew = keys.replay_tolerance_seconds
        if max_skew is None:
            max_skew = DEFAULT_MAX_SKEW
    t_now = unix_seconds(clock() if now is None else now)
    if abs(t_now - header.t) > max_skew:
        age = t_now - header.t
        raise StaleSignature(
            f"the signature is {age} s old; at most {max_skew} s allowed"
            if age > 0
            else f"the signature is dated {-age} s in the future; at most {max_skew} s allowed"
        )

    key = source.key_for(header.kid)
    if key is None:
        raise UnknownKey("the response is signed with a key this client does not know")
    impl = backend if isinstance(backend, Backend) else get_backend(backend)
    if not impl.verify_parts(header.sig, signed_message_prefix(header), bytes(body), key):
        raise InvalidSignature("the response signature does not verify")
    return header
