"""Request authentication under attack (issue 23 item 8), over real HTTP against FakeClerk:
opaque tokens have their own budget and a negative cache and never starve the app's calls;
JWKS fetches have a short deadline; JWKS keys are bounded and big key sets parsed off the loop.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from clerk_async import Clerk, RateLimit
from clerk_async.auth import TokenVerificationError, _keys, _verifier
from clerk_async.testing import FakeClerk, Faults
from tests._recorder import RecordingServer

VERIFY_KEY = ("POST", "/v1/api_keys/verify")
VERIFY_M2M = ("POST", "/v1/m2m_tokens/verify")


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
async def fake() -> AsyncIterator[FakeClerk]:
    async with FakeClerk(rate_limit=None) as started:
        yield started


async def outcomes(clerk: Clerk, tokens: list[str]) -> dict[str, int]:
    results = await asyncio.gather(
        *(clerk.verify_token(t, accepts_token="any") for t in tokens), return_exceptions=True
    )
    counted: dict[str, int] = {}
    for result in results:
        assert isinstance(result, TokenVerificationError), result
        counted[result.reason] = counted.get(result.reason, 0) + 1
    return counted


async def test_a_garbage_token_flood_takes_a_share_of_the_limit_not_all_of_it(
    fake: FakeClerk,
) -> None:
    """300 made-up API keys at once, on a client paced at 100 per 10 s: before, each was a
    call queued in the app's limiter (the app's next call waited ~30 s behind them)."""
    async with fake.client(rate_limit=RateLimit(100, 10), max_retries=0) as clerk:
        budget = clerk._authenticator.opaque_budget
        assert (budget.calls, budget.per_seconds) == (25, 10)
        tokens = [f"ak_garbage{i:04d}" for i in range(300)]
        assert await outcomes(clerk, tokens) == {
            "token-invalid": 25,
            "token-verification-throttled": 275,
        }
        assert fake.stats.requests[VERIFY_KEY] == 25
        # Three quarters of the window are left to the app: its calls are let through now.
        limiter = clerk._transport.limiter
        taken = [limiter.try_acquire("GET /machines", None) for _ in range(75)]
        assert all(taken)
        for _ in taken:
            limiter.release(sent=False, key=None)
        assert (await clerk.machines.list()).total_count == 0


async def test_a_refused_token_is_refused_again_without_a_call(fake: FakeClerk) -> None:
    async with fake.client(max_retries=0) as clerk:
        clock = Clock()
        clerk._authenticator.refused.clock = clock
        token = "mt_" + "x" * 40
        for _ in range(50):
            with pytest.raises(TokenVerificationError, match="not found"):
                await clerk.verify_token(token, accepts_token="m2m_token")
        assert fake.stats.requests[VERIFY_M2M] == 1
        clock.t += _verifier.REFUSED_TTL  # remembered for REFUSED_TTL seconds, no longer
        with pytest.raises(TokenVerificationError):
            await clerk.verify_token(token, accepts_token="m2m_token")
        assert fake.stats.requests[VERIFY_M2M] == 2
        # The cache holds digests, never the token.
        assert all(token.encode() not in key for key in clerk._authenticator.refused._refused)


async def test_concurrent_verifications_of_one_token_share_one_call(fake: FakeClerk) -> None:
    machine = fake.add_machine("billing")
    async with fake.client(machine_secret_key=machine.secret_key) as as_machine:
        token = (await as_machine.m2m.create_token()).token
    assert token is not None
    async with fake.client(max_retries=0) as clerk:
        results = await asyncio.gather(
            *(clerk.verify_token(token, accepts_token="m2m_token") for _ in range(100))
        )
        assert {r.token_type for r in results} == {"m2m_token"}
        assert fake.stats.requests[VERIFY_M2M] == 1
        garbage = await outcomes(clerk, ["mt_" + "y" * 40] * 100)
        assert garbage == {"token-invalid": 100}
        assert fake.stats.requests[VERIFY_M2M] == 2


async def test_a_failure_of_clerk_is_not_remembered_as_a_refusal(fake: FakeClerk) -> None:
    async with fake.client(max_retries=0) as clerk:
        fake.faults = Faults(error_rate=1.0, error_statuses=(503,), error_after_apply_fraction=0)
        token = "ak_" + "z" * 40
        with pytest.raises(TokenVerificationError, match="status 503"):
            await clerk.verify_token(token, accepts_token="api_key")
        fake.faults = Faults()
        with pytest.raises(TokenVerificationError, match="not found"):
            await clerk.verify_token(token, accepts_token="api_key")
        assert fake.stats.requests[VERIFY_KEY] == 2
        assert len(clerk._authenticator.refused) == 1


def test_the_budget_slides() -> None:
    clock = Clock()
    budget = _verifier.Budget(3, 10.0, clock)
    assert [budget.take() for _ in range(4)] == [True, True, True, False]
    clock.t += 9.9
    assert not budget.take()
    clock.t += 0.1
    assert [budget.take() for _ in range(4)] == [True, True, True, False]


def test_the_verifier_sends_through_the_public_operations_only() -> None:
    source = inspect.getsource(_verifier)
    assert "_transport" not in source
    assert "TEMPORARY" not in source


# --- JWKS: its own deadline, bounded keys, big sets off the loop ----------------------------


async def test_a_hanging_jwks_holds_a_verification_for_its_own_deadline_only(
    fake: FakeClerk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_verifier, "JWKS_DEADLINE", 0.3)
    hang = asyncio.Event()

    async def never(request: web.Request) -> web.StreamResponse:
        await hang.wait()
        return web.Response()

    server = RecordingServer()
    server.default = never
    await server.start()
    try:
        # The client's own deadline (120 s) would hold the request far longer than this test.
        async with Clerk("sk_test_x", base_url=server.url, max_retries=0) as clerk:
            with pytest.raises(TokenVerificationError) as caught:
                await asyncio.wait_for(clerk.verify_token(fake.session_token("user_1")), 60)
        assert caught.value.reason == "jwk-remote-failed-to-load"
        assert "ClerkTimeoutError" in caught.value.message
    finally:
        hang.set()
        await server.close()


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _jwk(kid: str, n: int, e: int = 65537) -> dict[str, Any]:
    return {"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig", "n": _b64(n), "e": _b64(e)}


@pytest.fixture(scope="module")
def modulus() -> int:
    return rsa.generate_private_key(65537, 2048).public_key().public_numbers().n


def test_keys_are_bounded(modulus: int) -> None:
    huge = (1 << 9000) | 1  # an odd 9001-bit "modulus": refused before any key is built
    keys = [
        _jwk("good", modulus),
        _jwk("too-big", huge),
        _jwk("huge-exponent", modulus, 2**64 + 1),
        _jwk("even-exponent", modulus, 65536),
        _jwk("exponent-one", modulus, 1),
        {**_jwk("long-text", modulus), "n": "A" * 100_000 + _b64(modulus)},
    ]
    assert sorted(_keys.parse_jwks(keys)) == ["good"]


def test_more_keys_than_the_bound_are_ignored(modulus: int) -> None:
    keys = [_jwk(f"k{i}", modulus) for i in range(_keys.MAX_JWKS_KEYS + 50)]
    assert len(_keys.parse_jwks(keys)) == _keys.MAX_JWKS_KEYS


async def test_a_big_key_set_is_parsed_off_the_loop(
    modulus: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[threading.Thread] = []
    parse = _keys.parse_jwks

    def spy(keys: Any, known: Any = None) -> Any:
        threads.append(threading.current_thread())
        return parse(keys, known)

    monkeypatch.setattr(_keys, "parse_jwks", spy)
    big = [_jwk(f"k{i}", modulus) for i in range(50)]
    for answer in ([_jwk("k0", modulus)], big):

        async def fetch(answer: list[Any] = answer) -> list[Any]:
            return answer

        cache = _keys.JWKSCache(fetch)
        assert await cache.get("k0")
    assert threads[0] is threading.main_thread()
    assert threads[1] is not threading.main_thread()
