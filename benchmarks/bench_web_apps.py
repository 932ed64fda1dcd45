"""The minimal apps bench_web.py serves: the same endpoint with and without the claim gate.

Starlette (uvicorn):  ``bench_web_apps:starlette_plain`` / ``bench_web_apps:starlette_guarded``
Flask (gunicorn):     ``bench_web_apps:flask_plain``     / ``bench_web_apps:flask_guarded``

The guarded apps take their verifier from the environment, as a container program would:
``HOODY_CONTAINER_ID`` and ``HOODY_CLAIMS_KEYS`` (a pinned key document, no network).
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from hoody_claims.web.flask import HoodyClaims
from hoody_claims.web.starlette import HoodyClaimsMiddleware


async def _hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


starlette_plain = Starlette(routes=[Route("/", _hello)])
starlette_guarded = Starlette(
    routes=[Route("/", _hello)], middleware=[Middleware(HoodyClaimsMiddleware)]
)


def _flask(guarded: bool) -> Flask:
    app = Flask("bench_web_apps")
    if guarded:
        HoodyClaims(app)

    @app.get("/")
    def hello() -> Any:
        return "hello"

    return app


flask_plain = _flask(False)
flask_guarded = _flask(True)
