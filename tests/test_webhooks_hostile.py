"""Webhooks under hostile input (issue 23 item 7): whatever the headers and body are, the answer
is a WebhookVerificationError with a reason, never a foreign exception; and replay protection,
in memory and through a real redis-server shared by two clients."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict

from clerk_async.webhooks import (
    TOLERANCE_SECONDS,
    MemoryReplayGuard,
    RedisReplayGuard,
    UserCreatedEvent,
    WebhookVerificationError,
    sign,
    verify,
    verify_once,
)
from tests._redis import RedisServer, needs_redis_server, redis_server  # noqa: F401
from tests._webhook_corpus import example

SECRET = "whsec_" + base64.b64encode(b"test_signing_secret_32_chars_long").decode()
BODY = json.dumps(
    {
        "type": "user.created",
        "object": "event",
        "timestamp": 1716883200,
        "instance_id": "ins_123",
        "data": {**example("user.created")["data"], "id": "user_1"},
    }
).encode()
NOW = 1_800_000_000
SIGNED: dict[str, Any] = sign(BODY, secret=SECRET, timestamp=NOW)


def reason_of(body: Any, headers: Any, **kwargs: Any) -> str:
    with pytest.raises(WebhookVerificationError) as caught:
        verify(body, headers, secret=SECRET, now=NOW, **kwargs)
    return caught.value.reason


@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        (BODY, None, "headers-invalid"),
        (BODY, list(sign(BODY, secret=SECRET, timestamp=NOW).items()), "headers-invalid"),
        (BODY, "svix-id: msg_1", "headers-invalid"),
        (BODY, {**SIGNED, "svix-id": 1}, "headers-invalid"),
        (BODY, {**SIGNED, "svix-id": ["msg_1"]}, "headers-invalid"),
        (BODY, {**SIGNED, "svix-signature": b"\xff"}, "signature-mismatch"),
        (None, sign(BODY, secret=SECRET, timestamp=NOW), "body-invalid"),
        (12, sign(BODY, secret=SECRET, timestamp=NOW), "body-invalid"),
        ({"type": "user.created"}, sign(BODY, secret=SECRET, timestamp=NOW), "body-invalid"),
        ("\ud800", sign(BODY, secret=SECRET, timestamp=NOW), "body-invalid"),
    ],
)  # fmt: skip
def test_odd_arguments_are_refused_with_a_reason(body: Any, headers: Any, reason: str) -> None:
    assert reason_of(body, headers) == reason


def test_an_undecodable_svix_id_is_refused_with_a_reason() -> None:
    headers = sign(BODY, secret=SECRET, timestamp=NOW)
    # aiohttp decodes header bytes as UTF-8 with surrogateescape: \xff arrives as \udcff.
    assert reason_of(BODY, {**headers, "svix-id": "msg_\udcff\udcfe"}) == "headers-invalid"
    # Raw header bytes (ASGI) are read as Latin-1 and still verify when they are ASCII.
    raw = CIMultiDict({k: v.encode() for k, v in headers.items()})
    assert isinstance(verify(BODY, raw, secret=SECRET, now=NOW), UserCreatedEvent)


async def test_an_aiohttp_receiver_answers_400_to_undecodable_ids() -> None:
    """100 deliveries with a non-UTF-8 svix-id to a real aiohttp server: 400 each, no 500."""

    async def receive(request: web.Request) -> web.Response:
        try:
            event = verify(await request.read(), request.headers, secret=SECRET)
        except WebhookVerificationError as exc:
            return web.Response(status=400, text=exc.reason)
        return web.Response(text=event.type)

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    statuses: list[bytes] = []
    try:
        for i in range(100):
            headers = sign(BODY, secret=SECRET)
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            head = (
                b"POST /hook HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                b"svix-id: msg_\xff\xfe" + str(i).encode() + b"\r\n"
                b"svix-timestamp: " + headers["svix-timestamp"].encode() + b"\r\n"
                b"svix-signature: " + headers["svix-signature"].encode() + b"\r\n"
                b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n"
            )
            writer.write(head + BODY)
            answer = await reader.read()
            writer.close()
            statuses.append(answer.split(b" ", 2)[1])
            assert answer.endswith(b"headers-invalid")
    finally:
        await runner.cleanup()
    assert statuses == [b"400"] * 100


HEADER_VALUES = st.one_of(
    st.text(max_size=20),
    st.binary(max_size=20),
    st.none(),
    st.integers(),
    st.lists(st.text(max_size=3), max_size=2),
    st.sampled_from([str(NOW), "v1,abc", "msg_1", " ", "\udcff"]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    headers=st.dictionaries(
        st.sampled_from(["svix-id", "svix-timestamp", "svix-signature", "webhook-id", "SVIX-ID"]),
        HEADER_VALUES,
    ),
    body=st.one_of(st.binary(max_size=40), st.text(max_size=40), st.none(), st.integers()),
)
def test_any_headers_and_body_give_a_reason(headers: dict[str, Any], body: Any) -> None:
    with pytest.raises(WebhookVerificationError):
        verify(body, headers, secret=SECRET, now=NOW)


# --- replay protection ---------------------------------------------------------------------


async def test_a_delivery_is_accepted_once_in_memory() -> None:
    guard = MemoryReplayGuard()
    headers = sign(BODY, secret=SECRET, msg_id="msg_1", timestamp=NOW)
    event = await verify_once(BODY, headers, replay_guard=guard, secret=SECRET, now=NOW)
    assert isinstance(event, UserCreatedEvent)
    with pytest.raises(WebhookVerificationError) as caught:
        await verify_once(BODY, headers, replay_guard=guard, secret=SECRET, now=NOW + 10)
    assert caught.value.reason == "replayed"
    # The same id signed anew (another timestamp) within the tolerance: refused too.
    later = sign(BODY, secret=SECRET, msg_id="msg_1", timestamp=NOW + 20)
    with pytest.raises(WebhookVerificationError, match="replayed"):
        await verify_once(BODY, later, replay_guard=guard, secret=SECRET, now=NOW + 20)
    # Once the first delivery can no longer verify, its id is free again (a late retry).
    after = NOW + TOLERANCE_SECONDS + 1
    retry = sign(BODY, secret=SECRET, msg_id="msg_1", timestamp=after)
    assert await verify_once(BODY, retry, replay_guard=guard, secret=SECRET, now=after)
    # forget(): the handling failed, Svix's retry must be accepted.
    await guard.forget("msg_1")
    assert await verify_once(BODY, retry, replay_guard=guard, secret=SECRET, now=after)


async def test_a_forged_delivery_burns_no_id() -> None:
    guard = MemoryReplayGuard()
    headers = sign(BODY, secret=SECRET, msg_id="msg_1", timestamp=NOW)
    forged = {**headers, "svix-signature": "v1," + base64.b64encode(b"x" * 32).decode()}
    for bad_body, bad_headers in ((BODY, forged), (BODY + b" ", headers)):
        with pytest.raises(WebhookVerificationError, match="signature-mismatch"):
            await verify_once(bad_body, bad_headers, replay_guard=guard, secret=SECRET, now=NOW)
    assert await verify_once(BODY, headers, replay_guard=guard, secret=SECRET, now=NOW)


async def test_the_memory_guard_is_bounded() -> None:
    guard = MemoryReplayGuard(max_ids=3)
    for i in range(10):
        assert await guard.first_delivery(f"msg_{i}", NOW + 300, NOW)
    assert len(guard._expiries) == 3
    assert not await guard.first_delivery("msg_9", NOW + 300, NOW)  # the newest are kept


@pytest.fixture
async def shared(redis_server: RedisServer) -> AsyncIterator[tuple[RedisReplayGuard, ...]]:  # noqa: F811
    # Two guards, each with its own connections: two processes receiving the same endpoint.
    first, second = RedisReplayGuard(redis_server.url), RedisReplayGuard(redis_server.url)
    yield first, second
    await first.aclose()
    await second.aclose()


@needs_redis_server
async def test_a_delivery_is_accepted_once_across_processes_through_redis(
    shared: tuple[RedisReplayGuard, RedisReplayGuard],
    redis_server: RedisServer,  # noqa: F811
) -> None:
    first, second = shared
    headers = sign(BODY, secret=SECRET, msg_id="msg_shared")
    assert await verify_once(BODY, headers, replay_guard=first, secret=SECRET)
    with pytest.raises(WebhookVerificationError, match="replayed"):
        await verify_once(BODY, headers, replay_guard=second, secret=SECRET)
    # The key expires with the delivery and holds no id in clear.
    keys = await first._redis.keys("clerk_async:webhooks:*")
    assert len(keys) == 1
    assert b"msg_shared" not in keys[0]
    ttl = await first._redis.pttl(keys[0])
    assert 0 < ttl <= (TOLERANCE_SECONDS + 1) * 1000
    await second.forget("msg_shared")
    assert await verify_once(BODY, headers, replay_guard=first, secret=SECRET)
    # Redis gone: the delivery is refused, never accepted unchecked.
    redis_server.kill()
    other = sign(BODY, secret=SECRET, msg_id="msg_other")
    with pytest.raises(WebhookVerificationError) as caught:
        await verify_once(BODY, other, replay_guard=first, secret=SECRET)
    assert caught.value.reason == "replay-check-unavailable"
