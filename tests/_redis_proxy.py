"""A TCP proxy on loopback in front of a redis-server that delays or swallows what it forwards.

For the shared rate-limit tests and ``benchmarks/shared_limit.py``: a Redis far away (each
chunk is held ``delay`` seconds each way, in order: ``delay=(0.1, 0.2)`` adds 200-400 ms to a
round trip), or a Redis that accepts connections and never answers (``blackhole``: a
connection opened while it is set is read and dropped for ever, as a hung server or a
firewall that drops packets would). Settings may change while it runs; they apply to the
chunks and connections that come after.

``async with RedisProxy(port) as proxy`` in a test's loop; ``with ProxyThread(port)`` from
sync code (its own thread and loop).
"""

from __future__ import annotations

import asyncio
import random
import threading
import time

__all__ = ["ProxyThread", "RedisProxy"]


class RedisProxy:
    def __init__(
        self,
        upstream_port: int,
        *,
        delay: tuple[float, float] = (0.0, 0.0),
        blackhole: bool = False,
        seed: int = 0,
    ) -> None:
        self.upstream_port = upstream_port
        self.delay = delay
        self.blackhole = blackhole
        self.connections = 0  # accepted, blackholed or not
        self.received: list[bytes] = []  # what blackholed connections were sent
        self._random = random.Random(seed)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> RedisProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        if self.blackhole:
            while chunk := await reader.read(65536):
                self.received.append(chunk)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()  # as the server would: refused, so reset
            return
        self._writers.add(up_writer)
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.ensure_future(self._pipe(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        """Forward each chunk after its delay, in order (a later chunk never overtakes)."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, chunk = await queue.get()
                if not chunk:
                    break
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                sink.write(chunk)
                await sink.drain()
            sink.close()

        delivering = asyncio.ensure_future(deliver())
        last = 0.0
        try:
            while True:
                chunk = await source.read(65536)
                low, high = self.delay
                last = max(last, time.monotonic() + self._random.uniform(low, high))
                queue.put_nowait((last, chunk))
                if not chunk:
                    break
            await delivering
        except (OSError, asyncio.CancelledError):
            delivering.cancel()
            sink.close()


class ProxyThread:
    """A :class:`RedisProxy` served by its own thread and loop, for sync code."""

    def __init__(self, upstream_port: int, **settings: object) -> None:
        self.proxy = RedisProxy(upstream_port, **settings)  # type: ignore[arg-type]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        return self.proxy.url

    def set(self, **settings: object) -> None:
        """Change settings (``delay``, ``blackhole``) from the calling thread."""

        def apply() -> None:
            for name, value in settings.items():
                setattr(self.proxy, name, value)

        self._loop.call_soon_threadsafe(apply)

    def __enter__(self) -> ProxyThread:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.proxy.start(), self._loop).result(30)
        return self

    def __exit__(self, *exc_info: object) -> None:
        asyncio.run_coroutine_threadsafe(self.proxy.aclose(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._loop.close()
