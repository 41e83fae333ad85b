"""``clerk.machines``: the generated operations, and what the spec cannot say.

The nine operations (their params, validation, paths and answers) are generated from the
spec in :mod:`clerk_async.services.spec.machines`; this class adds the runtime extras.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from clerk_async._convert import build_params
from clerk_async._transport import check_options
from clerk_async.batch import Batch, BatchProgress
from clerk_async.errors import ClerkError, ClerkValidationError
from clerk_async.services.spec import machines as spec

if TYPE_CHECKING:
    import sys

    from clerk_async._transport import CallOptions
    from clerk_async.models.spec import Machine

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

        check_options(options)  # once, not per item: a typo fails the call, not every result

        async def update_one(item: Any) -> Machine:
            try:
                if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Mapping):
                    item = {"machine_id": item[0], **item[1]}
                params = build_params(spec.UpdateMachineParams, item, {}, id_field="machine_id")
            except ClerkError:
                raise
            except Exception as exc:  # an input that cannot even be read: this item fails
                raise ClerkValidationError(
                    "update", f"cannot be read as an update ({type(exc).__name__})"
                ) from exc
            return await self.update(params, **options)

        return Batch(
            updates,
            update_one,
            concurrency=concurrency,
            fail_fast=fail_fast,
            on_progress=on_progress,
        )
