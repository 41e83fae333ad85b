"""One rate limit shared through a real redis-server, by real processes, against FakeClerk.

No timing asserts: FakeClerk enforces the instance limit and counts the 429s it answers;
the assertions are on those counts, on calls lost, and on the order of arrivals.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import attrs
import pytest
from aiohttp import web

from clerk_async import Clerk, RateLimit, RateLimitError, RetryPolicy
from clerk_async._ratelimit import Limiter, bucket_for, bucket_for_path
from clerk_async._redis_limit import (
    FULL,
    GRANTED,
    OBJECT_BUSY,
    PAUSED,
    UNKNOWN_PROCESSES,
    RedisLimiter,
    key_prefix,
)
from clerk_async.testing import FakeClerk
from tests._recorder import RecordingServer, clerk_errors, machine_json
from tests._redis import RedisServer, needs_redis_server, redis_server
from tests._redis_proxy import RedisProxy
from tests.test_ratelimit import max_in_window

pytestmark = needs_redis_server
__all__ = ["redis_server"]  # the fixture, imported

ROUTE = "PATCH /machines/{machine_id}"
OTHER = "GET /users"  # its pauses hold no request to ROUTE
SECRET = "sk_test_shared_limit_secret"


@pytest.fixture
async def fake() -> AsyncIterator[FakeClerk]:
    async with FakeClerk(SECRET, rate_limit=RateLimit(20, 0.5), seed=14) as fake:
        yield fake


async def workers(
    fake: FakeClerk,
    redis_url: str,
    id_lists: Sequence[Sequence[str]],
    *,
    limit: RateLimit,
    skews: Sequence[float] | None = None,
) -> tuple[list[asyncio.subprocess.Process], asyncio.Future[list[tuple[dict[str, Any], str]]]]:
    """Start one worker process per id list; the future gives each one's JSON and stderr."""
    procs = []
    for i, ids in enumerate(id_lists):
        skew = ["--skew", str(skews[i])] if skews else []
        procs.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests._redis_worker",
                fake.url,
                fake.secret_key,
                redis_url,
                str(limit.requests),
                str(limit.per_seconds),
                *ids,
                *skew,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        )

    async def results() -> list[tuple[dict[str, Any], str]]:
        out = []
        for proc in procs:
            stdout, stderr = await proc.communicate()
            assert proc.returncode == 0, stderr.decode()
            out.append((json.loads(stdout), stderr.decode()))
        return out

    return procs, asyncio.ensure_future(results())


async def until(condition: Callable[[], bool]) -> None:
    """Wait for something another process or task does (no timing asserted)."""
    while not condition():  # noqa: ASYNC110 (the condition is set in another process)
        await asyncio.sleep(0.01)


def seed(fake: FakeClerk, n: int) -> list[str]:
    return [fake.add_machine(f"m-{i}").id for i in range(n)]


async def test_processes_share_one_window(redis_server: RedisServer, fake: FakeClerk) -> None:
    # Three processes, each pacing to the whole limit: alone, each would be within it; without
    # the shared window they would send three times the limit and FakeClerk would answer 429s.
    ids = seed(fake, 90)
    _, done = await workers(
        fake,
        redis_server.url,
        [ids[0::3], ids[1::3], ids[2::3]],
        limit=fake.rate_limit or RateLimit(1, 1),
    )
    results = await done
    assert sum(r["ok"] for r, _ in results) == 90
    assert all(r["shared"] for r, _ in results)
    assert fake.stats.rate_limited == 0
    assert fake.stats.statuses[200] == 90
    assert all(m.name == "shared" for m in fake.machines.values())
    assert all(r["round_trips"] for r, _ in results)  # (how many: benchmarks/shared_limit.py)


