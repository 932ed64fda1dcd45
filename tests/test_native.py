"""The C core itself: loading, the status-code table, verify entry points, batch
threading, worst-case speed of the JSON checker, and backend selection."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from itertools import accumulate
from pathlib import Path

import nacl.bindings
import pytest
from nacl.signing import SigningKey

from hoody_claims import encoding, native, strict_json
from hoody_claims.testing import Issuer
from hoody_claims.backends import BACKEND_NAMES, BackendUnavailable, backend_name, get_backend

from .conftest import CID


def _lib():  # type: ignore[no-untyped-def]
    from hoody_claims._hoody_core import ffi, lib

    return ffi, lib


def _signed(n: int, size: int = 40) -> list[tuple[bytes, bytes, bytes]]:
    out = []
    for i in range(n):
        key = SigningKey(bytes([i % 256, i // 256]) + bytes(30))
        msg = os.urandom(size + i % 7)
        out.append((msg, key.sign(msg).signature, bytes(key.verify_key)))
    return out


def test_native_loads_here() -> None:
    assert native.AVAILABLE, native.LOAD_ERROR
    assert native.LOAD_ERROR is None
    assert "sodium" in native.SODIUM_SOURCE


def test_status_codes_match_header() -> None:
    _, lib = _lib()
    names = [n for n in dir(encoding) if n.startswith("E_")]
    assert len(names) == len(encoding.REASONS)
    for name in names:
        assert getattr(lib, "HC_" + name) == getattr(encoding, name), name
    assert lib.HC_OK == 0
    assert len(set(encoding.REASONS.values())) == len(encoding.REASONS)


def test_hc_init_is_set_once() -> None:
    ffi, lib = _lib()
    assert lib.hc_init(ffi.NULL) == lib.HC_E_ARG
    other = ffi.cast("hc_verify_fn", ffi.addressof(lib, "hc_verify"))
    assert lib.hc_init(other) == lib.HC_E_STATE
    msg, sig, pk = _signed(1)[0]
    assert native.verify(sig, msg, pk)


def test_verify_wrong_lengths_are_false_not_errors() -> None:
    msg, sig, pk = _signed(1)[0]
    assert native.verify(sig, msg, pk)
    assert not native.verify(sig[:63], msg, pk)
    assert not native.verify(sig + b"\0", msg, pk)
    assert not native.verify(sig, msg, pk[:31])
    assert not native.verify_parts(sig, b"", msg, pk[:31])
    assert native.verify_batch([(msg, sig[:10], pk), (msg, sig, pk)]) == [False, True]


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 4097, 65536, 1 << 20])
def test_verify_parts_sizes(size: int) -> None:
    key = SigningKey.generate()
    pk = bytes(key.verify_key)
    msg = os.urandom(size)
    sig = key.sign(msg).signature
    for cut in {0, size // 3, size}:
        assert native.verify_parts(sig, msg[:cut], msg[cut:], pk)
    if size:
        bad = bytes([msg[0] ^ 1]) + msg[1:]
        assert not native.verify_parts(sig, bad[:1], bad[1:], pk)


def test_batch_mixed_matches_single() -> None:
    triples = _signed(50)
    mixed = []
    for i, (msg, sig, pk) in enumerate(triples):
        if i % 3 == 1:
            msg = msg + b"x"
        elif i % 5 == 2:
            sig = sig[:5] + bytes([sig[5] ^ 0x10]) + sig[6:]
        mixed.append((msg, sig, pk))
    mixed.append((b"", _signed(1)[0][1], _signed(1)[0][2]))
    expected = [nacl_ok(m, s, k) for m, s, k in mixed]
    assert True in expected and False in expected
    for threads in (None, 1, 2, 3, 64, 1000):
        assert native.verify_batch(mixed, threads=threads) == expected
        assert native.verify_batch(mixed, threads) == [native.verify(s, m, k) for m, s, k in mixed]


def nacl_ok(msg: bytes, sig: bytes, pk: bytes) -> bool:
    try:
        nacl.bindings.crypto_sign_open(sig + msg, pk)
    except Exception:
        return False
    return True


def test_batch_empty_and_tiny() -> None:
    assert native.verify_batch([]) == []
    for name in BACKEND_NAMES:
        assert get_backend(name).verify_batch([]) == []
    msg, sig, pk = _signed(1)[0]
    assert native.verify_batch([(msg, sig, pk)]) == [True]
    assert native.verify_batch([(b"", sig, pk)]) == [False]


def test_batch_raw_argument_checks() -> None:
    ffi, lib = _lib()
    results = ffi.new("unsigned char[]", 2)
    sigs, pks = bytes(128), bytes(64)
    # offsets going backwards, or past the end of msgs, are refused
    assert (
        lib.hc_verify_batch(2, b"abc", 3, ffi.new("size_t[]", [0, 2, 1]), sigs, pks, results, 2)
        == lib.HC_E_ARG
    )
    assert (
        lib.hc_verify_batch(2, b"abc", 3, ffi.new("size_t[]", [0, 1, 4]), sigs, pks, results, 2)
        == lib.HC_E_ARG
    )
    assert (
        lib.hc_verify_batch(0, ffi.NULL, 0, ffi.NULL, ffi.NULL, ffi.NULL, ffi.NULL, 0) == lib.HC_OK
    )


def test_many_threads_calling_at_once() -> None:
    triples = _signed(40)
    triples[7] = (triples[7][0] + b"!", triples[7][1], triples[7][2])
    expected = [nacl_ok(*t) for t in triples]
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(3):
                assert native.verify_batch(triples) == expected
                m, s, k = triples[3]
                assert native.verify(s, m, k)
                assert native.verify_parts(s, m[:5], m[5:], k)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_batch_spreads_over_threads_with_the_gil_released() -> None:
    # Timing is unreliable on a shared 2-core box, so watch instead: while the
    # batch runs, a Python thread must keep running (the GIL is released) and
    # must see the extra worker thread the core started.
    triples = _signed(1500, 64)
    baseline = len(os.listdir("/proc/self/task"))
    seen = {"max_tasks": 0, "spins": 0}
    running = threading.Event()
    done = threading.Event()

    def watch() -> None:
        running.set()
        while not done.is_set():
            seen["max_tasks"] = max(seen["max_tasks"], len(os.listdir("/proc/self/task")))
            seen["spins"] += 1

    watcher = threading.Thread(target=watch)
    watcher.start()
    running.wait()
    spins_before = seen["spins"]
    assert all(native.verify_batch(triples, threads=2))
    spins_during = seen["spins"] - spins_before
    done.set()
    watcher.join()
    assert spins_during > 10, spins_during
    assert seen["max_tasks"] >= baseline + 2, (baseline, seen)


def _worst_json_inputs() -> dict[str, bytes]:
    many_keys = b"{" + b",".join(b'"%d":0' % i for i in range(1900)) + b"}"
    esc_keys = b"{" + b",".join(b'"\\u%04x":0' % (0x100 + i) for i in range(1300)) + b"}"
    same_prefix = b"{" + b",".join(b'"' + b"\\u0061" * 20 + b'%d":0' % i for i in range(120)) + b"}"
    colliding = (
        b"{" + b",".join(b'"%s":{}' % (b"\\u0062" * 3 + b"%03d" % i) for i in range(700)) + b"}"
    )
    return {
        "many_keys": many_keys,
        "escaped_keys": esc_keys,
        "long_equal_prefixes": same_prefix,
        "nested_objects": b'{"a":' * 32 + b"1" + b"}" * 32,
        "deep_arrays": b"[" * 5000 + b"]" * 5000,
        "strings": b'"' + b"\\u00e9" * 2700 + b'"',
        "numbers": b"[" + b",".join([b"-1.5e+10"] * 1800) + b"]",
        "colliding": colliding,
    }


@pytest.mark.parametrize("name", list(_worst_json_inputs()))
def test_json_check_worst_case_is_fast(name: str) -> None:
    _, lib = _lib()
    text = _worst_json_inputs()[name]
    expected = lib.HC_E_JSON_DEPTH if name == "deep_arrays" else lib.HC_OK
    assert lib.hc_json_check(text, len(text), 32) == expected
    t0 = time.perf_counter()
    for _ in range(10):
        lib.hc_json_check(text, len(text), 32)
    per_call = (time.perf_counter() - t0) / 10
    assert per_call < 0.003, f"{name}: {per_call * 1e3:.2f} ms for {len(text)} bytes"


def test_backend_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOODY_CLAIMS_BACKEND", raising=False)
    assert backend_name() == "native"
    assert get_backend() is get_backend("native")
    for name in BACKEND_NAMES:
        monkeypatch.setenv("HOODY_CLAIMS_BACKEND", name)
        assert get_backend().name == name
        assert backend_name() == name
        assert get_backend() is get_backend(name)
    monkeypatch.setenv("HOODY_CLAIMS_BACKEND", "libsodium-ish")
    with pytest.raises(BackendUnavailable, match="unknown backend"):
        get_backend()
    assert issubclass(BackendUnavailable, RuntimeError)


def test_backend_is_frozen() -> None:
    be = get_backend("native")
    with pytest.raises(AttributeError):
        be.name = "x"  # type: ignore[misc]


def test_without_the_extension_pynacl_serves_and_forcing_native_is_a_clear_error() -> None:
    code = """
