"""The gate's settings: command-line flags, a TOML config file and ``HOODY_GATE_*`` variables.

One table of options drives all three sources. Precedence, highest first: a flag given on the
command line, then the environment, then the config file, then the built-in default. The config
file is named by ``--config`` or ``HOODY_GATE_CONFIG``; its top-level keys are the option names
below (``snake_case`` or ``kebab-case``). A key the gate does not know is an error: a typo in a
security setting must not pass silently.
"""

from __future__ import annotations

import argparse
import ipaddress
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

__all__ = [
    "DEFAULT_LISTEN",
    "ENV_PREFIX",
    "OPTIONS",
    "ConfigError",
    "GateConfig",
    "add_arguments",
    "load_config",
    "parse_listen",
]

ENV_PREFIX = "HOODY_GATE_"
CONFIG_ENV = "HOODY_GATE_CONFIG"
DEFAULT_LISTEN = "127.0.0.1:8080"
_SOURCES = ("header", "authorization", "cookie", "query")


class ConfigError(ValueError):
    """A setting is missing, unknown or out of range; the message names it."""


@dataclass(frozen=True)
class GateConfig:
    """Everything the gate needs to run, validated. Build it with :func:`load_config`."""

    mode: Literal["proxy", "forward-auth"] = "proxy"
    listen_host: str = "127.0.0.1"
    listen_port: int = 8080
    upstream: str | None = None
    # who is admitted
    container_id: str | None = None
    any_container: bool = False
    project_id: str | None = None
    allow_types: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    max_age: int | None = None
    leeway: int = 30
    keys: str | None = None
    cache_dir: str | None = None
    # where the claim is read from
    sources: tuple[str, ...] = _SOURCES
    cookie_name: str = "hoody_claim"
    query_param: str = "hoody_claim"
    query_redirect: bool = True
    # WebSockets
    ws_close_on_expiry: bool = True
    ws_max_message: int = 16 * 1024 * 1024
    # bounds
    connect_timeout: float = 5.0
    upstream_timeout: float = 60.0
    client_timeout: float = 60.0
    keepalive_timeout: float = 75.0
    max_header_size: int = 32 * 1024
    max_connections: int = 1024
    drain_timeout: float = 10.0
    # forwarding
    preserve_host: bool = True
    trust_forwarded: bool = False
    # process
    access_log: str = "-"
    workers: int = 1
    loop: Literal["auto", "asyncio", "uvloop"] = "auto"

    @property
    def listen(self) -> str:
        host = f"[{self.listen_host}]" if ":" in self.listen_host else self.listen_host
        return f"{host}:{self.listen_port}"


@dataclass(frozen=True)
class _Option:
    name: str  # snake_case; the flag is --name-with-dashes, the variable HOODY_GATE_NAME
    kind: type | str  # str, int, float, bool, or "list"
    help: str
    metavar: str | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


