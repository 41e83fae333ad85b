"""Bounded-concurrency batches: many calls, results as they complete, memory bounded.

``clerk.batch(operation, inputs)`` runs any bound operation of the client over its inputs
(``machines.update_many`` is the same engine with ``clerk.machines.update``).
``concurrency`` workers pull inputs lazily from one shared iterator (sync or async), so
a generator of a million inputs is never materialised: at most ``concurrency`` inputs are
in flight and at most ``2 * concurrency`` results wait to be consumed (a queue of
``concurrency``, plus one held by each worker waiting to put it). Every call still goes
through the client's one request path, so a batch rides on the shared rate limiter.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
)
from types import TracebackType
from typing import Any, Generic, TypeVar

import attrs

from clerk_async._transport import check_options
from clerk_async.errors import ClerkError, ClerkValidationError, ClientStateError

__all__ = ["Batch", "BatchProgress", "BatchResult", "run_batch"]

T = TypeVar("T")


@attrs.frozen
class BatchResult(Generic[T]):
    """One input's outcome: ``value`` on success, else ``error`` (a typed ClerkError)."""

    index: int  # position of the input in the batch, from 0
    input: Any  # what was given, as given
    value: T | None = None
    error: ClerkError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@attrs.frozen
class BatchProgress:
    done: int
    total: int | None  # known when the inputs have a len()
    succeeded: int
    failed: int
    elapsed: float  # seconds since the batch started


_DONE: Any = object()  # a worker's last word
_CLOSED: Any = object()  # aclose() wakes a consumer waiting for results
# One task per worker: 2**63 of them would exhaust memory before the first request.
MAX_CONCURRENCY = 10_000


