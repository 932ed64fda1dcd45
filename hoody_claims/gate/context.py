"""State shared by the gate's request handlers in one worker process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from hoody_claims.web import Gatekeeper, RequestView
from hoody_claims.web.request_view import headers_from_pairs, parse_cookie_header
from hoody_claims.web.responses import refuse

from .accesslog import AccessLog
from .config import GateConfig

if TYPE_CHECKING:
    import aiohttp

__all__ = ["HEALTH_PATH", "GateContext", "error_response", "is_websocket_upgrade"]

HEALTH_PATH = "/_hoody/health"


@dataclass
class GateContext:
    """Configuration, the decision core and the per-process resources the handlers use."""

    config: GateConfig
    gatekeeper: Gatekeeper
    log: AccessLog
    session: aiohttp.ClientSession | None = None
    #: Open WebSocket sessions: a callable that closes each one (used on shutdown).
    websockets: set[Callable[[], None]] = field(default_factory=set)
    stopping: bool = False

    def view(self, request: web.BaseRequest, *, websocket: bool = False) -> RequestView:
        """The framework-neutral view of ``request`` for the Gatekeeper."""
        headers = headers_from_pairs(request.headers.items())
        scheme = request.scheme
        host = request.host
        if self.config.trust_forwarded:
            scheme = headers.get("x-forwarded-proto", "").split(",")[0].strip() or scheme
            host = headers.get("x-forwarded-host", "").split(",")[0].strip() or host
        if websocket:
            scheme = "wss" if scheme == "https" else "ws"
        return RequestView(
            method=request.method,
            scheme=scheme,
            host=host,
            path=request.path,
            query_string=request.query_string,
            headers=headers,
            cookies=parse_cookie_header(headers.get("cookie")),
            client_host=request.remote,
        )


def is_websocket_upgrade(request: web.BaseRequest) -> bool:
    """A GET asking to switch to the WebSocket protocol (RFC 6455 §4.1)."""
    if request.method != "GET":
        return False
    upgrade = request.headers.get("Upgrade", "")
    if "websocket" not in upgrade.lower():
        return False
    connection = request.headers.get("Connection", "").lower()
    return "upgrade" in (t.strip() for t in connection.split(","))


def error_response(status: int, code: str, message: str) -> web.Response:
    """A gate-side error (502, 504, 503...) in the same JSON envelope as the refusals."""
    r = refuse(status, code, message)
    return web.Response(status=r.status, body=r.body, headers=r.headers)
