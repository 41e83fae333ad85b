"""What every generated sync service shares: the client it calls through."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from clerk_async.sync._client import Clerk

__all__ = ["SyncService"]

T = TypeVar("T")


class SyncService:
    """A group of operations of the Backend API, as ``clerk.<service>`` of the sync client.

    Each method calls the same method of the async client's service on the client's
    private loop: one request path for both.
    """

    __slots__ = ("_client", "_name")

    def __init__(self, client: Any, name: str) -> None:
        self._client: Clerk = client
        self._name = name

    def __repr__(self) -> str:
        return f"<{type(self).__name__} sync service>"

    def _service(self) -> Any:
        """The async client's service (a fresh one in a forked child)."""
        return getattr(self._client._current(), self._name)

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._client._run(coro)
