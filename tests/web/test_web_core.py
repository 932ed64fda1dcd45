"""The framework-neutral core: extraction, refusal bodies, the redirect, stripping, the gate."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from conftest import CID, PID, Ctx

import hoody_claims as hc
from hoody_claims.errors import ERRORS_BY_CODE
from hoody_claims.testing import Issuer
from hoody_claims.web import Admit, Gatekeeper, Redirect, Refuse, RequestView
from hoody_claims.web.extract import SOURCES, find_claim, validate_sources
from hoody_claims.web.request_view import (
    from_asgi_scope,
    from_wsgi_environ,
    is_loopback_host,
    parse_cookie_header,
)
from hoody_claims.web.responses import (
    claim_cookie,
    claim_required,
    compact_token,
    location_without_param,
    refusal,
)
from hoody_claims.web.strip import strip_claim_headers, strip_cookie, strip_query_param


def view(
    path: str = "/",
    query: str = "",
    headers: dict[str, str] | None = None,
    *,
    method: str = "GET",
    scheme: str = "http",
    host: str = "app.example",
) -> RequestView:
    hdrs = {k.lower(): v for k, v in (headers or {}).items()}
    return RequestView(
        method, scheme, host, path, query, hdrs, parse_cookie_header(hdrs.get("cookie"))
    )


# -- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(ERRORS_BY_CODE))
def test_every_spec_error_code_has_its_refusal(code: str) -> None:
    err = ERRORS_BY_CODE[code]("what went wrong, in words")
    r = refusal(err)
    assert r.status == err.status and r.code == code
    assert json.loads(r.body) == {
        "statusCode": err.status,
        "error": HTTPStatus(err.status).phrase,
        "message": "what went wrong, in words",
        "code": code,
    }
    headers = dict(r.headers)
    assert headers["Content-Type"] == "application/json"
    assert headers["Cache-Control"] == "no-store"
    if err.status == 401:
        assert headers["WWW-Authenticate"] == f'HoodyClaim error="{code}"'
    else:
        assert "WWW-Authenticate" not in headers
    assert "Content-Length" not in headers


def test_claim_required() -> None:
    r = claim_required()
    assert (r.status, r.code) == (401, "CLAIM_REQUIRED")
    body = json.loads(r.body)
    assert body["error"] == "Unauthorized" and "hoody_claim" in body["message"]


# -- where the claim comes from ----------------------------------------------------------------


def test_sources_in_default_order() -> None:
    req = view(
        query="hoody_claim=Q",
        headers={
            "X-Hoody-Container-Claim": "H",
            "Authorization": "HoodyClaim A",
            "Cookie": "hoody_claim=C",
        },
    )
    assert find_claim(req).token == "H"
    assert find_claim(req, ("authorization", "cookie", "query", "header")).token == "A"
    assert find_claim(req, ("cookie", "query")).source == "cookie"
    assert find_claim(req, ("query",)).token == "Q"
    assert SOURCES == ("header", "authorization", "cookie", "query")


def test_extraction_details() -> None:
    assert find_claim(view(headers={"Authorization": "hoodyclaim  tok "})).token == "tok"
    assert find_claim(view(headers={"Authorization": "Bearer tok"})) is None
    assert find_claim(view(headers={"X-Hoody-Container-Claim": "  "})) is None
    assert find_claim(view(query="hoody_claim=&hoody_claim=x")).token == "x"
    assert find_claim(view(query="hoody%5Fclaim=a%2Bb+c")).token == "a+b c"
    assert find_claim(view(headers={"Cookie": "x=1; mine=v"}), cookie_name="mine").token == "v"
    assert find_claim(view(query="c=1"), query_param="c").token == "1"
    with pytest.raises(ValueError):
        validate_sources(("header", "body"))
    with pytest.raises(ValueError):
        validate_sources(("cookie", "cookie"))
    with pytest.raises(ValueError):
        Gatekeeper(object(), sources=())  # type: ignore[arg-type]


def test_cookie_header_parsing_is_lenient() -> None:
    assert parse_cookie_header('a=1; broken; b="2"; a=3;=x') == {"a": "1", "b": "2"}
    assert parse_cookie_header(None) == {}


# -- the redirect ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "query", "location"),
    [
        ("/", "hoody_claim=t", "/"),
        ("/a/b", "x=1&hoody_claim=t&y=2&x=3", "/a/b?x=1&y=2&x=3"),
        ("/p", "q=%2F%20&hoody_claim=t&r=a+b", "/p?q=%2F%20&r=a+b"),
        ("//evil.example/x", "hoody_claim=t", "/.//evil.example/x"),
        ("/\\evil.example", "hoody_claim=t", "/%5Cevil.example"),
        ("/caf\u00e9 bar", "hoody_claim=t", "/caf%C3%A9%20bar"),
        ("/p", "hoody_claim=t&x=\r\nSet-Cookie:%20a", "/p?x=%0D%0ASet-Cookie:%20a"),
    ],
)
def test_location_is_the_same_path_without_the_claim(path: str, query: str, location: str) -> None:
    got = location_without_param(view(path, query))
    assert got == location
    assert "\r" not in got and "\n" not in got and not got.startswith("//")


@pytest.mark.parametrize(
    ("scheme", "host", "secure"),
    [
        ("http", "localhost", False),
        ("http", "localhost:8080", False),
        ("http", "127.0.0.5:80", False),
        ("http", "[::1]:8000", False),
        ("http", "app.localhost", False),
        ("https", "localhost", True),
        ("http", "app.example", True),
        ("http", "10.0.0.1:80", True),
        ("http", "localhost.evil.example", True),
    ],
)
def test_cookie_secure_unless_plain_http_to_loopback(scheme: str, host: str, secure: bool) -> None:
    cookie = claim_cookie(view(scheme=scheme, host=host), "tok", 12)
    flags = "HttpOnly; Secure;" if secure else "HttpOnly;"
    assert cookie == f"hoody_claim=tok; {flags} SameSite=Lax; Path=/; Max-Age=12"
    assert claim_cookie(view(), "tok", -5).endswith("Max-Age=0")


def test_loopback_hosts() -> None:
    for host in (
        "localhost",
        "LOCALHOST:1",
        "127.0.0.1",
        "127.9.9.9:80",
        "[::1]",
        "::1",
        "a.localhost",
    ):
        assert is_loopback_host(host), host
    for host in ("app.example", "10.0.0.1", "[::2]:80", "localhost.evil.example", ""):
        assert not is_loopback_host(host), host


def test_compact_token_matches_the_core() -> None:
    text = '{"kid":"k","payload_b64":"e30","signature_hex":"00"}'
    assert compact_token(text) == hc.to_compact(text)
    assert compact_token(hc.to_compact(text)) == hc.to_compact(text)


def test_a_standard_alphabet_link_sets_a_cookie_that_is_admitted() -> None:
    import base64
    from urllib.parse import quote

    from hoody_claims.testing import Issuer

    issuer = Issuer(kid="k?>~")  # its JSON text encodes to + and / in the standard alphabet
    text = issuer.container_claim(container_id=CID, form="json")
    standard = base64.b64encode(text.encode()).decode()
    assert "+" in standard or "/" in standard
    assert compact_token(standard) == hc.to_compact(text)
    gate = Gatekeeper(hc.ClaimVerifier(issuer.key_set(), container_id=CID))
    d = gate.decide(view(query=f"hoody_claim={quote(standard, safe='')}"))
    assert isinstance(d, Redirect)
    cookie = d.set_cookie.split(";", 1)[0].split("=", 1)[1]
    again = gate.decide(view(headers={"Cookie": f"hoody_claim={cookie}"}))
    assert isinstance(again, Admit) and again.source == "cookie", again


# -- stripping ---------------------------------------------------------------------------------


def test_strip_helpers() -> None:
    assert strip_query_param("a=1&hoody_claim=x&b=2&hoody_claim=y", "hoody_claim") == "a=1&b=2"
    assert strip_query_param("", "hoody_claim") == ""
    assert strip_cookie("a=1; hoody_claim=z;b=2") == "a=1; b=2"
    assert strip_claim_headers(
        [
            ("Host", "h"),
            ("Cookie", "hoody_claim=z"),
            ("X-Hoody-Container-Claim", "{}"),
            ("Authorization", "HoodyClaim t"),
            ("Cookie", "a=1; hoody_claim=z"),
            ("authorization", "Bearer y"),
        ]
    ) == [("Host", "h"), ("Cookie", "a=1"), ("authorization", "Bearer y")]


# -- request views -----------------------------------------------------------------------------


def test_wsgi_and_asgi_views() -> None:
    wsgi = from_wsgi_environ(
        {
            "REQUEST_METHOD": "get",
            "SCRIPT_NAME": "/app",
            "PATH_INFO": "/caf\u00c3\u00a9",
            "QUERY_STRING": "a=1",
            "HTTP_HOST": "h:1",
            "HTTP_COOKIE": "hoody_claim=abc",
            "HTTP_X_HOODY_CONTAINER_CLAIM": "tok",
            "wsgi.url_scheme": "https",
            "REMOTE_ADDR": "10.1.1.1",
        }
    )
    assert (wsgi.method, wsgi.scheme, wsgi.host, wsgi.path) == ("GET", "https", "h:1", "/app/café")
    assert wsgi.headers["x-hoody-container-claim"] == "tok"
    assert wsgi.cookies == {"hoody_claim": "abc"} and wsgi.client_host == "10.1.1.1"
    asgi = from_asgi_scope(
        {
            "type": "websocket",
            "path": "/ws",
            "headers": [(b"host", b"x"), (b"cookie", b"a=1"), (b"Cookie", b"b=2")],
            "query_string": b"q=1",
            "client": ("127.0.0.1", 5),
        }
    )
    assert (asgi.method, asgi.scheme, asgi.path, asgi.query_string) == ("GET", "ws", "/ws", "q=1")
    assert asgi.cookies == {"a": "1", "b": "2"}


# -- the gate ----------------------------------------------------------------------------------


def test_exempt_paths() -> None:
    gate = Gatekeeper(object(), exempt_paths=("/healthz", "/static/*"))  # type: ignore[arg-type]
    assert gate.is_exempt("/healthz") and not gate.is_exempt("/healthz/x")
    assert gate.is_exempt("/static/app.js")
    assert not gate.is_exempt("/static/../admin") and not gate.is_exempt("/static/./x")
    assert not gate.is_exempt("/admin")
    with pytest.raises(ValueError):
        Gatekeeper(object(), exempt_paths=("healthz",))  # type: ignore[arg-type]


def test_policy_verifiers_are_memoised_and_checked(ctx: Ctx) -> None:
    gate = ctx.gate()
    a = gate.verifier_for({"allow_types": {"admin"}})
    assert a is gate.verifier_for({"allow_types": ["admin"]})
    assert a is not gate.verifier_for({"allow_types": {"admin"}, "max_age": 5})
    assert gate.verifier_for({}) is gate.verifier
    with pytest.raises(TypeError, match="leeway"):
        gate.verifier_for({"leeway": 3})


def test_decisions(ctx: Ctx) -> None:
    gate = ctx.gate()
    token = ctx.claim(ttl=100)
    d = gate.decide(view(headers={"X-Hoody-Container-Claim": token}))
    assert isinstance(d, Admit) and d.source == "header" and d.claim.container_id == CID
    d = gate.decide(view(query=f"hoody_claim={token}", method="HEAD"))
    assert isinstance(d, Redirect) and d.status == 303 and d.location == "/"
    assert d.set_cookie.endswith("Max-Age=100")
    in_leeway = ctx.claim(now=ctx.clock.now - 110, ttl=100)  # expired 10 s ago, leeway 30 s
    d = gate.decide(view(query=f"hoody_claim={in_leeway}"))
    assert isinstance(d, Admit) and d.source == "query"  # not a cookie with Max-Age=0
    ws = gate.decide(view(query=f"hoody_claim={token}", scheme="wss"))
    assert isinstance(ws, Admit)  # a handshake cannot follow a redirect
    off = Gatekeeper(ctx.verifier(), redirect_query=False).decide(
        view(query=f"hoody_claim={token}")
    )
    assert isinstance(off, Admit) and off.source == "query"
    refused = gate.decide(view(headers={"X-Hoody-Container-Claim": token}), now=ctx.clock.now + 500)
    assert isinstance(refused, Refuse) and refused.code == "CLAIM_EXPIRED"
    policy = gate.verifier_for({"users": {"someone-else"}})
    denied = gate.decide(view(headers={"X-Hoody-Container-Claim": token}), verifier=policy)
    assert isinstance(denied, Refuse) and denied.code == "POLICY_DENIED"


def test_a_stale_cookie_does_not_shadow_a_fresh_link(ctx: Ctx) -> None:
    gate = ctx.gate()
    stale = ctx.claim(now=ctx.clock.now - 10_000, ttl=100)
    fresh = ctx.claim(ttl=100)
    both = view(query=f"hoody_claim={fresh}", headers={"Cookie": f"hoody_claim={stale}"})
    d = gate.decide(both)
    assert isinstance(d, Redirect) and d.set_cookie.startswith(f"hoody_claim={fresh};")
    a = asyncio.run(gate.adecide(both))
    assert isinstance(a, Redirect) and a.set_cookie.startswith(f"hoody_claim={fresh};")
    only_cookie = gate.decide(view(headers={"Cookie": f"hoody_claim={stale}"}))
    assert isinstance(only_cookie, Refuse) and only_cookie.code == "CLAIM_EXPIRED"
    bad_link = gate.decide(view(query="hoody_claim=junk", headers={"Cookie": f"hoody_claim={stale}"}))
    assert isinstance(bad_link, Refuse) and bad_link.code == "MALFORMED_CLAIM"
    valid_cookie = gate.decide(view(query="hoody_claim=junk", headers={"Cookie": f"hoody_claim={fresh}"}))
    assert isinstance(valid_cookie, Admit) and valid_cookie.source == "cookie"


async def test_adecide_never_blocks_the_loop_and_shares_one_fetch(ctx: Ctx) -> None:
    """50 concurrent requests while the key document takes 0.5 s: one fetch, loop keeps ticking."""
    body = json.dumps(ctx.issuer.key_document()).encode()
    hits: list[float] = []

    class Slow(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(time.monotonic())
            time.sleep(0.5)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        gate = Gatekeeper(ctx.store_verifier(f"http://127.0.0.1:{server.server_address[1]}"))
        req = view(headers={"X-Hoody-Container-Claim": ctx.claim()})
        ticks = 0

        async def heartbeat() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        beat = asyncio.create_task(heartbeat())
        decisions = await asyncio.gather(*(gate.adecide(req) for _ in range(50)))
        beat.cancel()
        assert all(isinstance(d, Admit) for d in decisions)
        assert len(hits) == 1
        assert ticks >= 20  # the loop ran all along the 0.5 s fetch
    finally:
        server.shutdown()
        server.server_close()


def test_import_hoody_claims_imports_no_framework() -> None:
    code = (
        "import sys, hoody_claims, hoody_claims.web, hoody_claims.web.wsgi, hoody_claims.web.asgi\n"
        "bad = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'flask', 'django', 'starlette', 'fastapi', 'aiohttp', 'werkzeug', 'uvicorn'})\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_default_verifier_comes_from_the_environment(tmp_path: Any) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(Issuer().key_document()))
    code = (
        "from hoody_claims.web.wsgi import HoodyClaimsMiddleware\n"
        "m = HoodyClaimsMiddleware(lambda e, s: [])\n"
        f"assert m.gate.verifier.container_id == {CID!r}, m.gate.verifier.container_id\n"
    )
    base = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    env = {**base, "HOODY_CONTAINER_ID": CID, "HOODY_CLAIMS_KEYS": str(keys)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    missing = subprocess.run([sys.executable, "-c", code], env=base, capture_output=True, text=True)
    assert missing.returncode != 0 and "HOODY_CONTAINER_ID" in missing.stderr
    assert PID  # the project id is optional: not configured here


def test_environ_headers_is_a_read_only_mapping() -> None:
    from hoody_claims.web.request_view import EnvironHeaders

    h = EnvironHeaders({"HTTP_X_HOODY_CONTAINER_CLAIM": "t", "HTTP_HOST": "h", "PATH_INFO": "/"})
    assert dict(h) == {"x-hoody-container-claim": "t", "host": "h"} and len(h) == 2
    assert h["X-Hoody-Container-Claim"] == "t" and "host" in h and "path-info" not in h
    assert h.get("cookie") is None and h.get("cookie", "") == ""
    with pytest.raises(KeyError):
        h["cookie"]
