"""ClaimVerifier and IdentityVerifier: SPEC §2's checks in order, with remembered claims.

parse (claim_parse) → key (keystore) → signature (backends) → payload (claim) →
type, time, binding, policy (claim_rules). Each step has a typed value in and out.
"""

from __future__ import annotations

import asyncio
import copy
import os
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from operator import attrgetter
from typing import Any, ClassVar, Literal

from .backends import Backend, Checked, ClaimChecker, get_backend
from .claim import Claim, claim_from_fields, claim_from_payload
from .claim_cache import RememberedClaims
from .claim_parse import ClaimInput, RawClaim, cache_key, parse_claim
from .claim_rules import (
    ANY_CONTAINER,
    Policy,
    check_audience,
    check_container,
    check_policy,
    check_time,
    check_type,
    unix_seconds,
    validate_id,
)
from .encoding import CodecError
from .errors import HoodyClaimsError, InvalidSignature, MalformedClaim, UnknownKey
from .key_document import KeySet
from .keystore import KeySource, WouldBlock, as_key_source, key_for_is_key_set_lookup
from .strict_json import finish_payload

__all__ = ["CONTAINER_ID_ENV", "ClaimVerifier", "IdentityVerifier", "SignedData"]

CONTAINER_ID_ENV = "HOODY_CONTAINER_ID"
SignedData = Literal["b64", "raw", "auto"]
_UNSET: Any = object()
_UNFINISHED = object()
_Pending = tuple[int, RawClaim, bytes, bytes]  # index, claim, key, signed message
# verify_many finishes checked claims in steps of at least this many (fewer calls into
# the core; small enough that this thread keeps up with the native threads).
_STEP = 8


def _text_bytes(claim_in: ClaimInput) -> bytes | None:
    """A claim's text as bytes for the native check, or None (a dict, or text that is
    not UTF-8: the general path explains what is wrong)."""
    kind = type(claim_in)
    if kind is str:
        try:
            return claim_in.encode("utf-8")  # type: ignore[union-attr]
        except UnicodeEncodeError:
            return None
    return claim_in if kind is bytes else None  # type: ignore[return-value]


def _triples(pending: list[_Pending]) -> list[tuple[bytes, bytes, bytes]]:
    return [(message, raw.signature, key) for _, raw, key, message in pending]


