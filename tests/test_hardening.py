"""The request path against hostile answers and careless use, over real HTTP.

Each test drives a real aiohttp server of ours that answers the way a broken proxy or an
attacker would: bombs, endless bodies, wrong types, 429 storms.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import resource
import zlib
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDict

from clerk_async import (
    Clerk,
    ClerkAPIError,
    ClerkConfigError,
    ClerkConnectionError,
    ClerkResponseValidationError,
    ClerkTimeoutError,
    ClerkValidationError,
    ClientStateError,
    InternalServerError,
    Machine,
    NotFoundError,
    RateLimitError,
    RetryPolicy,
)
from clerk_async._retry import Outcome
from clerk_async.errors import error_from_response
from tests._recorder import RecordingServer, clerk_errors, machine_json

MID = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"
KEY = "sk_test_secret123"


def _client(server: RecordingServer, **options: Any) -> Clerk:
    options.setdefault("rate_limit", None)
    return Clerk(KEY, base_url=server.url, **options)


def _max_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def _gzip_of_zeros(size: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip container
    block = b"\0" * (1 << 20)
    parts = [packer.compress(block) for _ in range(size // len(block))]
    return b"".join([*parts, packer.flush()])


# --- 1. bounded responses ----------------------------------------------------------------


async def test_a_gzip_bomb_is_refused_without_filling_memory(server: RecordingServer) -> None:
    bomb = _gzip_of_zeros(256 << 20)  # 256 MiB of zeros in ~250 KB

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}
        )

    server.default = handler
    before = _max_rss_bytes()
    async with _client(server) as clerk:
        with pytest.raises(ClerkResponseValidationError, match="larger than max_response_bytes"):
            await clerk.machines.get(MID)
    assert len(server.requests) == 1  # not retried
    # A read of the whole body would have grown the process by 256 MiB.
    assert _max_rss_bytes() - before < 96 << 20


async def test_an_endless_body_ends_at_the_cap(server: RecordingServer) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        with_comma = b'{"pad": "' + b"x" * 65536
        await response.write(with_comma)
        while True:  # never ends; the client hangs up
            await response.write(b"x" * 65536)

    server.default = handler
    async with _client(server, max_response_bytes=1 << 20, timeout=300) as clerk:
        with pytest.raises(ClerkResponseValidationError, match=r"\(1,048,576 bytes\)"):
            await clerk.machines.get(MID)


async def test_the_cap_is_exact(server: RecordingServer) -> None:
    body = machine_json(MID)
    size = len(json.dumps(body).encode())  # what web.json_response sends
    server.reply(200, body)
    server.reply(200, body)
    async with _client(server, max_response_bytes=size) as clerk:
        assert (await clerk.machines.get(MID)).id == MID
    async with _client(server, max_response_bytes=size - 1) as clerk:
        with pytest.raises(ClerkResponseValidationError):
            await clerk.machines.get(MID)


def test_max_response_bytes_is_checked() -> None:
    for bad in (0, -1, True, 1.5, "16MiB"):
        with pytest.raises(ClerkConfigError, match="max_response_bytes"):
            Clerk(KEY, max_response_bytes=bad)  # type: ignore[arg-type]


# --- 2. no secret in any message ---------------------------------------------------------

SECRET = "ak_live_0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(b'{"secret_key": "' + SECRET.encode() + b'", oops', id="not-json"),
        pytest.param(
            b'{"object": "machine", "id": 5, "secret_key": "' + SECRET.encode() + b'"}',
            id="wrong-shape",
        ),
        pytest.param(b"[" + b'"' + SECRET.encode() + b'"]', id="an-array"),
    ],
)
async def test_a_bad_create_answer_never_shows_the_secret(
    server: RecordingServer, answer: bytes
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=answer, content_type="application/json")

    server.default = handler
    async with _client(server) as clerk:
        with pytest.raises(ClerkResponseValidationError) as info:
            await clerk.machines.create(name="billing")
    error = info.value
    for text in (str(error), repr(error), repr(error.args)):
        assert SECRET not in text
        assert "0123456789abcdef" not in text
    assert error.body == answer  # kept for whoever needs it


async def test_a_secret_of_the_wrong_type_is_named_not_shown(server: RecordingServer) -> None:
    server.reply(200, {"object": "machine_secret_key", "secret": [SECRET]})
    async with _client(server) as clerk:
        with pytest.raises(ClerkResponseValidationError) as info:
            await clerk.machines.get_secret_key(MID)
    assert str(info.value) == (
        "200 answer does not fit MachineSecretKey: expected a string, got an array @ answer.secret"
    )


# --- 3. the 429 pause holds for every request -------------------------------------------


class Arrivals:
    """A server that answers the first request 429 and records what arrives after it."""

    def __init__(self, server: RecordingServer, retry_after: str) -> None:
        self.loop = asyncio.get_running_loop()
        self.answered_429_at: float | None = None
        self.in_window = 0
        self.retry_after = float(retry_after)
        server.default = self.handle
        self._header = retry_after

    async def handle(self, request: web.Request) -> web.StreamResponse:
        now = self.loop.time()
        if self.answered_429_at is None:
            self.answered_429_at = now
            return web.json_response(
                clerk_errors("too_many_requests", "slow down"),
                status=429,
                headers={"Retry-After": self._header},
            )
        if now < self.answered_429_at + self.retry_after:
            self.in_window += 1
        await asyncio.sleep(0.001)
        return web.json_response(machine_json(MID))


@pytest.mark.parametrize("max_connections", [10, 100])
async def test_no_queued_call_goes_out_inside_the_retry_after_window(
    server: RecordingServer, max_connections: int
) -> None:
    arrivals = Arrivals(server, "1")
    async with _client(
        server, max_connections=max_connections, retry=RetryPolicy(max_retries=3)
    ) as clerk:
        results = await asyncio.gather(
            *(clerk.machines.update(MID, name=f"n{i}") for i in range(1000)),
            return_exceptions=True,
        )
    assert all(not isinstance(r, BaseException) for r in results)
    # Only what was already handed to a connection when the 429 came back may arrive.
    assert arrivals.in_window <= max_connections - 1


async def test_an_unretried_429_still_pauses_its_endpoint(server: RecordingServer) -> None:
    server.reply(429, clerk_errors("too_many_requests", "slow down"), headers={"Retry-After": "30"})
    async with _client(server, max_retries=0, deadline=5) as clerk:
        with pytest.raises(RateLimitError) as first:
            await clerk.machines.update(MID, name="a")
        assert first.value.retry_after == 30
        with pytest.raises(RateLimitError, match="not sent: an earlier 429 paused") as second:
            await clerk.machines.update(MID, name="b")  # 30 s cannot fit a 5 s deadline
        assert second.value.retry_after is not None
        assert 25 < second.value.retry_after <= 30
        assert (await clerk.machines.get(MID)).id == MID  # another endpoint is not paused
    assert [r.method for r in server.requests] == ["PATCH", "GET"]


async def test_a_retry_after_beyond_the_policy_pauses_and_fails_at_once(
    server: RecordingServer,
) -> None:
    server.reply(429, clerk_errors("too_many_requests", "hourly"), headers={"Retry-After": "3600"})
    async with _client(server) as clerk:
        with pytest.raises(RateLimitError):
            await clerk.machines.create(name="a")
        with pytest.raises(RateLimitError, match="not sent"):
            await clerk.machines.create(name="b")
    assert len(server.requests) == 1


# --- 4. answers are checked, not coerced -------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("name", None, "expected a string, got null @ answer.name"),
        ("name", ["x"], "expected a string, got an array @ answer.name"),
        ("default_token_ttl", 3600.9, "expected an integer, got a number"),
        ("default_token_ttl", True, "expected an integer, got a boolean"),
        ("created_at", "1754938436732", "expected an integer, got a string"),
        ("scoped_machines", "abc", "expected an array, got a string"),
        ("scoped_machines", [7], "expected an object, got a number @ answer.scoped_machines[0]"),
    ],
)
async def test_a_wrong_json_type_is_an_error_naming_the_field(
    server: RecordingServer, field: str, value: Any, expected: str
) -> None:
    server.reply(200, machine_json(MID, **{field: value}))
    async with _client(server) as clerk:
        with pytest.raises(ClerkResponseValidationError, match=expected.replace("[", r"\[")):
            await clerk.machines.get(MID)


async def test_whole_floats_nulls_and_unknown_fields_are_accepted(
    server: RecordingServer,
) -> None:
    server.reply(200, machine_json(MID, default_token_ttl=3600.0, brand_new_field={"a": 1}))
    server.reply(200, machine_json(MID, default_token_ttl=None))
    async with _client(server) as clerk:
        assert (await clerk.machines.get(MID)).default_token_ttl == 3600
        assert (await clerk.machines.get(MID)).default_token_ttl is None


async def test_booleans_are_never_read_from_strings(server: RecordingServer) -> None:
    token = {
        "object": "machine_to_machine_token",
        "id": "mt_f7f0ba8c3b4843ce7d85fcdd5e71853e",
        "subject": MID,
        "revoked": "false",
        "expired": False,
        "created_at": 1.7e12,  # the spec types timestamps `number`: any number fits
        "updated_at": 1716883200000,
        "scopes": [],
    }
    server.reply(200, token)
    async with _client(server) as clerk:
        with pytest.raises(ClerkResponseValidationError, match="expected a boolean, got a string"):
            await clerk.m2m.verify_token(token="mt_x", machine_secret_key="ak_x")


# --- 7. an injected session closed by its owner -------------------------------------------


async def test_a_closed_injected_session_is_a_client_state_error(
    server: RecordingServer,
) -> None:
    session = aiohttp.ClientSession()
    async with _client(server, session=session) as clerk:
        assert (await clerk.machines.get(MID)).id == MID
        await session.close()
        with pytest.raises(ClientStateError, match="closed by its owner"):
            await clerk.machines.get(MID)


# --- 8. exceptions pickle ---------------------------------------------------------------


def test_every_error_survives_pickle() -> None:
    headers = CIMultiDict({"Retry-After": "3", "X-Clerk-Trace-Id": "t1"})
    api = error_from_response(404, headers, b'{"errors":[{"code":"gone","message":"no"}]}')
    limited = error_from_response(429, headers, b"")
    errors: list[Exception] = [
        api,
        limited,
        RateLimitError.paused("PATCH /machines/{machine_id}", 12.5),
        ClerkValidationError("name", "must not be empty"),
        ClerkConfigError("secret_key", "missing"),
        ClerkResponseValidationError("bad", status=200, body=b"{}"),
        ClerkTimeoutError("slow"),
        ClerkConnectionError("refused"),
        ClientStateError("closed"),
    ]
    for error in errors:
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert str(copy) == str(error)
        assert copy.__dict__ == error.__dict__
    copy = pickle.loads(pickle.dumps(api))
    assert isinstance(copy, NotFoundError)
    assert (copy.status, copy.code, copy.clerk_trace_id) == (404, "gone", "t1")
    assert copy.headers["retry-after"] == "3"
    field = pickle.loads(pickle.dumps(ClerkValidationError("name", "too long")))
    assert (field.field, field.reason) == ("name", "too long")
    assert pickle.loads(pickle.dumps(limited)).retry_after == 3


# --- 9. Retry-After edge cases ----------------------------------------------------------


@pytest.mark.parametrize("retry_after", [0.0, None])
def test_retry_after_zero_waits_at_least_the_backoff(retry_after: float | None) -> None:
    policy = RetryPolicy(initial_delay=0.5, jitter=0.0)
    assert policy.decide(0, Outcome(429, retry_after=retry_after), rand=lambda: 0.0) == 0.5
    assert policy.decide(2, Outcome(429, retry_after=retry_after), rand=lambda: 0.0) == 2.0


def test_a_503_retry_after_is_honoured_and_capped() -> None:
    policy = RetryPolicy(initial_delay=0.5, jitter=0.0, max_retry_after=10)
    assert policy.decide(0, Outcome(503, retry_after=4.0), rand=lambda: 0.0) == 4.0
    assert policy.decide(0, Outcome(503, retry_after=11.0), rand=lambda: 0.0) is None
    # Never for an unsafe operation: the 503 may have come after the change.
    assert policy.decide(0, Outcome(503, idempotent=False, retry_after=1.0)) is None


async def test_a_503_with_retry_after_is_retried_after_it(server: RecordingServer) -> None:
    server.reply(503, clerk_errors("unavailable", "busy"), headers={"Retry-After": "0.2"})
    policy = RetryPolicy(initial_delay=0.01, max_delay=0.01)
    async with _client(server, retry=policy) as clerk:
        assert (await clerk.machines.get(MID)).id == MID
    assert len(server.requests) == 2


# --- 10. what the deadline covers -------------------------------------------------------


async def test_the_deadline_bounds_the_wait_for_a_pooled_connection(
    server: RecordingServer,
) -> None:
    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.2)
        return web.json_response(machine_json(MID))

    server.default = slow
    async with _client(server, max_connections=1, deadline=0.5) as clerk:
        results = await asyncio.gather(
            *(clerk.machines.get(MID) for _ in range(20)), return_exceptions=True
        )
    queued = [
        r
        for r in results
        if "waiting for a pooled connection" in str(r) or "exceeded before attempt 1" in str(r)
    ]
    # One connection, 0.2 s an answer, 0.5 s for each call from its start: two answers, a
    # third call running out of time mid-answer, perhaps a fourth sent with a moment left
    # as the third gives up; every other call gives up unsent, while queueing or as it
    # gets the connection with no time left, within its deadline.
    assert len(server.requests) <= 4
    assert len(queued) == 20 - len(server.requests)
    assert all(isinstance(r, (Machine, ClerkTimeoutError)) for r in results)


# --- 11. timeout messages ---------------------------------------------------------------


async def test_a_timeout_says_which_limit_and_which_attempt(server: RecordingServer) -> None:
    server.reply(200, machine_json(MID), delay=5, times=2)
    policy = RetryPolicy(max_retries=1, initial_delay=0.01)
    async with _client(server, timeout=0.2, retry=policy) as clerk:
        with pytest.raises(ClerkTimeoutError) as info:
            await clerk.machines.get(MID)
    assert str(info.value) == (
        "GET /machines/{machine_id}: no answer within the 0.2s timeout (attempt 2 of 2)"
    )


async def test_a_read_timeout_is_named(server: RecordingServer) -> None:
    server.reply(200, machine_json(MID), delay=5)
    timeout = aiohttp.ClientTimeout(total=30, sock_read=0.2)
    async with _client(server, timeout=timeout, max_retries=0) as clerk:
        with pytest.raises(ClerkTimeoutError, match=r"no data for 0\.2s \(the read timeout\)"):
            await clerk.machines.get(MID)


# --- errors built from bodies stay typed -----------------------------------------------


async def test_an_html_error_page_keeps_its_class(server: RecordingServer) -> None:
    server.reply(502, text="<html>Bad gateway: Authorization: Bearer sk_test_secret123</html>")
    async with _client(server, max_retries=0) as clerk:
        with pytest.raises(InternalServerError) as info:
            await clerk.machines.get(MID)
    assert KEY not in str(info.value)
    assert isinstance(info.value, ClerkAPIError)


# --- 6. batches end cleanly -------------------------------------------------------------


async def test_aclose_from_another_task_ends_the_iteration(server: RecordingServer) -> None:
    release = asyncio.Event()
    all_in_flight = asyncio.Event()

    async def slow(request: web.Request) -> web.StreamResponse:
        if len(server.requests) == 32:  # every worker has a call in flight
            all_in_flight.set()
        await release.wait()
        return web.json_response(machine_json(MID))

    server.default = slow
    async with _client(server) as clerk:
        batch = clerk.machines.update_many((MID, {"name": "x"}) for _ in range(100))
        seen: list[object] = []

        async def consume() -> None:
            async for result in batch:
                seen.append(result)

        consumer = asyncio.ensure_future(consume())
        await asyncio.wait_for(all_in_flight.wait(), 30)
        await batch.aclose()
        await asyncio.wait_for(consumer, 10)  # ends, instead of waiting forever
        release.set()
    assert seen == []


async def test_break_without_async_with_stops_the_workers(server: RecordingServer) -> None:
    async with _client(server) as clerk:
        batch = clerk.machines.update_many(
            ((MID, {"name": f"n{i}"}) for i in range(10_000)), concurrency=16
        )
        async for _result in batch:
            break
        sent_at_break = len(server.requests)
        for _ in range(20):  # let the loop finalize the abandoned iterator, and more
            await asyncio.sleep(0.01)
        assert batch._workers == []
        settled = len(server.requests)
        await asyncio.sleep(0.2)
    # Only the calls in flight at the break (at most one per worker) were still sent.
    assert settled - sent_at_break <= 16
    assert len(server.requests) == settled


async def test_a_body_over_a_mebibyte_is_sent_whole_and_resent_on_retry(
    server: RecordingServer,
) -> None:
    server.reply(503, clerk_errors("unavailable", "busy"))
    claims = {"blob": "x" * (3 << 20)}
    async with _client(server, retry=RetryPolicy(initial_delay=0.01, max_delay=0.01)) as clerk:
        await clerk.request("PATCH", f"/machines/{MID}", json=claims)  # no ResourceWarning
    assert len(server.requests) == 2
    assert [json.loads(r.body) for r in server.requests] == [claims] * 2
