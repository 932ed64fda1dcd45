"""Verify Hoody's Ed25519-signed credentials offline.

    import hoody_claims as hc
    verifier = hc.ClaimVerifier(hc.KeyStore(), container_id="0123456789abcdef01234567")
    claim = verifier.verify(token)          # -> hc.Claim, or raises hc.HoodyClaimsError

See SPEC §4 for the public names; every failure is a ``HoodyClaimsError`` with ``.code``
and ``.status``.
"""

from __future__ import annotations

from .backends import backend_name as backend
from .claim import Claim
from .claim_parse import to_compact
from .claim_rules import ANY_CONTAINER, Policy
from .errors import (
    ClaimExpired,
    ClaimNotYetValid,
    HoodyClaimsError,
    InvalidKeyDocument,
    InvalidSignature,
    KeyFetchFailed,
    MalformedClaim,
    MalformedSignatureHeader,
    PolicyDenied,
    SignatureMismatch,
    StaleSignature,
    UnknownKey,
    WrongAudience,
    WrongClaimType,
    WrongContainer,
    WrongProject,
)
from .key_document import KeySet
from .keystore import KeyStore
from .response import verify_response
from .signature_header import SignatureHeader, parse_signature_header
from .verifier import ClaimVerifier, IdentityVerifier

__version__ = "0.1.0"

__all__ = [
    "ANY_CONTAINER",
    "Claim",
    "ClaimExpired",
    "ClaimNotYetValid",
    "ClaimVerifier",
    "HoodyClaimsError",
    "IdentityVerifier",
    "InvalidKeyDocument",
    "InvalidSignature",
    "KeyFetchFailed",
    "KeySet",
    "KeyStore",
    "MalformedClaim",
    "MalformedSignatureHeader",
    "Policy",
    "PolicyDenied",
    "SignatureHeader",
    "SignatureMismatch",
    "StaleSignature",
    "UnknownKey",
    "WrongAudience",
    "WrongClaimType",
    "WrongContainer",
    "WrongProject",
    "backend",
    "parse_signature_header",
    "to_compact",
    "verify_response",
]
