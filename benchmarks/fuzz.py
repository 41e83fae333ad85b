"""The big fuzz run (issue 11): hypothesis-generated hostile calls over real HTTP.

    python -m benchmarks.fuzz                       # 23,000 calls + 23,000 raw requests
    python -m benchmarks.fuzz --calls 2000 --raw 0  # a quicker look
    CLERK_ASYNC_PURE_JSON=1 python -m benchmarks.fuzz   # the same with the stdlib codec

Every public operation (and ``Clerk(...)`` itself) gets ``--calls / 23`` examples from the
strategies in ``tests/_fuzz.py``; every FakeClerk route gets an equal share of ``--raw``.
Nothing stops at the first problem: every outcome is counted. A problem is an exception
that is not a ClerkError (goal 0) or a 5xx from FakeClerk (goal 0); the first example of
each kind is printed. Exit status 1 if there was any.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from clerk_async import _json
from clerk_async.testing._app import ROUTES
from tests import _fuzz


def _run(
    strategy: st.SearchStrategy[Any], examples: int, rng_seed: int, body: Callable[[Any], None]
) -> None:
    @seed(rng_seed)
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=(Phase.generate,),  # count, do not shrink: nothing raises in body
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(value: Any) -> None:
        body(value)

    run()


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    last = frames[-1] if frames else None
    return f"{last.filename}:{last.lineno}" if last else "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=23_000, help="client calls in all")
    parser.add_argument("--raw", type=int, default=23_000, help="raw requests in all")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    harness = _fuzz.Harness()
    operations = _fuzz.operations(harness.world)
    targets: list[tuple[str, st.SearchStrategy[Any], Callable[[Any], BaseException | None]]]
    targets = [(name, strategy, harness.call) for name, strategy in sorted(operations.items())]
    targets.append(
        ("Clerk(...) config", _fuzz.configs(harness.world, harness.fake.url), harness.config)
    )
    outcomes: dict[str, collections.Counter[str]] = {}
    first: dict[str, str] = {}
    started = time.monotonic()
    print(f"codec: {_json.CODEC}; seed {args.seed}", flush=True)
    per_target = max(1, args.calls // len(targets)) if args.calls else 0
    for name, strategy, perform in targets if per_target else ():
        counts = outcomes[name] = collections.Counter()

        def body(
            value: Any, name: str = name, counts: Any = counts, perform: Any = perform
        ) -> None:
            error = perform(value)
            problem = _fuzz.problem(error)
            if error is None:
                counts["ok"] += 1
            elif problem is None:
                counts["ClerkError"] += 1
            else:
                counts["PROBLEM"] += 1
                key = f"{name}: {problem} at {_where(error)}"  # type: ignore[arg-type]
                first.setdefault(key, f"{error!r}"[:300] + f"\n      input: {value!r}"[:600])

        _run(strategy, per_target, args.seed, body)
        print(f"  {name:28} {dict(counts)}", flush=True)

    per_route = max(1, args.raw // len(ROUTES)) if args.raw else 0
    statuses: collections.Counter[str] = collections.Counter()
    for index, route in enumerate(ROUTES if per_route else ()):

        def raw_body(request: Any, route: Any = route) -> None:
            status = harness.raw(request)
            statuses[f"{status // 100}xx"] += 1
            if status >= 500:
                key = f"FakeClerk {route.method} {route.path}: {status}"
                first.setdefault(key, repr(request)[:600])

        _run(_fuzz.raw_requests(harness.world, index), per_route, args.seed, raw_body)
    harness.close()

    calls = sum(sum(c.values()) for c in outcomes.values())
    problems = sum(c["PROBLEM"] for c in outcomes.values())
    ok = sum(c["ok"] for c in outcomes.values())
    raw = sum(statuses.values())
    print(
        f"\nclient calls: {calls:,} over {len(outcomes)} targets: {ok:,} succeeded, "
        f"{calls - ok - problems:,} raised a ClerkError, {problems:,} problems "
        "(a non-Clerk exception or a 5xx)"
    )
    print(f"raw requests to FakeClerk: {raw:,} over {len(ROUTES)} routes: {dict(statuses)}")
    print(f"{time.monotonic() - started:.0f} s")
    for key, example in first.items():
        print(f"\n{key}\n      {example}")
    return 1 if first else 0


if __name__ == "__main__":
    sys.exit(main())
