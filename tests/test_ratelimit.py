"""The shared limiter: pacing on the server's clock, the shared pause, cancellation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import pytest
from aiohttp import web

from clerk_async import Clerk, RateLimit
from clerk_async._ratelimit import Limiter, default_rate_limit
from tests._recorder import RecordingServer, clerk_errors, machine_json
from tests.conftest import FAST_RETRY

MID = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"


def max_in_window(times: Sequence[float], window: float) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_default_follows_the_key() -> None:
    assert default_rate_limit("sk_live_x") == RateLimit(1000, 10.0)
    assert default_rate_limit("sk_test_x") == RateLimit(100, 10.0)
    assert default_rate_limit(None) == RateLimit(100, 10.0)


@pytest.mark.parametrize("args", [(0, 1.0), (5, 0.0), (-1, 1.0)])
def test_rate_limit_rejects_nonsense(args: tuple[int, float]) -> None:
    with pytest.raises(ValueError, match="must be >"):
        RateLimit(*args)


ROUTE = "PATCH /machines/{machine_id}"
OTHER_ROUTE = "GET /machines"


async def test_limiter_paces_to_n_per_window() -> None:
    limiter = Limiter(RateLimit(5, 0.2))
    sends: list[float] = []

    async def one() -> None:
        await limiter.acquire(ROUTE)
        sends.append(time.monotonic())
        await asyncio.sleep(0.01)  # in flight
        limiter.release()

    started = time.monotonic()
    await asyncio.gather(*(one() for _ in range(15)))
    assert time.monotonic() - started >= 0.4  # 15 = 5 now + 5 after 0.2 s + 5 after 0.4 s
    assert max_in_window(sends, 0.2) <= 5


async def test_unlimited_limiter_never_waits() -> None:
    limiter = Limiter(None)
    for _ in range(1000):
        assert limiter.try_acquire(ROUTE)
    limiter.pause(ROUTE, 0.05)
    assert not limiter.try_acquire(ROUTE)  # paused: the caller must wait in acquire()
    assert limiter.try_acquire(OTHER_ROUTE)  # a pause holds one endpoint, not the others
    started = time.monotonic()
    await limiter.acquire(ROUTE)
    assert time.monotonic() - started >= 0.04
    assert limiter.try_acquire(ROUTE)


async def test_a_pause_is_per_endpoint_and_ends_on_the_clock() -> None:
    now = [100.0]
    limiter = Limiter(RateLimit(10, 1.0), clock=lambda: now[0])
    limiter.pause(ROUTE, 30)
    limiter.pause(ROUTE, 5)  # a shorter pause never shortens a longer one
    assert limiter.pause_remaining(ROUTE) == 30
    assert limiter.pause_remaining(OTHER_ROUTE) == 0.0
    assert not limiter.try_acquire(ROUTE)
    assert limiter.try_acquire(OTHER_ROUTE)
    now[0] += 30
    assert limiter.pause_remaining(ROUTE) == 0.0
    assert limiter.try_acquire(ROUTE)


def test_ended_pauses_of_unused_routes_are_dropped() -> None:
    now = [0.0]
    limiter = Limiter(None, clock=lambda: now[0])
    for n in range(100):
        limiter.pause(f"GET /v1/things/{n}", 1.0)
    now[0] += 2
    limiter.pause(ROUTE, 1.0)
    assert limiter._pauses == {ROUTE: 3.0}


async def test_a_paused_endpoint_does_not_hold_the_line_for_others() -> None:
    limiter = Limiter(RateLimit(10, 1.0))
    limiter.pause(ROUTE, 60)
    waiting = asyncio.ensure_future(limiter.acquire(ROUTE))
    await asyncio.sleep(0)
    await asyncio.wait_for(limiter.acquire(OTHER_ROUTE), 30)  # not stuck behind ROUTE
    assert not waiting.done()
    waiting.cancel()


async def test_burst_over_http_respects_the_server_window(server: RecordingServer) -> None:
    arrivals: list[float] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        arrivals.append(time.monotonic())
        await asyncio.sleep(0.02)  # the server's clock is behind the client's by this much
        return web.json_response(machine_json())

    server.default = handler
    async with Clerk("sk_test_k", base_url=server.url, rate_limit=RateLimit(10, 0.3)) as clerk:
        started = time.monotonic()
        await asyncio.gather(*(clerk.machines.update(MID, name="x") for _ in range(35)))
        elapsed = time.monotonic() - started
    assert max_in_window(arrivals, 0.3) <= 10
    assert 0.9 <= elapsed < 2.0  # 35 requests at 10 per 0.3 s: three full waits


async def test_a_429_pauses_every_request_once(server: RecordingServer) -> None:
    arrivals: list[float] = []
    first = True

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal first
        arrivals.append(time.monotonic())
        if first:
            first = False
            return web.json_response(
                clerk_errors("too_many_requests", "slow"),
                status=429,
                headers={"Retry-After": "0.4"},
            )
        await asyncio.sleep(0.05)
        return web.json_response(machine_json())

    server.default = handler
    async with Clerk("sk_test_k", base_url=server.url, rate_limit=None, retry=FAST_RETRY) as clerk:
        first_call = asyncio.ensure_future(clerk.machines.update(MID, name="first"))
        await asyncio.sleep(0.1)  # the 429 has been answered: the pause is on
        t_pause = arrivals[0]
        rest = await asyncio.gather(*(clerk.machines.update(MID, name="x") for _ in range(10)))
        await first_call
    assert len(rest) == 10
    # Nothing reached the server during the pause, neither the retry nor the new requests.
    assert all(t >= t_pause + 0.39 for t in arrivals[1:])
    assert len(arrivals) == 12  # one 429, then each request once: no stampede of retries


async def test_cancellation_leaves_the_limiter_consistent(server: RecordingServer) -> None:
    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.5)
        return web.json_response(machine_json())

    server.default = slow
    async with Clerk(
        "sk_test_k", base_url=server.url, rate_limit=RateLimit(3, 0.2), max_connections=2
    ) as clerk:
        tasks = [asyncio.ensure_future(clerk.machines.update(MID, name="x")) for _ in range(8)]
        await asyncio.sleep(0.1)  # some in flight, some waiting for the pool, some for the limiter
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        limiter = clerk._transport.limiter
        assert limiter._in_flight == 0
        gate = clerk._sessions.pool_gate
        assert gate is not None
        assert gate.free == 2  # every pool slot was given back
        server.default = server._echo_machine
        await asyncio.wait_for(
            asyncio.gather(*(clerk.machines.update(MID, name="y") for _ in range(3))), 2.0
        )


async def test_pool_gate_hands_slots_over_in_order_and_survives_cancellation() -> None:
    from clerk_async._ratelimit import PoolGate

    gate = PoolGate(1)
    assert gate.try_acquire()
    assert not gate.try_acquire()
    order: list[str] = []

    async def wait(name: str) -> None:
        await gate.acquire()
        order.append(name)

    first = asyncio.ensure_future(wait("first"))
    cancelled = asyncio.ensure_future(wait("cancelled"))
    last = asyncio.ensure_future(wait("last"))
    await asyncio.sleep(0)
    cancelled.cancel()  # cancelled while waiting: it leaves the queue
    await asyncio.sleep(0)
    gate.release()  # the slot goes straight to "first"
    await first
    gate.release()  # and then to "last", skipping the cancelled waiter
    await last
    assert order == ["first", "last"]
    assert cancelled.cancelled()
    gate.release()
    assert gate.free == 1

    # Handed a slot at the moment it is cancelled: the slot is passed on, not lost.
    assert gate.try_acquire()
    handed = asyncio.ensure_future(gate.acquire())
    await asyncio.sleep(0)
    gate.release()
    handed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await handed
    assert gate.free == 1


@pytest.mark.parametrize("steps", range(5))
async def test_a_wait_cancelled_as_it_gets_its_slot_never_swallows_the_cancel(steps: int) -> None:
    # The slot is handed over, then the waiting caller is cancelled `steps` loop steps
    # later. A cancel the task accepted must end it with CancelledError and the slot given
    # back; only a cancel that came too late (the task had finished) may leave it holding
    # the slot. asyncio.wait_for on Python <= 3.11 broke this: when its inner task had
    # just finished, it returned the result and swallowed the cancel, so the call went on.
    from clerk_async._ratelimit import PoolGate
    from clerk_async._transport import _within

    gate = PoolGate(1)
    assert gate.try_acquire()
    waiter = asyncio.ensure_future(_within(gate.acquire, 60.0, gate.release))
    for _ in range(3):
        await asyncio.sleep(0)  # the waiter is queued in the gate
    gate.release()  # the slot goes to the waiter
    for _ in range(steps):
        await asyncio.sleep(0)
    if waiter.cancel():
        with pytest.raises(asyncio.CancelledError):
            await waiter
        await asyncio.sleep(0)
        assert gate.free == 1  # given back
    else:
        assert waiter.result() is True
        assert gate.free == 0  # the caller holds it and will release it
        gate.release()
    assert not gate._waiters


async def test_a_call_cancelled_before_sending_gives_its_rate_slot_back(
    server: RecordingServer,
) -> None:
    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.3)
        return web.json_response(machine_json())

    server.default = slow
    async with Clerk(
        "sk_test_k", base_url=server.url, rate_limit=RateLimit(2, 30.0), max_connections=1
    ) as clerk:
        first = asyncio.ensure_future(clerk.machines.update(MID, name="a"))
        waiting = asyncio.ensure_future(clerk.machines.update(MID, name="b"))
        await asyncio.sleep(0.1)  # `waiting` holds a rate slot and waits for the one connection
        waiting.cancel()
        await first
        # Had the cancelled call kept its slot, this one would wait 30 s for the window.
        await asyncio.wait_for(clerk.machines.update(MID, name="c"), 2.0)
    assert len(server.requests) == 2
