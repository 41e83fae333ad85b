"""A batch for sync code: the async ``Batch`` on the client's loop, iterated with ``for``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Iterable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from clerk_async.batch import Batch, BatchResult

if TYPE_CHECKING:
    from clerk_async.sync._client import Clerk

__all__ = ["SyncBatch", "read_in_thread"]

T = TypeVar("T")
_END: Any = object()


class _ReadInThread:
    """A sync iterator of inputs read in a worker thread, never on the loop thread: a
    generator of inputs may then call the sync client itself (``for u in
    clerk.users.list()``), and a slow one does not stall the calls in flight."""

    __slots__ = ("_inputs",)

    def __init__(self, inputs: Iterator[Any]) -> None:
        self._inputs = inputs

    def __aiter__(self) -> _ReadInThread:
        return self

    async def __anext__(self) -> Any:
        item = await asyncio.get_running_loop().run_in_executor(None, next, self._inputs, _END)
        if item is _END:
            raise StopAsyncIteration
        return item


def read_in_thread(inputs: Iterable[Any]) -> Iterable[Any] | AsyncIterable[Any]:
    """What a sync batch hands the async one: a list or tuple as it is (its length gives
    the progress total), any other iterable read off the loop thread."""
    if isinstance(inputs, (list, tuple, range)):
        return inputs
    return _ReadInThread(iter(inputs))


async def _next(batch: Batch[T]) -> BatchResult[T]:
    try:
        return await batch.__anext__()
    except StopAsyncIteration:
        return cast("BatchResult[T]", _END)


async def _stop(batch: Batch[Any]) -> None:
    batch.stop()


class SyncBatch(Generic[T]):
    """An iterator of ``BatchResult`` in completion order (see ``clerk_async.batch.Batch``).

    ``for result in batch`` yields each result as it completes; ``batch.collect()`` gives
    every result in input order. Leaving the ``for`` early does not cancel the calls in
    flight by itself: ``with batch:`` (or ``batch.close()``) does. An iterator of inputs
    is read in a worker thread (it may call the client); ``on_progress`` is called on the
    client's loop thread (it must not).
    """

    __slots__ = ("_batch", "_client")

    def __init__(self, client: Clerk, batch: Batch[T]) -> None:
        self._client = client
        self._batch = batch

    def __iter__(self) -> Iterator[BatchResult[T]]:
        return self

    def __next__(self) -> BatchResult[T]:
        result = self._client._run(_next(self._batch))
        if result is _END:
            raise StopIteration
        return result

    def collect(self) -> list[BatchResult[T]]:
        """Every result, in input order."""
        return self._client._run(self._batch.collect())

    @property
    def succeeded(self) -> int:
        return self._batch.succeeded

    @property
    def failed(self) -> int:
        return self._batch.failed

    @property
    def done(self) -> int:
        return self._batch.done

    def stop(self) -> None:
        """Take no more inputs; the calls in flight finish and are still yielded."""
        self._client._run(_stop(self._batch))

    def close(self) -> None:
        """Cancel the calls in flight and end the iteration."""
        self._client._run(self._batch.aclose())

    def __enter__(self) -> SyncBatch[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
