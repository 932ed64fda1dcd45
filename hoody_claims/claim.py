"""The :class:`Claim` value, built from a decoded payload (SPEC §2 step 4, field types)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .errors import MalformedClaim
from .strict_json import finish_payload

__all__ = ["Claim", "claim_from_fields", "claim_from_payload"]

_SPELLINGS = (("container_id", "containerId"), ("project_id", "projectId"))
_STRING_FIELDS = ("claim_type", "sub", "type")
_TIME_FIELDS = ("iat", "exp", "nbf")
_STR_OR_NONE = (str, type(None))
_CONTAINERS = frozenset((dict, list))
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
    if type(obj) is not dict:
        raise MalformedClaim("the claim's payload is not a JSON object")
    get: Callable[[str], Any] = obj.get
    container_id = get("container_id")
    if container_id is None:
        container_id = get("containerId")
    project_id = get("project_id")
    if project_id is None:
        project_id = get("projectId")
    claim_type, sub, user_type, aud = get("claim_type"), get("sub"), get("type"), get("aud")
    iat, exp, nbf = get("iat"), get("exp"), get("nbf")
    # One pass of cheap tests for the common shape; anything unusual takes the slow path,
    # which either explains what is wrong or handles the rarer valid shapes (an aud list).
    if not (
        type(iat) is int
        and type(exp) is int
        and (nbf is None or type(nbf) is int)
        and -_MAX_TIME < iat < _MAX_TIME
        and -_MAX_TIME < exp < _MAX_TIME
        and (nbf is None or -_MAX_TIME < nbf < _MAX_TIME)
        and isinstance(claim_type, _STR_OR_NONE)
        and isinstance(sub, _STR_OR_NONE)
        and isinstance(user_type, _STR_OR_NONE)
        and isinstance(container_id, _STR_OR_NONE)
        and isinstance(project_id, _STR_OR_NONE)
        and isinstance(aud, _STR_OR_NONE)
        and not ("containerId" in obj and "container_id" in obj)
        and not ("projectId" in obj and "project_id" in obj)
    ):
        aud = _check_unusual(obj)
    return _new_claim(
        kid,
        claim_type,
        sub,
        user_type,
        container_id,
        project_id,
        aud,
        iat,
        exp,
        nbf,
        MappingProxyType(obj) if _CONTAINERS.isdisjoint(map(type, obj.values())) else _freeze(obj),
    )


# A frozen dataclass's __init__ sets each field through object.__setattr__, which costs about
# 3 µs for a Claim: a real share of the per-claim budget. Instead a Claim is filled in as its
# unfrozen twin (the same slots, so the same memory layout) with plain attribute stores, then
# handed its real class; CPython allows that switch between classes of identical layout, and
# the result is an ordinary, still frozen, Claim.
class _ClaimFields:
    __slots__ = Claim.__slots__


_new = object.__new__


def _new_claim(
    kid: str,
    claim_type: str | None,
    sub: str | None,
    user_type: str | None,
    container_id: str | None,
    project_id: str | None,
    aud: str | tuple[str, ...] | None,
    iat: int,
    exp: int,
    nbf: int | None,
    payload: Mapping[str, Any],
) -> Claim:
    claim: Any = _new(_ClaimFields)
    claim.kid = kid
    claim.claim_type = claim_type
    claim.sub = sub
    claim.type = user_type
    claim.container_id = container_id
    claim.project_id = project_id
    claim.aud = aud
    claim.iat = iat
    claim.exp = exp
    claim.nbf = nbf
    claim.payload = payload
    claim.__class__ = Claim
    return claim  # type: ignore[no-any-return]


def _check_unusual(obj: dict[str, Any]) -> str | tuple[str, ...] | None:
    """Raise the precise ``MalformedClaim``, or return ``aud`` when only it was unusual."""
    for a, b in _SPELLINGS:
        if a in obj and b in obj:
            raise MalformedClaim(f"the claim's payload has both {a} and {b}")
    for name in _STRING_FIELDS:
        value = obj.get(name)
        if value is not None and not isinstance(value, str):
            raise MalformedClaim(f"the claim's {name} is not a string")
    for a, b in _SPELLINGS:
        value = obj.get(a, obj.get(b))
        if value is not None and not isinstance(value, str):
            raise MalformedClaim(f"the claim's {a} is not a string")
    for name in _TIME_FIELDS:
        value = obj.get(name)
        if value is None:
            if name != "nbf":
                raise MalformedClaim(f"the claim has no {name}")
        elif type(value) is not int or not -_MAX_TIME < value < _MAX_TIME:
            raise MalformedClaim(f"the claim's {name} is not an integer number of seconds")
    aud = obj.get("aud")
    if aud is None or isinstance(aud, str):
        return aud
    if not isinstance(aud, list) or not all(isinstance(a, str) for a in aud):
        raise MalformedClaim("the claim's aud is neither a string nor a list of strings")
    return tuple(aud)


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


class _LazyPayload(Mapping[str, Any]):
    """A payload parsed on first use: the native core has already checked its JSON text
    strictly and read the known fields from it, so most requests never need the rest."""

    # One slot: the JSON text (bytes) until first use, then the frozen mapping parsed from it.
    __slots__ = ("_state",)
    _state: bytes | Mapping[str, Any]

    def __init__(self, text: bytes) -> None:
        self._state = text

    def _mapping(self) -> Mapping[str, Any]:
        state = self._state
        if type(state) is bytes:
            # Two threads may both parse; each gets an equal, frozen result.
            state = self._state = _freeze(finish_payload(state.decode("utf-8")))
        return state  # type: ignore[return-value]

    def __getitem__(self, key: str) -> Any:
        return self._mapping()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._mapping())

    def __len__(self) -> int:
        return len(self._mapping())

    def __contains__(self, key: object) -> bool:
        return key in self._mapping()

    def __eq__(self, other: object) -> bool:
        return self._mapping() == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._mapping())

    # What a mappingproxy offers beyond Mapping, so both payload kinds read alike.
    def copy(self) -> dict[str, Any]:
        """A shallow copy, as a dict (as ``mappingproxy.copy`` of a dict gives)."""
        return dict(self._mapping())

    def __reversed__(self) -> Iterator[str]:
        return reversed(list(self._mapping()))

    def __or__(self, other: Mapping[str, Any]) -> dict[str, Any]:
        return {**self._mapping(), **other}

    def __ror__(self, other: Mapping[str, Any]) -> dict[str, Any]:
        return {**other, **self._mapping()}


def claim_from_fields(
    names: Sequence[str | None], payload: bytes, times: tuple[int, int, int | None]
) -> Claim:
    """A Claim from what the native core read and typed from the payload (JSON text
    ``payload``): ``names`` is ``[kid, claim_type, sub, type, container_id, project_id,
    aud]``, ``times`` is ``(iat, exp, nbf)``."""
    # _new_claim's body, unpacking straight into the slots: this runs for every claim the
    # native core checks.
    claim: Any = _new(_ClaimFields)
    (
        claim.kid,
        claim.claim_type,
        claim.sub,
        claim.type,
        claim.container_id,
        claim.project_id,
        claim.aud,
    ) = names
    claim.iat, claim.exp, claim.nbf = times
    # _LazyPayload(payload) without the cost of running __init__ as a Python frame.
    lazy = _new(_LazyPayload)
    _lazy_state(lazy, payload)
    claim.payload = lazy
    claim.__class__ = Claim
    return claim  # type: ignore[no-any-return]


_lazy_state = _LazyPayload.__dict__["_state"].__set__
