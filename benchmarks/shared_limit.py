"""Many processes, one Clerk limit, and a Redis that fails (issues 14 and 23): N worker
processes x M updates against one FakeClerk (its own process) enforcing a scaled instance
limit, all pacing through one redis-server, in each of these scenarios:

- ``up``: Redis answers throughout.
- ``killed``: Redis is killed (SIGKILL) halfway through the ideal time.
- ``down-start``: nothing listens at the start; Redis starts a third of the way through.
- ``down``: nothing listens for the whole run.
- ``oom``: Redis answers every script with ``-OOM`` (``maxmemory 1``, ``noeviction``) for the
  first third, then has memory again.
- ``slow``: a proxy on loopback (tests/_redis_proxy.py) adds 200-400 ms to every round trip,
  under the limiter's 0.5 s timeout.
- ``blackhole``: the proxy accepts connections and never answers for the first third; later
  connections go through.

The processes are given no hint of how many they are. Each uses the client's default retry
policy.

Run: .venv/bin/python -m benchmarks.shared_limit [--processes 4] [--updates 300]
     [--limit 100/1] [--concurrency 32] [--scenarios up killed ...]
(SHOW_WARNINGS=1 shows the workers' warnings: when each fell back, and came back.)

Per scenario it prints one row: the 429s FakeClerk answered (and their share of the calls),
the updates lost (goal 0), the total time against the ideal, and Redis round trips per update.
The ideal is the earliest the last update can be sent under the limit, L per T:
(ceil(total / L) - 1) * T, the first L going at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from clerk_async import Clerk, RateLimit
from clerk_async._redis_limit import RedisLimiter
from clerk_async.testing import FakeClerk
from clerk_async.testing.__main__ import seeded_machine_id
from tests._redis import RedisServer
from tests._redis_proxy import ProxyThread

SECRET = "sk_test_benchmark_shared_limit"
SCENARIOS = ("up", "killed", "down-start", "down", "oom", "slow", "blackhole")


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
    async with Clerk(SECRET, base_url=url, rate_limit=shared) as clerk:
        limiter = clerk._transport.limiter
        assert isinstance(limiter, RedisLimiter)
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        started = time.monotonic()
        updates = ((seeded_machine_id(i), {"name": f"v{i}"}) for i in range(first, first + n))
        results = await clerk.machines.update_many(updates, concurrency=conc).collect()
        ended = time.monotonic()
        errors = sorted({type(r.error).__name__ for r in results if r.error is not None})
        print(
            json.dumps(
                {
                    "ok": sum(r.ok for r in results),
                    "errors": errors,
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
        stderr=None if os.environ.get("SHOW_WARNINGS") else subprocess.DEVNULL,
        text=True,
    )


def _config_set(redis: RedisServer, name: str, value: str) -> None:
    import redis as redis_py

    client = redis_py.Redis(port=redis.port)
    client.config_set(name, value)
    client.close()


def run(scenario: str, processes: int, updates: int, limit: RateLimit, conc: int) -> dict[str, Any]:
    total = processes * updates
    ideal = (math.ceil(total / limit.requests) - 1) * limit.per_seconds
    spec = f"{limit.requests}/{limit.per_seconds:g}"
    redis = RedisServer()
    proxy: ProxyThread | None = None
    url = redis.url
    events: list[tuple[float, Callable[[], None]]] = []
    if scenario not in ("down-start", "down"):
        redis.start()
    if scenario == "killed":
        events.append((ideal / 2, redis.kill))
    elif scenario == "down-start":
        events.append((ideal / 3, redis.start))
    elif scenario == "oom":
        _config_set(redis, "maxmemory-policy", "noeviction")
        _config_set(redis, "maxmemory", "1")
        events.append((ideal / 3, lambda: _config_set(redis, "maxmemory", "0")))
    elif scenario == "slow":
        proxy = ProxyThread(redis.port, delay=(0.1, 0.2))  # each way
    elif scenario == "blackhole":
        proxy = ProxyThread(redis.port, blackhole=True)
        blackholed = proxy
        events.append((ideal / 3, lambda: blackholed.set(blackhole=False)))
    try:
        if proxy is not None:
            proxy.__enter__()
            url = proxy.url
        fake = _spawn("--serve", spec, str(total))
        assert fake.stdout is not None
        assert fake.stdin is not None
        fake_url = fake.stdout.readline().strip()
        workers = [
            _spawn("--worker", fake_url, url, spec, str(i * updates), str(updates), str(conc))
            for i in range(processes)
        ]
        for w in workers:
            assert w.stdout is not None
            assert w.stdout.readline().strip() == "ready"
        go = time.monotonic()
        for w in workers:  # go, all together
            assert w.stdin is not None
            w.stdin.write("go\n")
            w.stdin.flush()
        for at, event in events:
            time.sleep(max(0.0, go + at - time.monotonic()))
            event()
        results: list[dict[str, Any]] = []
        for w in workers:
            out, _ = w.communicate()
            results.append(json.loads(out))
        fake.stdin.close()
        stats = json.loads(fake.stdout.read())
        fake.wait()
    finally:
        if proxy is not None:
            proxy.__exit__(None, None, None)
        redis.kill()
    elapsed = max(r["ended"] for r in results) - min(r["started"] for r in results)
    ok = sum(r["ok"] for r in results)
    return {
        "scenario": scenario,
        "total": total,
        "rate_limited": stats["rate_limited"],
        "lost": total - ok,
        "errors": sorted({e for r in results for e in r["errors"]}),
        "elapsed": elapsed,
        "ideal": ideal,
        "round_trips": sum(r["round_trips"] for r in results) / total,
        "shared_at_end": sum(r["shared_at_end"] for r in results),
        "fake_ok": stats["ok"],
    }


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
    parser.add_argument("--processes", type=int, nargs="+", default=[4])
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--limit", default="100/1", help="the instance limit, N/SECONDS")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--scenarios", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    args = parser.parse_args()
    requests, _, per = args.limit.partition("/")
    limit = RateLimit(int(requests), float(per))
    print("| processes x updates | Redis | 429s answered | lost | time vs ideal | round trips |")
    print("| --- | --- | --- | --- | --- | --- |")
    for processes in args.processes:
        for scenario in args.scenarios:
            r = run(scenario, processes, args.updates, limit, args.concurrency)
            errors = f" ({', '.join(r['errors'])})" if r["errors"] else ""
            print(
                f"| {processes} x {args.updates} | {scenario} | {r['rate_limited']} "
                f"({r['rate_limited'] / r['total']:.1%}) | {r['lost']}{errors} | "
                f"{r['elapsed']:.2f} s vs {r['ideal']:g} s: {r['elapsed'] / r['ideal']:.2f}x | "
                f"{r['round_trips']:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
