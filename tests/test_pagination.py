"""The async pager over loopback HTTP: one page, every item, every page, and the
ways a server can get its totals wrong without making us loop forever."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web

from clerk_async import APIKey, AsyncPager, Clerk, M2MToken, Machine, NotFoundError, Page
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


async def test_stops_on_a_short_page(clerk: Clerk, server: RecordingServer) -> None:
    # The server claims 1000 but caps pages at 4: a short page ends the walk.
    server.default = dataset(20, total=1000, page_cap=4)
    assert len([m async for m in clerk.machines.list(limit=10)]) == 4
    assert len(server.requests) == 1


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
    # Full pages forever, but total_count says 5: we stop once we have passed it.
    async def full_page(request: web.Request) -> web.StreamResponse:
        return web.json_response({"data": [_machine(0), _machine(1)], "total_count": 5})

    server.default = full_page
    assert len([m async for m in clerk.machines.list(limit=2)]) == 6
    assert len(server.requests) == 3


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
