"""Remove the claim from a request before it goes further (used by the ``gate`` proxy and by the
query→cookie redirect), keeping everything else byte for byte and in order."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote_plus

from .extract import AUTH_SCHEME, CLAIM_HEADER, DEFAULT_COOKIE

__all__ = ["strip_claim_headers", "strip_cookie", "strip_query_param"]


def strip_query_param(query_string: str, name: str) -> str:
    """``query_string`` without any ``name=…`` pair; other pairs kept verbatim, order kept."""
    if not query_string:
        return ""
    kept = [
        part for part in query_string.split("&") if unquote_plus(part.partition("=")[0]) != name
    ]
    return "&".join(kept)


def strip_cookie(cookie_header: str, name: str = DEFAULT_COOKIE) -> str:
    """A ``Cookie`` header value without the ``name`` cookie (every occurrence); others kept."""
    kept = [
        part.strip()
        for part in cookie_header.split(";")
        if part.strip() and part.partition("=")[0].strip() != name
    ]
    return "; ".join(kept)


def _is_claim_authorization(value: str) -> bool:
    return value.strip().partition(" ")[0].lower() == AUTH_SCHEME


def strip_claim_headers(
    headers: Iterable[tuple[str, str]], cookie_name: str = DEFAULT_COOKIE
) -> list[tuple[str, str]]:
    """Drop ``X-Hoody-Container-Claim``, a ``HoodyClaim`` ``Authorization`` and the claim cookie.

    Other headers (any other ``Authorization`` scheme included) are kept in order; a ``Cookie``
    header left empty is dropped.
    """
    out: list[tuple[str, str]] = []
    for name, value in headers:
        lname = name.lower()
        if lname == CLAIM_HEADER:
            continue
        if lname == "authorization" and _is_claim_authorization(value):
            continue
        if lname == "cookie":
            value = strip_cookie(value, cookie_name)
            if not value:
                continue
        out.append((name, value))
    return out