import sys
sys.modules["hoody_claims._hoody_core"] = None
from hoody_claims import native
from hoody_claims.backends import get_backend, backend_name, BackendUnavailable
assert not native.AVAILABLE and native.LOAD_ERROR
assert backend_name() == "pynacl", backend_name()
try:
    get_backend("native")
except BackendUnavailable as exc:
    assert "native backend cannot load" in str(exc), exc
    print("OK")
"""
    env = dict(os.environ)
    env.pop("HOODY_CLAIMS_BACKEND", None)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 0 and out.stdout.strip() == "OK", out.stderr


@pytest.mark.slow
def test_wheel_installs_into_a_clean_venv_and_loads_native(tmp_path: Path) -> None:
    """`pip wheel .` then a fresh venv: the native core must load there too."""
    repo = Path(__file__).resolve().parent.parent
    wheels = tmp_path / "wheels"

    def run(*cmd: str | Path, cwd: Path = tmp_path) -> str:
        done = subprocess.run(
            [str(c) for c in cmd], capture_output=True, text=True, cwd=cwd, timeout=300
        )
        assert done.returncode == 0, f"{cmd}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    # No build isolation: the build tools are already here, and fetching them
    # again would only add time; the wheel itself is what is under test.
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        repo,
        "--no-deps",
        "--no-build-isolation",
        "-q",
        "-w",
        wheels,
    )
    (wheel,) = wheels.glob("hoody_claims-*.whl")
    run(sys.executable, "-m", "venv", "--without-pip", tmp_path / "venv")
    python = tmp_path / "venv" / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", python, "install", "-q", wheel)
    out = run(
        python,
        "-c",
        "import hoody_claims, hoody_claims.native as n; "
        "print(hoody_claims.__file__); print(hoody_claims.backend()); print(n.SODIUM_SOURCE)",
    )
    location, name, sodium = out.split("\n")[:3]
    assert location.startswith(str(tmp_path / "venv")), location
    assert name == "native", out
    assert "nacl" in sodium, sodium


# ------------------------------------------------- hc_claim_prepare / hc_verify_payload

_PK_SEED = bytes(range(32))


def _claim_doc(**changes: object) -> dict[str, object]:
    key = SigningKey(_PK_SEED)
    payload = base64.urlsafe_b64encode(b'{"sub":"u","iat":1,"exp":2}').rstrip(b"=").decode()
    doc: dict[str, object] = {
        "kid": "k1",
        "payload_b64": payload,
        "signature_hex": key.sign(payload.encode()).signature.hex(),
    }
    doc.update(changes)
    return doc


def _compact(text: bytes) -> bytes:
    return base64.urlsafe_b64encode(text).rstrip(b"=")


def test_prepare_claim_both_forms_agree_with_python() -> None:
    text = json.dumps(_claim_doc()).encode()
    expected = strict_json.prepare_claim(text)
    assert expected[0] == "k1" and len(expected[2]) == 64
    for data in (text, _compact(text), base64.b64encode(text)):
        assert native.prepare_claim(data) == expected
        assert strict_json.prepare_claim(data) == expected
    upper = json.dumps(_claim_doc(signature_hex=expected[2].hex().upper())).encode()
    assert native.prepare_claim(upper)[2] == expected[2]


def test_prepare_claim_escaped_fields_take_the_slow_path() -> None:
    doc = _claim_doc()
    sig = str(doc["signature_hex"])
    text = json.dumps(doc).encode()
    for old, new in (
        (b'"k1"', b'"k\\u0031"'),
        (b'"' + sig[:2].encode(), b'"\\u00' + sig[:1].encode().hex().encode() + sig[1:2].encode()),
        (b'"eyJ', b'"\\u0065yJ'),
    ):
        mutated = text.replace(old, new, 1)
        assert mutated != text
        assert native.prepare_claim(mutated) == strict_json.prepare_claim(text)
        assert native.prepare_claim(_compact(mutated)) == strict_json.prepare_claim(text)
    bad = text.replace(b'"' + sig[:2].encode(), b'"\\u0067' + sig[1:2].encode(), 1)
    for impl in (native, strict_json):
        with pytest.raises(encoding.CodecError) as info:
            impl.prepare_claim(bad)
        assert info.value.reason == strict_json.REASON_SIGNATURE_HEX


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", strict_json.reason_not_claim_object("not valid JSON")),
        (b"e30 ", strict_json.reason_not_compact("a character outside the base64 alphabet")),
        (b"e30", strict_json.reason_not_claim_object("the kid field is missing")),
        (b"{" + b" " * (16 * 1024), strict_json.REASON_CLAIM_TOO_LARGE),
        (b"A" * (strict_json.MAX_COMPACT + 4), strict_json.REASON_CLAIM_TOO_LARGE),
        # decodes to 16386 bytes: too large once decoded, after the base64 checks
        (b"A" * strict_json.MAX_COMPACT, strict_json.REASON_CLAIM_TOO_LARGE),
        (b"A" * (strict_json.MAX_COMPACT - 3) + b"!", strict_json.reason_not_compact(
            "a character outside the base64 alphabet")),
        (json.dumps(_claim_doc(signature_hex="ab" * 63)).encode(),
         strict_json.REASON_SIGNATURE_HEX),
        (json.dumps(_claim_doc(signature_hex="ag" * 64)).encode(),
         strict_json.REASON_SIGNATURE_HEX),
        (json.dumps(_claim_doc(signature_hex="ab" * 65)).encode(),
         strict_json.REASON_SIGNATURE_HEX),
        # payload checks come before the signature check
        (json.dumps(_claim_doc(payload_b64="A" * 10925, signature_hex="x")).encode(),
         strict_json.REASON_PAYLOAD_TOO_LARGE),
        (json.dumps(_claim_doc(payload_b64="é", signature_hex="x"), ensure_ascii=False).encode(),
         strict_json.REASON_PAYLOAD_NOT_BASE64),
        (json.dumps(_claim_doc(payload_b64="A" * 10924 + "é"), ensure_ascii=False).encode(),
         strict_json.REASON_PAYLOAD_TOO_LARGE),
        (json.dumps(_claim_doc(payload_b64="é" * 5000), ensure_ascii=False).encode(),
         strict_json.REASON_PAYLOAD_NOT_BASE64),
        (json.dumps(_claim_doc(kid=1)).encode(),
         strict_json.reason_not_claim_object("the kid field is not a string")),
    ],
    ids=lambda v: str(len(v)) if isinstance(v, bytes) else None,
)  # fmt: skip
def test_prepare_claim_refusals(data: bytes, reason: str) -> None:
    for impl in (native, strict_json):
        with pytest.raises(encoding.CodecError) as info:
            impl.prepare_claim(data)
        assert info.value.reason == reason, impl


def test_prepare_claim_payload_size_boundary() -> None:
    # 10924 characters decode to 8192 bytes with one "=" and to 8193 without it.
    longest = "A" * (strict_json.MAX_PAYLOAD_B64 - 1) + "="
    over = "A" * strict_json.MAX_PAYLOAD_B64
    for impl in (native, strict_json):
        doc = _claim_doc(payload_b64=longest)
        assert impl.prepare_claim(json.dumps(doc).encode())[1] == longest
        with pytest.raises(encoding.CodecError, match="larger than 8 KiB"):
            impl.prepare_claim(json.dumps(_claim_doc(payload_b64=over)).encode())


def test_prepare_raw_argument_checks() -> None:
    ffi, lib = _lib()
    prep = ffi.new("hc_prepared *")
    assert lib.hc_claim_prepare(ffi.NULL, 1, ffi.NULL, 0, prep) == lib.HC_E_ARG
    assert lib.hc_claim_prepare(b"{}", 2, ffi.NULL, 1, prep) == lib.HC_E_ARG
    assert lib.hc_claim_prepare(b"{}", 2, ffi.NULL, 0, ffi.NULL) == lib.HC_E_ARG
    assert lib.hc_claim_prepare(ffi.NULL, 0, ffi.NULL, 0, prep) == lib.HC_E_JSON_SYNTAX
    text = json.dumps(_claim_doc()).encode()
    small = ffi.new("char[]", len(text) - 1)
    assert lib.hc_claim_prepare(_compact(text), len(_compact(text)), small, len(text) - 1,
                                prep) == lib.HC_E_OUTPUT_SPACE  # fmt: skip
    assert lib.hc_claim_prepare(text, len(text), ffi.NULL, 0, prep) == lib.HC_OK
    assert prep.in_scratch == 0 and prep.text_len == len(text)
    assert bytes(prep.sig) == bytes.fromhex(str(_claim_doc()["signature_hex"]))


def test_verify_payload() -> None:
    key = SigningKey(_PK_SEED)
    pk = bytes(key.verify_key)
    for payload in ("eyJhIjoxfQ", "eyJhIjoxfQ==", "WzFd", "eyJhIjoxfQ\n", "", "e30"):
        sig = key.sign(payload.encode()).signature
        for name in BACKEND_NAMES:
            be = get_backend(name)
            for s, k in ((sig, pk), (bytes(64), pk), (sig[:63], pk), (sig, pk[:31])):
                try:
                    got: object = be.verify_payload(s, k, payload)
                except encoding.CodecError as exc:
                    got = exc.reason
                want: object
                if s is not sig or k is not pk:
                    want = None
                else:
                    try:
                        want = strict_json.decode_payload(payload)
                    except encoding.CodecError as exc:
                        want = exc.reason
                assert got == want, (name, payload)
    ffi, lib = _lib()
    outlen = ffi.new("size_t *")
    assert lib.hc_verify_payload(bytes(64), pk, b"", 0, ffi.NULL, 0, outlen, 1025) == lib.HC_E_ARG
    assert lib.hc_verify_payload(bytes(64), pk, b"", 0, ffi.NULL, 0, ffi.NULL, 32) == lib.HC_E_ARG
    assert (
        lib.hc_verify_payload(bytes(64), pk, b"", 0, ffi.NULL, 0, outlen, 32)
        == lib.HC_E_SIGNATURE_INVALID
    )
    sig = key.sign(b"e30").signature
    assert lib.hc_verify_payload(sig, pk, b"e30", 3, ffi.NULL, 0, outlen, 32) == (
        lib.HC_E_OUTPUT_SPACE
    )
    out = ffi.new("char[]", 2)
    assert lib.hc_verify_payload(sig, pk, b"e30", 3, out, 2, outlen, 32) == lib.HC_OK
    assert outlen[0] == 2 and ffi.unpack(out, 2) == b"{}"


def test_prepare_limits_mirror_claim_parse() -> None:
    from hoody_claims import claim_parse

    assert strict_json.MAX_CLAIM_TEXT == claim_parse.MAX_CLAIM_TEXT
    assert strict_json.MAX_PAYLOAD_BYTES == claim_parse.MAX_PAYLOAD_BYTES


def _claim_texts() -> tuple[list[bytes], bytes]:
    """Claims of every kind hc_claims_start meets, and the ring with their key."""
    issuer = Issuer(kid="k1", seed=bytes(range(32)))
    stranger = Issuer(kid="k1", seed=bytes(range(1, 33)))
    texts = [issuer.container_claim(container_id="0" * 24, now=0, sub=f"u{i}").encode()
             for i in range(30)]
    texts += [
        stranger.container_claim(container_id="0" * 24, now=0).encode(),  # bad signature
        Issuer(kid="k2").container_claim(container_id="0" * 24, now=0).encode(),  # unknown kid
        b"junk", b"", b"{}",
        issuer.container_claim(container_id="0" * 24, now=0, form="json").encode(),
        issuer.sign_payload(b'{"a": 1, "a": 2}', form="json").encode(),  # verified, malformed
    ]
    return texts, native.pack_keys(issuer.key_set().keys)


def _outcome(found: object) -> object:
    if isinstance(found, encoding.CodecError):
        return ("error", found.reason)
    return "general" if found is native.GENERAL else found


def test_claims_start_matches_check_claim_for_any_thread_count_and_gc() -> None:
    texts, ring = _claim_texts()
    expected = []
    for text in texts:
        try:
            expected.append(_outcome(native.check_claim(text, ring)))
        except encoding.CodecError as exc:
            expected.append(("error", exc.reason))
    assert {"general", None} <= {e for e in expected if not isinstance(e, tuple)}
    assert any(isinstance(e, tuple) and e[0] == "error" for e in expected)
    for threads in (1, 2, 3, 64, 1000):
        batch = native.check_claims_start(texts, ring, threads=threads)
        assert [_outcome(f) for f in batch.wait()] == expected
        assert [_outcome(f) for f in batch.wait()] == expected  # wait is idempotent
    assert native.check_claims_start([], ring).wait() == []
    # Dropped without wait: collection joins the threads before the buffers go.
    for _ in range(20):
        native.check_claims_start(texts, ring)
    batch = native.check_claims_start(texts, ring)
    batch.join()
    del batch


def test_claims_start_cancel_stops_untaken_claims(issuer: Issuer) -> None:
    ffi, lib = _lib()
    n = 400
    texts = [issuer.container_claim(container_id=CID, sub=f"u{i}").encode() for i in range(n)]
    ring = native.pack_keys(issuer.key_set().keys)
    offsets = [0, *accumulate(map(len, texts))]
    block_offsets = [3 * off + lib.HC_CHECK_BLOCK_EXTRA * j for j, off in enumerate(offsets)]
    ready = ffi.new("size_t *")
    handle = lib.hc_claims_start(n, b"".join(texts), offsets[-1], ffi.new("size_t[]", offsets), ring,
                                 len(ring), ffi.new("size_t[]", block_offsets), 32, 1)
    assert lib.hc_batch_ready(handle, 2, ready) == lib.HC_OK and ready[0] >= 2
    lib.hc_batch_cancel(handle)
    lib.hc_batch_cancel(handle)  # twice is the same
    # Returns at once with what is done (no wait for claims that will never be checked).
    assert lib.hc_batch_ready(handle, n, ready) == lib.HC_OK and 2 <= ready[0] <= n
    assert lib.hc_batch_wait(handle) == lib.HC_OK
    assert lib.hc_batch_wait(handle) == lib.HC_OK  # again: the same, at once
    codes = list(ffi.unpack(lib.hc_batch_status(handle), n))
    lib.hc_batch_free(handle)
    checked = codes.count(lib.HC_OK)
    assert checked + codes.count(lib.HC_E_SIGNATURE_INVALID) == n  # untouched ones stay refused
    assert all(code == lib.HC_OK for code in codes[:ready[0]])
    assert 2 <= checked < n


def test_claims_start_copies_its_inputs(issuer: Issuer) -> None:
    """The caller's buffers may go (or change) as soon as hc_claims_start returns: the
    batch's threads read only their own copies, so a lost handle cannot corrupt memory."""
    ffi, lib = _lib()
    n = 64
    texts = [issuer.container_claim(container_id=CID, sub=f"u{i}").encode() for i in range(n)]
    ring = bytearray(native.pack_keys(issuer.key_set().keys))
    blob = bytearray(b"".join(texts))
    offsets = ffi.new("size_t[]", [0, *accumulate(map(len, texts))])
    block_offsets = ffi.new("size_t[]", [3 * offsets[j] + lib.HC_CHECK_BLOCK_EXTRA * j
                                         for j in range(n + 1)])
    handle = lib.hc_claims_start(n, ffi.from_buffer(blob), len(blob), offsets,
                                 ffi.from_buffer(ring), len(ring), block_offsets, 32, 1)
    blob[:] = b"x" * len(blob)
    ring[:] = bytes(len(ring))
    for j in range(n + 1):
        offsets[j] = block_offsets[j] = 0
    assert lib.hc_batch_wait(handle) == lib.HC_OK
    assert list(ffi.unpack(lib.hc_batch_status(handle), n)) == [lib.HC_OK] * n
    lib.hc_batch_free(handle)


