"""Hooks, raw answers and the log switch: events from the request path, over real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from clerk_async import Clerk, NotFoundError, RateLimit
from clerk_async.errors import ClerkConfigError
from clerk_async.hooks import (
    CallEnd,
    CallStart,
    Hooks,
    RequestEvent,
    ResponseEvent,
    RetryEvent,
    WaitEvent,
)
from clerk_async.raw import RawResponse
from tests._recorder import RecordingServer, clerk_errors, machine_json
from tests.conftest import FAST_RETRY

MID = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"


class Recorder(Hooks):
    def __init__(self) -> None:
        self.events: list[Any] = []

    def on_call_start(self, event: CallStart) -> None:
        self.events.append(event)

    def on_request(self, event: RequestEvent) -> None:
        self.events.append(event)

    def on_response(self, event: ResponseEvent) -> None:
        self.events.append(event)

    def on_retry(self, event: RetryEvent) -> None:
        self.events.append(event)

    def on_wait(self, event: WaitEvent) -> None:
        self.events.append(event)

    def on_call_end(self, event: CallEnd) -> None:
        self.events.append(event)

    def kinds(self) -> list[str]:
        return [type(e).__name__ for e in self.events]


def client(server: RecordingServer, *hooks: Hooks, **kw: Any) -> Clerk:
    kw.setdefault("rate_limit", None)
    return Clerk("sk_test_secret123", base_url=server.url, retry=FAST_RETRY, hooks=hooks, **kw)


async def test_a_retried_call_gives_its_events_in_order(server: RecordingServer) -> None:
    rec = Recorder()
    server.reply(503, clerk_errors("unavailable", "busy", trace="trace-503"))
    async with client(server, rec) as clerk:
        machine = await clerk.machines.update(MID, name="x")
    assert machine.id == MID
    assert rec.kinds() == [
        "CallStart",
        "RequestEvent",
        "ResponseEvent",
        "RetryEvent",
        "RequestEvent",
        "ResponseEvent",
        "CallEnd",
    ]
    call = rec.events[0].call
    assert all(e.call is call for e in rec.events)  # one CallInfo per call: a key for state
    assert (call.method, call.url_template, call.route) == (
        "PATCH",
        "/machines/{machine_id}",
        "PATCH /machines/{machine_id}",
    )
    assert call.server_address == "127.0.0.1"
    first, retry, second, end = rec.events[2], rec.events[3], rec.events[5], rec.events[6]
    assert (first.attempt, first.status, first.error_type) == (1, 503, "InternalServerError")
    assert first.clerk_trace_id == "trace-503"
    assert (retry.attempt, retry.status, retry.error_type) == (1, 503, "InternalServerError")
    assert retry.delay >= 0
    assert (second.attempt, second.status, second.error_type) == (2, 200, None)
    assert (end.attempts, end.status, end.error_type) == (2, 200, None)
    # No event carries the id, the key or the body.
    assert MID not in repr(rec.events)
    assert "sk_test" not in repr(rec.events)


async def test_a_failed_call_ends_with_its_error(server: RecordingServer) -> None:
    rec = Recorder()
    server.reply(404, clerk_errors("resource_not_found", "nope", trace="trace-404"))
    async with client(server, rec) as clerk:
        with pytest.raises(NotFoundError):
            await clerk.machines.get(MID)
    end = rec.events[-1]
    assert isinstance(end, CallEnd)
    assert (end.attempts, end.status, end.error_type, end.clerk_trace_id) == (
        1,
        404,
        "NotFoundError",
        "trace-404",
    )


async def test_bad_input_ends_the_call_before_any_attempt(server: RecordingServer) -> None:
    rec = Recorder()
    async with client(server, rec) as clerk:
        with pytest.raises(ClerkConfigError):
            await clerk.machines.update(MID, name="x", deadline=-1)
    assert rec.kinds() == ["CallStart", "CallEnd"]
    assert rec.events[-1].attempts == 0
    assert rec.events[-1].error_type == "ClerkConfigError"
    assert server.requests == []


async def test_a_429_pause_and_a_limiter_wait_are_events(server: RecordingServer) -> None:
    rec = Recorder()
    server.reply(429, clerk_errors("too_many_requests", "slow down"), headers={"Retry-After": "0"})
    async with client(server, rec, rate_limit=RateLimit(1000, 10)) as clerk:
        await clerk.machines.update(MID, name="x")
    kinds = rec.kinds()
    assert kinds.count("RequestEvent") == 2
    retry = next(e for e in rec.events if isinstance(e, RetryEvent))
    assert (retry.status, retry.error_type) == (429, "RateLimitError")
    waits = [e for e in rec.events if isinstance(e, WaitEvent)]
    assert [w.reason for w in waits] == ["pause"]  # the retry waited out the 429's pause
    assert kinds.index("WaitEvent") > kinds.index("RetryEvent")


async def test_a_hook_that_raises_does_not_fail_the_call(
    server: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(Hooks):
        def on_request(self, event: RequestEvent) -> None:
            raise RuntimeError("tracing bug")

    rec = Recorder()
    async with client(server, Broken(), rec) as clerk:
        assert (await clerk.machines.get(MID)).id == MID
    assert rec.kinds()[-1] == "CallEnd"  # the hooks after it still heard every event
    assert "Broken failed in on_request" in caplog.text


def test_hooks_must_be_hooks() -> None:
    with pytest.raises(ClerkConfigError, match="hooks"):
        Clerk("sk_test_x", hooks=[print])  # type: ignore[list-item]


def test_nobody_listens_by_default() -> None:
    """Without hooks, CLERK_LOG or an OpenTelemetry provider, a call builds no event."""
    code = textwrap.dedent(
        """
        from clerk_async import Clerk
        clerk = Clerk("sk_test_x")
        print(clerk._transport.observers.for_call() == ())
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "CLERK_LOG"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "True"


