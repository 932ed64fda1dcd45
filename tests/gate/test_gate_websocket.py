"""WebSockets through the gate: a real web terminal, every frame type, close codes, expiry."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from hoody_claims.testing import Issuer

from .procs import CONTAINER, Gate, Upstream, start_gate

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def terminal() -> Iterator[Upstream]:
    term = Upstream("terminal_app.py")
    try:
        yield term
    finally:
        term.stop()


@pytest.fixture(scope="module")
def terminal_gate(terminal: Upstream, keys_file: str) -> Iterator[Gate]:
    g = start_gate(keys_file, "--upstream", terminal.url)
    try:
        yield g
    finally:
        g.stop()


async def _read_terminal_until(ws: aiohttp.ClientWebSocketResponse, needle: str) -> str:
    seen = ""
    deadline = time.monotonic() + 15
    while needle not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"terminal never printed {needle!r}; got {seen!r}"
        msg = await ws.receive(timeout=left)
        assert msg.type is aiohttp.WSMsgType.TEXT, msg
        kind, *rest = json.loads(msg.data)
        if kind == "stdout":
            seen += rest[0]
    return seen


async def test_web_terminal_through_the_gate(terminal_gate: Gate, claim: str) -> None:
    """Type a command into terminado's shell over the gate's WebSocket and read its output."""
    origin = terminal_gate.url  # as a browser on the gate's page would send it
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as s:
        # a browser's first load: claim in the query, moved into a cookie by the redirect
        async with s.get(terminal_gate.url + f"/?hoody_claim={claim}") as r:
            assert r.status == 200
            assert "terminal for alice" in await r.text()
        async with s.ws_connect(terminal_gate.url.replace("http", "ws") + "/websocket",
                                origin=origin) as ws:
            await ws.send_str(json.dumps(["stdin", "echo gate-$((6*7))-ok\r"]))
            out = await _read_terminal_until(ws, "gate-42-ok")
            assert "gate-42-ok" in out
            await ws.send_str(json.dumps(["set_size", 24, 80, 480, 640]))
            await ws.send_str(json.dumps(["stdin", "echo $((1+2))$((3+4))zz\r"]))
            await _read_terminal_until(ws, "37zz")
    rec = terminal_gate.wait_record(lambda r: r.get("path") == "/websocket")
    assert rec["status"] == 101 and rec["user"] == "alice"


async def test_web_terminal_handshake_refused_without_claim(terminal_gate: Gate) -> None:
    async with aiohttp.ClientSession() as s:
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await s.ws_connect(terminal_gate.url + "/websocket", origin=terminal_gate.url)
    assert info.value.status == 401
    rec = terminal_gate.wait_record(
        lambda r: r.get("path") == "/websocket" and r.get("status") == 401
    )
    assert rec["code"] == "CLAIM_REQUIRED"


async def test_web_terminal_origin_check_still_applies(terminal_gate: Gate, claim: str) -> None:
    """The terminal's own cross-origin check sees the real Host and Origin and refuses."""
    hdr = {"Authorization": f"HoodyClaim {claim}"}
    async with aiohttp.ClientSession() as s:
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await s.ws_connect(terminal_gate.url + "/websocket", headers=hdr,
                               origin="http://evil.example")
    assert info.value.status == 403


async def test_frames_pings_and_close_codes_pass_both_ways(
    gate: Gate, upstream: Upstream, claim: str
) -> None:
    hdr = {"Authorization": f"HoodyClaim {claim}", "X-Hoody-User": "mallory"}
    async with aiohttp.ClientSession() as s:
        ws = await s.ws_connect(gate.url + "/ws?hoody_claim=x", headers=hdr,
                                protocols=("chat.v1", "other"), autoping=False)
        assert ws.protocol == "chat.v1"  # the upstream's choice reaches the client
        await ws.send_str("hello ü")
        assert (await ws.receive(timeout=5)).data == "hello ü"
        blob = bytes(range(256)) * 300
        await ws.send_bytes(blob)
        msg = await ws.receive(timeout=5)
        assert msg.type is aiohttp.WSMsgType.BINARY and msg.data == blob
        await ws.ping(b"are-you-there")
        msg = await ws.receive(timeout=5)
        assert msg.type is aiohttp.WSMsgType.PONG and msg.data == b"are-you-there"
        # the client closes with its own code: the upstream sees that code
        await ws.close(code=4000, message=b"client done")
        assert ws.close_code == 4000
        async with s.get(upstream.url + "/stats") as r:
            st = await r.json()
    assert st["ws_close"]["code"] == 4000
    assert "are-you-there" in st["ws_pings"]
    h = {k.lower(): v for k, v in st["ws_headers"]}
    assert h["x-hoody-user"] == "alice"
    assert "authorization" not in h
    rec = gate.wait_record(lambda r: r.get("path") == "/ws" and r.get("ws_close") == 4000)
    assert rec["status"] == 101


