"""OpenTelemetry: spans and metrics from a real call against FakeClerk with faults.

Each scenario runs in a subprocess: a tracer provider is set once per process, and this
suite's other tests must keep running with none.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")

SCRIPT = textwrap.dedent(
    """
    import asyncio, base64, json, sys
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from clerk_async import Clerk, RateLimit, RetryPolicy
    from clerk_async.auth import TokenVerificationError
    from clerk_async.testing import FakeClerk
    from clerk_async.webhooks import WebhookVerificationError, sign, verify

    CONFIGURE = sys.argv[1] == "configured"
    exporter = InMemorySpanExporter()
    reader = InMemoryMetricReader()
    if CONFIGURE:
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))

    async def main():
        # The fake allows 1 request per second: the second call is answered 429 once.
        async with FakeClerk(rate_limit=RateLimit(1, 1)) as fake:
            mid = fake.add_machine(name="worker").id
            retry = RetryPolicy(max_retries=3, initial_delay=0.01, max_delay=0.05)
            async with Clerk(fake.secret_key, base_url=fake.url, retry=retry,
                             rate_limit=None) as clerk:
                await clerk.machines.get(mid)
                await clerk.machines.update(mid, name="renamed")
                if CONFIGURE:
                    await clerk.verify_token(fake.session_token())
                    try:
                        await clerk.verify_token(fake.session_token(expires_in=-120))
                    except TokenVerificationError:
                        pass
                    state = await clerk.authenticate_request({})
                    assert not state.is_authenticated
                    secret = "whsec_" + base64.b64encode(b"k" * 24).decode()
                    body = json.dumps({
                        "type": "user.deleted", "object": "event", "timestamp": 1,
                        "instance_id": "ins_1",
                        "data": {"id": "user_1", "deleted": True, "object": "user"},
                    })
                    verify(body, sign(body, secret=secret), secret=secret)
                    try:
                        verify(body + " ", sign(body, secret=secret), secret=secret)
                    except WebhookVerificationError:
                        pass
        return fake.secret_key, mid

    key, mid = asyncio.run(main())
    spans = [
        {
            "name": s.name,
            "kind": s.kind.name,
            "id": s.context.span_id,
            "parent": s.parent.span_id if s.parent else None,
            "attributes": dict(s.attributes),
            "events": [{"name": e.name, "attributes": dict(e.attributes)} for e in s.events],
            "status": s.status.status_code.name,
        }
        for s in exporter.get_finished_spans()
    ]
    data = reader.get_metrics_data() if CONFIGURE else None
    names = sorted(
        {m.name for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    ) if data else []
    print(json.dumps({"key": key, "mid": mid, "spans": spans, "metrics": names}))
    """
)


def run(mode: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def test_a_call_retried_after_a_429_is_one_span_with_an_attempt_per_child() -> None:
    result = run("configured")
    spans = result["spans"]
    calls = [s for s in spans if s["parent"] is None and s["kind"] == "CLIENT"]
    assert [c["name"] for c in calls] == [
        "GET /machines/{machine_id}",
        "PATCH /machines/{machine_id}",
    ]
    update = calls[1]
    attempts = [s for s in spans if s["parent"] == update["id"]]
    assert [a["attributes"].get("http.response.status_code") for a in attempts] == [429, 200]
    assert attempts[1]["attributes"]["http.request.resend_count"] == 1
    assert attempts[0]["attributes"]["error.type"] == "RateLimitError"
    assert all(a["kind"] == "CLIENT" for a in attempts)
    assert update["kind"] == "CLIENT"
    attrs = update["attributes"]
    assert attrs["http.request.method"] == "PATCH"
    assert attrs["url.template"] == "/machines/{machine_id}"
    assert attrs["server.address"] == "127.0.0.1"
    assert attrs["http.response.status_code"] == 200
    assert attrs["clerk.attempts"] == 2
    assert update["status"] == "UNSET"
    events = [e["name"] for e in update["events"]]
    assert events == ["clerk.retry", "clerk.wait.pause"]
    assert update["events"][0]["attributes"]["http.response.status_code"] == 429
    # No id-bearing URL, no key, anywhere.
    text = json.dumps(spans)
    assert result["mid"] not in text
    assert result["key"] not in text
    assert set(result["metrics"]) >= {
        "clerk.client.call.duration",
        "clerk.client.attempts",
        "clerk.client.rate_limited",
        "clerk.client.wait.duration",
    }


def test_without_a_provider_nothing_is_recorded() -> None:
    result = run("unconfigured")
    assert result["spans"] == []


def test_token_and_webhook_verifications_are_spans_with_the_refusal_reason() -> None:
    spans = run("configured")["spans"]
    internal = [
        (
            s["name"],
            s["attributes"].get("clerk.token_type"),
            s["attributes"].get("clerk.refusal_reason"),
        )
        for s in spans
        if s["kind"] == "INTERNAL"
    ]
    assert internal == [
        ("clerk.verify_token", "session_token", None),
        ("clerk.verify_token", None, "token-expired"),
        ("clerk.authenticate_request", "session_token", "session-token-missing"),
        ("clerk.webhooks.verify", None, None),
        ("clerk.webhooks.verify", None, "signature-mismatch"),
    ]
