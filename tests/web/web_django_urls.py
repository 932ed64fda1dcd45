"""ROOT_URLCONF of the Django test project (see web_harness.configure_django)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from web_harness import DJANGO_HARNESS

from hoody_claims.web.django import require_claim


def _body(request: HttpRequest) -> JsonResponse:
    DJANGO_HARNESS[-1].entered.append(request.path)
    claim = request.hoody_claim  # type: ignore[attr-defined]
    return JsonResponse({"sub": claim.sub, "type": claim.type, "container_id": claim.container_id})


def home(request: HttpRequest) -> JsonResponse:
    return _body(request)


@require_claim(allow_types={"admin"})
def admin(request: HttpRequest) -> JsonResponse:
    return _body(request)


@require_claim()
async def async_view(request: HttpRequest) -> JsonResponse:
    return _body(request)


@require_claim(allow_types={"admin"})
async def async_admin(request: HttpRequest) -> JsonResponse:
    return _body(request)


def healthz(request: HttpRequest) -> HttpResponse:
    DJANGO_HARNESS[-1].entered.append(request.path)
    return HttpResponse("ok")


def echo_args(request: HttpRequest, item: int) -> Any:
    return JsonResponse({"item": item, "sub": request.hoody_claim.sub})  # type: ignore[attr-defined]


urlpatterns = [
    path("", home),
    path("admin", admin),
    path("async", async_view),
    path("async-admin", async_admin),
    path("healthz", healthz),
    path("items/<int:item>", require_claim(users={"user-1"})(echo_args)),
]
