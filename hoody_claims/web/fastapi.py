"""FastAPI: a dependency with per-route policy, on top of the Starlette adapter.

    from fastapi import Depends, FastAPI
    from hoody_claims import Claim
    from hoody_claims.web.fastapi import HoodyClaimsMiddleware, hoody_claim

    app = FastAPI()
    app.add_middleware(HoodyClaimsMiddleware, verifier=verifier, exempt_paths=("/healthz",))

    @app.get("/admin")
    async def admin(claim: Claim = Depends(hoody_claim(allow_types={"admin"}))):
        return {"hello": claim.sub}

Without the middleware (only some routes guarded), call ``setup(app, verifier)`` once: it
stores the verifier and installs the handler that turns a refusal into Hoody's JSON envelope.
The dependency works on WebSocket routes too (refused before ``accept``).
"""

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import HTTPConnection

from hoody_claims import Claim

from . import asgi as _asgi
from .gatekeeper import Verifier, check_policy
from .starlette import (
    STATE_KEY,
    ClaimRefused,
    HoodyClaimsMiddleware,
    claim_for,
    own_gate,
    setup,
    to_response,
)

__all__ = [
    "STATE_KEY",
    "ClaimRefused",
    "HoodyClaimsMiddleware",
    "hoody_claim",
    "setup",
    "to_response",
]


def _can_render(conn: HTTPConnection) -> bool:
    if _asgi.GATE_SCOPE_KEY in conn.scope:  # HoodyClaimsMiddleware is above this route
        return True
    handlers = getattr(conn.scope.get("app"), "exception_handlers", {})
    return ClaimRefused in handlers


def hoody_claim(
    *, verifier: Verifier | None = None, **policy: Any
) -> Callable[[HTTPConnection], Awaitable[Claim]]:
    """A dependency returning the verified :class:`~hoody_claims.Claim` of the request.

    ``**policy``: ``allow_types``, ``users``, ``max_age``, ``project_id`` for this route.
    ``verifier``: this route's own verifier (default: the middleware's, or the one given to
    :func:`setup`). A refused request gets the refusal; the route body never runs.
    """
    policy = check_policy(policy)  # a copy: the caller's sets cannot change it later
    gate = own_gate(verifier)

    async def hoody_claim_dependency(conn: HTTPConnection) -> Claim:
        if not _can_render(conn):
            raise RuntimeError(
                "hoody_claim() needs HoodyClaimsMiddleware on the app or "
                "hoody_claims.web.fastapi.setup(app, verifier) to answer refusals"
            )
        return await claim_for(conn, gate, policy)

    return hoody_claim_dependency
