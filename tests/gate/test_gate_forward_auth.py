"""Forward-auth mode: the endpoint on its own, then behind Debian's real nginx (auth_request)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hoody_claims.testing import Issuer

from .procs import (
    CONTAINER,
    NGINX_MISSING,
    OTHER_CONTAINER,
    ROOT,
    Gate,
    Nginx,
    Upstream,
    find_nginx,
    free_port,
    start_gate,
)

pytestmark = pytest.mark.timeout(60)
DOC = ROOT / "docs" / "gate" / "nginx-forward-auth.conf"


@pytest.fixture(scope="module")
def auth_gate(keys_file: str) -> Iterator[Gate]:
    g = start_gate(keys_file, "--forward-auth")
    try:
        yield g
    finally:
        g.stop()


def _headers(echo: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in echo["headers"]:
        out.setdefault(name.lower(), []).append(value)
    return out


# -- the endpoint itself ----------------------------------------------------------------------


async def test_admits_with_identity_headers(auth_gate: Gate, claim: str) -> None:
    async with aiohttp.ClientSession() as s, s.get(
        auth_gate.url + "/check",
        headers={"X-Hoody-Container-Claim": claim, "X-Forwarded-Uri": "/term/ws?x=1",
                 "X-Forwarded-Method": "GET"},
    ) as r:
        assert r.status == 200
        assert r.headers["X-Hoody-User"] == "alice"
        assert r.headers["X-Hoody-User-Type"] == "admin"
        assert r.headers["X-Hoody-Container"] == CONTAINER
        assert "Set-Cookie" not in r.headers
    rec = auth_gate.wait_record(lambda r: r.get("path") == "/term/ws")
    assert rec["user"] == "alice" and rec["status"] == 200


async def test_refuses_with_the_shared_envelope(auth_gate: Gate, issuer: Issuer) -> None:
    other = issuer.container_claim(container_id=OTHER_CONTAINER)
    async with aiohttp.ClientSession() as s:
        async with s.get(auth_gate.url + "/", headers={"X-Original-URI": "/x"}) as r:
            assert r.status == 401
            assert (await r.json())["code"] == "CLAIM_REQUIRED"
            assert "X-Hoody-User" not in r.headers
        async with s.get(auth_gate.url + "/", headers={"Cookie": f"hoody_claim={other}",
                                                       "X-Original-URI": "/x"}) as r:
            assert r.status == 403
            assert (await r.json())["code"] == "WRONG_CONTAINER"


async def test_query_claim_from_the_original_uri(auth_gate: Gate, claim: str) -> None:
    async with aiohttp.ClientSession() as s, s.get(
        auth_gate.url + "/",
        headers={"X-Original-URI": f"/page?a=1&hoody_claim={claim}", "Host": "127.0.0.1:8080"},
    ) as r:
        assert r.status == 200
        assert r.headers["X-Hoody-User"] == "alice"
        cookie = r.headers["Set-Cookie"]
        assert cookie.startswith(f"hoody_claim={claim};") and "HttpOnly" in cookie


async def test_query_redirect_when_asked(keys_file: str, claim: str) -> None:
    g = start_gate(keys_file, "--forward-auth", "--query-redirect")
    try:
        async with aiohttp.ClientSession() as s, s.get(
            g.url + "/", headers={"X-Forwarded-Uri": f"/page?hoody_claim={claim}&b=2",
                                  "X-Forwarded-Method": "GET"},
            allow_redirects=False,
        ) as r:
            assert r.status == 303
            assert r.headers["Location"] == "/page?b=2"
    finally:
        g.stop()


async def test_health_is_the_gates_own_path_only(auth_gate: Gate) -> None:
    async with aiohttp.ClientSession() as s:
        async with s.get(auth_gate.url + "/_hoody/health") as r:
            assert r.status == 200
        # a forwarded check is never mistaken for the health probe
        async with s.get(auth_gate.url + "/_hoody/health",
                         headers={"X-Original-URI": "/_hoody/health"}) as r:
            assert r.status == 401


# -- behind Debian's nginx, with the shipped example config ---------------------------------


@pytest.fixture(scope="module")
def nginx_front(
    auth_gate: Gate, upstream: Upstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Nginx]:
    if find_nginx() is None:
        pytest.fail(NGINX_MISSING)
    port = free_port()
    site = DOC.read_text()
    for old, new in (
        ("127.0.0.1:9090", f"127.0.0.1:{auth_gate.port}"),
        ("127.0.0.1:7681", f"127.0.0.1:{upstream.port}"),
        ("listen 127.0.0.1:8080", f"listen 127.0.0.1:{port}"),
    ):
        assert old in site, f"{DOC} no longer has {old!r}"
        site = site.replace(old, new)
    nginx = Nginx(site, Path(tmp_path_factory.mktemp("nginx")), port)
    try:
        yield nginx
    finally:
        nginx.stop()


async def test_nginx_refuses_without_claim(nginx_front: Nginx, auth_gate: Gate) -> None:
    async with aiohttp.ClientSession() as s, s.get(nginx_front.url + "/echo/secret") as r:
        assert r.status == 401
        assert r.headers.get("WWW-Authenticate", "").startswith("HoodyClaim")
    auth_gate.wait_record(lambda r: r.get("path") == "/echo/secret" and r["status"] == 401)


async def test_nginx_admits_and_passes_identity(
    nginx_front: Nginx, auth_gate: Gate, claim: str
) -> None:
    headers = {
        "X-Hoody-Container-Claim": claim,
        "X-Hoody-User": "mallory",
        "X-Hoody-User-Type": "root",
        "Cookie": "theme=dark; lang=en",
    }
    async with aiohttp.ClientSession() as s, s.post(
        nginx_front.url + "/echo/in?q=1", headers=headers, data=b"body bytes"
    ) as r:
        assert r.status == 200, nginx_front.error_log()
        echo = await r.json()
    h = _headers(echo)
    assert h["x-hoody-user"] == ["alice"]
    assert h["x-hoody-user-type"] == ["admin"]
    assert h["x-hoody-container"] == [CONTAINER]
    assert "x-hoody-container-claim" not in h
    assert h["cookie"] == ["theme=dark; lang=en"]
    assert echo["length"] == len(b"body bytes")
    rec = auth_gate.wait_record(lambda r: r.get("path") == "/echo/in" and r["status"] == 200)
    assert rec["method"] == "POST" and rec["user"] == "alice"


async def test_nginx_cookie_and_authorization_forms(
    nginx_front: Nginx, claim: str, issuer: Issuer
) -> None:
    async with aiohttp.ClientSession() as s:
        async with s.get(nginx_front.url + "/echo/c", headers={
            "Cookie": f"a=1; hoody_claim={claim}; b=2"}) as r:
            assert r.status == 200
            h = _headers(await r.json())
            assert h["x-hoody-user"] == ["alice"]
            assert h["cookie"] == ["a=1; b=2"]
        async with s.get(nginx_front.url + "/echo/a",
                         headers={"Authorization": f"HoodyClaim {claim}"}) as r:
            assert r.status == 200
            h = _headers(await r.json())
            assert "authorization" not in h
        expired = issuer.container_claim(container_id=CONTAINER, iat=int(time.time()) - 99,
                                         exp=int(time.time()) - 60)
        async with s.get(nginx_front.url + "/echo/e",
                         headers={"Authorization": f"HoodyClaim {expired}"}) as r:
            assert r.status == 401
        other = issuer.container_claim(container_id=OTHER_CONTAINER)
        async with s.get(nginx_front.url + "/echo/o",
                         headers={"Authorization": f"HoodyClaim {other}"}) as r:
            assert r.status == 403


async def test_nginx_query_claim_sets_the_cookie(nginx_front: Nginx, claim: str) -> None:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as s:
        async with s.get(nginx_front.url + f"/echo/first?hoody_claim={claim}") as r:
            assert r.status == 200
            assert r.headers["Set-Cookie"].startswith("hoody_claim=")
        async with s.get(nginx_front.url + "/echo/second") as r:  # cookie from now on
            assert r.status == 200
            assert _headers(await r.json())["x-hoody-user"] == ["alice"]


async def test_nginx_websocket_behind_forward_auth(nginx_front: Nginx, claim: str) -> None:
    async with aiohttp.ClientSession() as s:
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await s.ws_connect(nginx_front.url + "/ws")
        assert info.value.status == 401
        ws = await s.ws_connect(nginx_front.url + "/ws",
                                headers={"Authorization": f"HoodyClaim {claim}"})
        await ws.send_str("through nginx")
        assert (await ws.receive(timeout=5)).data == "through nginx"
        await ws.close()


async def test_nginx_streams_sse(nginx_front: Nginx, claim: str) -> None:
    arrivals = []
    async with aiohttp.ClientSession() as s, s.get(
        nginx_front.url + "/sse?n=3&gap=0.3", headers={"Authorization": f"HoodyClaim {claim}"}
    ) as r:
        assert r.status == 200
        async for _chunk in r.content.iter_any():
            arrivals.append(time.monotonic())
    assert len(arrivals) >= 3 and arrivals[-1] - arrivals[0] > 0.4