async def test_skewed_clocks_still_share_one_window(
    redis_server: RedisServer, fake: FakeClerk
) -> None:
    # Hosts whose clocks are minutes apart: the window lives on Redis's clock, so they agree.
    ids = seed(fake, 60)
    _, done = await workers(
        fake,
        redis_server.url,
        [ids[0::2], ids[1::2]],
        limit=RateLimit(20, 0.5),
        skews=[-600.0, 600.0],
    )
    results = await done
    assert sum(r["ok"] for r, _ in results) == 60
    assert fake.stats.rate_limited == 0


async def test_redis_killed_mid_run_loses_no_call(
    redis_server: RedisServer, fake: FakeClerk
) -> None:
    ids = seed(fake, 160)
    _, done = await workers(
        fake, redis_server.url, [ids[0::2], ids[1::2]], limit=RateLimit(20, 0.5)
    )
    await until(lambda: fake.stats.statuses[200] >= 40 or done.done())
    redis_server.kill()  # as a crash: connections reset, the window is lost
    await until(lambda: fake.stats.statuses[200] >= 100 or done.done())
    redis_server.start()  # back, and empty
    results = await done
    assert sum(r["ok"] for r, _ in results) == 160  # nothing lost
    assert [r["failed"] for r, _ in results] == [[], []]
    assert fake.stats.statuses[200] == 160
    for _, stderr in results:  # one warning per outage, one when Redis is back
        assert stderr.count(" failed (") == 1, stderr
        assert stderr.count("is back") <= 1, stderr
        assert SECRET not in stderr


async def test_a_429_pauses_the_endpoint_in_every_process(
    redis_server: RedisServer, server: RecordingServer
) -> None:
    arrivals: list[tuple[float, str]] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        arrivals.append((time.monotonic(), request.headers.get("User-Agent", "")))
        if len(arrivals) == 1:
            return web.json_response(
                clerk_errors("too_many_requests", "slow down"),
                status=429,
                headers={"Retry-After": "3"},
            )
        return web.json_response(machine_json())

    server.default = handler
    limit = RateLimit(100, 1.0, redis_url=redis_server.url)
    retry = RetryPolicy(max_retries=2, max_retry_after=10.0)
    async with Clerk(SECRET, base_url=server.url, rate_limit=limit, retry=retry) as clerk:
        first = asyncio.ensure_future(clerk.machines.update("mch_1", name="x"))
        await until(lambda: bool(arrivals))
        limiter = clerk._transport.limiter
        assert isinstance(limiter, RedisLimiter)
        await until(lambda: bool(limiter.pause_remaining(ROUTE)))
        await asyncio.gather(*limiter._pausing)  # the pause is in Redis
        paused_at = arrivals[0][0]
        # Another process, started during the pause, waits it out too.
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests._redis_worker",
            server.url,
            SECRET,
            redis_server.url,
            "100",
            "1.0",
            "mch_2",
            "mch_3",
            "mch_4",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await proc.communicate()
        assert proc.returncode == 0, stderr.decode()
        assert json.loads(stdout)["ok"] == 3
        await first
    assert len(arrivals) == 5  # the 429, its retry, the other process's three: no more 429s
    assert all(t >= paused_at + 3.0 for t, _ in arrivals[1:])


async def test_different_keys_are_independent_and_named_by_a_hash(
    redis_server: RedisServer,
) -> None:
    import redis.asyncio as redis

    limit = RateLimit(2, 30.0, redis_url=redis_server.url)
    a1, a2 = RedisLimiter(limit, "sk_test_a"), RedisLimiter(limit, "sk_test_a")
    b = RedisLimiter(limit, "sk_test_b")
    try:
        await a1.acquire(ROUTE)
        await a1.acquire(ROUTE)  # key a's window is full, its two slots in flight
        assert (await a2._ask(ROUTE, None))[0] == FULL  # another process with key a waits
        assert [(await b._ask(ROUTE, None))[:2] for _ in range(2)] == [(GRANTED, 0.0)] * 2
        client = redis.from_url(redis_server.url)
        names = [k.decode() for k in await client.keys("*")]
        await client.aclose()
        assert names
        assert all(n.startswith("clerk_async:{") for n in names)
        assert not any("sk_test" in n for n in names)
        assert {key_prefix("sk_test_a"), key_prefix("sk_test_b")} == {
            n.split("}")[0] + "}" for n in names
        }
    finally:
        for limiter in (a1, a2, b):
            await limiter.aclose()


