"""What every generated service shares: the transport, and how deprecation is said."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clerk_async._transport import Transport

__all__ = ["Service", "deprecated"]


class Service:
    """A group of operations of the Backend API, as ``clerk.<service>``."""

    __slots__ = ("_transport",)

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def __repr__(self) -> str:
        return f"<{type(self).__name__} service>"


def deprecated(operation: str, replacement: str | None) -> None:
    """Warn, pointing at the caller's line, that ``operation`` is deprecated in the spec."""
    instead = f"; use {replacement} instead" if replacement else ""
    warnings.warn(
        f"{operation} is deprecated in Clerk's Backend API{instead}",
        DeprecationWarning,
        stacklevel=3,
    )
