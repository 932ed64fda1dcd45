"""Raw ASGI: WebSocket handshakes refused before the app sees them (with and without the
``websocket.http.response`` extension), admitted ones, httpx's ASGI transport, lifespan."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from conftest import CID, ERROR_CASES, Ctx, assert_refused
from starlette.testclient import TestClient, WebSocketDenialResponse
from web_harness import Resp

from hoody_claims.web.asgi import SCOPE_KEY, HoodyClaimsMiddleware


def make_app(gate: Any, seen: list[dict[str, Any]]) -> HoodyClaimsMiddleware:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope)
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.send", "text": scope[SCOPE_KEY].sub})
            await send({"type": "websocket.close", "code": 1000})
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": scope[SCOPE_KEY].sub.encode()})

    return HoodyClaimsMiddleware(app, gatekeeper=gate)


@pytest.mark.parametrize("case", [c for c in ERROR_CASES if c.verifier is None], ids=lambda c: c.id)
def test_websocket_refused_with_http_denial(case: Any, ctx: Ctx) -> None:
    seen: list[dict[str, Any]] = []
    client = TestClient(make_app(ctx.gate(), seen))  # advertises websocket.http.response
    headers = {"X-Hoody-Container-Claim": case.token(ctx)}
    with client, pytest.raises(WebSocketDenialResponse) as denied:
        client.websocket_connect("/ws", headers=headers).__enter__()
    r = denied.value
    assert_refused(
        Resp(r.status_code, list(r.headers.multi_items()), r.content), case.status, case.code
    )
    assert [s["type"] for s in seen] == ["lifespan"]


def test_websocket_without_denial_extension_is_closed_before_accept(ctx: Ctx) -> None:
    import asyncio

    seen: list[dict[str, Any]] = []
    sent: list[dict[str, Any]] = []
    inbox = [{"type": "websocket.connect"}]

    async def receive() -> dict[str, Any]:
        return inbox.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "websocket", "path": "/ws", "headers": [(b"host", b"x")], "query_string": b""}
    asyncio.run(make_app(ctx.gate(), seen)(scope, receive, send))
    assert sent == [{"type": "websocket.close", "code": 1008, "reason": "CLAIM_REQUIRED"}]
    assert seen == [] and inbox == []


@pytest.mark.parametrize("where", ["header", "cookie", "query"])
def test_websocket_admitted(where: str, ctx: Ctx) -> None:
    seen: list[dict[str, Any]] = []
    token = ctx.claim(sub="ws-user")
    headers = {
        "header": {"X-Hoody-Container-Claim": token},
        "cookie": {"Cookie": f"hoody_claim={token}"},
    }
    path = f"/ws?hoody_claim={token}" if where == "query" else "/ws"
    client = TestClient(make_app(ctx.gate(), seen))
    with client, client.websocket_connect(path, headers=headers.get(where, {})) as ws:
        assert ws.receive_text() == "ws-user"
    assert seen[-1][SCOPE_KEY].container_id == CID


async def test_http_through_httpx_asgi_transport(ctx: Ctx) -> None:
    seen: list[dict[str, Any]] = []
    original: dict[str, Any] = {}
    app = make_app(ctx.gate(), seen)

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        original.update(scope)
        await app(scope, receive, send)

    transport = httpx.ASGITransport(app=recording)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        r = await client.get("/")
        assert r.status_code == 401 and r.json()["code"] == "CLAIM_REQUIRED"
        r = await client.get("/", headers={"Authorization": f"HoodyClaim {ctx.claim(sub='x')}"})
        assert r.status_code == 200 and r.text == "x"
        r = await client.head("/")
        assert r.status_code == 401 and r.content == b""
    assert SCOPE_KEY not in original  # the server's scope is copied, never mutated
    assert len(seen) == 1
