"""``clerk.machines``: the Machines endpoints of Clerk's Backend API."""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from clerk_async._convert import UNSET, Unset, build_params
from clerk_async._transport import check_options
from clerk_async.batch import Batch, BatchProgress
from clerk_async.errors import ClerkError, ClerkValidationError
from clerk_async.models.machines import (
    CreateMachineParams,
    CreateMachineScopeParams,
    DeleteMachineScopeParams,
    ListMachinesParams,
    Machine,
    MachineCreated,
    MachineDeleted,
    MachineIdParams,
    MachineScope,
    MachineScopeDeleted,
    MachineSecretKey,
    RotateMachineSecretKeyParams,
    UpdateMachineParams,
)
from clerk_async.pagination import AsyncPager, Page, paginate

if TYPE_CHECKING:
    import sys

    from clerk_async._transport import CallOptions, Transport

    if sys.version_info >= (3, 11):
        from typing import Unpack
    else:
        from typing_extensions import Unpack

__all__ = ["Machines"]

# The spec's LimitParameter maximum: the page size when walking every machine.
MAX_MACHINES_LIST_LIMIT = 500


class Machines:
    """Create, read, update and delete machines, their secret keys and their scopes."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def get(
        self,
        machine_id: str | MachineIdParams | Mapping[str, Any],
        **options: Unpack[CallOptions],
    ) -> Machine:
        """``GET /machines/{machine_id}``."""
        params = build_params(MachineIdParams, machine_id, {}, id_field="machine_id")
        return await self._transport.request(
            "GET", "/machines/{machine_id}", Machine, params, options=options
        )

    async def create(
        self,
        params: CreateMachineParams | Mapping[str, Any] | Unset = UNSET,
        /,
        *,
        name: str | Unset = UNSET,
        scoped_machines: list[str] | Unset = UNSET,
        default_token_ttl: int | Unset = UNSET,
        **options: Unpack[CallOptions],
    ) -> MachineCreated:
        """``POST /machines``. The answer is the only place Clerk shows the secret key.

        Not retried after the request may have reached Clerk: a retry could create a
        second machine. Connection failures before sending and 429s are retried.
        """
        built = build_params(
            CreateMachineParams,
            params,
            {
                "name": name,
                "scoped_machines": scoped_machines,
                "default_token_ttl": default_token_ttl,
            },
        )
        return await self._transport.request(
            "POST", "/machines", MachineCreated, built, options=options
        )

    async def update(
        self,
        machine_id: str | UpdateMachineParams | Mapping[str, Any],
        *,
        name: str | Unset = UNSET,
        default_token_ttl: int | Unset = UNSET,
        **options: Unpack[CallOptions],
    ) -> Machine:
        """``PATCH /machines/{machine_id}``: change only the fields given.

        Accepts ``update("mch_1", name=...)``, ``update(machine_id="mch_1", ...)``,
        ``update(UpdateMachineParams(...))`` and ``update({"machineId": ..., ...})``.
        """
        params = build_params(
            UpdateMachineParams,
            machine_id,
            {"name": name, "default_token_ttl": default_token_ttl},
            id_field="machine_id",
        )
        return await self._transport.request(
            "PATCH", "/machines/{machine_id}", Machine, params, options=options
        )

    async def delete(
        self,
        machine_id: str | MachineIdParams | Mapping[str, Any],
        **options: Unpack[CallOptions],
    ) -> MachineDeleted:
        """``DELETE /machines/{machine_id}``."""
        params = build_params(MachineIdParams, machine_id, {}, id_field="machine_id")
        return await self._transport.request(
            "DELETE", "/machines/{machine_id}", MachineDeleted, params, options=options
        )

    async def get_secret_key(
        self,
        machine_id: str | MachineIdParams | Mapping[str, Any],
        **options: Unpack[CallOptions],
    ) -> MachineSecretKey:
        """``GET /machines/{machine_id}/secret_key``."""
        params = build_params(MachineIdParams, machine_id, {}, id_field="machine_id")
        return await self._transport.request(
            "GET", "/machines/{machine_id}/secret_key", MachineSecretKey, params, options=options
        )

    async def rotate_secret_key(
        self,
        machine_id: str | RotateMachineSecretKeyParams | Mapping[str, Any],
        *,
        previous_token_ttl: int | Unset = UNSET,
        **options: Unpack[CallOptions],
    ) -> MachineSecretKey:
        """``POST /machines/{machine_id}/secret_key/rotate``.

        ``previous_token_ttl`` (0..28800 s) is how long the old key keeps working. Not
        retried once sent: a second rotation would retire the key the first one made.
        """
        params = build_params(
            RotateMachineSecretKeyParams,
            machine_id,
            {"previous_token_ttl": previous_token_ttl},
            id_field="machine_id",
        )
        return await self._transport.request(
            "POST",
            "/machines/{machine_id}/secret_key/rotate",
            MachineSecretKey,
            params,
            options=options,
        )

    async def create_scope(
        self,
        machine_id: str | CreateMachineScopeParams | Mapping[str, Any],
        *,
        to_machine_id: str | Unset = UNSET,
        **options: Unpack[CallOptions],
    ) -> MachineScope:
        """``POST /machines/{machine_id}/scopes``: let ``machine_id`` reach ``to_machine_id``."""
        params = build_params(
            CreateMachineScopeParams,
            machine_id,
            {"to_machine_id": to_machine_id},
            id_field="machine_id",
        )
        return await self._transport.request(
            "POST", "/machines/{machine_id}/scopes", MachineScope, params, options=options
        )

    async def delete_scope(
        self,
        machine_id: str | DeleteMachineScopeParams | Mapping[str, Any],
        *,
        other_machine_id: str | Unset = UNSET,
        **options: Unpack[CallOptions],
    ) -> MachineScopeDeleted:
        """``DELETE /machines/{machine_id}/scopes/{other_machine_id}``."""
        params = build_params(
            DeleteMachineScopeParams,
            machine_id,
            {"other_machine_id": other_machine_id},
            id_field="machine_id",
        )
        return await self._transport.request(
            "DELETE",
            "/machines/{machine_id}/scopes/{other_machine_id}",
            MachineScopeDeleted,
            params,
            options=options,
        )

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
                params = build_params(UpdateMachineParams, item, {}, id_field="machine_id")
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

    # Defined last: a method named ``list`` shadows the builtin in annotations below it.
    def list(
        self,
        params: ListMachinesParams | Mapping[str, Any] | Unset = UNSET,
        /,
        *,
        limit: int | Unset = UNSET,
        offset: int | Unset = UNSET,
        query: str | Unset = UNSET,
        order_by: str | Unset = UNSET,
        **options: Unpack[CallOptions],
    ) -> AsyncPager[Machine]:
        """``GET /machines``: ``await`` it for one page, ``async for`` over every machine.

        ``query`` matches a machine id exactly or a name in part; ``order_by`` is
        ``name`` or ``created_at`` with an optional ``+``/``-`` (default ``-created_at``).
        """
        built = build_params(
            ListMachinesParams,
            params,
            {"limit": limit, "offset": offset, "query": query, "order_by": order_by},
        )
        return paginate(
            self._transport,
            "/machines",
            Page[Machine],
            built,
            max_limit=MAX_MACHINES_LIST_LIMIT,
            options=options,
        )
