"""Receiving Clerk's webhooks: ``verify(body, headers)`` checks the signature and returns the
event, typed by its ``type`` (see README, "Receiving Clerk webhooks"):

    event = verify(await request.body(), request.headers)  # $CLERK_WEBHOOK_SIGNING_SECRET
    if isinstance(event, UserCreatedEvent):
        print(event.data.id)

``await verify_once(body, headers, replay_guard=MemoryReplayGuard())`` also refuses a delivery
id already received (``RedisReplayGuard`` shares the ids between processes).

Every event class is generated from Clerk's webhooks spec (``_events.py``); an event of a
type this version does not know still verifies, as a plain ``WebhookEvent``.
"""

from clerk_async.webhooks import _events
from clerk_async.webhooks._events import *  # noqa: F403 (the generated event classes)
from clerk_async.webhooks._replay import MemoryReplayGuard, RedisReplayGuard, ReplayGuard
from clerk_async.webhooks._verify import (
    DEFAULT_MAX_BODY_BYTES,
    SIGNING_SECRET_ENV,
    TOLERANCE_SECONDS,
    WebhookVerificationError,
    check_signature,
    parse_event,
    sign,
    verify,
    verify_once,
)

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "SIGNING_SECRET_ENV",
    "TOLERANCE_SECONDS",
    "MemoryReplayGuard",
    "RedisReplayGuard",
    "ReplayGuard",
    "WebhookVerificationError",
    "check_signature",
    "parse_event",
    "sign",
    "verify",
    "verify_once",
]
__all__ += _events.__all__
