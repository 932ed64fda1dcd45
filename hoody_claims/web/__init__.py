"""Gate requests in web apps with Hoody claims.

The framework-neutral core lives here (:class:`Gatekeeper`, :class:`RequestView`, the refusal and
redirect responses); the adapters are separate modules that import their framework only when
you import them:

- ``hoody_claims.web.wsgi``      — ``HoodyClaimsMiddleware`` for any WSGI app
- ``hoody_claims.web.asgi``      — ``HoodyClaimsMiddleware`` for any ASGI app (HTTP + WebSocket)
- ``hoody_claims.web.starlette`` — middleware + ``request.state.hoody_claim``
- ``hoody_claims.web.fastapi``   — ``Depends(hoody_claim(allow_types={"admin"}))``
- ``hoody_claims.web.flask``     — ``HoodyClaims`` extension and ``@require_claim(...)``
- ``hoody_claims.web.django``    — middleware and ``@require_claim(...)``
- ``hoody_claims.web.aiohttp``   — middleware and ``@require_claim(...)``
"""

from __future__ import annotations

from .decisions import Admit, Decision, Redirect, Refuse
from .extract import SOURCES, FoundClaim, find_claim
from .gatekeeper import POLICY_OPTIONS, Gatekeeper
from .request_view import RequestView
from .responses import claim_required, redirect_without_claim, refusal

__all__ = [
    "POLICY_OPTIONS",
    "SOURCES",
    "Admit",
    "Decision",
    "FoundClaim",
    "Gatekeeper",
    "Redirect",
    "Refuse",
    "RequestView",
    "claim_required",
    "find_claim",
    "redirect_without_claim",
    "refusal",
]
