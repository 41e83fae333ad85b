"""clerk_async.django and clerk_async.drf under Django's own test clients (Client,
AsyncClient) and DRF's APIClient, with FakeClerk served from its own thread; and Django
under ASGI behind clerk_async.asgi.ClerkMiddleware (httpx's ASGI transport)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from unittest import mock

import httpx
import pytest

from tests._django import configure

configure()

from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.test import AsyncClient, Client, override_settings  # noqa: E402
from django.urls import path  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from clerk_async.asgi import ClerkMiddleware as ASGIClerkMiddleware  # noqa: E402
from clerk_async.asgi import auth_state  # noqa: E402
from clerk_async.django import authenticator, require_auth  # noqa: E402
from clerk_async.drf import ClerkAuthentication, ClerkUser, clerk_permission  # noqa: E402
from clerk_async.sync._runner import LoopThread  # noqa: E402
from clerk_async.testing import FakeClerk  # noqa: E402
from tests._frameworks import (  # noqa: E402
    USER,
    assert_forbidden,
    assert_unauthorized,
    bearer,
)


def whoami(request: HttpRequest) -> JsonResponse:
    auth = request.auth  # type: ignore[attr-defined]
    return JsonResponse({"user_id": getattr(auth, "user_id", None)})


@require_auth(role="org:admin")
def admin(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"user_id": request.auth.user_id})  # type: ignore[attr-defined]


@require_auth(permission="org:invoices:read")
async def invoices(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"org_id": request.auth.org_id})  # type: ignore[attr-defined]


@require_auth("m2m_token", scopes="mch_api")
def machines_only(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"machine_id": request.auth.machine_id})  # type: ignore[attr-defined]


class Reports(APIView):
    permission_classes = (clerk_permission(role="org:admin"),)

    def get(self, request: Request) -> Response:
        assert isinstance(request.user, ClerkUser)
        return Response({"user": request.user.id, "token_type": request.auth.token_type})


class MachineAuthentication(ClerkAuthentication):
    accepts_token = "m2m_token"


class MachineReports(APIView):
    authentication_classes = (MachineAuthentication,)

    def get(self, request: Request) -> Response:
        return Response({"machine": request.user.id})


def asgi_view(request: Any) -> JsonResponse:
    state = auth_state(request)
    return JsonResponse({"user_id": getattr(state.auth, "user_id", None)})


urlpatterns = [
    path("whoami", whoami),
    path("admin", admin),
    path("invoices", invoices),
    path("machines", machines_only),
    path("api/reports", Reports.as_view()),
    path("api/machine-reports", MachineReports.as_view()),
    path("asgi", asgi_view),
]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeClerk]:
    with FakeClerk(rate_limit=None) as started:
        yield started


@pytest.fixture
def clerk_settings(fake: FakeClerk) -> Iterator[FakeClerk]:
    with override_settings(CLERK={"secret_key": fake.secret_key, "base_url": fake.url}):
        yield fake
        authenticator().close()


def test_middleware_decorator_sync_and_async_views(clerk_settings: FakeClerk) -> None:
    fake = clerk_settings
    http = Client()
    admin_token = fake.session_token(
        USER, org_id="org_1", org_role="admin", org_permissions=["org:invoices:read"]
    )
    member = fake.session_token(USER, org_id="org_1", org_role="member")
    assert http.get("/whoami").json() == {"user_id": None}
    assert http.get("/whoami", headers=bearer(member)).json() == {"user_id": USER}
    assert_unauthorized(http.get("/admin"))
    assert_unauthorized(http.get("/admin", headers=bearer("not-a-token")))
    assert_forbidden(http.get("/admin", headers=bearer(member)))
    assert http.get("/admin", headers=bearer(admin_token)).json() == {"user_id": USER}
    http.cookies["__session"] = admin_token
    assert http.get("/invoices").json() == {"org_id": "org_1"}  # an async view
    del http.cookies["__session"]
    assert_forbidden(http.get("/invoices", headers=bearer(member)))

    caller = fake.add_machine("caller")
    fake.add_machine("api", machine_id="mch_api")
    caller.scopes["mch_api"] = 0
    opaque = fake.add_m2m_token(caller.id).token
    assert http.get("/machines", headers=bearer(opaque)).json() == {"machine_id": caller.id}
    assert_unauthorized(http.get("/machines", headers=bearer(member)), member)


async def test_async_client_and_a_failing_clerk(clerk_settings: FakeClerk) -> None:
    fake = clerk_settings
    http = AsyncClient()
    admin_token = fake.session_token(USER, org_id="org_1", org_permissions=["org:invoices:read"])
    assert (await http.get("/invoices", headers=bearer(admin_token))).json() == {"org_id": "org_1"}
    assert_unauthorized(await http.get("/invoices"))
    # An opaque token while Clerk cannot be reached: 503, not a 401 that would sign out.
    with override_settings(
        CLERK={"secret_key": fake.secret_key, "base_url": "http://127.0.0.1:9/v1", "max_retries": 0}
    ):
        caller = fake.add_machine("caller2")
        answer = await http.get("/machines", headers=bearer(fake.add_m2m_token(caller.id).token))
        assert answer.status_code == 503
        assert answer.json() == {"detail": "Authentication is unavailable"}
        authenticator().close()


def test_drf_authentication_and_permission(clerk_settings: FakeClerk) -> None:
    from rest_framework.test import APIClient

    fake = clerk_settings
    http = APIClient()
    admin_token = fake.session_token(USER, org_id="org_1", org_role="admin")
    member = fake.session_token(USER, org_id="org_1", org_role="member")
    assert http.get("/api/reports", headers=bearer(admin_token)).json() == {
        "user": USER,
        "token_type": "session_token",
    }
    answer = http.get("/api/reports", headers=bearer(member))
    assert answer.status_code == 403
    assert answer.json() == {"detail": "Forbidden"}
    assert_unauthorized(http.get("/api/reports", headers=bearer(member[:-2] + "xx")), member)
    anonymous = http.get("/api/reports")  # no token: anonymous, refused by IsAuthenticated
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    machine = fake.add_machine("drf-caller")
    jwt = fake.m2m_jwt(machine.id)
    assert http.get("/api/machine-reports", headers=bearer(jwt)).json() == {"machine": machine.id}
    assert_unauthorized(http.get("/api/machine-reports", headers=bearer(admin_token)))


def test_jwts_verify_in_the_request_thread_without_a_loop(clerk_settings: FakeClerk) -> None:
    """After the first JWKS fetch, no verification takes the loop thread: no hop, no I/O."""
    fake = clerk_settings
    http = Client()
    token = fake.session_token(USER, org_id="org_1", org_role="admin")
    real_run = LoopThread.run
    with mock.patch.object(LoopThread, "run", autospec=True, side_effect=real_run) as run:
        for _ in range(20):
            assert http.get("/admin", headers=bearer(token)).status_code == 200
    assert run.call_count == 1  # the JWKS, once
    jwks = [r for r in fake.requests if r.path.endswith("/jwks")]
    assert len(jwks) >= 1
    with override_settings(CLERK={"jwt_key": fake.jwt_key}):
        with mock.patch.object(LoopThread, "run") as run:
            assert http.get("/admin", headers=bearer(token)).status_code == 200
        assert run.call_count == 0
        assert authenticator().sync_client._loop_thread is None  # networkless: never started
        authenticator().close()


async def test_django_under_asgi_behind_the_asgi_middleware(fake: FakeClerk) -> None:
    from django.core.asgi import get_asgi_application

    app = ASGIClerkMiddleware(get_asgi_application(), jwt_key=fake.jwt_key)
    token = fake.session_token(USER)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        assert (await http.get("/asgi", headers=bearer(token))).json() == {"user_id": USER}
        assert (await http.get("/asgi")).json() == {"user_id": None}


def test_the_django_example(fake: FakeClerk) -> None:
    import importlib.util
    from pathlib import Path

    source = Path(__file__).resolve().parents[1] / "examples" / "django_app.py"
    spec = importlib.util.spec_from_file_location("django_example", source)
    assert spec is not None
    assert spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    service = fake.add_machine("service", machine_id=example.SERVICE)
    caller = fake.add_machine("example-caller")
    caller.scopes[service.id] = 0
    clerk = {"secret_key": fake.secret_key, "base_url": fake.url}
    with override_settings(
        ROOT_URLCONF=example, MIDDLEWARE=example.SETTINGS["MIDDLEWARE"], CLERK=clerk
    ):
        http = Client()
        admin = fake.session_token(USER, org_id="org_1", org_permissions=["org:invoices:read"])
        member = fake.session_token(USER, org_id="org_1", org_role="member")
        assert http.get("/me").json() == {"signed_in": False}
        assert http.get("/me", headers=bearer(member)).json() == {
            "signed_in": True,
            "user_id": USER,
        }
        assert http.get("/invoices", headers=bearer(admin)).json() == {
            "org_id": "org_1",
            "invoices": [],
        }
        assert_forbidden(http.get("/invoices", headers=bearer(member)))
        jwt = fake.m2m_jwt(caller.id)
        assert http.get("/internal", headers=bearer(jwt)).json() == {"called_by": caller.id}
        assert http.get("/api/reports", headers=bearer(admin)).json() == {
            "user_id": USER,
            "reports": [],
        }
        assert http.get("/api/reports", headers=bearer(member)).status_code == 403
        grace = fake.add_user("grace.django@example.com", first_name="Grace")
        profile = http.get("/profile", headers=bearer(fake.session_token(grace.id)))
        assert profile.json() == {"first_name": "Grace", "emails": 1}
        assert http.get("/profile").status_code == 401
        authenticator().close()
