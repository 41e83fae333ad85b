"""Logging and aiohttp trace hooks."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import aiohttp
import pytest

from clerk_async import Clerk, NotFoundError
from tests._recorder import RecordingServer, clerk_errors

MID = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"


async def test_trace_configs_are_passed_to_the_session(server: RecordingServer) -> None:
    seen: list[tuple[str, str]] = []

    async def on_request_start(
        session: aiohttp.ClientSession,
        ctx: SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        seen.append((params.method, params.url.raw_path))

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    async with Clerk(
        "sk_test_k", base_url=server.url, rate_limit=None, trace_configs=[trace]
    ) as clerk:
        await clerk.machines.update(MID, name="x")
    assert seen == [("PATCH", f"/v1/machines/{MID}")]


async def test_requests_are_logged_at_debug(
    clerk: Clerk, server: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="clerk_async")
    await clerk.machines.update(MID, name="x")
    server.reply(404, clerk_errors("resource_not_found", "nope", trace="trace-xyz"))
    with pytest.raises(NotFoundError):
        await clerk.machines.get(MID)
    messages = [r.getMessage() for r in caplog.records if r.name == "clerk_async"]
    assert messages[0].startswith(
        "PATCH /machines/{machine_id} -> 200 in "
    )  # the template, not the id
    assert messages[1].startswith("GET /machines/{machine_id} -> 404 in ")
    assert messages[1].endswith("[trace trace-xyz]")
    assert "sk_test" not in caplog.text


async def test_nothing_is_logged_above_debug(
    clerk: Clerk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="clerk_async")
    await clerk.machines.update(MID, name="x")
    assert [r for r in caplog.records if r.name == "clerk_async"] == []
