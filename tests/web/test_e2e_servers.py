"""End to end over real sockets on 127.0.0.1: a Starlette app under uvicorn (HTTP and
WebSocket, driven by httpx and ``websockets``) and a Flask app under gunicorn (a subprocess,
driven by httpx). Ports are picked at run time; servers are always stopped."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from conftest import CID, PID, Ctx, assert_refused
from web_harness import Harness, Resp, starlette_app
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as ws_connect

pytestmark = pytest.mark.slow
HERE = Path(__file__).resolve().parent


def _resp(r: httpx.Response) -> Resp:
    return Resp(r.status_code, [(k.lower(), v) for k, v in r.headers.multi_items()], r.content)


def _listening_socket() -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.contextmanager
def uvicorn_serving(app: Any) -> Iterator[str]:
    """Run ``app`` under uvicorn in a thread on a socket bound to a free port; always stop it."""
    sock = _listening_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            assert thread.is_alive(), "uvicorn stopped"
            time.sleep(0.02)
        yield f"127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def gunicorn_serving(env: dict[str, str], module: str = "e2e_flask_app:app") -> Iterator[str]:
    """Start gunicorn (a subprocess) on a free port; wait until it answers; always stop it."""
    for _attempt in range(3):
        port = free_port()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--chdir",
                str(HERE),
                "--log-level",
                "warning",
                module,
            ],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 20
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    time.sleep(0.05)
            if proc.poll() is None:
                yield f"127.0.0.1:{port}"
                return
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if proc.stderr is not None:
                proc.stderr.close()
    pytest.fail("gunicorn did not start")


def raw_get(addr: str, target: str) -> tuple[int, dict[str, str]]:
    """GET with the request target sent byte for byte (no client-side normalisation)."""
    host, port = addr.split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:])}
    return int(head[0].split()[1]), headers


def test_starlette_under_uvicorn_http(ctx: Ctx) -> None:
    h = Harness("starlette", send=lambda *a: Resp(0, [], b""))
    with (
        uvicorn_serving(starlette_app(ctx.gate(), h)) as addr,
        httpx.Client(base_url=f"http://{addr}", follow_redirects=False) as client,
    ):
        assert_refused(_resp(client.get("/")), 401, "CLAIM_REQUIRED")
        token = ctx.claim(sub="e2e", ttl=300)
        r = client.get("/", headers={"X-Hoody-Container-Claim": token})
        assert r.status_code == 200 and r.json()["sub"] == "e2e"
        r = client.get(f"/?q=1&hoody_claim={token}&r=2")
        assert r.status_code == 303 and r.headers["location"] == "/?q=1&r=2"
        assert r.headers["set-cookie"] == (
            f"hoody_claim={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age=300"
        )
        r = client.get(r.headers["location"], headers={"Cookie": f"hoody_claim={token}"})
        assert r.status_code == 200
        assert_refused(
            _resp(client.get("/admin", headers={"X-Hoody-Container-Claim": token})),
            403,
            "POLICY_DENIED",
        )
        assert client.get("/healthz").text == "ok"
        status, headers = raw_get(addr, f"//evil.example/x?hoody_claim={token}")
        assert status == 303 and headers["location"] == "/.//evil.example/x"
    assert h.entered == ["/", "/", "/healthz"]


def test_starlette_under_uvicorn_websocket(ctx: Ctx) -> None:
    h = Harness("starlette", send=lambda *a: Resp(0, [], b""))
    with uvicorn_serving(starlette_app(ctx.gate(), h)) as addr:
        url = f"ws://{addr}/ws"
        with pytest.raises(InvalidStatus) as refused:
            ws_connect(url, proxy=None, open_timeout=5).close()
        response = refused.value.response
        assert response.status_code == 401
        assert json.loads(response.body)["code"] == "CLAIM_REQUIRED"
        assert response.headers["WWW-Authenticate"] == 'HoodyClaim error="CLAIM_REQUIRED"'
        expired = ctx.claim(now=ctx.clock.now - 4000)
        with pytest.raises(InvalidStatus) as refused:
            ws_connect(url, proxy=None, additional_headers={"X-Hoody-Container-Claim": expired})
        assert refused.value.response.status_code == 401
        assert json.loads(refused.value.response.body)["code"] == "CLAIM_EXPIRED"
        with pytest.raises(InvalidStatus) as refused:
            ws_connect(
                f"ws://{addr}/ws/admin",
                proxy=None,
                additional_headers={"Cookie": f"hoody_claim={ctx.claim(type='user')}"},
            )
        assert refused.value.response.status_code == 403
        assert h.entered == []
        token = ctx.claim(sub="socket-user")
        with ws_connect(f"{url}?hoody_claim={token}", proxy=None) as ws:
            assert json.loads(ws.recv(timeout=5))["sub"] == "socket-user"
    assert h.entered == ["/ws"]


def test_flask_under_gunicorn(ctx: Ctx, tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(ctx.issuer.key_document()))
    env = {"HOODY_CONTAINER_ID": CID, "HOODY_CLAIMS_KEYS": str(keys), "HOME": str(tmp_path)}
    with (
        gunicorn_serving(env) as addr,
        httpx.Client(base_url=f"http://{addr}", follow_redirects=False) as client,
    ):
        assert client.get("/healthz").text == "ok"
        assert_refused(_resp(client.get("/")), 401, "CLAIM_REQUIRED")
        token = ctx.issuer.container_claim(container_id=CID, project_id=PID, sub="gu", ttl=120)
        r = client.get("/", headers={"Authorization": f"HoodyClaim {token}"})
        assert r.status_code == 200 and r.json() == {"sub": "gu"}
        r = client.get(f"/admin?hoody_claim={token}&keep=yes")
        assert r.status_code == 303 and r.headers["location"] == "/admin?keep=yes"
        assert r.headers["set-cookie"].startswith(f"hoody_claim={token}; HttpOnly; SameSite=Lax;")
        r = client.get("/admin", headers={"Cookie": f"hoody_claim={token}"})
        assert_refused(_resp(r), 403, "POLICY_DENIED")
        forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        r = client.get("/", headers={"Cookie": f"hoody_claim={forged}"})
        assert r.status_code == 401
        other = ctx.issuer.container_claim(container_id="fedcba9876543210fedcba98")
        assert_refused(
            _resp(client.get("/", headers={"X-Hoody-Container-Claim": other})),
            403,
            "WRONG_CONTAINER",
        )
