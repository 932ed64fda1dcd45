"""In-process checks of the gate's pure parts: settings, header rewriting, the access log."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from hoody_claims import ClaimVerifier
from hoody_claims.gate.accesslog import AccessLog, Entry
from hoody_claims.gate.config import ConfigError, add_arguments, load_config, parse_listen
from hoody_claims.gate.headers import (
    header_value,
    identity_headers,
    response_headers,
    upstream_request_headers,
)
from hoody_claims.testing import Issuer

from .procs import CONTAINER

BASE_ENV = {"HOODY_CONTAINER_ID": CONTAINER}


def _args(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_arguments(p)
    return p.parse_args(list(argv))


def test_defaults_and_required_upstream() -> None:
    cfg = load_config(_args("--upstream", "http://127.0.0.1:7681/"), environ=BASE_ENV)
    assert cfg.mode == "proxy"
    assert cfg.upstream == "http://127.0.0.1:7681"
    assert (cfg.listen_host, cfg.listen_port) == ("127.0.0.1", 8080)
    assert cfg.query_redirect is True and cfg.ws_close_on_expiry is True
    assert cfg.sources == ("header", "authorization", "cookie", "query")
    fa = load_config(_args("--forward-auth"), environ=BASE_ENV)
    assert fa.mode == "forward-auth" and fa.query_redirect is False and fa.upstream is None


def test_precedence_flag_over_env_over_file(tmp_path: Path) -> None:
    conf = tmp_path / "g.toml"
    conf.write_text('upstream = "http://file:1"\nleeway = 5\nmax-age = 60\n'
                    'allow_type = ["admin", "user"]\nws_close_on_expiry = false\n')
    env = {**BASE_ENV, "HOODY_GATE_CONFIG": str(conf), "HOODY_GATE_LEEWAY": "7",
           "HOODY_GATE_USER": "u1, u2", "HOODY_GATE_PRESERVE_HOST": "no"}
    cfg = load_config(_args("--leeway", "9"), environ=env)
    assert cfg.upstream == "http://file:1"
    assert cfg.leeway == 9
    assert cfg.max_age == 60
    assert cfg.allow_types == ("admin", "user")
    assert cfg.users == ("u1", "u2")
    assert cfg.preserve_host is False
    assert cfg.ws_close_on_expiry is False
    cfg = load_config(_args("--ws-close-on-expiry", "--allow-type", "a,b", "--allow-type", "c"),
                      environ=env)
    assert cfg.ws_close_on_expiry is True and cfg.allow_types == ("a", "b", "c")
    assert load_config(_args(), environ=env).leeway == 7


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('upstrem = "http://x:1"\n', "unknown option 'upstrem'"),
        ("leeway = -1\n", "--leeway must be zero or more"),
        ('workers = "two"\n', "expected a whole number"),
        ("upstream = [\n", "not valid TOML"),
        ('sources = ["header", "header"]\n', "--sources"),
        ('cookie_name = "a b"\n', "--cookie-name"),
        ("max_header_size = 100\n", "at least 1024"),
    ],
)
def test_config_file_errors_name_the_option(tmp_path: Path, text: str, message: str) -> None:
    conf = tmp_path / "g.toml"
    conf.write_text('upstream = "http://x:1"\n' * ("upstream" not in text) + text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        load_config(_args("--config", str(conf)), environ=BASE_ENV)


def test_container_binding_is_required_or_explicitly_waived() -> None:
    with pytest.raises(ConfigError, match="no container id"):
        load_config(_args("--upstream", "http://x:1"), environ={})
    cfg = load_config(_args("--upstream", "http://x:1", "--any-container"), environ={})
    assert cfg.any_container
    with pytest.raises(ConfigError, match="exclude each other"):
        load_config(_args("--upstream", "http://x:1", "--any-container", "--container-id",
                          CONTAINER), environ={})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.0.0.0:8080", ("0.0.0.0", 8080)),
        (":9000", ("0.0.0.0", 9000)),
        ("9000", ("127.0.0.1", 9000)),
        ("[::1]:8080", ("::1", 8080)),
        ("localhost:0", ("localhost", 0)),
    ],
)
def test_listen_forms(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["host", "1.2.3.4:99999", "::1:80", "[::1]80", "[zz]:1", ""])
def test_bad_listen(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_listen(text)


def test_identity_header_values_cannot_split_headers() -> None:
    assert header_value("alice") == "alice"
    assert header_value("a b@c.d") == "a b@c.d"
    assert header_value("evil\r\nX-Hoody-User: root") == "evil%0D%0AX-Hoody-User: root"
    assert header_value("100%") == "100%25"
    assert header_value("zoë") == "zo%C3%AB"


def test_identity_headers_skip_missing_fields() -> None:
    iss = Issuer()
    token = iss.sign_payload({"claim_type": "container", "sub": "u", "container_id": CONTAINER,
                              "iat": 1, "exp": 4_000_000_000})
    c = ClaimVerifier(iss.key_set(), container_id=CONTAINER).verify(token)
    assert identity_headers(c) == [("X-Hoody-User", "u"), ("X-Hoody-Container", CONTAINER)]


def _proxy(pairs: list[tuple[str, str]]) -> CIMultiDictProxy[str]:
    return CIMultiDictProxy(CIMultiDict(pairs))


def test_upstream_headers_rules() -> None:
    out = upstream_request_headers(
        _proxy([
            ("Host", "gate.example"),
            ("Connection", "Upgrade, X-Drop-Me"),
            ("X-Drop-Me", "1"),
            ("Upgrade", "h2c"),
            ("Proxy-Authorization", "Basic x"),
            ("Expect", "100-continue"),
            ("Content-Length", "5"),
            ("X-Hoody-User", "spoof"),
            ("x-hoody-container", "spoof"),
            ("X_Hoody_User", "spoof"),
            ("x-hoody_user-type", "spoof"),
            ("X_Forwarded_For", "6.6.6.6"),
            ("Keep_Alive", "1"),
            ("My_App_Header", "kept"),
            ("Authorization", "Bearer app-token"),
            ("X-Forwarded-For", "1.1.1.1"),
            ("X-Forwarded-For", "2.2.2.2"),
            ("X-Forwarded-Proto", "https"),
            ("Set-Cookie-Like", "kept"),
        ]),
        cookie_name="hoody_claim",
        identity=[("X-Hoody-User", "alice")],
        client_ip="127.0.0.9",
        scheme="http",
        host="gate.example",
        preserve_host=False,
        trust_forwarded=False,
    )
    assert out.getall("X-Hoody-User") == ["alice"]
    assert "X-Hoody-Container" not in out
    for gone in ("Host", "Connection", "X-Drop-Me", "Upgrade", "Proxy-Authorization", "Expect",
                 "Content-Length"):
        assert gone not in out, gone
    assert out["Authorization"] == "Bearer app-token"  # another scheme is the app's business
    assert out["X-Forwarded-For"] == "1.1.1.1, 2.2.2.2, 127.0.0.9"
    assert out["X-Forwarded-Proto"] == "http"
    assert out["X-Forwarded-Host"] == "gate.example"
    assert out["Set-Cookie-Like"] == "kept"
    assert out["My_App_Header"] == "kept"
    for spoof in ("X_Hoody_User", "x-hoody_user-type", "X_Forwarded_For", "Keep_Alive"):
        assert spoof not in out, spoof


def test_trusted_forwarded_headers_are_kept() -> None:
    out = upstream_request_headers(
        _proxy([("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "public.example")]),
        cookie_name="hoody_claim", identity=[], client_ip=None, scheme="http",
        host="internal:8080", preserve_host=True, trust_forwarded=True,
    )
    assert out["X-Forwarded-Proto"] == "https"
    assert out["X-Forwarded-Host"] == "public.example"


def test_response_headers_drop_hop_by_hop() -> None:
    out = response_headers(_proxy([
        ("Connection", "close, X-Secret"), ("X-Secret", "s"), ("Transfer-Encoding", "chunked"),
        ("Content-Length", "9"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"),
        ("Keep-Alive", "timeout=1"),
    ]))
    assert list(out.items()) == [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]


def test_access_log_line_shape() -> None:
    buf = io.StringIO()
    log = AccessLog(stream=buf)
    e = Entry("GET", "/x", "127.0.0.1", 10.0)
    e.status, e.user, e.code = 403, "bob", "POLICY_DENIED"
    log.write(e, 10.0125)
    rec = json.loads(buf.getvalue())
    assert rec["method"] == "GET" and rec["path"] == "/x" and rec["status"] == 403
    assert rec["user"] == "bob" and rec["code"] == "POLICY_DENIED"
    assert rec["latency_ms"] == pytest.approx(12.5)
    assert AccessLog("off").enabled is False


def test_a_config_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    conf = tmp_path / "g.toml"
    conf.write_bytes(b'upstream = "http://x:1"\nlog = "\xff"\n')
    with pytest.raises(ConfigError, match=f"{conf} is not UTF-8"):
        load_config(_args("--config", str(conf)), environ=BASE_ENV)
