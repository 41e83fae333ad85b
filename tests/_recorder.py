"""A small real HTTP server for tests: records every request, answers from a script."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
from aiohttp import web
from multidict import CIMultiDict

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def machine_json(
    machine_id: str = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk", **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "object": "machine",
        "id": machine_id,
        "name": "billing-worker",
        "instance_id": "ins_2xhFjEI5X2qWRvtV13BzSj8H6Dk",
        "created_at": 1754938436732,
        "updated_at": 1754938436732,
        "default_token_ttl": 3600,
        "scoped_machines": [
            {
                "object": "machine",
                "id": "mch_3yhFjEI5X2qWRvtV13BzSj8H6Dk",
                "name": "ledger",
                "instance_id": "ins_2xhFjEI5X2qWRvtV13BzSj8H6Dk",
                "created_at": 1754938436732,
                "updated_at": 1754938436732,
                "default_token_ttl": 3600,
            }
        ],
    }
    body.update(fields)
    return body


def clerk_errors(code: str, message: str, trace: str = "trace_123") -> dict[str, Any]:
    return {
        "errors": [{"code": code, "message": message, "long_message": message + ".", "meta": {}}],
        "clerk_trace_id": trace,
    }


@attrs.frozen
class Recorded:
    method: str
    raw_path: str
    query: dict[str, str]
    headers: CIMultiDict[str]  # case-insensitive, as HTTP headers are
    body: bytes
    query_string: str = ""  # as sent: repeated keys stay repeated


class RecordingServer:
    """Answers each request with the next scripted handler, else ``default``."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.script: deque[Handler] = deque()
        self.default: Handler = self._echo_machine
        self.url = ""
        self._runner: web.AppRunner | None = None
        self.connections: set[tuple[str, int]] = set()

    async def _echo_machine(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(machine_json(request.match_info.get("tail", "").split("/")[-1]))

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        peer = request.transport.get_extra_info("peername") if request.transport else None
        if peer:
            self.connections.add((peer[0], peer[1]))
        self.requests.append(
            Recorded(
                request.method,
                request.raw_path.split("?")[0],
                dict(request.query),
                CIMultiDict(request.headers),
                body,
                request.query_string,
            )
        )
        handler = self.script.popleft() if self.script else self.default
        return await handler(request)

    def reply(
        self,
        status: int,
        json: Any = None,
        *,
        headers: dict[str, str] | None = None,
        text: str | None = None,
        delay: float = 0.0,
        times: int = 1,
    ) -> None:
        """Script the next ``times`` answers."""

        async def handler(request: web.Request) -> web.StreamResponse:
            if delay:
                await asyncio.sleep(delay)
            if text is not None:
                return web.Response(
                    status=status, text=text, headers=headers, content_type="text/html"
                )
            return web.json_response(json, status=status, headers=headers)

        self.script.extend([handler] * times)

    def drop(self, times: int = 1) -> None:
        """Close the connection without answering (a reset after the request was sent)."""

        async def handler(request: web.Request) -> web.StreamResponse:
            assert request.transport is not None
            request.transport.close()
            await asyncio.sleep(0.05)
            return web.Response()

        self.script.extend([handler] * times)

    async def start(self) -> None:
        app = web.Application(client_max_size=64 << 20)  # room for big request bodies
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/v1"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
