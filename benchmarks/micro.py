"""Per-object microbenchmarks of clerk_async's request path, and import times.

    .venv/bin/python -m benchmarks.micro            # ~30 s
    .venv/bin/python -m benchmarks.micro --quick    # ~10 s

Each row is the best of ``--repeat`` timeit runs of ``--number`` calls, in µs per call
(the best run is the one least disturbed by the rest of a shared machine). The rows:

- ``structure``: ``converter.structure(d, Machine)`` from a parsed response dict, and the
  cached hook that ``_response.decode`` calls (``converter.get_structure_hook(Machine)``).
- ``prepare``: the whole prepared request of one ``UpdateMachineParams`` (path, body, JSON).
- ``UpdateMachineParams(...)``: the attrs constructor with its validators.
- ``build_params``: what ``machines.update("mch_..", name=.., default_token_ttl=..)`` does
  to its arguments (keywords), and the same from a camelCase mapping.
- ``request build``: ``prepare`` and the ``yarl.URL(..., encoded=True)`` ``Transport.send``
  makes of it.
- ``update() up to the network``: ``await clerk.machines.update(...)`` with
  ``Transport.send`` replaced (in this process only) by a stub that returns a ready
  ``Machine``: argument handling + params + ``prepare`` + coroutine overhead, i.e.
  everything before the transport.
- ``decode``: JSON parse + structure, as ``_response.decode`` does it, with each codec.
- JSON alone, and the official SDK's equivalents (pydantic) for comparison.

Import times: wall time of a fresh ``python -c "import X"`` (median of 5), minus nothing
(the bare interpreter's start is its own row), and ``-X importtime``'s cumulative time of
the top-level module (median of 5).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import timeit
from collections.abc import Callable
from typing import Any

try:
    from benchmarks.server import MACHINE as RESPONSE
    from benchmarks.server import MACHINE_ID
except ImportError:  # run as a script: python benchmarks/micro.py
    from server import MACHINE as RESPONSE  # type: ignore[no-redef, import-not-found]
    from server import MACHINE_ID  # type: ignore[no-redef, import-not-found]

BASE_URL = "https://api.clerk.com/v1"
RAW = json.dumps(RESPONSE, separators=(",", ":")).encode()

Row = tuple[str, float]


def best_us(fn: Callable[[], object], number: int, repeat: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def best_async_us(
    factory: Callable[[], Any], number: int, repeat: int, loop: asyncio.AbstractEventLoop
) -> float:
    """Best of ``repeat`` runs of ``number`` sequential awaits inside one coroutine."""

    async def batch() -> float:
        started = time.perf_counter()
        for _ in range(number):
            await factory()
        return time.perf_counter() - started

    return min(loop.run_until_complete(batch()) for _ in range(repeat)) / number * 1e6


def clerk_rows(number: int, repeat: int) -> list[Row]:
    import orjson
    from yarl import URL

    from clerk_async import Clerk, Machine, UpdateMachineParams, _json
    from clerk_async._convert import build_params, converter
    from clerk_async._prepare import prepare
    from clerk_async._transport import Transport

    rows: list[Row] = []
    n, r = number, repeat
    structure_hook = converter.get_structure_hook(Machine)
    params = UpdateMachineParams(machine_id=MACHINE_ID, name="billing-worker", default_token_ttl=60)
    fields = {"name": "billing-worker", "default_token_ttl": 60}
    camel = {"machineId": MACHINE_ID, "name": "billing-worker", "defaultTokenTtl": 60}

    rows.append(
        (
            "structure Machine: converter.structure(d, Machine)",
            best_us(lambda: converter.structure(RESPONSE, Machine), n, r),
        )
    )
    rows.append(
        (
            "structure Machine: cached hook (as _response.decode)",
            best_us(lambda: structure_hook(RESPONSE, Machine), n, r),
        )
    )
    rows.append(
        (
            "prepare(PATCH, UpdateMachineParams)",
            best_us(lambda: prepare("PATCH", "/machines/{machine_id}", Machine, params), n, r),
        )
    )
    rows.append(
        (
            "UpdateMachineParams(...) (attrs init + validators)",
            best_us(
                lambda: UpdateMachineParams(
                    machine_id=MACHINE_ID, name="billing-worker", default_token_ttl=60
                ),
                n,
                r,
            ),
        )
    )
    rows.append(
        (
            "build_params(UpdateMachineParams, id, keywords)",
            best_us(
                lambda: build_params(
                    UpdateMachineParams, MACHINE_ID, fields, id_field="machine_id"
                ),
                n,
                r,
            ),
        )
    )
    rows.append(
        (
            "build_params(UpdateMachineParams, camelCase mapping)",
            best_us(
                lambda: build_params(UpdateMachineParams, camel, {}, id_field="machine_id"), n, r
            ),
        )
    )

    template = "/machines/{machine_id}"
    original_dumps = _json.dumps

    def request_build(dumps: Callable[[Any], bytes]) -> Callable[[], object]:
        def build() -> object:
            _json.dumps = dumps
            prepared = prepare("PATCH", template, Machine, params)
            return URL(BASE_URL + prepared.path, encoded=True), prepared.body

        return build

    stdlib_dumps = _json._stdlib_dumps
    rows.append(
        (
            "request build, stdlib json",
            best_us(request_build(stdlib_dumps), n, r),
        )
    )
    rows.append(("request build, orjson", best_us(request_build(orjson.dumps), n, r)))
    _json.dumps = original_dumps
    rows.append(
        (
            "  of which yarl.URL(str, encoded=True)",
            best_us(lambda: URL(BASE_URL + "/machines/" + MACHINE_ID, encoded=True), n, r),
        )
    )

    # update() up to the network: stub out the send (this process only).
    machine: Machine = structure_hook(RESPONSE, Machine)

    async def fake_send(self: Transport, *args: Any) -> Machine:
        return machine

    original_send = Transport.send
    loop = asyncio.new_event_loop()
    try:
        Transport.send = fake_send  # type: ignore[method-assign, assignment]
        clerk = Clerk(secret_key="sk_live_micro", base_url=BASE_URL, rate_limit=None)
        update = clerk.machines.update
        for label, dumps in (("stdlib json", stdlib_dumps), ("orjson", orjson.dumps)):
            _json.dumps = dumps
            rows.append(
                (
                    f"await machines.update(id, name=, ttl=) up to the network, {label}",
                    best_async_us(
                        lambda: update(MACHINE_ID, name="billing-worker", default_token_ttl=60),
                        n,
                        r,
                        loop,
                    ),
                )
            )
    finally:
        Transport.send = original_send  # type: ignore[method-assign]
        _json.dumps = original_dumps
        loop.close()

    rows.append(
        (
            "decode: json.loads + structure hook",
            best_us(lambda: structure_hook(json.loads(RAW), Machine), n, r),
        )
    )
    rows.append(
        (
            "decode: orjson.loads + structure hook",
            best_us(lambda: structure_hook(orjson.loads(RAW), Machine), n, r),
        )
    )
    rows.append(
        ("json.loads(response) (the floor's decode)", best_us(lambda: json.loads(RAW), n, r))
    )
    rows.append(("orjson.loads(response)", best_us(lambda: orjson.loads(RAW), n, r)))
    rows.append(("stdlib json dumps(body)", best_us(lambda: stdlib_dumps(fields), n, r)))
    rows.append(("orjson.dumps(body)", best_us(lambda: orjson.dumps(fields), n, r)))
    return rows


def official_rows(number: int, repeat: int) -> list[Row]:
    try:
        from typing import Optional

        from clerk_backend_api import models
        from clerk_backend_api.utils import serializers as _serializers
    except ImportError:
        return [("clerk-backend-api not installed: official rows skipped", float("nan"))]
    n, r = max(number // 10, 10), repeat
    serializers: Any = _serializers  # untyped
    text = RAW.decode()
    body = models.UpdateMachineRequestBody(name="billing-worker", default_token_ttl=60)
    optional_body: Any = Optional[models.UpdateMachineRequestBody]  # noqa: UP045 - as the SDK
    return [
        (
            "official: unmarshal_json(text, Machine) (what the SDK does per response)",
            best_us(lambda: serializers.unmarshal_json(text, models.Machine), n, r),
        ),
        (
            "official: marshal_json(body, Optional[...]) (what the SDK does per request)",
            best_us(lambda: serializers.marshal_json(body, optional_body), n, r),
        ),
        (
            "official: Machine.model_validate_json(raw) (pydantic at its best)",
            best_us(lambda: models.Machine.model_validate_json(RAW), number, r),
        ),
    ]


# --- imports ------------------------------------------------------------------------------

IMPORTS = (
    ("python -c pass (interpreter start)", "pass", None),
    ("import aiohttp", "import aiohttp", "aiohttp"),
    ("import clerk_async", "import clerk_async", "clerk_async"),
    ("import httpx", "import httpx", "httpx"),
    ("import clerk_backend_api", "import clerk_backend_api", "clerk_backend_api"),
    (
        "clerk_async: import + Clerk(...).machines",
        "from clerk_async import Clerk; Clerk(secret_key='sk_live_x').machines",
        None,
    ),
    (
        "clerk_backend_api: import + Clerk(...).machines + models.Machine",
        "from clerk_backend_api import Clerk, models; Clerk(bearer_auth='sk_live_x').machines;"
        " models.Machine",
        None,
    ),
)


def _import_time(code: str, module: str | None, env: dict[str, str]) -> tuple[float, float]:
    """(wall ms, -X importtime cumulative ms of ``module`` or nan) of one fresh process."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    wall = (time.perf_counter() - started) * 1e3
    cumulative = float("nan")
    if module is not None:
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        for line in done.stderr.splitlines():
            parts = line.split("|")
            if len(parts) == 3 and parts[2].strip() == module:
                cumulative = int(parts[1]) / 1e3
    return wall, cumulative


