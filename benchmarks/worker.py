"""One benchmark cell in a fresh process: one client, one concurrency, one JSON line out.

Run by ``bench_update.py`` (``python benchmarks/worker.py --client NAME --url URL ...``),
never imported by it, so that each client's imports and memory stay in its own process.

The clients (each sends ``PATCH {url}/machines/{id}`` with ``{"name":..,"default_token_ttl":..}``
and turns the JSON answer into a value):

- ``clerk-default``: ``clerk_async`` as installed without extras: stdlib ``json``
  (``CLERK_ASYNC_PURE_JSON=1``) on the stdlib asyncio loop.
- ``clerk-speedups``: ``clerk_async`` with orjson and uvloop.
- ``floor-default``: a bare aiohttp loop, the least any aiohttp client must do: one session,
  ``TCPConnector(limit=concurrency)``, pre-encoded body and URL, the same headers,
  ``await resp.read()`` and ``json.loads``; stdlib json, asyncio loop (compare with
  ``clerk-default``).
- ``floor-speedups``: the same with ``orjson.loads`` on uvloop (compare with ``clerk-speedups``).
- ``official``: ``clerk-backend-api`` (httpx + pydantic) with one shared ``Clerk`` over one
  ``httpx.AsyncClient`` whose pool allows ``concurrency`` connections, stdlib asyncio loop.
- ``official-uvloop``: the same on uvloop (httpx runs on it through anyio).

Each process imports its client, opens it, checks one answer in full, warms up, then sends
``--requests`` requests from ``--concurrency`` tasks and prints one JSON object: wall time,
process CPU time (user + system, all threads), latency percentiles and peak RSS.
"""

from __future__ import annotations

import time

_T_START = time.perf_counter()

import argparse  # noqa: E402 - the clock above must start before any import
import asyncio  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import types  # noqa: E402
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine  # noqa: E402
from contextlib import AbstractAsyncContextManager, asynccontextmanager  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

CLIENTS = (
    "clerk-default",
    "clerk-speedups",
    "floor-default",
    "floor-speedups",
    "official",
    "official-uvloop",
)
SPEEDUPS = frozenset({"clerk-speedups", "floor-speedups", "official-uvloop"})

SECRET_KEY = "sk_live_benchmark0000000000000000000000000000"
MACHINE_ID = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"
NEW_NAME = "billing-worker"
TTL = 3600
# The same header values as clerk_async sends (not imported from it: the floor must not
# pay for importing clerk_async).
API_VERSION = "2026-05-12"
FLOOR_USER_AGENT = f"clerk-async/0.1.0 Python/{platform.python_version()}"

OneRequest = Callable[[], Awaitable[None]]
ClientFactory = Callable[[str, int], AbstractAsyncContextManager[OneRequest]]


def _check_machine(name: str, machine_id: str, scoped: int) -> None:
    if machine_id != MACHINE_ID or scoped != 1 or name != "billing-worker":
        raise SystemExit(f"unexpected answer: id={machine_id!r} scoped={scoped} name={name!r}")


# What each cell does (``--operation``): a PATCH of a machine (the default), GET of one
# realistic user, or a page of ten of them; the answer is decoded (and, for clerk and the
# ``--attrs`` floors, built into the same attrs objects).
OPERATION = "update"
USER_ID = json.loads(Path(__file__).with_name("user.json").read_text())["id"]  # the server's
HAND_BUILT = False  # --attrs: the floors build the attrs objects by hand


