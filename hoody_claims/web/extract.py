"""Where the claim comes from: one function, a configurable list of sources, a fixed default order.

1. ``header``        — ``X-Hoody-Container-Claim``: JSON text (Hoody's SDK) or the compact form;
2. ``authorization`` — ``Authorization: HoodyClaim <compact>``;
3. ``cookie``        — the ``hoody_claim`` cookie (compact);
4. ``query``         — the ``hoody_claim`` query parameter (compact): a browser's first load.

The first source that carries a non-empty value wins; later sources are not looked at, so a
request never gets a second chance with another credential after the first one is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import unquote_plus

from .request_view import RequestView

__all__ = [
    "AUTH_SCHEME",
    "CLAIM_HEADER",
    "DEFAULT_COOKIE",
    "DEFAULT_QUERY_PARAM",
    "SOURCES",
    "FoundClaim",
    "find_claim",
    "query_values",
    "validate_sources",
]

SOURCES: tuple[str, ...] = ("header", "authorization", "cookie", "query")
CLAIM_HEADER = "x-hoody-container-claim"
AUTH_SCHEME = "hoodyclaim"
DEFAULT_COOKIE = "hoody_claim"
DEFAULT_QUERY_PARAM = "hoody_claim"


@dataclass(frozen=True, slots=True)
class FoundClaim:
    """The raw claim text and the source it came from (one of :data:`SOURCES`)."""

    source: str
    token: str


def validate_sources(sources: Iterable[str]) -> tuple[str, ...]:
    """Check a configured source list; raises ``ValueError`` on an unknown or repeated name."""
    out = tuple(sources)
    unknown = [s for s in out if s not in SOURCES]
    if unknown:
        raise ValueError(f"unknown claim source(s) {unknown!r}; choose from {SOURCES!r}")
    if len(set(out)) != len(out):
        raise ValueError(f"claim sources listed twice: {out!r}")
    if not out:
        raise ValueError("at least one claim source is needed")
    return out


def query_values(query_string: str, name: str) -> list[str]:
    """Every value of ``name`` in a query string, form-decoded, in order."""
    values: list[str] = []
    if not query_string:
        return values
    for part in query_string.split("&"):
        key, _, value = part.partition("=")
        if unquote_plus(key) == name:
            values.append(unquote_plus(value))
    return values


def _from_authorization(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != AUTH_SCHEME:
        return None  # another scheme (Bearer, Basic…) is not ours to judge
    return rest.strip() or None


def find_claim(
    req: RequestView,
    sources: Sequence[str] = SOURCES,
    *,
    cookie_name: str = DEFAULT_COOKIE,
    query_param: str = DEFAULT_QUERY_PARAM,
) -> FoundClaim | None:
    """The claim carried by ``req`` from the first source (in ``sources`` order) that has one."""
    for source in sources:
        token: str | None
        if source == "header":
            token = (req.headers.get(CLAIM_HEADER) or "").strip() or None
        elif source == "authorization":
            token = _from_authorization(req.headers.get("authorization"))
        elif source == "cookie":
            token = req.cookies.get(cookie_name) or None
        elif source == "query":
            values = query_values(req.query_string, query_param)
            token = next((v for v in values if v), None)
        else:
            raise ValueError(f"unknown claim source {source!r}")
        if token:
            return FoundClaim(source, token)
    return None
