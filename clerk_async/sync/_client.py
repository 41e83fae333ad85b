"""``clerk_async.sync.Clerk``: the async client driven from code without an event loop.

Each sync client owns a private event loop in a daemon thread (``LoopThread``), started
on first use and stopped by ``close()`` or ``with``. A call builds the async method's
coroutine in the caller's thread and blocks on it while it runs on that loop, so
validation, pacing, retries, deadlines and errors are the async client's: one request
path. Any number of threads may call at once; the calls share the one async client (its
connection pool and rate limiter).

After ``os.fork()`` only the forking thread survives in the child: the loop thread is
gone and the connections are the parent's. A client used in a forked child notices
(``fork_generation``) and starts again there with a fresh async client, from the same
configuration; the parent's client is untouched.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterable, Mapping
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from clerk_async.client import Clerk as AsyncClerk
from clerk_async.errors import ClerkConfigError, ClerkValidationError, ClientStateError
from clerk_async.sync._runner import LoopThread, fork_generation, fork_lock
from clerk_async.sync.services import ClerkOptions, SyncSpecServices

if TYPE_CHECKING:
    import sys

    from clerk_async._transport import CallOptions
    from clerk_async.batch import BatchProgress
    from clerk_async.sync._batch import SyncBatch
    from clerk_async.sync._machines import Machines
    from clerk_async.sync._raw import SyncWithRawResponse

    if sys.version_info >= (3, 11):
        from typing import Unpack
    else:
        from typing_extensions import Unpack

__all__ = ["Clerk"]

T = TypeVar("T")
# The loops and clients a forked child inherited: kept, never closed (closing them would
# touch the parent's sockets), so that no finalizer complains about them either.
_INHERITED: list[object] = []


class Clerk(SyncSpecServices):
    """The client for sync code: ``with Clerk() as clerk: clerk.users.get("user_1")``.

    Takes ``clerk_async.Clerk``'s keywords (``secret_key``, ``base_url``, ``timeout``,
    ``retry``, ``rate_limit``...), checked now; not ``session``, which belongs to an
    event loop. Every service and method of the async client is here with the same
    parameters, returning the answer itself; list methods return a ``SyncPager``
    (``for user in clerk.users.list(): ...``). ``verify_token`` and
    ``authenticate_request`` verify a JWT whose key is at hand in the caller's thread.
    Safe to share between threads.
    """

    def __init__(self, secret_key: str | None = None, **options: Unpack[ClerkOptions]) -> None:
        if options.get("session") is not None:
            raise ClerkConfigError(
                "session", "a sync Clerk runs its own event loop: it cannot use an aiohttp session"
            )
        self._options: dict[str, Any] = {"secret_key": secret_key, **options}
        self._async = AsyncClerk(**self._options)  # a bad configuration fails here
        self._lock = threading.Lock()
        self._loop_thread: LoopThread | None = None
        self._generation = fork_generation()
        self._closed = False

    def __repr__(self) -> str:
        return "<sync." + repr(self._async)[1:]

    # --- the loop ----------------------------------------------------------------------

    def _current(self) -> AsyncClerk:
        """The async client this process drives (a fresh one in a forked child)."""
        if self._generation != fork_generation():
            self._after_fork()
        return self._async

    def _after_fork(self) -> None:
        with fork_lock():
            if self._generation == fork_generation():
                return
            # The parent's lock may have been held by a thread the fork left behind.
            self._lock = threading.Lock()
            _INHERITED.extend((self._async, self._loop_thread))
            self._async = AsyncClerk(**self._options)
            self._loop_thread = None
            self._generation = fork_generation()

    def _runner(self) -> LoopThread:
        """The private loop thread, started on first use."""
        if self._generation != fork_generation():
            self._after_fork()
        runner = self._loop_thread
        if runner is None:
            with self._lock:
                if self._closed:
                    raise ClientStateError("this sync Clerk is closed")
                runner = self._loop_thread
                if runner is None:
                    runner = self._loop_thread = LoopThread(f"clerk-async-sync-{id(self):x}")
        return runner

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine of the async client on the private loop; its answer."""
        try:
            runner = self._runner()
        except BaseException:
            coro.close()  # never started: no "never awaited" warning
            raise
        return runner.run(coro)

    # --- services with extras ------------------------------------------------------------

    @cached_property
    def machines(self) -> Machines:
        from clerk_async.sync._machines import Machines

        return Machines(self, "machines")

    @property
    def with_raw_response(self) -> SyncWithRawResponse:
        """The same services, their methods answering ``RawResponse`` (status, headers,
        trace id, attempts, timing and ``parse()``): ``clerk.with_raw_response.users.get(id)``."""
        from clerk_async.sync._raw import SyncWithRawResponse

        return SyncWithRawResponse(self)

    # --- many calls ----------------------------------------------------------------------

    def batch(
        self,
        operation: Callable[..., T],
        inputs: Iterable[Any],
        *,
        concurrency: int = 32,
        fail_fast: bool = False,
        on_progress: Callable[[BatchProgress], None] | None = None,
        **options: Unpack[CallOptions],
    ) -> SyncBatch[T]:
        """Run a sync operation (``clerk.users.update_metadata``...) once per input,
        ``concurrency`` at a time on the client's loop; ``for result in batch`` yields
        each ``BatchResult`` as it completes (see ``clerk_async.Clerk.batch``)."""
        from clerk_async.batch import run_batch
        from clerk_async.sync._base import SyncService
        from clerk_async.sync._batch import SyncBatch, read_in_thread

        owner = getattr(operation, "__self__", None)
        if not isinstance(owner, SyncService) or owner._client is not self:
            raise ClerkValidationError(
                "operation", f"must be an operation of this client, got {operation!r}"
            )
        run = getattr(owner._service(), operation.__name__)
        batch = run_batch(
            run,
            read_in_thread(inputs),
            concurrency=concurrency,
            fail_fast=fail_fast,
            on_progress=on_progress,
            options=options,
        )
        return SyncBatch(self, batch)

    # --- the escape hatch ----------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        json: Any = None,
        **options: Unpack[CallOptions],
    ) -> Any:
        """``clerk_async.Clerk.request`` for sync code: an endpoint newer than the spec."""
        return self._run(self._current().request(method, path, query=query, json=json, **options))

    # --- lifecycle -----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._async.base_url

    @property
    def has_secret_key(self) -> bool:
        return self._async.has_secret_key

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def async_client(self) -> AsyncClerk:
        """The async client underneath; use it only on ``loop`` (coroutines passed to
        ``asyncio.run_coroutine_threadsafe``)."""
        return self._current()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The private event loop (started if it was not)."""
        return self._runner().loop

    def __enter__(self) -> Clerk:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections and stop the loop thread. Idempotent; the client cannot
        be used afterwards."""
        if self._generation != fork_generation():
            self._after_fork()
        with self._lock:
            runner, self._loop_thread = self._loop_thread, None
            self._closed = True
        if runner is not None:
            try:
                runner.run(self._async.aclose())
            finally:
                runner.stop()