def test_claims_start_raw_argument_checks() -> None:
    ffi, lib = _lib()
    size = 3 * 3 + lib.HC_CHECK_BLOCK_EXTRA  # each text is 3 bytes
    null = ffi.NULL
    good = [0, size, 2 * size]

    def run(offsets: list[int], block_offsets: object = good, ring: object = b"",
            ring_len: int = 0, depth: int = 32) -> tuple[int, list[int]]:
        blocks = null if block_offsets is None else ffi.new("size_t[]", block_offsets)
        handle = lib.hc_claims_start(2, b"abcdef", 6, ffi.new("size_t[]", offsets), ring,
                                     ring_len, blocks, depth, 2)
        try:
            rc = int(lib.hc_batch_wait(handle))
            return rc, list(ffi.unpack(lib.hc_batch_status(handle), 2))
        finally:
            lib.hc_batch_free(handle)

    assert run([0, 3, 6]) == (lib.HC_OK, [lib.HC_E_GENERAL] * 2)  # neither is a claim
    closed = (lib.HC_E_ARG, [lib.HC_E_SIGNATURE_INVALID] * 2)  # refused: fail closed
    assert run([0, 4, 3]) == closed  # offsets going back
    assert run([0, 3, 7]) == closed  # past the texts
    assert run([0, 3, 6], [0, good[2], good[1]]) == closed  # blocks going back
    assert run([0, 3, 6], None) == closed
    assert run([0, 3, 6], ring=null, ring_len=4) == closed
    assert run([0, 3, 6], depth=-1) == closed
    # A block too small: that item only.
    assert run([0, 3, 6], [0, 2, good[2]]) == (lib.HC_OK, [lib.HC_E_ARG, lib.HC_E_GENERAL])
    # Blocks too large to allocate: out of memory (NULL), not a crash.
    assert lib.hc_claims_start(2, b"abcdef", 6, ffi.new("size_t[]", [0, 3, 6]), b"", 0,
                               ffi.new("size_t[]", [0, 1, 2**62]), 32, 2) == null
    empty = lib.hc_claims_start(0, null, 0, null, null, 0, null, 32, 2)
    assert lib.hc_batch_wait(empty) == lib.HC_OK
    assert lib.hc_batch_status(empty) == null and lib.hc_batch_blocks(empty) == null
    lib.hc_batch_free(empty)
    assert lib.hc_batch_wait(null) == lib.HC_E_NOMEM
    lib.hc_batch_free(null)  # harmless
    assert lib.hc_batch_status(null) == null and lib.hc_batch_blocks(null) == null
    # hc_batch_ready: the batch's argument error with nothing ready; results in order; -1 threads.
    ready = ffi.new("size_t *", 99)
    for nthreads in (-1, 0, 1):
        handle = lib.hc_claims_start(2, b"abcdef", 6, ffi.new("size_t[]", [0, 3, 7]), b"", 0,
                                     ffi.new("size_t[]", good), 32, nthreads)
        assert lib.hc_batch_ready(handle, 2, ready) == lib.HC_E_ARG and ready[0] == 0
        assert lib.hc_batch_wait(handle) == lib.HC_E_ARG
        lib.hc_batch_free(handle)
        handle = lib.hc_claims_start(2, b"abcdef", 6, ffi.new("size_t[]", [0, 3, 6]), b"", 0,
                                     ffi.new("size_t[]", good), 32, nthreads)
        status = lib.hc_batch_status(handle)
        assert lib.hc_batch_ready(handle, 1, ready) == lib.HC_OK and 1 <= ready[0] <= 2
        assert status[0] == lib.HC_E_GENERAL
        assert lib.hc_batch_ready(handle, 5, ready) == lib.HC_OK and ready[0] == 2
        assert lib.hc_batch_ready(handle, 2, null) == lib.HC_E_ARG
        assert lib.hc_batch_wait(handle) == lib.HC_OK
        assert list(ffi.unpack(status, 2)) == [lib.HC_E_GENERAL] * 2
        lib.hc_batch_free(handle)
    empty = lib.hc_claims_start(0, null, 0, null, null, 0, null, 32, -1)
    assert lib.hc_batch_ready(empty, 3, ready) == lib.HC_OK and ready[0] == 0
    assert lib.hc_batch_ready(null, 1, ready) == lib.HC_E_NOMEM
    lib.hc_batch_cancel(null)  # harmless
    lib.hc_batch_cancel(empty)
    lib.hc_batch_free(empty)
    # Freed unfinished: the rest is cancelled and the threads joined before the buffers go.
    handle = lib.hc_claims_start(2, b"abcdef", 6, ffi.new("size_t[]", [0, 3, 6]), b"", 0,
                                 ffi.new("size_t[]", good), 32, 2)
    lib.hc_batch_free(handle)
