"""clerk.m2m.token_source against hostile receivers and answers (issue 23 item 9): a receiver
that refuses every token, a local clock far from Clerk's, absurd expirations, CR/LF tokens."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from clerk_async import Clerk, ClerkResponseValidationError
from clerk_async.m2m_source import MAX_HOLD_SECONDS, REFRESH_FRACTION, bearer_middleware
from clerk_async.testing import FakeClerk
from clerk_async.testing._store import MachineRecord
from tests._recorder import RecordingServer
from tests.test_m2m_source import CREATE, LIFETIME, MARGIN, Clock, mints

__all__ = ["fake"]


@pytest.fixture
async def fake() -> AsyncIterator[FakeClerk]:
    async with FakeClerk(rate_limit=None) as started:
        yield started


@pytest.fixture
def machine(fake: FakeClerk) -> MachineRecord:
    return fake.add_machine("billing", default_token_ttl=LIFETIME)


@pytest.fixture
async def clerk(fake: FakeClerk, machine: MachineRecord) -> AsyncIterator[Clerk]:
    async with fake.client(machine_secret_key=machine.secret_key, max_retries=0) as client:
        yield client


class SkewedClock(Clock):
    """The source's clock, ``offset`` seconds from FakeClerk's (which is Clerk's)."""

    def __init__(self, fake: FakeClerk, offset: float) -> None:
        super().__init__(fake)
        self.now += offset


async def test_a_receiver_refusing_every_token_does_not_make_every_request_mint(
    fake: FakeClerk, clerk: Clerk
) -> None:
    async def refuse(request: web.Request) -> web.StreamResponse:
        return web.Response(status=401)

    receiver = RecordingServer()
    receiver.default = refuse
    await receiver.start()
    clock = Clock(fake)
    source = clerk.m2m.token_source(clock=clock)
    try:
        async with aiohttp.ClientSession(middlewares=[bearer_middleware(source)]) as http:
            for _ in range(100):
                async with http.get(receiver.url + "/reports") as answer:
                    assert answer.status == 401
            # One mint, and one refresh after the first 401; then the token is kept.
            assert mints(fake) == 2
            clock.advance(LIFETIME * REFRESH_FRACTION)  # a tenth of a lifetime on: one more
            for _ in range(100):
                async with http.get(receiver.url + "/reports") as answer:
                    assert answer.status == 401
            assert mints(fake) == 3
    finally:
        await receiver.close()
    assert len(receiver.requests) == 400  # each request and its one retry


@pytest.mark.parametrize("offset", [7200.0, -7200.0, LIFETIME - MARGIN / 2])
async def test_a_skewed_local_clock_neither_mints_every_call_nor_raises(
    fake: FakeClerk, clerk: Clerk, offset: float
) -> None:
    clock = SkewedClock(fake, offset)
    source = clerk.m2m.token_source(min_remaining=MARGIN, clock=clock)
    first = {await source.token() for _ in range(100)}
    assert len(first) == 1
    assert mints(fake) == 1
    clock.advance(LIFETIME - MARGIN - 1)  # 61 s left: kept
    assert {await source.token() for _ in range(10)} == first
    clock.advance(2)  # 59 s left: the next one
    second = await source.token()
    assert second not in first
    assert mints(fake) == 2


async def test_opaque_tokens_clerk_hands_back_are_held_for_what_they_have_left(
    fake: FakeClerk, machine: MachineRecord
) -> None:
    clock = Clock(fake)
    async with fake.client(machine_secret_key=machine.secret_key) as one:
        early = one.m2m.token_source(token_format="opaque", clock=clock)
        token = await early.token()
        clock.advance(1000)
        late = one.m2m.token_source(token_format="opaque", clock=clock)
        assert await late.token() == token  # Clerk reused it: 2600 s left, not 3600
        assert late.expires_at == pytest.approx(early.expires_at, abs=1)


def token_answer(**changes: Any) -> dict[str, Any]:
    now_ms = int(time.time() * 1000)
    answer = {
        "object": "machine_to_machine_token",
        "id": "mt_id_1",
        "subject": "mch_1",
        "revoked": False,
        "expired": False,
        "created_at": now_ms,
        "updated_at": now_ms,
        "expiration": now_ms + 3_600_000,
        "token": "mt_" + "a" * 32,
    }
    return {**answer, **changes}


@pytest.fixture
async def server() -> AsyncIterator[RecordingServer]:
    started = RecordingServer()
    await started.start()
    yield started
    await started.close()


async def test_absurd_or_missing_expirations_are_bounded(server: RecordingServer) -> None:
    now_ms = int(time.time() * 1000)
    async with Clerk(
        "sk_test_x", base_url=server.url, max_retries=0, machine_secret_key="ak_x"
    ) as clerk:
        for expiration in (None, now_ms + 10**15):
            server.reply(200, token_answer(expiration=expiration))
            source = clerk.m2m.token_source()
            await source.token()
            assert source.expires_at is not None
            assert source.expires_at - time.time() <= MAX_HOLD_SECONDS
        server.reply(200, token_answer(expiration=now_ms - 1000))
        with pytest.raises(ClerkResponseValidationError, match="expiration before"):
            await clerk.m2m.token_source().token()
    assert [(r.method, r.raw_path) for r in server.requests] == [CREATE] * 3


@pytest.mark.parametrize(
    "token", ["mt_abc\r\nX-Evil: 1", "mt_abc\n", "mt_\rabc", "mt_a b", "mt_\x00", "mt_é", ""]
)
async def test_a_token_no_header_can_carry_is_a_response_error(
    server: RecordingServer, token: str
) -> None:
    server.reply(200, token_answer(token=token))
    async with Clerk(
        "sk_test_x", base_url=server.url, max_retries=0, machine_secret_key="ak_x"
    ) as clerk:
        with pytest.raises(ClerkResponseValidationError) as caught:
            await clerk.m2m.token_source().token()
    assert json.dumps(token)[1:-1] not in str(caught.value) or not token
