"""aiohttp: a middleware guarding every request (WebSocket handshakes included) and a per-handler
decorator with its own policy.

    from aiohttp import web
from aiohttp.typedefs import Middleware
    from hoody_claims.web.aiohttp import hoody_claims_middleware, require_claim

    guard = hoody_claims_middleware(verifier, exempt_paths=("/healthz",))
    app = web.Application(middlewares=[guard])

    @require_claim(allow_types={"admin"})
    async def admin(request):
        return web.json_response({"hello": request["hoody_claim"].sub})

Or ``setup(app, verifier)`` to store the gate on the app (the decorator finds it there) and,
with ``guard_all=True`` (default), add the middleware. The decorator's verifier comes from its
own ``verifier=``, the middleware, ``setup``, or the environment, in that order.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.typedefs import Middleware

from ._config import build_gate, route_verifier
from .decisions import Admit, Redirect, Refuse
from .extract import DEFAULT_COOKIE, DEFAULT_QUERY_PARAM, SOURCES
from .gatekeeper import Gatekeeper, Verifier, check_policy
from .request_view import RequestView, headers_from_pairs, parse_cookie_header

__all__ = [
    "GATE_KEY",
    "REQUEST_KEY",
    "hoody_claims_middleware",
    "request_view",
    "require_claim",
    "setup",
    "to_response",
]

REQUEST_KEY = "hoody_claim"
_REQUEST_GATE = "hoody_claims.gate"
GATE_KEY: web.AppKey[Gatekeeper] = web.AppKey("hoody_claims_gate", Gatekeeper)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Callable[..., Awaitable[web.StreamResponse]])


def request_view(request: web.BaseRequest) -> RequestView:
    """The framework-neutral view of an aiohttp request (a WebSocket handshake included)."""
    headers = headers_from_pairs(request.headers.items())
    peer = request.remote
    return RequestView(
        method=request.method.upper(),
        scheme=request.scheme,
        host=request.host,
        path=request.path,
        query_string=request.query_string,
        headers=headers,
        cookies=parse_cookie_header(headers.get("cookie")),
        client_host=peer or None,
    )


def to_response(decision: Refuse | Redirect) -> web.Response:
    """The aiohttp response for a refusal or the query→cookie redirect.

    For a WebSocket handshake this is a plain HTTP answer: the upgrade never happens.
    """
    return web.Response(body=decision.body, status=decision.status, headers=dict(decision.headers))


def hoody_claims_middleware(
    verifier: Verifier | None = None,
    *,
    exempt_paths: Iterable[str] = (),
    sources: Sequence[str] = SOURCES,
    cookie_name: str = DEFAULT_COOKIE,
    query_param: str = DEFAULT_QUERY_PARAM,
    redirect_query: bool = True,
    gatekeeper: Gatekeeper | None = None,
    **policy: Any,
) -> Middleware:
    """A middleware admitting only requests with a valid claim (at ``request["hoody_claim"]``).

    ``verifier`` defaults to one built from the environment; ``**policy`` applies everywhere.
    """
    gate = build_gate(
        verifier,
        gatekeeper=gatekeeper,
        sources=sources,
        cookie_name=cookie_name,
        query_param=query_param,
        exempt_paths=exempt_paths,
        redirect_query=redirect_query,
    ).with_policy(policy)

    @web.middleware
    async def hoody_claims(request: web.Request, handler: Handler) -> web.StreamResponse:
        request[_REQUEST_GATE] = gate
        if gate.is_exempt(request.path):
            return await handler(request)
        decision = await gate.adecide(request_view(request))
        if isinstance(decision, Admit):
            request[REQUEST_KEY] = decision.claim
            return await handler(request)
        return to_response(decision)

    hoody_claims.gate = gate  # type: ignore[attr-defined]
    return hoody_claims


def setup(
    app: web.Application,
    verifier: Verifier | None = None,
    *,
    guard_all: bool = True,
    gatekeeper: Gatekeeper | None = None,
    **options: Any,
) -> Gatekeeper:
    """Store the gate at ``app[GATE_KEY]``; with ``guard_all`` also add the middleware.

    ``options``: the middleware's (``exempt_paths``, ``sources``…) and the app-wide policy,
    which per-route ``require_claim`` policies narrow, guarded or not.
    """
    policy = {
        k: options.pop(k)
        for k in list(options)
        if k in ("allow_types", "users", "max_age", "project_id")
    }
    gate = build_gate(verifier, gatekeeper=gatekeeper, **options).with_policy(policy)
    app[GATE_KEY] = gate
    if guard_all:
        app.middlewares.append(hoody_claims_middleware(gatekeeper=gate))
    return gate


def _find_gate(request: web.Request, own: Gatekeeper | None) -> Gatekeeper:
    if own is not None:
        return own
    gate = request.get(_REQUEST_GATE)
    if isinstance(gate, Gatekeeper):
        return gate
    found = request.config_dict.get(GATE_KEY)
    if found is not None:
        return found
    return _environment_gate()


@functools.cache
def _environment_gate() -> Gatekeeper:
    return build_gate()  # ClaimVerifier from the environment, shared by the process


def require_claim(*, verifier: Verifier | None = None, **policy: Any) -> Callable[[H], H]:
    """Decorate an aiohttp handler: it runs only for a claim admitted under ``policy``.

    ``**policy``: ``allow_types``, ``users``, ``max_age``, ``project_id``. The claim is at
    ``request["hoody_claim"]``. A refused WebSocket handshake gets the HTTP refusal.
    """
    policy = check_policy(policy)  # a copy: the caller's sets cannot change it later
    own = build_gate(verifier) if verifier is not None else None

    def decorate(handler: H) -> H:
        @functools.wraps(handler)
        async def wrapper(request: web.Request, *args: Any, **kwargs: Any) -> web.StreamResponse:
            gate = _find_gate(request, own)
            decision = await gate.adecide(
                request_view(request), verifier=route_verifier(gate, policy)
            )
            if isinstance(decision, Admit):
                request[REQUEST_KEY] = decision.claim
                return await handler(request, *args, **kwargs)
            return to_response(decision)

        return wrapper  # type: ignore[return-value]

    return decorate
