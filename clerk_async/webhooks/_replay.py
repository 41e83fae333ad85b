"""Replay protection for webhooks: each delivery id is accepted once while it could verify.

A captured delivery verifies again until its timestamp leaves the tolerance (five minutes).
A guard remembers the ``svix-id`` of each delivery that verified until then, and refuses the
id a second time. Only verified deliveries are remembered: a forger cannot burn an id.

``MemoryReplayGuard`` holds the ids in the process; ``RedisReplayGuard`` shares
them through Redis between every process and host receiving the endpoint's webhooks
(``SET NX`` with an expiry: one round trip per delivery).

Svix sends a failed delivery again with the same ``svix-id``: if handling fails after the
delivery verified, call ``forget`` so that the retry is accepted.
"""

from __future__ import annotations

import hashlib
import math
from typing import TYPE_CHECKING, Protocol

from clerk_async.errors import ClerkConfigError

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["DEFAULT_MAX_IDS", "MemoryReplayGuard", "RedisReplayGuard", "ReplayGuard"]

DEFAULT_MAX_IDS = 100_000


class ReplayGuard(Protocol):
    """What ``clerk_async.webhooks.verify_once`` asks of a guard."""

    async def first_delivery(self, msg_id: str, expires_at: float, now: float) -> bool:
        """Record ``msg_id`` until ``expires_at`` (epoch seconds); False if it was held."""
        ...

    async def forget(self, msg_id: str) -> None:
        """Let ``msg_id`` be accepted again (its handling failed: Svix will retry it)."""
        ...


class MemoryReplayGuard:
    """The delivery ids of this process, each kept until it could no longer verify.

    At most ``max_ids`` are held: past that, the oldest are dropped first (only deliveries
    that verified are held, so only Clerk's own traffic fills it).
    """

    def __init__(self, max_ids: int = DEFAULT_MAX_IDS) -> None:
        if isinstance(max_ids, bool) or not isinstance(max_ids, int) or max_ids < 1:
            raise ClerkConfigError("max_ids", f"must be an integer >= 1, got {max_ids!r}")
        self.max_ids = max_ids
        self._expiries: dict[str, float] = {}  # in insertion order: the oldest first

    def __repr__(self) -> str:
        return f"<MemoryReplayGuard {len(self._expiries)} ids>"

    async def first_delivery(self, msg_id: str, expires_at: float, now: float) -> bool:
        held = self._expiries.get(msg_id)
        if held is not None and held > now:
            return False
        if len(self._expiries) >= self.max_ids:
            self._expire(now)
        self._expiries.pop(msg_id, None)  # re-inserted last: insertion order stays age order
        self._expiries[msg_id] = expires_at
        return True

    async def forget(self, msg_id: str) -> None:
        self._expiries.pop(msg_id, None)

    def _expire(self, now: float) -> None:
        expiries = self._expiries
        for msg_id in [k for k, t in expiries.items() if t <= now]:
            del expiries[msg_id]
        excess = len(expiries) - self.max_ids + 1
        for msg_id in list(expiries)[: max(excess, 0)]:
            del expiries[msg_id]


class RedisReplayGuard:
    """Delivery ids shared through Redis: ``redis`` is a ``redis.asyncio.Redis`` or a URL.

    Keys are ``<namespace>:<sha256 of the id>``, expiring with the delivery: give each
    endpoint (signing secret) its own ``namespace`` if several share a Redis. Needs the
    ``redis`` extra. A Redis that cannot answer makes the delivery fail
    (``replay-check-unavailable``): Svix retries it later, nothing is accepted twice.
    """

    def __init__(
        self,
        redis: Redis | str,
        *,
        namespace: str = "clerk_async:webhooks",
        timeout: float = 2.0,
    ) -> None:
        try:
            from redis.asyncio import Redis as RedisClient
        except ImportError as exc:  # pragma: no cover - exercised in a subprocess
            raise ImportError(
                "RedisReplayGuard needs redis-py: pip install 'clerk-async[redis]'"
            ) from exc
        if not isinstance(namespace, str) or not namespace:
            raise ClerkConfigError("namespace", "must be a non-empty string")
        self._owned = isinstance(redis, str)
        if isinstance(redis, str):
            if not redis.startswith(("redis://", "rediss://", "unix://")):
                raise ClerkConfigError("redis", "must be a redis://, rediss:// or unix:// URL")
            redis = RedisClient.from_url(
                redis, socket_timeout=timeout, socket_connect_timeout=timeout
            )
        self._redis = redis
        self._namespace = namespace

    def __repr__(self) -> str:
        return f"<RedisReplayGuard namespace={self._namespace!r}>"

    def _key(self, msg_id: str) -> str:
        return f"{self._namespace}:{hashlib.sha256(msg_id.encode()).hexdigest()}"

    async def first_delivery(self, msg_id: str, expires_at: float, now: float) -> bool:
        ttl_ms = max(1, math.ceil((expires_at - now) * 1000))
        return bool(await self._redis.set(self._key(msg_id), b"1", nx=True, px=ttl_ms))

    async def forget(self, msg_id: str) -> None:
        await self._redis.delete(self._key(msg_id))

    async def aclose(self) -> None:
        """Close the connections of a guard made from a URL (a given client is the caller's)."""
        if self._owned:
            await self._redis.aclose()
