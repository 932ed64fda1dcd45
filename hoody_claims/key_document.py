"""Parse and check the key document of ``GET /api/v1/meta/public-key`` (SPEC §1).

The result is a :class:`KeySet`: an immutable map from ``kid`` to a 32-byte Ed25519 public key,
plus the document's default replay tolerance. Anything doubtful refuses the whole document.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .ed25519 import is_valid_public_key
from .encoding import CodecError, decode_b64, decode_hex
from .errors import InvalidKeyDocument
from .strict_json import loads_strict

__all__ = ["MAX_DOCUMENT_BYTES", "KeySet"]

#: A real document is under 2 KiB; anything this large is not one.
MAX_DOCUMENT_BYTES = 1 << 20
#: A rotation lists two or three keys; a document with hundreds is not Hoody's.
MAX_KEYS = 64


@dataclass(frozen=True, slots=True)
class KeySet:
    """An immutable set of Ed25519 verification keys, by ``kid``."""

    keys: Mapping[str, bytes]
    active_kid: str | None = None
    replay_tolerance_seconds: int | None = None
    #: Changes whenever the keys change; remembered claims are dropped when it does. Always
    #: computed from ``keys`` (so a KeySet built or ``dataclasses.replace``-d by hand gets one).
    fingerprint: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.keys, _FrozenKeys):
            # A copy of the caller's map: the set is shared between threads and named by its
            # fingerprint, so changing the dict it was built from must not change it.
            copied = {}
            for kid, key in dict(self.keys).items():
                if not isinstance(kid, str):
                    raise TypeError(f"a kid must be a str, not {type(kid).__name__}")
                copied[kid] = memoryview(key).tobytes()  # bytes-like only: bytes(32) is no key
                if len(copied[kid]) != 32:  # else every claim would look like a forgery
                    raise ValueError(f"the key of kid {kid!r} is not 32 bytes")
            frozen = _FrozenKeys(copied)
            object.__setattr__(self, "keys", frozen)
        digest = hashlib.sha256()
        for kid in sorted(self.keys):
            name = kid.encode("utf-8", "surrogatepass")
            key = self.keys[kid]
            # Length-prefixed, so no two different key sets can feed the same bytes.
            digest.update(len(name).to_bytes(8, "big") + name + len(key).to_bytes(8, "big") + key)
        object.__setattr__(self, "fingerprint", digest.hexdigest())

    def get(self, kid: str) -> bytes | None:
        """The public key named ``kid``, or None."""
        return self.keys.get(kid)

    def __contains__(self, kid: object) -> bool:
        return kid in self.keys

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys)

    def __len__(self) -> int:
        return len(self.keys)

    @classmethod
    def from_document(cls, doc: Mapping[str, Any] | str | bytes) -> KeySet:
        """Parse a key document, wrapped (``{"data": {...}}``) or bare.

        Text is parsed strictly (duplicate names refused). Raises ``InvalidKeyDocument``.
        """
        if isinstance(doc, (str, bytes, bytearray)):
            if len(doc) > MAX_DOCUMENT_BYTES:
                raise InvalidKeyDocument("the key document is larger than 1 MiB")
            try:
                parsed = loads_strict(bytes(doc) if not isinstance(doc, str) else doc)
            except CodecError as exc:
                raise InvalidKeyDocument(
                    f"the key document is not strict JSON: {exc.reason}"
                ) from None
        else:
            parsed = doc
        return _key_set_from_object(parsed)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> KeySet:
        """Read and parse a key document from a file."""
        try:
            with open(path, "rb") as fh:
                data = fh.read(MAX_DOCUMENT_BYTES + 1)
        except OSError as exc:
            raise InvalidKeyDocument(
                f"cannot read key document {Path(path)}: {exc.strerror}"
            ) from None
        return cls.from_document(data)


def _key_set_from_object(parsed: Any) -> KeySet:
    if not isinstance(parsed, Mapping):
        raise InvalidKeyDocument("the key document is not a JSON object")
    body = parsed
    if "keys" not in parsed and isinstance(parsed.get("data"), Mapping):
        status = parsed.get("statusCode", 200)
        if status != 200 or isinstance(status, bool):
            raise InvalidKeyDocument(f"the key document envelope has statusCode {status!r}")
        body = parsed["data"]
    entries = body.get("keys")
    if not isinstance(entries, list):
        raise InvalidKeyDocument('the key document has no "keys" list')

    if len(entries) > MAX_KEYS:
        raise InvalidKeyDocument(f"the key document lists more than {MAX_KEYS} keys")
    keys: dict[str, bytes] = {}
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise InvalidKeyDocument("a key entry is not an object")
        kid = entry.get("kid")
        if not isinstance(kid, str) or not kid or len(kid) > 256:
            raise InvalidKeyDocument("a key entry has no usable kid (a non-empty string)")
        if kid in keys:
            raise InvalidKeyDocument(f"kid {kid!r} is listed twice")
        if entry.get("algorithm") != "ed25519":
            continue  # not ours to use; a rotation may add other algorithms
        keys[kid] = _decode_key(kid, entry)
    if not keys:
        raise InvalidKeyDocument("the key document lists no usable ed25519 key")

    active = body.get("active_kid")
    if active is not None and not isinstance(active, str):
        raise InvalidKeyDocument("active_kid is not a string")
    tolerance = _replay_tolerance(body.get("signing_format"))
    return KeySet(keys=_FrozenKeys(keys), active_kid=active, replay_tolerance_seconds=tolerance)


def _decode_key(kid: str, entry: Mapping[str, Any]) -> bytes:
    decoded: list[bytes] = []
    for name, decoder in _ENCODINGS:
        if name not in entry:
            continue
        text = entry[name]
        if not isinstance(text, str):
            raise InvalidKeyDocument(f"kid {kid!r}: {name} is not a string")
        raw = decoder(text)
        if raw is None:
            raise InvalidKeyDocument(f"kid {kid!r}: {name} is not a canonical 32-byte encoding")
        decoded.append(raw)
    if not decoded:
        raise InvalidKeyDocument(
            f"kid {kid!r}: no public_key_hex, public_key_b64 or public_key_b64url"
        )
    if any(raw != decoded[0] for raw in decoded):
        raise InvalidKeyDocument(f"kid {kid!r}: the key encodings disagree")
    if not is_valid_public_key(decoded[0]):
        raise InvalidKeyDocument(
            f"kid {kid!r}: not a valid Ed25519 public key (small order or non-canonical)"
        )
    return decoded[0]


def _from_hex(text: str) -> bytes | None:
    try:
        return decode_hex(text, 32)
    except CodecError:
        return None


def _from_b64(text: str) -> bytes | None:
    # Canonical means the exact text the standard encoder would write, padding included.
    try:
        raw = decode_b64(text)
    except CodecError:
        return None
    if len(raw) != 32 or base64.b64encode(raw).decode("ascii") != text:
        return None
    return raw


def _from_b64url(text: str) -> bytes | None:
    try:
        raw = decode_b64(text)
    except CodecError:
        return None
    if len(raw) != 32 or base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != text:
        return None
    return raw


_ENCODINGS = (
    ("public_key_hex", _from_hex),
    ("public_key_b64", _from_b64),
    ("public_key_b64url", _from_b64url),
)


def _replay_tolerance(fmt: Any) -> int | None:
    if not isinstance(fmt, Mapping) or "replay_tolerance_seconds" not in fmt:
        return None
    value = fmt["replay_tolerance_seconds"]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 86400:
        raise InvalidKeyDocument("replay_tolerance_seconds is not an integer from 0 to 86400")
    return value


class _FrozenKeys(Mapping[str, bytes]):
    """A read-only dict: KeySets are shared between threads and must not change."""

    __slots__ = ("_d",)

    def __init__(self, d: dict[str, bytes]) -> None:
        self._d = d

    def __getitem__(self, kid: str) -> bytes:
        return self._d[kid]

    def get(self, kid: str, default: Any = None) -> Any:
        return self._d.get(kid, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __repr__(self) -> str:
        return f"KeySet.keys({sorted(self._d)!r})"