class Batch(Generic[T]):
    """An async iterator of ``BatchResult``, in completion order.

    Use ``async for result in batch`` or ``await batch.collect()`` for every result in
    input order. Leaving ``async for`` early (``break``) cancels the calls in flight, as
    soon as the event loop finalizes the loop's iterator; ``async with batch:`` does it at
    once, deterministically.

    ``succeeded``, ``failed`` and ``on_progress`` count the results handed to the consumer.
    ``stop()`` takes no more inputs and lets the calls in flight finish (they are still
    yielded); ``aclose()`` cancels them. An input iterator that raises stops the batch
    the same gentle way: the calls already sent finish and are yielded, then the
    iteration raises the iterator's error.
    """

    def __init__(
        self,
        inputs: Iterable[Any] | AsyncIterable[Any],
        call: Callable[[Any], Awaitable[T]],
        *,
        concurrency: int,
        fail_fast: bool = False,
        on_progress: Callable[[BatchProgress], None] | None = None,
    ) -> None:
        if (
            isinstance(concurrency, bool)
            or not isinstance(concurrency, int)
            or not 1 <= concurrency <= MAX_CONCURRENCY
        ):
            # Not the value itself: repr() of a 5,000-digit int raises.
            raise ClerkValidationError("concurrency", f"must be an int from 1 to {MAX_CONCURRENCY}")
        self._total = len(inputs) if hasattr(inputs, "__len__") else None  # type: ignore[arg-type]
        self._sync: Iterator[Any] | None = None
        self._async: AsyncIterator[Any] | None = None
        if isinstance(inputs, AsyncIterable):
            self._async = aiter(inputs)
        else:
            self._sync = iter(inputs)
        self._call = call
        self._concurrency = concurrency
        self._fail_fast = fail_fast
        self._on_progress = on_progress
        self._results: asyncio.Queue[BatchResult[T] | BaseException] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._running = 0
        self._next_index = 0
        self._stopped = False  # no more inputs are taken
        self._closed = False  # aclose(): the iteration is over
        self._input_lock = asyncio.Lock()
        self._input_error: Exception | None = None
        self._started = 0.0
        self.succeeded = 0
        self.failed = 0

    # --- the iterator ----------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[BatchResult[T]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[BatchResult[T]]:
        # An async generator, so that leaving ``async for`` early (``break``) without
        # ``async with`` still stops the workers: the event loop finalizes an abandoned
        # async generator by closing it, which lands in ``finally``.
        try:
            while True:
                try:
                    result = await self.__anext__()
                except StopAsyncIteration:
                    return
                yield result
        finally:
            await self.aclose()

    async def __anext__(self) -> BatchResult[T]:
        if self._results is None:
            self._start()
        assert self._results is not None
        while not self._closed and (self._running or not self._results.empty()):
            try:
                item = await self._results.get()
            except asyncio.CancelledError:
                await self.aclose()
                raise
            if item is _CLOSED:
                break
            if item is _DONE:
                self._running -= 1
                continue
            if isinstance(item, BaseException):  # a bug in a call: stop everything
                await self.aclose()
                raise item
            if item.error is None:
                self.succeeded += 1
            else:
                self.failed += 1
            self._report()
            return item
        if self._input_error is not None:
            error, self._input_error = self._input_error, None
            raise error
        raise StopAsyncIteration

    async def collect(self) -> list[BatchResult[T]]:
        """Every result, in input order."""
        results = [result async for result in self]
        results.sort(key=lambda r: r.index)
        return results

    @property
    def done(self) -> int:
        return self.succeeded + self.failed

    async def __aenter__(self) -> Batch[T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def stop(self) -> None:
        """Take no more inputs; the calls in flight finish and are still yielded."""
        self._stopped = True

    async def aclose(self) -> None:
        """Stop taking inputs, cancel the calls in flight and end the iteration. Idempotent;
        a task iterating with ``async for`` (another one, say) sees the iteration end."""
        self._stopped = True
        self._closed = True
        workers, self._workers = self._workers, []
        for task in workers:
            task.cancel()
        if workers:
            await asyncio.gather(*workers, return_exceptions=True)
        self._running = 0
        if self._results is not None:
            with contextlib.suppress(asyncio.QueueFull):  # full: nobody waits in get()
                self._results.put_nowait(_CLOSED)

    # --- the workers -----------------------------------------------------------------

    def _start(self) -> None:
        self._started = time.monotonic()
        self._results = asyncio.Queue(maxsize=self._concurrency)
        self._running = self._concurrency
        self._workers = [asyncio.ensure_future(self._work()) for _ in range(self._concurrency)]

    async def _next_input(self) -> tuple[int, Any] | None:
        if self._stopped:
            return None
        try:
            if self._sync is not None:
                item = next(self._sync, _DONE)
            else:
                assert self._async is not None
                async with self._input_lock:  # an async generator takes one __anext__ at a time
                    item = await anext(self._async, _DONE)
        except Exception as exc:  # a broken input: what was sent still finishes
            if self._input_error is None:
                self._input_error = exc
            item = _DONE
        if item is _DONE or self._stopped:
            self._stopped = True
            return None
        index = self._next_index
        self._next_index += 1
        return index, item

    async def _work(self) -> None:
        assert self._results is not None
        results = self._results
        try:
            while (taken := await self._next_input()) is not None:
                index, item = taken
                try:
                    value = await self._call(item)
                except ClientStateError:
                    raise  # the client is closed: no item can succeed, so the batch fails
                except ClerkError as exc:
                    if self._fail_fast:
                        self._stopped = True
                    result: BatchResult[T] = BatchResult(index, item, error=exc)
                else:
                    result = BatchResult(index, item, value=value)
                await results.put(result)
        except Exception as exc:  # a bug, not a Clerk error: the consumer re-raises it
            self._stopped = True
            await results.put(exc)
        await results.put(_DONE)

    def _report(self) -> None:
        if self._on_progress is not None:
            self._on_progress(
                BatchProgress(
                    done=self.done,
                    total=self._total,
                    succeeded=self.succeeded,
                    failed=self.failed,
                    elapsed=time.monotonic() - self._started,
                )
            )


def run_batch(
    operation: Callable[..., Awaitable[T]],
    inputs: Iterable[Any] | AsyncIterable[Any],
    *,
    concurrency: int = 32,
    fail_fast: bool = False,
    on_progress: Callable[[BatchProgress], None] | None = None,
    options: Mapping[str, Any] | None = None,
) -> Batch[T]:
    """A ``Batch`` calling ``operation`` once per input, with the per-call ``options``.

    An input is what the operation takes as its first argument (an id, a params instance,
    a mapping in camelCase or snake_case), or an ``(id, fields)`` pair: the operation's
    first parameter (``user_id`` of ``users.update_metadata``) set to ``id``, plus
    ``fields``. A bad input fails that input alone, with a ``ClerkValidationError`` in
    its result: one the params refuse, or whose building raises ``TypeError`` or
    ``ValueError`` (a value that cannot be sent). Any other exception is a bug: the
    iteration raises it.
    """
    if not callable(operation):
        raise ClerkValidationError("operation", f"must be a client operation, got {operation!r}")
    call_options = dict(options or {})
    check_options(call_options)  # once, not per item: a typo fails the call, not every result
    id_name = _first_parameter(operation)

    async def call_one(item: Any) -> T:
        if isinstance(item, tuple):
            if len(item) != 2 or not isinstance(item[1], Mapping) or id_name is None:
                raise ClerkValidationError(
                    "input", "a tuple must be an (id, fields) pair, fields a mapping"
                )
            item = {id_name: item[0], **item[1]}
        try:  # operations raise on await (a coroutine function), bad input included
            return await operation(item, **call_options)
        except ClerkError:
            raise
        except (TypeError, ValueError) as exc:  # an input its params cannot be built from
            raise ClerkValidationError(
                "input", f"cannot be read as {id_name or 'an input'} ({type(exc).__name__})"
            ) from exc
        # Anything else (AttributeError, KeyError...) is a bug, ours or the caller's: it
        # propagates, and the batch stops with it rather than blaming every input.

    return Batch(
        inputs, call_one, concurrency=concurrency, fail_fast=fail_fast, on_progress=on_progress
    )


def _first_parameter(operation: Callable[..., Any]) -> str | None:
    """The name an ``(id, fields)`` pair's id is given as: ``user_id``, ``machine_id``."""
    try:
        parameters = inspect.signature(operation).parameters.values()
    except (TypeError, ValueError):  # a builtin or a C callable: no pairs
        return None
    for parameter in parameters:
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            return parameter.name
        break
    return None
