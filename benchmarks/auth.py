"""Networkless session-token verification: clerk_async vs the official SDK vs bare PyJWT.

    .venv/bin/python -m benchmarks.auth            # ~1 min
    .venv/bin/python -m benchmarks.auth --quick    # ~15 s

One process, one RS256 session token signed by a FakeClerk key, verified with that key as
PEM (``jwt_key``: no network). Rounds interleave the candidates; each round runs each
candidate for ``--seconds`` of CPU time (``time.process_time``, so other load on a shared
machine costs wall time, not the figure). The table gives the median over rounds of µs of
CPU per verification and verifications per CPU-second, and ratios to clerk_async:

- ``clerk_async``: ``await clerk.verify_token(token)`` on ``Clerk(jwt_key=PEM)`` (claims,
  categories and auth object included).
- ``official``: ``await clerk_backend_api.security.verify_token_async(token,
  VerifyTokenOptions(jwt_key=PEM))`` (installed on demand, like bench_update).
- ``pyjwt (key object)``: ``jwt.decode(token, key, algorithms=["RS256"])`` with the key
  parsed once: the bare-library floor the issue compares with.
- ``pyjwt (PEM)``: the same with the PEM string, parsed on every call (what passing a PEM
  to PyJWT costs).
- ``rsa verify only``: ``cryptography``'s RSA-PKCS1v15-SHA256 check of the signature alone:
  the cost no verifier can avoid.

Then the JWKS refresh throttle on the real clock: tokens with random kids against a
FakeClerk, as fast as they come for ``--flood`` seconds, and how many JWKS requests that
caused (a verifier without the throttle, like the JS SDK's, would make one per token).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from benchmarks.bench_update import ensure_official
from clerk_async import Clerk
from clerk_async.auth import TokenVerificationError
from clerk_async.testing import FakeClerk

Candidate = Callable[[], Awaitable[Any]]


async def run_for(candidate: Candidate, seconds: float) -> float:
    """µs of CPU per call, running ``candidate`` for about ``seconds`` of CPU."""
    calls = 0
    start = time.process_time()
    deadline = start + seconds
    while True:
        for _ in range(100):
            await candidate()
        calls += 100
        now = time.process_time()
        if now >= deadline:
            return (now - start) / calls * 1e6


def candidates(fake: FakeClerk, token: str, clerk: Clerk, install: bool) -> dict[str, Candidate]:
    pem = fake.jwt_key
    key = load_pem_public_key(pem.encode())
    head, _, sig = token.rpartition(".")
    signature = pyjwt.utils.base64url_decode(sig)
    pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()

    async def ours() -> Any:
        return await clerk.verify_token(token)

    async def pyjwt_key() -> Any:
        return pyjwt.decode(token, key, algorithms=["RS256"])  # type: ignore[arg-type]

    async def pyjwt_pem() -> Any:
        return pyjwt.decode(token, pem, algorithms=["RS256"])

    async def rsa_only() -> Any:
        key.verify(signature, head.encode(), pkcs1, sha256)  # type: ignore[union-attr, call-arg]

    found: dict[str, Candidate] = {"clerk_async": ours}
    if ensure_official(install):
        from clerk_backend_api.security import verify_token_async
        from clerk_backend_api.security.types import VerifyTokenOptions

        options = VerifyTokenOptions(jwt_key=pem)

        async def official() -> Any:
            return await verify_token_async(token, options)

        found["official"] = official
    found["pyjwt (key object)"] = pyjwt_key
    found["pyjwt (PEM)"] = pyjwt_pem
    found["rsa verify only"] = rsa_only
    return found


async def flood(fake: FakeClerk, seconds: float) -> tuple[int, int, float]:
    """Forged tokens with random kids, 100 at a time for ``seconds`` of wall time.

    Returns (tokens verified, JWKS fetches they caused, seconds elapsed).
    """
    rng = random.Random(0)
    pool = [
        fake.sign_jwt({"sub": "user_1", "exp": 2**31}, {"kid": f"ins_{rng.getrandbits(64):x}"})
        for _ in range(2_000)
    ]
    async with fake.client(max_retries=0) as clerk:
        await clerk.verify_token(fake.session_token("user_1"))  # the keys are cached
        before = fake.stats.requests["GET", "/v1/jwks"]
        start = time.perf_counter()
        count = 0
        while time.perf_counter() - start < seconds:
            batch = rng.sample(pool, 100)
            outcomes = await asyncio.gather(
                *(clerk.verify_token(t) for t in batch), return_exceptions=True
            )
            assert all(isinstance(o, TokenVerificationError) for o in outcomes)
            count += len(batch)
        elapsed = time.perf_counter() - start
        return count, fake.stats.requests["GET", "/v1/jwks"] - before, elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=1.0, help="CPU seconds per cell")
    parser.add_argument("--flood", type=float, default=21.0, help="seconds of flood (0: skip)")
    parser.add_argument("--quick", action="store_true", help="3 rounds of 0.5 s, 11 s of flood")
    parser.add_argument("--no-install", action="store_true", help="skip the official SDK if absent")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.flood = 3, 0.5, 11.0

    async with FakeClerk(rate_limit=None) as fake:
        token = fake.session_token("user_2GIpXOEpVyJw51rkZn9Kmnc6Sxr", expires_in=3600)
        async with Clerk(jwt_key=fake.jwt_key, base_url=fake.url) as clerk:
            found = candidates(fake, token, clerk, not args.no_install)
            for candidate in found.values():  # warm up, and check each accepts the token
                await run_for(candidate, 0.05)
            results: dict[str, list[float]] = {name: [] for name in found}
            for _ in range(args.rounds):
                for name, candidate in found.items():
                    results[name].append(await run_for(candidate, args.seconds))
        assert len(fake.requests) == 0  # networkless, all of it

        ours = statistics.median(results["clerk_async"])
        print(f"{'verifier':<20} {'µs/verify':>10} {'verify/s':>10} {'x clerk_async':>14}")
        for name, samples in results.items():
            us = statistics.median(samples)
            print(f"{name:<20} {us:>10.1f} {1e6 / us:>10,.0f} {us / ours:>14.2f}")
        if "official" in results:
            official = statistics.median(results["official"])
            print(f"\nthroughput vs the official SDK: {official / ours:.2f}x")
        floor = statistics.median(results["pyjwt (key object)"])
        print(f"cost vs bare PyJWT (key object): {ours / floor:.2f}x")

        if args.flood:
            count, fetches, elapsed = await flood(fake, args.flood)
            print(
                f"\nrandom-kid flood: {count:,} tokens in {elapsed:.1f} s -> {fetches} JWKS "
                f"fetches (the throttle allows one per 5 s: at most {1 + int(elapsed // 5)})"
            )


if __name__ == "__main__":
    asyncio.run(main())
