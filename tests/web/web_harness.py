"""One small app per framework, driven by that framework's own test client, behind one interface.

Every app has the same routes, so the behaviour matrix in ``test_web_matrix.py`` is written
once and runs against every adapter:

- ``GET|POST /``       guarded by the adapter's app-wide guard; answers the claim it was handed
- ``GET /admin``       the same, plus a per-route policy ``allow_types={"admin"}``
- ``GET /healthz``     exempt: answers without a claim

``harness.entered`` lists the paths whose handler actually ran, so a test can tell that a
refused request never reached the application.
"""

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from hoody_claims.testing import Issuer
from hoody_claims.web import Gatekeeper

FRAMEWORKS = ("wsgi", "asgi", "starlette", "fastapi", "flask", "django", "aiohttp")


@dataclass
class Resp:
    """A response, whatever client produced it: lower-cased header names, raw body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name.lower()]

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Harness:
    """The app (built by one of the ``build_*`` functions) and how to send it a request."""

    name: str
    send: Callable[[str, str, dict[str, str]], Resp]
    close: Callable[[], None] = lambda: None
    entered: list[str] = field(default_factory=list)

    def get(self, path: str, headers: dict[str, str] | None = None) -> Resp:
        return self.send("GET", path, dict(headers or {}))

    def post(self, path: str, headers: dict[str, str] | None = None) -> Resp:
        return self.send("POST", path, dict(headers or {}))


def _claim_body(claim: Any) -> dict[str, Any]:
    return {"sub": claim.sub, "type": claim.type, "container_id": claim.container_id}


def _lower(pairs: Any) -> list[tuple[str, str]]:
    return [(str(k).lower(), str(v)) for k, v in pairs]


# -- WSGI (werkzeug's test client) -------------------------------------------------------------


def build_wsgi(gate: Gatekeeper) -> Harness:
    from werkzeug.test import Client

    from hoody_claims.web.wsgi import ENVIRON_KEY, HoodyClaimsMiddleware

    h = Harness("wsgi", send=lambda *a: Resp(0, [], b""))

    def handler(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        path = environ["PATH_INFO"]
        h.entered.append(path)
        if path == "/healthz":
            body = b"ok"
        else:
            body = json.dumps(_claim_body(environ[ENVIRON_KEY])).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]

    guarded = HoodyClaimsMiddleware(handler, gatekeeper=gate)
    admin = HoodyClaimsMiddleware(handler, gatekeeper=gate, allow_types={"admin"})

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ["PATH_INFO"] == "/admin":
            return admin(environ, start_response)
        return guarded(environ, start_response)

    client = Client(app, use_cookies=False)

    def send(method: str, path: str, headers: dict[str, str]) -> Resp:
        r = client.open(path, method=method, headers=headers)
        return Resp(r.status_code, _lower(r.headers.to_wsgi_list()), r.get_data())

    h.send = send
    return h


# -- raw ASGI (Starlette's TestClient speaks plain ASGI) --------------------------------------


def _starlette_client(app: Any) -> Any:
    from starlette.testclient import TestClient

    client = TestClient(app, follow_redirects=False)
    client.__enter__()
    return client


def _httpx_sender(client: Any) -> Callable[[str, str, dict[str, str]], Resp]:
    def send(method: str, path: str, headers: dict[str, str]) -> Resp:
        client.cookies.clear()  # every request carries exactly what the test puts in it
        r = client.request(method, path, headers=headers)
        return Resp(r.status_code, _lower(r.headers.multi_items()), r.content)

    return send


def build_asgi(gate: Gatekeeper) -> Harness:
    from hoody_claims.web.asgi import SCOPE_KEY, HoodyClaimsMiddleware

    h = Harness("asgi", send=lambda *a: Resp(0, [], b""))

    async def handler(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        h.entered.append(scope["path"])
        if scope["type"] == "websocket":
            assert (await receive())["type"] == "websocket.connect"
            await send({"type": "websocket.accept"})
            await send(
                {"type": "websocket.send", "text": json.dumps(_claim_body(scope[SCOPE_KEY]))}
            )
            await send({"type": "websocket.close", "code": 1000})
            return
        body = (
            b"ok"
            if scope["path"] == "/healthz"
            else json.dumps(_claim_body(scope[SCOPE_KEY])).encode()
        )
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    guarded = HoodyClaimsMiddleware(handler, gatekeeper=gate)
    admin = HoodyClaimsMiddleware(handler, gatekeeper=gate, allow_types={"admin"})

    async def app(scope: Any, receive: Any, send: Any) -> None:
        target = admin if scope.get("path") == "/admin" else guarded
        await target(scope, receive, send)

    client = _starlette_client(app)
    h.send = _httpx_sender(client)
    h.close = lambda: client.__exit__(None, None, None)
    h.app = app  # type: ignore[attr-defined]
    return h


# -- Starlette ---------------------------------------------------------------------------------


def starlette_app(gate: Gatekeeper, h: Harness) -> Any:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket

    from hoody_claims.web.starlette import HoodyClaimsMiddleware, require_claim

    async def home(request: Request) -> JSONResponse:
        h.entered.append(request.url.path)
        return JSONResponse(_claim_body(request.state.hoody_claim))

    @require_claim(allow_types={"admin"})
    async def admin(request: Request) -> JSONResponse:
        h.entered.append(request.url.path)
        return JSONResponse(_claim_body(request.state.hoody_claim))

    def healthz(request: Request) -> PlainTextResponse:
        h.entered.append(request.url.path)
        return PlainTextResponse("ok")

    async def ws(websocket: WebSocket) -> None:
        h.entered.append(websocket.url.path)
        await websocket.accept()
        await websocket.send_json(_claim_body(websocket.state.hoody_claim))
        await websocket.close()

    @require_claim(allow_types={"admin"})
    async def ws_admin(websocket: WebSocket) -> None:
        await ws(websocket)

    return Starlette(
        routes=[
            Route("/", home, methods=["GET", "POST"]),
            Route("/admin", admin),
            Route("/healthz", healthz),
            WebSocketRoute("/ws", ws),
            WebSocketRoute("/ws/admin", ws_admin),
        ],
        middleware=[Middleware(HoodyClaimsMiddleware, gatekeeper=gate)],
    )


def build_starlette(gate: Gatekeeper) -> Harness:
    h = Harness("starlette", send=lambda *a: Resp(0, [], b""))
    client = _starlette_client(starlette_app(gate, h))
    h.send = _httpx_sender(client)
    h.close = lambda: client.__exit__(None, None, None)
    h.client = client  # type: ignore[attr-defined]
    return h


# -- FastAPI -----------------------------------------------------------------------------------


def fastapi_app(gate: Gatekeeper, h: Harness) -> Any:
    from fastapi import Depends, FastAPI, Request, WebSocket
    from fastapi.responses import PlainTextResponse

    from hoody_claims import Claim
    from hoody_claims.web.fastapi import HoodyClaimsMiddleware, hoody_claim

    app = FastAPI()
    app.add_middleware(HoodyClaimsMiddleware, gatekeeper=gate)

    @app.api_route("/", methods=["GET", "POST"])
    async def home(request: Request, claim: Annotated[Claim, Depends(hoody_claim())]) -> Any:
        h.entered.append(request.url.path)
        assert request.state.hoody_claim is claim
        return _claim_body(claim)

    @app.get("/admin")
    def admin(
        request: Request,
        claim: Claim = Depends(hoody_claim(allow_types={"admin"})),  # noqa: B008 - the documented form
    ) -> Any:
        h.entered.append(request.url.path)
        return _claim_body(claim)

    @app.get("/healthz", response_class=PlainTextResponse)
    async def healthz(request: Request) -> str:
        h.entered.append(request.url.path)
        return "ok"

    @app.websocket("/ws")
    async def ws(websocket: WebSocket, claim: Annotated[Claim, Depends(hoody_claim())]) -> None:
        h.entered.append(websocket.url.path)
        await websocket.accept()
        await websocket.send_json(_claim_body(claim))
        await websocket.close()

    @app.websocket("/ws/admin")
    async def ws_admin(
        websocket: WebSocket, claim: Annotated[Claim, Depends(hoody_claim(allow_types={"admin"}))]
    ) -> None:
        h.entered.append(websocket.url.path)
        await websocket.accept()
        await websocket.send_json(_claim_body(claim))
        await websocket.close()

    return app


def build_fastapi(gate: Gatekeeper) -> Harness:
    h = Harness("fastapi", send=lambda *a: Resp(0, [], b""))
    client = _starlette_client(fastapi_app(gate, h))
    h.send = _httpx_sender(client)
    h.close = lambda: client.__exit__(None, None, None)
    h.client = client  # type: ignore[attr-defined]
    return h


# -- Flask -------------------------------------------------------------------------------------


def flask_app(gate: Gatekeeper, h: Harness) -> Any:
    from flask import Flask, g, request

    from hoody_claims.web.flask import HoodyClaims, require_claim

    app = Flask(__name__)
    HoodyClaims(app, gatekeeper=gate)

    @app.route("/", methods=["GET", "POST"])
    def home() -> Any:
        h.entered.append(request.path)
        return _claim_body(g.hoody_claim)

    @app.get("/admin")
    @require_claim(allow_types={"admin"})
    async def admin() -> Any:
        h.entered.append(request.path)
        return _claim_body(g.hoody_claim)

    @app.get("/healthz")
    def healthz() -> str:
        h.entered.append(request.path)
        return "ok"

    return app


def build_flask(gate: Gatekeeper) -> Harness:
    h = Harness("flask", send=lambda *a: Resp(0, [], b""))
    client = flask_app(gate, h).test_client(use_cookies=False)

    def send(method: str, path: str, headers: dict[str, str]) -> Resp:
        r = client.open(path, method=method, headers=headers)
        return Resp(r.status_code, _lower(r.headers.to_wsgi_list()), r.get_data())

    h.send = send
    return h


# -- Django ------------------------------------------------------------------------------------

DJANGO_HARNESS: list[Harness] = []  # the harness whose test is running (views report to it)


def configure_django() -> None:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="hoody-claims-tests",
            ALLOWED_HOSTS=["*"],
            ROOT_URLCONF="web_django_urls",
            MIDDLEWARE=["hoody_claims.web.django.HoodyClaimsMiddleware"],
            INSTALLED_APPS=[],
            DATABASES={},
            USE_TZ=True,
            # Replaced per test with override_settings; a valid default keeps startup honest.
            HOODY_CLAIMS={
                "CONTAINER_ID": "0123456789abcdef01234567",
                "KEYS": json.dumps(Issuer(kid="django-default").key_document()),
            },
        )
        django.setup()


def build_django(gate: Gatekeeper) -> Harness:
    configure_django()
    from django.test import Client
    from django.test.utils import override_settings

    override = override_settings(HOODY_CLAIMS={"GATEKEEPER": gate})
    override.enable()
    client = Client()
    h = Harness("django", send=lambda *a: Resp(0, [], b""))

    def send(method: str, path: str, headers: dict[str, str]) -> Resp:
        client.cookies.clear()
        r = client.generic(method, path, headers=headers)
        pairs = list(r.items()) + [
            ("Set-Cookie", c.output(header="").strip()) for c in r.cookies.values()
        ]
        return Resp(r.status_code, _lower(pairs), r.content)

    def close() -> None:
        override.disable()
        DJANGO_HARNESS.remove(h)

    h.send = send
    h.close = close
    DJANGO_HARNESS.append(h)
    return h


# -- aiohttp -----------------------------------------------------------------------------------


def aiohttp_app(gate: Gatekeeper, h: Harness) -> Any:
    from aiohttp import WSMsgType, web

    from hoody_claims.web.aiohttp import hoody_claims_middleware, require_claim

    async def home(request: web.Request) -> web.Response:
        h.entered.append(request.path)
        return web.json_response(_claim_body(request["hoody_claim"]))

    @require_claim(allow_types={"admin"})
    async def admin(request: web.Request) -> web.Response:
        return await home(request)

    async def healthz(request: web.Request) -> web.Response:
        h.entered.append(request.path)
        return web.Response(text="ok")

    async def ws(request: web.Request) -> web.WebSocketResponse:
        h.entered.append(request.path)
        sock = web.WebSocketResponse()
        await sock.prepare(request)
        await sock.send_json(_claim_body(request["hoody_claim"]))
        async for msg in sock:
            if msg.type != WSMsgType.TEXT:
                break
        return sock

    app = web.Application(middlewares=[hoody_claims_middleware(gatekeeper=gate)])
    app.router.add_route("*", "/", home)
    app.router.add_get("/admin", admin)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/ws", ws)
    app.router.add_get("/ws/admin", require_claim(allow_types={"admin"})(ws))
    return app


class AiohttpRunner:
    """aiohttp's TestClient on a private event loop, callable from synchronous tests."""

    def __init__(self, app: Any) -> None:
        from aiohttp import DummyCookieJar
        from aiohttp.test_utils import TestClient, TestServer

        self.loop = asyncio.new_event_loop()

        async def start() -> Any:
            client = TestClient(TestServer(app), cookie_jar=DummyCookieJar())
            await client.start_server()
            return client

        self.client = self.loop.run_until_complete(start())

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        self.run(self.client.close())
        self.loop.close()


def build_aiohttp(gate: Gatekeeper) -> Harness:
    h = Harness("aiohttp", send=lambda *a: Resp(0, [], b""))
    runner = AiohttpRunner(aiohttp_app(gate, h))

    async def request(method: str, path: str, headers: dict[str, str]) -> Resp:
        async with runner.client.request(method, path, headers=headers, allow_redirects=False) as r:
            return Resp(r.status, _lower(r.headers.items()), await r.read())

    h.send = lambda m, p, hd: runner.run(request(m, p, hd))
    h.close = runner.close
    h.runner = runner  # type: ignore[attr-defined]
    return h


BUILDERS: dict[str, Callable[[Gatekeeper], Harness]] = {
    "wsgi": build_wsgi,
    "asgi": build_asgi,
    "starlette": build_starlette,
    "fastapi": build_fastapi,
    "flask": build_flask,
    "django": build_django,
    "aiohttp": build_aiohttp,
}