OPTIONS: tuple[_Option, ...] = (
    _Option("listen", str, f"address to listen on, HOST:PORT (default {DEFAULT_LISTEN})",
            "HOST:PORT"),
    _Option("upstream", str, "the program to protect, e.g. http://127.0.0.1:7681 (proxy mode)",
            "URL"),
    _Option("forward_auth", bool, "answer as a forward-auth endpoint (nginx auth_request, "
            "Traefik forwardAuth, Caddy forward_auth) instead of proxying"),
    _Option("container_id", str, "this container's id (default: $HOODY_CONTAINER_ID)", "ID"),
    _Option("any_container", bool, "accept claims for any container (no container binding)"),
    _Option("project_id", str, "also require this project id", "ID"),
    _Option("allow_type", "list", "admit only these user types, e.g. admin (repeatable, or "
            "comma-separated)", "TYPE"),
    _Option("user", "list", "admit only these users (claim 'sub'; repeatable)", "SUB"),
    _Option("max_age", int, "refuse claims issued more than this many seconds ago", "SECONDS"),
    _Option("leeway", int, "clock-skew allowance for exp/iat/nbf (default 30)", "SECONDS"),
    _Option("keys", str, "key document FILE, or the Hoody API base URL to fetch keys from "
            "(default: $HOODY_CLAIMS_KEYS, else $HOODY_API_BASE or https://api.hoody.com)",
            "FILE|URL"),
    _Option("cache_dir", str, "where fetched keys are cached (default ~/.cache/hoody_claims)",
            "DIR"),
    _Option("sources", "list", "where to look for the claim, in order "
            "(default header,authorization,cookie,query)", "SOURCE"),
    _Option("cookie_name", str, "claim cookie name (default hoody_claim)", "NAME"),
    _Option("query_param", str, "claim query parameter (default hoody_claim)", "NAME"),
    _Option("query_redirect", bool, "answer a claim in the query string with a redirect that "
            "moves it into a cookie (default: on in proxy mode, off in forward-auth mode)"),
    _Option("ws_close_on_expiry", bool, "close a WebSocket with code 4401 when its claim "
            "expires (default on)"),
    _Option("ws_max_message", int, "largest WebSocket message passed, bytes (default 16 MiB)",
            "BYTES"),
    _Option("connect_timeout", float, "upstream connect timeout (default 5)", "SECONDS"),
    _Option("upstream_timeout", float, "longest the upstream may stay silent: before its "
            "response headers (then 504) or inside its body (default 60)", "SECONDS"),
    _Option("client_timeout", float, "longest a client may stall inside a body: a pause in "
            "its upload, or not reading the response (default 60)", "SECONDS"),
    _Option("keepalive_timeout", float, "close idle client connections after this long "
            "(default 75)", "SECONDS"),
    _Option("max_header_size", int, "longest request line or header field, bytes "
            "(default 32768)", "BYTES"),
    _Option("max_connections", int, "most client connections at once; more are answered "
            "503 (default 1024)", "N"),
    _Option("drain_timeout", float, "on SIGTERM, let in-flight requests finish for up to this "
            "long (default 10)", "SECONDS"),
    _Option("preserve_host", bool, "send the client's Host header upstream (default on)"),
    _Option("trust_forwarded", bool, "keep X-Forwarded-Proto/-Host from the client (only "
            "behind a trusted proxy; default off)"),
    _Option("access_log", str, "where to write one JSON line per request: - (stderr), a "
            "file path, or off (default -)", "-|PATH|off"),
    _Option("workers", int, "processes sharing the listening socket (default 1)", "N"),
    _Option("loop", str, "event loop: auto (uvloop when installed), asyncio or uvloop",
            "auto|asyncio|uvloop"),
)
_BY_NAME = {o.name: o for o in OPTIONS}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add every gate option to ``parser`` (all default to None: "not given")."""
    parser.add_argument("--config", metavar="FILE", default=None,
                        help=f"TOML file with the options below (also ${CONFIG_ENV})")
    for opt in OPTIONS:
        if opt.kind is bool:
            parser.add_argument(opt.flag, dest=opt.name, action=argparse.BooleanOptionalAction,
                                default=None, help=opt.help)
        elif opt.kind == "list":
            parser.add_argument(opt.flag, dest=opt.name, action="append", default=None,
                                metavar=opt.metavar, help=opt.help)
        else:
            parser.add_argument(opt.flag, dest=opt.name, default=None, metavar=opt.metavar,
                                help=opt.help)


def load_config(
    args: argparse.Namespace | Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> GateConfig:
    """Merge flags, environment and config file into a validated :class:`GateConfig`."""
    env = os.environ if environ is None else environ
    given = vars(args) if isinstance(args, argparse.Namespace) else dict(args or {})
    raw: dict[str, Any] = {}

    path = given.get("config") or env.get(CONFIG_ENV)
    if path:
        for key, value in _read_file(str(path)).items():
            raw[key] = _coerce(_BY_NAME[key], value, f"{key} in {path}")
    for opt in OPTIONS:
        if opt.env in env and env[opt.env] != "":
            raw[opt.name] = _coerce(opt, env[opt.env], opt.env)
    for opt in OPTIONS:
        value = given.get(opt.name)
        if value is not None:
            raw[opt.name] = _coerce(opt, value, opt.flag)
    return _build(raw, env)


def _read_file(path: str) -> dict[str, Any]:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef,import-not-found,unused-ignore]
        except ImportError:
            raise ConfigError("reading a config file needs Python 3.11+ or the tomli "
                              "package") from None
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text") from None
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = key.replace("-", "_")
        if name not in _BY_NAME:
            raise ConfigError(f"config file {path}: unknown option {key!r}")
        if name in out:
            raise ConfigError(f"config file {path}: option {key!r} is given twice")
        out[name] = value
    return out


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _coerce(opt: _Option, value: Any, where: str) -> Any:
    if opt.kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if opt.kind == "list":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
            raise ConfigError(f"{where}: expected a list of strings")
        out = tuple(p.strip() for item in items for p in item.split(",") if p.strip())
        return out
    if opt.kind is int:
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and re.fullmatch(r"\s*[0-9]+\s*", value):
            return int(value)
        raise ConfigError(f"{where}: expected a whole number, got {value!r}")
    if opt.kind is float:
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a number, got {value!r}") from None
        if not math.isfinite(number):
            raise ConfigError(f"{where}: expected a finite number, got {value!r}")
        return number
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    return value


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[V6]:PORT``, ``:PORT`` (all interfaces) or ``PORT`` -> (host, port)."""
    text = value.strip()
    host: str
    if text.isdigit():
        host, port_text = "127.0.0.1", text
    elif text.startswith("["):
        end = text.find("]")
        if end < 0 or text[end + 1 : end + 2] != ":":
            raise ConfigError(f"--listen {value!r}: expected [IPV6]:PORT")
        host, port_text = text[1:end], text[end + 2 :]
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep:
            raise ConfigError(f"--listen {value!r}: expected HOST:PORT")
        host = host or "0.0.0.0"
        if ":" in host:
            raise ConfigError(f"--listen {value!r}: write an IPv6 address as [ADDR]:PORT")
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ConfigError(f"--listen {value!r}: the port must be 0-65535")
    if not host:
        raise ConfigError(f"--listen {value!r}: no host")
    if host.startswith("[") or "]" in host:
        raise ConfigError(f"--listen {value!r}: malformed host")
    if ":" in host or text.startswith("["):
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ConfigError(f"--listen {value!r}: {host!r} is not an IPv6 address") from None
    return host, int(port_text)


