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
split accounts for.

This reaches into hoody_claims' private functions on purpose (it profiles them), so it follows
the internals of the commit it sits in; it is not a test and pytest does not collect it.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from nacl.signing import VerifyKey

import hoody_claims as hc
from hoody_claims import claim_parse, native, response, signature_header
from hoody_claims.backends import get_backend
from hoody_claims.claim import claim_from_payload
from hoody_claims.claim_cache import RememberedClaims
from hoody_claims.testing import Issuer

CONTAINER_ID = "0123456789abcdef01234567"
SEED = bytes(range(32))
POOL = 8192
BATCH = 256
PATH = "/api/v1/containers/0123456789abcdef01234567/files?limit=50"

Step = tuple[str, str, Callable[[int], Any]]  # label, file:function, call(i)
Derived = tuple[str, str, None]  # a step worked out from two measurements


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
    title: str, steps: Sequence[Step | Derived], values: list[float], whole: int, parts: range
) -> None:
    print(f"\n## {title}\n")
    print("| Step | Where | µs | share of whole |")
    print("|---|---|---:|---:|")
    total = values[whole]
    for k, ((label, where, _), v) in enumerate(zip(steps, values, strict=True)):
        share = f"{v / total * 100:.0f} %" if k in parts else ""
        print(f"| {label} | `{where}` | {v:.2f} | {share} |")
    summed = sum(values[k] for k in parts)
    print(f"| **sum of steps** | | {summed:.2f} | {summed / total * 100:.0f} % |")


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
    texts = [base64.urlsafe_b64decode(c + "=" * (-len(c) % 4)) for c in claims]
    raws = [claim_parse.parse_claim(c, be) for c in claims]
    signed = [r.payload_b64.encode("ascii") for r in raws]
    sig_hex = [json.loads(t)["signature_hex"] for t in texts]
    payload_texts = [base64.b64decode(r.payload_b64).decode() for r in raws]
    payloads = [json.loads(t) for t in payload_texts]
    verifier = hc.ClaimVerifier(keys, container_id=CONTAINER_ID)  # cache 4096 < POOL
    source = verifier._source
    fingerprint = keys.fingerprint
    built = [claim_from_payload(json.loads(t), "bench") for t in payload_texts]
    full_cache = RememberedClaims(4096)
    for i in range(4096):
        full_cache.put(("warm", i), fingerprint, built[i])

    print(
        f"backend: {be.name}; timer: {args.timer}; {args.stat} of {args.rounds} rounds "
        f"x {args.calls} calls"
    )

    # -- 1. a fresh compact claim ---------------------------------------------------------
    fresh: list[Step | Derived] = [
        ("**whole call**: verify(new compact claim)", "verifier.py:_Verifier.verify",
         lambda i: verifier.verify(claims[i])),
        ("reference: PyNaCl VerifyKey.verify, same bytes", "nacl.signing",
         lambda i: vk.verify(signed[i], raws[i].signature)),
        ("clock, key set, cache lookup (miss)",
         "verifier.py:_now, keystore.py:key_set, verifier.py:_remembered",
         lambda i: verifier._remembered(claims[i], source.key_set().fingerprint,
                                        verifier._now(None))),
        ("compact -> claim JSON (strict base64)", "native.py:decode_b64 (claim_parse._split_text)",
         lambda i: be.decode_b64(claims[i])),
        ("split the claim object", "native.py:split_claim (+_field x3)",
         lambda i: be.split_claim(texts[i])),
        ("signature_hex -> 64 bytes", "native.py:decode_hex",
         lambda i: be.decode_hex(sig_hex[i], 64)),
        ("parse_claim glue (checks, encode, RawClaim)", "claim_parse.py:parse_claim, the rest",
         None),  # filled below
        ("key lookup", "verifier.py:_key -> keystore.py:_StaticSource.key_for",
         lambda i: verifier._key(raws[i], True)),
        ("Ed25519 verify (the signature itself)", "native.py:verify -> hc_verify",
         lambda i: native.verify(raws[i].signature, raws[i].payload_b64.encode("ascii"), pk)),
        ("payload: strict base64 + JSON check in C", "native.py:decode_payload minus json.loads",
         None),  # filled below
        ("payload: json.loads", "strict_json.py:finish_payload -> json.loads",
         lambda i: json.loads(payload_texts[i])),
        ("Claim from the payload dict", "claim.py:claim_from_payload (+_freeze)",
         lambda i: claim_from_payload(payloads[i], "bench")),
        ("remember (LRU put + evict)", "verifier.py:_remember -> claim_cache.py:put",
         lambda i: full_cache.put(claims[i], fingerprint, built[i])),
        ("type, time, binding, policy", "verifier.py:_validate -> claim_rules.py",
         lambda i: verifier._validate(built[i], now)),
    ]  # fmt: skip
    parse_whole: Step = ("", "", lambda i: claim_parse.parse_claim(claims[i], be))
    payload_whole: Step = ("", "", lambda i: be.decode_payload(raws[i].payload_b64))
    extra = [parse_whole, payload_whole]
    values = measure([s for s in fresh if s[2] is not None] + extra, args.calls, args.rounds, timer)
    it = iter(values)
    filled = [next(it) if s[2] is not None else 0.0 for s in fresh]
    parse_total, payload_total = next(it), next(it)
    labels = [s[0] for s in fresh]
    k_parse = labels.index("parse_claim glue (checks, encode, RawClaim)")
    k_payload = labels.index("payload: strict base64 + JSON check in C")
    filled[k_parse] = parse_total - sum(filled[k_parse - 3 : k_parse])
    filled[k_payload] = payload_total - filled[k_payload + 1]
    show("Fresh compact claim: ClaimVerifier.verify", fresh, filled, 0, range(2, len(fresh)))
    print(f"\nparse_claim whole: {parse_total:.2f} µs; decode_payload whole: "
          f"{payload_total:.2f} µs; whole / PyNaCl: {filled[0] / filled[1]:.2f}")  # fmt: skip

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
    many = hc.ClaimVerifier(keys, container_id=CONTAINER_ID)
    triples = [(signed[i], raws[i].signature, pk) for i in range(POOL)]
    nb = len(batches)

    def prepass(b: int) -> None:
        t = many._now(None)
        for c in batches[b]:
            many._remembered(c, fingerprint, t)
            raw = claim_parse.parse_claim(c, be)
            many._key(raw, True)
            many._message(raw, raw_mode=False)

    def postpass(b: int) -> None:
        base = b * BATCH
        for j in range(BATCH):
            raw = raws[base + j]
            claim = claim_from_payload(many._payload_object(raw), raw.kid)
            full_cache.put(batches[b][j], fingerprint, claim)
            many._validate(claim, now)

    steps = [
        ("**whole call**: verify_many(256 new claims)", "verifier.py:_Verifier.verify_many",
         lambda i: many.verify_many(batches[i % nb])),
        ("reference: PyNaCl verify x256, one thread", "nacl.signing",
         lambda i: [vk.verify(m, s) for m, s, _ in triples[(i % nb) * BATCH:][:BATCH]]),
        ("reference: native batch, 1 thread", "native.py:verify_batch(threads=1)",
         lambda i: native.verify_batch(triples[(i % nb) * BATCH:][:BATCH], threads=1)),
        ("per claim before the batch: cache miss, parse, key, message",
         "verifier.py:verify_many (first loop)", lambda i: prepass(i % nb)),
        ("the batch: pack + hc_verify_batch on all cores", "native.py:verify_batch",
         lambda i: native.verify_batch(triples[(i % nb) * BATCH:][:BATCH])),
        ("per claim after the batch: payload, Claim, remember, rules",
         "verifier.py:verify_many (second loop)", lambda i: postpass(i % nb)),
    ]  # fmt: skip
    values = measure(steps, 2, args.rounds, timer)
    show(f"verify_many: one batch of {BATCH}", steps, values, 0, range(3, len(steps)))
    print(f"\nthroughput vs one-thread PyNaCl: {values[1] / values[0]:.2f}x; "
          f"serial Python per claim: {(values[3] + values[5]) / BATCH:.2f} µs; "
          f"batch per claim: {values[4] / BATCH:.2f} µs")  # fmt: skip

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
