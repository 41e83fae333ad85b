"""Raw answers: what Clerk said beside the model, for one call.

``await clerk.with_raw_response.users.get("user_1")`` makes the same call as
``clerk.users.get("user_1")`` (same validation, pacing, retries and errors: a non-2xx still
raises its typed error, which carries ``status``, ``headers`` and ``clerk_trace_id``) and
answers a `RawResponse`: the status, headers, Clerk's trace id, how many attempts
were sent and how long the call took, and ``parse()`` for the model. A list method answers
the raw first page; ``parse()`` gives the ``Page``.

The ordinary path pays nothing for this: the capture rides on the call's options, which a
plain call does not have.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

from clerk_async.errors import trace_id_from_headers

if TYPE_CHECKING:
    from clerk_async.client import Clerk

__all__ = ["RawResponse", "WithRawResponse"]

T = TypeVar("T")

CAPTURE_OPTION = "_capture"
"""The per-call option (not a public one) through which the transport reports the answer."""


class Capture:
    """Filled by the transport when the call's answer is a 2xx."""

    __slots__ = ("attempts", "elapsed", "headers", "status")

    def __init__(self) -> None:
        self.status = 0
        self.headers: Mapping[str, str] = {}
        self.attempts = 0
        self.elapsed = 0.0

    def record(
        self, status: int, headers: Mapping[str, str], attempts: int, elapsed: float
    ) -> None:
        self.status = status
        self.headers = headers
        self.attempts = attempts
        self.elapsed = elapsed


@attrs.frozen
class RawResponse(Generic[T]):
    """One answer from Clerk, with the parsed model on demand."""

    status: int
    headers: Mapping[str, str] = attrs.field(repr=False)
    """The answer's headers (case-insensitive)."""
    clerk_trace_id: str | None
    """Clerk's id for this request, to quote to Clerk's support."""
    attempts: int
    """Requests sent for this call (more than 1 after retries)."""
    elapsed: float
    """Seconds from the call's start (waits and retries included) to this answer."""
    _model: T = attrs.field(repr=False, alias="model")

    def parse(self) -> T:
        """The answer as the operation's model (what the plain call returns)."""
        return self._model


class _RawService:
    """``clerk.with_raw_response.<service>``: its methods answer ``RawResponse``s."""

    __slots__ = ("_service",)

    def __init__(self, service: object) -> None:
        self._service = service

    def __getattr__(self, name: str) -> Callable[..., Awaitable[RawResponse[Any]]]:
        method = getattr(self._service, name)
        if name.startswith("_") or not callable(method):
            raise AttributeError(name)

        async def raw_call(*args: Any, **kwargs: Any) -> RawResponse[Any]:
            if CAPTURE_OPTION in kwargs:
                raise TypeError(f"unexpected keyword argument {CAPTURE_OPTION!r}")
            capture = Capture()
            kwargs[CAPTURE_OPTION] = capture
            call = method(*args, **kwargs)
            if not inspect.isawaitable(call):
                raise TypeError(f"{name} is not one call to Clerk: it has no raw answer")
            model = await call  # a coroutine, or a pager: its first page
            return RawResponse(
                status=capture.status,
                headers=capture.headers,
                clerk_trace_id=trace_id_from_headers(capture.headers),
                attempts=capture.attempts,
                elapsed=capture.elapsed,
                model=model,
            )

        raw_call.__name__ = name
        raw_call.__doc__ = method.__doc__
        return raw_call

    def __repr__(self) -> str:
        return f"<raw {self._service!r}>"


class WithRawResponse:
    """``clerk.with_raw_response``: every service, its methods answering ``RawResponse``s."""

    __slots__ = ("_client",)

    def __init__(self, client: Clerk) -> None:
        self._client = client

    def __getattr__(self, name: str) -> _RawService:
        if name.startswith("_"):
            raise AttributeError(name)
        return _RawService(getattr(self._client, name))

    def __repr__(self) -> str:
        return "<Clerk.with_raw_response>"
