"""Ed25519 verification through PyNaCl or ``cryptography``, both with libsodium's rules.

libsodium's ``crypto_sign_verify_detached`` refuses, before any curve work:
S >= L, a non-canonical public key A (y >= p), and A or R of small order
(encodings compared with the sign bit masked off). OpenSSL, behind
``cryptography``, accepts small-order A and R, so :func:`verify_cryptography`
refuses those itself; both then run the same cofactorless equation and agree
on every input.

:func:`is_valid_public_key` asks libsodium through PyNaCl; its pure-Python twin
(big-integer point arithmetic, a few milliseconds) serves where PyNaCl cannot load.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

__all__ = [
    "is_valid_public_key",
    "is_valid_public_key_python",
    "verify_cryptography",
    "verify_pynacl",
]

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, P - 2, P) % P
_SQRT_M1 = pow(2, (P - 1) // 4, P)
_Y_MASK = (1 << 255) - 1

# The y-coordinates of every point of order 1, 2, 4 or 8, plus the two
# non-canonical encodings (p, p + 1) of y = 0 and y = 1: the set libsodium's
# ge25519_has_small_order blocks, compared on the 255 low bits.
# tests/test_backends_differential.py recomputes the order of each.
_ORDER8_Y = 0x05FC536D880238B13933C6D305ACDFD5F098EFF289F4C345B027B2C28F95E826
_SMALL_ORDER_Y = frozenset({0, 1, P - 1, _ORDER8_Y, P - _ORDER8_Y, P, P + 1})


def _masked_y(enc: bytes) -> int:
    return int.from_bytes(enc, "little") & _Y_MASK


def has_small_order_encoding(enc: bytes) -> bool:
    """True when a 32-byte encoding is on libsodium's small-order blocklist."""
    return _masked_y(enc) in _SMALL_ORDER_Y


def _libsodium_prechecks(sig: bytes, pk: bytes) -> bool:
    if int.from_bytes(sig[32:], "little") >= L:
        return False
    if _masked_y(pk) >= P:
        return False
    return not (has_small_order_encoding(pk) or has_small_order_encoding(sig[:32]))


def verify_pynacl(sig: bytes, msg: bytes, pk: bytes) -> bool:
    """libsodium's crypto_sign_open through PyNaCl; False for anything invalid."""
    if len(sig) != 64 or len(pk) != 32:
        return False
    from nacl.bindings import crypto_sign_open
    from nacl.exceptions import CryptoError

    try:
        crypto_sign_open(bytes(sig) + bytes(msg), bytes(pk))
    except (CryptoError, ValueError, TypeError):
        return False
    return True


@lru_cache(maxsize=1)
def _cryptography() -> tuple[Any, type[Exception]]:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    return Ed25519PublicKey, InvalidSignature


def verify_cryptography(sig: bytes, msg: bytes, pk: bytes) -> bool:
    """OpenSSL's Ed25519 through ``cryptography``, after libsodium's prechecks."""
    if len(sig) != 64 or len(pk) != 32:
        return False
    if not _libsodium_prechecks(sig, pk):
        return False
    public_key_cls, invalid_signature = _cryptography()
    try:
        public_key_cls.from_public_bytes(bytes(pk)).verify(bytes(sig), bytes(msg))
    except (invalid_signature, ValueError, TypeError):
        return False
    return True


# --- pure-Python point arithmetic (extended coordinates), for key checks ---

_Point = tuple[int, int, int, int]
_IDENTITY: _Point = (0, 1, 1, 0)


def decode_point(enc: bytes) -> tuple[int, int] | None:
    """Affine (x, y) of a canonical encoding, or None if it is not a curve point."""
    if len(enc) != 32:
        return None
    y = _masked_y(enc)
    sign = enc[31] >> 7
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, P - 2, P) % P
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * _SQRT_M1 % P
    if (x * x - x2) % P:
        return None
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = P - x
    return x, y


def _add(a: _Point, b: _Point) -> _Point:
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    pa = (y1 - x1) * (y2 - x2) % P
    pb = (y1 + x1) * (y2 + x2) % P
    pc = 2 * _D * t1 * t2 % P
    pd = 2 * z1 * z2 % P
    e, f, g, h = pb - pa, pd - pc, pd + pc, pb + pa
    return e * f % P, g * h % P, f * g % P, e * h % P


def _mul(k: int, pt: _Point) -> _Point:
    acc = _IDENTITY
    while k:
        if k & 1:
            acc = _add(acc, pt)
        pt = _add(pt, pt)
        k >>= 1
    return acc


def _is_identity(pt: _Point) -> bool:
    x, y, z, _ = pt
    return x % P == 0 and (y - z) % P == 0


def is_valid_public_key(pk: bytes) -> bool:
    """Usable as an Ed25519 public key: libsodium's crypto_core_ed25519_is_valid_point.

    Uses libsodium's own function through PyNaCl (microseconds); the pure-Python
    :func:`is_valid_public_key_python` (milliseconds, holding the GIL) only where
    PyNaCl cannot load.
    """
    if len(pk) != 32:
        return False
    check = _sodium_is_valid_point()
    return bool(check(pk)) if check is not None else is_valid_public_key_python(pk)


@lru_cache(maxsize=1)
def _sodium_is_valid_point() -> Any:
    try:
        from nacl.bindings import crypto_core_ed25519_is_valid_point
    except ImportError:
        return None
    return crypto_core_ed25519_is_valid_point


def is_valid_public_key_python(pk: bytes) -> bool:
    """Pure Python twin of libsodium's crypto_core_ed25519_is_valid_point.

    32 bytes, canonical (y < p), not on the small-order blocklist, a point of
    the curve, and in the prime-order subgroup (L * A is the identity), which
    a key made by any Ed25519 key generator always is.
    """
    if len(pk) != 32:
        return False
    if _masked_y(pk) >= P or has_small_order_encoding(pk):
        return False
    affine = decode_point(pk)
    if affine is None:
        return False
    x, y = affine
    return _is_identity(_mul(L, (x, y, 1, x * y % P)))
