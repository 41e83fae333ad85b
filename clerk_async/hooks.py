"""Hooks: typed events from the request path, for logging, tracing and your own tooling.

Subclass `Hooks`, override the methods you need, and give instances to
``Clerk(hooks=[...])``. The transport calls them at its event points, in order, for every
call: ``on_call_start``, then per attempt ``on_request`` and ``on_response`` (with
``on_retry`` between attempts and ``on_wait`` after a wait for the limiter, a 429 pause or
a pooled connection), and ``on_call_end`` once, whether the call succeeded or raised.

The events carry the URL *template* (``/users/{user_id}``), never the path with its ids, a
query value, a body, a header or a token. A hook that raises is logged and ignored: a
tracing bug must not fail a call. The library's own log switch (``CLERK_LOG``) and its
OpenTelemetry layer are hooks too: one mechanism.

A client with no hooks, no ``CLERK_LOG``, and no OpenTelemetry provider configured pays
one check per call.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

import attrs

__all__ = [
    "CallEnd",
    "CallInfo",
    "CallStart",
    "Hooks",
    "RequestEvent",
    "ResponseEvent",
    "RetryEvent",
    "WaitEvent",
]

log = logging.getLogger("clerk_async")


@attrs.frozen(eq=False)
class CallInfo:
    """One call through the request path; the same object in each of its events.

    Compared by identity, so a hook can key its per-call state on it (a span, a timer).
    """

    method: str
    url_template: str
    """The spec's path, ``/machines/{machine_id}``: no ids, so it names the endpoint."""
    server_address: str
    """The API's host, ``api.clerk.com``."""
    server_port: int

    @property
    def route(self) -> str:
        """``"PATCH /machines/{machine_id}"``: the endpoint, for span and log names."""
        return f"{self.method} {self.url_template}"


@attrs.frozen
class CallStart:
    """A call begins (before any wait)."""

    call: CallInfo


@attrs.frozen
class RequestEvent:
    """An attempt starts: the request goes to aiohttp now."""

    call: CallInfo
    attempt: int
    """1 for the first try, 2 for the first retry, ..."""


@attrs.frozen
class ResponseEvent:
    """An attempt ended: an answer came (``status``), or the exchange failed (``status`` None)."""

    call: CallInfo
    attempt: int
    status: int | None
    elapsed: float
    """Seconds from the attempt's start to its answer or failure."""
    clerk_trace_id: str | None
    error_type: str | None
    """The typed error this attempt's outcome maps to (``"RateLimitError"``), None for a 2xx."""


@attrs.frozen
class RetryEvent:
    """The retry policy decided to try again after ``delay`` seconds."""

    call: CallInfo
    attempt: int
    """The attempt that failed."""
    delay: float
    status: int | None
    error_type: str


@attrs.frozen
class WaitEvent:
    """The call waited before an attempt."""

    call: CallInfo
    reason: Literal["limiter", "pause", "pool"]
    """``limiter``: the client's rate limit; ``pause``: an endpoint paused by a 429;
    ``pool``: no free pooled connection."""
    seconds: float


@attrs.frozen
class CallEnd:
    """The call is over: ``error_type`` is None when it returned an answer."""

    call: CallInfo
    attempts: int
    """Attempts sent (0 when the call failed before sending any)."""
    elapsed: float
    status: int | None
    """The last answer's status, None when none came."""
    error_type: str | None
    clerk_trace_id: str | None


class Hooks:
    """Callbacks for the request path's events; every method does nothing by default.

    They run inside the call's task, synchronously: keep them quick (hand slow work to a
    queue of your own).
    """

    def on_call_start(self, event: CallStart) -> None:
        """A call begins."""

    def on_request(self, event: RequestEvent) -> None:
        """An attempt starts."""

    def on_response(self, event: ResponseEvent) -> None:
        """An attempt ended with an answer or a failure."""

    def on_retry(self, event: RetryEvent) -> None:
        """A retry was decided."""

    def on_wait(self, event: WaitEvent) -> None:
        """The call waited for the limiter, a 429 pause or a pooled connection."""

    def on_call_end(self, event: CallEnd) -> None:
        """The call returned or raised."""


def check_hooks(hooks: Hooks | Sequence[Hooks] | None) -> tuple[Hooks, ...]:
    """``Clerk(hooks=...)`` as a tuple; anything but ``Hooks`` instances is refused."""
    from clerk_async.errors import ClerkConfigError

    if hooks is None:
        return ()
    if isinstance(hooks, Hooks):
        return (hooks,)
    checked = tuple(hooks)
    for hook in checked:
        if not isinstance(hook, Hooks):
            raise ClerkConfigError("hooks", f"must be Hooks instances, got {type(hook).__name__}")
    return checked