@asynccontextmanager
async def clerk_async_client(url: str, concurrency: int) -> AsyncIterator[OneRequest]:
    from clerk_async import Clerk, Machine, _json

    expected = "json" if os.environ.get("CLERK_ASYNC_PURE_JSON") else "orjson"
    if expected != _json.CODEC:
        raise SystemExit(f"clerk_async codec is {_json.CODEC}, expected {expected}")

    async with Clerk(
        secret_key=SECRET_KEY,
        base_url=url,
        rate_limit=None,
        max_connections=concurrency,
        timeout=300,  # aiohttp's own default, as the floor has: valgrind slows every attempt
        deadline=900,
    ) as clerk:
        if OPERATION == "users-get":
            get = clerk.users.get
            assert (await get(USER_ID)).id == USER_ID

            async def one() -> None:
                await get(USER_ID)

            yield one
            return
        if OPERATION == "users-list":
            users = clerk.users
            assert len((await users.list(limit=10)).data) == 10

            async def one() -> None:
                await users.list(limit=10)

            yield one
            return
        update = clerk.machines.update
        first = await update(MACHINE_ID, name=NEW_NAME, default_token_ttl=TTL)
        assert isinstance(first, Machine)
        _check_machine(first.name, first.id, len(first.scoped_machines))

        async def one() -> None:
            await update(MACHINE_ID, name=NEW_NAME, default_token_ttl=TTL)

        yield one


def hand_builder(cls: type) -> Callable[[Any], Any]:
    """Builds ``cls`` from its JSON the way a careful person writes it by hand, without a
    library and without type checks: one plain function per model, keyword arguments
    read straight from the dict, nested models built by their own function. For
    ``Machine`` the code is::

        def build_Machine(d):
            return Machine(
                id=d["id"], name=d["name"], ...,
                scoped_machines=[build_ScopedMachine(x) for x in d["scoped_machines"]],
                object=d.get("object", "machine"),
                default_token_ttl=d.get("default_token_ttl"),
            )

    It is written out from the attrs fields (``hand_built_source``) so that it stays the
    same objects as the models change; the code is what a person would type.
    """
    scope: dict[str, Any] = {}
    exec(hand_built_source(cls, scope), scope)
    built: Callable[[Any], Any] = scope[f"build_{cls.__name__}"]
    return built


def hand_built_source(cls: type, scope: dict[str, Any], done: set[type] | None = None) -> str:
    """The source of ``build_<cls>`` and of the builders of the models it nests."""
    from typing import Union, get_args, get_origin, get_type_hints

    import attrs

    done = set() if done is None else done
    done.add(cls)
    scope[cls.__name__] = cls
    hints = get_type_hints(cls)
    nested: list[str] = []
    args: list[str] = []
    for field in attrs.fields(cls):
        tp, nullable = hints[field.name], False
        if get_origin(tp) in (Union, types.UnionType) and type(None) in get_args(tp):
            tp, nullable = next(a for a in get_args(tp) if a is not type(None)), True
        item = get_args(tp)[0] if get_origin(tp) is list else None
        model = tp if attrs.has(tp) else item if item is not None and attrs.has(item) else None
        if field.default is attrs.NOTHING:
            read = f"d[{field.name!r}]"
        elif field.default is None:
            read = f"d.get({field.name!r})"
        else:
            read = f"d.get({field.name!r}, {field.default!r})"
        if model is not None:
            if model not in done:
                nested.append(hand_built_source(model, scope, done))
            build = f"build_{model.__name__}"
            value = f"[{build}(x) for x in v]" if item is not None else f"{build}(v)"
            if nullable:
                read = f"None if (v := {read}) is None else {value}"
            else:
                read = value.replace(" v]", f" {read}]") if item is not None else f"{build}({read})"
        args.append(f"        {field.name}={read},")
    own = "\n".join(
        [f"def build_{cls.__name__}(d):", f"    return {cls.__name__}(", *args, "    )", ""]
    )
    return "\n".join([*nested, own])


