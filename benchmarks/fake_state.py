"""FakeClerk's state at scale: seeding time and lookup latency at 10 and 10,000 users.

    .venv/bin/python -m benchmarks.fake_state            # ~1 min
    .venv/bin/python -m benchmarks.fake_state --quick    # fewer requests per lookup

For each size, one FakeClerk (in this process's loop, rate limit off) is seeded with that
many users through ``fake.add_user`` (each with an email address, a username and an
external_id; one in ten is a member of one of ten organizations), timed. Then each lookup
runs ``--requests`` times through ``clerk_async`` over HTTP on loopback, one at a time, with
values drawn at random from the seeded users; the table gives the median and p95 wall
time per request in ms. ``GET /users`` with no filter is the newest-first first page; the
exact filters answer from indexes, so their latency should not grow with the user count.
``query`` (a partial match over names, emails, phones) is the one lookup that reads every
user, as it must, and shows what a scan costs.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from clerk_async import Clerk
from clerk_async.testing import FakeClerk

Lookup = Callable[[Clerk, random.Random], Awaitable[Any]]


def seed(fake: FakeClerk, count: int) -> tuple[float, list[str], list[str]]:
    """Seconds to seed ``count`` users (and ten organizations); their ids and the orgs'."""
    start = time.perf_counter()
    ids = [
        fake.add_user(
            f"user{i}@example.com",
            first_name=f"First{i}",
            last_name=f"Last{i}",
            username=f"user{i}",
            external_id=f"ext-{i}",
        ).id
        for i in range(count)
    ]
    orgs = [
        fake.add_organization(
            f"Org {k}", members={uid: "org:member" for uid in ids[k::10][: max(1, count // 100)]}
        ).id
        for k in range(10)
    ]
    return time.perf_counter() - start, ids, orgs


async def measure(clerk: Clerk, lookup: Lookup, rng: random.Random, requests: int) -> list[float]:
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        await lookup(clerk, rng)
        times.append((time.perf_counter() - start) * 1000)
    return times


async def run_size(count: int, requests: int) -> tuple[float, dict[str, list[float]]]:
    async with FakeClerk(rate_limit=None) as fake:
        seconds, ids, orgs = seed(fake, count)
        n = len(ids)

        def pick(rng: random.Random) -> int:
            return rng.randrange(n)

        lookups: dict[str, Lookup] = {
            "GET /users/{id}": lambda c, r: c.users.get(ids[pick(r)]),
            "GET /users (first page)": lambda c, r: c.users.list(),
            "GET /users?email_address=": lambda c, r: c.users.list(
                email_address=[f"user{pick(r)}@example.com"]
            ),
            "GET /users?username=": lambda c, r: c.users.list(username=[f"user{pick(r)}"]),
            "GET /users?external_id=": lambda c, r: c.users.list(external_id=[f"ext-{pick(r)}"]),
            "GET /users?organization_id=": lambda c, r: c.users.list(
                organization_id=[orgs[r.randrange(10)]]
            ),
            "GET /users/count?email_address=": lambda c, r: c.users.count(
                email_address=[f"user{pick(r)}@example.com"]
            ),
            "GET /organizations/{id}/memberships": lambda c, r: c.organization_memberships.list(
                orgs[r.randrange(10)]
            ),
            "GET /users?query= (a scan)": lambda c, r: c.users.list(query=f"Last{pick(r)}"),
        }
        results: dict[str, list[float]] = {}
        async with fake.client(max_retries=0) as clerk:
            for name, lookup in lookups.items():
                await lookup(clerk, random.Random(0))  # warm: connection, hooks
                results[name] = await measure(clerk, lookup, random.Random(1), requests)
        return seconds, results


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", default="10,10000")
    args = parser.parse_args()
    requests = 50 if args.quick else 300
    sizes = [int(s) for s in args.sizes.split(",")]
    table: dict[int, tuple[float, dict[str, list[float]]]] = {}
    for size in sizes:
        table[size] = await run_size(size, requests)
    print(f"{requests} requests per lookup, one at a time; ms per request (median / p95)\n")
    header = "| lookup | " + " | ".join(f"{s:,} users" for s in sizes) + " |"
    print(header)
    print("|---" * (len(sizes) + 1) + "|")
    seeding = " | ".join(
        f"{table[s][0] * 1000:.1f} ms ({table[s][0] / s * 1e6:.0f} µs/user)" for s in sizes
    )
    print(f"| seeding (add_user x N, 10 orgs) | {seeding} |")
    for name in table[sizes[0]][1]:
        cells = " | ".join(
            f"{statistics.median(table[s][1][name]):.2f} / {p95(table[s][1][name]):.2f}"
            for s in sizes
        )
        print(f"| {name} | {cells} |")


if __name__ == "__main__":
    asyncio.run(main())
