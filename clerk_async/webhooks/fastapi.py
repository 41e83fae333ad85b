"""A FastAPI dependency that verifies a Clerk webhook and hands the path operation its event:

    from clerk_async.webhooks import UserCreatedEvent
    from clerk_async.webhooks.fastapi import WebhookEventDep

    @app.post("/webhooks/clerk")
    async def clerk_webhook(event: WebhookEventDep) -> None:
        if isinstance(event, UserCreatedEvent):
            ...

The raw body is read as it arrives and refused (413) once it passes ``max_body_bytes``,
before it is held whole or hashed. A bad signature, a stale timestamp, missing headers or a
body that is not an event answer **400** with the reason code (never the secret or the
signature); no signing secret at all is the service's fault and raises
``ClerkConfigError`` (a 500, or ``error_reply``'s 500 with
``clerk_async.fastapi.install_exception_handlers``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated

try:
    from fastapi import Depends, HTTPException, Request
except ImportError as exc:  # pragma: no cover - exercised in a subprocess
    raise ImportError(
        "clerk_async.webhooks.fastapi needs FastAPI: install it with "
        "pip install 'clerk-async[fastapi]'"
    ) from exc

from clerk_async.webhooks._events import WebhookEvent
from clerk_async.webhooks._replay import ReplayGuard
from clerk_async.webhooks._verify import (
    DEFAULT_MAX_BODY_BYTES,
    WebhookVerificationError,
    verify,
    verify_once,
)

__all__ = ["WebhookEventDep", "verified_webhook"]

log = logging.getLogger("clerk_async.webhooks")


def verified_webhook(
    *,
    secret: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    replay_guard: ReplayGuard | None = None,
) -> Callable[[Request], Awaitable[WebhookEvent]]:
    """A dependency returning the request's verified event (``secret`` defaults to
    ``$CLERK_WEBHOOK_SIGNING_SECRET``, read on each request).

    With ``replay_guard`` (``clerk_async.webhooks.MemoryReplayGuard``,
    ``clerk_async.webhooks.RedisReplayGuard``) a delivery id already received answers
    400 (``replayed``), and 503 when the guard cannot answer (Svix retries later).
    """

    async def dependency(request: Request) -> WebhookEvent:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_body_bytes:
            raise HTTPException(413, "Webhook body too large")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_body_bytes:
                raise HTTPException(413, "Webhook body too large")
            chunks.append(chunk)
        body = b"".join(chunks)
        try:
            if replay_guard is None:
                return verify(body, request.headers, secret=secret, max_body_bytes=max_body_bytes)
            return await verify_once(
                body,
                request.headers,
                replay_guard=replay_guard,
                secret=secret,
                max_body_bytes=max_body_bytes,
            )
        except WebhookVerificationError as exc:
            log.info("%s: webhook refused: %s", request.url.path, exc)
            status = 503 if exc.reason == "replay-check-unavailable" else 400
            raise HTTPException(status, f"Invalid webhook ({exc.reason})") from None

    return dependency


WebhookEventDep = Annotated[WebhookEvent, Depends(verified_webhook())]
"""Declare ``event: WebhookEventDep`` in a path operation to receive the verified event."""
