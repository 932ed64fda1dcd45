"""The compiled C core (``hoody_claims._hoody_core``) behind thin typed wrappers.

At import the core is handed the address of libsodium's
``crypto_sign_verify_detached``: first from the libsodium that PyNaCl's wheel
bundles (``nacl/_sodium*.so`` exports it although PyNaCl does not wrap it),
else from a system libsodium found by :func:`ctypes.util.find_library`. A
known-answer self test then guards against a wrong symbol. If anything fails,
``AVAILABLE`` is False and ``LOAD_ERROR`` says why; the wrappers must not be
called then.

The wrappers have the same signatures and errors as the pure-Python ones in
:mod:`hoody_claims.encoding`, :mod:`hoody_claims.strict_json` and
:mod:`hoody_claims.ed25519`. cffi releases the GIL around every call.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import struct
import sys
from collections.abc import Mapping, Sequence
from itertools import accumulate
from operator import itemgetter
from typing import Any

from .encoding import E_HEX_LENGTH, CodecError, reason_for_code
from .strict_json import (
    DEFAULT_MAX_DEPTH,
    MAX_CLAIM_TEXT,
    MAX_COMPACT,
    MAX_PAYLOAD_B64,
    REASON_CLAIM_TOO_LARGE,
    REASON_PAYLOAD_NOT_BASE64,
    REASON_PAYLOAD_TOO_LARGE,
    REASON_SIGNATURE_HEX,
    finish_claim_field,
    finish_claim_parts,
    finish_payload,
    loads_checked,
    payload_b64_too_large,
    reason_not_claim_object,
    reason_not_compact,
)

__all__ = [
    "AVAILABLE",
    "GENERAL",
    "LOAD_ERROR",
    "SODIUM_SOURCE",
    "Checked",
    "ClaimBatch",
    "check_claim",
    "check_claims_start",
    "decode_b64",
    "decode_hex",
    "decode_payload",
    "loads_strict",
    "pack_keys",
    "prepare_claim",
    "split_claim",
    "verify",
    "verify_batch",
    "verify_parts",
    "verify_payload",
]

_ffi: Any = None
_lib: Any = None

# RFC 8032 section 7.1, test 2 (one-byte message): the self test that proves
# the address really is crypto_sign_verify_detached.
_KAT_PK = bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
_KAT_MSG = b"\x72"
_KAT_SIG = bytes.fromhex(
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
    "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
)


def _sodium_address() -> tuple[int, str]:
    """Address of crypto_sign_verify_detached and where it came from."""
    errors: list[str] = []
    try:
        import nacl._sodium as sodium_module
        import nacl.bindings  # noqa: F401  (its import runs sodium_init)

        path = sodium_module.__file__
        if path is None:
            raise OSError("nacl._sodium has no file")
        dll = ctypes.CDLL(path)
        address = ctypes.cast(dll.crypto_sign_verify_detached, ctypes.c_void_p).value
        if address:
            return address, path
        errors.append("PyNaCl's libsodium: symbol has no address")
    except (ImportError, OSError, AttributeError) as exc:
        errors.append(f"PyNaCl's libsodium: {exc}")
    name = ctypes.util.find_library("sodium")
    if name is None:
        errors.append("no system libsodium")
    else:
        try:
            dll = ctypes.CDLL(name)
            if dll.sodium_init() < 0:
                raise OSError("sodium_init failed")
            address = ctypes.cast(dll.crypto_sign_verify_detached, ctypes.c_void_p).value
            if address:
                return address, name
            errors.append(f"{name}: symbol has no address")
        except (OSError, AttributeError) as exc:
            errors.append(f"{name}: {exc}")
    raise OSError("; ".join(errors))


def _load() -> tuple[Any, Any, str]:
    from ._hoody_core import ffi, lib

    address, source = _sodium_address()
    rc = lib.hc_init(ffi.cast("hc_verify_fn", address))
    if rc != lib.HC_OK:
        raise OSError(f"hc_init refused the verify function (code {rc})")
    good = lib.hc_verify(_KAT_SIG, _KAT_MSG, 1, _KAT_PK)
    bad = lib.hc_verify(_KAT_SIG, b"\x73", 1, _KAT_PK)
    if good != 1 or bad != 0:
        raise OSError(f"the verify function from {source} failed its self test")
    return ffi, lib, source


try:
    _ffi, _lib, SODIUM_SOURCE = _load()
    AVAILABLE = True
    LOAD_ERROR: str | None = None
except Exception as exc:  # any failure only means "use another backend"
    AVAILABLE = False
    LOAD_ERROR = f"{type(exc).__name__}: {exc}"
    SODIUM_SOURCE = ""

# The hot wrappers below run a few times per claim next to a ~70 us verify:
# C functions and cdata types are bound once here (immutable references), so
# a call costs no attribute lookups or C type parsing.
if AVAILABLE:
    _new = _ffi.new
    _unpack = _ffi.unpack
    _UCHARS = _ffi.typeof("unsigned char[]")
    _CHARS = _ffi.typeof("char[]")
    _SIZE_P = _ffi.typeof("size_t *")
    _SIZES9 = _ffi.typeof("size_t[9]")
    _PARTS_P = _ffi.typeof("hc_claim_parts *")
    _cast = _ffi.cast
    _hc_verify = _lib.hc_verify
    _hc_verify_parts = _lib.hc_verify_parts
    _hc_verify_batch = _lib.hc_verify_batch
    _hc_hex_decode = _lib.hc_hex_decode
    _hc_b64_decode = _lib.hc_b64_decode
    _hc_json_check = _lib.hc_json_check
    _hc_claim_split = _lib.hc_claim_split
    _hc_payload_decode = _lib.hc_payload_decode
    _hc_claim_prepare = _lib.hc_claim_prepare
    _hc_verify_payload = _lib.hc_verify_payload
    _hc_batch_wait = _lib.hc_batch_wait
    _hc_batch_ready = _lib.hc_batch_ready
    _hc_batch_cancel = _lib.hc_batch_cancel
    _hc_batch_free = _lib.hc_batch_free
    _hc_batch_status = _lib.hc_batch_status
    _hc_batch_blocks = _lib.hc_batch_blocks
    _SIZES = _ffi.typeof("size_t[]")
    _NULL = _ffi.NULL
    _E_NOMEM = _lib.HC_E_NOMEM
    _E_OUTPUT_SPACE = _lib.HC_E_OUTPUT_SPACE
    _E_B64_FIRST = _lib.HC_E_B64_CHAR
    _E_B64_LAST = _lib.HC_E_B64_PAD_BITS
    _E_SIGNATURE_HEX = _lib.HC_E_SIGNATURE_HEX
    _E_SIGNATURE_INVALID = _lib.HC_E_SIGNATURE_INVALID
    _DEPTH_LIMIT = _lib.HC_JSON_DEPTH_LIMIT
    if _ffi.sizeof("hc_claim_parts") != 9 * _ffi.sizeof("size_t"):
        raise ImportError("hc_claim_parts is not laid out as size_t[9]")
    # hc_prepared is read from one bytes copy: size_t[11], then sig[64].
    _PREP_P = _ffi.typeof("hc_prepared *")
    _PREP_SIZE = _ffi.sizeof("hc_prepared")
    _PREP_FIELDS = struct.Struct("@11N")
    _SIG_AT = _ffi.offsetof("hc_prepared", "sig")
    if _PREP_FIELDS.size != _SIG_AT or _PREP_SIZE != _SIG_AT + 64:
        raise ImportError("hc_prepared is not laid out as size_t[11] + 64 bytes")
    _SIG_END = _SIG_AT + 64
    # hc_checked is read the same way: int64_t[12] at the start of the block.
    _hc_claim_check = _lib.hc_claim_check
    _hc_claims_start = _lib.hc_claims_start
    _CHECKED = struct.Struct("@12q")
    if _CHECKED.size != _ffi.sizeof("hc_checked"):
        raise ImportError("hc_checked is not laid out as int64_t[12]")
    _CHECKED_OK = struct.Struct("@8x11q")  # what a success reads: all but payload_rc
    _BLOCK_EXTRA = _lib.HC_CHECK_BLOCK_EXTRA
    _OK = _lib.HC_OK
    _E_GENERAL = _lib.HC_E_GENERAL
    _E_PAYLOAD = _lib.HC_E_PAYLOAD


def _fail(code: int) -> CodecError:
    if code == _E_NOMEM:
        raise MemoryError("hoody_claims native core: out of memory")
    return CodecError(reason_for_code(code))


def _as_bytes(text: str | bytes | bytearray | memoryview) -> bytes:
    if type(text) is bytes:
        return text
    if isinstance(text, str):
        # surrogatepass keeps a lone surrogate as bytes the decoders refuse,
        # rather than raising a different error than the Python codecs.
        return text.encode("utf-8", "surrogatepass")
    return bytes(text)


def verify(sig: bytes, msg: bytes, pk: bytes) -> bool:
    """Ed25519 (libsodium rules) over ``msg``; False for any bad input."""
    if len(sig) != 64 or len(pk) != 32:
        return False
    return bool(_hc_verify(sig, msg, len(msg), pk) == 1)


def verify_parts(sig: bytes, prefix: bytes, body: bytes, pk: bytes) -> bool:
    """Ed25519 over ``prefix + body``, joined in C without the GIL."""
    if len(sig) != 64 or len(pk) != 32:
        return False
    rc = _hc_verify_parts(sig, prefix, len(prefix), body, len(body), pk)
    if rc < 0:
        raise MemoryError("hoody_claims native core: out of memory")
    return bool(rc == 1)


def verify_batch(
    triples: Sequence[tuple[bytes, bytes, bytes]], threads: int | None = None
) -> list[bool]:
    """Verify many ``(msg, sig, pk)`` triples in one C call, one thread per core.

    ``threads`` caps the threads used (None: one per online CPU). Triples whose
    signature or key has the wrong length are False without reaching C.
    """
    n = len(triples)
    if n == 0:
        return []
    keep = [i for i, (_, s, k) in enumerate(triples) if len(s) == 64 and len(k) == 32]
    out = [False] * n
    if not keep:
        return out
    msgs = [bytes(triples[i][0]) for i in keep]
    offsets = [0] * (len(keep) + 1)
    pos = 0
    for j, m in enumerate(msgs):
        pos += len(m)
        offsets[j + 1] = pos
    blob = b"".join(msgs)
    sigs = b"".join(bytes(triples[i][1]) for i in keep)
    pks = b"".join(bytes(triples[i][2]) for i in keep)
    results = _new(_UCHARS, len(keep))
    rc = _hc_verify_batch(
        len(keep),
        blob,
        len(blob),
        _new("size_t[]", offsets),
        sigs,
        pks,
        results,
        0 if threads is None else max(1, threads),
    )
    if rc != 0:
        raise RuntimeError(f"hoody_claims native core: batch verify failed (code {rc})")
    for j, ok in enumerate(_unpack(results, len(keep))):
        out[keep[j]] = ok == 1
    return out


def decode_hex(text: str | bytes, nbytes: int) -> bytes:
    """Exactly ``2 * nbytes`` hex digits, either case, nothing else."""
    data = _as_bytes(text)
    if nbytes < 0 or len(data) != 2 * nbytes:
        raise _fail(E_HEX_LENGTH)
    out = _new(_CHARS, nbytes or 1)
    rc = _hc_hex_decode(data, len(data), out, nbytes)
    if rc:
        raise _fail(rc)
    return _unpack(out, nbytes)  # type: ignore[no-any-return]


def decode_b64(text: str | bytes) -> bytes:
    """Strict base64 (SPEC section 2 step 4), standard or url-safe alphabet."""
    data = _as_bytes(text)
    cap = len(data) // 4 * 3 + 3
    out = _new(_CHARS, cap)
    outlen = _new(_SIZE_P)
    rc = _hc_b64_decode(data, len(data), out, cap, outlen)
    if rc:
        raise _fail(rc)
    return _unpack(out, outlen[0])  # type: ignore[no-any-return]


def loads_strict(data: str | bytes, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """Strict JSON, checked in C then parsed by :func:`json.loads`."""
    raw = _as_bytes(data)
    if not 0 <= max_depth <= _DEPTH_LIMIT:
        raise ValueError(f"max_depth must be between 0 and {_DEPTH_LIMIT}")
    rc = _hc_json_check(raw, len(raw), max_depth)
    if rc:
        raise _fail(rc)
    return loads_checked(raw.decode("utf-8"))


def split_claim(text: str | bytes) -> tuple[str, str, str]:
    """``(kid, payload_b64, signature_hex)`` of a claim object's JSON text."""
    raw = _as_bytes(text)
    spans = _new(_SIZES9)
    rc = _hc_claim_split(raw, len(raw), _cast(_PARTS_P, spans))
    if rc:
        raise _fail(rc)
    k_off, k_len, k_esc, p_off, p_len, p_esc, s_off, s_len, s_esc = _unpack(spans, 9)
    return (
        _field(raw, k_off, k_len, k_esc),
        _field(raw, p_off, p_len, p_esc),
        _field(raw, s_off, s_len, s_esc),
    )