def _floor(loads: Callable[[bytes], Any]) -> ClientFactory:
    @asynccontextmanager
    async def floor_client(url: str, concurrency: int) -> AsyncIterator[OneRequest]:
        import aiohttp
        from yarl import URL

        method, body = (
            "PATCH",
            json.dumps(
                {"name": NEW_NAME, "default_token_ttl": TTL}, separators=(",", ":")
            ).encode(),
        )
        target = URL(f"{url}/machines/{MACHINE_ID}", encoded=True)
        if OPERATION == "users-get":
            method, body, target = "GET", b"", URL(f"{url}/users/{USER_ID}", encoded=True)
        elif OPERATION == "users-list":
            method, body, target = "GET", b"", URL(f"{url}/users?limit=10", encoded=True)
        decode = loads
        if HAND_BUILT:
            try:
                from clerk_async.models import Machine, User
            except ImportError:  # before the models were split per service
                from clerk_async.models.spec import Machine, User  # type: ignore[no-redef]

            build = hand_builder(Machine if OPERATION == "update" else User)
            if OPERATION == "users-list":
                decode = lambda raw: [build(item) for item in loads(raw)]  # noqa: E731
            else:
                decode = lambda raw: build(loads(raw))  # noqa: E731
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "Clerk-API-Version": API_VERSION,
            "User-Agent": f"{FLOOR_USER_AGENT} aiohttp/{aiohttp.__version__}",
            "Authorization": f"Bearer {SECRET_KEY}",
        }
        data = body or None
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:
            request = session.request

            async def one() -> None:
                async with request(method, target, data=data, headers=headers) as response:
                    raw = await response.read()
                if response.status != 200:
                    raise RuntimeError(f"status {response.status}")
                decode(raw)

            async with request(method, target, data=data, headers=headers) as response:
                first = loads(await response.read())
            if OPERATION == "update":
                _check_machine(first["name"], first["id"], len(first["scoped_machines"]))
            yield one

    return floor_client


@asynccontextmanager
async def official_client(url: str, concurrency: int) -> AsyncIterator[OneRequest]:
    import clerk_backend_api
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits) as http:
        sdk = clerk_backend_api.Clerk(bearer_auth=SECRET_KEY, server_url=url, async_client=http)
        update = sdk.machines.update_async
        first = await update(machine_id=MACHINE_ID, name=NEW_NAME, default_token_ttl=TTL)
        _check_machine(first.name, first.id, len(first.scoped_machines))

        async def one() -> None:
            await update(machine_id=MACHINE_ID, name=NEW_NAME, default_token_ttl=TTL)

        yield one


def _factory(client: str) -> ClientFactory:
    if client.startswith("clerk-"):
        return clerk_async_client
    if client == "floor-default":
        return _floor(json.loads)
    if client == "floor-speedups":
        import orjson

        return _floor(orjson.loads)
    return official_client


async def _phase(
    one: OneRequest, concurrency: int, latencies: list[float], *, count: int, seconds: float
) -> None:
    """Requests from ``concurrency`` tasks, each taking the next one when free, until
    ``count`` were started (``count > 0``) or else until ``seconds`` have passed."""
    clock = time.perf_counter
    record = latencies.append
    remaining = count
    stop_at = clock() + seconds

    async def by_count() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = clock()
            await one()
            record(clock() - started)

    async def by_time() -> None:
        started = clock()
        while started < stop_at:
            await one()
            now = clock()
            record(now - started)
            started = now

    tasks = min(concurrency, count) if count > 0 else concurrency
    await asyncio.gather(*((by_count if count > 0 else by_time)() for _ in range(tasks)))


