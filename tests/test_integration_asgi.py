"""clerk_async.asgi.ClerkMiddleware under Starlette's TestClient, Quart's test client, and
Django under ASGI (driven by httpx's ASGI transport), each in front of FakeClerk."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect

from clerk_async.asgi import SCOPE_CLERK, ClerkMiddleware, auth_state
from clerk_async.errors import ClerkValidationError, ClientStateError
from clerk_async.testing import FakeClerk
from tests._frameworks import INVALID, USER, assert_forbidden, assert_unauthorized, bearer


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeClerk]:
    with FakeClerk(rate_limit=None) as started:
        yield started


async def whoami(request: Request) -> JSONResponse:
    state = auth_state(request)
    auth = state.auth
    return JSONResponse(
        {
            "authenticated": state.is_authenticated,
            "token_type": state.token_type,
            "user_id": getattr(auth, "user_id", None),
            "machine_id": getattr(auth, "machine_id", None),
            "admin": state.has(role="org:admin"),
            "has_client": request.scope[SCOPE_CLERK] is not None,
        }
    )


async def socket(websocket: WebSocket) -> None:
    await websocket.accept()
    auth = auth_state(websocket).auth
    await websocket.send_json({"user_id": getattr(auth, "user_id", None)})
    await websocket.close()


def starlette_app(**options: Any) -> Any:
    app = Starlette(routes=[Route("/me", whoami), WebSocketRoute("/ws", socket)])
    return ClerkMiddleware(app, **options)


def test_annotates_every_request_from_header_or_cookie_with_the_jwks(fake: FakeClerk) -> None:
    app = starlette_app(accepts_token="any", secret_key=fake.secret_key, base_url=fake.url)
    session = fake.session_token(USER, org_id="org_1", org_role="admin")
    machine = fake.add_machine("caller")
    opaque = fake.add_m2m_token(machine.id).token
    before = len([r for r in fake.requests if r.path.endswith("/jwks")])
    with TestClient(app) as http:
        anonymous = http.get("/me").json()
        assert anonymous["authenticated"] is False
        assert anonymous["admin"] is False
        me = http.get("/me", headers=bearer(session)).json()
        assert me["user_id"] == USER
        assert me["admin"] is True
        assert me["has_client"] is True
        cookie = {"Cookie": f"__session={session}"}
        assert http.get("/me", headers=cookie).json()["user_id"] == USER
        m2m = http.get("/me", headers=bearer(opaque)).json()
        assert (m2m["token_type"], m2m["machine_id"]) == ("m2m_token", machine.id)
        bad = http.get("/me", headers=bearer(session[:-4] + "AAAA")).json()
        assert bad["authenticated"] is False  # annotated, not refused: required=False
        with http.websocket_connect("/ws", headers=bearer(session)) as ws:
            assert ws.receive_json() == {"user_id": USER}
    # The JWKS was fetched once for all those requests, by the app's own client.
    assert len([r for r in fake.requests if r.path.endswith("/jwks")]) == before + 1


def test_required_and_has_checks_refuse_before_the_app(fake: FakeClerk) -> None:
    required = starlette_app(required=True, jwt_key=fake.jwt_key)
    admins = starlette_app(role="org:admin", jwt_key=fake.jwt_key)
    member = fake.session_token(USER, org_id="org_1", org_role="member")
    admin = fake.session_token(USER, org_id="org_1", org_role="admin")
    expired = fake.session_token(USER, expires_in=-60)
    with TestClient(required) as http:
        assert_unauthorized(http.get("/me"))
        assert_unauthorized(http.get("/me", headers=bearer(expired)), expired)
        assert_unauthorized(http.get("/me", headers=bearer("garbage")))
        assert http.get("/me", headers=bearer(member)).json()["user_id"] == USER
        with pytest.raises(WebSocketDisconnect) as closed, http.websocket_connect("/ws"):
            pass
        assert closed.value.code == 1008
    with TestClient(admins) as http:
        assert_forbidden(http.get("/me", headers=bearer(member)))
        assert http.get("/me", headers=bearer(admin)).json()["admin"] is True
        assert_unauthorized(http.get("/me"))


def test_options_are_checked_when_the_app_is_built(fake: FakeClerk) -> None:
    with pytest.raises(ClerkValidationError) as caught:
        starlette_app(accepts_token="session", jwt_key=fake.jwt_key)
    assert caught.value.field == "accepts_token"
    with pytest.raises(ClerkValidationError) as caught:
        starlette_app(jwt_key="not a key")
    assert caught.value.field == "jwt_key"
    with pytest.raises(ClientStateError, match="ClerkMiddleware"):
        auth_state({"type": "http"})


def test_quart_under_the_middleware(fake: FakeClerk) -> None:
    quart = pytest.importorskip("quart")
    app = quart.Quart(__name__)

    @app.get("/me")
    async def me() -> dict[str, Any]:
        auth = auth_state(quart.request).auth
        return {"user_id": getattr(auth, "user_id", None)}

    app.asgi_app = ClerkMiddleware(app.asgi_app, required=True, jwt_key=fake.jwt_key)  # type: ignore[method-assign]
    token = fake.session_token(USER)

    async def run() -> None:
        async with app.test_app() as test_app:
            http = test_app.test_client()
            assert (await (await http.get("/me", headers=bearer(token))).get_json()) == {
                "user_id": USER
            }
            refused = await http.get("/me")
            assert refused.status_code == 401
            assert refused.headers["WWW-Authenticate"] == INVALID

    import asyncio

    asyncio.run(run())
