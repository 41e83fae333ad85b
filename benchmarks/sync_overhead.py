"""What a call through ``clerk_async.sync.Clerk`` costs over the same call awaited on the
async client: instructions (valgrind) and microseconds.

    .venv/bin/python -m benchmarks.sync_overhead [--n1 50] [--n2 250] [--rounds 5] [--no-valgrind]

Both send ``PATCH /machines/{id}`` one call after another to ``server.py`` (its own
process, not counted). Instructions: each client runs under ``valgrind --tool=callgrind``
(every thread counted) with N1 and N2 calls; (Ir(N2) - Ir(N1)) / (N2 - N1) is one call's,
start-up cancelled out. Microseconds: the median of ``--rounds`` native runs of N2 calls,
wall time per call; noisy on a shared machine, the instruction figure is not.
The difference is the sync client's hop: a coroutine handed to its loop thread (a task
made there by ``call_soon_threadsafe``) and the calling thread woken by a plain lock; the
last line times that hop alone, in process, with no I/O.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import statistics
import subprocess
import sys
import time

try:
    from benchmarks.bench_update import server_process
except ImportError:  # run as a script
    from bench_update import server_process  # type: ignore[no-redef, import-not-found]

SECRET_KEY = "sk_live_benchmark0000000000000000000000000000"
MACHINE_ID = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"
_COLLECTED = re.compile(rb"Collected : (\d+)")


def run_async(url: str, calls: int) -> float:
    """Seconds for ``calls`` awaited calls, one after another."""
    from clerk_async import Clerk

    async def main() -> float:
        async with Clerk(SECRET_KEY, base_url=url, rate_limit=None) as clerk:
            await clerk.machines.update(MACHINE_ID, name="warm")
            start = time.perf_counter()
            for _ in range(calls):
                await clerk.machines.update(MACHINE_ID, name="billing-worker")
            return time.perf_counter() - start

    return asyncio.run(main())


def run_sync(url: str, calls: int) -> float:
    from clerk_async.sync import Clerk

    with Clerk(SECRET_KEY, base_url=url, rate_limit=None) as clerk:
        clerk.machines.update(MACHINE_ID, name="warm")
        start = time.perf_counter()
        for _ in range(calls):
            clerk.machines.update(MACHINE_ID, name="billing-worker")
        return time.perf_counter() - start


def hop_alone(calls: int = 20_000) -> float:
    """µs per hop with no I/O: a coroutine that returns at once, run through the sync
    client's loop thread (what every sync call adds to its async call)."""
    from clerk_async.sync._runner import LoopThread

    async def nothing() -> None:
        return None

    runner = LoopThread("hop")
    try:
        start = time.perf_counter()
        for _ in range(calls):
            runner.run(nothing())
        return (time.perf_counter() - start) / calls * 1e6
    finally:
        runner.stop()


def instructions(client: str, url: str, calls: int) -> int:
    command = [
        "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
        sys.executable, "-m", "benchmarks.sync_overhead", "--worker", client,
        "--url", url, "--calls", str(calls),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, check=True)
    found = _COLLECTED.search(done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count from valgrind: {done.stderr[-500:]!r}")
    return int(found.group(1))


def native(client: str, url: str, calls: int) -> float:
    command = [sys.executable, "-m", "benchmarks.sync_overhead", "--worker", client]
    command += ["--url", url, "--calls", str(calls)]
    done = subprocess.run(command, capture_output=True, check=True, text=True)
    return float(done.stdout.strip()) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n1", type=int, default=50)
    parser.add_argument("--n2", type=int, default=250)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-valgrind", action="store_true")
    parser.add_argument("--worker", choices=("async", "sync"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--calls", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run = run_async if args.worker == "async" else run_sync
        print(run(args.url, args.calls))
        return
    use_valgrind = not args.no_valgrind and shutil.which("valgrind") is not None
    with server_process() as (_pid, port):
        url = f"http://127.0.0.1:{port}/v1"
        runs: dict[str, list[float]] = {"async": [], "sync": []}
        for _ in range(args.rounds):  # interleaved: both meet the same load
            for client, found in runs.items():
                found.append(native(client, url, args.n2))
        micros = {client: statistics.median(found) for client, found in runs.items()}
        counts = {}
        if use_valgrind:
            for client in ("async", "sync"):
                low = instructions(client, url, args.n1)
                high = instructions(client, url, args.n2)
                counts[client] = (high - low) / (args.n2 - args.n1)
    print("| client | instructions/call | µs/call (median) |")
    print("|---|---:|---:|")
    for client in ("async", "sync"):
        ir = f"{counts[client]:,.0f}" if counts else "-"
        print(f"| {client} | {ir} | {micros[client]:.0f} |")
    ir_extra = f"{counts['sync'] - counts['async']:+,.0f}" if counts else "-"
    print(f"| sync over async | {ir_extra} | {micros['sync'] - micros['async']:+.0f} |")
    print(f"\nThe hop alone (a no-op coroutine through the loop thread): {hop_alone():.1f} µs")


if __name__ == "__main__":
    main()
