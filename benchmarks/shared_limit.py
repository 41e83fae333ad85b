"""Many processes, one Clerk limit (issue 14): N worker processes x 750 updates against one
FakeClerk (its own process) that enforces a scaled instance limit, all pacing through one
redis-server; then the same with Redis killed halfway through.

Run: .venv/bin/python -m benchmarks.shared_limit [--processes 4 8] [--updates 750]
     [--limit 100/1] [--concurrency 32]

Per run it prints: the 429s FakeClerk answered (goal <= 10), the total time against the
ideal (goal <= 1.1x), Redis round trips per request, and the updates lost (goal 0).
The ideal is the earliest the last update can be sent under the limit, L per T:
(ceil(total / L) - 1) * T, the first L going at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import subprocess
import sys
import time
from typing import Any

from clerk_async import Clerk, RateLimit, RetryPolicy
from clerk_async._redis_limit import RedisLimiter
from clerk_async.testing import FakeClerk
from clerk_async.testing.__main__ import seeded_machine_id
from tests._redis import RedisServer

SECRET = "sk_test_benchmark_shared_limit"


async def serve(limit: RateLimit, machines: int) -> None:
    """The FakeClerk process: prints its URL, serves until stdin closes, prints its stats."""
    async with FakeClerk(SECRET, rate_limit=limit, max_recorded_requests=0) as fake:
        for i in range(machines):
            fake.add_machine(f"machine-{i}", machine_id=seeded_machine_id(i))
        print(fake.url, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        stats = fake.stats
        print(json.dumps({"rate_limited": stats.rate_limited, "ok": stats.statuses[200]}))


async def work(url: str, redis_url: str, limit: RateLimit, first: int, n: int, conc: int) -> None:
    """A worker process: waits for "go" on stdin, updates its machines, prints one JSON line."""
    shared = RateLimit(limit.requests, limit.per_seconds, redis_url=redis_url)
    retry = RetryPolicy(max_retries=8, max_retry_after=30.0)
    async with Clerk(SECRET, base_url=url, rate_limit=shared, retry=retry) as clerk:
        limiter = clerk._transport.limiter
        assert isinstance(limiter, RedisLimiter)
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        started = time.monotonic()
        updates = ((seeded_machine_id(i), {"name": f"v{i}"}) for i in range(first, first + n))
        results = await clerk.machines.update_many(updates, concurrency=conc).collect()
        ended = time.monotonic()
        print(
            json.dumps(
                {
                    "ok": sum(r.ok for r in results),
                    "failed": sum(not r.ok for r in results),
                    "round_trips": limiter.round_trips,
                    "started": started,
                    "ended": ended,
                    "shared_at_end": limiter.shared,
                }
            ),
            flush=True,
        )


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "benchmarks.shared_limit", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def run(processes: int, updates: int, limit: RateLimit, concurrency: int, kill: bool) -> None:
    total = processes * updates
    ideal = (math.ceil(total / limit.requests) - 1) * limit.per_seconds
    spec = f"{limit.requests}/{limit.per_seconds:g}"
    with RedisServer() as redis:
        fake = _spawn("--serve", spec, str(total))
        assert fake.stdout is not None
        assert fake.stdin is not None
        url = fake.stdout.readline().strip()
        workers = [
            _spawn(
                "--worker", url, redis.url, spec, str(i * updates), str(updates), str(concurrency)
            )
            for i in range(processes)
        ]
        for w in workers:
            assert w.stdout is not None
            assert w.stdout.readline().strip() == "ready"
        for w in workers:  # go, all together
            assert w.stdin is not None
            w.stdin.write("go\n")
            w.stdin.flush()
        if kill:
            time.sleep(ideal / 2)
            redis.kill()
        results: list[dict[str, Any]] = []
        for w in workers:
            out, _ = w.communicate()
            results.append(json.loads(out))
        fake.stdin.close()
        stats = json.loads(fake.stdout.read())
        fake.wait()
    elapsed = max(r["ended"] for r in results) - min(r["started"] for r in results)
    ok = sum(r["ok"] for r in results)
    trips = sum(r["round_trips"] for r in results)
    label = "Redis killed halfway" if kill else "Redis up"
    print(
        f"{processes} processes x {updates} updates, limit {spec} s, {label}: "
        f"{stats['rate_limited']} 429s answered; {elapsed:.2f} s vs ideal {ideal:.1f} s "
        f"({elapsed / ideal if ideal else float('inf'):.3f}x); "
        f"{trips / total:.2f} Redis round trips per request; "
        f"{total - ok} lost ({ok} ok, FakeClerk counted {stats['ok']} updates)",
        flush=True,
    )


def main() -> None:
    if sys.argv[1:2] == ["--serve"]:
        requests, _, per = sys.argv[2].partition("/")
        asyncio.run(serve(RateLimit(int(requests), float(per)), int(sys.argv[3])))
        return
    if sys.argv[1:2] == ["--worker"]:
        url, redis_url, spec, first, n, conc = sys.argv[2:8]
        requests, _, per = spec.partition("/")
        limit = RateLimit(int(requests), float(per))
        asyncio.run(work(url, redis_url, limit, int(first), int(n), int(conc)))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--processes", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--updates", type=int, default=750)
    parser.add_argument("--limit", default="100/1", help="the instance limit, N/SECONDS")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--no-kill", action="store_true", help="skip the runs killing Redis")
    args = parser.parse_args()
    requests, _, per = args.limit.partition("/")
    limit = RateLimit(int(requests), float(per))
    for processes in args.processes:
        run(processes, args.updates, limit, args.concurrency, kill=False)
        if not args.no_kill:
            run(processes, args.updates, limit, args.concurrency, kill=True)


if __name__ == "__main__":
    main()
