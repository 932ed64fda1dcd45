"""Starlette: the ASGI middleware with ``request.state.hoody_claim``, and per-route policy.

    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from hoody_claims.web.starlette import HoodyClaimsMiddleware, require_claim

    app = Starlette(routes=[...], middleware=[
        Middleware(HoodyClaimsMiddleware, verifier=verifier, exempt_paths=("/healthz",)),
    ])

    @require_claim(allow_types={"admin"})         # per-route policy, HTTP or WebSocket endpoint
    async def admin(request):
        return JSONResponse({"hello": request.state.hoody_claim.sub})

Per-route helpers find the verifier in this order: their own ``verifier=`` argument, the
middleware above them, ``app.state.hoody_claims`` (set by :func:`setup`).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.responses import Response

from . import asgi as _asgi
from ._config import build_gate, route_verifier
from .decisions import Admit, Redirect, Refuse
from .gatekeeper import Gatekeeper, Verifier, check_policy
from .request_view import from_asgi_scope

if TYPE_CHECKING:
    from hoody_claims import Claim

__all__ = [
    "STATE_KEY",
    "ClaimRefused",
    "HoodyClaimsMiddleware",
    "claim_for",
    "require_claim",
    "setup",
    "to_response",
]

STATE_KEY = "hoody_claim"
F = TypeVar("F", bound=Callable[..., Any])


class ClaimRefused(Exception):
    """Raised by per-route checks; carries the ready refusal (or the query→cookie redirect).

    Rendered by :class:`HoodyClaimsMiddleware` or by the exception handler :func:`setup`
    installs; never shown to the client as anything but that response.
    """

    def __init__(self, decision: Refuse | Redirect) -> None:
        super().__init__(getattr(decision, "code", "REDIRECT"))
        self.decision = decision


def to_response(decision: Refuse | Redirect) -> Response:
    """The Starlette response for a refusal or redirect (headers exactly as the core built)."""
    return Response(
        content=decision.body, status_code=decision.status, headers=dict(decision.headers)
    )


async def _render(conn: HTTPConnection, exc: Exception) -> Response | None:
    assert isinstance(exc, ClaimRefused)
    if conn.scope["type"] == "websocket":
        await _asgi.send_decision(conn.scope, conn.receive, conn.send, exc.decision)  # type: ignore[attr-defined]
        return None
    return to_response(exc.decision)


def _admit(conn: HTTPConnection, gate: Gatekeeper, claim: Claim) -> None:
    conn.scope[_asgi.SCOPE_KEY] = claim
    conn.scope[_asgi.GATE_SCOPE_KEY] = gate
    setattr(conn.state, STATE_KEY, claim)


class HoodyClaimsMiddleware(_asgi.HoodyClaimsMiddleware):
    """The ASGI middleware, plus ``request.state.hoody_claim`` and rendering of per-route refusals.

    Same options as :class:`hoody_claims.web.asgi.HoodyClaimsMiddleware`.
    """

    def admitted_scope(self, scope: _asgi.Scope, decision: Admit) -> _asgi.Scope:
        scope = super().admitted_scope(scope, decision)
        state = dict(scope.get("state") or {})
        state[STATE_KEY] = decision.claim
        scope["state"] = state
        return scope

    async def __call__(self, scope: _asgi.Scope, receive: _asgi.Receive, send: _asgi.Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: _asgi.Message) -> None:
            nonlocal started
            if message["type"] in ("http.response.start", "websocket.accept"):
                started = True
            await send(message)

        try:
            await super().__call__(scope, receive, tracking_send)
        except ClaimRefused as exc:
            if started:
                raise
            await _asgi.send_decision(scope, receive, send, exc.decision)


def setup(
    app: Starlette,
    verifier: Verifier | None = None,
    *,
    gatekeeper: Gatekeeper | None = None,
    **gate_options: Any,
) -> Gatekeeper:
    """Use per-route checks without the middleware: store the gate, render refusals.

    Call before the app serves its first request. Returns the :class:`Gatekeeper`.
    """
    gate = build_gate(verifier, gatekeeper=gatekeeper, **gate_options)
    app.state.hoody_claims = gate
    app.add_exception_handler(ClaimRefused, cast(Any, _render))
    return gate


def _find_gate(conn: HTTPConnection, own: Gatekeeper | None) -> Gatekeeper:
    if own is not None:
        return own
    gate = conn.scope.get(_asgi.GATE_SCOPE_KEY)
    if isinstance(gate, Gatekeeper):
        return gate
    app = conn.scope.get("app")
    gate = getattr(getattr(app, "state", None), "hoody_claims", None)
    if isinstance(gate, Gatekeeper):
        return gate
    raise RuntimeError(
        "no Hoody claims verifier here: add HoodyClaimsMiddleware, call "
        "hoody_claims.web.starlette.setup(app, verifier), or pass verifier= to this check"
    )


async def claim_for(
    conn: HTTPConnection, gate: Gatekeeper | None = None, policy: dict[str, Any] | None = None
) -> Claim:
    """The verified claim of ``conn`` under ``policy``; raises :class:`ClaimRefused` otherwise.

    A claim the middleware admitted is reused when no extra policy applies; with a policy, the
    claim is checked again against it (no signature work: the verifier remembers it).
    """
    gate = _find_gate(conn, gate)
    admitted = conn.scope.get(_asgi.SCOPE_KEY)
    if admitted is not None and not policy and conn.scope.get(_asgi.GATE_SCOPE_KEY) is gate:
        return admitted  # type: ignore[no-any-return]
    decision = await gate.adecide(
        from_asgi_scope(conn.scope), verifier=route_verifier(gate, dict(policy or {}))
    )
    if isinstance(decision, Admit):
        _admit(conn, gate, decision.claim)
        return decision.claim
    raise ClaimRefused(decision)


def own_gate(verifier: Verifier | None) -> Gatekeeper | None:
    """A gate for a per-route ``verifier=`` argument (``None``: look it up per request)."""
    return None if verifier is None else build_gate(verifier)


def require_claim(*, verifier: Verifier | None = None, **policy: Any) -> Callable[[F], F]:
    """Decorate a Starlette endpoint (``request`` or ``websocket`` argument, sync or async).

    The endpoint runs only for an admitted claim, at ``request.state.hoody_claim``; otherwise
    the refusal (or the query→cookie redirect) is sent and the endpoint is never entered.
    """
    policy = check_policy(policy)  # a copy: the caller's sets cannot change it later
    gate = own_gate(verifier)

    def decorate(endpoint: F) -> F:
        is_async = inspect.iscoroutinefunction(endpoint)

        @functools.wraps(endpoint)
        async def wrapper(conn: HTTPConnection) -> Any:
            try:
                await claim_for(conn, gate, policy)
            except ClaimRefused as exc:
                if conn.scope["type"] == "websocket":
                    await _render(conn, exc)
                    return None
                return to_response(exc.decision)
            if is_async:
                return await endpoint(conn)
            return await run_in_threadpool(endpoint, conn)

        return wrapper  # type: ignore[return-value]

    return decorate
