"""Request authentication for frameworks without an event loop: Django, Flask, DRF.

Most verifications need no I/O: a JWT with ``jwt_key`` (``CLERK_JWT_KEY``), or with the
instance's JWKS already cached. They run right here, in the caller's thread, with no
thread hop. The rest (fetching the JWKS the first time or after a key rotation, and
opaque ``mt_``/``ak_``/``oat_`` tokens, verified by Clerk) runs the async verifier on a
private event loop in a daemon thread, started on first need.

That loop thread is the one replaceable part (``SyncAuthenticator._run``): when
``clerk_async.sync.Clerk`` lands it can lend its own private loop instead.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from clerk_async.auth._guard import Requirement
from clerk_async.auth._request import request_headers
from clerk_async.auth._types import RequestState
from clerk_async.client import Clerk

if TYPE_CHECKING:
    from clerk_async.auth._verifier import VerifyOptions

__all__ = ["SyncAuthenticator"]

T = TypeVar("T")


class _LoopThread:
    """An event loop running forever in a daemon thread (one per process)."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            self.loop.close()

    def submit(self, coro: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
        """Run ``coro`` in the thread's loop; the answer as a future of the caller's."""
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()


class SyncAuthenticator:
    """One ``Clerk`` per process for a sync framework, and how to verify with it.

    ``options`` are ``Clerk(...)``'s keywords (``secret_key``, ``jwt_key``, ``base_url``...;
    unset ones come from ``CLERK_SECRET_KEY``, ``CLERK_JWT_KEY``, ``CLERK_API_URL``). The
    client is made now, so that a bad configuration fails at start-up, and again in a
    forked child (gunicorn's workers), whose parent's loop thread did not survive the fork.
    Safe to use from many threads at once.
    """

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._clerk = Clerk(**options)
        self._thread: _LoopThread | None = None

    def __repr__(self) -> str:
        return f"<SyncAuthenticator {self._clerk!r}>"

    @property
    def clerk(self) -> Clerk:
        """This process's client. Its I/O runs on the private loop only."""
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():  # a forked child: nothing of the parent's loop
                    self._clerk = Clerk(**self._options)
                    self._thread = None
                    self._pid = os.getpid()
        return self._clerk

    def authenticate(
        self, request_or_headers: Any, options: VerifyOptions | Requirement
    ) -> RequestState:
        """Authenticate a request in sync code (never raises for a bad token)."""
        clerk = self.clerk
        headers = request_headers(request_or_headers)
        verify = options.options if isinstance(options, Requirement) else options
        state = clerk._authenticator.authenticate_now(headers, verify)
        if state is None:  # it takes a request to Clerk
            state = self._loop_thread().run(clerk._authenticator.authenticate(headers, verify))
        return state

    async def authenticate_async(
        self, request_or_headers: Any, options: VerifyOptions | Requirement
    ) -> RequestState:
        """The same from a coroutine in any loop (Django's async views): I/O is awaited."""
        clerk = self.clerk
        headers = request_headers(request_or_headers)
        verify = options.options if isinstance(options, Requirement) else options
        state = clerk._authenticator.authenticate_now(headers, verify)
        if state is None:
            state = await self._loop_thread().submit(
                clerk._authenticator.authenticate(headers, verify)
            )
        return state

    def _loop_thread(self) -> _LoopThread:
        # The one replaceable part: a private loop for this client's I/O.
        thread = self._thread
        if thread is None:
            with self._lock:
                thread = self._thread
                if thread is None:
                    thread = self._thread = _LoopThread(f"clerk-async-auth-{os.getpid()}")
        return thread

    def close(self) -> None:
        """Close the client and stop the loop thread (tests; a process exit needs nothing)."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None and self._pid == os.getpid():
            try:
                thread.run(self._clerk.aclose())
            finally:
                thread.stop()
