"""Django: a middleware guarding every request, and ``@require_claim(**policy)`` per view.

    # settings.py
    MIDDLEWARE = [..., "hoody_claims.web.django.HoodyClaimsMiddleware"]
    HOODY_CLAIMS = {
        "CONTAINER_ID": "0123456789abcdef01234567",  # default: $HOODY_CONTAINER_ID
        "EXEMPT_PATHS": ["/healthz"],
    }

    # views.py
    from hoody_claims.web.django import require_claim

    @require_claim(allow_types={"admin"})          # sync or async view
    def admin(request):
        return JsonResponse({"hello": request.hoody_claim.sub})

``HOODY_CLAIMS`` (all optional):

- ``VERIFIER``: a ``ClaimVerifier``, a dotted path to one, or to a callable returning one.
  Otherwise one is built from ``CONTAINER_ID``, ``PROJECT_ID``, ``LEEWAY``, ``KEYS`` (a key
  document path or text, pinned: no network), ``API_BASE`` and ``KEY_CACHE_DIR``.
- ``EXEMPT_PATHS``, ``SOURCES``, ``COOKIE_NAME``, ``QUERY_PARAM``, ``REDIRECT_QUERY``: the
  gate's options. ``POLICY``: a dict of policy options the middleware applies everywhere.
- ``GATEKEEPER``: a ready :class:`~hoody_claims.web.Gatekeeper` (or dotted path to one), in
  place of ``VERIFIER`` and the gate's options.

The verified claim is ``request.hoody_claim``. The settings are read on first use and again
after ``override_settings`` changes them.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

from ._config import build_gate, route_verifier
from .decisions import Admit, Redirect, Refuse
from .gatekeeper import Gatekeeper, Verifier, check_policy
from .request_view import EnvironHeaders, RequestView, parse_cookie_header

__all__ = [
    "SETTINGS_NAME",
    "HoodyClaimsMiddleware",
    "get_gate",
    "request_view",
    "require_claim",
    "to_response",
]

SETTINGS_NAME = "HOODY_CLAIMS"
ATTR = "hoody_claim"
F = TypeVar("F", bound=Callable[..., Any])

_lock = threading.Lock()
_gate: Gatekeeper | None = None


_KNOWN_SETTINGS = frozenset(
    {
        "VERIFIER",
        "GATEKEEPER",
        "CONTAINER_ID",
        "PROJECT_ID",
        "LEEWAY",
        "KEYS",
        "API_BASE",
        "KEY_CACHE_DIR",
        "EXEMPT_PATHS",
        "SOURCES",
        "COOKIE_NAME",
        "QUERY_PARAM",
        "REDIRECT_QUERY",
        "POLICY",
    }
)


def _settings() -> Mapping[str, Any]:
    conf = getattr(settings, SETTINGS_NAME, None) or {}
    if not isinstance(conf, Mapping):
        raise ImproperlyConfigured(f"settings.{SETTINGS_NAME} must be a dict")
    # A misspelt key (PROJECTID) would silently drop a binding: refuse it instead.
    unknown = sorted(set(conf) - _KNOWN_SETTINGS)
    if unknown:
        raise ImproperlyConfigured(
            f"settings.{SETTINGS_NAME}: unknown key(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(_KNOWN_SETTINGS))}"
        )
    for key in ("EXEMPT_PATHS", "SOURCES"):
        if isinstance(conf.get(key), (str, bytes)):
            raise ImproperlyConfigured(
                f"settings.{SETTINGS_NAME}[{key!r}] must be a list of strings"
            )
    return conf


def _import(path: str, key: str) -> Any:
    try:
        return import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"settings.{SETTINGS_NAME}[{key!r}]: {exc}") from None


def _verifier_from_settings(conf: Mapping[str, Any]) -> Verifier | None:
    spec = conf.get("VERIFIER")
    if spec is not None:
        if isinstance(spec, str):
            spec = _import(spec, "VERIFIER")
        if callable(spec) and not hasattr(spec, "verify"):
            spec = spec()
        return spec  # type: ignore[no-any-return]
    wanted = {"CONTAINER_ID", "PROJECT_ID", "LEEWAY", "KEYS", "API_BASE", "KEY_CACHE_DIR"}
    if not wanted & set(conf):
        return None  # all from the environment
    from hoody_claims import ClaimVerifier, KeyStore

    store_options: dict[str, Any] = {}
    if "KEY_CACHE_DIR" in conf:
        store_options["cache_dir"] = conf["KEY_CACHE_DIR"]
    if "KEYS" in conf:
        store_options["pinned"] = conf["KEYS"]
    verifier_options: dict[str, Any] = {}
    if "CONTAINER_ID" in conf:
        verifier_options["container_id"] = conf["CONTAINER_ID"]
    if "PROJECT_ID" in conf:
        verifier_options["project_id"] = conf["PROJECT_ID"]
    if "LEEWAY" in conf:
        verifier_options["leeway"] = conf["LEEWAY"]
    return ClaimVerifier(KeyStore(conf.get("API_BASE"), **store_options), **verifier_options)


def get_gate() -> Gatekeeper:
    """The project's Gatekeeper, built from ``settings.HOODY_CLAIMS`` on first use."""
    global _gate
    with _lock:
        if _gate is None:
            conf = _settings()
            options: dict[str, Any] = {}
            for key, option in (
                ("EXEMPT_PATHS", "exempt_paths"),
                ("SOURCES", "sources"),
                ("COOKIE_NAME", "cookie_name"),
                ("QUERY_PARAM", "query_param"),
                ("REDIRECT_QUERY", "redirect_query"),
            ):
                if key in conf:
                    options[option] = conf[key]
            policy = check_policy(conf.get("POLICY") or {})
            ready = conf.get("GATEKEEPER")
            if isinstance(ready, str):
                ready = _import(ready, "GATEKEEPER")
            if ready is not None:
                if options or "VERIFIER" in conf:
                    raise ImproperlyConfigured(
                        f"settings.{SETTINGS_NAME}: GATEKEEPER replaces VERIFIER "
                        "and the gate options"
                    )
                _gate = build_gate(gatekeeper=ready).with_policy(policy)
            else:
                _gate = build_gate(_verifier_from_settings(conf), **options).with_policy(policy)
        return _gate