async def test_upstream_close_code_reaches_the_client(gate: Gate, claim: str) -> None:
    hdr = {"Authorization": f"HoodyClaim {claim}"}
    async with aiohttp.ClientSession() as s:
        ws = await s.ws_connect(gate.url + "/ws", headers=hdr)
        await ws.send_str("close:4123:upstream says bye")
        msg = await ws.receive(timeout=5)
        assert msg.type is aiohttp.WSMsgType.CLOSE
        assert msg.data == 4123
        assert msg.extra == "upstream says bye"
        await ws.close()


async def test_upstream_vanishing_closes_the_client_with_1014(gate: Gate, claim: str) -> None:
    hdr = {"Authorization": f"HoodyClaim {claim}"}
    async with aiohttp.ClientSession() as s:
        ws = await s.ws_connect(gate.url + "/ws", headers=hdr)
        await ws.send_str("vanish")
        msg = await ws.receive(timeout=5)
        assert msg.type is aiohttp.WSMsgType.CLOSE
        assert msg.data == 1014  # bad gateway
        await ws.close()


async def test_claim_expiring_during_a_session_closes_with_4401(
    upstream: Upstream, keys_file: str, issuer: Issuer
) -> None:
    g = start_gate(keys_file, "--upstream", upstream.url, "--leeway", "0")
    try:
        now = int(time.time())
        short = issuer.container_claim(container_id=CONTAINER, sub="bob", iat=now, exp=now + 3)
        hdr = {"Authorization": f"HoodyClaim {short}"}
        async with aiohttp.ClientSession() as s:
            ws = await s.ws_connect(g.url + "/ws", headers=hdr)
            await ws.send_str("still valid")
            assert (await ws.receive(timeout=5)).data == "still valid"
            msg = await ws.receive(timeout=10)
            closed_at = time.time()
            assert msg.type is aiohttp.WSMsgType.CLOSE, msg
            assert msg.data == 4401
            assert msg.extra == "claim expired"
            assert now + 3 <= closed_at < now + 5
            await ws.close()
            # a new handshake with the same claim is refused now
            with pytest.raises(aiohttp.WSServerHandshakeError) as info:
                await s.ws_connect(g.url + "/ws", headers=hdr)
            assert info.value.status == 401
        rec = g.wait_record(lambda r: r.get("path") == "/ws" and r.get("status") == 101)
        assert rec["code"] == "CLAIM_EXPIRED" and rec["ws_close"] == 4401
    finally:
        g.stop()


async def test_expiry_close_can_be_switched_off(
    upstream: Upstream, keys_file: str, issuer: Issuer
) -> None:
    g = start_gate(keys_file, "--upstream", upstream.url, "--leeway", "0",
                   "--no-ws-close-on-expiry")
    try:
        now = int(time.time())
        short = issuer.container_claim(container_id=CONTAINER, iat=now, exp=now + 2)
        async with aiohttp.ClientSession() as s:
            ws = await s.ws_connect(g.url + "/ws", headers={"Authorization": f"HoodyClaim {short}"})
            await asyncio.sleep(3)
            await ws.send_str("after expiry")
            assert (await ws.receive(timeout=5)).data == "after expiry"
            await ws.close()
    finally:
        g.stop()


async def test_ws_upstream_down_is_502(keys_file: str, claim: str) -> None:
    g = start_gate(keys_file, "--upstream", "http://127.0.0.1:9")
    try:
        async with aiohttp.ClientSession() as s:
            with pytest.raises(aiohttp.WSServerHandshakeError) as info:
                await s.ws_connect(g.url + "/ws", headers={"Authorization": f"HoodyClaim {claim}"})
        assert info.value.status == 502
    finally:
        g.stop()


async def test_sigterm_closes_websockets_with_1001(
    upstream: Upstream, keys_file: str, claim: str
) -> None:
    g = start_gate(keys_file, "--upstream", upstream.url)
    try:
        async with aiohttp.ClientSession() as s:
            ws = await s.ws_connect(g.url + "/ws", headers={"Authorization": f"HoodyClaim {claim}"})
            g.popen.terminate()
            msg: Any = await ws.receive(timeout=10)
            assert msg.type is aiohttp.WSMsgType.CLOSE and msg.data == 1001
            await ws.close()
        assert g.popen.wait(10) == 0
    finally:
        g.stop()
