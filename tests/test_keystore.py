"""SPEC §1 fetching: a real HTTP server on 127.0.0.1, never a patched fetch."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import hoody_claims as hc
from hoody_claims.testing import Issuer

from .conftest import CID
from .keyserver import Behaviour, KeyServer


class Clock:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def server(issuer: Issuer) -> Iterator[KeyServer]:
    srv = KeyServer().start()
    srv.serve_document(issuer.key_document())
    yield srv
    srv.stop()


def closed_port_base() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


def store(srv: KeyServer, clock: Clock | None = None, **kw: object) -> hc.KeyStore:
    kw.setdefault("cache_dir", None)
    return hc.KeyStore(srv.api_base, clock=clock or Clock(), **kw)  # type: ignore[arg-type]


def claim_for(issuer: Issuer, clock: Clock) -> str:
    return issuer.container_claim(container_id=CID, now=int(clock.t))  # type: ignore[no-any-return]


def verify_code(v: hc.ClaimVerifier, claim: str) -> str:
    with pytest.raises(hc.HoodyClaimsError) as info:
        v.verify(claim)
    return info.value.code


def test_first_fetch_wrapped_and_bare(server: KeyServer, issuer: Issuer) -> None:
    for wrapped in (True, False):
        server.serve_document(issuer.key_document(wrapped=wrapped))
        clock = Clock()
        v = hc.ClaimVerifier(store(server, clock), container_id=CID, clock=clock)
        assert v.verify(claim_for(issuer, clock)).sub == "user-1"
    assert server.hits == 2


@pytest.mark.parametrize("behaviour,code", [
    (Behaviour(status=500, body=b"oops"), "KEY_FETCH_FAILED"),
    (Behaviour(status=404, body=b"{}"), "KEY_FETCH_FAILED"),
    (Behaviour(status=302, location="http://127.0.0.1:1/api/v1/meta/public-key"), "KEY_FETCH_FAILED"),
    (Behaviour(body=b"\x00garbage{"), "INVALID_KEY_DOCUMENT"),
    (Behaviour(body=b'{"keys": [{"kid": "k1", "algorithm": "ed25519", "public_key_hex": "00"}]}'), "INVALID_KEY_DOCUMENT"),
    (Behaviour(delay=1.5, body=b"{}"), "KEY_FETCH_FAILED"),
])
def test_failures_with_nothing_cached(server: KeyServer, issuer: Issuer, behaviour: Behaviour, code: str) -> None:
    server.behaviour = behaviour
    clock = Clock()
    v = hc.ClaimVerifier(store(server, clock, timeout=0.5), container_id=CID, clock=clock)
    assert verify_code(v, claim_for(issuer, clock)) == code
    err = hc.errors.ERRORS_BY_CODE[code]
    assert err.status == 503


def test_unreachable_server(issuer: Issuer) -> None:
    v = hc.ClaimVerifier(hc.KeyStore(closed_port_base(), cache_dir=None), container_id=CID)
    assert verify_code(v, issuer.container_claim(container_id=CID)) == "KEY_FETCH_FAILED"


@pytest.mark.parametrize("behaviour", [
    Behaviour(status=500), Behaviour(body=b"not json"), Behaviour(delay=1.5),
    Behaviour(body=b'{"keys": [{"kid": "k1", "algorithm": "ed25519", "public_key_hex": "zz"}]}'),
])
def test_stale_set_is_kept_while_refresh_fails(server: KeyServer, issuer: Issuer, behaviour: Behaviour) -> None:
    clock = Clock()
    s = store(server, clock, ttl=100, timeout=0.5)
    v = hc.ClaimVerifier(s, container_id=CID, clock=clock)
    assert v.verify(claim_for(issuer, clock)).sub == "user-1"
    server.behaviour = behaviour
    clock.t += 101  # stale now
    assert v.verify(claim_for(issuer, clock)).sub == "user-1"
    assert server.hits == 2
    clock.t += 1  # a failed refresh is not retried on every request
    assert v.verify(claim_for(issuer, clock)).sub == "user-1"
    assert server.hits == 2
    server.serve_document(issuer.key_document())
    clock.t += 60
    assert v.verify(claim_for(issuer, clock)).sub == "user-1"
    assert server.hits == 3 and s.fetched_at == clock.t


def test_ttl_refetch(server: KeyServer, issuer: Issuer) -> None:
    clock = Clock()
    s = store(server, clock, ttl=100)
    s.key_set()
    clock.t += 99
    s.key_set()
    assert server.hits == 1
    clock.t += 1
    s.key_set()
    assert server.hits == 2


def test_rotation_new_kid_causes_one_refresh(server: KeyServer, issuer: Issuer) -> None:
    clock = Clock()
    v = hc.ClaimVerifier(store(server, clock), container_id=CID, clock=clock)
    assert v.verify(claim_for(issuer, clock)).kid == "k1"
    rotated = Issuer(kid="k2")
    server.serve_document(rotated.key_document(extra_keys=(issuer,)))
    clock.t += 61
    assert v.verify(claim_for(rotated, clock)).kid == "k2"
    assert v.verify(claim_for(issuer, clock)).kid == "k1"
    assert server.hits == 2


def test_unknown_kid_flood_is_rate_limited(server: KeyServer, issuer: Issuer) -> None:
    clock = Clock()
    v = hc.ClaimVerifier(store(server, clock, min_refresh_interval=60), container_id=CID, clock=clock)
    v.verify(claim_for(issuer, clock))
    for minute in range(3):
        for _ in range(200):
            stranger = issuer.sign_payload({"x": 1}, kid=uuid.uuid4().hex)
            assert verify_code(v, stranger) == "UNKNOWN_KEY"
        assert server.hits == 1 + minute
        clock.t += 60


def test_refresh_right_after_first_fetch_waits_the_interval(server: KeyServer, issuer: Issuer) -> None:
    clock = Clock()
    v = hc.ClaimVerifier(store(server, clock), container_id=CID, clock=clock)
    v.verify(claim_for(issuer, clock))
    assert verify_code(v, issuer.sign_payload({"x": 1}, kid="new")) == "UNKNOWN_KEY"
    assert server.hits == 1


DISK_SCRIPT = """
import sys, hoody_claims as hc
store = hc.KeyStore(sys.argv[1], cache_dir=sys.argv[2])
print(sorted(store.key_set()), store.origin)
"""


def run_store(api_base: str, cache_dir: Path) -> str:
    out = subprocess.run([sys.executable, "-c", DISK_SCRIPT, api_base, str(cache_dir)],
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0 or "KEY_FETCH_FAILED" in out.stderr, out.stderr
    return out.stdout.strip() or out.stderr.strip().splitlines()[-1]


def test_disk_cache_round_trip_across_processes(server: KeyServer, tmp_path: Path) -> None:
    api_base = server.api_base
    assert run_store(api_base, tmp_path) == "['k1'] network"
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and (files[0].stat().st_mode & 0o077) == 0
    server.stop()
    assert run_store(api_base, tmp_path) == "['k1'] disk"


def test_disk_cache_writable_by_others_or_foreign_is_ignored(server: KeyServer, tmp_path: Path) -> None:
    api_base = server.api_base
    run_store(api_base, tmp_path)
    (cache_file,) = tmp_path.iterdir()
    server.stop()
    os.chmod(cache_file, 0o666)
    assert "KEY_FETCH_FAILED" in run_store(api_base, tmp_path)
    os.chmod(cache_file, 0o600)
    assert run_store(api_base, tmp_path) == "['k1'] disk"
    if os.geteuid() == 0:
        os.chown(cache_file, 65534, 65534)
        assert "KEY_FETCH_FAILED" in run_store(api_base, tmp_path)
    else:  # without root we cannot give the file away; a symlink is refused the same way
        cache_file.rename(tmp_path / "real")
        cache_file.symlink_to(tmp_path / "real")
        assert "KEY_FETCH_FAILED" in run_store(api_base, tmp_path)


def test_disk_cache_is_used_without_network_when_fresh(server: KeyServer, issuer: Issuer, tmp_path: Path) -> None:
    first = hc.KeyStore(server.api_base, cache_dir=tmp_path)
    first.key_set()
    second = hc.KeyStore(server.api_base, cache_dir=tmp_path)
    v = hc.ClaimVerifier(second, container_id=CID)
    assert v.verify(issuer.container_claim(container_id=CID)).sub == "user-1"
    assert server.hits == 1 and second.origin == "disk"


@pytest.mark.parametrize("as_path", [True, False])
def test_pinned_document_needs_no_network(issuer: Issuer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, as_path: bool) -> None:
    doc = json.dumps(issuer.key_document())
    if as_path:
        (tmp_path / "keys.json").write_text(doc)
        monkeypatch.setenv("HOODY_CLAIMS_KEYS", str(tmp_path / "keys.json"))
    else:
        monkeypatch.setenv("HOODY_CLAIMS_KEYS", doc)
    monkeypatch.setenv("HOODY_API_BASE", closed_port_base())
    s = hc.KeyStore(cache_dir=None)
    v = hc.ClaimVerifier(s, container_id=CID)
    assert v.verify(issuer.container_claim(container_id=CID)).sub == "user-1"
    assert verify_code(v, Issuer(kid="zz").container_claim(container_id=CID)) == "UNKNOWN_KEY"
    assert s.origin == "pinned"
    # An api_base given in code wins over the environment: that store fetches (and fails here).
    explicit = hc.KeyStore(closed_port_base(), cache_dir=None)
    assert explicit.origin is None
    assert verify_code(hc.ClaimVerifier(explicit, container_id=CID),
                       issuer.container_claim(container_id=CID)) == "KEY_FETCH_FAILED"


def test_pinned_document_that_is_bad_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOODY_CLAIMS_KEYS", '{"keys": []}')
    with pytest.raises(hc.InvalidKeyDocument):
        hc.KeyStore(cache_dir=None)


def test_sixteen_threads_first_use_fetch_once(server: KeyServer, issuer: Issuer) -> None:
    server.behaviour.delay = 0.3
    v = hc.ClaimVerifier(hc.KeyStore(server.api_base, cache_dir=None), container_id=CID)
    claim = issuer.container_claim(container_id=CID)
    barrier = threading.Barrier(16)
    results: list[object] = []

    def work() -> None:
        barrier.wait()
        results.append(v.verify(claim).sub)

    threads = [threading.Thread(target=work) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["user-1"] * 16
    assert server.hits == 1


def test_hundred_tasks_first_use_fetch_once(server: KeyServer, issuer: Issuer) -> None:
    server.behaviour.delay = 0.6  # a blocked loop would tick ~0 times; a free one ~60
    v = hc.ClaimVerifier(hc.KeyStore(server.api_base, cache_dir=None), container_id=CID)
    claims = [issuer.container_claim(container_id=CID, sub=f"u{i}") for i in range(100)]

    async def main() -> list[str | None]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        tick_task = asyncio.create_task(ticker())
        got = await asyncio.gather(*(v.averify(c) for c in claims))
        tick_task.cancel()
        assert ticks >= 10, "the event loop was blocked during the fetch"
        return [c.sub for c in got]

    assert asyncio.run(main()) == [f"u{i}" for i in range(100)]
    assert server.hits == 1


def test_a_url_urllib_refuses_is_a_failed_fetch() -> None:
    store = hc.KeyStore("http://[::1", cache_dir=None)
    with pytest.raises(hc.KeyFetchFailed):
        store.key_set()


class RawServer:
    """A TCP server on 127.0.0.1 that answers every request with ``reply`` (bytes), sent
    ``drip`` bytes at a time with ``pause`` seconds between them, then closes."""

    def __init__(self, reply: bytes, drip: int = 0, pause: float = 0.0) -> None:
        self.reply, self.drip, self.pause = reply, drip, pause
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                step = self.drip or max(len(self.reply), 1)
                for i in range(0, len(self.reply), step):
                    if self.stopped.is_set():
                        return
                    conn.sendall(self.reply[i : i + step])
                    if self.pause:
                        self.stopped.wait(self.pause)
            except OSError:
                return

    def close(self) -> None:
        self.stopped.set()
        self.sock.close()


NOT_HTTP = {
    "bad-status-line": b"garbage\r\n\r\n",
    "truncated-body": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}",
    "bad-chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}",
    "too-many-headers": b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * 101 + b"\r\n",
    "header-too-long": b"HTTP/1.1 200 OK\r\nX-A: " + b"a" * 70000 + b"\r\n\r\n",
    "nothing": b"",
}


def http_answer(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (
        len(body), body)


@pytest.mark.parametrize("reply", list(NOT_HTTP.values()), ids=list(NOT_HTTP))
def test_a_reply_that_is_not_http_is_a_failed_fetch(issuer: Issuer, reply: bytes) -> None:
    raw = RawServer(reply)
    try:
        v = hc.ClaimVerifier(hc.KeyStore(raw.api_base, cache_dir=None), container_id=CID)
        assert verify_code(v, issuer.container_claim(container_id=CID)) == "KEY_FETCH_FAILED"
        # With a set in hand, a failed refresh (forced by an unknown kid) keeps it.
        raw.reply = http_answer(json.dumps(issuer.key_document()).encode())
        clock = Clock()
        v = hc.ClaimVerifier(hc.KeyStore(raw.api_base, cache_dir=None, clock=clock),
                             container_id=CID, clock=clock)
        assert v.verify(claim_for(issuer, clock)).sub == "user-1"
        raw.reply = reply
        clock.t += 61
        newcomer = Issuer(kid="new").container_claim(container_id=CID, now=int(clock.t))
        assert verify_code(v, newcomer) == "UNKNOWN_KEY"
        assert v.verify(claim_for(issuer, clock)).sub == "user-1"
    finally:
        raw.close()


@pytest.mark.parametrize("phase", ["tls-handshake", "status-line", "headers", "body"])
def test_a_server_answering_a_byte_at_a_time_is_cut_off_at_the_timeout(
    issuer: Issuer, phase: str
) -> None:
    # A socket timeout bounds each read; this server keeps every read short of it (a byte
    # each 0.1 s for ~12 s), so only a deadline on the whole fetch stops it.
    doc = json.dumps(issuer.key_document()).encode()
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n" % len(doc)
    slow = {"status-line": b"HTTP/1.1 200 OK" + b" " * 120,
            "headers": head + b"X-Pad: " + b"a" * 120,
            "body": head + b"\r\n" + doc + b" " * 120,
            # a TLS record with a ServerHello announcing ~16 KiB, then its bytes one at a time
            # (Python bounds a handshake by the socket timeout; this keeps it that way)
            "tls-handshake": b"\x16\x03\x03\x40\x00\x02\x00\x3f\xfc\x03\x03" + b"\x01" * 120}[phase]
    raw = RawServer(slow, drip=1, pause=0.1)
    try:
        base = raw.api_base.replace("http://", "https://") if phase == "tls-handshake" else raw.api_base
        s = hc.KeyStore(base, cache_dir=None, timeout=1)
        done: list[str] = []
        t = threading.Thread(target=lambda: done.append(verify_code(
            hc.ClaimVerifier(s, container_id=CID), issuer.container_claim(container_id=CID))))
        t.start()
        t.join(8)  # the fetch must end near its 1 s timeout, long before the server would
        assert done == ["KEY_FETCH_FAILED"]
    finally:
        raw.close()


def test_a_stale_set_is_served_without_blocking_while_the_refresh_is_failing(
    server: KeyServer, issuer: Issuer
) -> None:
    # After a failed refresh the stale set is the answer until the next attempt is due, so
    # async callers (block=False) are not sent to a worker thread on every request.
    clock = Clock()
    s = store(server, clock, ttl=100)
    first = s.key_set()
    server.behaviour = Behaviour(status=503)
    clock.t += 101
    with pytest.raises(hc.keystore.WouldBlock):
        s.key_set(block=False)  # stale, and a refresh is due: this one must go to a thread
    assert s.key_set() is first and server.hits == 2  # the refresh failed; stale kept
    assert s.key_set(block=False) is first
    clock.t += 59
    assert s.key_set(block=False) is first and server.hits == 2
    clock.t += 2  # the next attempt is due
    with pytest.raises(hc.keystore.WouldBlock):
        s.key_set(block=False)


def test_pinned_keys_as_bytes_and_an_empty_pin(issuer: Issuer) -> None:
    doc = json.dumps(issuer.key_document()).encode()
    s = hc.KeyStore(pinned=doc, cache_dir=None)
    assert s.origin == "pinned" and s.key_set().get(issuer.kid) == issuer.public_key
    for empty in ("", "  "):
        with pytest.raises(hc.InvalidKeyDocument, match="empty"):
            hc.KeyStore(pinned=empty, cache_dir=None)
