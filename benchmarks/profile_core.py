#!/usr/bin/env python3
"""Where the time of a check goes: each step of the hot paths timed on its own.

    python3 benchmarks/profile_core.py              # wall clock, 15 interleaved rounds
    python3 benchmarks/profile_core.py --timer cpu  # CPU time of this process (busy machine)
    python3 benchmarks/profile_core.py --stat min   # fastest round per step, not the median

For each path (a fresh compact claim, a remembered claim, ``verify_many`` of 256 claims,
``verify_response`` on 64 KiB) this times the whole call and then each step the library takes,
called the way the library calls it, on the same kind of input. Rounds are interleaved (every
step once per round, in turn) and the median per step is shown, so a burst of load from other
programs lands on all steps alike. "Sum of steps" next to "whole call" shows how much the
split accounts for; rows marked "of which" are inside the row above them and not summed.

A fresh claim and ``verify_many`` are profiled on the native backend's path (signed_data
"b64"): one ``hc_claim_check`` per claim (prepare, key by kid, Ed25519, strict payload decode,
the known fields located), then the Claim built from those fields with its payload parsed
lazily; ``verify_many`` runs those checks in one batch on native threads and finishes each
checked claim (Claim, bulk remember, rules) while the next ones are checked, checking claims
itself while the next is not done. The script stops if the native core is not available.

This reaches into hoody_claims' private functions on purpose (it profiles them), so it follows
the internals of the commit it sits in; it is not a test and pytest does not collect it.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from collections.abc import Callable, Collection, Sequence
from typing import Any

from nacl.signing import VerifyKey

import hoody_claims as hc
from hoody_claims import claim_parse, native, response, signature_header
from hoody_claims.backends import get_backend
from hoody_claims.claim_cache import RememberedClaims
from hoody_claims.encoding import CodecError
from hoody_claims.strict_json import DEFAULT_MAX_DEPTH, MAX_CLAIM_TEXT
from hoody_claims.testing import Issuer
from hoody_claims.verifier import _STEP, _text_bytes

CONTAINER_ID = "0123456789abcdef01234567"
SEED = bytes(range(32))
POOL = 8192
BATCH = 256
PATH = "/api/v1/containers/0123456789abcdef01234567/files?limit=50"

Step = tuple[str, str, Callable[[int], Any]]  # label, file:function, call(i)


STAT: Callable[[list[float]], float] = statistics.median


def measure(steps: list[Step], calls: int, rounds: int, timer: Callable[[], float]) -> list[float]:
    """Median (or --stat min) over interleaved rounds of the per-call time (µs) of each step."""
    samples: list[list[float]] = [[] for _ in steps]
    counters = [itertools.count() for _ in steps]
    for _ in range(rounds + 1):  # the first round is a warm-up
        for k, (_, _, fn) in enumerate(steps):
            ids = [next(counters[k]) % POOL for _ in range(calls)]
            start = timer()
            for i in ids:
                fn(i)
            samples[k].append((timer() - start) / calls * 1e6)
    return [STAT(s[1:]) for s in samples]


def show(
    title: str,
    steps: Sequence[Step],
    values: list[float],
    whole: int,
    parts: Collection[int],
    within: Collection[int] = (),
) -> None:
    """The table: parts are summed; within ("of which" rows) get a share but no sum."""
    print(f"\n## {title}\n")
    print("| Step | Where | µs | share of whole |")
    print("|---|---|---:|---:|")
    total = values[whole]
    for k, ((label, where, _), v) in enumerate(zip(steps, values, strict=True)):
        share = f"{v / total * 100:.0f} %" if k in parts or k in within else ""
        print(f"| {label} | `{where}` | {v:.2f} | {share} |")
    summed = sum(values[k] for k in parts)
    print(f"| **sum of steps** | | {summed:.2f} | {summed / total * 100:.0f} % |")


def _sent(claim_in: str) -> bytes:
    """A claim's text as verify sends it to the native core (_text_bytes)."""
    data = _text_bytes(claim_in)
    if data is None:
        raise SystemExit("a bench claim would not take the native path")
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=400, help="calls per step per round")
    parser.add_argument("--timer", choices=("wall", "cpu"), default="wall")
    parser.add_argument(
        "--stat",
        choices=("median", "min"),
        default="median",
        help="per step, the median round or the fastest (min: the least disturbed by load)",
    )
    args = parser.parse_args()
    timer = time.perf_counter if args.timer == "wall" else time.process_time
    global STAT
    STAT = min if args.stat == "min" else statistics.median

    be = get_backend()
    iss = Issuer(kid="bench", seed=SEED)
    keys = iss.key_set()
    pk = iss.public_key
    vk = VerifyKey(pk)
    now = int(time.time())
    claims = [
        iss.container_claim(container_id=CONTAINER_ID, sub=f"user-{i:05d}", now=now)
        for i in range(POOL)
    ]
    verifier = hc.ClaimVerifier(keys, container_id=CONTAINER_ID)  # cache 4096 < POOL
    checker = verifier._checker
    if checker is None or not native.AVAILABLE:
        raise SystemExit(
            f"profile_core profiles the native core's path; the backend here is {be.name} "
            f"({native.LOAD_ERROR or 'no claim checker'})"
        )
    source = verifier._source
    fingerprint = keys.fingerprint
    raws = [claim_parse.parse_claim(c, be) for c in claims]  # for the PyNaCl reference
    signed = [r.payload_b64.encode("ascii") for r in raws]
    datas = [_sent(c) for c in claims]
    ring = verifier._key_table(checker, keys)
    found = [native.check_claim(d, ring) for d in datas]
    if any(type(f) is not tuple or f[2] is None for f in found):
        raise SystemExit("the bench claims did not take the native fast path")
    built = [verifier._checked_claim(f) for f in found]
    # Full caches, as on a busy server: every put also evicts the oldest claim.
    full_cache = RememberedClaims(4096)
    for cache in (full_cache, verifier._cache):
        for i in range(4096):
            cache.put(("warm", i), fingerprint, built[i])

    print(
        f"backend: {be.name}; timer: {args.timer}; {args.stat} of {args.rounds} rounds "
        f"x {args.calls} calls"
    )

    # -- 1. a fresh compact claim ---------------------------------------------------------
    hc_claim_check, checked = native._hc_claim_check, native._checked
    new_block, unpack, chars = native._new, native._unpack, native._CHARS
    block_extra, ok, max_text = native._BLOCK_EXTRA, native._OK, MAX_CLAIM_TEXT
    block_size = 3 * max(map(len, datas)) + block_extra
    block = new_block(chars, block_size)  # one block for the raw C call, reused
    blocks: list[bytes] = []  # each claim's block as hc_claim_check left it
    for d in datas:
        size = 3 * len(d) + block_extra
        b = new_block(chars, size)
        if hc_claim_check(d, len(d), ring, len(ring), b, size, DEFAULT_MAX_DEPTH) != ok:
            raise SystemExit("hc_claim_check refused a bench claim")
        blocks.append(unpack(b, size))
    sigs = [r.signature for r in raws]

    def head(i: int) -> None:
        # _verify up to the miss: clock, key set, remembered-claims key, lock-free lookup.
        t = int(verifier._clock())
        fp = source.key_set(block=True).fingerprint
        claim_in = claims[i]
        remember_as = claim_in if type(claim_in) is str else claim_parse.cache_key(claim_in)
        verifier._cache.get(remember_as, fp, t)

    def around_c(i: int) -> None:
        # check_claim's body without the C call: size, block alloc, unpack, _checked.
        data = datas[i]
        n = len(data)
        if n > max_text:
            return
        size = 3 * n + block_extra
        unpack(new_block(chars, size), size)
        result = checked(ok, blocks[i], 0)
        if isinstance(result, CodecError):
            raise result

    fresh: list[Step] = [
        ("**whole call**: verify(new compact claim)", "verifier.py:_Verifier.verify",
         lambda i: verifier.verify(claims[i])),
        ("reference: PyNaCl VerifyKey.verify, same bytes", "nacl.signing",
         lambda i: vk.verify(signed[i], sigs[i])),
        ("clock, key set, cache miss (lock-free)",
         "verifier.py:_verify -> keystore.py:key_set, claim_cache.py:get", head),
        ("encode + key table", "verifier.py:_text_bytes, _key_table",
         lambda i: (_text_bytes(claims[i]), verifier._key_table(checker, keys))),
        ("hc_claim_check raw C call (prepare, key, verify, payload)",
         "native.py:_hc_claim_check, preallocated block",
         lambda i: hc_claim_check(datas[i], len(datas[i]), ring, len(ring), block, block_size,
                                  DEFAULT_MAX_DEPTH)),
        ("of which Ed25519 verify", "native.py:verify -> hc_verify",
         lambda i: native.verify(sigs[i], signed[i], pk)),
        ("block alloc + unpack + _checked (Python around the C call)",
         "native.py:check_claim minus hc_claim_check", around_c),
        ("Claim from fields (payload parsed lazily)",
         "verifier.py:_checked_claim -> claim.py:claim_from_fields",
         lambda i: verifier._checked_claim(found[i])),
        ("remember (put + evict on a full cache)", "claim_cache.py:RememberedClaims.put",
         lambda i: full_cache.put(claims[i], fingerprint, built[i])),
        ("rules: type, time, binding, policy", "verifier.py:_validate",
         lambda i: verifier._validate(built[i], now)),
    ]  # fmt: skip
    check_whole: Step = ("", "", lambda i: native.check_claim(datas[i], ring))
    values = measure([*fresh, check_whole], args.calls, args.rounds, timer)
    check_total = values.pop()
    labels = [s[0] for s in fresh]
    k_c = labels.index("hc_claim_check raw C call (prepare, key, verify, payload)")
    k_verify = labels.index("of which Ed25519 verify")
    parts = [k for k in range(2, len(fresh)) if k != k_verify]
    show("Fresh compact claim: ClaimVerifier.verify", fresh, values, 0, parts, [k_verify])
    print(f"\ncheck_claim whole: {check_total:.2f} µs (C call {values[k_c]:.2f}, the rest "
          f"{check_total - values[k_c]:.2f}); C call minus Ed25519: "
          f"{values[k_c] - values[k_verify]:.2f} µs; "
          f"whole / PyNaCl: {values[0] / values[1]:.2f}")  # fmt: skip

    # -- 2. the same claim again ---------------------------------------------------------
    same = claims[0]
    verifier.verify(same)
    hit = verifier.verify(same)
    steps: list[Step] = [
        ("**whole call**: verify(remembered claim)", "verifier.py:_Verifier.verify",
         lambda i: verifier.verify(same)),
        ("reference: PyNaCl VerifyKey.verify, same bytes", "nacl.signing",
         lambda i: vk.verify(signed[0], raws[0].signature)),
        ("clock", "verifier.py:_now", lambda i: verifier._now(None)),
        ("key set fingerprint", "keystore.py:_StaticSource.key_set",
         lambda i: source.key_set(block=True).fingerprint),
        ("cache key", "claim_parse.py:cache_key", lambda i: claim_parse.cache_key(same)),
        ("cache lookup (hit, lock, move_to_end)", "claim_cache.py:RememberedClaims.get",
         lambda i: verifier._cache.get(same, fingerprint, now)),
        ("type, time, binding, policy", "verifier.py:_validate -> claim_rules.py",
         lambda i: verifier._validate(hit, now)),
    ]  # fmt: skip
    values = measure(steps, args.calls * 10, args.rounds, timer)
    show("Remembered claim: ClaimVerifier.verify", steps, values, 0, range(2, len(steps)))
    print(f"\nPyNaCl / whole: {values[1] / values[0]:.1f}x")

    # -- 3. verify_many ------------------------------------------------------------------
    batches = [claims[i : i + BATCH] for i in range(0, POOL, BATCH)]
    nb = len(batches)
    many = hc.ClaimVerifier(keys, container_id=CONTAINER_ID)
    # Two more verifiers, so the steps' puts never turn another step's lookups into hits.
    preparer = hc.ClaimVerifier(keys, container_id=CONTAINER_ID)
    finisher = hc.ClaimVerifier(keys, container_id=CONTAINER_ID)
    for v in (many, preparer, finisher):
        for i in range(4096):
            v._cache.put(("warm", i), fingerprint, built[i])
    batch_texts = [[_sent(c) for c in batch] for batch in batches]
    # Per batch, a ClaimBatch whose threads are joined (results not yet taken).
    joined: list[native.ClaimBatch] = []
    for texts in batch_texts:
        running = native.check_claims_start(texts, ring)
        running.join()
        joined.append(running)

    def taken(b: int) -> list[list[Any]]:
        # What verify_many's loop takes: steps of at least _STEP results (taken again).
        batch = joined[b]
        batch._taken = 0
        steps_taken = []
        while part := batch.take(_STEP):
            steps_taken.append(part)
        return steps_taken

    finished = [taken(b) for b in range(nb)]
    pairs = [(signed[i], sigs[i]) for i in range(POOL)]
    start = checker.start

    def prepare(b: int) -> None:
        # verify_many's head, then _verify_many_native's loop (the texts it sends), bar the start.
        t = preparer._now(None)
        keys_now = preparer._source.key_set()
        fp = keys_now.fingerprint
        preparer._key_table(checker, keys_now)
        results: list[Any] = []
        sent = []
        texts = []
        for i, claim_in in enumerate(batches[b]):
            if preparer._answered_from_memory(claim_in, fp, t, results):
                raise RuntimeError("a bench claim was remembered")
            data = _text_bytes(claim_in)
            results.append(None)
            sent.append((i, claim_in))
            texts.append(data)

    def one_thread(b: int) -> None:
        for text in batch_texts[b]:
            native.check_claim(text, ring)

    def finish(b: int) -> None:
        # _finish_checked per step taken: claim_from_fields, _validate, one put_many.
        results: list[Any] = [None] * BATCH
        lo = 0
        batch = batches[b]
        for part in finished[b]:
            sent = [(i, batch[i]) for i in range(lo, lo + len(part))]
            finisher._finish_checked(sent, part, checker, keys, now, results)
            lo += len(part)

    steps = [
        ("**whole call**: verify_many(256 new claims)", "verifier.py:_Verifier.verify_many",
         lambda i: many.verify_many(batches[i % nb])),
        ("reference: PyNaCl verify x256, one thread", "nacl.signing",
         lambda i: [vk.verify(m, s) for m, s in pairs[(i % nb) * BATCH:][:BATCH]]),
        ("reference: native checks alone, one thread", "native.py:check_claim x256",
         lambda i: one_thread(i % nb)),
        ("serial Python: prepare loop (cache lookups, miss + encode)",
         "verifier.py:verify_many -> _verify_many_native (loop)", lambda i: prepare(i % nb)),
        ("native checks alone, all cores (this thread works too), one batch",
         "native.py:check_claims_start + ClaimBatch.wait",
         lambda i: start(batch_texts[i % nb], ring).wait()),
        (f"results to Python (unpack + _checked), in steps of {_STEP}", "native.py:ClaimBatch.take",
         lambda i: taken(i % nb)),
        ("serial Python: finish (claim_from_fields + _validate + put_many)",
         "verifier.py:_finish_checked", lambda i: finish(i % nb)),
    ]  # fmt: skip
    values = measure(steps, 2, args.rounds, timer)
    show(f"verify_many: one batch of {BATCH}", steps, values, 0, [3, 4, 6], [5])
    serial = values[3] + values[5] + values[6]
    print(f"\nthroughput vs one-thread PyNaCl: {values[1] / values[0]:.2f}x; "
          f"serial Python per claim (prepare + results + finish): {serial / BATCH:.2f} µs; "
          f"native checks per claim: {values[4] / BATCH:.2f} µs all cores, "
          f"{values[2] / BATCH:.2f} µs one thread. verify_many finishes each claim while "
          f"the threads check the next ones: the sum of steps can pass the whole.")  # fmt: skip

    # -- 4. verify_response, 64 KiB ------------------------------------------------------
    body = bytes((i * 131 + 7) % 256 for i in range(64 * 1024))
    header = iss.sign_response(body, method="GET", status=200, path=PATH, t=now)
    parsed = hc.parse_signature_header(header)
    prefix = response.signed_message_prefix(parsed)
    message = prefix + body
    steps = [
        ("**whole call**: verify_response(64 KiB)", "response.py:verify_response",
         lambda i: hc.verify_response(keys, header, method="GET", status=200, path=PATH,
                                      body=body, now=now)),
        ("reference: PyNaCl VerifyKey.verify(prefix+body)", "nacl.signing",
         lambda i: vk.verify(message, parsed.sig)),
        ("parse the header", "signature_header.py:parse_signature_header",
         lambda i: signature_header.parse_signature_header(header)),
        ("key source, key set, backend lookup, key",
         "keystore.py:as_key_source, backends.py:get_backend",
         lambda i: (hc.keystore.as_key_source(keys).key_for(parsed.kid), get_backend(None))),
        ("signed-message prefix", "response.py:signed_message_prefix",
         lambda i: response.signed_message_prefix(parsed)),
        ("join in C (malloc + copy) and verify", "native.py:verify_parts -> hc_verify_parts",
         lambda i: native.verify_parts(parsed.sig, prefix, body, pk)),
        ("for comparison: verify of the joined message", "native.py:verify -> hc_verify",
         lambda i: native.verify(parsed.sig, message, pk)),
    ]  # fmt: skip
    values = measure(steps, args.calls // 4, args.rounds, timer)
    show("verify_response, 64 KiB body", steps, values, 0, range(2, len(steps) - 1))
    print(f"\nwhole / PyNaCl: {values[0] / values[1]:.2f}")


if __name__ == "__main__":
    main()
