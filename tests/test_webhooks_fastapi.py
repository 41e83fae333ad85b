"""The webhook dependency in a FastAPI app under real uvicorn, fed over HTTP by httpx.

No ``from __future__ import annotations``: FastAPI reads the path operations' annotations.
"""

import json
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI

from clerk_async.fastapi import install_exception_handlers
from clerk_async.webhooks import EVENTS, MemoryReplayGuard, WebhookEvent, sign
from clerk_async.webhooks.fastapi import WebhookEventDep, verified_webhook
from tests._webhook_corpus import payloads
from tests.test_fastapi import serve_in_process
from tests.test_webhooks import OTHER_SECRET, SECRET, USER_CREATED

SMALL_LIMIT = 10_000


def make_app() -> FastAPI:
    app = FastAPI()
    install_exception_handlers(app)
    received: list[WebhookEvent] = []
    app.state.received = received

    @app.post("/webhooks/clerk")
    async def clerk_webhook(event: WebhookEventDep) -> dict[str, str]:
        received.append(event)
        return {"type": event.type, "class": type(event).__name__}

    Small = Annotated[WebhookEvent, Depends(verified_webhook(max_body_bytes=SMALL_LIMIT))]

    @app.post("/webhooks/small")
    async def small(event: Small) -> dict[str, str]:
        return {"type": event.type}

    return app


@pytest.fixture
async def http(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("CLERK_WEBHOOK_SIGNING_SECRET", SECRET)
    app = make_app()
    async with serve_in_process(app) as url, httpx.AsyncClient(base_url=url, timeout=15) as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


async def post(
    http: httpx.AsyncClient, body: bytes, headers: dict[str, str], path: str = "/webhooks/clerk"
) -> httpx.Response:
    return await http.post(
        path, content=body, headers={**headers, "Content-Type": "application/json"}
    )


async def test_every_event_type_is_received_as_its_class(http: httpx.AsyncClient) -> None:
    corpus = payloads()
    for i, (event_type, _, payload) in enumerate(corpus):
        body = json.dumps(payload).encode()
        answer = await post(http, body, sign(body, secret=SECRET, msg_id=f"msg_{i}"))
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"type": event_type, "class": EVENTS[event_type].__name__}
    assert len(http.app.state.received) == len(corpus)  # type: ignore[attr-defined]


# Signed when the test runs, not when it is collected: a suite on a loaded machine can take
# longer than the 5-minute tolerance between the two.
BAD_DELIVERIES: dict[str, Callable[[], dict[str, str]]] = {
    "signature-mismatch": lambda: sign(USER_CREATED, secret=OTHER_SECRET),
    "timestamp-too-old": lambda: sign(USER_CREATED, secret=SECRET, timestamp=1),
    "headers-missing": dict,
}


@pytest.mark.parametrize("reason", BAD_DELIVERIES)
async def test_a_bad_delivery_is_a_400_with_its_reason(
    http: httpx.AsyncClient, reason: str
) -> None:
    answer = await post(http, USER_CREATED, BAD_DELIVERIES[reason]())
    assert answer.status_code == 400
    assert answer.json() == {"detail": f"Invalid webhook ({reason})"}
    assert SECRET.removeprefix("whsec_") not in answer.text
    assert not http.app.state.received  # type: ignore[attr-defined]


async def test_a_tampered_body_is_a_400(http: httpx.AsyncClient) -> None:
    headers = sign(USER_CREATED, secret=SECRET)
    answer = await post(http, USER_CREATED.replace(b"ins_123", b"ins_999"), headers)
    assert answer.status_code == 400


async def test_a_body_over_the_limit_is_a_413_declared_or_streamed(http: httpx.AsyncClient) -> None:
    big = b'{"type": "user.created", "pad": "' + b"x" * SMALL_LIMIT + b'"}'
    headers = sign(big, secret=SECRET)
    answer = await post(http, big, headers, "/webhooks/small")
    assert answer.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked
        for i in range(0, len(big), 1000):
            yield big[i : i + 1000]

    answer = await http.post("/webhooks/small", content=chunks(), headers=headers)
    assert "content-length" not in answer.request.headers
    assert answer.status_code == 413
    small = sign(USER_CREATED, secret=SECRET)
    assert (await post(http, USER_CREATED, small, "/webhooks/small")).json() == {
        "type": "user.created"
    }


async def test_no_signing_secret_is_the_service_s_fault(
    http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLERK_WEBHOOK_SIGNING_SECRET")
    answer = await post(http, USER_CREATED, sign(USER_CREATED, secret=SECRET))
    assert answer.status_code == 500
    body: Any = answer.json()
    assert body["errors"][0]["code"] == "clerk_misconfigured"


async def test_the_dependency_refuses_a_replayed_delivery(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLERK_WEBHOOK_SIGNING_SECRET", SECRET)
    app = FastAPI()
    Once = Annotated[WebhookEvent, Depends(verified_webhook(replay_guard=MemoryReplayGuard()))]

    @app.post("/webhooks/once")
    async def once(event: Once) -> dict[str, str]:
        return {"type": event.type}

    headers = sign(USER_CREATED, secret=SECRET, msg_id="msg_once")
    async with serve_in_process(app) as url, httpx.AsyncClient(base_url=url) as client:
        first = await post(client, USER_CREATED, headers, "/webhooks/once")
        again = await post(client, USER_CREATED, headers, "/webhooks/once")
    assert first.json() == {"type": "user.created"}
    assert (again.status_code, again.json()) == (400, {"detail": "Invalid webhook (replayed)"})
