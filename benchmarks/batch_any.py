"""clerk.batch at scale (issue 20): 100,000 users' metadata updates against a FakeClerk.

    .venv/bin/python -m benchmarks.batch_any [--sizes 10000 100000] [--concurrency 64]

The migration job: a file of user ids (read lazily, one line at a time) and, for each, a
``users.update_metadata`` that merges ``{"plan": ...}`` into the public metadata, run with
``clerk.batch``. Beside it, the same work written as a plain ``asyncio.gather`` over a
semaphore. FakeClerk runs in its own process (rate limit off; the users seeded when it keeps
users' state), and each cell runs in a fresh client process, so that peak RSS is the
batch's own. Reported per cell: wall time, requests/s, client CPU µs per update, peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from clerk_async import Clerk

KEY = "sk_live_benchmark_batch_any"


def serve(size: int, ids_path: str) -> None:
    """The FakeClerk process: seed ``size`` users, write their ids, serve until stdin closes."""
    from clerk_async.testing import FakeClerk

    with FakeClerk(KEY, rate_limit=None, max_recorded_requests=0) as fake:
        add_user = getattr(fake, "add_user", None)  # a FakeClerk that keeps users' state
        with open(ids_path, "w", encoding="utf-8") as out:
            for i in range(size):
                user_id = add_user(f"user{i}@example.com").id if add_user else f"user_{i:027d}"
                out.write(user_id + "\n")
        print(f"serving at {fake.url}", flush=True)
        sys.stdin.read()


@contextmanager
def fake_clerk(size: int, ids_path: str) -> Iterator[str]:
    command = [sys.executable, "-m", "benchmarks.batch_any", "--serve", str(size), ids_path]
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        if " at " not in first:
            raise RuntimeError(f"FakeClerk did not start: {first!r}")
        yield first.rsplit(" at ", 1)[1].strip()
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=30)


def plans(ids_path: str, size: int) -> Iterator[tuple[str, dict[str, object]]]:
    """The updates, read from the file one line at a time."""
    with open(ids_path, encoding="utf-8") as ids:
        for i, line in zip(range(size), ids, strict=False):  # the first size lines
            yield line.strip(), {"public_metadata": {"plan": "pro" if i % 2 else "team"}}


async def run_cell(
    mode: str, size: int, url: str, ids_path: str, concurrency: int
) -> dict[str, float]:
    async with Clerk(KEY, base_url=url, rate_limit=None, max_connections=concurrency) as clerk:
        updates = plans(ids_path, size)
        cpu, wall = time.process_time(), time.perf_counter()
        if mode == "batch":
            failed = 0
            batch = clerk.batch(clerk.users.update_metadata, updates, concurrency=concurrency)
            async for result in batch:
                failed += not result.ok
        else:
            gate = asyncio.Semaphore(concurrency)

            async def one(user_id: str, fields: dict[str, object]) -> None:
                async with gate:
                    await clerk.users.update_metadata(user_id, **fields)  # type: ignore[arg-type]

            outcomes = await asyncio.gather(*(one(*u) for u in updates), return_exceptions=True)
            failed = sum(isinstance(o, BaseException) for o in outcomes)
        wall = time.perf_counter() - wall
        cpu = time.process_time() - cpu
    return {
        "seconds": wall,
        "requests_per_s": size / wall,
        "cpu_us_per_update": cpu / size * 1e6,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "failed": failed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--modes", nargs="+", default=["batch", "gather"])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--serve", nargs=2, metavar=("SIZE", "IDS"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--cell", nargs=4, metavar=("MODE", "SIZE", "URL", "IDS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1])
        return
    if args.cell:  # a worker process: one cell, one JSON line
        mode, size, url, ids = args.cell
        print(json.dumps(asyncio.run(run_cell(mode, int(size), url, ids, args.concurrency))))
        return

    print(
        f"clerk.batch(clerk.users.update_metadata, ...), concurrency {args.concurrency}, "
        f"{os.cpu_count()} CPUs"
    )
    print("| mode | updates | seconds | requests/s | CPU µs/update | peak RSS MB | failed |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        ids = str(Path(tmp) / "user_ids.txt")
        with fake_clerk(max(args.sizes), ids) as url:
            for size in args.sizes:
                for mode in args.modes:
                    done = subprocess.run(
                        [sys.executable, "-m", "benchmarks.batch_any", "--concurrency",
                         str(args.concurrency), "--cell", mode, str(size), url, ids],
                        capture_output=True, text=True, check=True,
                    )  # fmt: skip
                    cell = json.loads(done.stdout.strip().splitlines()[-1])
                    print(
                        f"| {mode} | {size:,} | {cell['seconds']:.1f} | "
                        f"{cell['requests_per_s']:,.0f} | {cell['cpu_us_per_update']:.0f} | "
                        f"{cell['peak_rss_mb']:.1f} | {cell['failed']:.0f} |",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
