"""Who hears a call's events: the client's hooks, the log (when on), OpenTelemetry (when set up).

``Observers.for_call()`` is the one check the request path makes per call; it answers an
empty tuple unless someone listens, so an unobserved call builds no event at all.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from clerk_async.errors import trace_id_from_headers
from clerk_async.hooks import (
    CallEnd,
    CallInfo,
    CallStart,
    Hooks,
    RequestEvent,
    ResponseEvent,
    RetryEvent,
    WaitEvent,
)

if TYPE_CHECKING:
    from clerk_async._otel import OpenTelemetryHooks

__all__ = [
    "CallRecord",
    "LogHooks",
    "Observers",
    "configure_logging",
    "emit",
    "otel_hooks",
    "traced",
    "traced_sync",
    "tracing",
]

T = TypeVar("T")

log = logging.getLogger("clerk_async")

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}
_configured = False


def configure_logging(environ: dict[str, str] | os._Environ[str] = os.environ) -> None:
    """``CLERK_LOG=info|debug``: the library's log to stderr, without code (once per process).

    A handler the application set on the ``clerk_async`` logger is left alone; only the
    level is set then. Any other value of ``CLERK_LOG`` (or none) changes nothing.
    """
    global _configured
    if _configured:
        return
    _configured = True
    level = _LEVELS.get(environ.get("CLERK_LOG", "").strip().lower())
    if level is None:
        return
    log.setLevel(level)
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)


class LogHooks(Hooks):
    """The library's log lines: one per attempt at debug; retries, pauses and waits at info.

    Lines name the endpoint by its template (``GET /users/{user_id}``) and never carry a
    path's ids, a query value, a body, a header or a token.
    """

    def on_response(self, event: ResponseEvent) -> None:
        if not log.isEnabledFor(logging.DEBUG):
            return
        outcome = str(event.status) if event.status is not None else f"failed ({event.error_type})"
        trace = f" [trace {event.clerk_trace_id}]" if event.clerk_trace_id else ""
        log.debug(
            "%s -> %s in %.1f ms (attempt %d)%s",
            event.call.route,
            outcome,
            event.elapsed * 1e3,
            event.attempt,
            trace,
        )

    def on_retry(self, event: RetryEvent) -> None:
        after = f"{event.status} {event.error_type}" if event.status else event.error_type
        log.info(
            "retrying %s (attempt %d) in %.2f s after %s",
            event.call.route,
            event.attempt + 1,
            event.delay,
            after,
        )

    def on_wait(self, event: WaitEvent) -> None:
        what = {
            "limiter": "the rate limiter",
            "pause": "a 429 pause",
            "pool": "a pooled connection",
        }[event.reason]
        log.info("%s waited %.2f s for %s", event.call.route, event.seconds, what)


_LOG_HOOKS = LogHooks()


@functools.cache
def otel_hooks() -> OpenTelemetryHooks | None:
    """The process's OpenTelemetry hooks when the ``otel`` extra is installed, else None."""
    try:
        from clerk_async._otel import OpenTelemetryHooks
    except ImportError:  # opentelemetry-api is not installed: nothing to do, ever
        return None
    return OpenTelemetryHooks()


def tracing() -> bool:
    """Whether OpenTelemetry records (the extra is installed and a provider is set)."""
    hooks = otel_hooks()
    return hooks is not None and hooks.active()


async def traced(name: str, work: Awaitable[T]) -> T:
    """``await work`` inside an OpenTelemetry span ``name`` (``tracing()`` said yes)."""
    from clerk_async._otel import describe_verified, verification_span

    with verification_span(name) as span:
        result = await work
        describe_verified(span, result)
        return result


def traced_sync(name: str, work: Callable[[], T]) -> T:
    """``work()`` inside an OpenTelemetry span ``name`` (``tracing()`` said yes)."""
    from clerk_async._otel import describe_verified, verification_span

    with verification_span(name) as span:
        result = work()
        describe_verified(span, result)
        return result


class Observers:
    """The hooks that hear a call: the client's own, the log's and OpenTelemetry's."""

    __slots__ = ("_hooks", "_otel", "_with_both", "_with_log", "_with_otel")

    def __init__(self, hooks: tuple[Hooks, ...]) -> None:
        self._hooks = hooks
        self._otel = otel_hooks()
        self._with_log = (*hooks, _LOG_HOOKS)
        self._with_otel = (*hooks, self._otel) if self._otel is not None else hooks
        self._with_both = (*self._with_otel, _LOG_HOOKS)

    def for_call(self) -> tuple[Hooks, ...]:
        """Who listens to this call; ``()`` (the common case) means nobody."""
        otel = self._otel is not None and self._otel.active()
        if log.isEnabledFor(logging.INFO):
            return self._with_both if otel else self._with_log
        return self._with_otel if otel else self._hooks


def emit(hooks: tuple[Hooks, ...], name: str, event: Any) -> None:
    """Call ``name`` (``"on_request"``, ...) of each hook with ``event``; a hook that raises
    is logged, never raised into the call."""
    for hook in hooks:
        try:
            getattr(hook, name)(event)
        except Exception:  # a tracing bug must not fail the call
            log.exception("clerk_async hook %s failed in %s", type(hook).__name__, name)


def _trace_id(error: BaseException | None, headers: Mapping[str, str] | None) -> str | None:
    """Clerk's trace id: an error's (from its body), else the answer's headers."""
    trace = getattr(error, "clerk_trace_id", None)
    if trace is None and headers is not None:
        trace = trace_id_from_headers(headers)
    return trace if isinstance(trace, str) and trace else None


class CallRecord:
    """One observed call: builds its events and keeps what ``CallEnd`` reports."""

    __slots__ = ("attempts", "call", "hooks", "status", "trace_id")

    def __init__(self, hooks: tuple[Hooks, ...], call: CallInfo) -> None:
        self.hooks = hooks
        self.call = call
        self.attempts = 0
        self.status: int | None = None
        self.trace_id: str | None = None
        emit(hooks, "on_call_start", CallStart(call))

    def wait(self, reason: Literal["limiter", "pause", "pool"], seconds: float) -> None:
        emit(self.hooks, "on_wait", WaitEvent(self.call, reason, seconds))

    def request(self, attempt: int) -> None:
        self.attempts = attempt
        emit(self.hooks, "on_request", RequestEvent(self.call, attempt))

    def response(
        self,
        attempt: int,
        status: int | None,
        elapsed: float,
        error: BaseException | None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.trace_id = _trace_id(error, headers)
        error_type = type(error).__name__ if error is not None else None
        event = ResponseEvent(self.call, attempt, status, elapsed, self.trace_id, error_type)
        emit(self.hooks, "on_response", event)

    def retry(self, attempt: int, delay: float, status: int | None, error: BaseException) -> None:
        event = RetryEvent(self.call, attempt, delay, status, type(error).__name__)
        emit(self.hooks, "on_retry", event)

    def end(self, elapsed: float, error: BaseException | None) -> None:
        error_type = type(error).__name__ if error is not None else None
        if self.trace_id is None:
            self.trace_id = _trace_id(error, None)
        event = CallEnd(self.call, self.attempts, elapsed, self.status, error_type, self.trace_id)
        emit(self.hooks, "on_call_end", event)
