"""Running the gate: the aiohttp server, the request dispatcher, signals and worker processes.

Lifecycle lines (``listening``, ``stopping``, ``stopped``) go to stderr as JSON, whatever
``--access-log`` says, so a supervisor or a test can tell when the gate is ready and where.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any, cast

import aiohttp
from aiohttp import web

from hoody_claims.claim_rules import ANY_CONTAINER
from hoody_claims.key_document import KeySet
from hoody_claims.keystore import KEY_PATH, KeySource, KeyStore
from hoody_claims.verifier import ClaimVerifier
from hoody_claims.web import Admit, Gatekeeper, Redirect

from .accesslog import AccessLog, Entry
from .config import ConfigError, GateConfig
from .context import HEALTH_PATH, GateContext, is_websocket_upgrade
from .forward_auth import forward_auth, has_forwarding_headers
from .proxy import proxy_http
from .websocket import proxy_websocket

__all__ = ["build_gatekeeper", "key_source", "run", "serve"]

_HEALTH_BODY = b'{"status":"ok"}'
_HEALTH_HEADERS = (("Content-Type", "application/json"), ("Cache-Control", "no-store"))


# -- building -------------------------------------------------------------------------------


def key_source(cfg: GateConfig) -> KeySet | KeySource:
    """``--keys``: a key document file, or the API base (or full key URL) to fetch from."""
    cache: dict[str, Any] = {"cache_dir": cfg.cache_dir} if cfg.cache_dir else {}
    spec = cfg.keys
    if spec is None:
        return KeyStore(**cache)  # HOODY_CLAIMS_KEYS, else HOODY_API_BASE, else Hoody's
    if spec.startswith(("http://", "https://")):
        base = spec.rstrip("/")
        if base.endswith(KEY_PATH):
            base = base[: -len(KEY_PATH)]
        return KeyStore(base, **cache)
    if not os.path.isfile(spec):
        raise ConfigError(f"--keys: no such file: {spec}")
    return KeySet.from_file(spec)


def build_gatekeeper(cfg: GateConfig, keys: KeySet | KeySource | None = None) -> Gatekeeper:
    """The shared decision core, with this gate's verifier and policy."""
    container: object = ANY_CONTAINER if cfg.any_container else cfg.container_id
    extra: dict[str, Any] = {} if container is None else {"container_id": container}
    verifier = ClaimVerifier(
        keys if keys is not None else key_source(cfg),
        project_id=cfg.project_id,
        leeway=cfg.leeway,
        allow_types=cfg.allow_types or None,
        users=cfg.users or None,
        max_age=cfg.max_age,
        **extra,
    )
    return Gatekeeper(
        verifier,
        sources=cfg.sources,
        cookie_name=cfg.cookie_name,
        query_param=cfg.query_param,
        redirect_query=cfg.query_redirect,
    )


def _event(name: str, **fields: Any) -> None:
    line = json.dumps({"ts": round(time.time(), 3), "event": name, **fields}, separators=(",", ":"))
    print(line, file=sys.stderr, flush=True)


# -- handling -------------------------------------------------------------------------------


class _Handler:
    def __init__(self, ctx: GateContext) -> None:
        self.ctx = ctx
        self.forward_auth = ctx.config.mode == "forward-auth"
        self._time = time.perf_counter  # uvloop's loop.time() only has millisecond steps

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        entry = Entry(request.method, request.path, request.remote, self._time())
        resp: web.StreamResponse | None = None
        try:
            resp = await self._dispatch(request, entry)
            return resp
        except asyncio.CancelledError:
            # the client went away, or the drain time after SIGTERM ran out
            entry.code = entry.code or ("SHUTDOWN" if self.ctx.stopping else "CLIENT_CLOSED")
            raise
        except (ConnectionResetError, aiohttp.ClientConnectionResetError):
            entry.code = entry.code or "CLIENT_CLOSED"
            raise asyncio.CancelledError() from None
        finally:
            if entry.status == 0:
                entry.status = resp.status if resp is not None else 499
            self.ctx.log.write(entry, self._time())

    async def _dispatch(self, request: web.BaseRequest, entry: Entry) -> web.StreamResponse:
        ctx = self.ctx
        if request.path == HEALTH_PATH and not (
            self.forward_auth and has_forwarding_headers(request)
        ):
            return web.Response(status=200, body=_HEALTH_BODY, headers=_HEALTH_HEADERS)
        if self.forward_auth:
            return await forward_auth(ctx, request, entry)
        websocket = is_websocket_upgrade(request)
        decision = await ctx.gatekeeper.adecide(ctx.view(request, websocket=websocket))
        if isinstance(decision, Admit):
            entry.user = decision.claim.sub
            if websocket:
                return await proxy_websocket(ctx, request, decision.claim, entry)
            return await proxy_http(ctx, request, decision.claim, entry)
        if isinstance(decision, Redirect):
            return web.Response(status=decision.status, headers=decision.headers,
                                body=decision.body)
        entry.code = decision.code
        return web.Response(status=decision.status, headers=decision.headers, body=decision.body)


