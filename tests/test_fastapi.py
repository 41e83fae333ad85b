"""clerk_async.fastapi and examples/fastapi_app.py, on real servers over loopback.

The example service runs under uvicorn in a subprocess (``python -W error::ResourceWarning``)
in front of a FakeClerk served by this test process; an httpx client drives it. A small
aiohttp middleware on the fake records the TCP peer of every request it receives, which
is how we see how many connections the service's one Clerk client opened.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import attrs
import httpx
import pytest
import pytest_asyncio
import uvicorn
from aiohttp import web
from fastapi import FastAPI

from clerk_async import (
    Clerk,
    ClerkConfigError,
    ClerkConnectionError,
    ClerkResponseValidationError,
    ClerkTimeoutError,
    ClientStateError,
    RateLimit,
)
from clerk_async.errors import error_from_response
from clerk_async.fastapi import ClerkDep, ClerkOptions, clerk_lifespan, error_reply, open_clerk
from clerk_async.testing import FakeClerk, Faults

# The async tests share one event loop with the FakeClerk and the service of this module.
module_loop = pytest.mark.asyncio(loop_scope="module")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "fastapi_app.py"
MAX_CONNECTIONS = 10
READY = re.compile(r"Uvicorn running on (http://127\.0\.0\.1:\d+)")
LEAK_MARKERS = ("Unclosed client session", "Unclosed connector", "ResourceWarning")


def _load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fastapi_app_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


example = _load_example()


# --- harness ----------------------------------------------------------------------------


@attrs.define
class ConnectionMeter:
    """What the fake saw: the TCP peers of its requests, and how many were in flight."""

    peers: set[tuple[str, int]] = attrs.Factory(set)
    in_flight: int = 0
    max_in_flight: int = 0

    def reset(self) -> None:
        self.peers.clear()
        self.max_in_flight = 0

    def middleware(self) -> Callable[..., Awaitable[web.StreamResponse]]:
        @web.middleware
        async def meter(
            request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
        ) -> web.StreamResponse:
            assert request.transport is not None
            host, port = request.transport.get_extra_info("peername")[:2]
            self.peers.add((host, port))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                return await handler(request)
            finally:
                self.in_flight -= 1

        return meter


@attrs.define
class Service:
    """The example app under uvicorn in a subprocess; ``stderr`` is everything it logged."""

    proc: asyncio.subprocess.Process
    url: str = ""
    lines: list[str] = attrs.Factory(list)
    reader: asyncio.Task[None] | None = None

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        rc = await asyncio.wait_for(self.proc.wait(), 15)
        if self.reader is not None:
            await self.reader
        return rc


async def start_service(*args: str, env: dict[str, str] | None = None) -> Service:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-W",
        "error::ResourceWarning",
        *args,
        "--port",
        "0",
        "--no-access-log",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )
    service = Service(proc)
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def read() -> None:
        assert proc.stderr is not None
        while line := (await proc.stderr.readline()).decode(errors="replace"):
            service.lines.append(line)
            if not ready.done() and (match := READY.search(line)):
                ready.set_result(match.group(1))
        if not ready.done():
            ready.set_exception(RuntimeError("the service exited:\n" + service.stderr))

    service.reader = asyncio.create_task(read())
    try:
        service.url = await asyncio.wait_for(ready, 20)
    except BaseException:
        await service.stop(signal.SIGKILL)
        raise
    return service


@asynccontextmanager
async def serve_in_process(app: FastAPI) -> AsyncIterator[str]:
    """``app`` under uvicorn as a task of this loop; yields its base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, lifespan="on", log_config=None, ws="none"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn stopped before starting")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@pytest.fixture(scope="module")
