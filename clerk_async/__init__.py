"""clerk-async: the async-first Python client for Clerk's Backend API."""

from typing import TYPE_CHECKING, Any

from clerk_async._convert import UNSET, Unset
from clerk_async._ratelimit import RateLimit
from clerk_async._retry import RetryPolicy
from clerk_async._version import __version__
from clerk_async.batch import Batch, BatchProgress, BatchResult
from clerk_async.client import Clerk
from clerk_async.errors import (
    AuthenticationError,
    BadRequestError,
    ClerkAPIError,
    ClerkConfigError,
    ClerkConnectionError,
    ClerkError,
    ClerkErrorDetail,
    ClerkResponseValidationError,
    ClerkTimeoutError,
    ClerkValidationError,
    ClientStateError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from clerk_async.pagination import AsyncPager, Page

__all__ = [
    "UNSET",
    "APIKey",
    "APIKeyDeleted",
    "APIKeyIdParams",
    "APIKeyList",
    "APIKeySecret",
    "AsyncPager",
    "AuthenticationError",
    "BadRequestError",
    "Batch",
    "BatchProgress",
    "BatchResult",
    "Clerk",
    "ClerkAPIError",
    "ClerkConfigError",
    "ClerkConnectionError",
    "ClerkError",
    "ClerkErrorDetail",
    "ClerkResponseValidationError",
    "ClerkTimeoutError",
    "ClerkValidationError",
    "ClientStateError",
    "ConflictError",
    "CreateAPIKeyParams",
    "CreateM2MTokenParams",
    "CreateMachineParams",
    "CreateMachineScopeParams",
    "DeleteMachineScopeParams",
    "DeletedObject",
    "InternalServerError",
    "ListAPIKeysParams",
    "ListM2MTokensParams",
    "ListMachinesParams",
    "M2MToken",
    "M2MTokenList",
    "Machine",
    "MachineCreated",
    "MachineDeleted",
    "MachineIdParams",
    "MachineScope",
    "MachineScopeDeleted",
    "MachineSecretKey",
    "NotFoundError",
    "Page",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimit",
    "RateLimitError",
    "RetryPolicy",
    "RevokeAPIKeyParams",
    "RevokeM2MTokenParams",
    "RotateMachineSecretKeyParams",
    "ScopedMachine",
    "UnprocessableEntityError",
    "Unset",
    "UpdateAPIKeyParams",
    "UpdateMachineParams",
    "VerifyAPIKeyParams",
    "VerifyM2MTokenParams",
    "__version__",
]

# The Machines, M2M and API keys models and params are generated (models/<service>.py,
# services/spec/): imported on first use, so ``import clerk_async`` does not load the
# models of all 249 operations.
_LAZY = {
    "clerk_async.models.api_keys": ("APIKey", "APIKeyDeleted", "APIKeyList", "APIKeySecret"),
    "clerk_async.models.m2m": ("M2MToken", "M2MTokenList"),
    "clerk_async.models.shared": ("DeletedObject",),
    "clerk_async.models.machines": (
        "Machine",
        "MachineCreated",
        "MachineDeleted",
        "MachineScope",
        "MachineScopeDeleted",
        "MachineSecretKey",
        "ScopedMachine",
    ),
    "clerk_async.services.spec.api_keys": (
        "APIKeyIdParams",
        "CreateAPIKeyParams",
        "ListAPIKeysParams",
        "RevokeAPIKeyParams",
        "UpdateAPIKeyParams",
        "VerifyAPIKeyParams",
    ),
    "clerk_async.services.spec.m2m": (
        "CreateM2MTokenParams",
        "ListM2MTokensParams",
        "RevokeM2MTokenParams",
        "VerifyM2MTokenParams",
    ),
    "clerk_async.services.spec.machines": (
        "CreateMachineParams",
        "CreateMachineScopeParams",
        "DeleteMachineScopeParams",
        "ListMachinesParams",
        "MachineIdParams",
        "RotateMachineSecretKeyParams",
        "UpdateMachineParams",
    ),
}
_LAZY_MODULES = {name: module for module, names in _LAZY.items() for name in names}

if TYPE_CHECKING:
    from clerk_async.models.api_keys import APIKey, APIKeyDeleted, APIKeyList, APIKeySecret
    from clerk_async.models.m2m import M2MToken, M2MTokenList
    from clerk_async.models.machines import (
        Machine,
        MachineCreated,
        MachineDeleted,
        MachineScope,
        MachineScopeDeleted,
        MachineSecretKey,
        ScopedMachine,
    )
    from clerk_async.models.shared import DeletedObject
    from clerk_async.services.spec.api_keys import (
        APIKeyIdParams,
        CreateAPIKeyParams,
        ListAPIKeysParams,
        RevokeAPIKeyParams,
        UpdateAPIKeyParams,
        VerifyAPIKeyParams,
    )
    from clerk_async.services.spec.m2m import (
        CreateM2MTokenParams,
        ListM2MTokensParams,
        RevokeM2MTokenParams,
        VerifyM2MTokenParams,
    )
    from clerk_async.services.spec.machines import (
        CreateMachineParams,
        CreateMachineScopeParams,
        DeleteMachineScopeParams,
        ListMachinesParams,
        MachineIdParams,
        RotateMachineSecretKeyParams,
        UpdateMachineParams,
    )


def __getattr__(name: str) -> Any:
    module = _LAZY_MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'clerk_async' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once: later lookups are plain module attributes
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
