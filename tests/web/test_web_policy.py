"""Per-route policies narrow the app-wide one and the verifier's own, never replace them;
bad policy values are refused when the decorator or the gate is set up."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from conftest import OTHER_PID, PID, Ctx
from flask import Flask, g

from hoody_claims.web import aiohttp as haiohttp
from hoody_claims.web import flask as hflask
from hoody_claims.web.gatekeeper import Admit, Refuse, narrowed
from hoody_claims.web.request_view import RequestView


def view(claim: str) -> RequestView:
    return RequestView(method="GET", scheme="http", host="app", path="/", query_string="",
                       headers={"x-hoody-container-claim": claim})


def code(ctx: Ctx, verifier: Any, **claim: Any) -> str:
    decision = ctx.gate(verifier).decide(view(ctx.claim(**claim)))
    if isinstance(decision, Admit):
        return "ADMIT"
    assert isinstance(decision, Refuse)
    return decision.code


def test_a_route_policy_cannot_loosen_the_verifier_it_narrows(ctx: Ctx) -> None:
    admins = ctx.verifier(allow_types={"admin"}, users={"alice", "bob"}, max_age=600)
    wider = narrowed(admins, {"allow_types": {"user", "admin"}, "users": {"bob", "eve"}})
    assert code(ctx, wider, type="user", sub="bob") == "POLICY_DENIED"
    assert code(ctx, wider, type="admin", sub="eve") == "POLICY_DENIED"
    assert code(ctx, wider, type="admin", sub="alice") == "POLICY_DENIED"  # not in the route's
    assert code(ctx, wider, type="admin", sub="bob") == "ADMIT"
    # The smaller max_age wins: a route asking for 3600 s keeps the verifier's 600 s.
    assert code(ctx, narrowed(admins, {"max_age": 3600}), type="admin", sub="bob",
                now=ctx.clock.now - 900) == "POLICY_DENIED"
    assert narrowed(admins, {"max_age": 60}).policy.max_age == 60  # type: ignore[attr-defined]
    # A project binding stays; naming another project contradicts it.
    assert narrowed(admins, {"project_id": PID}).project_id == PID  # type: ignore[attr-defined]
    # A route naming another project admits no claim (of either project): 403, never a 500.
    elsewhere = narrowed(admins, {"project_id": OTHER_PID})
    for project in (PID, OTHER_PID):
        assert code(ctx, elsewhere, type="admin", sub="bob", project_id=project) == "WRONG_PROJECT"


def test_route_policy_values_are_copied_when_the_decorator_is_applied(ctx: Ctx) -> None:
    app = Flask(__name__)
    hflask.HoodyClaims(app, verifier=ctx.verifier(), guard_all=False)
    types = {"admin"}

    @app.get("/admin")
    @hflask.require_claim(allow_types=types)
    def admin() -> str:
        return str(g.hoody_claim.sub)

    @app.get("/other")
    @hflask.require_claim(project_id=OTHER_PID)
    def other() -> str:
        return "never"

    types.add("user")  # changing the caller's set afterwards must not widen the route
    client = app.test_client(use_cookies=False)
    user = {"X-Hoody-Container-Claim": ctx.claim(type="user")}
    assert client.get("/admin", headers=user).status_code == 403
    r = client.get("/other", headers=user)
    assert r.status_code == 403 and r.json["code"] == "WRONG_PROJECT"  # type: ignore[index]


@pytest.mark.parametrize("bad", [{"max_age": -1}, {"max_age": "3600"}, {"project_id": "not-an-id"},
                                 {"allow_types": [1]}, {"users": [None]}])
def test_bad_policy_values_are_refused_at_set_up(ctx: Ctx, bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        hflask.require_claim(**bad)
    with pytest.raises(ValueError):
        haiohttp.require_claim(**bad)
    with pytest.raises(ValueError):
        hflask.HoodyClaims(Flask(__name__), verifier=ctx.verifier(), **bad)


def test_flask_decorators_narrow_the_app_wide_policy_without_the_guard(ctx: Ctx) -> None:
    app = Flask(__name__)
    hflask.HoodyClaims(app, verifier=ctx.verifier(), guard_all=False, allow_types={"admin"})

    @app.get("/me")
    @hflask.require_claim(users={"user-1"})
    def me() -> str:
        return str(g.hoody_claim.sub)

    client = app.test_client(use_cookies=False)
    user = client.get("/me", headers={"X-Hoody-Container-Claim": ctx.claim(type="user")})
    assert user.status_code == 403 and user.json["code"] == "POLICY_DENIED"  # type: ignore[index]
    admin = client.get("/me", headers={"X-Hoody-Container-Claim": ctx.claim(type="admin")})
    assert admin.status_code == 200 and admin.text == "user-1"
    other = client.get("/me", headers={"X-Hoody-Container-Claim": ctx.claim(type="admin", sub="x")})
    assert other.status_code == 403


async def test_aiohttp_setup_keeps_its_policy_for_decorators_without_the_guard(ctx: Ctx) -> None:
    @haiohttp.require_claim()
    async def me(request: web.Request) -> web.Response:
        return web.Response(text=request["hoody_claim"].sub)

    app = web.Application()
    haiohttp.setup(app, ctx.verifier(), guard_all=False, allow_types={"admin"})
    app.router.add_get("/me", me)
    async with TestClient(TestServer(app)) as client:
        r = await client.get("/me", headers={"X-Hoody-Container-Claim": ctx.claim(type="user")})
        assert r.status == 403 and (await r.json())["code"] == "POLICY_DENIED"
        r = await client.get("/me", headers={"X-Hoody-Container-Claim": ctx.claim(type="admin")})
        assert r.status == 200 and (await r.text()) == "user-1"
