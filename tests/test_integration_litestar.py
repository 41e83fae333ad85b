"""clerk_async.litestar (ClerkPlugin, clerk_guard) under Litestar's TestClient, with FakeClerk."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar, Request, get
from litestar.testing import TestClient

from clerk_async.auth import SessionAuth
from clerk_async.litestar import ClerkPlugin, clerk_guard, request_auth
from clerk_async.testing import FakeClerk
from tests._frameworks import USER, assert_forbidden, assert_unauthorized, bearer


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeClerk]:
    with FakeClerk(rate_limit=None) as started:
        yield started


@get("/public")
async def public(request: Request[Any, Any, Any]) -> dict[str, Any]:
    from clerk_async.asgi import auth_state

    return {"signed_in": auth_state(request).is_authenticated}


@get("/me", guards=[clerk_guard()])
async def me(request: Request[Any, Any, Any]) -> dict[str, Any]:
    auth = request_auth(request)
    return {"token_type": auth.token_type}


@get("/invoices", guards=[clerk_guard("session_token", permission="org:invoices:read")])
async def invoices(request: Request[Any, Any, Any]) -> dict[str, Any]:
    auth = request_auth(request)
    assert isinstance(auth, SessionAuth)
    return {"user_id": auth.user_id, "org_id": auth.org_id}


@get("/reports", guards=[clerk_guard("m2m_token", scopes="mch_reports")])
async def reports() -> dict[str, str]:
    return {"reports": "ok"}


def app_for(fake: FakeClerk, **options: Any) -> Litestar:
    plugin = ClerkPlugin(
        accepts_token="any", secret_key=fake.secret_key, base_url=fake.url, **options
    )
    return Litestar([public, me, invoices, reports], plugins=[plugin])


def test_guards_refuse_and_admit(fake: FakeClerk) -> None:
    reader = fake.session_token(USER, org_id="org_1", org_permissions=["org:invoices:read"])
    member = fake.session_token(USER, org_id="org_1", org_role="member")
    caller = fake.add_machine("caller")
    reports_machine = fake.add_machine("reports", machine_id="mch_reports")
    caller.scopes[reports_machine.id] = 0
    allowed = fake.m2m_jwt(caller.id)
    stranger = fake.m2m_jwt(fake.add_machine("stranger").id)
    with TestClient(app_for(fake)) as http:
        assert http.get("/public").json() == {"signed_in": False}
        assert_unauthorized(http.get("/me"))
        assert_unauthorized(http.get("/me", headers=bearer("x.y.z")))
        assert http.get("/me", headers=bearer(member)).json() == {"token_type": "session_token"}
        assert http.get("/me", headers=bearer(allowed)).json() == {"token_type": "m2m_token"}
        assert http.get("/invoices", headers={"Cookie": f"__session={reader}"}).json() == {
            "user_id": USER,
            "org_id": "org_1",
        }
        assert_forbidden(http.get("/invoices", headers=bearer(member)))
        # A machine is not a session: this route does not accept it at all (401).
        assert_unauthorized(http.get("/invoices", headers=bearer(allowed)), allowed)
        assert http.get("/reports", headers=bearer(allowed)).json() == {"reports": "ok"}
        assert_forbidden(
            http.get("/reports", headers=bearer(stranger)),
            'Bearer error="insufficient_scope", scope="mch_reports"',
        )
    assert fake.requests, "the JWKS came from FakeClerk"


def test_the_plugin_closes_its_client(fake: FakeClerk) -> None:
    app = app_for(fake)
    plugin = next(p for p in app.plugins.init if isinstance(p, ClerkPlugin))
    with TestClient(app) as http:
        http.get("/me", headers=bearer(fake.session_token(USER)))
    assert plugin.clerk.closed
