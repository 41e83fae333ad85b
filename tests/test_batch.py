"""machines.update_many over loopback HTTP: order, per-item errors, laziness, cancellation."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp import web

from clerk_async import Clerk, ClerkValidationError, NotFoundError, UpdateMachineParams
from clerk_async.batch import BatchProgress
from tests._recorder import RecordingServer, clerk_errors, machine_json


@pytest.fixture
def answers_404_for_missing(server: RecordingServer) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        machine_id = request.match_info["tail"].rsplit("/", 1)[-1]
        if "missing" in machine_id:
            return web.json_response(clerk_errors("resource_not_found", "not found"), status=404)
        await asyncio.sleep(0.001 * (hash(machine_id) % 5))  # completion order != input order
        return web.json_response(machine_json(machine_id))

    server.default = handler


@pytest.mark.usefixtures("answers_404_for_missing")
async def test_every_input_form_and_input_order(clerk: Clerk, server: RecordingServer) -> None:
    inputs = [
        UpdateMachineParams(machine_id="mch_a", name="a"),
        {"machineId": "mch_b", "defaultTokenTtl": 60},
        {"machine_id": "mch_c", "name": "c"},
        ("mch_d", {"name": "d"}),
        ("mch_e", {"defaultTokenTtl": 5}),
    ] * 10
    results = await clerk.machines.update_many(inputs, concurrency=7).collect()
    assert [r.index for r in results] == list(range(50))
    assert [r.input for r in results] == inputs
    assert [r.value.id for r in results if r.value] == [f"mch_{c}" for c in "abcde"] * 10
    assert all(r.ok and r.error is None for r in results)
    assert len(server.requests) == 50


@pytest.mark.usefixtures("answers_404_for_missing")
async def test_one_failure_does_not_stop_the_others(clerk: Clerk) -> None:
    ids = [f"mch_{i}" if i % 4 else f"mch_missing_{i}" for i in range(40)]
    progress: list[BatchProgress] = []
    batch = clerk.machines.update_many(
        ((i, {"name": "x"}) for i in ids), concurrency=8, on_progress=progress.append
    )
    seen = [result async for result in batch]  # completion order
    assert sorted(r.index for r in seen) == list(range(40))
    failed = [r for r in seen if not r.ok]
    assert len(failed) == 10
    assert all(isinstance(r.error, NotFoundError) and r.value is None for r in failed)
    assert (batch.succeeded, batch.failed) == (30, 10)
    assert progress[-1].done == 40
    assert progress[-1].total is None  # a generator has no len()
    assert (progress[-1].succeeded, progress[-1].failed) == (30, 10)


async def test_invalid_items_fail_alone_without_a_request(
    clerk: Clerk, server: RecordingServer
) -> None:
    inputs = [("mch_1", {"name": ""}), ("mch_2", {"name": "ok"}), 42, ("../x", {"name": "ok"})]
    results = await clerk.machines.update_many(inputs).collect()
    assert [r.ok for r in results] == [False, True, False, True]
    assert isinstance(results[0].error, ClerkValidationError)
    assert isinstance(results[2].error, ClerkValidationError)
    assert [r.raw_path for r in server.requests] == ["/v1/machines/mch_2", "/v1/machines/..%2Fx"]


@pytest.mark.usefixtures("answers_404_for_missing")
async def test_fail_fast_stops_taking_inputs(clerk: Clerk, server: RecordingServer) -> None:
    ids = ["mch_missing_0"] + [f"mch_{i}" for i in range(1, 1000)]
    results = await clerk.machines.update_many(
        ((i, {"name": "x"}) for i in ids), concurrency=4, fail_fast=True
    ).collect()
    assert results[0].index == 0
    assert isinstance(results[0].error, NotFoundError)
    assert len(results) <= 8  # the failure plus what was already in flight
    assert len(server.requests) == len(results)


async def test_inputs_are_consumed_lazily(clerk: Clerk) -> None:
    pulled = 0

    def endless() -> Iterator[tuple[str, dict[str, str]]]:
        nonlocal pulled
        for i in itertools.count():
            pulled += 1
            yield f"mch_{i}", {"name": "x"}

    async with clerk.machines.update_many(endless(), concurrency=5) as batch:
        async for result in batch:
            if result.index >= 30:
                break
    # At most `concurrency` in flight plus `concurrency` results waiting: never the whole input.
    assert pulled <= 31 + 2 * 5 + 5


async def test_async_iterable_input(clerk: Clerk, server: RecordingServer) -> None:
    async def source() -> AsyncIterator[dict[str, str]]:
        for i in range(25):
            await asyncio.sleep(0)
            yield {"machineId": f"mch_{i}", "name": f"n{i}"}

    results = await clerk.machines.update_many(source(), concurrency=6).collect()
    assert [r.value.id for r in results if r.value] == [f"mch_{i}" for i in range(25)]
    assert len(server.requests) == 25


async def test_cancelling_the_batch_leaves_the_client_usable(server: RecordingServer) -> None:
    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.2)
        return web.json_response(machine_json())

    server.default = slow
    async with Clerk("sk_test_k", base_url=server.url, rate_limit=None, max_connections=4) as clerk:

        async def consume() -> None:
            async for _ in clerk.machines.update_many(
                ((f"mch_{i}", {"name": "x"}) for i in range(100)), concurrency=8
            ):
                pass

        task = asyncio.ensure_future(consume())
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert clerk._sessions.pool_gate is not None
        assert clerk._sessions.pool_gate.free == 4  # every connection slot came back
        assert len(server.requests) < 100
        server.default = server._echo_machine
        machine = await asyncio.wait_for(clerk.machines.update("mch_after", name="y"), 2.0)
        assert machine.id == "mch_after"


async def test_a_broken_input_iterator_is_raised_after_the_work_sent(
    clerk: Clerk, server: RecordingServer
) -> None:
    def broken() -> Iterator[tuple[str, dict[str, str]]]:
        yield "mch_1", {"name": "x"}
        yield "mch_2", {"name": "x"}
        raise RuntimeError("the input file is corrupt")

    seen = []

    async def consume() -> None:
        async for result in clerk.machines.update_many(broken(), concurrency=2):
            seen.append(result)

    with pytest.raises(RuntimeError, match="corrupt"):
        await consume()
    assert sorted(r.value.id for r in seen if r.value) == ["mch_1", "mch_2"]  # nothing lost
    assert len(server.requests) == 2


async def test_stop_finishes_what_is_in_flight(clerk: Clerk, server: RecordingServer) -> None:
    batch = clerk.machines.update_many(
        ((f"mch_{i}", {"name": "x"}) for i in range(1000)), concurrency=4
    )
    seen = []
    async for result in batch:
        seen.append(result)
        if len(seen) == 10:
            batch.stop()
    assert all(r.ok for r in seen)
    assert len(seen) == len(server.requests) < 30  # every call sent was yielded
    assert (batch.succeeded, batch.failed) == (len(seen), 0)  # counts what was handed out


async def test_concurrency_is_validated(clerk: Clerk) -> None:
    with pytest.raises(ClerkValidationError, match="concurrency"):
        clerk.machines.update_many([], concurrency=0)
    assert await clerk.machines.update_many([]).collect() == []


async def test_a_closed_client_fails_the_batch_not_each_item(server: RecordingServer) -> None:
    from clerk_async import ClientStateError

    clerk = Clerk("sk_test_k", base_url=server.url, rate_limit=None)
    await clerk.aclose()
    with pytest.raises(ClientStateError, match="closed"):
        await clerk.machines.update_many([("mch_1", {"name": "x"})] * 5).collect()
