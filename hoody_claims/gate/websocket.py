"""The WebSocket half of the reverse proxy.

The gate opens its own WebSocket to the upstream first (so a refused or unreachable upstream is
answered with a plain HTTP error, not an accepted-then-dropped socket), accepts the client's
with the subprotocol the upstream chose, then relays both ways: text, binary, ping and pong
frames as they come, and the close handshake with its code and reason. Each leg negotiates its
own compression.

When the claim that opened the socket expires (``exp`` + leeway, the moment the verifier would
refuse it), the client is closed with code 4401 and the upstream with 1001; switch this off with
``--no-ws-close-on-expiry``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import aiohttp
from aiohttp import WSMsgType, web

from hoody_claims.claim import Claim

from .accesslog import Entry
from .context import GateContext, error_response
from .proxy import upstream_headers, upstream_url

__all__ = ["CLAIM_EXPIRED_CLOSE", "proxy_websocket"]

#: Close code sent to the client when its claim expires ("401" in the private-use range).
CLAIM_EXPIRED_CLOSE = 4401
_CLOSE_TIMEOUT = 5.0
# Codes that describe a state and must never be sent in a close frame (RFC 6455 §7.4.1).
_UNSENDABLE = {0, 1004, 1005, 1006, 1015}


def _protocols(request: web.BaseRequest) -> tuple[str, ...]:
    out: list[str] = []
    for value in request.headers.getall("Sec-WebSocket-Protocol", ()):
        out.extend(p.strip() for p in value.split(",") if p.strip())
    return tuple(out)


def _sendable(code: int | None, fallback: int) -> int:
    if code is None or code in _UNSENDABLE or not 1000 <= code <= 4999:
        return fallback
    return code


def _reason(extra: object) -> bytes:
    if isinstance(extra, str):
        return extra.encode("utf-8")[:123]
    return b""


async def proxy_websocket(
    ctx: GateContext, request: web.BaseRequest, claim: Claim, entry: Entry
) -> web.StreamResponse:
    """Relay an admitted WebSocket handshake and then its messages, until either side closes."""
    cfg = ctx.config
    assert ctx.session is not None and cfg.upstream is not None
    url = upstream_url(cfg.upstream, request, cfg.query_param)
    headers = upstream_headers(ctx, request, claim, websocket=True)
    try:
        upstream = await ctx.session.ws_connect(
            url,
            headers=headers,
            protocols=_protocols(request),
            autoclose=False,
            autoping=False,
            max_msg_size=cfg.ws_max_message,
            timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=_CLOSE_TIMEOUT),
        )
    except aiohttp.WSServerHandshakeError as exc:
        entry.code = "UPSTREAM_REFUSED_WEBSOCKET"
        status = exc.status if 400 <= exc.status < 500 else 502
        return error_response(
            status, "UPSTREAM_REFUSED_WEBSOCKET",
            f"the upstream refused the WebSocket handshake (status {exc.status})",
        )
    except (aiohttp.ServerTimeoutError, asyncio.TimeoutError):
        entry.code = "UPSTREAM_TIMEOUT"
        return error_response(504, "UPSTREAM_TIMEOUT", "the upstream did not answer in time")
    except (aiohttp.ClientError, OSError):
        entry.code = "UPSTREAM_UNAVAILABLE"
        return error_response(
            502, "UPSTREAM_UNAVAILABLE", "the upstream refused the connection or broke"
        )

    client = web.WebSocketResponse(
        protocols=(upstream.protocol,) if upstream.protocol else (),
        autoclose=False,
        autoping=False,
        max_msg_size=cfg.ws_max_message,
        timeout=_CLOSE_TIMEOUT,
    )
    try:
        await client.prepare(request)
    except BaseException:
        await upstream.close(code=1001)
        raise
    entry.status = 101
    session = _Session(client, upstream, entry)
    closer = session.close_both
    ctx.websockets.add(closer)
    try:
        await session.run(claim.exp + cfg.leeway if cfg.ws_close_on_expiry else None)
    finally:
        ctx.websockets.discard(closer)
    return client


class _Session:
    """Two sockets and the two pumps between them."""

    def __init__(
        self,
        client: web.WebSocketResponse,
        upstream: aiohttp.ClientWebSocketResponse,
        entry: Entry,
    ) -> None:
        self.client = client
        self.upstream = upstream
        self.entry = entry
        self._closing: asyncio.Future[None] | None = None

    async def run(self, expires_at: float | None) -> None:
        pumps = [
            asyncio.ensure_future(self._pump(self.client, self.upstream, from_client=True)),
            asyncio.ensure_future(self._pump(self.upstream, self.client, from_client=False)),
        ]
        timer: asyncio.Task[None] | None = None
        if expires_at is not None:
            timer = asyncio.ensure_future(self._expire_at(expires_at))
        try:
            first = {*pumps, timer} if timer is not None else set(pumps)
            await asyncio.wait(first, return_when=asyncio.FIRST_COMPLETED)
            # Whoever saw the close (a pump, the expiry timer, shutdown) finishes the handshake
            # on both legs and wakes the rest. Give that a bounded moment, then shut all.
            finishing: set[asyncio.Future[None]] = set(pumps)
            if timer is not None and self.entry.ws_close == CLAIM_EXPIRED_CLOSE:
                finishing.add(timer)
            if self._closing is not None:
                finishing.add(self._closing)
            await asyncio.wait(finishing, timeout=2 * _CLOSE_TIMEOUT + 1)
        finally:
            for task in [*pumps, timer]:
                if task is not None and not task.done():
                    task.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            if timer is not None:
                await asyncio.gather(timer, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self.upstream.close(code=1001)
            with contextlib.suppress(Exception):
                await self.client.close(code=1001)
            if self.entry.ws_close is None:
                self.entry.ws_close = self.client.close_code

    async def _expire_at(self, deadline: float) -> None:
        await asyncio.sleep(max(0.0, deadline - time.time()))
        self.entry.code = "CLAIM_EXPIRED"
        self.entry.ws_close = CLAIM_EXPIRED_CLOSE
        await asyncio.gather(
            self.client.close(code=CLAIM_EXPIRED_CLOSE, message=b"claim expired"),
            self.upstream.close(code=1001, message=b"client claim expired"),
            return_exceptions=True,
        )

    def close_both(self, code: int = 1001, reason: bytes = b"server shutting down") -> None:
        """Start closing both legs (server shutdown); returns at once."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close_both(code, reason))

    async def _close_both(self, code: int, reason: bytes) -> None:
        await asyncio.gather(
            self.client.close(code=code, message=reason),
            self.upstream.close(code=code, message=reason),
            return_exceptions=True,
        )

    async def _pump(
        self,
        src: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
        dst: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
        *,
        from_client: bool,
    ) -> None:
        while True:
            msg = await src.receive()
            kind = msg.type
            if kind is WSMsgType.TEXT:
                await dst.send_str(msg.data)
            elif kind is WSMsgType.BINARY:
                await dst.send_bytes(msg.data)
            elif kind is WSMsgType.PING:
                await dst.ping(msg.data)
            elif kind is WSMsgType.PONG:
                await dst.pong(msg.data)
            elif kind is WSMsgType.CLOSE:
                # A close from one side: pass code and reason on, wait for the other side's
                # answer, then answer the first side with the same code.
                code = _sendable(msg.data, 1000)
                reason = _reason(msg.extra)
                if from_client:
                    self.entry.ws_close = code
                await dst.close(code=code, message=reason)
                await src.close(code=code, message=reason)
                return
            elif kind is WSMsgType.CLOSING:
                return  # the other pump is closing this socket
            else:  # CLOSED (peer vanished) or ERROR (protocol violation, too big...)
                fallback = 1001 if from_client else 1014  # client went away / bad gateway
                code = _sendable(src.close_code, fallback) if kind is WSMsgType.ERROR else fallback
                if from_client and self.entry.ws_close is None:
                    self.entry.ws_close = src.close_code or 1006
                await dst.close(code=code)
                return