def _field(raw: bytes, off: int, length: int, escaped: int) -> str:
    end = off + length
    if escaped:
        return finish_claim_field(raw[off - 1 : end + 1])
    return raw[off:end].decode("utf-8")


def decode_payload(payload_b64: str | bytes) -> dict[str, Any]:
    """Decode a claim payload: strict base64 of strict JSON that is an object."""
    data = _as_bytes(payload_b64)
    cap = len(data) // 4 * 3 + 3
    out = _new(_CHARS, cap)
    outlen = _new(_SIZE_P)
    rc = _hc_payload_decode(data, len(data), out, cap, outlen, DEFAULT_MAX_DEPTH)
    if rc:
        raise _fail(rc)
    return finish_payload(_unpack(out, outlen[0]).decode("utf-8"))


def prepare_claim(data: bytes) -> tuple[str, str, bytes]:
    """``(kid, payload_b64, signature)`` of a claim's JSON text or compact token.

    The same checks, order and refusals as :func:`strict_json.prepare_claim`
    (CodecError whose reason is the whole message), in one C call:
    hc_claim_prepare decodes the compact form, splits the claim object and
    decodes signature_hex. Fields holding a JSON escape (rare) are finished
    in Python.
    """
    n = len(data)
    if data[:1] == b"{":
        if n > MAX_CLAIM_TEXT:
            raise CodecError(REASON_CLAIM_TOO_LARGE)
        cap = 0
    else:
        if n > MAX_COMPACT:
            raise CodecError(REASON_CLAIM_TOO_LARGE)
        # Enough for any strict decode of n characters, but never above the
        # text limit: a longer text is HC_E_OUTPUT_SPACE, after any base64 fault.
        cap = min(n // 4 * 3 + 3, MAX_CLAIM_TEXT)
    # One block: hc_prepared, then the scratch for the decoded compact form.
    block = _new(_CHARS, _PREP_SIZE + cap)
    rc = _hc_claim_prepare(data, n, block + _PREP_SIZE, cap, _cast(_PREP_P, block))
    if rc and rc != _E_SIGNATURE_HEX:
        raise _prepare_fail(rc)
    if cap:
        buf = _unpack(block, _PREP_SIZE + cap)
        base = _PREP_SIZE
    else:
        buf = _unpack(block, _PREP_SIZE)
        base = 0
    k_off, k_len, k_esc, p_off, p_len, p_esc, s_off, s_len, s_esc, _, t_len = (
        _PREP_FIELDS.unpack_from(buf)
    )
    text = buf if cap else data
    if k_esc or p_esc or s_esc:
        text = text[base : base + t_len]
        return finish_claim_parts(
            _field(text, k_off, k_len, k_esc),
            _field(text, p_off, p_len, p_esc),
            _field(text, s_off, s_len, s_esc),
        )
    k_off += base
    p_off += base
    payload = text[p_off : p_off + p_len]
    if not payload.isascii():
        chars = len(payload.decode("utf-8"))
        raise CodecError(
            REASON_PAYLOAD_TOO_LARGE if chars > MAX_PAYLOAD_B64 else REASON_PAYLOAD_NOT_BASE64
        )
    if payload_b64_too_large(payload):
        raise CodecError(REASON_PAYLOAD_TOO_LARGE)
    if rc:
        raise CodecError(REASON_SIGNATURE_HEX)
    return (
        text[k_off : k_off + k_len].decode("utf-8"),
        payload.decode("ascii"),
        buf[_SIG_AT:_SIG_END],
    )


def _prepare_fail(code: int) -> Exception:
    if code == _E_OUTPUT_SPACE:
        return CodecError(REASON_CLAIM_TOO_LARGE)
    if code == _E_NOMEM:
        return MemoryError("hoody_claims native core: out of memory")
    if _E_B64_FIRST <= code <= _E_B64_LAST:
        return CodecError(reason_not_compact(reason_for_code(code)))
    return CodecError(reason_not_claim_object(reason_for_code(code)))


def verify_payload(sig: bytes, pk: bytes, payload_b64: str) -> dict[str, Any] | None:
    """Ed25519 over the ASCII bytes of ``payload_b64`` (the default signed data),
    then, only if it verifies, the decoded payload object.

    None: the signature does not verify (or sig / pk have the wrong length).
    CodecError (as :func:`decode_payload`): it verifies but the payload is malformed.
    """
    if len(sig) != 64 or len(pk) != 32:
        return None
    data = payload_b64.encode("utf-8", "surrogatepass")
    cap = len(data) // 4 * 3 + 3
    out = _new(_CHARS, cap)
    outlen = _new(_SIZE_P)
    rc = _hc_verify_payload(sig, pk, data, len(data), out, cap, outlen, DEFAULT_MAX_DEPTH)
    if rc:
        if rc == _E_SIGNATURE_INVALID:
            return None
        raise _fail(rc)
    return finish_payload(_unpack(out, outlen[0]).decode("utf-8"))


# -- the whole check of a claim (hc_claim_check) ---------------------------------------------

#: What :func:`check_claim` returns when the general path must decide (see hc_claim_check).
GENERAL: Any = object()
_KEY_ENTRY = struct.Struct("=I")
#: For each hc_checked.absent bit mask (bit j: the (j + 1)-th name is absent or null), what
#: picks the seven names out of the split names with a None appended (index 7) in their place.
_WITH_ABSENT = tuple(
    itemgetter(0, *(7 if mask >> j & 1 else j + 1 for j in range(6))) for mask in range(64)
)

#: ``(names, payload, times)``: names is ``(kid, claim_type, sub, type, container_id,
#: project_id, aud)`` (None for an absent or null member) and times ``(iat, exp, nbf)``; or,
#: when the payload needs a full parse, ``(kid,)`` and None. payload is its JSON text (UTF-8).
Checked = tuple[Sequence[str | None], bytes, "tuple[int, int, int | None] | None"]


def pack_keys(keys: Mapping[str, bytes]) -> bytes:
    """A key set in hc_claim_check's ring layout (keys that are not 32 bytes are left out:
    a claim naming one takes the general path, which refuses it)."""
    parts: list[bytes] = []
    for kid, key in keys.items():
        name = kid.encode("utf-8", "surrogatepass")
        if len(key) == 32 and len(name) < 1 << 32:
            parts += (_KEY_ENTRY.pack(len(name)), name, bytes(key))
    return b"".join(parts)


def _checked(rc: int, buf: bytes, at: int) -> Checked | CodecError | None:
    """The result of the hc_claim_check whose block starts at ``at`` in buf."""
    if rc == _OK:
        plain, n_off, n_len, absent, p_off, p_len, iat, exp, nbf, has_nbf, longest = (
            _CHECKED_OK.unpack_from(buf, at)
        )
        n_off += at
        p_off += at
        names: list[str | None] = buf[n_off : n_off + n_len].decode("utf-8").split('"')  # type: ignore[assignment]
        payload = buf[p_off : p_off + p_len]
        # json.loads decides a number past Python's integer-length limit now (the app may
        # have lowered it), so a payload it refuses is refused by verify, never later by
        # Claim.payload.
        if plain and (longest < _LOWEST_INT_DIGITS_LIMIT or longest < _int_digits_limit()):
            names.append(None)
            return _WITH_ABSENT[absent](names), payload, (iat, exp, nbf if has_nbf else None)
        return (names[0],), payload, None
    if rc == _E_SIGNATURE_INVALID:
        return None
    if rc == _E_PAYLOAD:
        return _fail(_CHECKED.unpack_from(buf, at)[0])
    if rc == _E_GENERAL:
        return GENERAL  # type: ignore[no-any-return]
    raise MemoryError("hoody_claims native core: out of memory") if rc == _E_NOMEM else (
        RuntimeError(f"hoody_claims native core: claim check failed (code {rc})")
    )


#: sys.set_int_max_str_digits refuses limits below this (0 means no limit).
_LOWEST_INT_DIGITS_LIMIT = 640


def _int_digits_limit() -> int:
    limit: int = getattr(sys, "get_int_max_str_digits", lambda: 0)()
    return limit if limit > 0 else 1 << 62


def check_claim(data: bytes, ring: bytes) -> Checked | None:
    """SPEC section 2 steps 1-4 of a claim's text (JSON or compact) in one C call.

    ``ring`` is :func:`pack_keys` of the key set. Returns the :data:`Checked` result, None
    when the signature does not verify, or :data:`GENERAL` when the general path must
    decide (a malformed claim, an unknown kid, an escape in the claim's own fields);
    raises CodecError when the signature verifies but the payload is malformed.
    """
    n = len(data)
    if n > MAX_CLAIM_TEXT:
        return GENERAL  # type: ignore[no-any-return]
    size = 3 * n + _BLOCK_EXTRA
    block = _new(_CHARS, size)
    rc = _hc_claim_check(data, n, ring, len(ring), block, size, DEFAULT_MAX_DEPTH)
    result = _checked(rc, _unpack(block, size), 0)
    if type(result) is CodecError:
        raise result
    return result  # type: ignore[return-value]


def _batch_error(rc: int) -> Exception:
    if rc == _E_NOMEM:
        return MemoryError("hoody_claims native core: out of memory")
    return RuntimeError(f"hoody_claims native core: batch check failed (code {rc})")


class ClaimBatch:
    """A running :func:`check_claims_start` batch: :meth:`take` its results in order as
    they are done, or :meth:`wait` for all of them.

    A batch belongs to the thread that started it: its methods are not to be called from
    two threads at once (verify_many keeps each batch to itself). The native batch owns
    every buffer its threads touch and is freed when this object goes, so an exception
    landing anywhere (a Ctrl-C between two lines) can at worst leak it."""

    __slots__ = (
        "_block_offsets", "_blocks", "_cancelled", "_handle", "_n", "_rc", "_ready",
        "_result", "_status", "_taken",
    )

    def __init__(self, handle: Any, n: int, block_offsets: list[int]) -> None:
        self._handle = handle
        self._n = n
        self._rc = 0
        self._block_offsets = block_offsets
        self._status = _hc_batch_status(handle)
        self._blocks = _hc_batch_blocks(handle)
        self._result: list[Checked | CodecError | None] | None = None
        self._taken = 0
        self._ready = _new(_SIZE_P)
        self._cancelled = False

    def join(self) -> None:
        """Wait for the native threads only (this thread works on what is left)."""
        self._rc = _hc_batch_wait(self._handle)

    def cancel(self) -> None:
        """Stop: claims not yet started are never checked; wait for those in progress.
        :meth:`take` and :meth:`wait` then raise RuntimeError."""
        self._cancelled = True
        _hc_batch_cancel(self._handle)
        self.join()

    def take(self, at_least: int) -> list[Checked | CodecError | None]:
        """The results after those already taken, in order: at least ``at_least`` of them
        (or all that are left), and any others already done. While the next is not done,
        this thread checks claims too."""
        if self._cancelled:
            raise RuntimeError("the batch was cancelled")
        lo = self._taken
        if lo >= self._n:
            return []
        ready = self._ready
        rc = _hc_batch_ready(self._handle, lo + max(at_least, 1), ready)
        if rc:
            self.join()
            raise _batch_error(rc)
        hi = ready[0]
        self._taken = hi
        return self._results(lo, hi)

    def wait(self) -> list[Checked | CodecError | None]:
        """Per claim, what :func:`check_claim` gives (a CodecError returned, not raised)."""
        if self._cancelled:
            raise RuntimeError("the batch was cancelled")
        if self._result is None:
            self.join()
            if self._rc:
                raise _batch_error(self._rc)
            self._result = self._results(0, self._n)
        return self._result

    def _results(self, lo: int, hi: int) -> list[Checked | CodecError | None]:
        if lo >= hi:
            return []
        block_offsets = self._block_offsets
        base = block_offsets[lo]
        # One copy of the done items' blocks; each item reads its own part of it.
        blocks = _unpack(self._blocks + base, block_offsets[hi] - base)
        return [
            _checked(code, blocks, block_offsets[j] - base)
            for j, code in enumerate(_unpack(self._status + lo, hi - lo), lo)
        ]

    def __del__(self) -> None:
        # Unfinished (an exception left its caller) or not: nobody reads it any more.
        handle = getattr(self, "_handle", None)
        if handle is not None:
            self._handle = None
            _hc_batch_free(handle)


def check_claims_start(
    texts: Sequence[bytes], ring: bytes, threads: int | None = None
) -> ClaimBatch:
    """:func:`check_claim` of many claim texts on native threads; returns at once.

    ``threads`` new threads (None: one fewer than the CPUs, since this thread works too
    while it waits in :meth:`ClaimBatch.take` or :meth:`ClaimBatch.wait`). A text longer
    than the claim limit is sent empty (the general path decides it).
    """
    n = len(texts)
    sent = [t if len(t) <= MAX_CLAIM_TEXT else b"" for t in texts]
    offsets = [0, *accumulate(map(len, sent))]
    # Block j holds 3 * len + the extra bytes for each text before it.
    block_offsets = [3 * off + _BLOCK_EXTRA * j for j, off in enumerate(offsets)]
    blob = b"".join(sent)
    handle = _hc_claims_start(
        n, blob, len(blob), _new(_SIZES, offsets), ring, len(ring), _new(_SIZES, block_offsets),
        DEFAULT_MAX_DEPTH, -1 if threads is None else max(1, threads),
    )
    if handle == _NULL:
        raise MemoryError("hoody_claims native core: out of memory")
    return ClaimBatch(handle, n, block_offsets)
