"""Full-size pacing check (issue 5): 1,000 updates against a FakeClerk limited to 100
requests per second, through a client paced to the same limit.

Run: .venv/bin/python -m benchmarks.pacing [--updates 1000] [--rate 100]
Prints the elapsed time against the ideal (updates / rate) and the 429s FakeClerk answered.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from clerk_async import RateLimit
from clerk_async.testing import FakeClerk


async def run(updates: int, rate: int, concurrency: int) -> None:
    limit = RateLimit(rate, 1.0)
    async with FakeClerk(rate_limit=limit, seed=5) as fake:
        ids = [fake.add_machine(f"m-{i}").id for i in range(updates)]
        async with fake.client(rate_limit=limit) as clerk:
            started = time.monotonic()
            batch = clerk.machines.update_many(
                ((mid, {"name": "paced"}) for mid in ids), concurrency=concurrency
            )
            results = await batch.collect()
            elapsed = time.monotonic() - started
        failed = sum(not r.ok for r in results)
        ideal = updates / rate
        print(
            f"{updates} updates at {rate}/s (concurrency {concurrency}): {elapsed:.2f} s, "
            f"ideal {ideal:.1f} s ({(elapsed - ideal) / ideal:+.1%}); "
            f"429s answered by FakeClerk: {fake.stats.rate_limited}; failed: {failed}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--updates", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    asyncio.run(run(args.updates, args.rate, args.concurrency))


if __name__ == "__main__":
    main()