def meter() -> ConnectionMeter:
    return ConnectionMeter()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fake(meter: ConnectionMeter) -> AsyncIterator[FakeClerk]:
    clerk_fake = FakeClerk(rate_limit=None)
    clerk_fake.app.middlewares.append(meter.middleware())  # before start: the app freezes then
    async with clerk_fake:
        for i in range(12):
            clerk_fake.add_machine(f"svc-{i:02d}")
        yield clerk_fake


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def service(fake: FakeClerk) -> AsyncIterator[Service]:
    svc = await start_service(
        str(EXAMPLE),
        "--max-connections",
        str(MAX_CONNECTIONS),
        "--max-retries",
        "0",
        "--rate-limit",
        "off",
        env={"CLERK_SECRET_KEY": fake.secret_key, "CLERK_API_URL": fake.url.removesuffix("/v1")},
    )
    yield svc
    await svc.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def http(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=service.url, limits=limits, timeout=15) as client:
        yield client


@pytest.fixture
def faults(fake: FakeClerk) -> Iterator[Callable[[Faults], None]]:
    """Set the fake's faults for one test; they are cleared afterwards."""

    def set_faults(new: Faults) -> None:
        fake.faults = new

    yield set_faults
    fake.faults = Faults()
    fake.rate_limit = None


def machine_ids(fake: FakeClerk) -> list[str]:
    return list(fake.machines)  # the seeded ones, in creation order


def assert_no_secret(response: httpx.Response, fake: FakeClerk) -> None:
    assert fake.secret_key not in response.text
    assert all(fake.secret_key not in value for value in response.headers.values())
    assert "Bearer" not in response.text


# --- the example service against FakeClerk ----------------------------------------------


@module_loop
async def test_list_machines_is_paged(http: httpx.AsyncClient, fake: FakeClerk) -> None:
    first = await http.get("/machines", params={"limit": 5, "order_by": "name"})
    assert first.status_code == 200
    body = first.json()
    total = len(fake.machines)
    assert (body["total_count"], body["offset"], body["limit"], body["next_offset"]) == (
        total,
        0,
        5,
        5,
    )
    assert [m["name"] for m in body["data"]] == sorted(m.name for m in fake.machines.values())[:5]
    assert set(body["data"][0]) >= {"id", "name", "default_token_ttl", "created_at"}

    last = (
        await http.get("/machines", params={"limit": 5, "offset": 10, "order_by": "name"})
    ).json()
    assert len(last["data"]) == total - 10
    assert last["next_offset"] is None

    found = (await http.get("/machines", params={"query": "svc-03"})).json()
    assert [m["name"] for m in found["data"]] == ["svc-03"]


@module_loop
async def test_update_machine_changes_only_what_is_given(
    http: httpx.AsyncClient, fake: FakeClerk
) -> None:
    machine_id = machine_ids(fake)[0]
    name = fake.machines[machine_id].name
    response = await http.patch(f"/machines/{machine_id}", json={"default_token_ttl": 120})
    assert response.status_code == 200, response.text
    assert response.json()["default_token_ttl"] == 120
    assert response.json()["name"] == name
    assert fake.requests[-1].json == {"default_token_ttl": 120}  # PATCH sent only that field
    assert fake.machines[machine_id].default_token_ttl == 120


@module_loop
async def test_not_found_keeps_clerk_code_and_trace_id(
    http: httpx.AsyncClient, fake: FakeClerk
) -> None:
    response = await http.patch("/machines/mch_missing", json={"name": "x"})
    assert response.status_code == 404
    body = response.json()
    assert [e["code"] for e in body["errors"]] == ["resource_not_found"]
    assert body["errors"][0]["long_message"] == "No machine was found with id mch_missing"
    assert body["clerk_trace_id"]
    assert response.headers["X-Clerk-Trace-Id"] == body["clerk_trace_id"]
    assert_no_secret(response, fake)


@module_loop
async def test_invalid_input_is_422_before_any_request(
    http: httpx.AsyncClient, fake: FakeClerk
) -> None:
    before = fake.stats.total_requests
    response = await http.patch(f"/machines/{machine_ids(fake)[1]}", json={"default_token_ttl": 0})
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["code"] == "form_param_invalid"
    assert error["meta"] == {"param_name": "default_token_ttl"}
    assert "X-Clerk-Trace-Id" not in response.headers
    assert fake.stats.total_requests == before  # refused before reaching Clerk

    # Shapes are FastAPI's to check: an unknown field is its usual 422.
    unknown = await http.patch(f"/machines/{machine_ids(fake)[1]}", json={"nmae": "x"})
    assert unknown.status_code == 422
    assert "detail" in unknown.json()


