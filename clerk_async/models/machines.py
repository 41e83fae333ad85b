"""Machines: the wire objects and the params of the nine operations.

Field names are the wire's snake_case keys; limits are the spec's.
"""

from __future__ import annotations

import attrs

from clerk_async import _validate as v
from clerk_async._convert import UNSET, Unset, path_field
from clerk_async.models.common import DeletedObject, Params

__all__ = [
    "CreateMachineParams",
    "CreateMachineScopeParams",
    "DeleteMachineScopeParams",
    "ListMachinesParams",
    "Machine",
    "MachineCreated",
    "MachineDeleted",
    "MachineIdParams",
    "MachineScope",
    "MachineScopeDeleted",
    "MachineSecretKey",
    "RotateMachineSecretKeyParams",
    "ScopedMachine",
    "UpdateMachineParams",
]

MAX_TOKEN_TTL = 315_360_000  # ten years, in seconds
MAX_SCOPED_MACHINES = 150
ORDER_BY = ("name", "+name", "-name", "created_at", "+created_at", "-created_at")

_machine_id = v.identifier()  # the spec puts no pattern on the path parameter
_name = v.string(min_length=1, max_length=255)
_ttl = v.integer(minimum=1, maximum=MAX_TOKEN_TTL)


# --- responses ---------------------------------------------------------------------------


@attrs.define(kw_only=True)
class _MachineFields:
    id: str
    name: str
    instance_id: str
    created_at: int  # as on the wire
    updated_at: int
    default_token_ttl: int | None = None  # not required by the spec
    object: str = "machine"


@attrs.define(kw_only=True)
class ScopedMachine(_MachineFields):
    """A machine as listed in another machine's ``scoped_machines``."""


@attrs.define(kw_only=True)
class Machine(_MachineFields):
    """A machine, with the machines it may reach (``scoped_machines``)."""

    scoped_machines: list[ScopedMachine] = attrs.Factory(list)


@attrs.define(kw_only=True)
class MachineCreated(Machine):
    """The answer to ``create``: the only time Clerk returns the machine's secret key."""

    secret_key: str = attrs.field(repr=False)


@attrs.define(kw_only=True)
class MachineDeleted(DeletedObject):
    object: str = "machine"


@attrs.define(kw_only=True)
class MachineSecretKey:
    secret: str = attrs.field(repr=False)
    object: str = "machine_secret_key"


@attrs.define(kw_only=True)
class MachineScope:
    from_machine_id: str
    to_machine_id: str
    created_at: int
    object: str = "machine_scope"


@attrs.define(kw_only=True)
class MachineScopeDeleted:
    from_machine_id: str
    to_machine_id: str
    deleted: bool = True
    object: str = "machine_scope"


# --- params ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ListMachinesParams(Params):
    limit: int | Unset = attrs.field(
        default=UNSET, validator=v.optional(v.integer(minimum=1, maximum=500))
    )
    offset: int | Unset = attrs.field(default=UNSET, validator=v.optional(v.integer(minimum=0)))
    query: str | Unset = attrs.field(default=UNSET, validator=v.optional(v.string()))
    order_by: str | Unset = attrs.field(default=UNSET, validator=v.optional(v.one_of(ORDER_BY)))


@attrs.frozen(kw_only=True)
class CreateMachineParams(Params):
    name: str = attrs.field(validator=_name)
    scoped_machines: list[str] | Unset = attrs.field(
        default=UNSET,
        validator=v.optional(v.string_list(v.identifier(), max_items=MAX_SCOPED_MACHINES)),
    )
    default_token_ttl: int | Unset = attrs.field(default=UNSET, validator=v.optional(_ttl))


@attrs.frozen(kw_only=True)
class MachineIdParams(Params):
    """Params of the operations that take only the machine id (get, delete, get_secret_key)."""

    machine_id: str = path_field(validator=_machine_id)


@attrs.frozen(kw_only=True)
class UpdateMachineParams(Params):
    """``PATCH /machines/{machine_id}``: only the fields given are changed."""

    machine_id: str = path_field(validator=_machine_id)
    name: str | Unset = attrs.field(default=UNSET, validator=v.optional(_name))
    default_token_ttl: int | Unset = attrs.field(default=UNSET, validator=v.optional(_ttl))


@attrs.frozen(kw_only=True)
class RotateMachineSecretKeyParams(Params):
    machine_id: str = path_field(validator=_machine_id)
    # How long the previous key keeps working, in seconds; 0 expires it at once.
    previous_token_ttl: int = attrs.field(validator=v.integer(minimum=0, maximum=28_800))


@attrs.frozen(kw_only=True)
class CreateMachineScopeParams(Params):
    machine_id: str = path_field(validator=_machine_id)
    to_machine_id: str = attrs.field(validator=v.identifier())


@attrs.frozen(kw_only=True)
class DeleteMachineScopeParams(Params):
    machine_id: str = path_field(validator=_machine_id)
    other_machine_id: str = path_field(validator=v.identifier())
