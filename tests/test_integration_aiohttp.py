"""clerk_async.aiohttp_web (setup, require_auth) under aiohttp's own test client, with FakeClerk."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from clerk_async.aiohttp_web import CLERK, request_auth, request_state, require_auth, setup
from clerk_async.auth import SessionAuth
from clerk_async.testing import FakeClerk
from tests._frameworks import USER, assert_forbidden, assert_unauthorized, bearer

Client = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]


class _Answer:
    """aiohttp's response with its body read, for tests._frameworks' assertions."""

    def __init__(self, status: int, headers: Any, content: bytes) -> None:
        self.status_code, self.headers, self.content = status, headers, content


async def fetch(http: TestClient[Any, Any], path: str, **kwargs: Any) -> _Answer:
    async with http.get(path, **kwargs) as response:
        return _Answer(response.status, response.headers, await response.read())


@pytest.fixture
async def fake() -> AsyncIterator[FakeClerk]:
    async with FakeClerk(rate_limit=None) as started:
        yield started


async def whoami(request: web.Request) -> web.Response:
    state = request_state(request)
    return web.json_response({"signed_in": state.is_authenticated})


@require_auth(role="org:admin")
async def admin(request: web.Request) -> web.Response:
    auth = request_auth(request)
    assert isinstance(auth, SessionAuth)
    assert request.app[CLERK] is not None
    return web.json_response({"user_id": auth.user_id})


@require_auth("api_key", scopes="read:reports")
async def reports(request: web.Request) -> web.Response:
    return web.json_response({"subject": getattr(request_auth(request), "subject", None)})


def make_app(fake: FakeClerk) -> web.Application:
    app = web.Application()
    setup(app, accepts_token="any", secret_key=fake.secret_key, base_url=fake.url)
    app.router.add_get("/whoami", whoami)
    app.router.add_get("/admin", admin)
    app.router.add_get("/reports", reports)
    return app


async def test_middleware_and_decorator(fake: FakeClerk, aiohttp_client: Client) -> None:
    http = await aiohttp_client(make_app(fake))
    admin_token = fake.session_token(USER, org_id="org_1", org_role="admin")
    member = fake.session_token(USER, org_id="org_1", org_role="member")
    reader = fake.add_api_key(USER, scopes=["read:reports"]).secret
    writer = fake.add_api_key(USER, scopes=["write:reports"]).secret

    assert (await http.get("/whoami")).status == 200
    assert await (await http.get("/whoami", headers=bearer(member))).json() == {"signed_in": True}
    assert_unauthorized(await fetch(http, "/admin"))
    assert_unauthorized(await fetch(http, "/admin", headers=bearer("a.b.c")))
    assert_forbidden(await fetch(http, "/admin", headers=bearer(member)))
    answer = await http.get("/admin", headers={"Cookie": f"__session={admin_token}"})
    assert await answer.json() == {"user_id": USER}
    assert await (await http.get("/reports", headers=bearer(reader))).json() == {"subject": USER}
    assert_forbidden(
        await fetch(http, "/reports", headers=bearer(writer)),
        'Bearer error="insufficient_scope", scope="read:reports"',
    )
    # A session is not an API key: this handler does not accept it (401, not 403).
    assert_unauthorized(await fetch(http, "/reports", headers=bearer(admin_token)), admin_token)


async def test_the_client_lives_with_the_app(fake: FakeClerk, aiohttp_client: Client) -> None:
    app = make_app(fake)
    http = await aiohttp_client(app)
    clerk = app[CLERK]
    assert not clerk.closed
    await http.close()
    assert clerk.closed
