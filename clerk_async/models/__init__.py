"""attrs models (responses) and params (requests), one module per resource.

Params are frozen: validated once when built, they cannot drift afterwards, and one object
can be sent, retried and reported safely. Response models are plain ``attrs.define``
classes: frozen ones cost about twice as much to build (every field goes through
``object.__setattr__``), which on a ``machines.update`` was 2-3 % of the client's CPU.
"""

from __future__ import annotations

import importlib
from typing import Any


def __getattr__(name: str) -> Any:
    """``from clerk_async.models import User, CreateUserParams``: found on first use.

    Response models live in ``clerk_async.models.spec``, each operation's params class in
    its service module (``clerk_async.services.spec.<service>``); importing this package
    loads neither until a name is asked for.
    """
    if name.startswith("__"):
        raise AttributeError(name)
    spec = importlib.import_module("clerk_async.models.spec")
    value = getattr(spec, name, None)
    if not isinstance(value, type) or value.__module__ != spec.__name__:
        from clerk_async.services.spec import OPERATIONS

        module = next((op.module for op in OPERATIONS.values() if op.params == name), None)
        if module is None:
            raise AttributeError(f"module 'clerk_async.models' has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once: later look-ups are plain module attributes
    return value