@module_loop
async def test_batch_update_returns_a_job_summary(http: httpx.AsyncClient, fake: FakeClerk) -> None:
    ids = machine_ids(fake)
    updates: list[dict[str, Any]] = [
        {"machine_id": i, "name": f"batched-{n}"} for n, i in enumerate(ids)
    ]
    updates.insert(3, {"machine_id": "mch_unknown", "name": "ghost"})
    updates.insert(7, {"machine_id": ids[0], "default_token_ttl": -5})
    response = await http.post("/machines/batch-update", params={"concurrency": 4}, json=updates)
    assert response.status_code == 200, response.text
    summary = response.json()
    assert (summary["total"], summary["succeeded"], summary["failed"]) == (14, 12, 2)
    first, second = summary["failures"]
    assert (first["index"], first["machine_id"], first["status"]) == (3, "mch_unknown", 404)
    assert first["errors"][0]["code"] == "resource_not_found"
    assert first["clerk_trace_id"]
    assert (second["index"], second["status"]) == (7, 422)
    assert second["errors"][0]["meta"] == {"param_name": "default_token_ttl"}
    assert [fake.machines[i].name for i in ids] == [f"batched-{n}" for n in range(len(ids))]
    assert_no_secret(response, fake)

    too_many = [{"machine_id": ids[0]}] * (example.MAX_BATCH + 1)
    assert (await http.post("/machines/batch-update", json=too_many)).status_code == 422


@module_loop
async def test_concurrent_requests_share_one_bounded_pool(
    service: Service,
    fake: FakeClerk,
    meter: ConnectionMeter,
    faults: Callable[[Faults], None],
) -> None:
    # Each Clerk answer takes 50 ms, so the 100 calls overlap and the pool fills up.
    faults(Faults(delay_rate=1.0, delay_seconds=0.05))
    meter.reset()
    before = fake.stats.total_requests

    # aiohttp drives this one: httpx is slow to reuse 100 pooled connections at once.
    async with aiohttp.ClientSession(service.url) as session:

        async def burst() -> list[int]:
            async def get() -> int:
                async with session.get("/machines", params={"limit": 1}) as response:
                    await response.read()
                    return response.status

            return await asyncio.gather(*(get() for _ in range(100)))

        started = time.monotonic()
        assert await burst() == [200] * 100
        elapsed = time.monotonic() - started
        assert fake.stats.total_requests - before == 100
        print(
            f"100 concurrent requests: {len(meter.peers)} TCP connections to Clerk, "
            f"at most {meter.max_in_flight} in flight, {elapsed:.2f} s"
        )
        assert 2 <= len(meter.peers) <= MAX_CONNECTIONS  # one shared pool, reused
        assert meter.max_in_flight <= MAX_CONNECTIONS

        # A second burst rides on the same kept-alive connections: none is opened.
        opened = set(meter.peers)
        assert await burst() == [200] * 100
        assert meter.peers == opened


@module_loop
async def test_clerk_failures_map_to_gateway_statuses(
    http: httpx.AsyncClient, fake: FakeClerk, faults: Callable[[Faults], None]
) -> None:
    path = f"/machines/{machine_ids(fake)[2]}"

    faults(Faults(error_rate=1.0, error_statuses=(503,), error_after_apply_fraction=0.0))
    response = await http.patch(path, json={"name": "down"})
    assert response.status_code == 502
    assert response.json()["errors"][0]["code"] == "internal_clerk_error"
    assert response.headers["X-Clerk-Trace-Id"] == response.json()["clerk_trace_id"]

    faults(Faults(non_json_rate=1.0))  # an HTML 502 from a proxy in front of Clerk
    response = await http.patch(path, json={"name": "down"})
    assert response.status_code == 502
    assert response.json() == {
        "errors": [
            {
                "code": "clerk_api_error",
                "message": "Clerk answered with status 502",
                "long_message": None,
                "meta": {},
            }
        ],
        "clerk_trace_id": None,
    }

    faults(Faults(reset_rate=1.0, error_after_apply_fraction=0.0))  # Clerk hangs up
    response = await http.patch(path, json={"name": "down"})
    assert response.status_code == 503
    assert response.json()["errors"][0]["code"] == "clerk_unreachable"
    assert fake.url.removesuffix("/v1") not in response.text  # the client's config stays in
    assert_no_secret(response, fake)