async def test_one_ask_takes_free_slots_for_the_others_in_line(
    redis_server: RedisServer,
) -> None:
    limit = RateLimit(5, 30.0, redis_url=redis_server.url)
    a, b = RedisLimiter(limit, SECRET), RedisLimiter(limit, SECRET)
    try:
        await asyncio.gather(*(a.acquire(ROUTE) for _ in range(4)))
        assert a.round_trips < 4  # the first in line asked for the three behind it too
        assert not a._spare
        assert (await b._ask(ROUTE, None, extra=3))[0] == GRANTED
        assert len(b._spare) == 0  # the fifth slot, and none spare: the window is full
        assert (await b._ask(ROUTE, None))[0] == FULL
    finally:
        await a.aclose()
        await b.aclose()


async def test_reservations_hand_out_freed_slots_in_turn(redis_server: RedisServer) -> None:
    limit = RateLimit(2, 30.0, redis_url=redis_server.url)
    a, b = RedisLimiter(limit, SECRET), RedisLimiter(limit, SECRET)
    try:
        await a.acquire(ROUTE)
        await a.acquire(ROUTE)
        a.release()
        a.release()
        await asyncio.gather(*([a._flushing] if a._flushing else []))
        # The window is full of answered slots: each ask reserves the next one to free.
        first, second = await b._ask(ROUTE, None), await b._ask(ROUTE, None)
        assert first[0] == second[0] == GRANTED
        assert 29.0 < first[1] <= 30.0
        assert 29.0 < second[1] <= 30.0
        assert (await b._ask(ROUTE, None))[0] == FULL  # both reserved: nothing left to take
    finally:
        await a.aclose()
        await b.aclose()


async def test_pause_and_per_object_limits_in_redis(redis_server: RedisServer) -> None:
    limit = RateLimit(100, 30.0, redis_url=redis_server.url)
    per_object = RateLimit(2, 30.0)
    a = RedisLimiter(limit, SECRET, per_object=per_object)
    b = RedisLimiter(limit, SECRET, per_object=per_object)
    try:
        user = "PATCH /users/{user_id}"
        await a.acquire(user, "user:u1")
        await a.acquire(user, "user:u1")
        # u1's window is full in every process; u2 and the instance still have room.
        assert (await b._ask(user, "user:u1"))[0] == OBJECT_BUSY
        assert (await b._ask(user, "user:u2"))[0] == GRANTED
        assert (await b._ask(ROUTE, None))[0] == GRANTED
        a.pause(ROUTE, 20.0)
        await asyncio.gather(*a._pausing)
        code, wait, _ = await b._ask(ROUTE, None)
        assert code == PAUSED
        assert 19.0 < wait <= 20.0
        assert (await b._ask(user, "user:u2"))[0] == GRANTED  # other endpoints go on
    finally:
        await a.aclose()
        await b.aclose()


DOWN = "redis://127.0.0.1:1/0"  # nothing listens there


