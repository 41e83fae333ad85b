"""clerk.m2m.token_source against FakeClerk over real HTTP, on a fake clock.

The source's clock and FakeClerk's are moved together (``Clock.advance``), so tokens
expire without sleeping. Mints are counted where they cost: FakeClerk's count of
``POST /v1/m2m_tokens`` requests, and its store of opaque tokens.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from clerk_async import Clerk, ClerkAPIError, ClerkConfigError, ClerkValidationError
from clerk_async.auth import M2MAuth
from clerk_async.m2m_source import M2MTokenSource
from clerk_async.testing import FakeClerk, Faults
from clerk_async.testing._store import MachineRecord

CREATE = ("POST", "/v1/m2m_tokens")
LIFETIME = 3600  # the machines' default token lifetime
MARGIN = 60.0


class Clock:
    """A wall clock that only moves when told, and moves FakeClerk's with it."""

    def __init__(self, fake: FakeClerk) -> None:
        self.now = time.time()
        self._fake = fake

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self._fake.advance_time(seconds)


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


def mints(fake: FakeClerk) -> int:
    return fake.stats.requests[CREATE]


async def test_10000_concurrent_calls_per_lifetime_mint_one_token_each(
    fake: FakeClerk, clerk: Clerk
) -> None:
    clock = Clock(fake)
    source = clerk.m2m.token_source(min_remaining=MARGIN, clock=clock)
    seen: list[str] = []
    for lifetime in range(3):
        start = clock.now
        # 100 moments across the token's usable life (0 s to 3465 s of its 3540 s), each
        # with 100 concurrent callers: 10,000 calls, the first 100 while the mint is on.
        tokens: set[str] = set()
        for step in range(100):
            clock.advance(start + step * 35 - clock.now)
            tokens |= set(await asyncio.gather(*(source.token() for _ in range(100))))
        assert len(tokens) == 1
        assert mints(fake) == lifetime + 1
        seen.append(tokens.pop())
        clock.advance(start + LIFETIME - MARGIN + 1 - clock.now)  # 59 s left: the next mints
    assert len(set(seen)) == 3
    assert source.mints == 3


async def test_10000_callers_at_once_share_one_mint(fake: FakeClerk, clerk: Clerk) -> None:
    source = clerk.m2m.token_source(token_format="opaque", clock=Clock(fake))
    tokens = await asyncio.gather(*(source.token() for _ in range(10_000)))
    assert len(set(tokens)) == 1
    assert mints(fake) == 1
    assert [t.token for t in fake.m2m_tokens.values()] == [tokens[0]]


async def test_expiry_mints_when_less_than_the_margin_is_left(
    fake: FakeClerk, clerk: Clerk
) -> None:
    clock = Clock(fake)
    source = clerk.m2m.token_source(seconds_until_expiration=600, min_remaining=100, clock=clock)
    first = await source.token()
    assert source.expires_at == pytest.approx(clock.now + 600, abs=1)
    clock.advance(499)  # 101 s left
    assert await source.token() == first
    clock.advance(2)  # 99 s left
    second = await source.token()
    assert second != first
    assert mints(fake) == 2
    sent = [r.json for r in fake.requests if (r.method, r.path) == CREATE]
    assert sent == [{"token_format": "jwt", "seconds_until_expiration": 600}] * 2


async def test_a_failed_mint_raises_to_every_waiter_and_the_next_call_retries(
    fake: FakeClerk, clerk: Clerk
) -> None:
    source = clerk.m2m.token_source(clock=Clock(fake))
    fake.faults = Faults(error_rate=1.0, error_statuses=(503,), error_after_apply_fraction=0.0)
    results = await asyncio.gather(*(source.token() for _ in range(500)), return_exceptions=True)
    assert all(isinstance(r, ClerkAPIError) and r.status == 503 for r in results)
    assert len({id(r) for r in results}) == 1  # one mint, its error to all
    assert mints(fake) == 1
    fake.faults = Faults()
    token = await source.token()
    assert await source.token() == token
    assert mints(fake) == 2


async def test_a_cancelled_waiter_does_not_cancel_the_shared_mint(
    fake: FakeClerk, clerk: Clerk
) -> None:
    source = clerk.m2m.token_source(clock=Clock(fake))
    fake.faults = Faults(delay_rate=1.0, delay_seconds=0.2)
    first = asyncio.create_task(source.token())
    others = [asyncio.create_task(source.token()) for _ in range(10)]
    await asyncio.sleep(0)
    first.cancel()
    tokens = await asyncio.gather(*others)
    assert first.cancelled()
    assert len(set(tokens)) == 1
    assert mints(fake) == 1


