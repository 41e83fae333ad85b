"""Retries: the pure policy, and its use over real HTTP."""

from __future__ import annotations

import asyncio
import time

import pytest

from clerk_async import (
    Clerk,
    ClerkConnectionError,
    InternalServerError,
    RateLimitError,
    RetryPolicy,
)
from clerk_async._retry import Outcome
from tests._recorder import RecordingServer, clerk_errors
from tests.conftest import FAST_RETRY

MID = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"


# --- the pure policy -----------------------------------------------------------------------


def test_backoff_grows_exponentially_and_is_capped() -> None:
    policy = RetryPolicy(max_retries=10, initial_delay=0.5, max_delay=8.0, jitter=0.25)
    assert [policy.backoff(n, rand=0.0) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert policy.backoff(1, rand=0.999) == pytest.approx(1.0 * (1 - 0.25 * 0.999))


def test_jitter_stays_in_range() -> None:
    policy = RetryPolicy(jitter=0.25)
    delays = {policy.decide(0, Outcome(503)) for _ in range(200)}
    assert all(d is not None and 0.375 <= d <= 0.5 for d in delays)
    assert len(delays) > 50  # actually random


@pytest.mark.parametrize(
    ("outcome", "retried"),
    [
        (Outcome(429, idempotent=False), True),
        (Outcome(503, idempotent=True), True),
        (Outcome(500, idempotent=True), True),
        (Outcome(502, idempotent=True), True),
        (Outcome(504, idempotent=True), True),
        (Outcome(503, idempotent=False), False),  # a create may have happened
        (Outcome(None, sent=False, idempotent=False), True),  # never left: safe for any method
        (Outcome(None, sent=True, idempotent=True), True),
        (Outcome(None, sent=True, idempotent=False), False),
        (Outcome(400), False),
        (Outcome(404), False),
        (Outcome(409), False),
        (Outcome(422), False),
        (Outcome(501), False),
    ],
)
def test_what_is_retried(outcome: Outcome, retried: bool) -> None:
    assert (RetryPolicy().decide(0, outcome) is not None) is retried


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    policy = RetryPolicy(max_retry_after=60)
    assert policy.decide(0, Outcome(429, retry_after=12.0)) == 12.0
    assert policy.decide(0, Outcome(429, retry_after=60.0)) == 60.0
    assert policy.decide(0, Outcome(429, retry_after=61.0)) is None


def test_max_retries_bounds_the_count() -> None:
    policy = RetryPolicy(max_retries=2)
    assert policy.decide(1, Outcome(503)) is not None
    assert policy.decide(2, Outcome(503)) is None
    assert RetryPolicy(max_retries=0).decide(0, Outcome(429)) is None


@pytest.mark.parametrize("kwargs", [{"max_retries": -1}, {"initial_delay": -1.0}, {"jitter": 1.5}])
def test_policy_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


# --- over HTTP -----------------------------------------------------------------------------


async def test_503_then_success_is_retried(clerk: Clerk, server: RecordingServer) -> None:
    server.reply(503, clerk_errors("internal_clerk_error", "try later"), times=2)
    machine = await clerk.machines.update(MID, name="x")
    assert machine.id == MID
    assert len(server.requests) == 3
    assert {r.body for r in server.requests} == {b'{"name":"x"}'}  # the same request each time


async def test_429_with_retry_after_is_waited_out(clerk: Clerk, server: RecordingServer) -> None:
    server.reply(
        429, clerk_errors("too_many_requests", "slow down"), headers={"Retry-After": "0.3"}
    )
    started = time.monotonic()
    await clerk.machines.update(MID, name="x")
    assert time.monotonic() - started >= 0.3
    assert len(server.requests) == 2


async def test_429_with_an_http_date(clerk: Clerk, server: RecordingServer) -> None:
    from email.utils import formatdate

    server.reply(
        429,
        clerk_errors("too_many_requests", "slow"),
        headers={"Retry-After": formatdate(usegmt=True)},
    )
    await clerk.machines.update(MID, name="x")
    assert len(server.requests) == 2


async def test_429_beyond_the_cap_raises_at_once(clerk: Clerk, server: RecordingServer) -> None:
    server.reply(
        429, clerk_errors("too_many_requests", "slow down"), headers={"Retry-After": "3600"}
    )
    started = time.monotonic()
    with pytest.raises(RateLimitError) as info:
        await clerk.machines.update(MID, name="x")
    assert time.monotonic() - started < 1.0
    assert info.value.retry_after == 3600.0
    assert len(server.requests) == 1


async def test_retries_give_up_after_max_retries(clerk: Clerk, server: RecordingServer) -> None:
    server.reply(503, clerk_errors("internal_clerk_error", "down"), times=10)
    with pytest.raises(InternalServerError):
        await clerk.machines.update(MID, name="x")
    assert len(server.requests) == 1 + FAST_RETRY.max_retries


async def test_max_retries_zero_turns_retries_off(server: RecordingServer) -> None:
    server.reply(503, clerk_errors("internal_clerk_error", "down"))
    async with Clerk("sk_test_k", base_url=server.url, rate_limit=None, max_retries=0) as clerk:
        with pytest.raises(InternalServerError):
            await clerk.machines.update(MID, name="x")
    assert len(server.requests) == 1


async def test_per_call_max_retries(clerk: Clerk, server: RecordingServer) -> None:
    server.reply(503, clerk_errors("internal_clerk_error", "down"), times=3)
    with pytest.raises(InternalServerError):
        await clerk.machines.update(MID, name="x", max_retries=1)
    assert len(server.requests) == 2


async def test_dropped_connection_is_retried_for_patch(
    clerk: Clerk, server: RecordingServer
) -> None:
    server.drop()
    machine = await clerk.machines.update(MID, name="x")
    assert machine.id == MID
    assert len(server.requests) == 2


async def test_dropped_connection_is_not_retried_for_create(
    clerk: Clerk, server: RecordingServer
) -> None:
    server.drop()
    with pytest.raises(ClerkConnectionError):
        await clerk.machines.create(name="x")
    assert len(server.requests) == 1


async def test_503_is_not_retried_for_create_but_429_is(
    clerk: Clerk, server: RecordingServer
) -> None:
    server.reply(503, clerk_errors("internal_clerk_error", "down"))
    with pytest.raises(InternalServerError):
        await clerk.machines.create(name="x")
    assert len(server.requests) == 1
    server.reply(429, clerk_errors("too_many_requests", "slow"), headers={"Retry-After": "0"})
    server.reply(
        200,
        {
            "object": "machine",
            "id": MID,
            "name": "x",
            "instance_id": "ins_1",
            "created_at": 1,
            "updated_at": 1,
            "scoped_machines": [],
            "secret_key": "ak_1",
        },
    )
    created = await clerk.machines.create(name="x")
    assert created.secret_key == "ak_1"
    assert "ak_1" not in repr(created)
    assert len(server.requests) == 3


async def test_deadline_bounds_the_whole_call(server: RecordingServer) -> None:
    server.reply(503, clerk_errors("internal_clerk_error", "down"), times=100)
    policy = RetryPolicy(max_retries=100, initial_delay=0.1, max_delay=0.1, jitter=0.0)
    async with Clerk(
        "sk_test_k", base_url=server.url, rate_limit=None, retry=policy, deadline=0.5
    ) as clerk:
        started = time.monotonic()
        with pytest.raises(InternalServerError):
            await clerk.machines.update(MID, name="x")
        assert time.monotonic() - started <= 0.9  # 0.5 s, plus room for a loaded machine
    assert 2 <= len(server.requests) <= 6


async def test_the_deadline_also_bounds_the_waits_of_a_retry(server: RecordingServer) -> None:
    from clerk_async import ClerkTimeoutError, RateLimit

    server.reply(503, clerk_errors("internal_clerk_error", "down"))
    async with Clerk(
        "sk_test_k",
        base_url=server.url,
        rate_limit=RateLimit(1, 3.0),
        retry=FAST_RETRY,
        deadline=0.5,
    ) as clerk:
        started = time.monotonic()
        with pytest.raises(ClerkTimeoutError, match="deadline") as info:
            await clerk.machines.update(MID, name="x")  # the retry would wait 3 s for the limiter
        assert time.monotonic() - started < 1.5  # not the limiter's 3 s
    assert isinstance(info.value.__cause__, InternalServerError)  # what went wrong is kept
    assert len(server.requests) == 1


async def test_closing_the_client_during_a_backoff_is_a_clear_error(
    server: RecordingServer,
) -> None:
    from clerk_async import ClientStateError

    server.reply(503, clerk_errors("internal_clerk_error", "down"))
    policy = RetryPolicy(max_retries=2, initial_delay=0.3, jitter=0.0)
    clerk = Clerk("sk_test_k", base_url=server.url, rate_limit=None, retry=policy)
    call = asyncio.ensure_future(clerk.machines.update(MID, name="x"))
    await asyncio.sleep(0.1)  # the 503 is in, the backoff has begun
    await clerk.aclose()
    with pytest.raises(ClientStateError, match="closed"):
        await call


async def test_redirects_are_not_followed(clerk: Clerk, server: RecordingServer) -> None:
    from clerk_async import ClerkAPIError

    server.reply(302, {}, headers={"Location": "/v1/users"})
    with pytest.raises(ClerkAPIError) as info:
        await clerk.machines.update(MID, name="x")
    assert info.value.status == 302
    assert [r.raw_path for r in server.requests] == [f"/v1/machines/{MID}"]  # no GET /v1/users
