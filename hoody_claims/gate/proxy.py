"""The HTTP half of the reverse proxy: one admitted request, streamed to the upstream and back.

Bodies are never held whole: the request body is read from the client and written upstream a
chunk at a time (aiohttp's flow control pauses the client while the upstream is slow), and the
response the same way back. Failures before the response starts are answered in the JSON
envelope — 502 when the upstream refuses or breaks, 504 when it is too slow; after it started,
the client connection is cut so a truncated body can never pass for a whole one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from hoody_claims.claim import Claim
from hoody_claims.web.strip import strip_query_param

from .accesslog import Entry
from .context import GateContext, error_response
from .headers import identity_headers, response_headers, upstream_request_headers

__all__ = ["ClientStalled", "Watchdog", "proxy_http", "upstream_headers", "upstream_url"]

#: Bodies up to this size (with a Content-Length) are passed in one piece, not streamed.
_SMALL_BODY = 64 * 1024


class ClientStalled(Exception):
    """The client paused inside a body longer than ``client_timeout``."""


class Watchdog:
    """Calls ``on_fire`` if not disarmed within ``timeout`` seconds of being armed.

    Cheaper per chunk than ``asyncio.wait_for`` (no task, one timer handle).
    """

    __slots__ = ("_handle", "_loop", "_on_fire", "_timeout", "fired")

    def __init__(self, timeout: float, on_fire: Callable[[], None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._timeout = timeout
        self._on_fire = on_fire
        self._handle: asyncio.TimerHandle | None = None
        self.fired = False

    def arm(self) -> None:
        if self._handle is None:
            self._handle = self._loop.call_later(self._timeout, self._fire)

    def disarm(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        self._handle = None
        self.fired = True
        self._on_fire()


def upstream_url(base: str, request: web.BaseRequest, query_param: str) -> URL:
    """Upstream URL for ``request``: base + the raw path as received, claim parameter removed."""
    raw = request.raw_path
    path, _, query = raw.partition("?")
    if not path.startswith("/"):  # absolute-form or asterisk-form target: use the parsed path
        path = request.rel_url.raw_path
    query = strip_query_param(query, query_param)
    return URL(base + path + ("?" + query if query else ""), encoded=True)


def upstream_headers(
    ctx: GateContext, request: web.BaseRequest, claim: Claim, *, websocket: bool = False
) -> CIMultiDict[str]:
    cfg = ctx.config
    return upstream_request_headers(
        request.headers,
        cookie_name=cfg.cookie_name,
        identity=identity_headers(claim),
        client_ip=request.remote,
        scheme=request.scheme,
        host=request.host,
        preserve_host=cfg.preserve_host,
        trust_forwarded=cfg.trust_forwarded,
        websocket=websocket,
    )


async def _client_body(request: web.BaseRequest, dog: Watchdog) -> AsyncIterator[bytes]:
    content = request.content
    while True:
        dog.arm()
        try:
            chunk = await content.readany()
        finally:
            dog.disarm()
        if dog.fired:
            raise ClientStalled()
        if not chunk:
            return
        yield chunk


def _stalled(request: web.BaseRequest, entry: Entry) -> None:
    entry.code = "CLIENT_TIMEOUT"  # stopped sending its body, or stopped reading ours
    _cut(request)


def _cut(request: web.BaseRequest) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()


async def proxy_http(
    ctx: GateContext, request: web.BaseRequest, claim: Claim, entry: Entry
) -> web.StreamResponse:
    """Forward ``request`` upstream and stream the answer back to the client."""
    cfg = ctx.config
    assert ctx.session is not None and cfg.upstream is not None
    url = upstream_url(cfg.upstream, request, cfg.query_param)
    headers = upstream_headers(ctx, request, claim)
    dog = Watchdog(cfg.client_timeout, lambda: _stalled(request, entry))

    data: AsyncIterator[bytes] | None = None
    if request.body_exists:
        length = request.content_length
        if length is not None:
            headers["Content-Length"] = str(length)
        if (
            request.version >= (1, 1)
            and request.headers.get("Expect", "").lower() == "100-continue"
        ):
            # admitted: the client may send its body now (a refused one never gets this)
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        data = _client_body(request, dog)
    try:
        upstream = await ctx.session.request(
            request.method,
            url,
            headers=headers,
            data=data,
            allow_redirects=False,
            auto_decompress=False,
            chunked=None,
        )
    except ClientStalled:
        entry.code = "CLIENT_TIMEOUT"
        return error_response(408, "CLIENT_TIMEOUT", "the request body stalled")
    except (aiohttp.ServerTimeoutError, asyncio.TimeoutError):
        entry.code = "UPSTREAM_TIMEOUT"
        return error_response(504, "UPSTREAM_TIMEOUT", "the upstream did not answer in time")
    except (aiohttp.ClientError, OSError) as exc:
        if dog.fired:
            entry.code = "CLIENT_TIMEOUT"
            return error_response(408, "CLIENT_TIMEOUT", "the request body stalled")
        entry.code = "UPSTREAM_UNAVAILABLE"
        return error_response(502, "UPSTREAM_UNAVAILABLE", _describe(exc))

    try:
        chunked = "chunked" in upstream.headers.get("Transfer-Encoding", "").lower()
        length = None if chunked else upstream.content_length
        entry.status = upstream.status
        if (
            length is not None
            and 0 < length <= _SMALL_BODY
            and request.method != "HEAD"
            and upstream.status not in (204, 304)
        ):
            # A small body of known size: take it whole and send head and body in one write
            # (a streamed response sends its head at once, on its own).
            try:
                body = await upstream.read()
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
                entry.code = "UPSTREAM_BROKEN"  # nothing sent yet: a clean 502 is possible
                entry.status = 502
                return error_response(502, "UPSTREAM_BROKEN",
                                      "the upstream broke off its answer")
            return web.Response(status=upstream.status, reason=upstream.reason,
                                headers=response_headers(upstream.headers), body=body)
        resp = web.StreamResponse(
            status=upstream.status,
            reason=upstream.reason,
            headers=response_headers(upstream.headers),
        )
        if length is not None:
            resp.content_length = length
        await resp.prepare(request)
        content = upstream.content
        while True:
            try:
                chunk = await content.readany()
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
                entry.code = "UPSTREAM_BROKEN"
                _cut(request)
                return resp
            if not chunk:
                break
            dog.arm()
            try:
                await resp.write(chunk)
            finally:
                dog.disarm()
        await resp.write_eof()
        return resp
    finally:
        if upstream.content.is_eof():
            upstream.release()  # whole body read: the connection can be reused
        else:
            upstream.close()  # the client went away or the upstream broke: cancel upstream


def _describe(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "the upstream refused the connection or could not be reached"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the upstream closed the connection without answering"
    return "the upstream sent no valid answer"
