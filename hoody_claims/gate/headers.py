"""Header rewriting between client and upstream: hop-by-hop removal, X-Forwarded-*, identity.

Claim removal itself is the shared web core's (:mod:`hoody_claims.web.strip`); this module only
decides what else changes on the way through.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from multidict import CIMultiDict, CIMultiDictProxy

from hoody_claims.claim import Claim
from hoody_claims.web.strip import strip_claim_headers

__all__ = [
    "HOP_BY_HOP",
    "IDENTITY_HEADERS",
    "WS_HANDSHAKE",
    "header_value",
    "identity_headers",
    "response_headers",
    "upstream_request_headers",
]

#: RFC 9110 §7.6.1 connection-specific fields, plus the legacy ones every proxy drops.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
#: Set by the gate from the verified claim; a client's own headers of these names are dropped.
IDENTITY_HEADERS = ("X-Hoody-User", "X-Hoody-User-Type", "X-Hoody-Container")
_IDENTITY_LOWER = frozenset(h.lower() for h in IDENTITY_HEADERS)
#: Handshake fields the client library recomputes for its own leg of a WebSocket.
WS_HANDSHAKE = frozenset(
    {
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
        "sec-websocket-protocol",
        "sec-websocket-accept",
    }
)
_DROP = (
    HOP_BY_HOP
    | _IDENTITY_LOWER
    | {"content-length", "expect", "x-forwarded-proto", "x-forwarded-host"}
)
_DROP_WS = _DROP | WS_HANDSHAKE
_DROP_RESPONSE = HOP_BY_HOP | {"content-length"}
# Printable ASCII except "%": what a header value keeps as is; the rest is percent-encoded.
_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")


def header_value(text: str) -> str:
    """A claim field as a header value: printable ASCII kept, anything else percent-encoded.

    Ordinary ids and types pass unchanged; a control character can never split a header, and
    the encoding is reversible (``%`` itself is encoded) so the upstream can recover the value.
    """
    if text.isascii() and text.isprintable() and "%" not in text:
        return text  # the usual case, without quote()'s cost on every request
    return quote(text, safe=_SAFE)


def identity_headers(claim: Claim) -> list[tuple[str, str]]:
    """``X-Hoody-User``/``-User-Type``/``-Container`` for ``claim``; absent fields are omitted."""
    out: list[tuple[str, str]] = []
    for name, value in zip(IDENTITY_HEADERS, (claim.sub, claim.type, claim.container_id),
                           strict=True):
        if value is not None:
            out.append((name, header_value(value)))
    return out


def _connection_tokens(headers: CIMultiDictProxy[str] | CIMultiDict[str]) -> frozenset[str]:
    tokens: set[str] = set()
    for value in headers.getall("Connection", ()):
        tokens.update(t.strip().lower() for t in value.split(",") if t.strip())
    return frozenset(tokens)


def upstream_request_headers(
    headers: CIMultiDictProxy[str],
    *,
    cookie_name: str,
    identity: Iterable[tuple[str, str]],
    client_ip: str | None,
    scheme: str,
    host: str,
    preserve_host: bool,
    trust_forwarded: bool,
    websocket: bool = False,
) -> CIMultiDict[str]:
    """The headers to send upstream for a client request.

    Dropped: hop-by-hop fields (and those the client named in ``Connection``), ``Host`` unless
    preserved, ``Content-Length`` (the client library frames the body), ``Expect`` (the gate
    answers ``100-continue`` itself), the claim (header, ``HoodyClaim`` Authorization, cookie),
    and any identity header the client sent, in any spelling (``X_Hoody_User`` too). Added:
    the identity of the verified claim and ``X-Forwarded-For`` (appended), ``-Proto`` and
    ``-Host`` (replaced unless trusted).
    """
    drop = _DROP_WS if websocket else _DROP
    if not preserve_host:
        drop = drop | {"host"}
    if "Connection" in headers:
        drop = drop | _connection_tokens(headers)
    out: CIMultiDict[str] = CIMultiDict()
    prior_for: list[str] = []
    for name, value in strip_claim_headers(headers.items(), cookie_name):
        lname = name.lower()
        # CGI-style upstreams read X_Hoody_User as X-Hoody-User: underscore spellings of the
        # fields we drop or set are dropped too, never passed on as look-alikes.
        norm = lname.replace("_", "-")
        if lname == "x-forwarded-for":
            prior_for.append(value)
        elif norm not in drop and norm != "x-forwarded-for":
            out.add(name, value)
    for name, value in identity:
        out.add(name, value)
    if client_ip:
        prior_for.append(client_ip)
    if prior_for:
        out["X-Forwarded-For"] = ", ".join(prior_for)
    fwd_proto = headers.get("X-Forwarded-Proto") if trust_forwarded else None
    fwd_host = headers.get("X-Forwarded-Host") if trust_forwarded else None
    out["X-Forwarded-Proto"] = fwd_proto or scheme
    if fwd_host or host:
        out["X-Forwarded-Host"] = fwd_host or host
    return out


def response_headers(headers: CIMultiDictProxy[str]) -> CIMultiDict[str]:
    """The upstream's response headers minus hop-by-hop fields and ``Content-Length``."""
    drop = _DROP_RESPONSE
    if "Connection" in headers:
        drop = drop | _connection_tokens(headers)
    out: CIMultiDict[str] = CIMultiDict()
    for name, value in headers.items():
        if name.lower() not in drop:
            out.add(name, value)
    return out
