"""The async pager over loopback HTTP: one page, every item, every page, and the
ways a server can get its pages and totals wrong without making us loop for ever or stop
short (issue 23, item 6)."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web

from clerk_async import (
    APIKey,
    AsyncPager,
    Clerk,
    ClerkValidationError,
    M2MToken,
    Machine,
    NotFoundError,
    Page,
    PaginationError,
)
from clerk_async.pagination import MAX_ITEMS, MAX_PAGES
from tests._recorder import RecordingServer, machine_json

MID = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"
UID = "user_2xhFjEI5X2qWRvtV13BzSj8H6Dk"


def _machine(i: int) -> dict[str, Any]:
    return machine_json(f"mch_{i:027d}", scoped_machines=[])


def _token(i: int) -> dict[str, Any]:
    return {
        "object": "machine_to_machine_token",
        "id": f"mt_{i:032x}",
        "subject": MID,
        "revoked": False,
        "revocation_reason": None,
        "expired": False,
        "expiration": None,
        "last_used_at": None,
        "created_at": 1,
        "updated_at": 1,
    }


def _api_key(i: int) -> dict[str, Any]:
    return {
        "object": "api_key",
        "id": f"ak_{i:032x}",
        "type": "api_key",
        "subject": UID,
        "name": f"key-{i}",
        "claims": None,
        "scopes": [],
        "revoked": False,
        "revocation_reason": None,
        "expired": False,
        "expiration": None,
        "created_by": None,
        "last_used_at": None,
        "created_at": 1,
        "updated_at": 1,
    }


def dataset(
    count: int,
    make: Callable[[int], dict[str, Any]] = _machine,
    *,
    key: str = "data",
    total: int | None = None,
    page_cap: int | None = None,
) -> Callable[[web.Request], Any]:
    """A handler serving ``count`` items by offset/limit, like Clerk (default limit 10).

    ``total`` overrides the reported total_count; ``page_cap`` makes the server return
    fewer items than asked for.
    """
    items = [make(i) for i in range(count)]

    async def handler(request: web.Request) -> web.StreamResponse:
        offset = int(request.query.get("offset", "0"))
        limit = int(request.query.get("limit", "10"))
        if page_cap is not None:
            limit = min(limit, page_cap)
        page = items[offset : offset + limit]
        return web.json_response({key: page, "total_count": count if total is None else total})

    return handler


async def _drain(iterator: AsyncIterator[Any], into: list[Any]) -> None:
    async for item in iterator:
        into.append(item)


def queries(server: RecordingServer) -> list[dict[str, str]]:
    return [r.query for r in server.requests]


async def test_await_gives_the_first_page_exactly_as_asked(
    clerk: Clerk, server: RecordingServer
) -> None:
    server.default = dataset(25)
    page = await clerk.machines.list()
    assert isinstance(page, Page)
    assert len(page.data) == 10  # the server's default: we sent no limit
    assert all(isinstance(m, Machine) for m in page.data)
    assert page.total_count == 25
    page = await clerk.machines.list(limit=5, offset=20)
    assert [m.id for m in page.data] == [f"mch_{i:027d}" for i in range(20, 25)]
    assert queries(server) == [{}, {"limit": "5", "offset": "20"}]


async def test_async_for_walks_three_pages(clerk: Clerk, server: RecordingServer) -> None:
    server.default = dataset(7)
    ids = [m.id async for m in clerk.machines.list(limit=3, order_by="name")]
    assert ids == [f"mch_{i:027d}" for i in range(7)]
    assert queries(server) == [
        {"limit": "3", "order_by": "name"},
        {"limit": "3", "offset": "3", "order_by": "name"},
        {"limit": "3", "offset": "6", "order_by": "name"},
    ]


async def test_pages_yields_pages(clerk: Clerk, server: RecordingServer) -> None:
    server.default = dataset(7)
    pages = [page async for page in clerk.machines.list(limit=3).pages()]
    assert [len(p.data) for p in pages] == [3, 3, 1]
    assert {p.total_count for p in pages} == {7}


async def test_walk_starts_at_the_callers_offset(clerk: Clerk, server: RecordingServer) -> None:
    server.default = dataset(10)
    ids = [m.id async for m in clerk.machines.list(limit=4, offset=5)]
    assert ids == [f"mch_{i:027d}" for i in range(5, 10)]
    assert queries(server) == [{"limit": "4", "offset": "5"}, {"limit": "4", "offset": "9"}]


async def test_exact_multiple_stops_at_total_count(clerk: Clerk, server: RecordingServer) -> None:
    server.default = dataset(6)
    assert len([m async for m in clerk.machines.list(limit=3)]) == 6
    assert len(server.requests) == 2  # no third request for an empty page


async def test_empty_list(clerk: Clerk, server: RecordingServer) -> None:
    server.default = dataset(0)
    assert [m async for m in clerk.machines.list()] == []
    assert [p async for p in clerk.machines.list().pages()] == []
    assert len(server.requests) == 2


async def test_m2m_shape_is_normalised(clerk: Clerk, server: RecordingServer) -> None:
    server.default = dataset(150, _token, key="m2m_tokens")
    page = await clerk.m2m.list_tokens(MID, limit=2)
    assert isinstance(page, Page)
    assert [t.id for t in page.data] == [f"mt_{0:032x}", f"mt_{1:032x}"]
    assert page.total_count == 150
    tokens = [t async for t in clerk.m2m.list_tokens(MID, revoked=False)]
    assert len(tokens) == 150
    assert all(isinstance(t, M2MToken) for t in tokens)
    assert queries(server)[1:] == [
        {"subject": MID, "revoked": "false", "limit": "100"},
        {"subject": MID, "revoked": "false", "limit": "100", "offset": "100"},
    ]


async def test_api_keys_walk(clerk: Clerk, server: RecordingServer) -> None:
    server.default = dataset(101, _api_key)
    keys = [k async for k in clerk.api_keys.list(UID)]
    assert len(keys) == 101
    assert all(isinstance(k, APIKey) for k in keys)
    assert queries(server) == [
        {"subject": UID, "limit": "100"},
        {"subject": UID, "limit": "100", "offset": "100"},
    ]


@pytest.mark.parametrize(
    ("call", "maximum"),
    [
        (lambda c: c.machines.list(), "500"),
        (lambda c: c.m2m.list_tokens(MID), "100"),
        (lambda c: c.api_keys.list(UID), "100"),
    ],
    ids=["machines", "m2m", "api_keys"],
)
async def test_walking_uses_the_endpoint_maximum(
    clerk: Clerk, server: RecordingServer, call: Any, maximum: str
) -> None:
    server.reply(200, {"data": [], "m2m_tokens": [], "total_count": 0})
    assert [x async for x in call(clerk)] == []
    assert server.requests[0].query["limit"] == maximum


async def test_a_short_page_is_not_the_end(clerk: Clerk, server: RecordingServer) -> None:
    # The server caps its pages at 100 below our limit of 500: the walk goes on from where
    # the received items end, to total_count, with no extra request.
    server.default = dataset(1000, page_cap=100)
    ids = [m.id async for m in clerk.machines.list(limit=500)]
    assert ids == [f"mch_{i:027d}" for i in range(1000)]
    assert [q.get("offset") for q in queries(server)] == [None] + [
        str(100 * i) for i in range(1, 10)
    ]


async def test_a_short_page_with_an_inflated_total_ends_at_an_empty_page(
    clerk: Clerk, server: RecordingServer
) -> None:
    # The server claims 1000 but has 20 and caps pages at 4: every item, then an empty page.
    server.default = dataset(20, total=1000, page_cap=4)
    assert len([m async for m in clerk.machines.list(limit=10)]) == 20
    assert len(server.requests) == 6


async def test_stops_on_an_empty_page_despite_total_count(
    clerk: Clerk, server: RecordingServer
) -> None:
    server.reply(200, {"data": [_machine(0), _machine(1)], "total_count": 10**9})
    server.reply(200, {"data": [], "total_count": 10**9})
    server.default = dataset(10**3)  # never reached
    assert len([m async for m in clerk.machines.list(limit=2)]) == 2
    assert len(server.requests) == 2


async def test_stops_at_a_total_count_smaller_than_the_data(
    clerk: Clerk, server: RecordingServer
) -> None:
    # New items on every page for ever, but total_count says 5: we stop once past it.
    server.default = dataset(10**4, total=5)
    assert len([m async for m in clerk.machines.list(limit=2)]) == 6
    assert len(server.requests) == 3


async def test_a_server_ignoring_offset_is_caught_at_the_first_repeat(
    clerk: Clerk, server: RecordingServer
) -> None:
    # The same full page whatever the offset, and a total that promises a million.
    async def handler(request: web.Request) -> web.StreamResponse:
        limit = int(request.query.get("limit", "10"))
        return web.json_response(
            {"data": [_machine(i) for i in range(limit)], "total_count": 10**6}
        )

    server.default = handler
    got: list[Machine] = []
    with pytest.raises(PaginationError, match="repeats an earlier page") as caught:
        await _drain(clerk.machines.list(limit=500), got)
    assert len(got) == 500  # the first page was real; nothing duplicated after it
    assert (caught.value.pages, caught.value.items) == (1, 500)
    assert len(server.requests) == 2


async def test_a_bare_array_ignoring_offset_is_caught_too() -> None:
    # No total_count and items without ids: the page is compared with the one before.
    async def fetch(offset: Any, limit: Any) -> Page[dict[str, int]]:
        return Page(data=[{"n": i} for i in range(limit)], total_count=None)

    pager: AsyncPager[dict[str, int]] = AsyncPager(fetch, max_limit=100)
    with pytest.raises(PaginationError, match="offset 100 repeats"):
        async for _ in pager:
            pass


async def test_pages_that_alternate_are_caught(clerk: Clerk, server: RecordingServer) -> None:
    first = {"data": [_machine(0), _machine(1)], "total_count": 100}
    second = {"data": [_machine(2), _machine(3)], "total_count": 100}
    for answer in (first, second, first):
        server.reply(200, answer)
    pages = clerk.machines.list(limit=2).pages()
    assert len((await anext(pages)).data) == 2
    assert len((await anext(pages)).data) == 2
    with pytest.raises(PaginationError, match="offset 4 repeats"):
        await anext(pages)
    with pytest.raises(StopAsyncIteration):  # the walk is over, not left half-way
        await anext(pages)


async def test_max_pages_bounds_the_walk(clerk: Clerk, server: RecordingServer) -> None:
    server.default = dataset(100)
    got: list[Machine] = []
    with pytest.raises(PaginationError, match="max_pages=3") as caught:
        await _drain(clerk.machines.list(limit=10).items(max_pages=3), got)
    assert len(got) == 30
    assert (caught.value.pages, caught.value.items) == (3, 30)
    assert len(server.requests) == 4  # the fourth page was fetched, never yielded


async def test_max_items_bounds_the_walk(clerk: Clerk, server: RecordingServer) -> None:
    server.default = dataset(100)
    pages = clerk.machines.list(limit=10).pages(max_items=25)
    got: list[Page[Machine]] = []
    with pytest.raises(PaginationError, match="max_items=25"):
        await _drain(pages, got)
    assert [len(page.data) for page in got] == [10, 10]


async def test_a_walk_within_its_bounds_is_whole(clerk: Clerk, server: RecordingServer) -> None:
    server.default = dataset(30)
    pager = clerk.machines.list(limit=10)
    assert len([m async for m in pager.items(max_pages=3, max_items=30)]) == 30
    assert len([m async for m in pager.items(max_pages=None, max_items=None)]) == 30


@pytest.mark.parametrize("bound", [0, -1, 1.5, True, "10"])
async def test_a_bad_bound_is_refused_on_the_first_step(
    clerk: Clerk, server: RecordingServer, bound: Any
) -> None:
    pages = clerk.machines.list().pages(max_pages=bound)  # nothing raised yet
    with pytest.raises(ClerkValidationError, match="max_pages"):
        await anext(pages)
    assert server.requests == []


async def test_distinct_items_for_ever_without_a_total_end_at_a_bound() -> None:
    # No total_count, never an empty page, never a repeat: only the bound ends it.
    calls = 0

    async def fetch(offset: Any, limit: Any) -> Page[int]:
        nonlocal calls
        calls += 1
        start = offset or 0
        return Page(data=list(range(start, start + limit)), total_count=None)

    pager: AsyncPager[int] = AsyncPager(fetch, max_limit=10)
    with pytest.raises(PaginationError, match="max_pages=50"):
        async for _ in pager.items(max_pages=50):
            pass
    assert calls == 51
    # Unless told otherwise, every walk has the documented bounds.
    defaults = inspect.signature(AsyncPager.pages).parameters
    assert (defaults["max_pages"].default, defaults["max_items"].default) == (100_000, 10**7)
    assert (MAX_PAGES, MAX_ITEMS) == (100_000, 10**7)


async def test_total_count_zero_with_data(clerk: Clerk, server: RecordingServer) -> None:
    server.reply(200, {"data": [_machine(0), _machine(1)], "total_count": 0})
    assert len([m async for m in clerk.machines.list(limit=2)]) == 2
    assert len(server.requests) == 1


async def test_breaking_out_early_leaves_nothing_behind(
    clerk: Clerk, server: RecordingServer
) -> None:
    server.default = dataset(1000)
    async for machine in clerk.machines.list(limit=10):
        if machine.id.endswith("15"):
            break
    assert len(server.requests) == 2


async def test_pager_can_be_walked_again(clerk: Clerk, server: RecordingServer) -> None:
    server.default = dataset(3)
    pager = clerk.machines.list(limit=2)
    first = [m.id async for m in pager]
    second = [m.id async for m in pager]
    assert first == second
    assert len(server.requests) == 4


async def test_an_error_mid_walk_propagates(clerk: Clerk, server: RecordingServer) -> None:
    server.reply(200, {"data": [_machine(0), _machine(1)], "total_count": 4})
    server.reply(404, {"errors": [{"code": "resource_not_found", "message": "gone"}]})
    items = aiter(clerk.machines.list(limit=2))
    assert (await anext(items)).id == f"mch_{0:027d}"
    assert (await anext(items)).id == f"mch_{1:027d}"
    with pytest.raises(NotFoundError):
        await anext(items)


async def test_machine_secret_key_is_used_on_every_page(server: RecordingServer) -> None:
    server.default = dataset(3, _token, key="m2m_tokens")
    async with Clerk(
        "sk_test_x", base_url=server.url, machine_secret_key="ak_m", rate_limit=None
    ) as clerk:
        assert len([t async for t in clerk.m2m.list_tokens(MID, limit=2)]) == 3
    assert [r.headers["Authorization"] for r in server.requests] == ["Bearer ak_m"] * 2


async def test_pager_over_a_plain_function() -> None:
    # The pager only needs a function from (offset, limit) to a page.
    calls: list[tuple[Any, Any]] = []
    items = list(range(5))

    async def fetch(offset: Any, limit: Any) -> Page[int]:
        calls.append((offset, limit))
        start = offset or 0
        return Page(data=items[start : start + limit], total_count=len(items))

    pager: AsyncPager[int] = AsyncPager(fetch, max_limit=2)
    assert [i async for i in pager] == items
    assert [c[1] for c in calls] == [2, 2, 2]
    assert "AsyncPager" in repr(pager)


async def test_a_bare_array_is_walked_past_short_pages() -> None:
    # No total_count: a short page may be a capped one; only an empty page ends the walk.
    items = list(range(25))

    async def fetch(offset: Any, limit: Any) -> Page[int]:
        start = offset or 0
        return Page(data=items[start : start + min(limit, 4)], total_count=None)

    pager: AsyncPager[int] = AsyncPager(fetch, max_limit=10)
    assert [i async for i in pager] == items