async def test_raw_response_of_a_call(server: RecordingServer) -> None:
    server.reply(503, clerk_errors("unavailable", "busy"))
    server.reply(200, machine_json(MID), headers={"X-Clerk-Trace-Id": "trace-ok"})
    async with client(server) as clerk:
        raw = await clerk.with_raw_response.machines.get(MID)
        assert isinstance(raw, RawResponse)
        assert (raw.status, raw.attempts, raw.clerk_trace_id) == (200, 2, "trace-ok")
        assert raw.headers["content-type"].startswith("application/json")
        assert raw.elapsed > 0
        assert raw.parse().id == MID
        assert "trace-ok" in repr(raw)
        # A non-2xx still raises its typed error, which carries status and trace id.
        server.reply(404, clerk_errors("resource_not_found", "nope", trace="trace-404"))
        with pytest.raises(NotFoundError) as caught:
            await clerk.with_raw_response.machines.get(MID)
        assert caught.value.clerk_trace_id == "trace-404"
        # The capture is not a public option.
        with pytest.raises(TypeError):
            await clerk.with_raw_response.machines.get(MID, _capture=None)


async def test_raw_response_of_a_page(server: RecordingServer) -> None:
    server.reply(200, {"data": [machine_json(MID)], "total_count": 1})
    async with client(server) as clerk:
        raw = await clerk.with_raw_response.machines.list(limit=1)
        page = raw.parse()
        assert raw.status == 200
        assert [m.id for m in page.data] == [MID]
        assert page.total_count == 1


def run_with_log(level: str, code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CLERK_LOG": level}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )


LOG_SCRIPT = textwrap.dedent(
    """
    import asyncio
    from clerk_async import Clerk, RetryPolicy
    from clerk_async.testing import FakeClerk, Faults

    async def main():
        async with FakeClerk(rate_limit=None) as fake:
            mid = fake.add_machine(name="worker").id
            fake.faults = Faults(seed=3, error_rate=0.5, error_statuses=(503,))
            retry = RetryPolicy(max_retries=8, initial_delay=0.001, max_delay=0.002)
            async with Clerk(fake.secret_key, base_url=fake.url, retry=retry) as clerk:
                for _ in range(6):
                    await clerk.machines.get(mid, extra_headers={"X-Note": "hidden"})
            print(fake.secret_key, mid)

    asyncio.run(main())
    """
)


def test_clerk_log_debug_logs_each_attempt_and_no_secret() -> None:
    out = run_with_log("debug", LOG_SCRIPT)
    assert out.returncode == 0, out.stderr
    key, mid = out.stdout.split()
    lines = [line for line in out.stderr.splitlines() if "clerk_async" in line]
    attempts = [line for line in lines if "GET /machines/{machine_id} -> " in line]
    retries = [line for line in lines if "retrying GET /machines/{machine_id}" in line]
    assert len(attempts) >= 6  # one per attempt
    assert any("-> 503" in line for line in attempts)
    assert retries
    assert all("DEBUG" in line for line in attempts)
    assert all("INFO" in line for line in retries)
    assert key not in out.stderr
    assert mid not in out.stderr
    assert "hidden" not in out.stderr


def test_clerk_log_info_logs_only_retries_and_waits() -> None:
    out = run_with_log("info", LOG_SCRIPT)
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stderr.splitlines() if "clerk_async" in line]
    assert lines
    assert all("retrying" in line or "waited" in line for line in lines)


def test_without_clerk_log_nothing_is_printed() -> None:
    out = run_with_log("", LOG_SCRIPT)
    assert out.returncode == 0, out.stderr
    assert "clerk_async" not in out.stderr
    json.dumps(out.stdout)  # the script ran to its end
