"""Step 1 of SPEC §2: turn whatever arrived into a :class:`RawClaim` (size and shape only).

A claim arrives as a dict, as its JSON text (``X-Hoody-Container-Claim``), or in the compact
form (base64url of that JSON text). Nothing here touches keys or signatures.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .backends import Backend
from .encoding import CodecError
from .errors import MalformedClaim
from .strict_json import payload_b64_too_large

__all__ = [
    "MAX_CLAIM_TEXT",
    "MAX_PAYLOAD_BYTES",
    "ClaimInput",
    "RawClaim",
    "cache_key",
    "parse_claim",
    "to_compact",
]

MAX_CLAIM_TEXT = 16 * 1024
MAX_PAYLOAD_BYTES = 8 * 1024
_MAX_COMPACT = -(-MAX_CLAIM_TEXT // 3) * 4
_FIELDS = ("kid", "payload_b64", "signature_hex")

ClaimInput = Mapping[str, Any] | str | bytes


@dataclass(frozen=True, slots=True)
class RawClaim:
    """A claim whose shape is right; its signature and payload are not checked yet."""

    kid: str
    payload_b64: str
    signature: bytes


def cache_key(claim_in: ClaimInput) -> str | bytes | tuple[str, ...] | None:
    """The exact-match key under which a verified claim is remembered (None: not cacheable)."""
    if isinstance(claim_in, (str, bytes)):
        return claim_in
    if isinstance(claim_in, Mapping):
        fields = tuple(claim_in.get(name) for name in _FIELDS)
        if all(isinstance(f, str) for f in fields):
            return fields  # type: ignore[return-value]
    return None


def parse_claim(claim_in: ClaimInput, backend: Backend) -> RawClaim:
    """Check size and shape; raise ``MalformedClaim`` on anything else."""
    if isinstance(claim_in, (str, bytes, bytearray)):
        return _parse_text(claim_in, backend)
    if not isinstance(claim_in, Mapping):
        raise MalformedClaim(
            f"a claim is a dict, its JSON text or the compact token, not {type(claim_in).__name__}"
        )
    kid, payload_b64, signature_hex = (claim_in.get(name) for name in _FIELDS)
    for name, value in zip(_FIELDS, (kid, payload_b64, signature_hex), strict=True):
        if not isinstance(value, str):
            raise MalformedClaim(f"the claim's {name} is missing or not a string")
    assert isinstance(kid, str) and isinstance(payload_b64, str)
    assert isinstance(signature_hex, str)
    if len(kid) + len(payload_b64) + len(signature_hex) > MAX_CLAIM_TEXT:
        raise MalformedClaim("the claim is larger than 16 KiB")
    if payload_b64_too_large(payload_b64):
        raise MalformedClaim("the claim's payload is larger than 8 KiB")
    if not payload_b64.isascii():
        raise MalformedClaim("the claim's payload_b64 is not base64")
    try:
        signature = backend.decode_hex(signature_hex, 64)
    except CodecError:
        raise MalformedClaim("the claim's signature_hex is not 128 hex digits") from None
    return RawClaim(kid, payload_b64, signature)


def _parse_text(text: str | bytes | bytearray, backend: Backend) -> RawClaim:
    """JSON text or compact form: one native call does the whole of step 1."""
    if isinstance(text, str):
        if len(text) > _MAX_COMPACT:
            raise MalformedClaim("the claim is larger than 16 KiB")
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedClaim("the claim text is not valid UTF-8") from None
    else:
        data = bytes(text)
    try:
        kid, payload_b64, signature = backend.prepare_claim(data)
    except CodecError as exc:
        raise MalformedClaim(exc.reason) from None
    return RawClaim(kid, payload_b64, signature)


def to_compact(claim_in: ClaimInput) -> str:
    """The compact form (base64url, unpadded, of the JSON text) of any claim input."""
    if isinstance(claim_in, Mapping):
        missing = [name for name in _FIELDS if name not in claim_in]
        if missing:
            raise MalformedClaim(f"the claim has no {', '.join(missing)}")
        text = json.dumps({name: claim_in[name] for name in _FIELDS}, separators=(",", ":"))
        data = text.encode("utf-8")
    elif isinstance(claim_in, str):
        data = claim_in.encode("utf-8")
    else:
        data = bytes(claim_in)
    if data[:1] != b"{":
        if not data.isascii():
            raise MalformedClaim("the claim is neither JSON text nor base64")
        return data.decode("ascii")  # already compact
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
