"""OpenTelemetry for the request path, built on ``clerk_async.hooks`` (the ``otel`` extra).

Imported only when ``opentelemetry-api`` is installed. Spans and metrics go to the globally
configured providers (``opentelemetry.trace.set_tracer_provider``, ...): no setting on our
side. Until a provider is configured, ``active()`` is False and the request path emits no
event at all.

- One CLIENT span per call, named by its URL template (``PATCH /machines/{machine_id}``),
  with one child span per attempt; events on the call span for retries, 429 pauses, limiter
  and pool waits. Attributes follow the HTTP semantic conventions (``http.request.method``,
  ``url.template``, ``server.address``, ``server.port``, ``http.response.status_code``,
  ``error.type``, ``http.request.resend_count``) plus ``clerk.trace_id`` and
  ``clerk.attempts``. Never a raw URL (ids), a query, a body, a header or a token.
- Metrics: ``clerk.client.call.duration`` (s), ``clerk.client.attempts``,
  ``clerk.client.rate_limited`` (429 answers), ``clerk.client.wait.duration`` (s, by reason).
- ``verification_span(name)`` for request authentication and webhook verification: a span
  whose ``clerk.refusal_reason`` says why a token or delivery was refused.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from opentelemetry import context, metrics, trace
from opentelemetry.metrics import _internal as _metrics_internal
from opentelemetry.trace import SpanKind, Status, StatusCode

from clerk_async._version import __version__
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

__all__ = ["OpenTelemetryHooks", "configured", "describe_verified", "verification_span"]

_SCOPE = "clerk_async"


def configured() -> bool:
    """Whether the application has set a tracer or a meter provider (not the API's proxies).

    Asked once per call until it is True: the API's own ``get_tracer_provider()`` looks
    the environment up on each use (~3,500 instructions a call, per
    ``benchmarks.observe``), so this reads the globals it sets; a provider named by
    ``OTEL_PYTHON_TRACER_PROVIDER`` is loaded by ``OpenTelemetryHooks()``'s first
    ``get_tracer_provider()``.
    """
    tracer_provider = getattr(trace, "_TRACER_PROVIDER", None)
    meter_provider = getattr(_metrics_internal, "_METER_PROVIDER", None)
    if tracer_provider is None and meter_provider is None:
        return False
    return not isinstance(tracer_provider, (type(None), trace.NoOpTracerProvider)) or not (
        isinstance(meter_provider, (type(None), metrics.NoOpMeterProvider))
    )


class _CallSpans:
    """What one call holds open: its span, its context token, the current attempt's."""

    __slots__ = ("attempt", "attempt_token", "span", "token")

    def __init__(self, span: trace.Span, token: object) -> None:
        self.span = span
        self.token = token
        self.attempt: trace.Span | None = None
        self.attempt_token: object | None = None


def _base_attributes(call: CallInfo) -> dict[str, Any]:
    return {
        "http.request.method": call.method,
        "url.template": call.url_template,
        "server.address": call.server_address,
        "server.port": call.server_port,
    }


class OpenTelemetryHooks(Hooks):
    """Spans and metrics from the request path's events."""

    def __init__(self) -> None:
        trace.get_tracer_provider()  # loads one named by OTEL_PYTHON_TRACER_PROVIDER, if any
        # The API's proxies: they start delegating once the application sets a provider.
        self._tracer = trace.get_tracer(_SCOPE, __version__)
        meter = metrics.get_meter(_SCOPE, __version__)
        self._duration = meter.create_histogram(
            "clerk.client.call.duration", unit="s", description="Calls to Clerk, retries included"
        )
        self._attempts = meter.create_counter(
            "clerk.client.attempts", unit="{attempt}", description="Requests sent to Clerk"
        )
        self._rate_limited = meter.create_counter(
            "clerk.client.rate_limited", unit="{answer}", description="429 answers from Clerk"
        )
        self._waits = meter.create_histogram(
            "clerk.client.wait.duration",
            unit="s",
            description="Time calls waited for the rate limiter, a 429 pause or a connection",
        )
        self._calls: dict[CallInfo, _CallSpans] = {}
        self._active = False

    def active(self) -> bool:
        """True once a provider is configured (a provider cannot be unset: cached then)."""
        if not self._active:
            self._active = configured()
        return self._active

    def on_call_start(self, event: CallStart) -> None:
        call = event.call
        span = self._tracer.start_span(
            call.route, kind=SpanKind.CLIENT, attributes=_base_attributes(call)
        )
        token = context.attach(trace.set_span_in_context(span))
        self._calls[call] = _CallSpans(span, token)

    def on_request(self, event: RequestEvent) -> None:
        held = self._calls.get(event.call)
        if held is None:
            return
        attributes = _base_attributes(event.call)
        if event.attempt > 1:
            attributes["http.request.resend_count"] = event.attempt - 1
        attempt = self._tracer.start_span(
            event.call.route,
            context=trace.set_span_in_context(held.span),
            kind=SpanKind.CLIENT,
            attributes=attributes,
        )
        held.attempt = attempt
        held.attempt_token = context.attach(trace.set_span_in_context(attempt))
        self._attempts.add(
            1, {"http.request.method": event.call.method, "url.template": event.call.url_template}
        )

    def on_response(self, event: ResponseEvent) -> None:
        held = self._calls.get(event.call)
        if held is None or held.attempt is None:
            return
        attempt = held.attempt
        if event.status is not None:
            attempt.set_attribute("http.response.status_code", event.status)
            if event.status == 429:
                self._rate_limited.add(1, {"url.template": event.call.url_template})
        if event.clerk_trace_id:
            attempt.set_attribute("clerk.trace_id", event.clerk_trace_id)
        if event.error_type:
            attempt.set_attribute("error.type", event.error_type)
            attempt.set_status(Status(StatusCode.ERROR))
        self._end_attempt(held)

    def on_retry(self, event: RetryEvent) -> None:
        held = self._calls.get(event.call)
        if held is None:
            return
        attributes: dict[str, Any] = {
            "clerk.attempt": event.attempt,
            "clerk.retry.delay": event.delay,
            "error.type": event.error_type,
        }
        if event.status is not None:
            attributes["http.response.status_code"] = event.status
        held.span.add_event("clerk.retry", attributes)

    def on_wait(self, event: WaitEvent) -> None:
        held = self._calls.get(event.call)
        if held is not None:
            held.span.add_event(f"clerk.wait.{event.reason}", {"clerk.wait.seconds": event.seconds})
        self._waits.record(event.seconds, {"clerk.wait.reason": event.reason})

    def on_call_end(self, event: CallEnd) -> None:
        held = self._calls.pop(event.call, None)
        if held is None:
            return
        if held.attempt is not None:  # cancelled mid-attempt
            self._end_attempt(held)
        span = held.span
        span.set_attribute("clerk.attempts", event.attempts)
        attributes: dict[str, Any] = {
            "http.request.method": event.call.method,
            "url.template": event.call.url_template,
        }
        if event.status is not None:
            span.set_attribute("http.response.status_code", event.status)
            attributes["http.response.status_code"] = event.status
        if event.clerk_trace_id:
            span.set_attribute("clerk.trace_id", event.clerk_trace_id)
        if event.error_type:
            span.set_attribute("error.type", event.error_type)
            span.set_status(Status(StatusCode.ERROR))
            attributes["error.type"] = event.error_type
        context.detach(held.token)  # type: ignore[arg-type]
        span.end()
        self._duration.record(event.elapsed, attributes)

    @staticmethod
    def _end_attempt(held: _CallSpans) -> None:
        assert held.attempt is not None
        context.detach(held.attempt_token)  # type: ignore[arg-type]
        held.attempt.end()
        held.attempt = held.attempt_token = None


@contextlib.contextmanager
def verification_span(name: str) -> Iterator[trace.Span]:
    """An INTERNAL span around verifying a token or a webhook; a refusal's ``reason``
    becomes ``clerk.refusal_reason`` (never the token, the body or a message)."""
    tracer = trace.get_tracer(_SCOPE, __version__)
    with tracer.start_as_current_span(
        name, kind=SpanKind.INTERNAL, record_exception=False, set_status_on_exception=False
    ) as current:
        try:
            yield current
        except Exception as exc:
            reason = getattr(exc, "reason", None)
            if isinstance(reason, str):
                current.set_attribute("clerk.refusal_reason", reason)
            current.set_attribute("error.type", type(exc).__name__)
            current.set_status(Status(StatusCode.ERROR))
            raise


def describe_verified(current: trace.Span, result: object) -> None:
    """What a verification found: the token type, or why a request was not authenticated."""
    token_type = getattr(result, "token_type", None)
    if isinstance(token_type, str):
        current.set_attribute("clerk.token_type", token_type)
    reason = getattr(result, "reason", None)
    if isinstance(reason, str) and reason:
        current.set_attribute("clerk.refusal_reason", reason)
