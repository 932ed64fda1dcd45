"""Reverse-proxy mode over real sockets: admission, header rewriting, streaming, failures."""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import time
from typing import Any

import aiohttp
import pytest

from hoody_claims.testing import Issuer

from .procs import CONTAINER, OTHER_CONTAINER, Gate, Upstream, start_gate

pytestmark = pytest.mark.timeout(60)


def _headers(echo: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in echo["headers"]:
        out.setdefault(name.lower(), []).append(value)
    return out


async def test_no_claim_is_refused_in_the_envelope(gate: Gate) -> None:
    async with aiohttp.ClientSession() as s, s.get(gate.url + "/echo/x") as r:
        assert r.status == 401
        body = await r.json()
        assert body["code"] == "CLAIM_REQUIRED"
        assert body["statusCode"] == 401
        assert r.headers["WWW-Authenticate"].startswith("HoodyClaim")
        assert r.headers["Cache-Control"] == "no-store"


async def test_bad_claims_are_refused_with_their_codes(gate: Gate, issuer: Issuer) -> None:
    other = issuer.container_claim(container_id=OTHER_CONTAINER)
    expired = issuer.container_claim(container_id=CONTAINER, iat=int(time.time()) - 7200,
                                     exp=int(time.time()) - 3600)
    forged = Issuer(kid=issuer.kid).container_claim(container_id=CONTAINER)
    async with aiohttp.ClientSession() as s:
        for token, status, code in (
            (other, 403, "WRONG_CONTAINER"),
            (expired, 401, "CLAIM_EXPIRED"),
            (forged, 401, "INVALID_SIGNATURE"),
            ("not-a-claim", 401, "MALFORMED_CLAIM"),
        ):
            async with s.get(gate.url + "/echo", headers={"X-Hoody-Container-Claim": token}) as r:
                assert r.status == status
                assert (await r.json())["code"] == code


async def test_health_needs_no_claim(gate: Gate) -> None:
    async with aiohttp.ClientSession() as s, s.get(gate.url + "/_hoody/health") as r:
        assert r.status == 200
        assert await r.json() == {"status": "ok"}


async def test_identity_replaces_spoofed_headers_and_claim_is_stripped(
    gate: Gate, claim: str
) -> None:
    headers = [
        ("Authorization", f"HoodyClaim {claim}"),
        ("X-Hoody-User", "mallory"),
        ("x-hoody-user-type", "admin"),
        ("X-Hoody-Container", "ffffffffffffffffffffffff"),
        ("Cookie", f"theme=dark; hoody_claim={claim}; lang=en"),
        ("X-Hoody-Container-Claim", claim),
        ("Connection", "keep-alive, X-Private-Hop"),
        ("X-Private-Hop", "secret"),
        ("Keep-Alive", "timeout=5"),
        ("TE", "trailers"),
        ("X-Forwarded-For", "10.1.2.3"),
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Host", "evil.example"),
        ("X-Custom", "kept"),
    ]
    url = gate.url + f"/echo/a%2Fb/c?x=1&hoody_claim={claim}&y=%20z"
    async with aiohttp.ClientSession() as s, s.post(url, headers=headers, data=b"hello") as r:
        assert r.status == 200, await r.text()
        echo = await r.json()
    h = _headers(echo)
    assert h["x-hoody-user"] == ["alice"]
    assert h["x-hoody-user-type"] == ["admin"]
    assert h["x-hoody-container"] == [CONTAINER]
    assert "authorization" not in h
    assert "x-hoody-container-claim" not in h
    assert h["cookie"] == ["theme=dark; lang=en"]
    for hop in ("x-private-hop", "keep-alive", "te"):
        assert hop not in h
    assert h["x-forwarded-for"] == ["10.1.2.3, 127.0.0.1"]
    assert h["x-forwarded-proto"] == ["http"]
    assert h["x-forwarded-host"] == [f"127.0.0.1:{gate.port}"]
    assert h["host"] == [f"127.0.0.1:{gate.port}"]  # preserved by default
    assert h["x-custom"] == ["kept"]
    assert echo["raw_path"] == "/echo/a%2Fb/c?x=1&y=%20z"  # raw path kept, claim param gone
    assert echo["length"] == 5
    assert claim not in json.dumps(echo)
    # ...and the access log never carries it either
    rec = gate.wait_record(lambda r: r.get("path") == "/echo/a/b/c")
    assert rec["user"] == "alice" and rec["status"] == 200 and rec["method"] == "POST"
    assert claim not in gate.text()


async def test_query_claim_redirects_into_a_cookie(gate: Gate, claim: str) -> None:
    jar = aiohttp.CookieJar(unsafe=True)  # aiohttp keeps no cookies for IP hosts otherwise
    async with aiohttp.ClientSession(cookie_jar=jar) as s:
        url = gate.url + f"/echo/page?a=1&hoody_claim={claim}"
        async with s.get(url, allow_redirects=False) as r:
            assert r.status == 303
            assert r.headers["Location"] == "/echo/page?a=1"
            assert r.headers["Set-Cookie"].startswith("hoody_claim=")
        async with s.get(gate.url + "/echo/page?a=1") as r:  # the jar now holds the cookie
            assert r.status == 200
            assert _headers(await r.json())["x-hoody-user"] == ["alice"]


async def test_keep_alive_to_client_and_upstream(gate: Gate, claim: str) -> None:
    hdr = {"Authorization": f"HoodyClaim {claim}"}
    opened = []

    async def on_create(*_: Any) -> None:
        opened.append(1)

    trace = aiohttp.TraceConfig()
    trace.on_connection_create_end.append(on_create)
    conn = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(connector=conn, trace_configs=[trace]) as s:
        ports = []
        for _ in range(5):
            async with s.get(gate.url + "/echo/ka", headers=hdr) as r:
                assert r.status == 200
                ports.append((await r.json())["peer_port"])
    assert len(opened) == 1, "the client connection was not kept alive"
    assert len(set(ports)) == 1, f"the upstream connection was not reused: {ports}"


async def test_sse_is_delivered_event_by_event(gate: Gate, claim: str) -> None:
    hdr = {"Authorization": f"HoodyClaim {claim}"}
    arrivals: list[tuple[float, float]] = []
    async with aiohttp.ClientSession() as s, s.get(
        gate.url + "/sse?n=4&gap=0.4", headers=hdr
    ) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/event-stream")
        buf = b""
        async for chunk in r.content.iter_any():
            buf += chunk
            while b"\n\n" in buf:
                event, buf = buf.split(b"\n\n", 1)
                sent = float(event.split(b"data: ")[1])
                arrivals.append((sent, time.time()))
    assert len(arrivals) == 4
    for sent, got in arrivals:
        assert got - sent < 0.25, "an event was held back instead of streamed"
    # and they really were spread out: the first arrived well before the last was sent
    assert arrivals[-1][0] - arrivals[0][1] > 0.8


async def test_status_codes_head_and_no_body(gate: Gate, claim: str) -> None:
    hdr = {"Authorization": f"HoodyClaim {claim}"}
    async with aiohttp.ClientSession() as s:
        for code in (204, 304, 404, 418, 500):
            async with s.get(gate.url + f"/status/{code}", headers=hdr) as r:
                assert r.status == code
                assert r.headers.get("X-Upstream") == "yes"
                assert await r.read() == b""
        async with s.head(gate.url + "/echo/h", headers=hdr) as r:
            assert r.status == 200
            assert int(r.headers["Content-Length"]) > 0
            assert await r.read() == b""
        # the envelope of a gate-side error is JSON, an upstream's own error is passed as is
        async with s.get(gate.url + "/echo/after-head", headers=hdr) as r:
            assert r.status == 200


async def test_chunked_upload_is_streamed(gate: Gate, claim: str) -> None:
    hdr = {"Authorization": f"HoodyClaim {claim}"}
    parts = [bytes([i]) * 1000 for i in range(50)]

    async def gen() -> Any:
        for p in parts:
            yield p
            await asyncio.sleep(0)

    async with aiohttp.ClientSession() as s, s.post(
        gate.url + "/upload", headers=hdr, data=gen()
    ) as r:
        echo = await r.json()
    assert echo["length"] == 50_000
    assert echo["sha256"] == hashlib.sha256(b"".join(parts)).hexdigest()
    assert _headers(echo)["transfer-encoding"] == ["chunked"]


async def test_upstream_truncating_its_body_is_not_passed_as_complete(
    gate: Gate, claim: str
) -> None:
    hdr = {"Authorization": f"HoodyClaim {claim}"}
    async with aiohttp.ClientSession() as s:
        with pytest.raises(aiohttp.ClientPayloadError):
            async with s.get(gate.url + "/truncated", headers=hdr) as r:
                assert r.status == 200
                await r.read()
    gate.wait_record(lambda r: r.get("path") == "/truncated" and r["code"] == "UPSTREAM_BROKEN")


async def test_upstream_hanging_is_504(gate: Gate, claim: str) -> None:
    hdr = {"Authorization": f"HoodyClaim {claim}"}
    started = time.monotonic()
    async with aiohttp.ClientSession() as s, s.get(gate.url + "/hang", headers=hdr) as r:
        assert r.status == 504
        body = await r.json()
    assert body["code"] == "UPSTREAM_TIMEOUT" and body["statusCode"] == 504
    assert 1.5 < time.monotonic() - started < 6  # --upstream-timeout 2


async def test_client_disconnect_cancels_the_upstream_request(
    gate: Gate, upstream: Upstream, claim: str
) -> None:
    hdr = {"Authorization": f"HoodyClaim {claim}"}
    async with aiohttp.ClientSession() as s:
        r = await s.get(gate.url + "/forever", headers=hdr)
        assert r.status == 200
        await r.content.readexactly(4096)
        r.close()  # drop the connection mid-stream
        gone_at = time.time()
        deadline = time.monotonic() + 5
        state: dict[str, Any] = {}
        while time.monotonic() < deadline:
            async with s.get(upstream.url + "/stats") as st:
                state = (await st.json())["forever"]
            if state["state"] == "client_gone":
                break
            await asyncio.sleep(0.05)
    assert state["state"] == "client_gone", state
    assert state["at"] - gone_at < 2.0
    gate.wait_record(lambda r: r.get("path") == "/forever" and r.get("code") == "CLIENT_CLOSED")


async def test_upstream_down_is_502(keys_file: str, claim: str) -> None:
    with socket.socket() as sk:  # a port nobody listens on
        sk.bind(("127.0.0.1", 0))
        dead = sk.getsockname()[1]
    g = start_gate(keys_file, "--upstream", f"http://127.0.0.1:{dead}")
    try:
        hdr = {"Authorization": f"HoodyClaim {claim}"}
        async with aiohttp.ClientSession() as s, s.get(g.url + "/x", headers=hdr) as r:
            assert r.status == 502
            body = await r.json()
        assert body == {
            "statusCode": 502,
            "error": "Bad Gateway",
            "message": body["message"],
            "code": "UPSTREAM_UNAVAILABLE",
        }
        async with aiohttp.ClientSession() as s, s.get(g.url + "/x") as r:
            assert r.status == 401  # no claim: refused before the upstream is even tried
    finally:
        g.stop()


def test_header_too_large_is_refused(gate: Gate) -> None:
    with socket.create_connection(("127.0.0.1", gate.port), timeout=5) as sk:
        sk.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n")
        answer = sk.recv(200)
    assert answer.split(b"\r\n")[0].split(b" ")[1] in (b"400", b"431"), answer


def _raw_request(port: int, head: str) -> socket.socket:
    sk = socket.create_connection(("127.0.0.1", port), timeout=10)
    sk.sendall(head.encode())
    return sk


def test_expect_100_continue_only_after_admission(gate: Gate, claim: str) -> None:
    head = ("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
            "Expect: 100-continue\r\n{auth}\r\n")
    with _raw_request(gate.port, head.format(auth=f"Authorization: HoodyClaim {claim}\r\n")) as sk:
        assert sk.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sk.sendall(b"hello")
        answer = b""
        while b'"sha256"' not in answer:
            answer += sk.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200 ") and b'"length": 5' in answer
    with _raw_request(gate.port, head.format(auth="")) as sk:
        assert sk.recv(100).startswith(b"HTTP/1.1 401 ")


def test_client_that_stops_reading_is_cut_off(
    upstream: Upstream, keys_file: str, claim: str
) -> None:
    g = start_gate(keys_file, "--upstream", upstream.url, "--client-timeout", "1")
    try:
        with _raw_request(g.port, f"GET /download?mb=50 HTTP/1.1\r\nHost: x\r\n"
                                  f"Authorization: HoodyClaim {claim}\r\n\r\n") as sk:
            sk.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            assert sk.recv(100).startswith(b"HTTP/1.1 200 ")
            rec = g.wait_record(lambda r: r.get("path") == "/download", timeout=15)
        assert rec["code"] == "CLIENT_TIMEOUT"
    finally:
        g.stop()


def test_client_that_stalls_its_upload_is_cut_off(
    upstream: Upstream, keys_file: str, claim: str
) -> None:
    g = start_gate(keys_file, "--upstream", upstream.url, "--client-timeout", "1")
    try:
        with _raw_request(g.port, f"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                                  f"Authorization: HoodyClaim {claim}\r\n\r\nonly-part") as sk:
            started = time.monotonic()
            while sk.recv(65536):  # whatever comes, the gate closes the connection
                pass
            assert time.monotonic() - started < 5
        rec = g.wait_record(lambda r: r.get("path") == "/upload")
        assert rec["code"] == "CLIENT_TIMEOUT"
    finally:
        g.stop()
