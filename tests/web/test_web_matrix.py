"""The behaviour every adapter must show, written once and run against each framework's own
test client (see web_harness.py): no claim, every refusal code, valid claims from each source,
expiry between two requests, a forged cookie, the query→cookie redirect, exempt paths and
per-route policy."""

from __future__ import annotations

import base64
import json
import urllib.parse

import pytest
from conftest import CID, ERROR_CASES, ErrorCase, assert_refused, tamper_signature
from web_harness import FRAMEWORKS

pytestmark = pytest.mark.parametrize("fw", FRAMEWORKS)


def test_no_claim_is_401_claim_required(fw, ctx, open_harness):
    h = open_harness(fw, ctx.gate())
    resp = h.get("/")
    assert_refused(resp, 401, "CLAIM_REQUIRED")
    assert h.entered == []


@pytest.mark.parametrize("case", ERROR_CASES, ids=lambda c: c.id)
def test_every_refusal_reaches_the_client(fw, case: ErrorCase, ctx, open_harness):
    verifier = case.verifier(ctx) if case.verifier else None
    h = open_harness(fw, ctx.gate(verifier))
    resp = h.get("/", {"X-Hoody-Container-Claim": case.token(ctx)})
    assert_refused(resp, case.status, case.code)
    assert h.entered == []


@pytest.mark.parametrize(
    "how",
    ["header-compact", "header-json", "authorization", "cookie"],
)
def test_valid_claim_is_admitted_from_each_source(fw, how, ctx, open_harness):
    h = open_harness(fw, ctx.gate())
    compact = ctx.claim(sub="alice")
    headers = {
        "header-compact": {"X-Hoody-Container-Claim": compact},
        "header-json": {"X-Hoody-Container-Claim": ctx.claim(sub="alice", form="json")},
        "authorization": {"Authorization": f"HoodyClaim {compact}"},
        "cookie": {"Cookie": f"theme=dark; hoody_claim={compact}"},
    }[how]
    resp = h.get("/", headers)
    assert resp.status == 200, resp.body
    assert resp.json() == {"sub": "alice", "type": "user", "container_id": CID}
    assert h.entered == ["/"]


def test_header_wins_over_a_bad_cookie(fw, ctx, open_harness):
    h = open_harness(fw, ctx.gate())
    resp = h.get("/", {"X-Hoody-Container-Claim": ctx.claim(), "Cookie": "hoody_claim=junk"})
    assert resp.status == 200


def test_other_authorization_schemes_are_not_a_claim(fw, ctx, open_harness):
    h = open_harness(fw, ctx.gate())
    assert_refused(h.get("/", {"Authorization": "Bearer abc"}), 401, "CLAIM_REQUIRED")


def test_claim_that_expires_between_two_requests(fw, ctx, open_harness):
    h = open_harness(fw, ctx.gate())
    token = ctx.claim(ttl=60)
    assert h.get("/", {"X-Hoody-Container-Claim": token}).status == 200
    ctx.clock.advance(60 + 30)  # exp + the default leeway of 30 s: refused from then on
    resp = h.get("/", {"X-Hoody-Container-Claim": token})
    assert_refused(resp, 401, "CLAIM_EXPIRED")
    assert h.entered == ["/"]


@pytest.mark.parametrize("forgery", ["signature", "payload", "garbage"])
def test_forged_cookie_is_refused(fw, forgery, ctx, open_harness):
    h = open_harness(fw, ctx.gate())
    genuine = ctx.claim(type="user")
    if forgery == "signature":
        token, code = tamper_signature(genuine), "INVALID_SIGNATURE"
    elif forgery == "payload":  # the genuine signature over a payload promoted to admin
        obj = json.loads(base64.urlsafe_b64decode(genuine + "=" * (-len(genuine) % 4)))
        payload = json.loads(base64.b64decode(obj["payload_b64"] + "=="))
        payload["type"] = "admin"
        obj["payload_b64"] = base64.b64encode(json.dumps(payload).encode()).decode()
        text = json.dumps(obj).encode()
        token, code = base64.urlsafe_b64encode(text).rstrip(b"=").decode(), "INVALID_SIGNATURE"
    else:
        token, code = "eyJub3QiOiJhIGNsYWltIn0", "MALFORMED_CLAIM"
    resp = h.get("/admin", {"Cookie": f"hoody_claim={token}"})
    assert_refused(resp, 401, code)
    assert h.entered == []


def _query(token: str) -> str:
    return urllib.parse.quote(token, safe="")


@pytest.mark.parametrize(
    ("host", "secure"), [("app.example.com", True), ("localhost:8000", False), ("127.0.0.1", False)]
)
def test_query_claim_becomes_a_cookie_and_a_303(fw, host, secure, ctx, open_harness):
    h = open_harness(fw, ctx.gate())
    token = ctx.claim(ttl=600)
    resp = h.get(f"/?b=2&hoody_claim={token}&a=1&b=3&empty=", {"Host": host})
    assert resp.status == 303
    assert resp.header("location") == "/?b=2&a=1&b=3&empty="
    flags = "HttpOnly; Secure;" if secure else "HttpOnly;"
    assert resp.all("set-cookie") == [
        f"hoody_claim={token}; {flags} SameSite=Lax; Path=/; Max-Age=600"
    ]
    assert resp.header("cache-control") == "no-store"
    assert h.entered == []
    # The browser follows with the cookie: admitted, and nothing in the URL any more.
    after = h.get(resp.header("location"), {"Host": host, "Cookie": f"hoody_claim={token}"})
    assert after.status == 200
    assert h.entered == ["/"]


def test_json_text_claim_in_query_is_stored_compact(fw, ctx, open_harness):
    h = open_harness(fw, ctx.gate())
    text = ctx.claim(ttl=100, form="json")
    ctx.clock.advance(40)
    resp = h.get(f"/?hoody_claim={_query(text)}", {"Host": "localhost"})
    assert resp.status == 303
    assert resp.header("location") == "/"
    compact = base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()
    assert resp.header("set-cookie") == (
        f"hoody_claim={compact}; HttpOnly; SameSite=Lax; Path=/; Max-Age=60"
    )


def test_invalid_query_claim_is_refused_without_cookie(fw, ctx, open_harness):
    h = open_harness(fw, ctx.gate())
    resp = h.get(f"/?hoody_claim={ctx.claim(container_id='fedcba9876543210fedcba98')}")
    assert_refused(resp, 403, "WRONG_CONTAINER")


def test_query_claim_on_post_is_admitted_without_redirect(fw, ctx, open_harness):
    h = open_harness(fw, ctx.gate())
    resp = h.post(f"/?hoody_claim={ctx.claim()}")
    assert resp.status == 200
    assert resp.header("set-cookie") is None


def test_exempt_path_needs_no_claim(fw, ctx, open_harness):
    h = open_harness(fw, ctx.gate())
    resp = h.get("/healthz")
    assert resp.status == 200 and resp.body == b"ok"
    assert h.entered == ["/healthz"]


def test_policy_per_route(fw, ctx, open_harness):
    h = open_harness(fw, ctx.gate())
    user = {"X-Hoody-Container-Claim": ctx.claim(sub="u", type="user")}
    admin = {"X-Hoody-Container-Claim": ctx.claim(sub="a", type="admin")}
    assert h.get("/", user).status == 200
    assert_refused(h.get("/admin", user), 403, "POLICY_DENIED")
    assert h.entered == ["/"]
    resp = h.get("/admin", admin)
    assert resp.status == 200 and resp.json()["sub"] == "a"