class Clock:
    """A clock the test moves (the local windows and the learning read it)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def capacity(limiter: RedisLimiter) -> int:
    """How many slots a fresh window gives now, taken and given back unsent."""
    taken = 0
    while limiter.try_acquire(ROUTE):
        taken += 1
    for _ in range(taken):
        limiter.release(sent=False)
    return taken


async def test_redis_down_at_start_paces_to_a_safe_share(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Nobody counted the processes: pacing to the whole limit would be N times too much.
    limiter = RedisLimiter(RateLimit(80, 30.0, redis_url=DOWN), SECRET, retry_every=30.0)
    try:
        with caplog.at_level(logging.WARNING, logger="clerk_async"):
            await asyncio.wait_for(limiter.acquire(ROUTE), 10.0)  # never hangs
        assert not limiter.shared
        limiter.release(sent=False)
        assert capacity(limiter) == 80 // UNKNOWN_PROCESSES
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert DOWN in warnings[0]
        assert "(1/8, as no count of the processes is known" in warnings[0]
    finally:
        await limiter.aclose()


async def test_a_configured_process_count_is_the_share_and_stays() -> None:
    clock = Clock()
    limit = RateLimit(80, 10.0, redis_url=DOWN, processes=4)
    limiter = RedisLimiter(limit, SECRET, retry_every=30.0, clock=clock)
    try:
        await limiter.acquire(ROUTE)
        limiter.release(sent=False)
        assert capacity(limiter) == 20
        for _ in range(10):  # windows without a 429 do not make it take more
            clock.now += 10.0
            await limiter.acquire(ROUTE)
            limiter.release(sent=False)
        assert capacity(limiter) == 20
        limiter.pause(ROUTE, 1.0)  # a 429: one process more than configured
        clock.now += 1.0
        assert capacity(limiter) == 80 // 5
    finally:
        await limiter.aclose()


async def test_pacing_alone_learns_from_429s() -> None:
    clock = Clock()
    limiter = RedisLimiter(
        RateLimit(80, 10.0, redis_url=DOWN), SECRET, retry_every=30.0, clock=clock
    )

    async def saturated_window() -> None:
        """A window later, the share all in use: acquire() is where the share may grow."""
        clock.now += 10.0
        await limiter.acquire(ROUTE)
        limiter.release(sent=False)

    try:
        await limiter.acquire(ROUTE)
        limiter.release(sent=False)
        assert capacity(limiter) == 10  # 1/8
        await saturated_window()
        assert capacity(limiter) == 11  # 80 // (8 * 0.9): a window without a 429
        # A 429 at 1/7.2: more than 7.2 processes share the limit, so at least 8.
        limiter.pause(OTHER, 1.0)
        limiter.pause(OTHER, 1.0)  # the same burst's next 429 says nothing more
        assert capacity(limiter) == 10
        for _ in range(5):  # learnt: windows without a 429 no longer make it take more
            await saturated_window()
            assert capacity(limiter) == 10
        limiter.pause(OTHER, 1.0)  # a 429 in a later window: one more again
        assert capacity(limiter) == 80 // 9
    finally:
        await limiter.aclose()


async def test_switching_to_local_pacing_waits_for_the_others_requests(
    redis_server: RedisServer,
) -> None:
    # Two processes used the shared window unevenly: a 2 of 10, b 8. When Redis dies, each
    # paces to its share (5), but the window still holds b's 8: a may send nothing more until
    # its own requests leave the window (it would send 3 at once: 13 in the window), b neither.
    limit = RateLimit(10, 30.0, redis_url=redis_server.url)
    clock = Clock()
    a = RedisLimiter(limit, SECRET, retry_every=30.0, clock=clock)
    b = RedisLimiter(limit, SECRET, retry_every=30.0, clock=clock)
    try:
        for limiter, n in ((a, 1), (b, 8), (a, 1)):  # each asks after the other first did
            for _ in range(n):
                await limiter.acquire(ROUTE)
                limiter.release()
        await asyncio.gather(*(x._flushing for x in (a, b) if x._flushing))
        redis_server.kill()
        for limiter in (a, b):  # any call to Redis finds it down: here a pause elsewhere
            limiter.pause(OTHER, 1.0)
            await asyncio.gather(*limiter._pausing)
            assert not limiter.shared
        assert (capacity(a), capacity(b)) == (0, 0)
        clock.now += 30.0  # every request of the shared window has left it
        assert (capacity(a), capacity(b)) == (5, 5)  # 1/2 each: Redis counted two processes
    finally:
        await a.aclose()
        await b.aclose()


async def test_a_redis_that_never_answers_costs_one_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A "Redis" that accepts connections and reads, but never answers: a hung or slow server.
    connections: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        while await reader.read(4096):
            pass

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    limit = RateLimit(40, 30.0, redis_url=f"redis://127.0.0.1:{port}/0")  # 5 each of 8
    limiter = RedisLimiter(limit, SECRET, timeout=0.2, retry_every=30.0)
    try:
        with caplog.at_level(logging.WARNING, logger="clerk_async"):
            for _ in range(5):
                await asyncio.wait_for(limiter.acquire(ROUTE), 10.0)
        assert connections  # it did try Redis
        assert not limiter.shared
        assert limiter.round_trips == 1  # one timeout, then local until the probe
        assert [r.getMessage() for r in caplog.records].count(
            f"clerk_async: Redis at redis://127.0.0.1:{port}/0 failed (TimeoutError); "
            "pacing to this process's share of the rate limit (1/8, as no count of the "
            "processes is known; less after a 429) until it answers again"
        ) == 1
    finally:
        await limiter.aclose()
        server.close()
        for writer in connections:
            writer.close()
        await server.wait_closed()


async def command_calls(url: str) -> dict[str, int]:
    """Redis's own count of the commands it ran, by name."""
    import redis.asyncio as redis

    client = redis.from_url(url)
    stats = await client.info("commandstats")
    await client.aclose()
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}


