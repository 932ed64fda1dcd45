"""Steps 5 to 8 of SPEC §2 on a signature-checked :class:`Claim`: type, time, binding, policy.

Each rule is a small function raising the SPEC's error; all are cheap integer or string
comparisons, so they run again on every use of a remembered claim.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from numbers import Real

from .claim import Claim
from .errors import (
    ClaimExpired,
    ClaimNotYetValid,
    PolicyDenied,
    WrongAudience,
    WrongClaimType,
    WrongContainer,
    WrongProject,
)

__all__ = [
    "ANY_CONTAINER",
    "Policy",
    "check_audience",
    "check_container",
    "check_policy",
    "check_time",
    "check_type",
    "unix_seconds",
    "validate_id",
]

_ID = re.compile(r"[0-9a-f]{24}")
_ARTICLE = {"container": "a container", "identity": "an identity"}


class _AnyContainer:
    """Sentinel: accept a claim for any container (say so explicitly; never the default)."""

    _instance: _AnyContainer | None = None

    def __new__(cls) -> _AnyContainer:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "hoody_claims.ANY_CONTAINER"

    def __reduce__(self) -> str:
        return "ANY_CONTAINER"


ANY_CONTAINER = _AnyContainer()


def unix_seconds(value: float) -> int:
    """``now`` as whole Unix seconds; a clear ValueError for inf, NaN, text, a bool or
    anything else that is not a real number (int() would read "17e8" or True)."""
    if isinstance(value, Real) and not isinstance(value, bool):
        try:
            return int(value)
        except (OverflowError, ValueError):
            pass
    raise ValueError(f"now is not a finite number of Unix seconds: {value!r}")


def validate_id(value: str, what: str) -> str:
    """Refuse a configured container/project id that is not 24 lowercase hex digits."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ValueError(f"{what} must be 24 lowercase hex digits, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Policy:
    """Optional admission rules, mirroring Hoody Proxy's ``hoody-identity`` groups."""

    allow_types: frozenset[str] | None = None
    users: frozenset[str] | None = None
    max_age: int | None = None

    #: No rule at all: every claim that got this far is admitted (set from the three above).
    is_open: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        open_ = self.allow_types is None and self.users is None and self.max_age is None
        object.__setattr__(self, "is_open", open_)

    @classmethod
    def build(
        cls,
        allow_types: Iterable[str] | None = None,
        users: Iterable[str] | None = None,
        max_age: int | None = None,
    ) -> Policy:
        """Normalise user-given collections; a lone string is one value, not its letters."""
        if max_age is not None and (type(max_age) is not int or max_age < 0):
            raise ValueError("max_age must be a non-negative integer number of seconds")
        return cls(_as_set(allow_types, "allow_types"), _as_set(users, "users"), max_age)


def _as_set(values: Iterable[str] | None, what: str) -> frozenset[str] | None:
    if values is None:
        return None
    if isinstance(values, str):
        values = (values,)
    result = frozenset(values)
    if not all(isinstance(v, str) for v in result):
        raise ValueError(f"{what} must be strings")
    return result


def check_type(claim: Claim, expected: str) -> None:
    """Step 5: a container claim is never an identity claim, nor the reverse."""
    if claim.claim_type != expected:
        raise WrongClaimType(
            f"expected {_ARTICLE[expected]} claim, got claim_type {claim.claim_type!r}"
        )


def check_time(claim: Claim, now: int, leeway: int) -> None:
    """Step 6: RFC 7519 semantics — not accepted on or after ``exp`` (plus leeway)."""
    if now >= claim.exp + leeway:
        raise ClaimExpired(f"the claim expired at {claim.exp} (now {now})")
    if claim.iat > now + leeway:
        raise ClaimNotYetValid(f"the claim is issued in the future (iat {claim.iat}, now {now})")
    if claim.nbf is not None and claim.nbf > now + leeway:
        raise ClaimNotYetValid(f"the claim is not valid before {claim.nbf} (now {now})")


def check_container(claim: Claim, container_id: str | None, project_id: str | None) -> None:
    """Step 7 for container claims; ``container_id=None`` means ANY_CONTAINER."""
    if container_id is not None and claim.container_id != container_id:
        raise WrongContainer("the claim is for another container")
    if project_id is not None and claim.project_id != project_id:
        raise WrongProject("the claim is for another project")


def check_audience(claim: Claim, audience: str) -> None:
    """Step 7 for identity claims: exact string, or membership of a list — never a substring."""
    aud = claim.aud
    if aud is None:
        raise WrongAudience("the identity claim names no audience")
    if isinstance(aud, str):
        if aud != audience:
            raise WrongAudience("the identity claim is for another audience")
    elif audience not in aud:
        raise WrongAudience("the identity claim is for other audiences")


def check_policy(claim: Claim, policy: Policy, now: int) -> None:
    """Step 8: allowed user types, allowed users, maximum age."""
    if policy.allow_types is not None and claim.type not in policy.allow_types:
        raise PolicyDenied(f"user type {claim.type!r} is not allowed here")
    if policy.users is not None and claim.sub not in policy.users:
        raise PolicyDenied("this user is not allowed here")
    if policy.max_age is not None and now - claim.iat > policy.max_age:
        raise PolicyDenied(f"the claim is older than {policy.max_age} s")
