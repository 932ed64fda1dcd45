"""The HTTP/WebSocket program the gate tests put behind the gate, run as its own process.

    python upstream_app.py            # prints {"port": N} on stdout once listening

Routes (all on 127.0.0.1):
  /echo/...         JSON: method, path with query, headers (as a list of pairs), body length
                    and sha256, the client's port (to see connection reuse)
  /sse              text/event-stream: ?n= events, ?gap= seconds apart, each stamped
  /download         ?mb= megabytes of a fixed pattern, streamed chunked, 64 KiB at a time
  /upload           reads the body as a stream; JSON: length and sha256
  /hang             never answers
  /slow             answers after ?s= seconds
  /forever          streams 1 KiB every 50 ms until the client goes away; the outcome is
                    recorded for /stats
  /truncated        announces chunked, sends one chunk, then drops the connection
  /status/N         an empty answer with status N
  /stats            JSON of what /forever saw
  /ws               WebSocket echo: text/binary back, "close:CODE:REASON" closes with that code,
                    the close code the client sent is recorded for /stats; pings are answered
                    by hand so the ping payload is echoed in the pong; "vanish" drops the
                    connection without a close frame
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import sys
import time

from aiohttp import WSMsgType, web

STATS: dict[str, object] = {"forever": None, "ws_close": None, "ws_pings": []}
PATTERN = bytes(range(256)) * 256  # 64 KiB


async def echo(request: web.Request) -> web.Response:
    h = hashlib.sha256()
    n = 0
    async for chunk in request.content.iter_any():
        h.update(chunk)
        n += len(chunk)
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return web.json_response(
        {
            "method": request.method,
            "path_qs": request.path_qs,
            "raw_path": request.raw_path,
            "headers": list(request.headers.items()),
            "length": n,
            "sha256": h.hexdigest(),
            "peer_port": peer[1] if peer else None,
            "version": f"{request.version.major}.{request.version.minor}",
        }
    )


async def sse(request: web.Request) -> web.StreamResponse:
    n = int(request.query.get("n", "3"))
    gap = float(request.query.get("gap", "0.3"))
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                       "Cache-Control": "no-cache"})
    await resp.prepare(request)
    for i in range(n):
        await resp.write(f"id: {i}\ndata: {time.time():.6f}\n\n".encode())
        if i < n - 1:
            await asyncio.sleep(gap)
    await resp.write_eof()
    return resp


async def download(request: web.Request) -> web.StreamResponse:
    mb = int(request.query.get("mb", "1"))
    resp = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    for _ in range(mb * 16):
        await resp.write(PATTERN)
    await resp.write_eof()
    return resp


async def hang(request: web.Request) -> web.Response:
    await asyncio.sleep(3600)
    return web.Response()


async def slow(request: web.Request) -> web.Response:
    await asyncio.sleep(float(request.query.get("s", "1")))
    return web.Response(text="slow done")


async def forever(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse()
    await resp.prepare(request)
    sent = 0
    STATS["forever"] = {"state": "streaming", "sent": 0}
    try:
        while True:
            await resp.write(b"x" * 1024)
            sent += 1024
            STATS["forever"] = {"state": "streaming", "sent": sent}
            await asyncio.sleep(0.05)
    except (ConnectionResetError, asyncio.CancelledError, OSError) as exc:
        STATS["forever"] = {"state": "client_gone", "sent": sent, "at": time.time(),
                            "how": type(exc).__name__}
        raise
    return resp  # pragma: no cover


async def truncated(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse()
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    await resp.write(b"first part;")
    await asyncio.sleep(0.1)
    assert request.transport is not None
    request.transport.abort()
    return resp


async def status(request: web.Request) -> web.Response:
    return web.Response(status=int(request.match_info["code"]),
                        headers={"X-Upstream": "yes", "Content-Length": "0"}
                        if request.method == "HEAD" else {"X-Upstream": "yes"})


async def stats(request: web.Request) -> web.Response:
    return web.json_response(STATS)


async def ws(request: web.Request) -> web.WebSocketResponse:
    sock = web.WebSocketResponse(protocols=("chat.v1",), autoping=False)
    await sock.prepare(request)
    STATS["ws_close"] = None
    STATS["ws_headers"] = list(request.headers.items())
    async for msg in sock:
        if msg.type is WSMsgType.TEXT:
            if msg.data == "vanish":  # drop the TCP connection without a close frame
                assert request.transport is not None
                request.transport.abort()
                break
            if msg.data.startswith("close:"):
                _, code, reason = msg.data.split(":", 2)
                await sock.close(code=int(code), message=reason.encode())
                break
            await sock.send_str(msg.data)
        elif msg.type is WSMsgType.BINARY:
            await sock.send_bytes(msg.data)
        elif msg.type is WSMsgType.PING:
            pings = STATS["ws_pings"]
            assert isinstance(pings, list)
            pings.append(msg.data.decode("latin-1"))
            await sock.pong(msg.data)
    STATS["ws_close"] = {"code": sock.close_code, "at": time.time()}
    return sock


def main() -> None:
    app = web.Application()
    app.router.add_route("*", "/echo{tail:.*}", echo)
    app.router.add_get("/sse", sse)
    app.router.add_get("/download", download)
    app.router.add_route("*", "/upload", echo)
    app.router.add_get("/hang", hang)
    app.router.add_get("/slow", slow)
    app.router.add_get("/forever", forever)
    app.router.add_get("/truncated", truncated)
    app.router.add_route("*", "/status/{code}", status)
    app.router.add_get("/stats", stats)
    app.router.add_get("/ws", ws)

    async def start() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        print(json.dumps({"port": port}), flush=True)
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(start())


if __name__ == "__main__":
    sys.exit(main())
