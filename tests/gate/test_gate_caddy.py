"""The shipped Caddyfile (docs/gate/Caddyfile) with Debian's caddy and the forward-auth gate.

Needs Debian's caddy (``apt-get install -y caddy``; ``.ci/run`` installs it when missing):
without it the test fails, it does not skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hoody_claims.testing import Issuer

from .procs import CONTAINER, OTHER_CONTAINER, ROOT, Gate, Proc, Upstream, free_port, start_gate

pytestmark = [pytest.mark.timeout(60)]
DOC = ROOT / "docs" / "gate" / "Caddyfile"


@pytest.fixture(scope="module")
def caddy(upstream: Upstream, keys_file: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Proc, Gate, str]]:
    if shutil.which("caddy") is None:
        raise AssertionError(
            "caddy is not installed, and this test runs Debian's real caddy: "
            "apt-get update && apt-get install -y caddy   (.ci/run does this when it is missing)"
        )
    gate = start_gate(keys_file, "--forward-auth", "--query-redirect")
    port = free_port()
    text = DOC.read_text()
    for old, new in (("127.0.0.1:9090", f"127.0.0.1:{gate.port}"),
                     ("127.0.0.1:7681", f"127.0.0.1:{upstream.port}"),
                     ("http://127.0.0.1:8080", f"http://127.0.0.1:{port}")):
        assert old in text, f"{DOC} no longer has {old!r}"
        text = text.replace(old, new)
    tmp = Path(tmp_path_factory.mktemp("caddy"))
    (tmp / "Caddyfile").write_text(text)
    env = {**os.environ, "HOME": str(tmp), "XDG_DATA_HOME": str(tmp), "XDG_CONFIG_HOME": str(tmp)}
    proc = Proc(["caddy", "run", "--config", str(tmp / "Caddyfile"), "--adapter", "caddyfile"],
                env=env)
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.popen.poll() is not None:
                proc.stop()
                gate.stop()
                raise AssertionError("caddy did not start:\n" + proc.text()) from None
            time.sleep(0.05)
    try:
        yield proc, gate, f"http://127.0.0.1:{port}"
    finally:
        proc.stop()
        gate.stop()


def _headers(echo: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in echo["headers"]:
        out.setdefault(name.lower(), []).append(value)
    return out


async def test_caddy_forward_auth(caddy: tuple[Proc, Gate, str], claim: str,
                                  issuer: Issuer) -> None:
    _, gate, url = caddy
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as s:
        async with s.get(url + "/echo/x") as r:
            assert r.status == 401
            assert (await r.json())["code"] == "CLAIM_REQUIRED"
        other = issuer.container_claim(container_id=OTHER_CONTAINER)
        async with s.get(url + "/echo/x", headers={"X-Hoody-Container-Claim": other}) as r:
            assert r.status == 403
        spoof = {"X-Hoody-Container-Claim": claim, "X-Hoody-User": "mallory",
                 "Cookie": "a=1; b=2"}
        async with s.get(url + "/echo/x", headers=spoof) as r:
            assert r.status == 200
            h = _headers(await r.json())
        assert h["x-hoody-user"] == ["alice"] and h["x-hoody-container"] == [CONTAINER]
        assert "x-hoody-container-claim" not in h
        assert h["cookie"] == ["a=1; b=2"]
        # the query form: the gate's 303 reaches the browser, the cookie works from then on
        async with s.get(url + f"/echo/q?hoody_claim={claim}&k=v") as r:
            assert r.status == 200
            assert str(r.url).endswith("/echo/q?k=v")
            echo = await r.json()
        h = _headers(echo)
        assert h["x-hoody-user"] == ["alice"]
        assert h["cookie"] == ["hoody_claim="]  # the claim's value does not reach the program
        async with s.get(url + "/echo/a", headers={"Authorization": f"HoodyClaim {claim}"}) as r:
            assert r.status == 200
            h = _headers(await r.json())
        assert h["authorization"] == ["HoodyClaim"]  # scheme left, the claim itself gone
        async with s.get(url + "/echo/b", headers={"Authorization": "Bearer app-token",
                                                   "X-Hoody-Container-Claim": claim}) as r:
            assert r.status == 200
            assert _headers(await r.json())["authorization"] == ["Bearer app-token"]
        ws = await s.ws_connect(url + "/ws")
        await ws.send_str("via caddy")
        assert (await ws.receive(timeout=5)).data == "via caddy"
        await ws.close()
    rec = gate.wait_record(lambda r: r.get("path") == "/echo/q" and r.get("status") == 303)
    assert rec["method"] == "GET"
