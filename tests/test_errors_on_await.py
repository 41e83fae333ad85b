"""Every operation is a coroutine function: whatever it raises, it raises on ``await``.

Issue 23, item 1. pytest runs with ``filterwarnings = error``: a coroutine left un-awaited
("coroutine ... was never awaited") fails the test that made it.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import json
from typing import Any
from unittest.mock import AsyncMock

import pytest

from clerk_async import Clerk, ClerkConfigError, ClerkValidationError, Machine
from clerk_async.services.spec import OPERATIONS
from tests._recorder import RecordingServer, machine_json

MID = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"


def _operations(clerk: Clerk) -> list[tuple[str, Any]]:
    found = []
    for op in OPERATIONS.values():
        method = getattr(getattr(clerk, op.service), op.method)
        found.append((f"{op.service}.{op.method}", method))
    return found


def test_every_operation_but_list_is_a_coroutine_function() -> None:
    clerk = Clerk("sk_test_k")
    pagers = []
    for name, method in _operations(clerk):
        # List methods return a pager (awaitable, and ``async for``-able): a coroutine
        # function could not be iterated. They raise on first use instead (below).
        returns = inspect.signature(method).return_annotation
        if "AsyncPager" in str(returns):
            pagers.append(name)
            continue
        assert inspect.iscoroutinefunction(method), name
    assert len(pagers) < 40
    assert inspect.iscoroutinefunction(clerk.users.get)
    assert inspect.iscoroutinefunction(clerk.machines.update)
    assert inspect.iscoroutinefunction(clerk.request)


async def test_async_mock_with_spec_is_awaitable() -> None:
    clerk = Clerk("sk_test_k")
    mock = AsyncMock(spec=clerk.machines.update, return_value="done")
    assert await mock(MID, name="x") == "done"
    machines = AsyncMock(spec=type(clerk.machines))
    await machines.update(MID, name="x")
    machines.update.assert_awaited_once_with(MID, name="x")


async def test_bad_input_raises_on_await_not_at_the_call(
    clerk: Clerk, server: RecordingServer
) -> None:
    calls = [
        clerk.machines.update(MID, name=""),  # too short
        clerk.machines.update(MID),  # nothing to change
        clerk.machines.update(MID, nmae="typo"),  # type: ignore[call-overload]
        clerk.machines.update(MID, name="x", timeout="soon"),  # type: ignore[arg-type]
        clerk.users.get(""),
        clerk.m2m.create_token(),  # no machine secret key
        clerk.request("GET", "../escape"),
    ]
    assert all(inspect.iscoroutine(call) for call in calls)
    for call in calls:
        with pytest.raises((ClerkValidationError, ClerkConfigError)):
            await call
    assert server.requests == []


async def test_gather_collects_each_error_and_leaves_nothing_unawaited(
    clerk: Clerk, server: RecordingServer
) -> None:
    names = ["a", "", "b", "x" * 256, "c"]
    results = await asyncio.gather(
        *(clerk.machines.update(MID, name=name) for name in names), return_exceptions=True
    )
    assert [type(r) for r in results] == [
        Machine,
        ClerkValidationError,
        Machine,
        ClerkValidationError,
        Machine,
    ]
    assert [json.loads(r.body) for r in server.requests] == [{"name": n} for n in "abc"]
    gc.collect()  # an un-awaited coroutine would warn here, and warnings are errors


async def test_create_task_does_not_raise_in_the_caller(clerk: Clerk) -> None:
    task = asyncio.create_task(clerk.machines.update(MID, name=""))
    with pytest.raises(ClerkValidationError, match="name"):
        await task


async def test_good_calls_still_work(clerk: Clerk, server: RecordingServer) -> None:
    server.reply(200, machine_json(MID, name="x"))
    machine = await clerk.machines.update(MID, name="x")
    assert machine.name == "x"
