"""Process-level behaviour: graceful SIGTERM, connection cap, workers, the command line."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time

import aiohttp
import pytest

from hoody_claims.testing import Issuer

from .procs import CONTAINER, Gate, Upstream, child_env, start_gate

pytestmark = pytest.mark.timeout(60)


async def test_sigterm_lets_in_flight_requests_finish(
    upstream: Upstream, keys_file: str, claim: str
) -> None:
    g = start_gate(keys_file, "--upstream", upstream.url, "--drain-timeout", "5")
    try:
        hdr = {"Authorization": f"HoodyClaim {claim}"}
        async with aiohttp.ClientSession() as s:
            slow = asyncio.ensure_future(s.get(g.url + "/slow?s=1.5", headers=hdr))
            await asyncio.sleep(0.5)  # the request is in flight, upstream still sleeping
            g.popen.terminate()
            resp = await slow
            assert resp.status == 200
            assert await resp.text() == "slow done"
            resp.release()
        assert await asyncio.to_thread(g.popen.wait, 10) == 0
        events = [r.get("event") for r in g.records()]
        assert events.count("stopping") == 1 and events.count("stopped") == 1
        with pytest.raises(OSError):  # nothing listens any more
            socket.create_connection(("127.0.0.1", g.port), timeout=1).close()
    finally:
        g.stop()


async def test_drain_is_bounded(upstream: Upstream, keys_file: str, claim: str) -> None:
    g = start_gate(keys_file, "--upstream", upstream.url, "--drain-timeout", "1")
    try:
        hdr = {"Authorization": f"HoodyClaim {claim}"}
        async with aiohttp.ClientSession() as s:
            stuck = asyncio.ensure_future(s.get(g.url + "/hang", headers=hdr))
            await asyncio.sleep(0.3)
            started = time.monotonic()
            g.popen.terminate()
            assert await asyncio.to_thread(g.popen.wait, 10) == 0
            assert time.monotonic() - started < 4
            with pytest.raises(aiohttp.ClientError):
                await stuck
        rec = g.wait_record(lambda r: r.get("path") == "/hang")
        assert rec["code"] == "SHUTDOWN"
    finally:
        g.stop()


def test_connection_cap_answers_503(upstream: Upstream, keys_file: str) -> None:
    g = start_gate(keys_file, "--upstream", upstream.url, "--max-connections", "2")
    held = []
    try:
        for _ in range(2):
            held.append(socket.create_connection(("127.0.0.1", g.port), timeout=5))
        time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", g.port), timeout=5) as extra:
            extra.sendall(b"GET /_hoody/health HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = extra.recv(4096)
        assert answer.startswith(b"HTTP/1.1 503 ")
        body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
        assert body["code"] == "TOO_MANY_CONNECTIONS"
        for sk in held:
            sk.close()
        time.sleep(0.3)
        with socket.create_connection(("127.0.0.1", g.port), timeout=5) as ok:
            ok.sendall(b"GET /_hoody/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert ok.recv(4096).startswith(b"HTTP/1.1 200 ")
    finally:
        for sk in held:
            sk.close()
        g.stop()


def test_idle_client_connections_are_closed(upstream: Upstream, keys_file: str) -> None:
    g = start_gate(keys_file, "--upstream", upstream.url, "--keepalive-timeout", "1")
    try:
        with socket.create_connection(("127.0.0.1", g.port), timeout=5) as sk:
            started = time.monotonic()
            assert sk.recv(100) == b""  # closed by the gate, having sent nothing
            assert time.monotonic() - started < 4
    finally:
        g.stop()


async def test_two_workers_share_the_port(upstream: Upstream, keys_file: str, claim: str) -> None:
    g = start_gate(keys_file, "--upstream", upstream.url, "--workers", "2")
    try:
        rec = g.wait_record(lambda r: r.get("event") == "listening")
        assert len(rec["workers"]) == 2
        hdr = {"Authorization": f"HoodyClaim {claim}"}
        async with aiohttp.ClientSession() as s:
            for _ in range(40):
                async with s.get(g.url + "/echo/w", headers=hdr) as r:
                    assert r.status == 200
                async with aiohttp.ClientSession() as fresh, fresh.get(
                    g.url + "/_hoody/health"
                ) as r:
                    assert r.status == 200
        assert g.stop() == 0
        assert len(g.requests()) == 80
        for pid in rec["workers"]:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
    finally:
        g.stop()


def test_env_and_config_file_configure_the_gate(
    upstream: Upstream, keys_file: str, claim: str, tmp_path: os.PathLike[str]
) -> None:
    conf = os.path.join(tmp_path, "gate.toml")
    with open(conf, "w") as f:
        f.write(f'upstream = "{upstream.url}"\nkeys = "{keys_file}"\nallow-type = ["admin"]\n')
    env = child_env(HOODY_GATE_CONFIG=conf, HOODY_CONTAINER_ID=CONTAINER,
                    HOODY_GATE_ACCESS_LOG="off")
    g = Gate([], env=env)
    try:
        import urllib.request

        req = urllib.request.Request(g.url + "/echo/env",
                                     headers={"Authorization": f"HoodyClaim {claim}"})
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 200
        assert not g.requests()  # access log off from the environment
    finally:
        g.stop()


def test_bad_configuration_exits_2_with_a_message(
    keys_file: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from hoody_claims.gate.cli import main

    for key in [k for k in os.environ if k.startswith(("HOODY_GATE_", "HOODY_CONTAINER"))]:
        monkeypatch.delenv(key)
    cases = [
        (["--upstream", "http://127.0.0.1:1"], {}, "container id"),
        (["--container-id", CONTAINER, "--keys", keys_file], {}, "--upstream URL is required"),
        (["--container-id", "nope", "--keys", keys_file, "--upstream", "http://x:1"], {},
         "container_id"),
        (["--container-id", CONTAINER, "--keys", "/nonexistent", "--upstream", "http://x:1"], {},
         "no such file"),
        (["--container-id", CONTAINER, "--keys", keys_file, "--upstream", "ftp://x"], {},
         "expected http"),
        (["--container-id", CONTAINER, "--keys", keys_file, "--forward-auth",
          "--upstream", "http://x:1"], {}, "no meaning"),
        (["--container-id", CONTAINER, "--keys", keys_file, "--upstream", "http://x:1"],
         {"HOODY_GATE_UPSTREAM_TIMEOUT": "soon"}, "HOODY_GATE_UPSTREAM_TIMEOUT"),
    ]
    for args, extra, needle in cases:
        with monkeypatch.context() as m:
            for k, v in extra.items():
                m.setenv(k, v)
            assert main(["--listen", "127.0.0.1:0", *args]) == 2, args
        err = capsys.readouterr().err
        assert err.startswith("hoody-claims gate: ") and needle in err, (needle, err)


def test_bad_configuration_exit_code_from_the_real_command() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hoody_claims.gate", "--upstream", "http://127.0.0.1:1"],
        env=child_env(), capture_output=True, text=True, timeout=30,
    )
    assert proc.returncode == 2
    assert "no container id" in proc.stderr


async def test_keys_fetched_from_the_api_and_refused_while_unavailable(
    upstream: Upstream, issuer: Issuer, claim: str, tmp_path: os.PathLike[str]
) -> None:
    """The production path: --keys is the API base; keys are fetched off the event loop."""
    hdr = {"Authorization": f"HoodyClaim {claim}"}
    with issuer.serve() as api_base:
        g = Gate(["--keys", api_base, "--cache-dir", str(tmp_path), "--container-id",
                  CONTAINER, "--upstream", upstream.url])
        try:
            async with aiohttp.ClientSession() as s, s.get(g.url + "/echo/k", headers=hdr) as r:
                assert r.status == 200
        finally:
            g.stop()
    # nothing serves keys and nothing is cached: the gate still starts, and says 503
    empty = os.path.join(tmp_path, "empty")
    os.mkdir(empty)
    g = Gate(["--keys", "http://127.0.0.1:9", "--cache-dir", empty, "--container-id",
              CONTAINER, "--upstream", upstream.url])
    try:
        async with aiohttp.ClientSession() as s, s.get(g.url + "/echo/k", headers=hdr) as r:
            assert r.status == 503
            assert (await r.json())["code"] == "KEY_FETCH_FAILED"
        async with aiohttp.ClientSession() as s, s.get(g.url + "/_hoody/health") as r:
            assert r.status == 200
    finally:
        g.stop()
