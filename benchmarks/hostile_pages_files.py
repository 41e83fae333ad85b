"""Hostile pages, files, JSON and cancels (issue 23, items 5, 6, 10 and 13): what each costs.

    .venv/bin/python -m benchmarks.hostile_pages_files [pages|json|files|upload MiB|within]

- ``pages``: a server that ignores ``offset`` (the same full page of 500 for ever; the walk is
  cut here at 2,000 pages), and one that caps its pages at 100 below a limit of 500 (1,000
  items): pages asked for, items yielded, how the walk ended.
- ``json``: an answer nested 100,000 deep (200 and 400) and a cyclic or 100,000-deep ``json=``
  argument to ``clerk.request``, with each codec: what the caller gets.
- ``files``: each hostile file part given to ``users.set_profile_image``: what the caller gets,
  and how many requests reached the server.
- ``upload MiB``: a MiB-sized file uploaded: the longest stall of the event loop (a ticker
  measures the gaps between its 1 ms sleeps), the growth of the peak RSS, the outcome. Run
  it in a process of its own (the peak RSS is the process's).
- ``within``: on this interpreter, how often a cancel that comes as a pool slot arrives is
  swallowed by ``_within`` (1,000 tries in each of two orders).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import resource
import sys
import tempfile
import time
from typing import Any

from aiohttp import web

from clerk_async import Clerk, RetryPolicy
from clerk_async import _json as codec

MID = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"


def _machine(i: int) -> dict[str, Any]:
    return {
        "object": "machine",
        "id": f"mch_{i:027d}",
        "name": "n",
        "instance_id": "ins_1",
        "created_at": 1,
        "updated_at": 1,
        "default_token_ttl": 60,
        "scoped_machines": [],
    }


async def serve(handler: Any) -> tuple[web.AppRunner, str]:
    app = web.Application(client_max_size=1 << 30)
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/v1"


def _client(url: str) -> Clerk:
    retry = RetryPolicy(max_retries=0)
    return Clerk("sk_test_x", base_url=url, rate_limit=None, retry=retry)


def _outcome(exc: BaseException | None) -> str:
    if exc is None:
        return "returned"
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:90]}"


async def pages() -> None:
    full = [_machine(i) for i in range(500)]
    asked = 0

    async def ignores_offset(request: web.Request) -> web.StreamResponse:
        nonlocal asked
        asked += 1
        return web.json_response({"data": full, "total_count": 10**6})

    items = [_machine(i) for i in range(1000)]

    async def capped(request: web.Request) -> web.StreamResponse:
        nonlocal asked
        asked += 1
        offset = int(request.query.get("offset", "0"))
        limit = min(int(request.query.get("limit", "10")), 100)
        return web.json_response({"data": items[offset : offset + limit], "total_count": 1000})

    for name, handler in (("ignores offset", ignores_offset), ("caps pages at 100", capped)):
        asked = 0
        runner, url = await serve(handler)
        got: set[str] = set()
        yielded = 0
        error: BaseException | None = None
        try:
            async with _client(url) as clerk:
                async for page in clerk.machines.list(limit=500).pages():
                    yielded += len(page.data)
                    got.update(m.id for m in page.data)
                    if asked >= 2000:
                        break  # the cut: no end in sight
        except Exception as exc:
            error = exc
        finally:
            await runner.cleanup()
        print(
            f"{name:18} pages asked {asked:5,}  items yielded {yielded:9,}  "
            f"distinct {len(got):5,}  {'cut at 2,000 pages' if asked >= 2000 else _outcome(error)}"
        )


async def deep_json() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    cyclic: dict[str, Any] = {"a": []}
    cyclic["a"].append(cyclic)
    nested: list[Any] = []
    for _ in range(100_000):
        nested = [nested]
    codecs = [("installed", codec.loads, codec.dumps)]
    if codec.CODEC != "json":
        codecs.append(("stdlib", json.loads, codec._stdlib_dumps))
    for label, loads, dumps in codecs:
        codec.loads, codec.dumps = loads, dumps  # what CLERK_ASYNC_PURE_JSON=1 selects
        for status in (200, 400):

            async def answer(request: web.Request, status: int = status) -> web.StreamResponse:
                return web.Response(status=status, body=deep, content_type="application/json")

            runner, url = await serve(answer)
            async with _client(url) as clerk:
                for call in ("machines.get", "request"):
                    error: BaseException | None = None
                    try:
                        if call == "request":
                            await clerk.request("GET", "/x")
                        else:
                            await clerk.machines.get(MID)
                    except BaseException as exc:  # RecursionError included
                        error = exc
                    print(f"{label:9} {status} answer 100,000 deep, {call:12}: {_outcome(error)}")
            await runner.cleanup()
        runner, url = await serve(lambda request: web.json_response({}))
        async with _client(url) as clerk:
            for name, value in (("cyclic", cyclic), ("100,000 deep", nested)):
                error = None
                try:
                    await clerk.request("POST", "/x", json=value)
                except BaseException as exc:
                    error = exc
                print(f"{label:9} json= {name:12} to clerk.request: {_outcome(error)}")
        await runner.cleanup()


class _AsyncFile:
    name = "photo.png"

    async def read(self, size: int = -1) -> bytes:
        return b"png"


class _Returns:
    def __init__(self, value: Any) -> None:
        self.value = value

    def read(self, size: int = -1) -> Any:
        return self.value


async def files() -> None:
    received = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal received
        received += 1
        await request.read()
        return web.json_response({})

    runner, url = await serve(handler)
    folder = tempfile.mkdtemp()
    text = os.path.join(folder, "photo.txt")
    with open(text, "w") as f:  # noqa: ASYNC230 (set-up, before measuring)
        f.write("text")
    closed = open(text, "rb")  # noqa: SIM115, ASYNC230
    closed.close()
    odd = os.path.join(os.fsencode(folder), b"caf\xe9.png")
    with open(odd, "wb") as f:  # noqa: ASYNC230
        f.write(b"png")
    cases = [
        ("text-mode file", lambda: open(text)),  # noqa: SIM115
        ("StringIO", lambda: io.StringIO("text")),
        ("async file object", _AsyncFile),
        ("closed file", lambda: closed),
        ("non-UTF-8 name", lambda: open(os.fsdecode(odd), "rb")),  # noqa: SIM115
        ("read() -> None", lambda: _Returns(None)),
        ("read() -> 5", lambda: _Returns(5)),
    ]
    async with _client(url) as clerk:
        for name, make in cases:
            before = received
            error: BaseException | None = None
            try:
                await clerk.users.set_profile_image("user_1", file=make())
            except BaseException as exc:
                error = exc
            sent = received - before
            print(f"{name:18} -> {_outcome(error)} (requests sent: {sent})")
    await runner.cleanup()


async def upload(mib: int) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        await request.read()
        return web.json_response({})

    runner, url = await serve(handler)
    path = os.path.join(tempfile.mkdtemp(), "big.png")
    with open(path, "wb") as f:  # noqa: ASYNC230
        f.truncate(mib << 20)
    stalls: list[float] = []
    done = False

    async def ticker() -> None:
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            stalls.append(now - last)
            last = now

    async with _client(url) as clerk:
        # Warm up first: the session, a connection, the users service's import and hooks.
        with contextlib.suppress(Exception):
            await clerk.users.set_profile_image("user_1", file=b"png")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tick = asyncio.create_task(ticker())
        await asyncio.sleep(0.01)
        error: BaseException | None = None
        with open(path, "rb") as f:  # noqa: ASYNC230 (the caller opens it, as users do)
            try:
                await clerk.users.set_profile_image("user_1", file=f)
            except BaseException as exc:
                error = exc
        done = True
        await tick
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) / 1024
    await runner.cleanup()
    print(
        f"{mib} MiB file: longest loop stall {max(stalls) * 1000:,.0f} ms, peak RSS "
        f"+{grown:,.0f} MiB, {_outcome(error)}"
    )


async def within() -> None:
    from clerk_async._transport import _within

    swallowed = {0: 0, 1: 0}
    for turns in (0, 1):
        for _ in range(1000):
            gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()

            async def acquire(gate: asyncio.Future[None] = gate) -> None:
                await gate

            async def caller(acquire: Any = acquire) -> bool:
                got = await _within(acquire, 60, lambda: None)
                await asyncio.sleep(0)
                return got

            task = asyncio.ensure_future(caller())
            await asyncio.sleep(0)
            gate.set_result(None)
            for _ in range(turns):
                await asyncio.sleep(0)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                continue
            swallowed[turns] += 1
    version = ".".join(map(str, sys.version_info[:3]))
    print(
        f"Python {version}: cancels swallowed by _within when the slot comes in the same turn: "
        f"{swallowed[0]} of 1,000; one turn before: {swallowed[1]} of 1,000"
    )


def main() -> None:
    what = sys.argv[1] if len(sys.argv) > 1 else "pages"
    if what == "pages":
        asyncio.run(pages())
    elif what == "json":
        asyncio.run(deep_json())
    elif what == "files":
        asyncio.run(files())
    elif what == "upload":
        asyncio.run(upload(int(sys.argv[2]) if len(sys.argv) > 2 else 200))
    elif what == "within":
        asyncio.run(within())
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
