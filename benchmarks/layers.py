"""Where clerk_async's CPU per request goes beyond the floor's, layer by layer, in one process.

    .venv/bin/python -m benchmarks.layers                    # speedups (orjson + uvloop), c=64
    .venv/bin/python -m benchmarks.layers --default          # stdlib json + asyncio
    .venv/bin/python -m benchmarks.layers --concurrency 16 --rounds 25

Cross-process cells (``bench_update``) carry a few percent of noise from a shared machine:
too much to see a 3 µs change. Here every variant runs in the same process, on the same
event loop, session and connections, in short alternating rounds, so the slow drifts of the
machine hit each alike; the table shows the median over rounds of CPU µs per request and the
difference to the floor. For measuring a hot-path change before and after, this is the tool.

The variants, each a complete request to ``server.py``:

- ``floor``: ``session.request`` with the pre-encoded body, a reused URL, ``resp.read()`` and
  ``loads`` (the same session and headers as the client below).
- ``floor + structure``: and ``converter.get_structure_hook(Machine)`` on the parsed dict.
- ``floor + build_params``: and ``build_params(UpdateMachineParams, id, keywords)`` first.
- ``Transport.request(params)``: clerk_async's request path from a ready params object
  (path, unstructure, JSON, URL, pacing, pool gate, send, classify, decode).
- ``machines.update(...)``: the public call, i.e. all of clerk_async.

It reaches into two private names (``Clerk._sessions``, ``Clerk._transport``) to
share one session between the variants; update them here if they are renamed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

try:
    from benchmarks.bench_update import server_process
except ImportError:  # run as a script: python benchmarks/layers.py
    from bench_update import server_process  # type: ignore[no-redef, import-not-found]

MACHINE_ID = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"
Variant = Callable[[], Awaitable[None]]


async def _rounds(
    variants: dict[str, Variant], concurrency: int, per_round: int, rounds: int
) -> dict[str, list[float]]:
    async def run(one: Variant, n: int) -> float:
        remaining = n

        async def task() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                await one()

        cpu = time.process_time()
        await asyncio.gather(*(task() for _ in range(concurrency)))
        return (time.process_time() - cpu) / n * 1e6

    for one in variants.values():  # warm every path
        await run(one, max(per_round // 2, concurrency))
    results: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for i in range(rounds):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            results[name].append(await run(variants[name], per_round))
    return results


async def measure(port: int, concurrency: int, per_round: int, rounds: int) -> str:
    from yarl import URL

    from clerk_async import Clerk, Machine, UpdateMachineParams, _json
    from clerk_async._convert import build_params, converter
    from clerk_async._prepare import prepare

    loads: Callable[[bytes], Any] = _json.loads
    base = f"http://127.0.0.1:{port}/v1"
    target = URL(f"{base}/machines/{MACHINE_ID}", encoded=True)
    body = json.dumps({"name": "billing-worker", "default_token_ttl": 3600}).encode()
    hook = converter.get_structure_hook(Machine)
    async with Clerk(
        secret_key="sk_live_layers", base_url=base, rate_limit=None, max_connections=concurrency
    ) as clerk:
        session, _gate = clerk._sessions.get()
        transport = clerk._transport
        headers = transport.headers
        params = UpdateMachineParams(
            machine_id=MACHINE_ID, name="billing-worker", default_token_ttl=3600
        )
        update = clerk.machines.update
        keywords = {"name": "billing-worker", "default_token_ttl": 3600}

        async def floor() -> None:
            async with session.request("PATCH", target, data=body, headers=headers) as r:
                raw = await r.read()
            loads(raw)

        async def floor_structure() -> None:
            async with session.request("PATCH", target, data=body, headers=headers) as r:
                raw = await r.read()
            hook(loads(raw), Machine)

        async def floor_build() -> None:
            build_params(UpdateMachineParams, MACHINE_ID, keywords, id_field="machine_id")
            async with session.request("PATCH", target, data=body, headers=headers) as r:
                raw = await r.read()
            loads(raw)

        async def request() -> None:
            await transport.send(prepare("PATCH", "/machines/{machine_id}", Machine, params))

        async def public() -> None:
            await update(MACHINE_ID, name="billing-worker", default_token_ttl=3600)

        variants: dict[str, Variant] = {
            "floor": floor,
            "floor + structure": floor_structure,
            "floor + build_params": floor_build,
            "Transport.send(prepare(params))": request,
            "machines.update(...)": public,
        }
        results = await _rounds(variants, concurrency, per_round, rounds)

    floor_median = statistics.median(results["floor"])
    lines = [
        f"codec {_json.CODEC}, loop {type(asyncio.get_running_loop()).__module__.split('.')[0]}, "
        f"concurrency {concurrency}, {rounds} rounds x {per_round} requests per variant",
        "",
        "| variant | CPU µs/req (median) | min | vs floor (medians) |",
        "|---|---:|---:|---:|",
    ]
    for name, values in results.items():
        median = statistics.median(values)
        lines.append(
            f"| {name} | {median:.1f} | {min(values):.1f} | {median - floor_median:+.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--default", action="store_true", help="stdlib json + asyncio loop")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--per-round", type=int, default=2500, help="requests per round")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)
    if args.default and not os.environ.get("CLERK_ASYNC_PURE_JSON"):
        # The codec is chosen at import: start again with the variable set.
        env = {**os.environ, "CLERK_ASYNC_PURE_JSON": "1"}
        os.execve(sys.executable, [sys.executable, __file__, *sys.argv[1:]], env)

    with server_process() as (_pid, port):
        coro = measure(port, args.concurrency, args.per_round, args.rounds)
        if args.default:
            print(asyncio.run(coro))
        else:
            import uvloop

            print(uvloop.run(coro))


if __name__ == "__main__":
    main()
