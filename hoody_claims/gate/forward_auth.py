"""Forward-auth mode: answer "may this request pass?" for nginx, Traefik or Caddy.

The proxy in front sends the gate a copy of the original request's headers (cookies included),
without its body. The gate answers ``200`` with ``X-Hoody-User``, ``X-Hoody-User-Type`` and
``X-Hoody-Container`` for the proxy to pass upstream, or the refusal (401/403/503 in the JSON
envelope). The original URI — for the query form of the claim — comes from ``X-Original-URI``
(nginx, set in its config) or ``X-Forwarded-Uri`` (Traefik, Caddy); the original method and
host from ``X-Original-Method``/``X-Forwarded-Method`` and ``X-Forwarded-Host``.

These headers are trusted: the forward-auth endpoint must be reachable only by the proxy.

A claim found in the query string is admitted directly (``200``) with a ``Set-Cookie`` carrying
it, which the proxy can hand to the browser (see the nginx example in docs/), because nginx's
``auth_request`` cannot pass a redirect through. With ``--query-redirect`` the gate answers the
shared core's 303 instead (Traefik and Caddy relay it to the browser).
"""

from __future__ import annotations

import time
from urllib.parse import unquote

from aiohttp import web

from hoody_claims.web import Admit, Redirect, RequestView
from hoody_claims.web.request_view import headers_from_pairs, parse_cookie_header
from hoody_claims.web.responses import claim_cookie, compact_token

from .accesslog import Entry
from .context import GateContext
from .headers import identity_headers

__all__ = ["ORIGINAL_URI_HEADERS", "forward_auth", "forward_view", "has_forwarding_headers"]

ORIGINAL_URI_HEADERS = ("x-original-uri", "x-forwarded-uri")
_METHOD_HEADERS = ("x-original-method", "x-forwarded-method")
_FORWARDING = (*ORIGINAL_URI_HEADERS, *_METHOD_HEADERS)


def has_forwarding_headers(request: web.BaseRequest) -> bool:
    """Whether ``request`` is a forward-auth check (rather than a call to the gate itself)."""
    return any(h in request.headers for h in _FORWARDING)


def _first(headers: dict[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = headers.get(name)
        if value:
            return value.split(",")[0].strip() if name != "x-original-uri" else value.strip()
    return None


def forward_view(request: web.BaseRequest) -> RequestView:
    """The original request, as described by the proxy's forwarded headers."""
    headers = headers_from_pairs(request.headers.items())
    uri = headers.get("x-original-uri") or headers.get("x-forwarded-uri")
    if uri:
        raw_path, _, query = uri.strip().partition("?")
        path = unquote(raw_path) or "/"
    else:
        path, query = request.path, request.query_string
    method = (_first(headers, _METHOD_HEADERS) or request.method).upper()
    host = _first(headers, ("x-forwarded-host",)) or request.host
    scheme = _first(headers, ("x-forwarded-proto",)) or request.scheme
    return RequestView(
        method=method,
        scheme=scheme,
        host=host,
        path=path,
        query_string=query,
        headers=headers,
        cookies=parse_cookie_header(headers.get("cookie")),
        client_host=_first(headers, ("x-real-ip", "x-forwarded-for")) or request.remote,
    )


async def forward_auth(ctx: GateContext, request: web.BaseRequest, entry: Entry) -> web.Response:
    """Decide on the original request described by ``request``."""
    gate = ctx.gatekeeper
    view = forward_view(request)
    entry.method, entry.path = view.method, view.path
    decision = await gate.adecide(view)
    if isinstance(decision, Admit):
        entry.user = decision.claim.sub
        headers = identity_headers(decision.claim)
        headers.append(("Cache-Control", "no-store"))
        if decision.source == "query":
            found = gate.find(view)
            if found is not None:
                left = int(decision.claim.exp) - int(time.time())
                cookie = claim_cookie(view, compact_token(found.token), left, gate.cookie_name)
                headers.append(("Set-Cookie", cookie))
        return web.Response(status=200, headers=headers)
    if isinstance(decision, Redirect):
        return web.Response(status=decision.status, headers=decision.headers, body=decision.body)
    entry.code = decision.code
    return web.Response(status=decision.status, headers=decision.headers, body=decision.body)
