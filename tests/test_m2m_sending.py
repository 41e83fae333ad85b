"""Sending M2M tokens: the aiohttp client middleware and the httpx.Auth, over real HTTP.

The receiver is examples/m2m_service.py (``require_auth("m2m_token", scopes=...)``) under
real uvicorn in front of FakeClerk; the retry-once rule is checked against an aiohttp
server of our own that refuses every token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import httpx
import pytest
from aiohttp import web

from clerk_async import Clerk
from clerk_async.m2m_httpx import M2MBearerAuth
from clerk_async.m2m_source import M2MTokenSource, bearer_middleware
from clerk_async.testing import FakeClerk
from clerk_async.testing._store import MachineRecord
from tests.test_auth_fastapi import _load_example
from tests.test_fastapi import serve_in_process

CREATE = ("POST", "/v1/m2m_tokens")

# One way to send a GET with a source's token: (source, url) -> (status, JSON body).
Send = Callable[[M2MTokenSource, str], Awaitable[tuple[int, Any]]]


async def send_aiohttp(source: M2MTokenSource, url: str) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession(middlewares=[bearer_middleware(source)]) as http,
        http.get(url) as answer,
    ):
        return answer.status, await answer.json(content_type=None)


async def send_httpx(source: M2MTokenSource, url: str) -> tuple[int, Any]:
    async with httpx.AsyncClient(auth=M2MBearerAuth(source)) as http:
        answer = await http.get(url)
        return answer.status_code, answer.json()


SENDERS = [pytest.param(send_aiohttp, id="aiohttp"), pytest.param(send_httpx, id="httpx")]


@pytest.fixture
async def fake() -> AsyncIterator[FakeClerk]:
    async with FakeClerk(rate_limit=None) as started:
        yield started


@pytest.fixture
def machines(fake: FakeClerk) -> tuple[MachineRecord, MachineRecord]:
    receiver = fake.add_machine("reports")
    caller = fake.add_machine("billing")
    caller.scopes[receiver.id] = 0
    return receiver, caller


@pytest.fixture
async def service(
    fake: FakeClerk, machines: tuple[MachineRecord, MachineRecord]
) -> AsyncIterator[str]:
    receiver, _ = machines
    app = _load_example().create_app(
        receiver.id, secret_key=fake.secret_key, base_url=fake.url, max_retries=0
    )
    async with serve_in_process(app) as url:
        yield url


@pytest.fixture
async def caller_clerk(
    fake: FakeClerk, machines: tuple[MachineRecord, MachineRecord]
) -> AsyncIterator[Clerk]:
    async with fake.client(machine_secret_key=machines[1].secret_key) as clerk:
        yield clerk


@pytest.mark.parametrize("send", SENDERS)
@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
async def test_requests_carry_one_token(
    send: Send,
    token_format: Any,
    fake: FakeClerk,
    machines: tuple[MachineRecord, MachineRecord],
    service: str,
    caller_clerk: Clerk,
) -> None:
    source = caller_clerk.m2m.token_source(token_format=token_format)
    for i in range(20):
        status, body = await send(source, f"{service}/reports/r{i}")
        assert status == 200
        assert body == {"report_id": f"r{i}", "called_by": machines[1].id}
    assert fake.stats.requests[CREATE] == 1


@pytest.mark.parametrize("send", SENDERS)
async def test_a_revoked_token_is_refreshed_once_and_the_request_retried(
    send: Send,
    fake: FakeClerk,
    machines: tuple[MachineRecord, MachineRecord],
    service: str,
    caller_clerk: Clerk,
) -> None:
    source = caller_clerk.m2m.token_source(token_format="opaque")
    revoked = await source.token()
    (record,) = fake.m2m_tokens.values()
    record.revoked = True  # the receiver now answers 401 to it
    status, body = await send(source, f"{service}/reports/r1")
    assert (status, body["called_by"]) == (200, machines[1].id)
    assert await source.token() != revoked
    assert len(fake.m2m_tokens) == 2  # Clerk's reuse skips the revoked token
    verified = [r for r in fake.requests if r.path.endswith("/m2m_tokens/verify")]
    assert [r.json["token"] == revoked for r in verified] == [True, False]


class Refusing:
    """An aiohttp server that answers 401 to every request and keeps the tokens it got."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.bodies: list[bytes] = []
        self.runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self.tokens.append(request.headers.get("Authorization", ""))
        self.bodies.append(await request.read())
        return web.json_response({"detail": "Unauthorized"}, status=401)

    async def __aenter__(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


@pytest.mark.parametrize("send", SENDERS)
async def test_a_second_401_is_returned_not_retried(
    send: Send, fake: FakeClerk, caller_clerk: Clerk
) -> None:
    source = caller_clerk.m2m.token_source()
    refusing = Refusing()
    async with refusing as url:
        status, body = await send(source, f"{url}/anything")
    assert (status, body) == (401, {"detail": "Unauthorized"})
    assert len(refusing.tokens) == 2  # the request, and one retry with a new token
    first, second = refusing.tokens
    assert first != second
    assert second == f"Bearer {await source.token()}"
    assert fake.stats.requests[CREATE] == 2


async def test_the_retry_sends_the_body_again(fake: FakeClerk, caller_clerk: Clerk) -> None:
    source = caller_clerk.m2m.token_source()
    body = b'{"report": "r1", "rows": [1, 2, 3]}'
    refusing = Refusing()
    async with refusing as url:
        async with (
            aiohttp.ClientSession(middlewares=[bearer_middleware(source)]) as http,
            http.post(f"{url}/reports", data=body) as answer,
        ):
            assert answer.status == 401
        async with httpx.AsyncClient(auth=M2MBearerAuth(source)) as client:
            assert (await client.post(f"{url}/reports", content=body)).status_code == 401
    assert refusing.bodies == [body] * 4


def test_the_httpx_auth_refuses_a_sync_client(caller_clerk: Clerk) -> None:
    with (
        httpx.Client(auth=M2MBearerAuth(caller_clerk.m2m.token_source())) as http,
        pytest.raises(TypeError, match="AsyncClient"),
    ):
        http.get("http://127.0.0.1:9/")


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


async def follow_httpx(source: M2MTokenSource, url: str) -> tuple[int, Any]:
    async with httpx.AsyncClient(auth=M2MBearerAuth(source), follow_redirects=True) as http:
        answer = await http.get(url)
        return answer.status_code, answer.json()


@pytest.mark.parametrize(
    "send", [pytest.param(send_aiohttp, id="aiohttp"), pytest.param(follow_httpx, id="httpx")]
)
async def test_a_redirect_to_another_origin_does_not_carry_the_token(
    send: Send, fake: FakeClerk, caller_clerk: Clerk
) -> None:
    # aiohttp runs client middlewares on every hop of a redirect, after it dropped the
    # Authorization header for a new origin: the token must not be put back for it.
    # A redirect within the origin keeps it. (Another port is another origin.)
    seen: dict[str, str | None] = {}

    async def record(request: web.Request) -> web.Response:
        seen[request.path] = request.headers.get("Authorization")
        if request.path == "/away":
            raise web.HTTPFound(f"{other_url}/stolen")
        if request.path == "/near":
            raise web.HTTPFound("/here")
        return web.json_response({"ok": True})

    apps = [web.Application(), web.Application()]
    for app in apps:
        app.router.add_get("/{tail:.*}", record)
    (runner, url), (other_runner, other_url) = [await _serve(app) for app in apps]
    source = caller_clerk.m2m.token_source()
    try:
        assert await send(source, f"{url}/away") == (200, {"ok": True})
        assert await send(source, f"{url}/near") == (200, {"ok": True})
        assert await send(source, f"{other_url}/direct") == (200, {"ok": True})
    finally:
        await runner.cleanup()
        await other_runner.cleanup()
    token = f"Bearer {await source.token()}"
    assert seen == {
        "/away": token,
        "/stolen": None,  # the redirect's new origin
        "/near": token,
        "/here": token,
        "/direct": token,  # the same origin, asked for by the caller
    }
