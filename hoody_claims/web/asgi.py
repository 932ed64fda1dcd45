"""``HoodyClaimsMiddleware`` for any ASGI application, HTTP and WebSocket.

    from hoody_claims.web.asgi import HoodyClaimsMiddleware
    app = HoodyClaimsMiddleware(app, verifier=verifier, exempt_paths=("/healthz",))

An admitted connection reaches the app with the verified ``Claim`` at ``scope["hoody_claim"]``.
A refused WebSocket handshake never reaches the app: when the server advertises the
``websocket.http.response`` extension the refusal is a real HTTP response (401/403/503 with
the JSON body), otherwise the handshake is closed before it is accepted (servers answer 403).
Verification runs with ``averify``: a key fetch never blocks the event loop. Imports no
framework.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from typing import Any

from ._config import build_gate
from .decisions import Admit, Redirect, Refuse
from .extract import DEFAULT_COOKIE, DEFAULT_QUERY_PARAM, SOURCES
from .gatekeeper import Gatekeeper, Verifier
from .request_view import from_asgi_scope

__all__ = [
    "GATE_SCOPE_KEY",
    "SCOPE_KEY",
    "ASGIApp",
    "HoodyClaimsMiddleware",
    "send_decision",
]

SCOPE_KEY = "hoody_claim"
#: Where the middleware leaves its Gatekeeper, so per-route helpers below it can find it.
GATE_SCOPE_KEY = "hoody_claims.gate"
WS_POLICY_VIOLATION = 1008

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _raw_headers(decision: Refuse | Redirect) -> list[tuple[bytes, bytes]]:
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in decision.headers]
    headers.append((b"content-length", str(len(decision.body)).encode("ascii")))
    return headers


async def send_decision(
    scope: Scope, receive: Receive, send: Send, decision: Refuse | Redirect
) -> None:
    """Answer an ``http`` or ``websocket`` connection with a refusal (or the redirect).

    For a WebSocket, the ``websocket.connect`` event is received first, as the protocol
    requires; the handshake is then denied with an HTTP response where the server supports it,
    else closed before accept (policy-violation code, the error code as the reason).
    """
    if scope["type"] == "websocket":
        message = await receive()
        if message.get("type") != "websocket.connect":
            return  # the client went away already
        if "websocket.http.response" in (scope.get("extensions") or {}):
            await send(
                {
                    "type": "websocket.http.response.start",
                    "status": decision.status,
                    "headers": _raw_headers(decision),
                }
            )
            await send({"type": "websocket.http.response.body", "body": decision.body})
        else:
            reason = decision.code if isinstance(decision, Refuse) else ""
            await send({"type": "websocket.close", "code": WS_POLICY_VIOLATION, "reason": reason})
        return
    await send(
        {
            "type": "http.response.start",
            "status": decision.status,
            "headers": _raw_headers(decision),
        }
    )
    head = str(scope.get("method", "")).upper() == "HEAD"
    await send({"type": "http.response.body", "body": b"" if head else decision.body})


class HoodyClaimsMiddleware:
    """Admit only HTTP requests and WebSocket handshakes that carry a valid Hoody claim.

    Options as for the WSGI middleware: ``verifier`` (default: from the environment),
    ``exempt_paths``, ``sources``, ``cookie_name``, ``query_param``, ``redirect_query``,
    ``gatekeeper``, and ``**policy`` (``allow_types``, ``users``, ``max_age``,
    ``project_id``) applied to every guarded path. Other scope types (``lifespan``) pass through.
    """

    def __init__(
        self,
        app: ASGIApp,
        verifier: Verifier | None = None,
        *,
        exempt_paths: Iterable[str] = (),
        sources: Sequence[str] = SOURCES,
        cookie_name: str = DEFAULT_COOKIE,
        query_param: str = DEFAULT_QUERY_PARAM,
        redirect_query: bool = True,
        gatekeeper: Gatekeeper | None = None,
        **policy: Any,
    ) -> None:
        self.app = app
        self.gate = build_gate(
            verifier,
            gatekeeper=gatekeeper,
            sources=sources,
            cookie_name=cookie_name,
            query_param=query_param,
            exempt_paths=exempt_paths,
            redirect_query=redirect_query,
        ).with_policy(policy)  # in the gate, where per-route checks narrow it

    def admitted_scope(self, scope: Scope, decision: Admit) -> Scope:
        """The scope the app sees for an admitted connection (a copy; the claim added)."""
        scope = dict(scope)
        scope[SCOPE_KEY] = decision.claim
        scope[GATE_SCOPE_KEY] = self.gate
        return scope

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if self.gate.is_exempt(str(scope.get("path", ""))):
            scope = dict(scope)
            scope[GATE_SCOPE_KEY] = self.gate
            await self.app(scope, receive, send)
            return
        decision = await self.gate.adecide(from_asgi_scope(scope))
        if isinstance(decision, Admit):
            await self.app(self.admitted_scope(scope, decision), receive, send)
            return
        await send_decision(scope, receive, send, decision)