def _reset(*, setting: str, **kwargs: Any) -> None:
    global _gate
    if setting == SETTINGS_NAME:
        with _lock:
            _gate = None


setting_changed.connect(_reset, dispatch_uid="hoody_claims.web.django.reset")


def request_view(request: HttpRequest) -> RequestView:
    """The framework-neutral view of a Django request (sync or async handler)."""
    meta = request.META
    headers = EnvironHeaders(meta)
    host = headers.get("host") or str(meta.get("SERVER_NAME", ""))
    return RequestView(
        method=(request.method or "GET").upper(),
        scheme=request.scheme or "http",
        host=host,
        path=request.path,
        query_string=str(meta.get("QUERY_STRING", "")),
        headers=headers,
        cookies=parse_cookie_header(headers.get("cookie")),
        client_host=meta.get("REMOTE_ADDR") or None,
    )


def to_response(decision: Refuse | Redirect) -> HttpResponse:
    """The Django response for a refusal or the query→cookie redirect."""
    response = HttpResponse(decision.body, status=decision.status)
    for name, value in decision.headers:
        response[name] = value
    return response


def _settle(request: HttpRequest, decision: Admit | Refuse | Redirect) -> HttpResponse | None:
    if isinstance(decision, Admit):
        setattr(request, ATTR, decision.claim)
        return None
    return to_response(decision)


class HoodyClaimsMiddleware:
    """Admit only requests with a valid claim (``EXEMPT_PATHS`` aside); sync and async."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        get_gate()  # fail at startup on a broken configuration, not on the first request

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        gate = get_gate()
        view = request_view(request)
        if not gate.is_exempt(view.path):
            refused = _settle(request, gate.decide(view))
            if refused is not None:
                return refused
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> Any:
        gate = get_gate()
        view = request_view(request)
        if not gate.is_exempt(view.path):
            decision = await gate.adecide(view)
            refused = _settle(request, decision)
            if refused is not None:
                return refused
        return await self.get_response(request)


def require_claim(*, verifier: Verifier | None = None, **policy: Any) -> Callable[[F], F]:
    """Decorate a Django view (function, sync or async): it runs only for an admitted claim.

    ``**policy``: ``allow_types``, ``users``, ``max_age``, ``project_id``. The claim is
    ``request.hoody_claim``. ``verifier``: this view's own (default: from settings).
    """
    policy = check_policy(policy)  # a copy: the caller's sets cannot change it later
    own = build_gate(verifier) if verifier is not None else None

    def decorate(view: F) -> F:
        if iscoroutinefunction(view) or inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                gate = own or get_gate()
                decision = await gate.adecide(
                    request_view(request), verifier=route_verifier(gate, policy)
                )
                refused = _settle(request, decision)
                if refused is not None:
                    return refused
                return await view(request, *args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            gate = own or get_gate()
            decision = gate.decide(request_view(request), verifier=route_verifier(gate, policy))
            refused = _settle(request, decision)
            if refused is not None:
                return refused
            return view(request, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
