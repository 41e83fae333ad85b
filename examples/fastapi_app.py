"""A small FastAPI service in front of Clerk's machines API, on one shared Clerk client.

    GET   /machines?limit=10&offset=0&query=&order_by=   one page of machines
    PATCH /machines/{machine_id}                         {"name": ..., "default_token_ttl": ...}
    POST  /machines/batch-update?concurrency=8           [{"machine_id": ..., "name": ...}, ...]

Run it against Clerk (``CLERK_SECRET_KEY`` and, optionally, ``CLERK_API_URL`` from the env)::

    python examples/fastapi_app.py --port 8000

or against an embedded FakeClerk seeded with a few machines, with nothing to set up::

    python examples/fastapi_app.py --fake

``uvicorn fastapi_app:app --app-dir examples`` serves the same app (configured from the env).

Shapes and types of the input are FastAPI's to check (422 with ``detail``); Clerk's own
constraints (id, name length, TTL range, page size) are checked once, by clerk_async,
before any request is sent (422 with ``errors[].meta.param_name``). Clerk's errors come
back as ``clerk_async.fastapi.error_reply`` describes.
"""

import argparse
import logging
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any

import attrs
import uvicorn
from fastapi import Body, FastAPI, Query
from pydantic import BaseModel, ConfigDict

from clerk_async import UNSET, RateLimit
from clerk_async.fastapi import (
    ClerkDep,
    clerk_lifespan,
    error_reply,
    install_exception_handlers,
    open_clerk,
)

# uvicorn configures this logger, so what the demo says shows up next to uvicorn's lines.
log = logging.getLogger("uvicorn.error")

MAX_BATCH = 1000
SEED_MACHINES = (
    "billing-worker",
    "invoice-renderer",
    "search-indexer",
    "email-sender",
    "report-builder",
    "audit-exporter",
)


class MachineChanges(BaseModel):
    """The fields to change; a field left out is left as it is."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    default_token_ttl: int | None = None


class MachineUpdate(MachineChanges):
    """One item of a batch: which machine, and its changes."""

    machine_id: str


def _page(limit: int | None, offset: int, count: int, total: int) -> dict[str, Any]:
    next_offset = offset + count
    return {
        "total_count": total,
        "offset": offset,
        "limit": limit,
        "next_offset": next_offset if count and next_offset < total else None,
    }


def add_routes(app: FastAPI) -> None:
    @app.get("/machines")
    async def list_machines(
        clerk: ClerkDep,
        limit: int | None = None,
        offset: int = 0,
        query: str | None = None,
        order_by: str | None = None,
    ) -> dict[str, Any]:
        """One page of machines; ``next_offset`` is where the next page starts (or null)."""
        page = await clerk.machines.list(
            limit=UNSET if limit is None else limit,
            offset=offset,
            query=UNSET if query is None else query,
            order_by=UNSET if order_by is None else order_by,
        )
        return {
            "data": [attrs.asdict(machine) for machine in page.data],
            **_page(limit, offset, len(page.data), page.total_count),
        }

    @app.patch("/machines/{machine_id}")
    async def update_machine(
        machine_id: str, changes: MachineChanges, clerk: ClerkDep
    ) -> dict[str, Any]:
        """Change the fields given; the others stay as they are."""
        machine = await clerk.machines.update(
            {"machine_id": machine_id, **changes.model_dump(exclude_unset=True)}
        )
        return attrs.asdict(machine)

    @app.post("/machines/batch-update")
    async def batch_update(
        updates: Annotated[list[MachineUpdate], Body(min_length=1, max_length=MAX_BATCH)],
        clerk: ClerkDep,
        concurrency: Annotated[int, Query(ge=1, le=32)] = 8,
    ) -> dict[str, Any]:
        """Apply every update, ``concurrency`` at a time; answer with a job summary.

        The answer is 200 even when some updates failed: ``failures`` lists them in input
        order, each with the status and errors the single update would have answered.
        """
        started = time.monotonic()
        failures = []
        batch = clerk.machines.update_many(
            (u.model_dump(exclude_unset=True) for u in updates), concurrency=concurrency
        )
        async with batch:  # leaving early (cancelled) stops the calls in flight
            async for result in batch:
                if result.error is not None:
                    reply = error_reply(result.error)
                    failures.append(
                        {
                            "index": result.index,
                            "machine_id": updates[result.index].machine_id,
                            "status": reply.status,
                            **reply.body,
                        }
                    )
        failures.sort(key=lambda failure: failure["index"])
        return {
            "total": len(updates),
            "succeeded": batch.succeeded,
            "failed": batch.failed,
            "failures": failures,
            "elapsed_ms": round((time.monotonic() - started) * 1000, 1),
        }


def create_app(
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
    **options: Any,
) -> FastAPI:
    """The service; ``options`` are ``Clerk(...)`` keywords, or give a ``lifespan`` that
    opens the client itself (with ``open_clerk``)."""
    app = FastAPI(
        title="machines service",
        lifespan=lifespan if lifespan is not None else clerk_lifespan(**options),
    )
    install_exception_handlers(app)
    add_routes(app)
    return app


def create_demo_app(**options: Any) -> FastAPI:
    """The service in front of an embedded FakeClerk, seeded with a few machines."""
    from clerk_async.testing import FakeClerk

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Your own lifespan, composed: the fake first, then the client that talks to it.
        async with FakeClerk(rate_limit=None) as fake:
            for name in SEED_MACHINES:
                fake.add_machine(name)
            log.info("FakeClerk at %s with %d machines", fake.url, len(fake.machines))
            clerk_options: dict[str, Any] = {
                "secret_key": fake.secret_key,
                "base_url": fake.url,
                "rate_limit": None,
                **options,
            }
            async with open_clerk(app, **clerk_options):
                yield

    return create_app(lifespan)


app = create_app()  # for `uvicorn fastapi_app:app`; the client is made at start-up


def _rate_limit(text: str) -> RateLimit | str:
    if text in ("auto", "off"):
        return text
    requests, _, seconds = text.partition("/")
    try:
        return RateLimit(int(requests), float(seconds))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N/SECONDS, 'auto' or 'off': {text!r}") from None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fake", action="store_true", help="serve an embedded FakeClerk")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--max-connections", type=int, help="the Clerk connection pool's size")
    parser.add_argument("--max-retries", type=int, help="retries of a failed Clerk call")
    parser.add_argument(
        "--rate-limit", type=_rate_limit, help="N/SECONDS, 'off' or 'auto' (from the key)"
    )
    parser.add_argument("--no-access-log", action="store_true")
    args = parser.parse_args(argv)

    options: dict[str, Any] = {}
    if args.max_connections is not None:
        options["max_connections"] = args.max_connections
    if args.max_retries is not None:
        options["max_retries"] = args.max_retries
    if args.rate_limit is not None:
        options["rate_limit"] = None if args.rate_limit == "off" else args.rate_limit
    service = create_demo_app(**options) if args.fake else create_app(**options)
    if args.fake and args.port:
        print(
            f"try: curl 'http://{args.host}:{args.port}/machines?limit=2'",
            file=sys.stderr,
            flush=True,
        )
    # uvicorn runs the lifespan: the client opens at start-up and closes on Ctrl-C/SIGTERM.
    uvicorn.run(
        service, host=args.host, port=args.port, lifespan="on", access_log=not args.no_access_log
    )


if __name__ == "__main__":
    main()