# -- listening ------------------------------------------------------------------------------


_BUSY_BODY = (
    b'{"statusCode":503,"error":"Service Unavailable","message":"too many connections to the '
    b'gate; retry shortly","code":"TOO_MANY_CONNECTIONS"}'
)
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
    b"Cache-Control: no-store\r\nRetry-After: 1\r\nConnection: close\r\n"
    b"Content-Length: " + str(len(_BUSY_BODY)).encode() + b"\r\n\r\n" + _BUSY_BODY
)


class _Busy(asyncio.Protocol):
    """A connection over ``--max-connections``: answer 503 to its first request, then close."""

    def __init__(self, on_reject: Callable[[], None]) -> None:
        self._on_reject = on_reject
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        transport = self._transport
        self._timer = asyncio.get_running_loop().call_later(5.0, transport.close)

    def data_received(self, data: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._on_reject()
            self._transport.write(_BUSY)
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()


class _ListenSite(web.BaseSite):
    """Serves on an already-bound socket and caps the number of open client connections."""

    def __init__(
        self, runner: web.BaseRunner, sock: socket.socket, max_connections: int,
        on_reject: Callable[[], None],
    ) -> None:
        super().__init__(runner, backlog=min(4096, max(128, max_connections)))
        self._sock = sock
        self._max = max_connections
        self._on_reject = on_reject

    @property
    def name(self) -> str:
        host, port = self._sock.getsockname()[:2]
        return f"http://{host}:{port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        limit = self._max
        on_reject = self._on_reject

        def factory() -> asyncio.Protocol:
            if len(server.connections) >= limit:
                return _Busy(on_reject)
            return server()

        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(factory, sock=self._sock, backlog=self._backlog)


def bind(cfg: GateConfig) -> socket.socket:
    """The listening socket (bound before any worker starts, so all share it)."""
    family = socket.AF_INET6 if ":" in cfg.listen_host else socket.AF_INET
    try:
        sock = socket.create_server((cfg.listen_host, cfg.listen_port), family=family,
                                    backlog=min(4096, max(128, cfg.max_connections)))
    except OSError as exc:
        raise ConfigError(f"cannot listen on {cfg.listen}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


# -- running --------------------------------------------------------------------------------


def _session(cfg: GateConfig) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=cfg.max_connections, limit_per_host=0,
                                       keepalive_timeout=30.0),
        timeout=aiohttp.ClientTimeout(total=None, connect=cfg.upstream_timeout,
                                      sock_connect=cfg.connect_timeout,
                                      sock_read=cfg.upstream_timeout),
        auto_decompress=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
        max_line_size=cfg.max_header_size,
        max_field_size=cfg.max_header_size,
        trust_env=False,
    )


