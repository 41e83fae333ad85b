"""The Clerk session manager: configuration, the session's life, the pool."""

from __future__ import annotations

import asyncio
import gc
import warnings

import aiohttp
import pytest

from clerk_async import Clerk, ClerkValidationError, ClientStateError, RateLimit
from clerk_async._ratelimit import DEVELOPMENT, PRODUCTION
from tests._recorder import RecordingServer

MID = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"


def test_construction_needs_no_event_loop() -> None:
    clerk = Clerk("sk_test_k")
    assert clerk.base_url == "https://api.clerk.com/v1"
    assert repr(clerk) == "<Clerk https://api.clerk.com/v1 key=sk_test_*** idle>"


def test_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLERK_SECRET_KEY", "sk_live_fromenv")
    monkeypatch.setenv("CLERK_API_URL", "https://clerk.example.test/")
    clerk = Clerk()
    assert clerk.base_url == "https://clerk.example.test/v1"
    assert clerk._transport.headers["Authorization"] == "Bearer sk_live_fromenv"
    assert clerk.rate_limit == PRODUCTION  # follows the key
    assert Clerk("sk_test_explicit").rate_limit == DEVELOPMENT  # an argument beats the env


def test_rate_limit_options() -> None:
    assert Clerk("sk_test_k", rate_limit=None).rate_limit is None
    assert Clerk("sk_test_k", rate_limit=RateLimit(5, 1.0)).rate_limit == RateLimit(5, 1.0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"base_url": "api.clerk.com"}, "base_url"),
        ({"base_url": "ftp://x/v1"}, "base_url"),
        ({"max_connections": 0}, "max_connections"),
        ({"timeout": -1}, "timeout"),
        ({"deadline": 0}, "deadline"),
    ],
)
def test_bad_configuration(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ClerkValidationError) as info:
        Clerk("sk_test_k", **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


async def test_session_is_created_in_aenter_and_closed_once(server: RecordingServer) -> None:
    clerk = Clerk("sk_test_k", base_url=server.url, rate_limit=None)
    assert clerk._sessions.session is None
    async with clerk:
        session = clerk._sessions.session
        assert session is not None
        assert not session.closed
        await clerk.machines.update(MID, name="x")
        assert clerk._sessions.session is session  # one session for every request
    assert session.closed
    assert clerk.closed
    await clerk.aclose()  # idempotent
    with pytest.raises(ClientStateError, match="closed"):
        await clerk.machines.update(MID, name="x")


async def test_session_is_created_on_first_use_without_async_with(server: RecordingServer) -> None:
    clerk = Clerk("sk_test_k", base_url=server.url, rate_limit=None)
    await clerk.machines.update(MID, name="x")
    assert clerk._sessions.session is not None
    await clerk.aclose()


async def test_injected_session_is_used_and_left_open(server: RecordingServer) -> None:
    async with aiohttp.ClientSession() as session:
        async with Clerk(
            "sk_test_k", base_url=server.url, session=session, rate_limit=None
        ) as clerk:
            await clerk.machines.update(MID, name="x")
            assert clerk._sessions.session is session
        assert not session.closed
        async with session.get(server.url + "/ping") as response:  # still usable
            assert response.status == 200


def test_using_a_client_from_another_event_loop_is_a_clear_error(server_url_sync: str) -> None:
    clerk = Clerk("sk_test_k", base_url=server_url_sync, rate_limit=None, max_retries=0)

    async def first() -> None:
        await clerk.machines.update(MID, name="x")

    async def second() -> None:
        with pytest.raises(ClientStateError, match="another event loop"):
            await clerk.machines.update(MID, name="x")

    async def close() -> None:
        await clerk.aclose()

    loop1 = asyncio.new_event_loop()
    loop2 = asyncio.new_event_loop()
    try:
        loop1.run_until_complete(first())
        loop2.run_until_complete(second())
        loop1.run_until_complete(close())
    finally:
        loop1.close()
        loop2.close()


@pytest.fixture
def server_url_sync() -> object:
    """A server in a thread of its own, for tests that run their own event loops."""
    import threading

    ready = threading.Event()
    holder: dict[str, object] = {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        srv = RecordingServer()
        loop.run_until_complete(srv.start())
        holder.update(url=srv.url, loop=loop, srv=srv)
        ready.set()
        loop.run_forever()
        loop.run_until_complete(srv.close())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(5)
    yield holder["url"]
    loop = holder["loop"]
    assert isinstance(loop, asyncio.AbstractEventLoop)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


async def test_no_resource_warning_after_close(server: RecordingServer) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with Clerk("sk_test_k", base_url=server.url, rate_limit=None) as clerk:
            await asyncio.gather(*(clerk.machines.update(MID, name="x") for _ in range(20)))
        del clerk
        gc.collect()
        await asyncio.sleep(0)
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


async def test_300_concurrent_updates_share_a_bounded_pool(server: RecordingServer) -> None:
    async with Clerk(
        "sk_test_k", base_url=server.url, rate_limit=None, max_connections=10
    ) as clerk:
        names = [f"machine-{i}" for i in range(300)]
        machines = await asyncio.gather(
            *(clerk.machines.update(f"mch_{i}", name=n) for i, n in enumerate(names))
        )
    assert [m.id for m in machines] == [f"mch_{i}" for i in range(300)]
    assert len(server.requests) == 300
    assert sorted(r.body for r in server.requests) == sorted(
        f'{{"name":"{n}"}}'.encode() for n in names
    )
    assert 1 <= len(server.connections) <= 10


async def test_pool_waits_do_not_eat_the_attempt_timeout(server: RecordingServer) -> None:
    # One connection, 0.2 s per answer, 0.5 s timeout: the third request waits 0.4 s for the
    # connection, which must not count against its own timeout (0.4 + 0.2 > 0.5).
    async def slow(request: object) -> aiohttp.web.StreamResponse:
        await asyncio.sleep(0.2)
        from tests._recorder import machine_json

        return aiohttp.web.json_response(machine_json())

    server.default = slow
    async with Clerk(
        "sk_test_k",
        base_url=server.url,
        rate_limit=None,
        max_connections=1,
        timeout=0.5,
        max_retries=0,
    ) as clerk:
        results = await asyncio.gather(*(clerk.machines.update(MID, name="x") for _ in range(3)))
    assert len(results) == 3
