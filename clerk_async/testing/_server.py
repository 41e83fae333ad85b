"""How a FakeClerk is served: in the caller's event loop, or in a thread and loop of its own.

``async with`` serves the app in the running loop, the cheapest and most deterministic
way for async tests. ``with`` starts a daemon thread running its own event loop and serves
the app there, so that code which is not async, or runs in another thread or loop (FastAPI's
``TestClient``, Django's test runner, a script), can reach it: a fake in the test's own loop
would never answer while that loop is blocked in a synchronous call.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

from aiohttp import web

__all__ = ["LoopThread", "LoopbackServer"]

T = TypeVar("T")
S = TypeVar("S", bound="LoopbackServer")


class LoopThread:
    """An event loop running forever in a daemon thread; ``run`` blocks for a result."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` in the thread's loop and return its result (or raise its error)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def stop(self) -> None:
        """Stop the loop and wait for the thread to end."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()


class LoopbackServer:
    """Serves ``self.app`` on ``host``:``port`` (port 0: a free one) until closed.

    ``async with server:`` or ``await server.start()`` / ``await server.close()`` in the
    running loop; ``with server:`` in a thread of its own (see the module docstring).
    """

    app: web.Application
    secret_key: str
    host: str
    port: int
    _runner: web.AppRunner | None = None
    _thread: LoopThread | None = None

    @property
    def url(self) -> str:
        """The base URL the spec's paths hang from, e.g. ``http://127.0.0.1:8787/v1``."""
        if self._runner is None:
            raise RuntimeError(
                "FakeClerk is not started: use `async with FakeClerk() as fake` "
                "(or `with FakeClerk() as fake` from sync code)"
            )
        return f"http://{self.host}:{self.port}/v1"

    async def start(self) -> None:
        """Start serving in the running event loop."""
        if self._runner is not None:
            raise RuntimeError("FakeClerk is already started")
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self.port = runner.addresses[0][1]
        self._runner = runner

    async def close(self) -> None:
        """Stop serving (idempotent). A fake started with ``with`` stops when the block ends."""
        if self._thread is not None:
            raise RuntimeError(
                "this FakeClerk runs in its own thread (it was started with `with`): "
                "it stops when the with block ends"
            )
        await self._cleanup()

    async def _cleanup(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self: S) -> S:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __enter__(self: S) -> S:
        if self._runner is not None:
            raise RuntimeError("FakeClerk is already started")
        thread = LoopThread(f"FakeClerk-{id(self):x}")
        try:
            thread.run(self.start())
        except BaseException:
            thread.stop()
            raise
        self._thread = thread
        return self

    def __exit__(self, *exc_info: object) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        try:
            thread.run(self._cleanup())
        finally:
            thread.stop()

    # -- the environment of the code under test -----------------------------------------

    @property
    def env(self) -> dict[str, str]:
        """``CLERK_API_URL`` and ``CLERK_SECRET_KEY`` for this fake, as Clerk's SDKs read them.

        For a subprocess: ``subprocess.run(cmd, env={**os.environ, **fake.env})``; with
        pytest: ``for name, value in fake.env.items(): monkeypatch.setenv(name, value)``.
        """
        return {"CLERK_API_URL": self.url.removesuffix("/v1"), "CLERK_SECRET_KEY": self.secret_key}

    @contextlib.contextmanager
    def setenv(self) -> Iterator[dict[str, str]]:
        """Set ``env`` in ``os.environ`` for the block, then restore what was there.

        Start the app under test inside the block: ``Clerk()`` and ``clerk_lifespan()``
        read the environment when the client is created.
        """
        env = self.env
        saved = {name: os.environ.get(name) for name in env}
        os.environ.update(env)
        try:
            yield env
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