async def test_a_far_redis_is_used_and_scripts_load_once(redis_server: RedisServer) -> None:
    # 200 ms a round trip, under the 0.5 s timeout: set-up (connect, handshake, the script
    # Redis lacks) takes several round trips, each within its own timeout.
    async with RedisProxy(redis_server.port, delay=(0.1, 0.1)) as proxy:
        limit = RateLimit(100, 1.0, redis_url=proxy.url)
        limiter = RedisLimiter(limit, SECRET, timeout=0.5)
        try:
            for _ in range(3):
                await limiter.acquire(ROUTE)
                limiter.release()
                assert limiter.shared
            await asyncio.gather(*([limiter._flushing] if limiter._flushing else []))
            assert limiter.shared
        finally:
            await limiter.aclose()
    calls = await command_calls(redis_server.url)
    assert "script" not in calls  # no SCRIPT LOAD: a script is sent whole once, when lacking
    assert calls["eval"] == 2  # acquire's and release's, once each
    assert calls["evalsha"] >= 4


async def test_a_grant_answered_too_late_is_given_back(redis_server: RedisServer) -> None:
    # (Slots in flight are leased for a minute: a leaked one stays taken long after 1 s.)
    limit = RateLimit(10, 1.0)
    async with RedisProxy(redis_server.port) as proxy:
        slow = RedisLimiter(
            attrs.evolve(limit, redis_url=proxy.url), SECRET, timeout=0.2, retry_every=0.05
        )
        other = RedisLimiter(attrs.evolve(limit, redis_url=redis_server.url), SECRET)
        try:
            await slow.acquire(ROUTE)  # connected, scripts loaded
            slow.release(sent=False)
            await asyncio.gather(*([slow._flushing] if slow._flushing else []))
            proxy.delay = (0.3, 0.3)  # the next answer comes after the timeout
            # Ten in line: the first asks for itself and the nine behind it; Redis grants all
            # ten, but the answer comes too late: the ten go on locally.
            async with slow._turn:  # all ten in line before the first asks
                asking = [asyncio.ensure_future(slow.acquire(ROUTE)) for _ in range(10)]
                await until(lambda: slow._waiting == 10)
            await asyncio.gather(*asking)
            assert not slow.shared
            for _ in range(10):
                slow.release(sent=False)
            proxy.delay = (0.0, 0.0)
            await until(lambda: slow.shared)  # back: the ten granted slots were given back
            await asyncio.gather(*([slow._flushing] if slow._flushing else []))
            code, _, _ = await other._ask(ROUTE, None, extra=9)
            assert code == GRANTED
            assert len(other._spare) == 9  # all ten free now, none reserved for later
        finally:
            await slow.aclose()
            await other.aclose()


