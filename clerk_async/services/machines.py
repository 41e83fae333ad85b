"""``clerk.machines``: the generated operations, and what the spec cannot say.

The nine operations (their params, validation, paths and answers) are generated from the
spec in ``clerk_async.services.spec.machines``; this class adds the runtime extras.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from clerk_async.batch import Batch, BatchProgress, run_batch
from clerk_async.services.spec import machines as spec

if TYPE_CHECKING:
    import sys

    from clerk_async._transport import CallOptions
    from clerk_async.models.machines import Machine

    if sys.version_info >= (3, 11):
        from typing import Unpack
    else:
        from typing_extensions import Unpack

__all__ = ["Machines"]


class Machines(spec.Machines):
    """Create, read, update and delete machines, their secret keys and their scopes.

    ``update`` accepts ``update("mch_1", name=...)``, ``update(machine_id="mch_1", ...)``,
    ``update(UpdateMachineParams(...))`` and ``update({"machineId": ..., ...})``.
    """

    __slots__ = ()

    def update_many(
        self,
        updates: Iterable[Any] | AsyncIterable[Any],
        *,
        concurrency: int = 32,
        fail_fast: bool = False,
        on_progress: Callable[[BatchProgress], None] | None = None,
        **options: Unpack[CallOptions],
    ) -> Batch[Machine]:
        """Update many machines concurrently; ``async for`` yields results as they complete.

        Each input is an ``UpdateMachineParams``, a mapping (camelCase or snake_case) or a
        ``(machine_id, fields)`` pair. Inputs are consumed lazily, at most ``concurrency``
        at a time. One input's failure does not stop the others (it is reported in
        ``result.error``) unless ``fail_fast``: then no new input is taken after the first
        failure, and the calls already in flight finish and are reported.
        ``await batch.collect()`` returns every result in input order. Leaving an
        ``async for`` early (``break``) cancels the calls in flight; inside
        ``async with batch:`` that happens at once.
        """
        return run_batch(
            self.update,
            updates,
            concurrency=concurrency,
            fail_fast=fail_fast,
            on_progress=on_progress,
            options=options,
        )
