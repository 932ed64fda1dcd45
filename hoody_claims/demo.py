"""``hoody-claims demo``: the offline end-to-end run a newcomer starts with."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable

from .backends import backend_name
from .errors import HoodyClaimsError
from .keystore import KeyStore
from .testing import Issuer
from .verifier import ClaimVerifier

__all__ = ["run_demo"]

CONTAINER_ID = "0123456789abcdef01234567"


def run_demo(out: Callable[[str], None] = print) -> int:
    """Mint, serve, fetch, verify, tamper; print each step. Returns 0 if all went as expected."""
    step = iter(range(1, 100))

    def say(text: str) -> None:
        out(f"[{next(step)}] {text}")

    issuer = Issuer(kid="demo-v1")
    say(f"made a throwaway issuer key: kid={issuer.kid} public_key={issuer.public_key.hex()[:16]}…")
    with issuer.serve() as api_base:
        say(f"serving its key document at {api_base}/api/v1/meta/public-key (loopback only)")
        store = KeyStore(api_base=api_base, cache_dir=None)
        keys = store.key_set()
        say(f"fetched the key document over HTTP: kids {sorted(keys)}")
        verifier = ClaimVerifier(store, container_id=CONTAINER_ID)
        token = issuer.container_claim(container_id=CONTAINER_ID, sub="alice", type="admin")
        say(
            f"minted a container claim for container {CONTAINER_ID}: "
            f"{token[:40]}… ({len(token)} chars)"
        )
        t0 = time.perf_counter()
        claim = verifier.verify(token)
        took = (time.perf_counter() - t0) * 1e6
        say(
            f"verified with the fetched key on the {backend_name()} backend in {took:.0f} µs: "
            f"sub={claim.sub} type={claim.type} container={claim.container_id} "
            f"expires in {claim.exp - int(time.time())} s"
        )
        t0 = time.perf_counter()
        verifier.verify(token)
        say(f"the same claim again is remembered: {(time.perf_counter() - t0) * 1e6:.1f} µs")
        tampered = _promote_to_root(token)
        say('tampered with the claim: changed sub "alice" to "root", kept the signature')
        try:
            verifier.verify(tampered)
        except HoodyClaimsError as exc:
            say(f"tampered claim refused: {exc.code} (HTTP {exc.status}) — {exc.message}")
            return 0 if exc.code == "INVALID_SIGNATURE" else 1
    say("the tampered claim was accepted: this is a bug")
    return 1


def _promote_to_root(token: str) -> str:
    claim = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    payload = json.loads(base64.b64decode(claim["payload_b64"]))
    payload["sub"] = "root"
    claim["payload_b64"] = base64.b64encode(json.dumps(payload).encode()).decode()
    return base64.urlsafe_b64encode(json.dumps(claim).encode()).rstrip(b"=").decode()
