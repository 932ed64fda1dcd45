"""The signature and codec backend: native C core, PyNaCl, or ``cryptography``.

A :class:`Backend` is an immutable bundle of functions. ``native`` uses the C
core for everything; ``pynacl`` and ``cryptography`` use the pure-Python
codecs (:mod:`hoody_claims.encoding`, :mod:`hoody_claims.strict_json`) and
verify their batches one by one in the calling thread: PyNaCl and
``cryptography`` hold the GIL for only part of a verify, so a thread pool
buys little there and would add state to manage.

Selection: an explicit name, else ``HOODY_CLAIMS_BACKEND``, else the best
available (native, then pynacl, then cryptography).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, Protocol

from . import encoding, strict_json
from .ed25519 import verify_cryptography, verify_pynacl

__all__ = [
    "BACKEND_NAMES",
    "Backend",
    "BackendUnavailable",
    "ClaimChecker",
    "backend_name",
    "get_backend",
]

BACKEND_NAMES = ("native", "pynacl", "cryptography")
ENV_VAR = "HOODY_CLAIMS_BACKEND"

VerifyFn = Callable[[bytes, bytes, bytes], bool]
VerifyPartsFn = Callable[[bytes, bytes, bytes, bytes], bool]
VerifyBatchFn = Callable[[Sequence[tuple[bytes, bytes, bytes]]], list[bool]]
PrepareClaimFn = Callable[[bytes], tuple[str, str, bytes]]
VerifyPayloadFn = Callable[[bytes, bytes, str], "dict[str, Any] | None"]


#: ``(names, payload, times or None)``: see :data:`hoody_claims.native.Checked`.
Checked = tuple[Sequence[str | None], bytes, "tuple[int, int, int | None] | None"]


class ClaimBatch(Protocol):
    """A started :attr:`Backend.check_claims_start` batch."""

    def join(self) -> None:
        """Wait for the native threads only."""

    def cancel(self) -> None:
        """Stop checking; wait for the claims in progress."""

    def take(self, at_least: int) -> list[Checked | encoding.CodecError | None]:
        """The next results in order, at least ``at_least`` (or all that are left)."""

    def wait(self) -> list[Checked | encoding.CodecError | None]:
        """Per claim, what ``check_claim`` gives (a CodecError returned, not raised)."""


@dataclass(frozen=True)
class ClaimChecker:
    """The native core's whole-claim check (SPEC section 2 steps 1-4 in one C call).

    ``pack_keys(mapping)`` gives the key table the other two take;
    ``check(data, table)`` gives a :data:`Checked`, None (bad signature) or ``general``
    (the caller's general path must decide), and raises CodecError for a malformed
    payload under a good signature; ``start(texts, table)`` does many on native threads.
    """

    pack_keys: Callable[[Mapping[str, bytes]], bytes]
    check: Callable[[bytes, bytes], Checked | None]
    start: Callable[[Sequence[bytes], bytes], ClaimBatch]
    general: Any


class BackendUnavailable(RuntimeError):
    """A backend that was asked for by name cannot be used here."""


@dataclass(frozen=True)
class Backend:
    """One backend's functions; the signatures match across backends.

    ``verify(sig, msg, pk)``, ``verify_parts(sig, prefix, body, pk)`` (over
    prefix + body) and ``verify_batch([(msg, sig, pk), ...])`` return bools
    and never raise for bad bytes; the codecs raise ``CodecError``.

    ``prepare_claim(data)``: a claim's JSON text or compact token (bytes) to
    ``(kid, payload_b64, signature)``, SPEC section 2 step 1 in one call;
    refusals are ``CodecError`` whose reason is the whole message.
    ``verify_payload(sig, pk, payload_b64)``: Ed25519 over the ASCII bytes of
    ``payload_b64``, then the decoded payload object; None when the signature
    does not verify, ``CodecError`` when it does but the payload is malformed.
    ``claim_checker`` (native only): steps 1-4 of a claim in one C call, and many
    claims on native threads; see :class:`ClaimChecker`.
    """

    name: str
    verify: VerifyFn
    verify_parts: VerifyPartsFn
    verify_batch: VerifyBatchFn
    decode_hex: Callable[[str | bytes, int], bytes]
    decode_b64: Callable[[str | bytes], bytes]
    loads_strict: Callable[..., Any]
    split_claim: Callable[[str | bytes], tuple[str, str, str]]
    decode_payload: Callable[[str | bytes], dict[str, Any]]
    prepare_claim: PrepareClaimFn
    verify_payload: VerifyPayloadFn
    #: Only the native backend has one; the others take the general path.
    claim_checker: ClaimChecker | None = None


def _sequential(verify: VerifyFn) -> VerifyBatchFn:
    def verify_batch(triples: Sequence[tuple[bytes, bytes, bytes]]) -> list[bool]:
        return [verify(sig, msg, pk) for msg, sig, pk in triples]

    return verify_batch


def _joined(verify: VerifyFn) -> VerifyPartsFn:
    def verify_parts(sig: bytes, prefix: bytes, body: bytes, pk: bytes) -> bool:
        return verify(sig, prefix + body, pk)

    return verify_parts


def _verify_then_decode(verify: VerifyFn) -> VerifyPayloadFn:
    def verify_payload(sig: bytes, pk: bytes, payload_b64: str) -> dict[str, Any] | None:
        # The bytes native.verify_payload hands to C (ASCII for any real payload).
        if not verify(sig, payload_b64.encode("utf-8", "surrogatepass"), pk):
            return None
        return strict_json.decode_payload(payload_b64)

    return verify_payload


def _python_backend(name: str, verify: VerifyFn) -> Backend:
    return Backend(
        name=name,
        verify=verify,
        verify_parts=_joined(verify),
        verify_batch=_sequential(verify),
        decode_hex=encoding.decode_hex,
        decode_b64=encoding.decode_b64,
        loads_strict=strict_json.loads_strict,
        split_claim=strict_json.split_claim,
        decode_payload=strict_json.decode_payload,
        prepare_claim=strict_json.prepare_claim,
        verify_payload=_verify_then_decode(verify),
    )


def _build(name: str) -> Backend:
    if name == "native":
        from . import native

        if not native.AVAILABLE:
            raise BackendUnavailable(
                f"the native backend cannot load: {native.LOAD_ERROR} "
                "(reinstall hoody_claims with a C compiler available, or choose "
                "HOODY_CLAIMS_BACKEND=pynacl)"
            )
        return Backend(
            name="native",
            verify=native.verify,
            verify_parts=native.verify_parts,
            verify_batch=native.verify_batch,
            decode_hex=native.decode_hex,
            decode_b64=native.decode_b64,
            loads_strict=native.loads_strict,
            split_claim=native.split_claim,
            decode_payload=native.decode_payload,
            prepare_claim=native.prepare_claim,
            verify_payload=native.verify_payload,
            claim_checker=ClaimChecker(
                native.pack_keys, native.check_claim, native.check_claims_start, native.GENERAL
            ),
        )
    if name == "pynacl":
        try:
            import nacl.bindings  # noqa: F401
        except ImportError as exc:
            raise BackendUnavailable(f"the pynacl backend needs PyNaCl: {exc}") from None
        return _python_backend("pynacl", verify_pynacl)
    if name == "cryptography":
        try:
            import cryptography.hazmat.primitives.asymmetric.ed25519  # noqa: F401
        except ImportError as exc:
            raise BackendUnavailable(
                f"the cryptography backend needs the cryptography package: {exc}"
            ) from None
        return _python_backend("cryptography", verify_cryptography)
    raise BackendUnavailable(f"unknown backend {name!r}: choose one of {', '.join(BACKEND_NAMES)}")


@cache
def _cached(name: str) -> Backend:
    return _build(name)


@lru_cache(maxsize=1)
def _best() -> Backend:
    errors = []
    for name in BACKEND_NAMES:
        try:
            return _cached(name)
        except BackendUnavailable as exc:
            errors.append(str(exc))
    raise BackendUnavailable("no Ed25519 backend is available: " + "; ".join(errors))


def get_backend(name: str | None = None) -> Backend:
    """The backend called ``name``; None reads HOODY_CLAIMS_BACKEND, else the best one.

    Raises BackendUnavailable (a RuntimeError) when the chosen backend cannot load.
    """
    if name is None:
        name = os.environ.get(ENV_VAR, "").strip() or None
    if name is None:
        return _best()
    key = name.strip().lower()
    if key not in BACKEND_NAMES:
        # Not cached: an unknown name is a configuration error to report.
        return _build(key)
    return _cached(key)


def backend_name() -> str:
    """Name of the backend :func:`get_backend` picks now ("native" when the C core is loaded)."""
    return get_backend().name
