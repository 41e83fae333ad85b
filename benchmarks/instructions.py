"""Client instructions per request, counted by valgrind: a figure the machine's noise cannot move.

    .venv/bin/python -m benchmarks.instructions [--concurrency 1 16 64 256] [--jobs 2]
        [--installs default speedups] [--operation update|users-get|users-list] [--attrs-floor]

``--operation``: ``machines.update`` (the default), ``users.get`` of one realistic user, or
``users.list(limit=10)``. ``--attrs-floor`` adds, for each install, the floor that also
builds the same attrs objects by hand (``worker.py --attrs``), and the ratio to it.

CPU time on a shared 2-core machine wanders by 10-30 % between runs; the number of
instructions a process executes does not (callgrind counts them, whatever else runs). Each
cell runs ``worker.py`` under ``valgrind --tool=callgrind`` twice, with ``--requests`` N1 and
N2 (no timed warm-up), and reports (Ir(N2) - Ir(N1)) / (N2 - N1): the instructions of one
request, start-up and imports cancelled out. The server (``server.py``) runs natively in its
own process and is not counted. Needs valgrind (Debian package ``valgrind``); a run takes a
few minutes. Ratios are to the floor with the same JSON library and event loop.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

try:
    from benchmarks.bench_update import server_process
except ImportError:  # run as a script
    from bench_update import server_process  # type: ignore[no-redef, import-not-found]

WORKER = Path(__file__).with_name("worker.py")
PAIRS = (("clerk-default", "floor-default"), ("clerk-speedups", "floor-speedups"))
_COLLECTED = re.compile(rb"Collected : (\d+)")


def instructions(
    client: str, url: str, concurrency: int, requests: int, extra: tuple[str, ...] = ()
) -> int:
    command = [
        "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
        sys.executable, str(WORKER), "--client", client, "--url", url,
        "--concurrency", str(concurrency), "--requests", str(requests), "--warmup", "0",
        *extra,
    ]  # fmt: skip
    # One string-hash seed for every run: with a random one, dict and set layouts (and so
    # the instructions of each lookup) change from process to process, and the same tree
    # read 1-2.5 % apart between runs.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, check=True, env=env)
    found = _COLLECTED.search(done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count from valgrind: {done.stderr[-500:]!r}")
    return int(found.group(1))


def per_request(
    client: str, url: str, concurrency: int, n1: int, n2: int, extra: tuple[str, ...] = ()
) -> float:
    return (
        instructions(client, url, concurrency, n2, extra)
        - instructions(client, url, concurrency, n1, extra)
    ) / (n2 - n1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64, 256])
    parser.add_argument("--n1", type=int, default=100)
    parser.add_argument("--n2", type=int, default=600)
    parser.add_argument("--jobs", type=int, default=2, help="valgrind runs at once")
    parser.add_argument(
        "--installs", nargs="+", choices=("default", "speedups"), default=["default", "speedups"]
    )
    parser.add_argument(
        "--operation", choices=("update", "users-get", "users-list"), default="update"
    )
    parser.add_argument("--attrs-floor", action="store_true")
    args = parser.parse_args()
    pairs = [(f"clerk-{i}", f"floor-{i}") for i in args.installs]
    operation = ("--operation", args.operation)
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")

    with server_process() as (_pid, port), ThreadPoolExecutor(args.jobs) as pool:
        url = f"http://127.0.0.1:{port}/v1"
        cells = [
            (client, c, operation) for c in args.concurrency for pair in pairs for client in pair
        ]
        if args.attrs_floor:
            cells += [(f, c, (*operation, "--attrs")) for c in args.concurrency for _, f in pairs]
        futures = {
            cell: pool.submit(per_request, cell[0], url, cell[1], args.n1, args.n2, cell[2])
            for cell in cells
        }
        counts = {}
        for cell, future in futures.items():  # each as it comes: a long run shows progress
            counts[(*cell[:2], len(cell[2]))] = figure = future.result()
            print(
                f"{' '.join(map(str, cell[:2]))} {' '.join(cell[2])}: {figure:,.0f}",
                file=sys.stderr,
            )

    print(f"operation: {args.operation}")
    head = "| concurrency | client | instructions/request | floor | ratio to floor |"
    rule = "|---:|---|---:|---:|---:|"
    if args.attrs_floor:
        head, rule = head + " floor + attrs by hand | ratio to it |", rule + "---:|---:|"
    print(head)
    print(rule)
    for c in args.concurrency:
        for clerk, floor in pairs:
            mine, base = counts[clerk, c, 2], counts[floor, c, 2]
            row = f"| {c} | {clerk} | {mine:,.0f} | {base:,.0f} | {mine / base:.3f} |"
            if args.attrs_floor:
                built = counts[floor, c, 3]
                row += f" {built:,.0f} | {mine / built:.3f} |"
            print(row)
    if len(pairs) < len(PAIRS):
        return
    for c in args.concurrency:
        speedups, stdlib_floor = counts["clerk-speedups", c, 2], counts["floor-default", c, 2]
        print(f"concurrency {c}: clerk-speedups / floor-default = {speedups / stdlib_floor:.3f}")


if __name__ == "__main__":
    main()
