"""What a token source saves: mints, and CPU per token, against minting per request.

    .venv/bin/python -m benchmarks.m2m_source

One process, a FakeClerk on loopback. Counts (exact, on a fake clock moved with the fake's):
10,000 concurrent ``token()`` calls at once; then 30,000 calls over three lifetimes of a
1-hour JWT (100 moments per lifetime, 100 concurrent callers at each), against the 30,000
mints of a token per call. Costs (CPU time, ``time.process_time``, the median of 5 rounds):
µs per ``await source.token()`` that hits the held token, and per ``create_token`` round
trip to the fake (client and server CPU both in this process: a floor for a real one).
"""

from __future__ import annotations

import asyncio
import statistics
import time

from clerk_async.testing import FakeClerk

LIFETIME = 3600
MARGIN = 60.0


class Clock:
    def __init__(self, fake: FakeClerk) -> None:
        self.now = time.time()
        self.fake = fake

    def __call__(self) -> float:
        return self.now

    def move_to(self, when: float) -> None:
        self.fake.advance_time(when - self.now)
        self.now = when


async def main() -> None:
    async with FakeClerk(rate_limit=None) as fake:
        machine = fake.add_machine("billing", default_token_ttl=LIFETIME)
        async with fake.client(machine_secret_key=machine.secret_key, rate_limit=None) as clerk:
            clock = Clock(fake)
            source = clerk.m2m.token_source(min_remaining=MARGIN, clock=clock)
            await asyncio.gather(*(source.token() for _ in range(10_000)))
            at_once = source.mints
            clock.move_to(clock.now + LIFETIME - MARGIN + 1)  # that token is due for renewal
            calls = 0
            for _ in range(3):
                start = clock.now
                for step in range(100):
                    clock.move_to(start + step * 35)
                    await asyncio.gather(*(source.token() for _ in range(100)))
                    calls += 100
                clock.move_to(start + LIFETIME - MARGIN + 1)
            swept = source.mints - at_once
            print(f"10,000 concurrent token() calls at once: {at_once} mint")
            print(f"{calls:,} calls over 3 lifetimes: {swept} mints (a token per call: {calls:,})")

            hit: list[float] = []
            mint: list[float] = []
            for _ in range(5):
                t = time.process_time()
                for _ in range(100_000):
                    await source.token()
                hit.append((time.process_time() - t) / 100_000 * 1e6)
                t = time.process_time()
                for _ in range(200):
                    await clerk.m2m.create_token(token_format="jwt")
                mint.append((time.process_time() - t) / 200 * 1e6)
            h, m = statistics.median(hit), statistics.median(mint)
            print(f"token() from the held token: {h:.2f} µs CPU; create_token: {m:.0f} µs CPU")
            print(f"minting per request costs {m / h:,.0f}x the CPU, and a round trip")


if __name__ == "__main__":
    asyncio.run(main())
