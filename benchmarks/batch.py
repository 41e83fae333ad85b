"""update_many at scale (issue 6): 10,000 and 100,000 updates against a FakeClerk, with the
same batch written as a plain ``asyncio.gather`` loop beside it.

    .venv/bin/python -m benchmarks.batch [--sizes 10000 100000] [--concurrency 64]

FakeClerk runs in its own process (rate limit off, the machines seeded), and each cell runs
in a fresh client process, so that peak RSS is the batch's own. Reported per cell: requests/s,
client CPU µs per update, and peak RSS. ``update_many`` consumes its input lazily, so its RSS
should stay flat as the batch grows; ``gather`` creates every coroutine up front.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from clerk_async import Clerk
from clerk_async.testing.__main__ import seeded_machine_id

KEY = "sk_live_benchmark_batch"


@contextmanager
def fake_clerk(machines: int) -> Iterator[str]:
    """Start ``python -m clerk_async.testing`` with ``machines`` seeded; yield its base URL."""
    command = [
        sys.executable, "-m", "clerk_async.testing", "--port", "0", "--rate-limit", "off",
        "--secret-key", KEY, "--machines", str(machines),
    ]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        if " at " not in first:
            raise RuntimeError(f"FakeClerk did not start: {first!r}")
        yield first.rsplit(" at ", 1)[1].strip()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def run_cell(mode: str, size: int, url: str, concurrency: int) -> dict[str, float]:
    async with Clerk(KEY, base_url=url, rate_limit=None, max_connections=concurrency) as clerk:
        updates = ((seeded_machine_id(i), {"name": f"renamed-{i}"}) for i in range(size))
        cpu, wall = time.process_time(), time.perf_counter()
        if mode == "update_many":
            failed = 0
            async for result in clerk.machines.update_many(updates, concurrency=concurrency):
                failed += not result.ok
        else:
            gate = asyncio.Semaphore(concurrency)

            async def one(machine_id: str, fields: dict[str, str]) -> None:
                async with gate:
                    await clerk.machines.update(machine_id, **fields)  # type: ignore[arg-type]

            outcomes = await asyncio.gather(*(one(*u) for u in updates), return_exceptions=True)
            failed = sum(isinstance(o, BaseException) for o in outcomes)
        wall = time.perf_counter() - wall
        cpu = time.process_time() - cpu
    return {
        "requests_per_s": size / wall,
        "cpu_us_per_update": cpu / size * 1e6,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "failed": failed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--cell", nargs=3, metavar=("MODE", "SIZE", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cell:  # a worker process: one cell, one JSON line
        mode, size, url = args.cell
        print(json.dumps(asyncio.run(run_cell(mode, int(size), url, args.concurrency))))
        return

    print("| mode | updates | requests/s | CPU µs/update | peak RSS MB | failed |")
    print("|---|---:|---:|---:|---:|---:|")
    with fake_clerk(max(args.sizes)) as url:
        for size in args.sizes:
            for mode in ("update_many", "gather"):
                done = subprocess.run(
                    [sys.executable, "-m", "benchmarks.batch", "--concurrency",
                     str(args.concurrency), "--cell", mode, str(size), url],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                cell = json.loads(done.stdout.strip().splitlines()[-1])
                print(
                    f"| {mode} | {size:,} | {cell['requests_per_s']:,.0f} | "
                    f"{cell['cpu_us_per_update']:.0f} | {cell['peak_rss_mb']:.1f} | "
                    f"{cell['failed']:.0f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
