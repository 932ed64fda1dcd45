"""Starlette and FastAPI specifics: WebSocket routes (middleware and per-route), the dependency
without the middleware (``setup``), ``require_claim`` on sync endpoints."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from conftest import Ctx, assert_refused
from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient, WebSocketDenialResponse
from web_harness import Harness, Resp, fastapi_app, starlette_app

from hoody_claims import Claim
from hoody_claims.web import fastapi as hfastapi
from hoody_claims.web import starlette as hstarlette

APPS = {"starlette": starlette_app, "fastapi": fastapi_app}


def _denial(exc: WebSocketDenialResponse) -> Resp:
    return Resp(exc.status_code, list(exc.headers.multi_items()), exc.content)


@pytest.fixture(params=sorted(APPS))
def app_and_harness(request: pytest.FixtureRequest, ctx: Ctx) -> tuple[Any, Harness]:
    h = Harness(request.param, send=lambda *a: Resp(0, [], b""))
    return APPS[request.param](ctx.gate(), h), h


def test_websocket_refused_by_the_middleware(app_and_harness: Any, ctx: Ctx) -> None:
    app, h = app_and_harness
    token = ctx.claim(now=ctx.clock.now - 7200)
    with TestClient(app) as client, pytest.raises(WebSocketDenialResponse) as denied:
        client.websocket_connect("/ws", headers={"X-Hoody-Container-Claim": token}).__enter__()
    assert_refused(_denial(denied.value), 401, "CLAIM_EXPIRED")
    assert h.entered == []


def test_websocket_refused_by_route_policy(app_and_harness: Any, ctx: Ctx) -> None:
    app, h = app_and_harness
    user = {"X-Hoody-Container-Claim": ctx.claim(type="user")}
    with TestClient(app) as client, pytest.raises(WebSocketDenialResponse) as denied:
        client.websocket_connect("/ws/admin", headers=user).__enter__()
    assert_refused(_denial(denied.value), 403, "POLICY_DENIED")
    assert h.entered == []


@pytest.mark.parametrize("path", ["/ws", "/ws/admin"])
def test_websocket_admitted(app_and_harness: Any, path: str, ctx: Ctx) -> None:
    app, h = app_and_harness
    admin = {"Cookie": f"hoody_claim={ctx.claim(sub='root', type='admin')}"}
    with TestClient(app) as client, client.websocket_connect(path, headers=admin) as ws:
        assert ws.receive_json()["sub"] == "root"
    assert h.entered == [path]


def _dependency_only_app(ctx: Ctx, *, with_setup: bool) -> FastAPI:
    app = FastAPI()
    if with_setup:
        hfastapi.setup(app, ctx.verifier())

    @app.get("/open")
    def open_() -> str:
        return "open"

    @app.get("/guarded")
    def guarded(claim: Annotated[Claim, Depends(hfastapi.hoody_claim(max_age=60))]) -> Any:
        return {"sub": claim.sub}

    return app


def test_fastapi_dependency_without_middleware(ctx: Ctx) -> None:
    app = _dependency_only_app(ctx, with_setup=True)
    with TestClient(app, follow_redirects=False) as client:
        assert client.get("/open").status_code == 200
        r = client.get("/guarded")
        assert_refused(
            Resp(r.status_code, list(r.headers.multi_items()), r.content), 401, "CLAIM_REQUIRED"
        )
        token = ctx.claim(sub="bob")
        r = client.get("/guarded", headers={"X-Hoody-Container-Claim": token})
        assert r.status_code == 200 and r.json() == {"sub": "bob"}
        r = client.get(f"/guarded?x=1&hoody_claim={token}")
        assert r.status_code == 303 and r.headers["location"] == "/guarded?x=1"
        ctx.clock.advance(61)  # max_age=60 on this route
        r = client.get("/guarded", headers={"X-Hoody-Container-Claim": token})
        assert r.status_code == 403 and r.json()["code"] == "POLICY_DENIED"


def test_fastapi_dependency_with_nothing_to_answer_refusals_fails_loudly(ctx: Ctx) -> None:
    app = _dependency_only_app(ctx, with_setup=False)
    with TestClient(app) as client, pytest.raises(RuntimeError, match="setup"):
        client.get("/guarded")


def test_unknown_policy_option_fails_at_decoration() -> None:
    with pytest.raises(TypeError, match="allowed_types"):
        hfastapi.hoody_claim(allowed_types={"admin"})
    with pytest.raises(TypeError):
        hstarlette.require_claim(leeway=10)


def test_starlette_require_claim_on_its_own(ctx: Ctx) -> None:
    """Explicit verifier=, sync endpoint, no middleware and no setup."""
    entered: list[str] = []

    @hstarlette.require_claim(verifier=ctx.verifier(), users={"alice"})
    def whoami(request: Request) -> PlainTextResponse:
        entered.append(request.state.hoody_claim.sub)
        return PlainTextResponse(request.state.hoody_claim.sub)

    app = Starlette(routes=[Route("/me", whoami)])
    with TestClient(app) as client:
        r = client.get("/me", headers={"X-Hoody-Container-Claim": ctx.claim(sub="alice")})
        assert r.status_code == 200 and r.text == "alice"
        r = client.get("/me", headers={"X-Hoody-Container-Claim": ctx.claim(sub="mallory")})
        assert r.status_code == 403 and r.json()["code"] == "POLICY_DENIED"
    assert entered == ["alice"]


def test_starlette_setup_gives_routes_the_verifier(ctx: Ctx) -> None:
    @hstarlette.require_claim()
    async def me(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.state.hoody_claim.sub)

    app = Starlette(routes=[Route("/me", me)])
    hstarlette.setup(app, ctx.verifier())
    with TestClient(app) as client:
        assert client.get("/me").json()["code"] == "CLAIM_REQUIRED"
        r = client.get("/me", headers={"Authorization": f"HoodyClaim {ctx.claim(sub='z')}"})
        assert r.text == "z"


def test_starlette_without_any_verifier_says_how_to_configure() -> None:
    @hstarlette.require_claim()
    async def me(request: Request) -> PlainTextResponse:
        return PlainTextResponse("never")

    client = TestClient(Starlette(routes=[Route("/me", me)]))
    with client, pytest.raises(RuntimeError, match="HoodyClaimsMiddleware"):
        client.get("/me")
