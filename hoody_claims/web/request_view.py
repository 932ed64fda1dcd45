"""A framework-neutral view of an incoming request: the only thing the gate core looks at.

Each adapter (and the ``hoody-claims gate`` proxy) translates its framework's request into a
:class:`RequestView`; everything after that — where the claim comes from, verification, the
refusal body, the query→cookie redirect — is written once, in this package.

Builders for the two server protocols are here too (:func:`from_wsgi_environ`,
:func:`from_asgi_scope`): they are protocols, not frameworks, and most adapters can use them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "EnvironHeaders",
    "RequestView",
    "from_asgi_scope",
    "from_wsgi_environ",
    "headers_from_pairs",
    "is_loopback_host",
    "parse_cookie_header",
]


@dataclass(frozen=True, slots=True)
class RequestView:
    """What the gate needs to know about one request.

    ``path`` is the URL path as the server decoded it, without the query string (for a mounted
    app: the full path, mount prefix included). ``headers`` has lower-cased names; a header sent
    several times appears once, its values joined with ``", "`` (``"; "`` for ``cookie``).
    """

    method: str
    scheme: str
    host: str
    path: str
    query_string: str
    headers: Mapping[str, str]
    cookies: Mapping[str, str] = field(default_factory=dict)
    client_host: str | None = None


def headers_from_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Lower-case header names and join repeated headers (cookies with ``; ``)."""
    out: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        if key in out:
            out[key] = out[key] + ("; " if key == "cookie" else ", ") + value
        else:
            out[key] = value
    return out


def parse_cookie_header(header: str | None) -> dict[str, str]:
    """Parse a ``Cookie`` header leniently: one broken pair never hides the others.

    The first occurrence of a name wins (browsers send the most specific cookie first).
    Surrounding double quotes are removed; nothing else is decoded.
    """
    cookies: dict[str, str] = {}
    if not header:
        return cookies
    for part in header.split(";"):
        name, sep, value = part.partition("=")
        if not sep:
            continue
        name = name.strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if name and name not in cookies:
            cookies[name] = value
    return cookies


def is_loopback_host(host: str) -> bool:
    """True for ``localhost``, ``*.localhost``, ``127.0.0.0/8`` and ``::1`` (port ignored)."""
    h = host.strip().lower()
    if h.startswith("["):  # [::1]:8000
        h = h[1 : h.find("]")] if "]" in h else h[1:]
    elif h.count(":") == 1:  # name:port or v4:port
        h = h.rsplit(":", 1)[0]
    h = h.rstrip(".")
    if h == "localhost" or h.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def _wsgi_str(value: str) -> str:
    # PEP 3333: native strings carry the raw bytes as latin-1; the path is UTF-8 on the wire.
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


class EnvironHeaders(Mapping[str, str]):
    """The ``HTTP_*`` entries of a WSGI environ as a read-only mapping of lower-cased names.

    Built in O(1): the gate looks at three or four headers, so nothing else is copied.
    """

    __slots__ = ("_environ",)

    def __init__(self, environ: Mapping[str, Any]) -> None:
        self._environ = environ

    @staticmethod
    def _key(name: str) -> str:
        return "HTTP_" + name.upper().replace("-", "_")

    def __getitem__(self, name: str) -> str:
        value = self._environ.get(self._key(name))
        if not isinstance(value, str):
            raise KeyError(name)
        return value

    def get(self, name: str, default: Any = None) -> Any:
        value = self._environ.get(self._key(name))
        return value if isinstance(value, str) else default

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and isinstance(self._environ.get(self._key(name)), str)

    def __iter__(self) -> Iterator[str]:
        for key, value in self._environ.items():
            if key[:5] == "HTTP_" and isinstance(value, str):
                yield key[5:].replace("_", "-").lower()

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"EnvironHeaders({dict(self)!r})"


def from_wsgi_environ(environ: Mapping[str, Any]) -> RequestView:
    """Build a view from a WSGI environ (also fits Django's ``request.META``)."""
    headers = EnvironHeaders(environ)
    host = environ.get("HTTP_HOST") or ""
    if not host:
        name = str(environ.get("SERVER_NAME", ""))
        port = str(environ.get("SERVER_PORT", ""))
        host = f"{name}:{port}" if port and port not in ("80", "443") else name
    path = _wsgi_str(environ.get("SCRIPT_NAME") or "") + _wsgi_str(environ.get("PATH_INFO") or "")
    cookie = environ.get("HTTP_COOKIE")
    return RequestView(
        method=str(environ.get("REQUEST_METHOD") or "GET").upper(),
        scheme=str(environ.get("wsgi.url_scheme") or "http"),
        host=host,
        path=path or "/",
        query_string=str(environ.get("QUERY_STRING") or ""),
        headers=headers,
        cookies=parse_cookie_header(cookie) if cookie else {},
        client_host=environ.get("REMOTE_ADDR") or None,
    )


def from_asgi_scope(scope: Mapping[str, Any]) -> RequestView:
    """Build a view from an ASGI ``http`` or ``websocket`` scope."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        if name in headers:
            value = headers[name] + ("; " if name == "cookie" else ", ") + value
        headers[name] = value
    is_ws = scope.get("type") == "websocket"
    host = headers.get("host") or ""
    server = scope.get("server")
    if not host and server:
        host = f"{server[0]}:{server[1]}" if server[1] is not None else str(server[0])
    client = scope.get("client")
    query = scope.get("query_string", b"")
    return RequestView(
        method="GET" if is_ws else str(scope.get("method", "GET")).upper(),
        scheme=str(scope.get("scheme") or ("ws" if is_ws else "http")),
        host=host,
        path=str(scope.get("path") or "/"),
        query_string=query.decode("latin-1") if isinstance(query, bytes | bytearray) else "",
        headers=headers,
        cookies=parse_cookie_header(headers["cookie"]) if "cookie" in headers else {},
        client_host=str(client[0]) if client else None,
    )
