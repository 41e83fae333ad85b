"""``_within``: wait for a limiter or pool slot for at most N seconds, never swallowing the
caller's cancel (issue 23, item 13). ``_within_310`` is the Python 3.10 way (no
``asyncio.timeout``); it is tested here on every interpreter, and the whole suite runs on
3.10 as well (``make test-pythons``). No test asserts a duration.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from clerk_async._ratelimit import PoolGate
from clerk_async._transport import _within, _within_310

Within = Callable[[Callable[[], Awaitable[None]], float, Callable[[], None]], Awaitable[bool]]
BOTH = pytest.mark.parametrize("within", [_within, _within_310], ids=["_within", "_within_310"])


def _gate() -> asyncio.Future[None]:
    return asyncio.get_running_loop().create_future()


async def _caller(
    within: Within, gate: asyncio.Future[None], seconds: float, got: list[bool]
) -> None:
    """Waits for the slot, then goes on to its next await (where a late cancel lands)."""

    async def acquire() -> None:
        await gate

    got.append(await within(acquire, seconds, lambda: None))
    await asyncio.sleep(0)


@BOTH
async def test_time_running_out_is_false(within: Within) -> None:
    gate, got = _gate(), []
    await _caller(within, gate, 0.001, got)
    assert got == [False]
    await asyncio.sleep(0)
    assert gate.cancelled()  # the waiting acquire was cancelled: it gave back its place


@BOTH
async def test_acquired_in_time_is_true(within: Within) -> None:
    gate, got = _gate(), []
    task = asyncio.ensure_future(_caller(within, gate, 60, got))
    await asyncio.sleep(0)
    gate.set_result(None)
    await task
    assert got == [True]


@BOTH
async def test_a_cancel_while_waiting_goes_through(within: Within) -> None:
    gate, got = _gate(), []
    task = asyncio.ensure_future(_caller(within, gate, 60, got))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert got == []
    await asyncio.sleep(0)
    assert gate.cancelled()


@BOTH
async def test_a_cancel_as_the_slot_arrives_goes_through(within: Within) -> None:
    # wait_for's race on 3.10: the slot arrives and the caller is cancelled in the same
    # turn of the loop. The slot is reported (so the caller's clean-up gives it back) and
    # the cancel lands at the caller's next await: it is never swallowed.
    for turns in (0, 1):  # the slot arrives in the cancel's turn, or one before (later,
        # the caller is done)
        gate, got = _gate(), []
        task = asyncio.ensure_future(_caller(within, gate, 60, got))
        await asyncio.sleep(0)
        gate.set_result(None)
        for _ in range(turns):
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert got in ([], [True])


@BOTH
@pytest.mark.parametrize("steps", range(4))
async def test_a_pool_slot_that_comes_with_a_cancel_is_given_back(
    within: Within, steps: int
) -> None:
    # The real pool gate: cancelled, _within holds nothing; returned True, the caller does.
    gate = PoolGate(1)
    assert gate.try_acquire()
    waiter = asyncio.ensure_future(within(gate.acquire, 60.0, gate.release))
    for _ in range(3):
        await asyncio.sleep(0)  # queued in the gate
    gate.release()  # the slot goes to the waiter
    for _ in range(steps):
        await asyncio.sleep(0)
    if waiter.cancel():
        with pytest.raises(asyncio.CancelledError):
            await waiter
        await asyncio.sleep(0)
        assert gate.free == 1
    else:
        assert waiter.result() is True
        assert gate.free == 0


async def test_no_time_left_is_false_at_once() -> None:
    async def acquire() -> None:
        raise AssertionError("not awaited")

    assert await _within(acquire, 0, lambda: None) is False
