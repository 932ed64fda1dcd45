"""Flask: an extension that can guard every request, and ``@require_claim(**policy)`` per view.

    from flask import Flask, g
    from hoody_claims.web.flask import HoodyClaims, require_claim

    app = Flask(__name__)
    app.config["HOODY_CLAIMS_VERIFIER"] = verifier   # or HoodyClaims(app, verifier=verifier)
    HoodyClaims(app, exempt_paths=("/healthz",))     # guards every request (guard_all=True)

    @app.get("/admin")
    @require_claim(allow_types={"admin"})            # extra per-view policy (sync or async view)
    def admin():
        return {"hello": g.hoody_claim.sub}

The verifier comes from, in order: ``HoodyClaims(verifier=...)``,
``app.config["HOODY_CLAIMS_VERIFIER"]``, then the environment (``HOODY_CONTAINER_ID`` and the
key store defaults). ``@require_claim`` works without the extension too (same lookup).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from flask import Flask, current_app, g, request
from flask.wrappers import Response

from ._config import build_gate, route_verifier
from .decisions import Admit, Redirect, Refuse
from .extract import DEFAULT_COOKIE, DEFAULT_QUERY_PARAM, SOURCES
from .gatekeeper import Gatekeeper, Verifier, check_policy
from .request_view import from_wsgi_environ

__all__ = ["CONFIG_KEY", "EXTENSION_KEY", "HoodyClaims", "require_claim", "to_response"]

CONFIG_KEY = "HOODY_CLAIMS_VERIFIER"
EXTENSION_KEY = "hoody_claims"
G_KEY = "hoody_claim"
F = TypeVar("F", bound=Callable[..., Any])


def to_response(decision: Refuse | Redirect) -> Response:
    """The Flask response for a refusal or the query→cookie redirect."""
    return current_app.response_class(
        decision.body, status=decision.status, headers=list(decision.headers)
    )


class HoodyClaims:
    """The Flask extension: where the gate lives, and optionally a guard on every request.

    ``guard_all`` (default ``True``): a ``before_request`` hook admits only requests with a
    valid claim (except ``exempt_paths``); ``g.hoody_claim`` holds it. With
    ``guard_all=False`` only views decorated with :func:`require_claim` are guarded.
    ``**policy`` applies to every guarded request.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        verifier: Verifier | None = None,
        guard_all: bool = True,
        exempt_paths: Iterable[str] = (),
        sources: Sequence[str] = SOURCES,
        cookie_name: str = DEFAULT_COOKIE,
        query_param: str = DEFAULT_QUERY_PARAM,
        redirect_query: bool = True,
        gatekeeper: Gatekeeper | None = None,
        **policy: Any,
    ) -> None:
        self._verifier = verifier
        self._gatekeeper = gatekeeper
        self._options: dict[str, Any] = {
            "sources": sources,
            "cookie_name": cookie_name,
            "query_param": query_param,
            "exempt_paths": tuple(exempt_paths),
            "redirect_query": redirect_query,
        }
        self.guard_all = guard_all
        self.policy = check_policy(policy)
        self.gate: Gatekeeper | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        verifier = self._verifier if self._verifier is not None else app.config.get(CONFIG_KEY)
        if self._gatekeeper is not None:
            gate = build_gate(gatekeeper=self._gatekeeper)
        else:
            gate = build_gate(verifier, **self._options)
        # The app-wide policy lives in the gate, so @require_claim narrows it, guarded or not.
        self.gate = gate.with_policy(self.policy)
        app.extensions[EXTENSION_KEY] = self
        if self.guard_all:
            app.before_request(self._guard)

    def _guard(self) -> Response | None:
        assert self.gate is not None
        view = from_wsgi_environ(request.environ)
        if self.gate.is_exempt(view.path):
            return None
        decision = self.gate.decide(view)
        if isinstance(decision, Admit):
            setattr(g, G_KEY, decision.claim)
            return None
        return to_response(decision)


def _app_gate() -> Gatekeeper:
    ext = current_app.extensions.get(EXTENSION_KEY)
    if isinstance(ext, HoodyClaims) and ext.gate is not None:
        return ext.gate
    # No extension: a gate of its own for this app, from config or the environment.
    gate = current_app.extensions.get(EXTENSION_KEY + ".gate")
    if not isinstance(gate, Gatekeeper):
        gate = build_gate(current_app.config.get(CONFIG_KEY))
        current_app.extensions[EXTENSION_KEY + ".gate"] = gate
    return gate


def require_claim(*, verifier: Verifier | None = None, **policy: Any) -> Callable[[F], F]:
    """Decorate a Flask view (sync or async): it runs only for a claim admitted under ``policy``.

    ``**policy``: ``allow_types``, ``users``, ``max_age``, ``project_id``. The claim is at
    ``flask.g.hoody_claim``. Put it below ``@app.route``.
    """
    policy = check_policy(policy)  # a copy: the caller's sets cannot change it later
    own = build_gate(verifier) if verifier is not None else None

    def prepare() -> tuple[Gatekeeper, Verifier | None, Any]:
        gate = own or _app_gate()
        return gate, route_verifier(gate, policy), from_wsgi_environ(request.environ)

    def settle(decision: Admit | Refuse | Redirect) -> Response | None:
        if isinstance(decision, Admit):
            setattr(g, G_KEY, decision.claim)
            return None
        return to_response(decision)

    def decorate(view: F) -> F:
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                gate, v, req = prepare()
                refused = settle(await gate.adecide(req, verifier=v))
                if refused is not None:
                    return refused
                return await view(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            gate, v, req = prepare()
            refused = settle(gate.decide(req, verifier=v))
            if refused is not None:
                return refused
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