async def test_refresh_replaces_a_rejected_token_once(fake: FakeClerk, clerk: Clerk) -> None:
    source = clerk.m2m.token_source(clock=Clock(fake))
    rejected = await source.token()
    replaced = await asyncio.gather(*(source.refresh(rejected) for _ in range(50)))
    assert len(set(replaced)) == 1
    assert replaced[0] != rejected
    assert mints(fake) == 2
    assert await source.refresh(rejected) == replaced[0]  # already replaced: no mint
    assert mints(fake) == 2


async def test_opaque_sources_of_separate_processes_share_one_token(
    fake: FakeClerk, machine: MachineRecord
) -> None:
    clock = Clock(fake)
    clients = [fake.client(machine_secret_key=machine.secret_key) for _ in range(3)]
    try:
        sources = [c.m2m.token_source(token_format="opaque", clock=clock) for c in clients]
        tokens = {await s.token() for s in sources}
        assert len(tokens) == 1
        assert len(fake.m2m_tokens) == 1  # three create calls, one token minted
        clock.advance(LIFETIME - MARGIN + 1)
        tokens = {await s.token() for s in sources}
        assert len(tokens) == 1
        assert len(fake.m2m_tokens) == 2
        assert mints(fake) == 6
    finally:
        for c in clients:
            await c.aclose()
    sent = [r.json for r in fake.requests if (r.method, r.path) == CREATE]
    assert sent[0] == {"token_format": "opaque", "min_remaining_ttl_seconds": 60}


async def test_claims_and_the_machine_key_of_the_call(
    fake: FakeClerk, machine: MachineRecord
) -> None:
    other = fake.add_machine("other")
    async with fake.client(max_retries=0) as clerk:  # no machine key on the client
        source = clerk.m2m.token_source(
            machine_secret_key=other.secret_key, claims={"tier": "gold"}, clock=Clock(fake)
        )
        auth = await clerk.verify_token(await source.token(), accepts_token="m2m_token")
        assert isinstance(auth, M2MAuth)
        assert auth.machine_id == other.id
        assert auth.claims is not None
        assert auth.claims["tier"] == "gold"
        with pytest.raises(ClerkConfigError, match="machine_secret_key"):
            await clerk.m2m.token_source().token()


async def test_bad_settings_are_refused_before_any_request(fake: FakeClerk, clerk: Clerk) -> None:
    with pytest.raises(ClerkConfigError, match="min_remaining") as caught:
        clerk.m2m.token_source(seconds_until_expiration=60, min_remaining=60)
    assert "seconds_until_expiration" in str(caught.value)
    with pytest.raises(ClerkConfigError, match="min_remaining"):
        clerk.m2m.token_source(
            token_format="opaque", seconds_until_expiration=60, min_remaining=59.5
        )
    with pytest.raises(ClerkConfigError, match="min_remaining"):
        clerk.m2m.token_source(min_remaining=-1)
    with pytest.raises(ClerkConfigError, match="min_remaining"):
        clerk.m2m.token_source(min_remaining=float("nan"))
    with pytest.raises(ClerkValidationError, match="seconds_until_expiration"):
        clerk.m2m.token_source(seconds_until_expiration=-5, min_remaining=0)
    with pytest.raises(ClerkValidationError, match="claims"):
        clerk.m2m.token_source(claims={"when": object()})
    with pytest.raises(ClerkConfigError, match="token_format"):
        clerk.m2m.token_source(token_format="paseto")  # type: ignore[arg-type]
    assert mints(fake) == 0


async def test_a_machine_lifetime_shorter_than_the_margin_is_an_error_not_a_mint_loop(
    fake: FakeClerk,
) -> None:
    short = fake.add_machine("short", default_token_ttl=30)
    async with fake.client(machine_secret_key=short.secret_key) as clerk:
        source = clerk.m2m.token_source(min_remaining=MARGIN, clock=Clock(fake))
        with pytest.raises(ClerkConfigError, match="less than min_remaining"):
            await source.token()


async def test_repr_shows_no_token_or_key(
    fake: FakeClerk, clerk: Clerk, machine: MachineRecord
) -> None:
    source = clerk.m2m.token_source(machine_secret_key=machine.secret_key, clock=Clock(fake))
    token = await source.token()
    assert isinstance(source, M2MTokenSource)
    for text in (repr(source), str(source)):
        assert token not in text
        assert machine.secret_key not in text
        assert "jwt" in text
