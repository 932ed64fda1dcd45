"""aiohttp specifics: WebSocket handshakes refused (middleware and per-handler policy) and
admitted, ``setup`` with the decorator only."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from conftest import Ctx
from web_harness import Harness, Resp, aiohttp_app

from hoody_claims.web import aiohttp as haiohttp


@pytest.fixture
async def served(ctx: Ctx) -> Any:
    h = Harness("aiohttp", send=lambda *a: Resp(0, [], b""))
    client = TestClient(TestServer(aiohttp_app(ctx.gate(), h)))
    await client.start_server()
    yield client, h
    await client.close()


@pytest.mark.parametrize(
    ("path", "claim", "status", "code"),
    [
        ("/ws", None, 401, "CLAIM_REQUIRED"),
        ("/ws", {"container_id": "fedcba9876543210fedcba98"}, 403, "WRONG_CONTAINER"),
        ("/ws/admin", {"type": "user"}, 403, "POLICY_DENIED"),
    ],
)
async def test_websocket_handshake_refused(
    served: Any, ctx: Ctx, path: str, claim: Any, status: int, code: str
) -> None:
    client, h = served
    headers = {} if claim is None else {"X-Hoody-Container-Claim": ctx.claim(**claim)}
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect(path, headers=headers)
    assert refused.value.status == status
    assert refused.value.headers is not None
    assert refused.value.headers.get("Cache-Control") == "no-store"
    async with client.get(path, headers=headers) as r:  # same refusal, body readable over HTTP
        assert r.status == status and (await r.json())["code"] == code
    assert h.entered == []


@pytest.mark.parametrize("path", ["/ws", "/ws/admin"])
async def test_websocket_admitted(served: Any, ctx: Ctx, path: str) -> None:
    client, h = served
    token = ctx.claim(sub="sock", type="admin")
    ws = await client.ws_connect(path, headers={"Cookie": f"hoody_claim={token}"})
    assert (await ws.receive_json())["sub"] == "sock"
    await ws.close()
    assert h.entered == [path]


async def test_setup_with_decorator_only(ctx: Ctx) -> None:
    @haiohttp.require_claim(users={"alice"})
    async def me(request: web.Request) -> web.Response:
        return web.Response(text=request["hoody_claim"].sub)

    async def open_(request: web.Request) -> web.Response:
        return web.Response(text="open")

    app = web.Application()
    haiohttp.setup(app, ctx.verifier(), guard_all=False)
    app.router.add_get("/me", me)
    app.router.add_get("/open", open_)
    async with TestClient(TestServer(app)) as client:
        assert (await (await client.get("/open")).text()) == "open"
        r = await client.get("/me")
        assert r.status == 401 and (await r.json())["code"] == "CLAIM_REQUIRED"
        r = await client.get("/me", headers={"X-Hoody-Container-Claim": ctx.claim(sub="alice")})
        assert (await r.text()) == "alice"
        r = await client.get("/me", headers={"X-Hoody-Container-Claim": ctx.claim(sub="eve")})
        assert r.status == 403


async def test_setup_guarding_everything(ctx: Ctx) -> None:
    async def home(request: web.Request) -> web.Response:
        return web.Response(text=request["hoody_claim"].type)

    app = web.Application()
    haiohttp.setup(app, ctx.verifier(), exempt_paths=("/healthz",), allow_types={"admin"})
    app.router.add_get("/", home)
    app.router.add_get("/healthz", _ok)
    async with TestClient(TestServer(app)) as client:
        assert (await client.get("/healthz")).status == 200
        assert (await client.get("/")).status == 401
        r = await client.get("/", headers={"X-Hoody-Container-Claim": ctx.claim(type="user")})
        assert r.status == 403
        r = await client.get("/", headers={"X-Hoody-Container-Claim": ctx.claim(type="admin")})
        assert (await r.text()) == "admin"


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")