def import_rows(runs: int) -> list[tuple[str, float, float]]:
    env = dict(os.environ)
    env["CLERK_ASYNC_PURE_JSON"] = "1"  # the default install: no orjson
    rows = []
    for label, code, module in IMPORTS:
        try:
            _import_time(code, module, env)  # warm the page cache
        except subprocess.CalledProcessError:
            rows.append((label + " (failed)", float("nan"), float("nan")))
            continue
        samples = [_import_time(code, module, env) for _ in range(runs)]
        rows.append(
            (
                label,
                statistics.median(s[0] for s in samples),
                statistics.median(s[1] for s in samples),
            )
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="clerk_async microbenchmarks and import times")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--number", type=int, help="calls per timeit run (default 20000)")
    parser.add_argument("--repeat", type=int, help="timeit runs; the best counts (default 7)")
    parser.add_argument("--import-runs", type=int, default=5)
    args = parser.parse_args(argv)
    number = args.number or (2000 if args.quick else 20000)
    repeat = args.repeat or (3 if args.quick else 7)

    print(f"Python {sys.version.split()[0]}; best of {repeat} x {number} calls, µs per call")
    print()
    print("| operation | µs |")
    print("|---|---:|")
    for label, us in clerk_rows(number, repeat) + official_rows(number, repeat):
        print(f"| {label} | {us:.2f} |")
    print()
    print(f"Import times, fresh processes, median of {args.import_runs} (default install):")
    print()
    print("| what | wall ms | -X importtime cumulative ms |")
    print("|---|---:|---:|")
    for label, wall, cumulative in import_rows(args.import_runs):
        shown = "-" if cumulative != cumulative else f"{cumulative:.0f}"  # nan check
        print(f"| {label} | {wall:.0f} | {shown} |")


if __name__ == "__main__":
    main()