async def test_429s_are_retried_beyond_max_retries_within_the_deadline(
    server: RecordingServer,
) -> None:
    # Calls pacing alone while Redis fails can meet a few 429s in a row: none is lost for it.
    for _ in range(4):
        server.reply(
            429, clerk_errors("too_many_requests", "slow down"), headers={"Retry-After": "0.01"}
        )
    retry = RetryPolicy(max_retries=1, initial_delay=0.01, max_delay=0.01)
    async with Clerk(SECRET, base_url=server.url, rate_limit=None, retry=retry) as clerk:
        await clerk.machines.update("mch_1", name="x")
    assert len(server.requests) == 5
    # max_retries=0 still means no retry at all.
    server.reply(429, clerk_errors("too_many_requests", "slow down"), headers={"Retry-After": "0"})
    retry = RetryPolicy(max_retries=0)
    async with Clerk(SECRET, base_url=server.url, rate_limit=None, retry=retry) as clerk:
        with pytest.raises(RateLimitError):
            await clerk.machines.update("mch_1", name="x")
    assert len(server.requests) == 6


def test_a_configured_process_count_splits_the_local_limit() -> None:
    limiter = Limiter(RateLimit(10, 30.0, processes=2))
    assert sum(limiter.try_acquire(ROUTE) for _ in range(10)) == 5
    with pytest.raises(ValueError, match="processes"):
        RateLimit(10, 30.0, processes=0)


async def test_one_ask_reserves_the_next_slots_for_every_waiter(
    redis_server: RedisServer,
) -> None:
    limit = RateLimit(4, 0.5, redis_url=redis_server.url)
    a, b = RedisLimiter(limit, SECRET), RedisLimiter(limit, SECRET)
    try:
        for _ in range(4):
            await a.acquire(ROUTE)
            a.release()
        await asyncio.gather(*([a._flushing] if a._flushing else []))
        # The window is full of answered slots: four waiters in b, one ask reserves the four
        # slots as they free, instead of one ask (and one round trip of waiting) each.
        async with b._turn:
            waiting = [asyncio.ensure_future(b.acquire(ROUTE)) for _ in range(4)]
            await until(lambda: b._waiting == 4)
        await asyncio.gather(*waiting)
        assert b.round_trips == 1
        assert (await a._ask(ROUTE, None))[0] == FULL  # all four in flight
    finally:
        await a.aclose()
        await b.aclose()


async def test_the_first_process_back_holds_the_others_shares(redis_server: RedisServer) -> None:
    # Redis down from the start, then up: the first process back cannot know who else is
    # pacing alone, so it holds the rest of the limit for them; each one back after it takes
    # its own share out (its own requests now in Redis).
    redis_server.kill()
    limit = RateLimit(80, 30.0, redis_url=redis_server.url)
    a, b = (RedisLimiter(limit, SECRET, retry_every=30.0) for _ in range(2))
    try:
        for limiter in (a, b):
            await limiter.acquire(ROUTE)  # down: 1/8 each, 10 slots
            limiter.release()
            assert not limiter.shared
        redis_server.start()  # (their probes would find it within retry_every)
        await a._resync()
        assert await placeholders(redis_server.url) == 80 - 10
        await b._resync()
        assert await placeholders(redis_server.url) == 80 - 10 - 10
    finally:
        await a.aclose()
        await b.aclose()


async def placeholders(url: str) -> int:
    import redis.asyncio as redis

    client = redis.from_url(url)
    members = await client.zrange(key_prefix(SECRET) + ":i:done", 0, -1)
    await client.aclose()
    return sum(m.startswith(b"placeholder:") for m in members)


def test_redis_url_is_checked_and_its_password_never_shown() -> None:
    limit = RateLimit(10, 1.0, redis_url="redis://:hunter2@cache:6379/0")
    assert "hunter2" not in repr(limit)
    with pytest.raises(ValueError, match="redis_url") as info:
        RateLimit(10, 1.0, redis_url="http://:hunter2@cache")
    assert "hunter2" not in str(info.value)


