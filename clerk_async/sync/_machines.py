"""``clerk.machines`` of the sync client: the generated operations and ``update_many``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from clerk_async.sync._batch import SyncBatch, read_in_thread
from clerk_async.sync.services import machines as generated

if TYPE_CHECKING:
    import sys

    from clerk_async._transport import CallOptions
    from clerk_async.batch import BatchProgress
    from clerk_async.models.spec import Machine

    if sys.version_info >= (3, 11):
        from typing import Unpack
    else:
        from typing_extensions import Unpack

__all__ = ["Machines"]


class Machines(generated.Machines):
    """Create, read, update and delete machines, their secret keys and their scopes."""

    __slots__ = ()

    def update_many(
        self,
        updates: Iterable[Any],
        *,
        concurrency: int = 32,
        fail_fast: bool = False,
        on_progress: Callable[[BatchProgress], None] | None = None,
        **options: Unpack[CallOptions],
    ) -> SyncBatch[Machine]:
        """``clerk_async``'s ``machines.update_many`` for sync code: ``for result in ...``
        yields each ``BatchResult`` as it completes (see ``SyncBatch``)."""
        batch = self._service().update_many(
            read_in_thread(updates),
            concurrency=concurrency,
            fail_fast=fail_fast,
            on_progress=on_progress,
            **options,
        )
        return SyncBatch(self._client, batch)
