"""Every failure the library reports: one base class, one subclass per SPEC code.

Each error carries a stable ``code`` (for logs and API bodies) and the HTTP
``status`` a gate should answer with. Messages never echo a whole claim or key.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "ERRORS_BY_CODE",
    "ClaimExpired",
    "ClaimNotYetValid",
    "HoodyClaimsError",
    "InvalidKeyDocument",
    "InvalidSignature",
    "KeyFetchFailed",
    "MalformedClaim",
    "MalformedSignatureHeader",
    "PolicyDenied",
    "SignatureMismatch",
    "StaleSignature",
    "UnknownKey",
    "WrongAudience",
    "WrongClaimType",
    "WrongContainer",
    "WrongProject",
]


class HoodyClaimsError(Exception):
    """Base of every error raised by hoody_claims."""

    code: ClassVar[str] = "HOODY_CLAIMS_ERROR"
    status: ClassVar[int] = 401

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __reduce__(self) -> tuple[type[HoodyClaimsError], tuple[str]]:
        return (type(self), (self.message,))


class MalformedClaim(HoodyClaimsError):
    """The claim's size, shape or payload is not what Hoody issues (SPEC §2 steps 1, 4)."""

    code = "MALFORMED_CLAIM"


class UnknownKey(HoodyClaimsError):
    """No key with the claim's kid, even after a refresh."""

    code = "UNKNOWN_KEY"


class InvalidSignature(HoodyClaimsError):
    """The Ed25519 signature does not verify."""

    code = "INVALID_SIGNATURE"


class ClaimExpired(HoodyClaimsError):
    """``now >= exp + leeway`` (RFC 7519: not accepted on or after ``exp``)."""

    code = "CLAIM_EXPIRED"


class ClaimNotYetValid(HoodyClaimsError):
    """``iat`` or ``nbf`` lies beyond ``now + leeway``."""

    code = "CLAIM_NOT_YET_VALID"


class WrongClaimType(HoodyClaimsError):
    """An identity claim where a container claim was expected, or the reverse."""

    code = "WRONG_CLAIM_TYPE"
    status = 403


class WrongContainer(HoodyClaimsError):
    """The claim is for another container."""

    code = "WRONG_CONTAINER"
    status = 403


class WrongProject(HoodyClaimsError):
    """The claim is for another project."""

    code = "WRONG_PROJECT"
    status = 403


class WrongAudience(HoodyClaimsError):
    """The identity claim is for another audience."""

    code = "WRONG_AUDIENCE"
    status = 403


class PolicyDenied(HoodyClaimsError):
    """The claim is genuine but the configured policy does not admit its holder."""

    code = "POLICY_DENIED"
    status = 403


class MalformedSignatureHeader(HoodyClaimsError):
    """``X-Hoody-Signature`` cannot be parsed (SPEC §3)."""

    code = "MALFORMED_SIGNATURE_HEADER"


class SignatureMismatch(HoodyClaimsError):
    """The signed path, method or status differs from the actual request/response."""

    code = "SIGNATURE_MISMATCH"


class StaleSignature(HoodyClaimsError):
    """The response signature's timestamp is outside the allowed skew."""

    code = "STALE_SIGNATURE"


class InvalidKeyDocument(HoodyClaimsError):
    """The key document was refused (SPEC §1)."""

    code = "INVALID_KEY_DOCUMENT"
    status = 503


class KeyFetchFailed(HoodyClaimsError):
    """No usable key set could be had."""

    code = "KEY_FETCH_FAILED"
    status = 503


ERRORS_BY_CODE: dict[str, type[HoodyClaimsError]] = {
    cls.code: cls
    for cls in (
        MalformedClaim,
        UnknownKey,
        InvalidSignature,
        ClaimExpired,
        ClaimNotYetValid,
        WrongClaimType,
        WrongContainer,
        WrongProject,
        WrongAudience,
        PolicyDenied,
        MalformedSignatureHeader,
        SignatureMismatch,
        StaleSignature,
        InvalidKeyDocument,
        KeyFetchFailed,
    )
}
