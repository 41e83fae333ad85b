"""What observability costs per call, in instructions (valgrind): off, unconfigured, exporting.

    .venv/bin/python -m benchmarks.observe [--n1 100] [--n2 600] [--concurrency 16]

Each mode runs ``machines.update`` against ``server.py`` (native, not counted) under
``valgrind --tool=callgrind`` with N1 and N2 requests; (Ir(N2) - Ir(N1)) / (N2 - N1) is one
request's instructions, start-up cancelled out. The modes:

- ``absent``: ``opentelemetry`` cannot be imported (the ``otel`` extra not installed);
- ``unconfigured``: ``opentelemetry-api`` installed, no provider set (the API's proxies);
- ``hooks``: a client hook that does nothing (the cost of building the events);
- ``exporting``: the SDK's tracer provider with a batch processor and an exporter that
  drops what it is given (spans and their attributes are built, nothing is written).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import sys
from typing import Any

from benchmarks.bench_update import server_process

MODES = ("absent", "unconfigured", "hooks", "exporting")
_COLLECTED = re.compile(rb"Collected : (\d+)")
MACHINE_ID = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"


def run(mode: str, url: str, requests: int, concurrency: int) -> None:
    """One measured process (this module run with --worker)."""
    if mode == "absent":
        sys.modules["opentelemetry"] = None  # type: ignore[assignment]  # import fails
    hooks: list[Any] = []
    if mode == "exporting":
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

        class Drop(SpanExporter):
            def export(self, spans: Any) -> Any:
                from opentelemetry.sdk.trace.export import SpanExportResult

                return SpanExportResult.SUCCESS

        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(Drop()))
        trace.set_tracer_provider(provider)
    from clerk_async import Clerk
    from clerk_async.hooks import Hooks

    if mode == "hooks":
        hooks.append(Hooks())

    async def main() -> None:
        async with Clerk(
            "sk_live_benchmark0000000000000000000000000000",
            base_url=url,
            rate_limit=None,
            hooks=hooks,
            max_connections=concurrency,
        ) as clerk:
            await clerk.machines.update(MACHINE_ID, name="warm", default_token_ttl=3600)
            left = requests

            async def one() -> None:
                nonlocal left
                while left > 0:
                    left -= 1
                    await clerk.machines.update(MACHINE_ID, name="b", default_token_ttl=3600)

            await asyncio.gather(*(one() for _ in range(concurrency)))

    asyncio.run(main())


def instructions(mode: str, url: str, requests: int, concurrency: int) -> int:
    command = [
        "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
        sys.executable, "-m", "benchmarks.observe", "--worker", mode, "--url", url,
        "--requests", str(requests), "--concurrency", str(concurrency),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, check=True, env=_pure_json_env())
    found = _COLLECTED.search(done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count from valgrind: {done.stderr[-500:]!r}")
    return int(found.group(1))


def _pure_json_env() -> dict[str, str]:
    import os

    return {**os.environ, "CLERK_ASYNC_PURE_JSON": "1"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--worker", choices=MODES)
    parser.add_argument("--url")
    parser.add_argument("--requests", type=int, default=0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--n1", type=int, default=100)
    parser.add_argument("--n2", type=int, default=600)
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    args = parser.parse_args()
    if args.worker:
        run(args.worker, args.url, args.requests, args.concurrency)
        return
    with server_process() as (_, port):
        url = f"http://127.0.0.1:{port}/v1"
        base: float | None = None
        print(f"{'mode':<14}{'instructions/request':>22}{'vs absent':>12}")
        for mode in args.modes:
            low = instructions(mode, url, args.n1, args.concurrency)
            high = instructions(mode, url, args.n2, args.concurrency)
            per = (high - low) / (args.n2 - args.n1)
            base = base or per
            print(f"{mode:<14}{per:>22,.0f}{per / base:>12.3f}", flush=True)


if __name__ == "__main__":
    main()
