"""clerk_async.flask (ClerkAuth, require_auth) under Flask's own test client, with FakeClerk
served from its own thread."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import flask
import pytest
from flask import Flask

from clerk_async.auth import SessionAuth
from clerk_async.errors import ClerkValidationError, ClientStateError
from clerk_async.flask import ClerkAuth, authenticate, require_auth
from clerk_async.testing import FakeClerk
from tests._frameworks import USER, assert_forbidden, assert_unauthorized, bearer


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeClerk]:
    with FakeClerk(rate_limit=None) as started:
        yield started


def create_app(config: dict[str, Any] | None = None, **options: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(config or {})
    ClerkAuth(app, **options)

    @app.get("/optional")
    def optional() -> dict[str, Any]:
        return {"signed_in": authenticate().is_authenticated}

    @app.get("/admin")
    @require_auth(role="org:admin")
    def admin() -> dict[str, Any]:
        assert isinstance(flask.g.auth, SessionAuth)
        return {"user_id": flask.g.auth.user_id}

    @app.get("/plan")
    @require_auth(plan="u:pro")
    async def plan() -> dict[str, Any]:  # an async view (flask[async])
        return {"user_id": flask.g.auth.user_id}

    @app.get("/keys")
    @require_auth(["api_key", "m2m_token"], scopes="read:reports")
    def keys() -> dict[str, Any]:
        return {"token_type": flask.g.auth.token_type}

    return app


@pytest.fixture
def app(fake: FakeClerk) -> Iterator[Flask]:
    with fake.setenv():  # CLERK_API_URL as a deployment would set it
        app = create_app({"CLERK_SECRET_KEY": fake.secret_key})
    yield app
    ClerkAuth.close(app)


def test_decorator_and_extension(app: Flask, fake: FakeClerk) -> None:
    http = app.test_client()
    admin = fake.session_token(USER, org_id="org_1", org_role="admin")
    member = fake.session_token(USER, org_id="org_1", org_role="member")
    pro = fake.session_token(USER, claims={"pla": "u:pro"})
    assert http.get("/optional").json == {"signed_in": False}
    assert http.get("/optional", headers=bearer(member)).json == {"signed_in": True}
    assert_unauthorized(http.get("/admin"))
    assert_unauthorized(http.get("/admin", headers=bearer(admin + "x")), admin)
    assert_forbidden(http.get("/admin", headers=bearer(member)))
    assert http.get("/admin", headers=bearer(admin)).json == {"user_id": USER}
    http.set_cookie("__session", pro)
    assert http.get("/plan").json == {"user_id": USER}
    http.delete_cookie("__session")
    assert_forbidden(http.get("/plan", headers=bearer(member)))
    reader = fake.add_api_key(USER, scopes=["read:reports"]).secret
    writer = fake.add_api_key(USER, scopes=["write:reports"]).secret
    assert http.get("/keys", headers=bearer(reader)).json == {"token_type": "api_key"}
    assert_forbidden(
        http.get("/keys", headers=bearer(writer)),
        'Bearer error="insufficient_scope", scope="read:reports"',
    )
    assert_unauthorized(http.get("/keys", headers=bearer(admin)))  # sessions not accepted


def test_networkless_with_jwt_key_and_authorized_parties(fake: FakeClerk) -> None:
    app = create_app(jwt_key=fake.jwt_key, authorized_parties=["https://app.test"])
    http = app.test_client()
    good = fake.session_token(USER, org_id="o", azp="https://app.test")
    evil = fake.session_token(USER, org_id="o", azp="https://evil.test")
    before = len(fake.requests)
    assert http.get("/admin", headers=bearer(good)).json == {"user_id": USER}
    assert_unauthorized(http.get("/admin", headers=bearer(evil)), evil)
    assert len(fake.requests) == before
    assert app.extensions["clerk_async"].authenticator.sync_client._loop_thread is None
    ClerkAuth.close(app)


def test_configuration_errors_are_clear() -> None:
    with pytest.raises(ClerkValidationError) as caught:
        create_app(jwt_key="nope")
    assert caught.value.field == "jwt_key"
    with pytest.raises(ClerkValidationError) as caught:
        require_auth(role="")
    assert caught.value.field == "role"
    bare = Flask(__name__)

    @bare.get("/x")
    @require_auth()
    def x() -> str:
        return "x"

    bare.testing = True
    with pytest.raises(ClientStateError, match="init_app"):
        bare.test_client().get("/x")
