"""Instructions per decoded answer, counted by valgrind: decoding alone, against its floors.

    .venv/bin/python -m benchmarks.decode_instructions [--speedups] [--answers machine user users]

What ``benchmarks.instructions`` measures end to end, with the request left out: each case
runs this module under ``valgrind --tool=callgrind`` twice, decoding the same answer N1 and
N2 times in a loop, and reports (Ir(N2) - Ir(N1)) / (N2 - N1). Answers: ``machine`` (the
``machines.update`` answer of ``server.py``: a Machine with one ScopedMachine), ``user``
(``user.json``) and ``users`` (ten of them, as ``users.list(limit=10)`` gets them).

- ``json``: the JSON decoder alone (stdlib ``json``, or orjson with ``--speedups``);
- ``hand``: the JSON decoder, then the same attrs objects built by the floor's hand-written
  builder (``worker.hand_builder``: no type checks);
- ``clerk``: ``clerk_async._response.decode``, what the request path calls on a 2xx body.
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
from typing import Any

HERE = Path(__file__).parent
CASES = ("json", "hand", "clerk")
ANSWERS = ("machine", "user", "users")
_COLLECTED = re.compile(rb"Collected : (\d+)")


def _body(answer: str) -> bytes:
    sys.path.insert(0, str(HERE))
    import server

    return {"machine": server.MACHINE_BODY, "user": server.USER_BODY, "users": server.USERS_BODY}[
        answer
    ]


def _one(case: str, answer: str) -> Any:
    """The function to loop: decodes the answer's body once."""
    from clerk_async import _json
    from clerk_async._response import decode
    from clerk_async.models import Machine, User

    raw = _body(answer)
    loads = _json.loads
    model = Machine if answer == "machine" else User
    if case == "json":
        return lambda: loads(raw)
    if case == "hand":
        import worker

        build = worker.hand_builder(model)
        if answer == "users":
            return lambda: [build(item) for item in loads(raw)]
        return lambda: build(loads(raw))
    tp: Any = list[User] if answer == "users" else model
    headers = {"Content-Type": "application/json"}
    return lambda: decode(tp, 200, headers, raw)


def _loop(case: str, answer: str, n: int) -> None:
    one = _one(case, answer)
    one()  # every lazy path built before counting
    for _ in range(n):
        one()


def instructions(case: str, answer: str, n: int, speedups: bool) -> int:
    env = dict(os.environ)
    if speedups:
        env.pop("CLERK_ASYNC_PURE_JSON", None)
    else:
        env["CLERK_ASYNC_PURE_JSON"] = "1"
    command = [
        "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
        sys.executable, "-m", "benchmarks.decode_instructions",
        "--loop", case, answer, str(n),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, check=True, env=env, cwd=HERE.parent)
    found = _COLLECTED.search(done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count from valgrind: {done.stderr[-500:]!r}")
    return int(found.group(1))


def per_decode(case: str, answer: str, n1: int, n2: int, speedups: bool) -> float:
    more = instructions(case, answer, n2, speedups)
    return (more - instructions(case, answer, n1, speedups)) / (n2 - n1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n1", type=int, default=200)
    parser.add_argument("--n2", type=int, default=1200)
    parser.add_argument("--speedups", action="store_true", help="orjson instead of stdlib json")
    parser.add_argument("--answers", nargs="+", choices=ANSWERS, default=list(ANSWERS))
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--jobs", type=int, default=2, help="valgrind runs at once")
    parser.add_argument("--loop", nargs=3, metavar=("CASE", "ANSWER", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.loop:
        _loop(args.loop[0], args.loop[1], int(args.loop[2]))
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    cells = [(case, answer) for answer in args.answers for case in args.cases]
    with ThreadPoolExecutor(args.jobs) as pool:
        futures = {
            cell: pool.submit(per_decode, *cell, args.n1, args.n2, args.speedups) for cell in cells
        }
        counts = {cell: future.result() for cell, future in futures.items()}
    print(f"JSON: {'orjson' if args.speedups else 'json'}")
    print("| answer | " + " | ".join(args.cases) + " | clerk - hand | clerk / hand |")
    print("|---|" + "---:|" * (len(args.cases) + 2))
    for answer in args.answers:
        row = [f"{counts[case, answer]:,.0f}" for case in args.cases]
        extra = ratio = "-"
        if ("clerk", answer) in counts and ("hand", answer) in counts:
            clerk, hand = counts["clerk", answer], counts["hand", answer]
            extra, ratio = f"{clerk - hand:+,.0f}", f"{clerk / hand:.3f}"
        print(f"| {answer} | " + " | ".join(row) + f" | {extra} | {ratio} |")


if __name__ == "__main__":
    main()
