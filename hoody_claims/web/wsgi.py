"""``HoodyClaimsMiddleware`` for any WSGI application (Flask, Django, Bottle, Pyramid…).

    from hoody_claims.web.wsgi import HoodyClaimsMiddleware
    app = HoodyClaimsMiddleware(app, verifier=verifier, exempt_paths=("/healthz",))

An admitted request reaches the app with the verified ``Claim`` at
``environ["hoody_claims.claim"]``; a refused one never reaches it. Imports no framework.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from http import HTTPStatus
from typing import Any

from ._config import build_gate
from .decisions import Admit, Redirect, Refuse
from .extract import DEFAULT_COOKIE, DEFAULT_QUERY_PARAM, SOURCES
from .gatekeeper import Gatekeeper, Verifier
from .request_view import from_wsgi_environ

__all__ = ["ENVIRON_KEY", "HoodyClaimsMiddleware", "status_line", "wsgi_headers"]

ENVIRON_KEY = "hoody_claims.claim"

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def wsgi_headers(decision: Refuse | Redirect) -> list[tuple[str, str]]:
    return [*decision.headers, ("Content-Length", str(len(decision.body)))]


class HoodyClaimsMiddleware:
    """Admit only requests that carry a valid Hoody claim.

    ``verifier``: a ``ClaimVerifier`` (default: built from the environment, see
    :func:`hoody_claims.web._config.default_verifier`). ``exempt_paths``: served without a
    claim (``"/healthz"``, or a prefix ``"/static/*"``). ``**policy``: ``allow_types``,
    ``users``, ``max_age``, ``project_id`` for every guarded path. ``gatekeeper``: a ready
    :class:`Gatekeeper` instead of the options.
    """

    def __init__(
        self,
        app: WSGIApp,
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

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        view = from_wsgi_environ(environ)
        if self.gate.is_exempt(view.path):
            return self.app(environ, start_response)
        decision = self.gate.decide(view)
        if isinstance(decision, Admit):
            environ[ENVIRON_KEY] = decision.claim
            return self.app(environ, start_response)
        start_response(status_line(decision.status), wsgi_headers(decision))
        return [b"" if view.method == "HEAD" else decision.body]