class _GCClock:
    """A ``gc.callbacks`` entry that adds up the time spent in the cyclic collector."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = [0, 0, 0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.collections[info["generation"]] += 1


def _start_profiler(kind: str) -> Any:
    if kind == "pyinstrument":
        from pyinstrument import Profiler

        sampler = Profiler(interval=0.0002, async_mode="disabled")
        sampler.start()
        return sampler
    import cProfile

    tracer = cProfile.Profile()
    tracer.enable()
    return tracer


def _stop_profiler(profiler: Any, kind: str, path: str) -> None:
    if kind == "pyinstrument":
        profiler.stop()
        with open(path, "w") as out:
            out.write(profiler.output_text(unicode=False, color=False, show_all=False))
        return
    profiler.disable()
    profiler.dump_stats(path)


def _percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    index = min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))
    return ordered[index]


async def run(args: argparse.Namespace, imported_at: float) -> dict[str, Any]:
    factory = _factory(args.client)
    warmup: list[float] = []
    latencies: list[float] = []
    async with factory(args.url, args.concurrency) as one:
        ready_at = time.perf_counter()
        # Warm up: every connection of the pool opened, every lazy path taken at least once.
        await _phase(one, args.concurrency, warmup, count=args.concurrency, seconds=0)
        await _phase(one, args.concurrency, warmup, count=0, seconds=args.warmup)
        gc.collect()
        profiler: Any = None
        if args.profile:
            profiler = _start_profiler(args.profiler)
        gc_clock = _GCClock()
        gc.callbacks.append(gc_clock)
        cpu0 = time.process_time()
        wall0 = time.perf_counter()
        await _phase(one, args.concurrency, latencies, count=args.requests, seconds=args.duration)
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
        gc.callbacks.remove(gc_clock)
        if profiler is not None:
            _stop_profiler(profiler, args.profiler, args.profile)
    latencies.sort()
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
    return {
        "client": args.client,
        "concurrency": args.concurrency,
        "requests": len(latencies),
        "sent": len(latencies) + len(warmup) + 1,  # + the first, checked, request
        "wall_s": wall,
        "rps": len(latencies) / wall,
        "cpu_s": cpu,
        "cpu_us_per_req": cpu / len(latencies) * 1e6,
        "cpu_util": cpu / wall,
        "gc_us_per_req": gc_clock.seconds / len(latencies) * 1e6,
        "gc_collections": gc_clock.collections,
        "p50_ms": _percentile(latencies, 0.50) * 1e3,
        "p90_ms": _percentile(latencies, 0.90) * 1e3,
        "p99_ms": _percentile(latencies, 0.99) * 1e3,
        "max_ms": latencies[-1] * 1e3,
        "rss_mb": rss_kb / 1024,
        "import_s": imported_at - _T_START,
        "open_s": ready_at - imported_at,
        "loop": loop,
        "json": (
            "pydantic"
            if args.client.startswith("official")
            else "orjson"
            if args.client in SPEEDUPS
            else "json"
        ),
        "pid": os.getpid(),
    }


def _run(
    coro: Coroutine[Any, Any, dict[str, Any]],
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None,
) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            return runner.run(coro)
    loop = loop_factory() if loop_factory is not None else asyncio.new_event_loop()
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(coro)
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="one benchmark cell; prints one JSON line")
    parser.add_argument("--client", required=True, choices=CLIENTS)
    parser.add_argument("--url", required=True, help="base URL, e.g. http://127.0.0.1:8000/v1")
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument(
        "--duration", type=float, default=2.0, help="seconds of measured requests (default 2)"
    )
    parser.add_argument(
        "--requests", type=int, default=0, help="a fixed number of requests instead of --duration"
    )
    parser.add_argument(
        "--warmup", type=float, default=0.3, help="seconds of warm-up after one request per task"
    )
    parser.add_argument("--profile", metavar="PATH", help="profile the measured phase to PATH")
    parser.add_argument("--profiler", choices=("cprofile", "pyinstrument"), default="cprofile")
    parser.add_argument(
        "--operation", choices=("update", "users-get", "users-list"), default="update"
    )
    parser.add_argument(
        "--attrs", action="store_true", help="floors: build the attrs objects by hand"
    )
    args = parser.parse_args(argv)
    global OPERATION, HAND_BUILT
    OPERATION, HAND_BUILT = args.operation, args.attrs

    if args.client in SPEEDUPS:
        os.environ.pop("CLERK_ASYNC_PURE_JSON", None)
    else:
        os.environ["CLERK_ASYNC_PURE_JSON"] = "1"

    # Import the client's libraries now, so that import_s is what using it costs.
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if args.client in SPEEDUPS:
        import uvloop

        loop_factory = uvloop.new_event_loop
    if args.client.startswith("clerk-"):
        import clerk_async  # noqa: F401
    elif args.client.startswith("floor-"):
        import aiohttp  # noqa: F401
    else:
        import clerk_backend_api  # noqa: F401
        import httpx  # noqa: F401
    imported_at = time.perf_counter()

    result = _run(run(args, imported_at), loop_factory)
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
