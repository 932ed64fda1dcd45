"""Django specifics: async views and the async middleware path (AsyncClient), the verifier
built from settings (pinned keys, dotted path), the decorator without the middleware."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import CID, PID, Ctx, assert_refused
from web_harness import DJANGO_HARNESS, Harness, Resp, configure_django

configure_django()

from django.test import AsyncClient, Client  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

VERIFIER_FOR_DOTTED_PATH: list[Any] = []


def dotted_verifier() -> Any:
    return VERIFIER_FOR_DOTTED_PATH[-1]


@pytest.fixture
def recorder() -> Any:
    h = Harness("django", send=lambda *a: Resp(0, [], b""))
    DJANGO_HARNESS.append(h)
    yield h
    DJANGO_HARNESS.remove(h)


def _resp(r: Any) -> Resp:
    return Resp(r.status_code, [(k.lower(), v) for k, v in r.items()], r.content)


async def test_async_views_and_async_middleware(ctx: Ctx, recorder: Harness) -> None:
    with override_settings(HOODY_CLAIMS={"GATEKEEPER": ctx.gate()}):
        client = AsyncClient()
        assert_refused(_resp(await client.get("/async")), 401, "CLAIM_REQUIRED")
        user = {"X-Hoody-Container-Claim": ctx.claim(sub="u")}
        admin = {"X-Hoody-Container-Claim": ctx.claim(sub="a", type="admin")}
        r = await client.get("/async", headers=user)
        assert r.status_code == 200 and json.loads(r.content)["sub"] == "u"
        assert_refused(_resp(await client.get("/async-admin", headers=user)), 403, "POLICY_DENIED")
        assert json.loads((await client.get("/async-admin", headers=admin)).content)["sub"] == "a"
        r = await client.get(f"/?hoody_claim={ctx.claim(ttl=50)}&z=1")
        assert r.status_code == 303 and r["Location"] == "/?z=1"
        assert r["Set-Cookie"].endswith("SameSite=Lax; Path=/; Max-Age=50")
        assert (await client.get("/healthz")).content == b"ok"
    assert recorder.entered == ["/async", "/async-admin", "/healthz"]


def test_verifier_built_from_settings_with_pinned_keys(ctx: Ctx, recorder: Harness) -> None:
    conf = {
        "CONTAINER_ID": CID,
        "PROJECT_ID": PID,
        "KEYS": json.dumps(ctx.issuer.key_document()),
        "EXEMPT_PATHS": ["/healthz"],
        "POLICY": {"allow_types": ["user"]},
    }
    with override_settings(HOODY_CLAIMS=conf):
        client = Client()
        assert client.get("/healthz").status_code == 200
        assert (
            client.get(
                "/",
                headers={
                    "X-Hoody-Container-Claim": ctx.issuer.container_claim(
                        container_id=CID, project_id=PID
                    )
                },
            ).status_code
            == 200
        )
        admin = ctx.issuer.container_claim(container_id=CID, project_id=PID, type="admin")
        r = client.get("/", headers={"X-Hoody-Container-Claim": admin})
        assert_refused(_resp(r), 403, "POLICY_DENIED")  # POLICY applies everywhere


def test_verifier_from_a_dotted_path_and_decorator_without_middleware(
    ctx: Ctx, recorder: Harness
) -> None:
    VERIFIER_FOR_DOTTED_PATH.append(ctx.verifier())
    conf = {"VERIFIER": "test_web_django.dotted_verifier"}
    with override_settings(HOODY_CLAIMS=conf, MIDDLEWARE=[]):
        client = Client()
        assert_refused(_resp(client.get("/admin")), 401, "CLAIM_REQUIRED")
        r = client.get("/items/5", headers={"Authorization": f"HoodyClaim {ctx.claim()}"})
        assert r.status_code == 200 and json.loads(r.content) == {"item": 5, "sub": "user-1"}
        r = client.get("/items/5", headers={"Authorization": f"HoodyClaim {ctx.claim(sub='x')}"})
        assert_refused(_resp(r), 403, "POLICY_DENIED")


def test_broken_settings_fail_at_startup() -> None:
    from django.core.exceptions import ImproperlyConfigured

    from hoody_claims.web.django import HoodyClaimsMiddleware

    with override_settings(HOODY_CLAIMS="nope"), pytest.raises(ImproperlyConfigured):
        HoodyClaimsMiddleware(lambda request: None)
    with override_settings(HOODY_CLAIMS={"POLICY": {"groups": ["x"]}}), pytest.raises(TypeError):
        HoodyClaimsMiddleware(lambda request: None)
    for bad in ({"PROJECTID": "x"}, {"EXEMPT_PATHS": "/healthz"}, {"VERIFIER": "no.such.path"}):
        with override_settings(HOODY_CLAIMS=bad), pytest.raises(ImproperlyConfigured):
            HoodyClaimsMiddleware(lambda request: None)


def test_policy_setting_applies_to_decorated_views_without_the_middleware(
    ctx: Ctx, recorder: Harness
) -> None:
    VERIFIER_FOR_DOTTED_PATH.append(ctx.verifier())
    conf = {"VERIFIER": "test_web_django.dotted_verifier", "POLICY": {"allow_types": ["admin"]}}
    with override_settings(HOODY_CLAIMS=conf, MIDDLEWARE=[]):
        client = Client()
        user = {"Authorization": f"HoodyClaim {ctx.claim(type='user')}"}
        assert_refused(_resp(client.get("/items/5", headers=user)), 403, "POLICY_DENIED")
        admin = {"Authorization": f"HoodyClaim {ctx.claim(type='admin')}"}
        r = client.get("/items/5", headers=admin)
        assert r.status_code == 200 and json.loads(r.content) == {"item": 5, "sub": "user-1"}
