"""What hostile answers cost: a gzip bomb, and a 429 in front of 1,000 queued calls.

    .venv/bin/python -m benchmarks.hostile

1. A 1 MiB gzip body that inflates to 1 GiB, answered to ``machines.get``: the growth of
   the process's peak RSS and the longest stall of the event loop (a ticker measures the
   gaps between its 1 ms sleeps) until the call fails with ClerkResponseValidationError.
2. 1,000 concurrent ``machines.update`` calls; the first answer is a 429 with
   ``Retry-After: 1``: how many requests the server sees inside that second, for the default
   pool (100 connections) and for ``max_connections=10``. Only requests already handed to a
   connection when the 429 came back may arrive (goal: at most ``max_connections - 1``).
"""

from __future__ import annotations

import asyncio
import resource
import zlib

from aiohttp import web

from clerk_async import Clerk, ClerkResponseValidationError, RetryPolicy

MID = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"
MACHINE = {
    "object": "machine",
    "id": MID,
    "name": "n",
    "instance_id": "ins_1",
    "created_at": 1,
    "updated_at": 1,
    "default_token_ttl": 60,
    "scoped_machines": [],
}


def gzip_bomb(inflated: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * (1 << 20)
    return b"".join([*(packer.compress(block) for _ in range(inflated >> 20)), packer.flush()])


async def serve(handler: web.RequestHandler) -> tuple[web.AppRunner, str]:  # type: ignore[type-arg]
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/v1"


async def bomb() -> None:
    body = gzip_bomb(1 << 30)

    async def handler(request: web.Request) -> web.StreamResponse:
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
        return web.Response(body=body, headers=headers)

    runner, url = await serve(handler)
    loop = asyncio.get_running_loop()
    longest = 0.0
    done = False

    async def ticker() -> None:
        nonlocal longest
        while not done:
            before = loop.time()
            await asyncio.sleep(0.001)
            longest = max(longest, loop.time() - before - 0.001)

    tick = asyncio.ensure_future(ticker())
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    async with Clerk("sk_test_x", base_url=url, rate_limit=None) as clerk:
        try:
            await clerk.machines.get(MID)
        except ClerkResponseValidationError as exc:
            outcome = str(exc)
    done = True
    await tick
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    await runner.cleanup()
    print(f"gzip bomb: {len(body) / 2**20:.2f} MiB inflating to 1 GiB")
    print(f"  outcome: {outcome}")
    print(f"  peak RSS growth: {grown:.1f} MiB; longest loop stall: {longest * 1e3:.1f} ms")


async def pause(max_connections: int) -> None:
    loop = asyncio.get_running_loop()
    answered_at: float | None = None
    in_window = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal answered_at, in_window
        now = loop.time()
        if answered_at is None:
            answered_at = now
            return web.json_response({"errors": []}, status=429, headers={"Retry-After": "1"})
        if now < answered_at + 1:
            in_window += 1
        return web.json_response(MACHINE)

    runner, url = await serve(handler)
    async with Clerk(
        "sk_test_x",
        base_url=url,
        rate_limit=None,
        max_connections=max_connections,
        retry=RetryPolicy(max_retries=3),
    ) as clerk:
        results = await asyncio.gather(
            *(clerk.machines.update(MID, name="x") for _ in range(1000)), return_exceptions=True
        )
    await runner.cleanup()
    failed = sum(isinstance(r, BaseException) for r in results)
    print(
        f"429 with 1,000 queued calls, max_connections={max_connections}: "
        f"{in_window} requests inside the Retry-After window, {failed} calls failed"
    )


async def main() -> None:
    await bomb()
    for size in (100, 10):
        await pause(size)


if __name__ == "__main__":
    asyncio.run(main())
