"""What importing clerk_async and first using a service cost, in instructions (valgrind).

    .venv/bin/python -m benchmarks.import_cost

Each row runs a fresh interpreter under ``valgrind --tool=callgrind`` and subtracts the bare
interpreter's start (``python -c pass``): instructions, unlike milliseconds, do not move with
the load of a shared machine. ``first use of clerk.users`` is ``Clerk(...).users`` after the
import: the service's module, its params and its models (and the models several services
share), not the other services'. Needs valgrind.
"""

from __future__ import annotations

import re
import subprocess
import sys

ROWS = {
    "python -c pass": "pass",
    "import aiohttp": "import aiohttp",
    "import clerk_async": "import clerk_async",
    "import clerk_async + first use of clerk.users": (
        "import clerk_async; clerk_async.Clerk('sk_test_x').users"
    ),
    "import clerk_async + first use of clerk.machines": (
        "import clerk_async; clerk_async.Clerk('sk_test_x').machines"
    ),
    "import clerk_async.models.spec (every model)": "import clerk_async.models.spec",
}
_COLLECTED = re.compile(rb"Collected : (\d+)")


def instructions(code: str) -> int:
    command = [
        "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
        sys.executable, "-c", code,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, check=True)
    found = _COLLECTED.search(done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count from valgrind: {done.stderr[-500:]!r}")
    return int(found.group(1))


def main() -> None:
    for code in ROWS.values():  # compile every .pyc first: that is not what a user pays
        subprocess.run([sys.executable, "-c", code], check=True)
    base = instructions(ROWS["python -c pass"])
    aiohttp = instructions(ROWS["import aiohttp"]) - base
    print("| what | instructions (minus the bare start) | vs import aiohttp |")
    print("|---|---:|---:|")
    for label, code in ROWS.items():
        if label == "python -c pass":
            print(f"| {label} | {base:,} (the start itself) | |")
            continue
        count = aiohttp if label == "import aiohttp" else instructions(code) - base
        print(f"| {label} | {count:,} | {count / aiohttp:.2f}x |")


if __name__ == "__main__":
    main()
