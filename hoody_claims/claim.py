"""The :class:`Claim` value, built from a decoded payload (SPEC §2 step 4, field types)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .errors import MalformedClaim

__all__ = ["Claim", "claim_from_payload"]

_SPELLINGS = (("container_id", "containerId"), ("project_id", "projectId"))
_STRING_FIELDS = ("claim_type", "sub", "type")
_TIME_FIELDS = ("iat", "exp", "nbf")
#: Far enough out for any real date, small enough that arithmetic stays cheap and exact.
_MAX_TIME = 1 << 53


@dataclass(frozen=True, slots=True)
class Claim:
    """A verified claim: who (``sub``, ``type``), for what, and when.

    ``payload`` holds every payload field, unknown ones included, read-only.
    """

    kid: str
    claim_type: str | None
    sub: str | None
    type: str | None
    container_id: str | None
    project_id: str | None
    aud: str | tuple[str, ...] | None
    iat: int
    exp: int
    nbf: int | None
    payload: Mapping[str, Any]

    def __repr__(self) -> str:
        return (
            f"Claim(claim_type={self.claim_type!r}, sub={self.sub!r}, type={self.type!r}, "
            f"container_id={self.container_id!r}, project_id={self.project_id!r}, "
            f"iat={self.iat}, exp={self.exp}, kid={self.kid!r})"
        )


def claim_from_payload(obj: object, kid: str) -> Claim:
    """Type-check the known fields of a decoded payload; raise ``MalformedClaim``."""
    if not isinstance(obj, dict):
        raise MalformedClaim("the claim's payload is not a JSON object")
    for a, b in _SPELLINGS:
        if a in obj and b in obj:
            raise MalformedClaim(f"the claim's payload has both {a} and {b}")
    strings = {}
    for name in _STRING_FIELDS:
        value = obj.get(name)
        if value is not None and not isinstance(value, str):
            raise MalformedClaim(f"the claim's {name} is not a string")
        strings[name] = value
    ids = []
    for a, b in _SPELLINGS:
        value = obj.get(a, obj.get(b))
        if value is not None and not isinstance(value, str):
            raise MalformedClaim(f"the claim's {a} is not a string")
        ids.append(value)
    times: list[int | None] = []
    for name in _TIME_FIELDS:
        value = obj.get(name)
        if value is None:
            if name != "nbf":
                raise MalformedClaim(f"the claim has no {name}")
        elif type(value) is not int or not -_MAX_TIME < value < _MAX_TIME:
            raise MalformedClaim(f"the claim's {name} is not an integer number of seconds")
        times.append(value)
    aud = obj.get("aud")
    if aud is not None and not isinstance(aud, str):
        if not isinstance(aud, list) or not all(isinstance(a, str) for a in aud):
            raise MalformedClaim("the claim's aud is neither a string nor a list of strings")
        aud = tuple(aud)
    return Claim(
        kid=kid,
        claim_type=strings["claim_type"],
        sub=strings["sub"],
        type=strings["type"],
        container_id=ids[0],
        project_id=ids[1],
        aud=aud,
        iat=times[0],  # type: ignore[arg-type]  # required above
        exp=times[1],  # type: ignore[arg-type]
        nbf=times[2],
        payload=_freeze(obj),
    )


def _freeze(value: Any) -> Any:
    # The payload is freshly decoded and owned by us, so freezing in place is safe and cheap.
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, (dict, list)):
                value[k] = _freeze(v)
        return MappingProxyType(value)
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value