class _Verifier:
    """What container and identity verification share; see the two subclasses."""

    claim_type: ClassVar[str]

    def __init__(
        self,
        keys_or_store: KeySet | KeySource,
        *,
        leeway: int = 30,
        allow_types: Iterable[str] | None = None,
        users: Iterable[str] | None = None,
        max_age: int | None = None,
        signed_data: SignedData = "b64",
        backend: Backend | str | None = None,
        cache_size: int = 4096,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if isinstance(leeway, bool) or not isinstance(leeway, int) or leeway < 0:
            raise ValueError("leeway must be a non-negative integer number of seconds")
        if signed_data not in ("b64", "raw", "auto"):
            raise ValueError('signed_data must be "b64", "raw" or "auto"')
        self._source = as_key_source(keys_or_store)
        self._backend = backend if isinstance(backend, Backend) else get_backend(backend)
        self.leeway = leeway
        self.policy = Policy.build(allow_types, users, max_age)
        self.signed_data: SignedData = signed_data
        self._cache = RememberedClaims(cache_size)
        self._clock = clock
        # The one-call native check covers the default signed data only, and looks keys up
        # in key_set() itself: only for sources whose key_for is known to do just that (a
        # subclass or custom source with its own key_for takes the general path).
        self._checker = (
            self._backend.claim_checker
            if signed_data == "b64" and key_for_is_key_set_lookup(self._source)
            else None
        )
        self._keys_table: tuple[KeySet, bytes] | None = None
        # Step 7 without words, for _validate's common case: (read the claim, expected value).
        self._binding: tuple[Callable[[Claim], object], object] | None = None

    # -- public --------------------------------------------------------------------------

    def verify(self, claim_in: ClaimInput, now: float | None = None) -> Claim:
        """Verify one claim: return it, or raise the error of the first failed check."""
        return self._verify(claim_in, now, True)

    async def averify(self, claim_in: ClaimInput, now: float | None = None) -> Claim:
        """Like :meth:`verify`, but a key fetch runs in a worker thread, off the event loop."""
        try:
            return self._verify(claim_in, now, False)
        except WouldBlock:
            return await asyncio.to_thread(self._verify, claim_in, now, True)

    def verify_many(
        self, claims: Sequence[ClaimInput], now: float | None = None
    ) -> list[Claim | HoodyClaimsError]:
        """Verify many claims; the new ones are checked on native threads, on every core.

        Returns, in order, each ``Claim`` or the ``HoodyClaimsError`` its claim raised.
        Every claim is answered under the key set the call ends with: when a claim's unknown
        kid refreshes the keys, the batch is checked again under the new set, so a claim
        remembered (or checked) under keys that are gone is refused wherever it stands.
        """
        if isinstance(claims, (str, bytes, bytearray)) or not isinstance(claims, Sequence):
            raise TypeError("verify_many takes a list of claims; use verify for one claim")
        t = self._now(now)
        keys = self._source.key_set()
        # Twice at most: a refresh is rate-limited, and a second one inside one call comes
        # from another thread racing this one, which no snapshot can order anyway.
        for _ in range(2):
            results = self._verify_many_under(claims, keys, t)
            try:
                ended_with = self._source.key_set()
            except HoodyClaimsError:  # a failed TTL refresh keeps the keys just used
                break
            if ended_with.fingerprint == keys.fingerprint:
                break
            keys = ended_with
        return results

    def _verify_many_under(
        self, claims: Sequence[ClaimInput], keys: KeySet, t: int
    ) -> list[Claim | HoodyClaimsError]:
        """One pass of verify_many starting from the key set ``keys``."""
        results: list[Claim | HoodyClaimsError] = []
        if self._checker is not None:
            self._verify_many_native(claims, self._checker, keys, t, results)
            return results
        # Other backends or signed data: steps 1-2 for all, one verify_batch call, the rest.
        pending = self._prepare_batch(claims, keys.fingerprint, t, results)
        verdicts = self._backend.verify_batch(_triples(pending)) if pending else []
        self._finish_batch(pending, verdicts, claims, t, results)
        return results

    def _verify_many_native(
        self,
        claims: Sequence[ClaimInput],
        checker: ClaimChecker,
        keys: KeySet,
        t: int,
        results: list[Claim | HoodyClaimsError],
    ) -> None:
        """verify_many on the native core: the new claims are checked whole (steps 1-4) on
        native threads; this thread finishes each (steps 5-8) as soon as it is checked, and
        checks claims itself while the next one is not."""
        fingerprint = keys.fingerprint
        sent: list[tuple[int, ClaimInput]] = []
        texts: list[bytes] = []
        others: list[tuple[int, ClaimInput]] = []
        for i, claim_in in enumerate(claims):
            if self._answered_from_memory(claim_in, fingerprint, t, results):
                continue
            data = _text_bytes(claim_in)
            results.append(_UNFINISHED)  # type: ignore[arg-type]  # replaced when finished
            if data is None:
                others.append((i, claim_in))
            else:
                sent.append((i, claim_in))
                texts.append(data)
        batch = checker.start(texts, self._key_table(checker, keys)) if texts else None
        try:
            for i, claim_in in others:  # a dict: the general path, while the threads work
                self._finish_one(i, claim_in, checker.general, checker, keys, t, results)
            done = 0
            while batch is not None and done < len(sent):
                found = batch.take(_STEP)
                self._finish_checked(
                    sent[done : done + len(found)], found, checker, keys, t, results
                )
                done += len(found)
        except BaseException:  # e.g. KeyboardInterrupt: the rest would be checked for nothing
            if batch is not None:
                batch.cancel()
            raise

    def _finish_checked(
        self,
        sent: list[tuple[int, ClaimInput]],
        checked: list[Checked | CodecError | None],
        checker: ClaimChecker,
        keys: KeySet,
        t: int,
        results: list[Claim | HoodyClaimsError],
    ) -> None:
        remembered: list[tuple[Hashable, Claim]] = []
        validate = self._validate
        for (i, claim_in), found in zip(sent, checked, strict=True):
            times = found[2] if type(found) is tuple else None
            if times is None:
                self._finish_one(i, claim_in, found, checker, keys, t, results)
                continue
            # The common case, inlined: every text sent is its own remembered-claims key.
            claim = claim_from_fields(found[0], found[1], times)  # type: ignore[index]
            remembered.append((claim_in, claim))
            try:
                validate(claim, t)
                results[i] = claim
            except HoodyClaimsError as exc:
                results[i] = exc
        self._cache.put_many(remembered, keys.fingerprint)

    def _finish_one(
        self,
        i: int,
        claim_in: ClaimInput,
        found: Checked | CodecError | None,
        checker: ClaimChecker,
        keys: KeySet,
        t: int,
        results: list[Claim | HoodyClaimsError],
    ) -> None:
        """Steps 5-8 of one claim the native core checked (the general path decides the
        ones it left to it); the result or its error goes to results[i]."""
        try:
            if found is checker.general:
                claim, under = self._check_general(claim_in, True)
            elif isinstance(found, CodecError):
                raise MalformedClaim(f"the claim's payload is malformed: {found.reason}")
            else:
                claim, under = self._checked_claim(found), keys.fingerprint
            self._remember(claim_in, under, claim)
            self._validate(claim, t)
            results[i] = claim
        except HoodyClaimsError as exc:
            results[i] = exc

    def _prepare_batch(
        self,
        claims: Sequence[ClaimInput],
        fingerprint: str,
        t: int,
        results: list[Claim | HoodyClaimsError],
    ) -> list[_Pending]:
        """Steps 1-2 for each claim; remembered ones and early refusals go straight to results."""
        pending: list[_Pending] = []
        raw_mode = self.signed_data == "raw"
        for i, claim_in in enumerate(claims):
            if self._answered_from_memory(claim_in, fingerprint, t, results):
                continue
            try:
                raw = parse_claim(claim_in, self._backend)
                key = self._key(raw, True)
                pending.append((i, raw, key, self._message(raw, raw_mode)))
                results.append(_UNFINISHED)  # type: ignore[arg-type]  # replaced when finished
            except HoodyClaimsError as exc:
                results.append(exc)
        return pending

    def _finish_batch(
        self,
        pending: list[_Pending],
        verdicts: list[bool],
        claims: Sequence[ClaimInput],
        t: int,
        results: list[Claim | HoodyClaimsError],
    ) -> None:
        """Steps 3 (the verdicts) to 8 for a verified batch."""
        for (i, raw, key, _), ok in zip(pending, verdicts, strict=True):
            try:
                if not ok and self.signed_data == "auto":
                    ok = self._backend.verify(raw.signature, self._message(raw, True), key)
                if not ok:
                    raise InvalidSignature("the claim's signature does not verify")
                claim = claim_from_payload(self._payload_object(raw), raw.kid)
                self._remember(claims[i], self._verified_under(raw.kid, key, True), claim)
                self._validate(claim, t)
                results[i] = claim
            except HoodyClaimsError as exc:
                results[i] = exc

    def with_policy(self, **options: Any) -> _Verifier:
        """A verifier with other policy options sharing these keys and remembered claims.

        Accepts ``allow_types``, ``users``, ``max_age`` and (container claims) ``project_id``.
        """
        clone = copy.copy(self)
        policy = self.policy
        clone.policy = Policy.build(
            options.pop("allow_types", policy.allow_types),
            options.pop("users", policy.users),
            options.pop("max_age", policy.max_age),
        )
        clone._configure(**options)
        return clone

    @property
    def backend(self) -> str:
        """The name of the signature backend this verifier uses."""
        return self._backend.name

    # -- the steps -----------------------------------------------------------------------

    def _verify(self, claim_in: ClaimInput, now: float | None, block: bool) -> Claim:
        # The hot path of every request: kept flat (each Python call here costs about as
        # much as a rule), the steps themselves live in the modules named in the docstring.
        # An int now (or the clock's float) skips unix_seconds' checks on the hot path.
        t = (
            int(self._clock())
            if now is None
            else now
            if type(now) is int
            else unix_seconds(now)
        )
        keys = self._source.key_set(block=block)
        fingerprint = keys.fingerprint
        remember_as = claim_in if type(claim_in) is str else cache_key(claim_in)
        claim = None if remember_as is None else self._cache.get(remember_as, fingerprint, t)
        if claim is None:
            # Steps 1-4: the native core's one call when it can decide, else step by step.
            checker = self._checker
            # An ASCII str (every real claim) encodes without _text_bytes' error handling.
            data = (
                None
                if checker is None
                else claim_in.encode()
                if type(claim_in) is str and claim_in.isascii()
                else _text_bytes(claim_in)
            )
            under: str | None = fingerprint  # the key set the claim is checked with
            if checker is None or data is None:
                claim, under = self._check_general(claim_in, block)
            else:
                table = self._keys_table
                try:
                    found = checker.check(
                        data,
                        table[1]
                        if table is not None and table[0] is keys
                        else self._key_table(checker, keys),
                    )
                except CodecError as exc:
                    raise MalformedClaim(
                        f"the claim's payload is malformed: {exc.reason}"
                    ) from None
                if found is checker.general:
                    claim, under = self._check_general(claim_in, block)
                elif found is not None and found[2] is not None:  # the common case
                    claim = claim_from_fields(*found)  # type: ignore[arg-type]
                else:
                    claim = self._checked_claim(found)
            if remember_as is not None and under is not None:
                self._cache.put(remember_as, under, claim)
        self._validate(claim, t)
        return claim

    def _check_general(self, claim_in: ClaimInput, block: bool) -> tuple[Claim, str | None]:
        """Steps 1-4 one by one: any input, any backend, any signed data. Returns the claim
        and the fingerprint to remember it under (see :meth:`_verified_under`)."""
        raw = parse_claim(claim_in, self._backend)
        key = self._key(raw, block)
        claim = claim_from_payload(self._check_signature(raw, key), raw.kid)
        return claim, self._verified_under(raw.kid, key, block)

    def _verified_under(self, kid: str, key: bytes, block: bool) -> str | None:
        """The fingerprint of the key set served now, if it holds ``key`` as ``kid``; else
        None (not remembered). Looking the key up may have refreshed the key set, so the
        fingerprint read before the lookup can name a set without this key; and a later
        return to that set must not find the claim remembered under it."""
        keys = self._source.key_set(block=block)
        return keys.fingerprint if keys.keys.get(kid) == key else None

    @staticmethod
    def _checked_claim(found: Checked | None) -> Claim:
        if found is None:
            raise InvalidSignature("the claim's signature does not verify")
        names, text, times = found
        if times is not None:
            return claim_from_fields(names, text, times)
        try:
            payload = finish_payload(text.decode("utf-8"))
        except CodecError as exc:
            raise MalformedClaim(f"the claim's payload is malformed: {exc.reason}") from None
        return claim_from_payload(payload, names[0] or "")

    def _key_table(self, checker: ClaimChecker, keys: KeySet) -> bytes:
        """The key set in the native core's layout, packed once per key set."""
        table = self._keys_table
        if table is None or table[0] is not keys:
            table = self._keys_table = (keys, checker.pack_keys(keys.keys))
        return table[1]

    def _now(self, now: float | None) -> int:
        return unix_seconds(self._clock() if now is None else now)

    def _answered_from_memory(
        self,
        claim_in: ClaimInput,
        fingerprint: str,
        t: int,
        results: list[Claim | HoodyClaimsError],
    ) -> bool:
        """For verify_many: a remembered claim goes to results (or the rule it now fails);
        False when it is not remembered."""
        key = cache_key(claim_in)
        claim = None if key is None else self._cache.get(key, fingerprint, t)
        if claim is None:
            return False
        try:
            self._validate(claim, t)
            results.append(claim)
        except HoodyClaimsError as exc:
            results.append(exc)
        return True

    def _remember(self, claim_in: ClaimInput, fingerprint: str | None, claim: Claim) -> None:
        key = cache_key(claim_in)
        if key is not None and fingerprint is not None:
            self._cache.put(key, fingerprint, claim)

    def _key(self, raw: RawClaim, block: bool) -> bytes:
        key = self._source.key_for(raw.kid, block=block)
        if key is None:
            raise UnknownKey("the claim is signed with a key this verifier does not know")
        return key

    def _message(self, raw: RawClaim, raw_mode: bool) -> bytes:
        if not raw_mode:
            return raw.payload_b64.encode("ascii")
        try:
            return self._backend.decode_b64(raw.payload_b64)
        except CodecError as exc:
            raise MalformedClaim(
                f"the claim's payload is not strict base64: {exc.reason}"
            ) from None

    def _check_signature(self, raw: RawClaim, key: bytes) -> Any:
        """Step 3, then decode the payload the signature covers (step 4)."""
        if self.signed_data == "b64":  # the default: verify, then decode, in one native call
            try:
                payload = self._backend.verify_payload(raw.signature, key, raw.payload_b64)
            except CodecError as exc:
                raise MalformedClaim(f"the claim's payload is malformed: {exc.reason}") from None
            if payload is None:
                raise InvalidSignature("the claim's signature does not verify")
            return payload
        verify = self._backend.verify
        if self.signed_data == "auto" and verify(
            raw.signature, raw.payload_b64.encode("ascii"), key
        ):
            return self._payload_object(raw)
        data = self._message(raw, True)
        if verify(raw.signature, data, key):
            try:
                return self._backend.loads_strict(data)
            except CodecError as exc:
                raise MalformedClaim(
                    f"the claim's payload is not strict JSON: {exc.reason}"
                ) from None
        raise InvalidSignature("the claim's signature does not verify")

    def _payload_object(self, raw: RawClaim) -> Any:
        try:
            return self._backend.decode_payload(raw.payload_b64)
        except CodecError as exc:
            raise MalformedClaim(f"the claim's payload is malformed: {exc.reason}") from None

    def _validate(self, claim: Claim, t: int) -> None:
        """Steps 5-8. The common case (the right type, in its time window, bound here, no
        policy) is one expression; anything else runs the rules in order for their error."""
        leeway = self.leeway
        nbf = claim.nbf
        binding = self._binding
        if not (
            claim.claim_type == self.claim_type
            and t < claim.exp + leeway
            and claim.iat <= t + leeway
            and (nbf is None or nbf <= t + leeway)
            and (binding is None or binding[0](claim) == binding[1])
            and self.policy.is_open
        ):
            check_type(claim, self.claim_type)
            check_time(claim, t, leeway)
            self._bind(claim)
            check_policy(claim, self.policy, t)

    def _bind(self, claim: Claim) -> None:
        """Step 7, saying why it fails (``_binding`` is the same test without words)."""
        raise NotImplementedError

    def _configure(self, **options: Any) -> None:
        if options:
            raise TypeError(f"unexpected options: {', '.join(sorted(options))}")


class ClaimVerifier(_Verifier):
    """Verify container claims for one container (and optionally one project).

    ``container_id`` defaults to ``$HOODY_CONTAINER_ID``; with neither, construction fails
    unless ``container_id=ANY_CONTAINER`` says any container is acceptable.
    """

    claim_type = "container"

    def __init__(
        self,
        keys_or_store: KeySet | KeySource,
        container_id: str | object = _UNSET,
        project_id: str | None = None,
        **options: Any,
    ) -> None:
        super().__init__(keys_or_store, **options)
        if container_id is _UNSET:
            container_id = os.environ.get(CONTAINER_ID_ENV) or _UNSET
        if container_id is _UNSET or container_id is None:
            raise ValueError(
                "ClaimVerifier needs this container's id: pass container_id=..., set "
                f"{CONTAINER_ID_ENV}, or pass container_id=hoody_claims.ANY_CONTAINER"
            )
        self.container_id: str | None = (
            None if container_id is ANY_CONTAINER else validate_id(container_id, "container_id")  # type: ignore[arg-type]
        )
        self._configure(project_id=project_id)

    def _configure(self, project_id: str | object | None = _UNSET, **options: Any) -> None:
        super()._configure(**options)
        if project_id is not _UNSET:
            self.project_id = None if project_id is None else validate_id(project_id, "project_id")  # type: ignore[arg-type]
        container_id, project_id = self.container_id, self.project_id
        if container_id is None and project_id is None:
            self._binding = None
        elif project_id is None:
            self._binding = (attrgetter("container_id"), container_id)
        elif container_id is None:
            self._binding = (attrgetter("project_id"), project_id)
        else:
            self._binding = (attrgetter("container_id", "project_id"), (container_id, project_id))

    def _bind(self, claim: Claim) -> None:
        check_container(claim, self.container_id, self.project_id)

    def with_policy(self, **options: Any) -> ClaimVerifier:
        """A verifier sharing keys and remembered claims, with other policy or project_id."""
        result = super().with_policy(**options)
        assert isinstance(result, ClaimVerifier)
        return result


class IdentityVerifier(_Verifier):
    """Verify identity claims addressed to ``audience``."""

    claim_type = "identity"

    def __init__(self, keys_or_store: KeySet | KeySource, audience: str, **options: Any) -> None:
        super().__init__(keys_or_store, **options)
        if not isinstance(audience, str) or not audience:
            raise ValueError("IdentityVerifier needs the audience it verifies for")
        self.audience = audience
        # A list of audiences fails this test and takes the rules' path, which reads lists.
        self._binding = (attrgetter("aud"), audience)

    def _bind(self, claim: Claim) -> None:
        check_audience(claim, self.audience)

    def with_policy(self, **options: Any) -> IdentityVerifier:
        """A verifier sharing keys and remembered claims, with other policy options."""
        result = super().with_policy(**options)
        assert isinstance(result, IdentityVerifier)
        return result