# -- per-object limits, local --------------------------------------------------------------


def user_json(user_id: str) -> dict[str, Any]:
    """A User with the spec's required fields, as Clerk answers a user PATCH."""
    lists = ("email_addresses", "phone_numbers", "web3_wallets", "passkeys", "external_accounts")
    lists += ("saml_accounts", "enterprise_accounts")
    flags = ("has_image", "password_enabled", "two_factor_enabled", "totp_enabled")
    more = ("backup_code_enabled", "banned", "locked", "delete_self_enabled")
    return {
        "object": "user",
        "id": user_id,
        "public_metadata": {},
        **{key: [] for key in lists},
        **dict.fromkeys((*flags, *more, "create_organization_enabled"), False),
        "updated_at": 1754938436732,
        "created_at": 1754938436732,
    }


def test_per_object_buckets_follow_the_route_and_path() -> None:
    assert bucket_for("PATCH", "/users/{user_id}", {"user_id": "u1"}) == "user:u1"
    assert bucket_for("PATCH", "/users/{user_id}/metadata", {"user_id": "u1"}) == "user:u1"
    assert bucket_for("GET", "/users/{user_id}", {"user_id": "u1"}) is None
    assert bucket_for("PATCH", "/machines/{machine_id}", {"machine_id": "m"}) is None
    membership = "/organizations/{organization_id}/memberships/{user_id}"
    values = {"organization_id": "o1", "user_id": "u1"}
    assert bucket_for("PATCH", membership, values) == "membership:o1/u1"
    organization = "/organizations/{organization_id}"
    assert bucket_for("PATCH", organization, values) == "organization:o1"
    assert bucket_for_path("PATCH", "/users/u1/metadata") == "user:u1"
    assert bucket_for_path("PATCH", "/organizations/o1/memberships/u1") == "membership:o1/u1"
    assert bucket_for_path("PATCH", "/users/u1/unknown") is None
    assert bucket_for_path("DELETE", "/users/u1") is None


def test_local_per_object_window_is_apart_from_the_instance() -> None:
    limiter = Limiter(RateLimit(10, 30.0), per_object=RateLimit(2, 30.0))
    user = "PATCH /users/{user_id}"
    assert limiter.try_acquire(user, "user:a")
    assert limiter.try_acquire(user, "user:a")
    assert not limiter.try_acquire(user, "user:a")  # a's window is full
    assert limiter.try_acquire(user, "user:b")  # b's is not, nor the instance's
    assert limiter.try_acquire(ROUTE)
    assert limiter._in_flight == 4


async def test_per_object_limit_through_the_services_and_the_escape_hatch(
    server: RecordingServer,
) -> None:
    arrivals: list[tuple[float, str]] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        arrivals.append((time.monotonic(), request.path))
        return web.json_response(user_json(request.path.split("/")[3]))

    server.default = handler
    async with Clerk(SECRET, base_url=server.url, rate_limit=RateLimit(100, 10.0)) as clerk:
        clerk._transport.limiter = Limiter(RateLimit(100, 10.0), per_object=RateLimit(2, 0.3))
        calls = [
            *(clerk.users.update("u1", first_name="a") for _ in range(3)),
            *(clerk.users.update_metadata("u1", public_metadata={"n": 1}) for _ in range(3)),
            *(clerk.request("PATCH", "/users/u2", json={"first_name": "b"}) for _ in range(5)),
        ]
        assert len(await asyncio.gather(*calls)) == 11
    for user, count in (("u1", 6), ("u2", 5)):
        # A user's PATCH and its metadata PATCH count in one window of 2 per 0.3 s.
        times = [t for t, path in arrivals if path.split("/")[3] == user]
        assert len(times) == count
        assert max_in_window(times, 0.3) <= 2
