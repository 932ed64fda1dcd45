"""Flask specifics: the verifier from app.config, ``@require_claim`` without the extension,
``guard_all=False``, sync and async views."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Ctx
from flask import Flask, g

from hoody_claims.web.flask import CONFIG_KEY, HoodyClaims, require_claim


def _app(ctx: Ctx, **ext: Any) -> Flask:
    app = Flask(__name__)
    app.config[CONFIG_KEY] = ctx.verifier()
    if ext.pop("extension", True):
        HoodyClaims(app, **ext)

    @app.get("/open")
    def open_() -> str:
        return "open"

    @app.get("/sync")
    @require_claim(users={"alice"})
    def sync_view() -> str:
        return f"sync {g.hoody_claim.sub}"

    @app.get("/async")
    @require_claim(allow_types={"admin"})
    async def async_view() -> str:
        return f"async {g.hoody_claim.sub}"

    @app.get("/items/<int:item>")
    @require_claim()
    def item(item: int) -> str:
        return f"{item} {g.hoody_claim.sub}"

    return app


@pytest.mark.parametrize("mode", ["no-extension", "guard-off"])
def test_require_claim_with_config_verifier(mode: str, ctx: Ctx) -> None:
    app = _app(ctx, extension=mode == "guard-off", guard_all=False)
    client = app.test_client(use_cookies=False)
    assert client.get("/open").text == "open"  # nothing guards it
    alice = {"X-Hoody-Container-Claim": ctx.claim(sub="alice", type="admin")}
    bob = {"X-Hoody-Container-Claim": ctx.claim(sub="bob")}
    assert client.get("/sync", headers=alice).text == "sync alice"
    r = client.get("/sync", headers=bob)
    assert r.status_code == 403 and r.json["code"] == "POLICY_DENIED"
    assert client.get("/async", headers=alice).text == "async alice"
    assert client.get("/async", headers=bob).json["code"] == "POLICY_DENIED"
    assert client.get("/items/7", headers=bob).text == "7 bob"
    r = client.get("/items/7")
    assert (
        r.status_code == 401
        and r.headers["WWW-Authenticate"] == 'HoodyClaim error="CLAIM_REQUIRED"'
    )


def test_extension_guards_everything_with_its_policy(ctx: Ctx) -> None:
    app = _app(ctx, exempt_paths=("/open",), allow_types={"admin", "user"})
    client = app.test_client(use_cookies=False)
    assert client.get("/open").status_code == 200
    assert client.get("/items/1").status_code == 401
    guest = {"X-Hoody-Container-Claim": ctx.claim(type="guest")}
    assert client.get("/items/1", headers=guest).json["code"] == "POLICY_DENIED"


def test_extension_verifier_argument_wins_over_config(ctx: Ctx) -> None:
    app = Flask(__name__)
    app.config[CONFIG_KEY] = "not a verifier, never used"
    HoodyClaims(app, verifier=ctx.verifier())

    @app.get("/")
    def home() -> str:
        return g.hoody_claim.sub

    r = app.test_client().get("/", headers={"X-Hoody-Container-Claim": ctx.claim(sub="c")})
    assert r.text == "c"
