"""The one gate every adapter calls: find the claim, verify it, decide.

    gate = Gatekeeper(verifier, exempt_paths=("/healthz",))
    decision = gate.decide(view)            # sync frameworks
    decision = await gate.adecide(view)     # async ones: never blocks the event loop

``decision`` is an :class:`Admit` (the verified claim), a :class:`Refuse` (a ready response the
application never sees past) or a :class:`Redirect` (claim came in the query string: set the
cookie and send the browser to the clean URL).
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from hoody_claims.claim_rules import Policy, validate_id
from hoody_claims.errors import HoodyClaimsError, WrongProject

from .decisions import Admit, Decision, Redirect, Refuse
from .extract import (
    DEFAULT_COOKIE,
    DEFAULT_QUERY_PARAM,
    SOURCES,
    FoundClaim,
    find_claim,
    validate_sources,
)
from .request_view import RequestView
from .responses import claim_required, redirect_without_claim, refusal

if TYPE_CHECKING:
    from hoody_claims import Claim

__all__ = [
    "POLICY_OPTIONS",
    "Admit",
    "Decision",
    "Gatekeeper",
    "Redirect",
    "Refuse",
    "Verifier",
    "check_policy",
    "narrowed",
]

#: Per-route policy options, passed to ``ClaimVerifier.with_policy``.
POLICY_OPTIONS = frozenset({"allow_types", "users", "max_age", "project_id"})
_REDIRECT_METHODS = frozenset({"GET", "HEAD"})


class Verifier(Protocol):
    """What the gate needs from a verifier (``hc.ClaimVerifier`` or ``hc.IdentityVerifier``)."""

    def verify(self, claim_in: Any, now: float | None = None) -> Claim: ...

    async def averify(self, claim_in: Any, now: float | None = None) -> Claim: ...

    def with_policy(self, **policy: Any) -> Any: ...


def check_policy(policy: Mapping[str, Any]) -> dict[str, Any]:
    """Validate policy keywords and values early (at decoration or set-up time), not on the
    first request: an unknown option is a TypeError, a bad value a ValueError."""
    unknown = sorted(set(policy) - POLICY_OPTIONS)
    if unknown:
        raise TypeError(
            f"unknown policy option(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(POLICY_OPTIONS))}"
        )
    checked = dict(policy)
    rules = Policy.build(policy.get("allow_types"), policy.get("users"), policy.get("max_age"))
    for name in ("allow_types", "users"):  # frozen copies, read once (a generator too)
        if name in checked:
            checked[name] = getattr(rules, name)
    if policy.get("project_id") is not None:
        validate_id(policy["project_id"], "project_id")
    return checked


def _both(mine: frozenset[str] | None, theirs: frozenset[str] | None) -> frozenset[str] | None:
    if mine is None or theirs is None:
        return theirs if mine is None else mine
    return mine & theirs


def narrowed(verifier: Verifier, policy: Mapping[str, Any]) -> Verifier:
    """``verifier`` with ``policy`` added to the rules it already has, never loosening them:
    allowed types and users intersect, the smaller ``max_age`` wins, a project binding stays
    (a different ``project_id`` contradicts it: every claim is refused, WRONG_PROJECT)."""
    if not policy:
        return verifier
    extra = Policy.build(policy.get("allow_types"), policy.get("users"), policy.get("max_age"))
    own = getattr(verifier, "policy", None)
    if isinstance(own, Policy):
        ages = [age for age in (own.max_age, extra.max_age) if age is not None]
        extra = Policy(
            _both(own.allow_types, extra.allow_types),
            _both(own.users, extra.users),
            min(ages) if ages else None,
        )
    options: dict[str, Any] = {
        name: value
        for name, value in (
            ("allow_types", extra.allow_types),
            ("users", extra.users),
            ("max_age", extra.max_age),
        )
        if value is not None
    }
    project = policy.get("project_id")
    if project is not None:
        bound = getattr(verifier, "project_id", None)
        if bound is not None and bound != project:
            return _NoProject(project, bound)
        options["project_id"] = project
    return verifier.with_policy(**options)  # type: ignore[no-any-return]


def _freeze(value: Any) -> Any:
    if isinstance(value, str | bytes | int | float | type(None)):
        return value
    if isinstance(value, Iterable):
        return frozenset(value)
    return value


class _NoProject:
    """The verifier of a route whose ``project_id`` contradicts the app's: no claim can be of
    both projects, so every one is refused (never a 500 on each request)."""

    def __init__(self, wanted: str, bound: str) -> None:
        self._refusal = (
            f"this route requires project {wanted}, inside an app bound to project {bound}: "
            "no claim can be of both"
        )

    def verify(self, claim_in: Any, now: float | None = None) -> Claim:
        raise WrongProject(self._refusal)

    async def averify(self, claim_in: Any, now: float | None = None) -> Claim:
        raise WrongProject(self._refusal)

    def with_policy(self, **policy: Any) -> _NoProject:
        return self


class Gatekeeper:
    """Extraction, verification and the refusal/redirect decision, for any framework.

    ``verifier``: a ``ClaimVerifier`` (or anything with ``verify``/``averify``/``with_policy``).
    ``sources``: where to look, in order (subset of :data:`~hoody_claims.web.extract.SOURCES`).
    ``exempt_paths``: paths served without a claim (health checks). An entry matches the path
    exactly; an entry ending in ``*`` matches every path starting with what precedes the ``*``
    (never a path with ``.``/``..`` segments, so ``/static/../admin`` is not exempt).
    ``redirect_query``: answer a valid query-string claim with the cookie + 303 (GET/HEAD over
    HTTP only; a WebSocket handshake or a POST is admitted directly).
    ``clock``: seconds since the epoch for "now" (defaults to the verifier's own clock) — for
    tests and replays.
    """

    def __init__(
        self,
        verifier: Verifier,
        *,
        sources: Sequence[str] = SOURCES,
        cookie_name: str = DEFAULT_COOKIE,
        query_param: str = DEFAULT_QUERY_PARAM,
        exempt_paths: Iterable[str] = (),
        redirect_query: bool = True,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.verifier = verifier
        self.sources = validate_sources(sources)
        self.cookie_name = cookie_name
        self.query_param = query_param
        self.redirect_query = redirect_query
        self.clock = clock
        exact: set[str] = set()
        prefixes: list[str] = []
        for entry in exempt_paths:
            if not entry.startswith("/"):
                raise ValueError(f"exempt path {entry!r} must start with '/'")
            if entry.endswith("*"):
                prefixes.append(entry[:-1])
            else:
                exact.add(entry)
        self._exact = frozenset(exact)
        self._prefixes = tuple(prefixes)
        self._policy_cache: dict[Any, Verifier] = {}
        self._lock = threading.Lock()

    # -- configuration -------------------------------------------------------------------------

    def is_exempt(self, path: str) -> bool:
        """Whether ``path`` is served without a claim."""
        if path in self._exact:
            return True
        if not self._prefixes or not path.startswith(self._prefixes):
            return False
        segments = path.split("/")
        return "." not in segments and ".." not in segments

    def with_policy(self, policy: Mapping[str, Any] | None) -> Gatekeeper:
        """This gate with app-wide ``policy`` added to its verifier's rules (see
        :func:`narrowed`); per-route policies then narrow that further."""
        if not policy:
            return self
        gate = copy.copy(self)
        gate.verifier = narrowed(self.verifier, check_policy(policy))
        gate._policy_cache = {}
        gate._lock = threading.Lock()
        return gate

    def verifier_for(self, policy: Mapping[str, Any] | None = None) -> Verifier:
        """The gate's verifier narrowed by a per-route policy (:func:`narrowed`), memoised."""
        if not policy:
            return self.verifier
        checked = check_policy(policy)
        key = tuple(sorted((k, _freeze(v)) for k, v in checked.items()))
        with self._lock:
            found = self._policy_cache.get(key)
            if found is None:
                found = narrowed(self.verifier, checked)
                self._policy_cache[key] = found
            return found

    # -- deciding ------------------------------------------------------------------------------

    def find(self, req: RequestView) -> FoundClaim | None:
        """The claim ``req`` carries, from the first configured source that has one."""
        return find_claim(
            req, self.sources, cookie_name=self.cookie_name, query_param=self.query_param
        )

    def _now(self, now: float | None) -> int | None:
        if now is not None:
            return int(now)
        if self.clock is not None:
            return int(self.clock())
        return None

    def _after_verify(
        self, req: RequestView, found: FoundClaim, claim: Claim, now: int | None
    ) -> Decision:
        if (
            found.source == "query"
            and self.redirect_query
            and req.method.upper() in _REDIRECT_METHODS
            and req.scheme in ("http", "https")
        ):
            current = int(time.time()) if now is None else now
            # Admitted in the leeway after exp: a cookie would die at once and the clean URL
            # would be refused, so this one request is admitted as it came.
            if claim.exp <= current:
                return Admit(claim=claim, source=found.source)
            return redirect_without_claim(
                req,
                claim,
                token=found.token,
                cookie_name=self.cookie_name,
                query_param=self.query_param,
                now=current,
            )
        return Admit(claim=claim, source=found.source)

    def _fresh_link(self, req: RequestView, refused: FoundClaim) -> FoundClaim | None:
        # A stale cookie (expired, rotated key...) must not shadow the fresh claim a browser is
        # bringing in the query string: after a refused cookie the query gets its turn.
        if refused.source != "cookie" or "query" not in self.sources:
            return None
        return find_claim(req, ("query",), query_param=self.query_param)

    def decide(
        self, req: RequestView, *, now: float | None = None, verifier: Verifier | None = None
    ) -> Decision:
        """Decide on ``req`` (sync). ``verifier`` overrides the gate's (per-route policy)."""
        found = self.find(req)
        if found is None:
            return claim_required()
        at = self._now(now)
        verify = (verifier or self.verifier).verify
        try:
            claim = verify(found.token, now=at)
        except HoodyClaimsError as err:
            found = self._fresh_link(req, found)
            if found is None:
                return refusal(err)
            try:
                claim = verify(found.token, now=at)
            except HoodyClaimsError as again:
                return refusal(again)
        return self._after_verify(req, found, claim, at)

    async def adecide(
        self, req: RequestView, *, now: float | None = None, verifier: Verifier | None = None
    ) -> Decision:
        """Decide on ``req`` without blocking the loop (a key fetch runs in a worker thread)."""
        found = self.find(req)
        if found is None:
            return claim_required()
        at = self._now(now)
        averify = (verifier or self.verifier).averify
        try:
            claim = await averify(found.token, now=at)
        except HoodyClaimsError as err:
            found = self._fresh_link(req, found)
            if found is None:
                return refusal(err)
            try:
                claim = await averify(found.token, now=at)
            except HoodyClaimsError as again:
                return refusal(again)
        return self._after_verify(req, found, claim, at)
