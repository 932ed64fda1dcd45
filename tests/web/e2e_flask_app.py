"""The Flask app gunicorn serves in test_e2e_servers.py (and benchmarks/bench_web.py).

Configured the way a container program would be: the verifier comes from the environment
(``HOODY_CONTAINER_ID`` and ``HOODY_CLAIMS_KEYS``, a pinned key document). With
``HOODY_E2E_UNGUARDED=1`` the same app runs without the gate (the benchmark's baseline).
"""

from __future__ import annotations

import os

from flask import Flask, g

from hoody_claims.web.flask import HoodyClaims, require_claim

app = Flask(__name__)
GUARDED = os.environ.get("HOODY_E2E_UNGUARDED") != "1"
if GUARDED:
    HoodyClaims(app, exempt_paths=("/healthz",))


@app.get("/")
def home() -> dict[str, str]:
    return {"sub": g.hoody_claim.sub if GUARDED else "anonymous"}


@app.get("/healthz")
def healthz() -> str:
    return "ok"


@app.get("/admin")
@require_claim(allow_types={"admin"})
def admin() -> dict[str, str]:
    return {"admin": g.hoody_claim.sub}