def _positive(raw: Mapping[str, Any], name: str, *, allow_zero: bool = False) -> None:
    value = raw.get(name)
    if value is not None and (value < 0 or (value == 0 and not allow_zero)):
        bound = "zero or more" if allow_zero else "more than zero"
        raise ConfigError(f"{_BY_NAME[name].flag} must be {bound}, got {value}")


def _build(raw: dict[str, Any], env: Mapping[str, str]) -> GateConfig:
    forward_auth = bool(raw.pop("forward_auth", False))
    mode: Literal["proxy", "forward-auth"] = "forward-auth" if forward_auth else "proxy"
    host, port = parse_listen(raw.pop("listen", DEFAULT_LISTEN))

    upstream = raw.pop("upstream", None)
    if mode == "proxy":
        if not upstream:
            raise ConfigError("--upstream URL is required (or pass --forward-auth)")
        upstream = _check_upstream(upstream)
    elif upstream:
        raise ConfigError("--upstream has no meaning with --forward-auth: the proxy in front "
                          "(nginx, Traefik, Caddy) talks to the upstream")

    container_id = raw.pop("container_id", None) or None
    any_container = bool(raw.pop("any_container", False))
    if container_id and any_container:
        raise ConfigError("--container-id and --any-container exclude each other")
    if container_id is None and not any_container and not env.get("HOODY_CONTAINER_ID"):
        raise ConfigError("no container id: pass --container-id ID, set HOODY_CONTAINER_ID, "
                          "or pass --any-container to accept claims for any container")

    for name in ("max_age", "ws_max_message", "max_header_size", "max_connections",
                 "workers", "connect_timeout", "upstream_timeout", "client_timeout",
                 "drain_timeout"):
        _positive(raw, name)
    for name in ("leeway", "keepalive_timeout"):
        _positive(raw, name, allow_zero=True)
    if raw.get("max_header_size") is not None and raw["max_header_size"] < 1024:
        raise ConfigError("--max-header-size must be at least 1024 bytes")

    sources = raw.pop("sources", _SOURCES)
    bad = [s for s in sources if s not in _SOURCES]
    if bad or not sources or len(set(sources)) != len(sources):
        raise ConfigError(f"--sources: pick distinct ones of {', '.join(_SOURCES)}")

    loop = raw.pop("loop", "auto")
    if loop not in ("auto", "asyncio", "uvloop"):
        raise ConfigError(f"--loop: expected auto, asyncio or uvloop, got {loop!r}")
    if loop == "uvloop":
        try:
            import uvloop  # noqa: F401
        except ImportError:
            raise ConfigError("--loop uvloop: the uvloop package is not installed") from None

    for name in ("cookie_name", "query_param"):
        value = raw.get(name)
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_.\-]+", value):
            raise ConfigError(f"{_BY_NAME[name].flag}: letters, digits, '_', '.', '-' only")

    if "query_redirect" not in raw:
        # nginx's auth_request turns any answer but 2xx/401/403 into a 500: no redirects there.
        raw["query_redirect"] = mode == "proxy"

    names = {f.name for f in fields(GateConfig)}
    renames = {"allow_type": "allow_types", "user": "users"}
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        target = renames.get(key, key)
        if target not in names:  # pragma: no cover - every option maps to a field
            raise ConfigError(f"unknown option {key!r}")
        kwargs[target] = value
    return GateConfig(mode=mode, listen_host=host, listen_port=port, upstream=upstream,
                      container_id=container_id, any_container=any_container, sources=sources,
                      loop=loop, **kwargs)


def _check_upstream(url: str) -> str:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConfigError(f"--upstream {url!r} is not a URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--upstream {url!r}: expected http://HOST:PORT or https://HOST:PORT")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError(f"--upstream {url!r}: no query, fragment or credentials, please")
    del port
    return url.rstrip("/")
