"""``clerk.with_raw_response`` of the sync client: the async one's raw calls, run on its loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clerk_async.raw import RawResponse
    from clerk_async.sync._client import Clerk

__all__ = ["SyncWithRawResponse"]


class _SyncRawService:
    __slots__ = ("_client", "_name")

    def __init__(self, client: Clerk, name: str) -> None:
        self._client = client
        self._name = name

    def __getattr__(self, method: str) -> Callable[..., RawResponse[Any]]:
        if method.startswith("_"):
            raise AttributeError(method)
        client, service = self._client, self._name

        def raw_call(*args: Any, **kwargs: Any) -> RawResponse[Any]:
            raw = getattr(client._current().with_raw_response, service)
            return client._run(getattr(raw, method)(*args, **kwargs))

        raw_call.__name__ = method
        return raw_call

    def __repr__(self) -> str:
        return f"<raw sync {self._name}>"


class SyncWithRawResponse:
    """Every service, its methods answering ``RawResponse`` (see ``clerk_async.raw``)."""

    __slots__ = ("_client",)

    def __init__(self, client: Clerk) -> None:
        self._client = client

    def __getattr__(self, name: str) -> _SyncRawService:
        if name.startswith("_"):
            raise AttributeError(name)
        getattr(self._client._current(), name)  # an unknown service: AttributeError now
        return _SyncRawService(self._client, name)

    def __repr__(self) -> str:
        return "<sync.Clerk.with_raw_response>"