@module_loop
async def test_rate_limited_keeps_429_and_retry_after(
    http: httpx.AsyncClient, fake: FakeClerk, faults: Callable[[Faults], None]
) -> None:
    # A Retry-After beyond the policy's max_retry_after (60 s) is not waited out.
    fake.rate_limit = RateLimit(1, 90)
    assert (await http.get("/machines", params={"limit": 1})).status_code == 200
    response = await http.get("/machines", params={"limit": 1})
    assert response.status_code == 429
    assert response.json()["errors"][0]["code"] == "too_many_requests"
    assert 88 <= int(response.headers["Retry-After"]) <= 90
    fake.rate_limit = None
    sent = len(fake.requests)
    # The 429 paused the endpoint: the next call is answered at once, without reaching Clerk.
    response = await http.get("/machines", params={"limit": 1})
    assert response.status_code == 429
    assert 80 <= int(response.headers["Retry-After"]) <= 90
    assert len(fake.requests) == sent


# --- shutdown ---------------------------------------------------------------------------


async def _exercise_and_stop(service: Service, sig: int) -> tuple[int, str]:
    async with httpx.AsyncClient(base_url=service.url, timeout=15) as client:
        page = (await client.get("/machines", params={"limit": 3})).json()
        assert len(page["data"]) == 3
        ids = [m["id"] for m in page["data"]]
        assert (await client.patch(f"/machines/{ids[0]}", json={"name": "x"})).status_code == 200
        batch = [{"machine_id": i, "default_token_ttl": 60} for i in ids]
        summary = (await client.post("/machines/batch-update", json=batch)).json()
        assert summary["succeeded"] == 3
    return await service.stop(sig), service.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@module_loop
async def test_demo_shuts_down_without_leaks(sig: int) -> None:
    """The one-command demo (embedded FakeClerk) closes the client's session on a signal."""
    service = await start_service(str(EXAMPLE), "--fake")
    rc, stderr = await _exercise_and_stop(service, sig)
    assert "Application shutdown complete." in stderr, stderr
    assert not [marker for marker in (*LEAK_MARKERS, "Traceback") if marker in stderr], stderr
    assert rc in (0, -sig)  # uvicorn re-raises SIGTERM once it has shut down


@module_loop
async def test_leak_check_sees_an_unclosed_session() -> None:
    """The check above is not vacuous: the same run with Clerk.aclose() disabled is caught."""
    script = (
        "import runpy, sys\n"
        "import clerk_async.client\n"
        "async def keep_open(self): pass\n"
        "clerk_async.client.Clerk.aclose = keep_open\n"
        "sys.argv = sys.argv[1:]\n"
        "runpy.run_path(sys.argv[0], run_name='__main__')\n"
    )
    service = await start_service("-c", script, str(EXAMPLE), "--fake")
    _, stderr = await _exercise_and_stop(service, signal.SIGINT)
    assert "Unclosed client session" in stderr


# --- the helpers, in process ------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@module_loop
async def test_in_process_server_maps_clerk_down_and_timeouts() -> None:
    dead = example.create_app(
        secret_key="sk_test_service",
        base_url=f"http://127.0.0.1:{_free_port()}/v1",
        max_retries=0,
        rate_limit=None,
    )
    async with serve_in_process(dead) as url, httpx.AsyncClient(base_url=url) as client:
        clerk = dead.state.clerk
        assert isinstance(clerk, Clerk)
        assert not clerk.closed
        response = await client.get("/machines")
        assert response.status_code == 503
        assert response.json()["errors"][0]["code"] == "clerk_unreachable"
        assert "sk_test_service" not in response.text
    assert clerk.closed
    assert not hasattr(dead.state, "clerk")

    async with FakeClerk(
        rate_limit=None, faults=Faults(delay_rate=1.0, delay_seconds=0.5)
    ) as slow_fake:
        slow = example.create_app(
            secret_key=slow_fake.secret_key,
            base_url=slow_fake.url,
            timeout=0.1,
            max_retries=0,
            rate_limit=None,
        )
        async with serve_in_process(slow) as url, httpx.AsyncClient(base_url=url) as client:
            response = await client.get("/machines")
        assert response.status_code == 504
        assert response.json()["errors"][0]["code"] == "clerk_timeout"