async def serve(
    cfg: GateConfig,
    sock: socket.socket,
    gatekeeper: Gatekeeper,
    *,
    announce: bool = True,
    stop: asyncio.Event | None = None,
    warm: KeyStore | None = None,
) -> None:
    """Serve on ``sock`` until SIGTERM/SIGINT (or ``stop`` is set), then drain and return."""
    loop = asyncio.get_running_loop()
    log = AccessLog(cfg.access_log)
    ctx = GateContext(config=cfg, gatekeeper=gatekeeper, log=log)
    if cfg.mode == "proxy":
        ctx.session = _session(cfg)
    server = web.Server(
        _Handler(ctx),
        handler_cancellation=True,
        keepalive_timeout=cfg.keepalive_timeout,
        max_line_size=cfg.max_header_size,
        max_field_size=cfg.max_header_size,
        access_log=None,
    )
    runner = web.ServerRunner(server, shutdown_timeout=cfg.drain_timeout)
    await runner.setup()

    def rejected() -> None:
        now = time.perf_counter()
        log.write(_rejected_entry(now), now)

    site = _ListenSite(runner, sock, cfg.max_connections, rejected)
    await site.start()
    stop = stop or asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if announce:
        host, port = sock.getsockname()[:2]
        _event("listening", address=f"{host}:{port}", port=port, mode=cfg.mode,
               upstream=cfg.upstream, pid=os.getpid())
    if warm is not None:
        _warm_keys(warm)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        started = loop.time()
        if announce:
            _event("stopping", pid=os.getpid(), drain_timeout=cfg.drain_timeout)
        ctx.stopping = True
        for close in list(ctx.websockets):
            close()
        await runner.cleanup()  # stop accepting, close idle, let in-flight finish (bounded)
        if ctx.session is not None:
            await ctx.session.close()
        if announce:
            _event("stopped", pid=os.getpid(), drained_s=round(loop.time() - started, 3))
        log.close()


def _rejected_entry(now: float) -> Entry:
    entry = Entry("-", "-", None, now)
    entry.status, entry.code = 503, "TOO_MANY_CONNECTIONS"
    return entry


def _warm_keys(store: KeyStore) -> None:
    """Fetch the key set in the background now, so the first request does not wait for it."""

    def fetch() -> None:
        try:
            store.key_set()
        except Exception as exc:
            _event("keys_unavailable", error=str(exc))

    asyncio.get_running_loop().run_in_executor(None, fetch)


def _loop_factory(cfg: GateConfig) -> Callable[[], asyncio.AbstractEventLoop]:
    if cfg.loop in ("auto", "uvloop"):
        try:
            import uvloop
        except ImportError:
            if cfg.loop == "uvloop":  # pragma: no cover - checked in config
                raise
        else:
            return uvloop.new_event_loop
    return asyncio.new_event_loop


def _run_loop(cfg: GateConfig, main: Coroutine[Any, Any, None]) -> None:
    factory = _loop_factory(cfg)
    if sys.version_info >= (3, 11):
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(main)
    else:  # pragma: no cover
        loop = factory()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(main)
        finally:
            loop.close()


def run(cfg: GateConfig) -> int:
    """Bind, then serve in this process or in ``cfg.workers`` forked ones; the exit code.

    Raises ``ConfigError`` or ``ValueError`` (bad settings) and ``HoodyClaimsError`` (a key
    file that cannot be used) before anything listens.
    """
    keys = key_source(cfg)
    gatekeeper = build_gatekeeper(cfg, keys)  # fail fast on a bad verifier configuration
    sock = bind(cfg)
    if cfg.workers <= 1:
        warm = keys if isinstance(keys, KeyStore) else None
        _run_loop(cfg, serve(cfg, sock, gatekeeper, warm=warm))
        sock.close()
        return 0
    return _run_workers(cfg, sock)


def _run_workers(cfg: GateConfig, sock: socket.socket) -> int:
    children: list[int] = []
    for _ in range(cfg.workers):
        pid = os.fork()
        if pid == 0:  # worker: its own key store and verifier cache, after the fork
            code = 0
            try:
                keys = key_source(cfg)
                warm = keys if isinstance(keys, KeyStore) else None
                _run_loop(cfg, serve(cfg, sock, build_gatekeeper(cfg, keys), announce=False,
                                     warm=warm))
            except BaseException:  # pragma: no cover - reported, then the worker ends
                import traceback

                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        children.append(pid)
    host, port = sock.getsockname()[:2]
    _event("listening", address=f"{host}:{port}", port=port, mode=cfg.mode,
           upstream=cfg.upstream, pid=os.getpid(), workers=children)
    sock.close()

    stopping = False

    def forward(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    if stopping:  # pragma: no cover
        forward(signal.SIGTERM, None)
    worst = 0
    alive = set(children)
    while alive:
        try:
            pid, status = os.wait()
        except ChildProcessError:  # pragma: no cover
            break
        except InterruptedError:  # pragma: no cover
            continue
        alive.discard(pid)
        code = os.waitstatus_to_exitcode(status)
        if code != 0 and not stopping:
            _event("worker_died", pid=pid, exit_code=code)
            worst = max(worst, 1)
            forward(signal.SIGTERM, None)  # one worker down: stop all, let a supervisor restart
    _event("stopped", pid=os.getpid())
    return worst
