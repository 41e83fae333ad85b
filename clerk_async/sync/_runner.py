"""The private event loop a sync client runs its async client on.

One ``LoopThread`` per sync client: a daemon thread running an event loop, started on
first use. Callers in any thread hand it a coroutine and block on the answer. After
``os.fork()`` the child has no such thread (only the forking thread survives), so
``forked()`` tells a client to start afresh rather than wait forever on a dead loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from clerk_async.errors import ClientStateError

__all__ = ["LoopThread", "fork_generation", "fork_lock"]

T = TypeVar("T")

_generation = 0  # how many forks this process descends from (0 in the first process)
_fork_lock = threading.Lock()


def _after_fork_in_child() -> None:
    global _generation, _fork_lock
    _generation += 1
    _fork_lock = threading.Lock()  # never one a vanished thread held


os.register_at_fork(after_in_child=_after_fork_in_child)


def fork_generation() -> int:
    """Changes in a forked child: a loop thread started before it is not there."""
    return _generation


def fork_lock() -> threading.Lock:
    """Held by whoever sets a client up again in a forked child."""
    return _fork_lock


def _cancel(tasks: list[asyncio.Task[Any] | None]) -> None:
    for task in tasks:
        if task is not None:
            task.cancel()
    tasks.append(None)


class LoopThread:
    """An event loop running forever in a daemon thread."""

    __slots__ = ("_thread", "ident", "loop")

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        self._thread = threading.Thread(target=self._main, args=(started,), name=name, daemon=True)
        self._thread.start()
        started.wait()
        self.ident = self._thread.ident

    def _main(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(started.set)
        try:
            self.loop.run_forever()
        finally:
            self.loop.close()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and wait for its answer (or its exception)."""
        if threading.get_ident() == self.ident:
            coro.close()
            raise ClientStateError(
                "a sync Clerk was called from its own loop thread (an on_progress callback, "
                "or a coroutine run on that loop): it would wait for itself forever; use "
                "the async client there"
            )
        # Lighter than run_coroutine_threadsafe (no concurrent.futures.Future, no chained
        # callbacks): the task's end releases a plain lock the caller waits on.
        if self.loop.is_closed():
            coro.close()
            raise ClientStateError("this sync Clerk's loop is closed")
        done = threading.Lock()
        done.acquire()
        tasks: list[asyncio.Task[T] | None] = []  # the task; None once the caller gave up

        def start() -> None:
            if tasks:  # interrupted before the task began: never start it
                coro.close()
                return
            task = self.loop.create_task(coro)
            tasks.append(task)
            task.add_done_callback(lambda _: done.release())

        try:
            self.loop.call_soon_threadsafe(start)
            done.acquire()
        except BaseException:
            # KeyboardInterrupt or the like in the waiting thread, wherever it lands: do
            # not leave the call running unwatched on the loop.
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                self.loop.call_soon_threadsafe(_cancel, tasks)
            raise
        task = tasks[0]
        assert task is not None
        return task.result()

    def submit(self, coro: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
        """Run ``coro`` on the loop; its answer as a future of the calling loop's."""
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def stop(self) -> None:
        """Stop the loop and wait for the thread to end."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        if threading.get_ident() != self.ident:
            self._thread.join()
