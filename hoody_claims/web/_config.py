"""How adapters get a verifier when the application does not hand one over explicitly."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

from .extract import DEFAULT_COOKIE, DEFAULT_QUERY_PARAM, SOURCES
from .gatekeeper import Gatekeeper, Verifier, check_policy

__all__ = ["build_gate", "default_verifier"]

_lock = threading.Lock()
_default: Verifier | None = None


def default_verifier() -> Verifier:
    """The process-wide verifier built from the environment, created on first use.

    ``ClaimVerifier(KeyStore())``: this container's id from ``HOODY_CONTAINER_ID``, keys from
    ``HOODY_CLAIMS_KEYS`` (a pinned document) or fetched from Hoody's API and cached. Inside a
    Hoody container both are set up already; elsewhere pass ``verifier=`` explicitly. Raises
    ``ValueError`` when the container id is unknown.
    """
    global _default
    with _lock:
        if _default is None:
            from hoody_claims import ClaimVerifier, KeyStore

            _default = ClaimVerifier(KeyStore())
        return _default


def build_gate(
    verifier: Verifier | None = None,
    *,
    gatekeeper: Gatekeeper | None = None,
    sources: Sequence[str] = SOURCES,
    cookie_name: str = DEFAULT_COOKIE,
    query_param: str = DEFAULT_QUERY_PARAM,
    exempt_paths: Iterable[str] = (),
    redirect_query: bool = True,
) -> Gatekeeper:
    """A Gatekeeper from adapter options (``gatekeeper=`` wins; else ``verifier`` or default)."""
    if gatekeeper is not None:
        if verifier is not None:
            raise TypeError("pass either verifier= or gatekeeper=, not both")
        return gatekeeper
    return Gatekeeper(
        verifier if verifier is not None else default_verifier(),
        sources=sources,
        cookie_name=cookie_name,
        query_param=query_param,
        exempt_paths=exempt_paths,
        redirect_query=redirect_query,
    )


def route_verifier(gate: Gatekeeper, policy: dict[str, Any]) -> Verifier | None:
    """The verifier for a per-route policy, or ``None`` to use the gate's own."""
    return gate.verifier_for(check_policy(policy)) if policy else None