@module_loop
async def test_lifespan_helpers_compose_and_fail_clearly() -> None:
    events: list[str] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_clerk(app, secret_key="sk_test_x", base_url="http://127.0.0.1:1/v1") as c:
            events.append("clerk open")
            assert app.state.clerk is c
            yield
            events.append("own shutdown")
        events.append("clerk closed" if c.closed else "clerk still open")

    app = FastAPI(lifespan=lifespan)

    @app.get("/key")
    async def key(clerk: ClerkDep) -> str:
        return repr(clerk)

    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/key")).json().startswith("<Clerk http://127.0.0.1:1/v1")
        with pytest.raises(ClientStateError, match="already has a Clerk"):
            async with open_clerk(app):
                pass
    assert events == ["clerk open", "own shutdown", "clerk closed"]

    # clerk_lifespan makes a new client at each start, so an app can start twice.
    twice = FastAPI(lifespan=clerk_lifespan(secret_key="sk_test_x"))
    seen = []
    for _ in range(2):
        async with twice.router.lifespan_context(twice):
            seen.append(twice.state.clerk)
    assert seen[0] is not seen[1]
    assert all(c.closed for c in seen)

    # Without the lifespan, the dependency says what is missing.
    bare = FastAPI()
    bare.get("/key")(key)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=bare), base_url="http://t") as c:
        with pytest.raises(ClientStateError, match=r"clerk_lifespan\(\)"):
            await c.get("/key")


def _api_error(status: int, body: bytes, **headers: str) -> Any:
    return error_from_response(status, headers, body)


def test_error_reply_mapping() -> None:
    clerk_401 = _api_error(
        401,
        b'{"errors":[{"code":"authentication_invalid","message":"Invalid authentication"}],'
        b'"clerk_trace_id":"abc123"}',
    )
    reply = error_reply(clerk_401)  # Clerk refused the service's key: not the caller's fault
    assert reply.status == 502
    assert reply.body["errors"][0]["code"] == "authentication_invalid"
    assert reply.headers == {"X-Clerk-Trace-Id": "abc123"}

    limited = error_reply(_api_error(429, b"{}", **{"Retry-After": "2.5"}))
    assert (limited.status, limited.headers["Retry-After"]) == (429, "3")

    forged = error_reply(_api_error(404, b'{"clerk_trace_id":"a\\r\\nSet-Cookie: x=1"}'))
    assert forged.status == 404
    assert forged.headers == {}

    missing_key = ClerkConfigError("secret_key", "no secret key: set CLERK_SECRET_KEY")
    config = error_reply(missing_key)  # the service's configuration, not the caller's input
    assert config.status == 500
    assert "CLERK_SECRET_KEY" not in str(config.body)

    assert error_reply(ClerkTimeoutError("GET /machines: no answer within 5s")).status == 504
    unreachable = error_reply(ClerkConnectionError("GET /machines: Cannot connect to host x:1"))
    assert unreachable.status == 503
    assert "host" not in str(unreachable.body)
    garbled = ClerkResponseValidationError("not JSON", status=200, body=b"<html>")
    assert error_reply(garbled).status == 502


def test_clerk_options_name_every_clerk_keyword() -> None:
    parameters = set(inspect.signature(Clerk).parameters)
    assert set(ClerkOptions.__annotations__) == parameters


def test_fastapi_is_optional() -> None:
    code = (
        "import sys\n"
        "import clerk_async\n"
        "assert 'fastapi' not in sys.modules, 'clerk_async imported fastapi'\n"
        "sys.modules['fastapi'] = None\n"
        "try:\n"
        "    import clerk_async.fastapi\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    assert "pip install 'clerk-async[fastapi]'" in out.stdout, out.stderr
