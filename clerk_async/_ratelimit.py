"""The limiter every request of a client passes, and the pause after a 429.

Clerk counts requests per instance in a window of ``per_seconds`` as they *arrive*.
The client cannot see arrival times, only that a request arrived somewhere between
being sent and its response coming back. So a slot is held from the moment a request
is let through until ``per_seconds`` after its response: any request let through later
is sent after that, hence arrives after it too, and no window on the server's clock
can hold more than ``requests`` of ours, whatever the network's delays.
(A request that provably never left, such as a refused connection, frees its slot at once.)
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Final

import attrs
from yarl import URL

__all__ = [
    "KEYED_ROUTES",
    "PER_OBJECT",
    "Limiter",
    "PoolGate",
    "RateLimit",
    "bucket_for",
    "bucket_for_path",
    "default_rate_limit",
    "keyed",
]


def redact_url(url: str) -> str:
    """``url`` without its password, for messages and reprs."""
    try:
        parsed = URL(url)
    except (TypeError, ValueError):
        return "<unparsable URL>"
    return str(parsed.with_password("***")) if parsed.password else url


def _check_redis_url(instance: object, attribute: object, value: str | None) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not value.startswith(("redis://", "rediss://", "unix://")):
        shown = redact_url(value) if isinstance(value, str) else repr(value)
        raise ValueError(f"redis_url must be a redis://, rediss:// or unix:// URL, got {shown}")


@attrs.frozen
class RateLimit:
    """At most ``requests`` requests in any ``per_seconds`` window.

    With ``redis_url``, every client using the same secret key, in any process on any host,
    shares that one window through Redis (see clerk_async._redis_limit).
    ``processes``: how many processes share the limit, if you know it. Whenever a process
    paces alone (always without ``redis_url``; with it, while Redis fails and before Redis
    has counted the processes) it paces to ``1/processes`` of the limit.
    """

    requests: int = attrs.field(validator=attrs.validators.gt(0))
    per_seconds: float = attrs.field(validator=attrs.validators.gt(0))
    # The URL may hold a password: the repr shows it redacted.
    redis_url: str | None = attrs.field(
        default=None,
        validator=_check_redis_url,
        repr=lambda url: repr(None if url is None else redact_url(url)),
    )
    processes: int | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(
            [attrs.validators.instance_of(int), attrs.validators.gt(0)]
        ),
    )


# Clerk's documented per-instance limits (docs: "System limits").
PRODUCTION = RateLimit(1000, 10.0)
DEVELOPMENT = RateLimit(100, 10.0)

# Clerk's limit per object, counted on top of the instance's (docs: "System limits"): PATCH on a
# user, its metadata, an organization and a membership, 10 per 10 s per user, organization or
# membership. An object's endpoints share one bucket: the docs do not say whether a user's PATCH
# and its metadata PATCH are counted apart, and counting them together is the safe reading.
PER_OBJECT = RateLimit(10, 10.0)
KEYED_ROUTES: Final[Mapping[str, tuple[str, str, tuple[str, ...]]]] = {
    # path template -> (method, bucket kind, the path parameters naming the object)
    "/users/{user_id}": ("PATCH", "user", ("user_id",)),
    "/users/{user_id}/metadata": ("PATCH", "user", ("user_id",)),
    "/organizations/{organization_id}": ("PATCH", "organization", ("organization_id",)),
    "/organizations/{organization_id}/metadata": ("PATCH", "organization", ("organization_id",)),
    "/organizations/{organization_id}/memberships/{user_id}": (
        "PATCH",
        "membership",
        ("organization_id", "user_id"),
    ),
    "/organizations/{organization_id}/memberships/{user_id}/metadata": (
        "PATCH",
        "membership",
        ("organization_id", "user_id"),
    ),
}


def keyed(method: str, template: str) -> bool:
    """Whether ``method template`` counts against a per-object limit too."""
    rule = KEYED_ROUTES.get(template)
    return rule is not None and rule[0] == method


def bucket_for(method: str, template: str, path_values: Mapping[str, str]) -> str | None:
    """The per-object bucket a request counts against (``"user:user_123"``), or None."""
    if not keyed(method, template):
        return None
    _, kind, names = KEYED_ROUTES[template]
    return kind + ":" + "/".join(path_values[name] for name in names)


# The same routes as patterns over concrete paths, for the escape hatch (clerk.request).
_KEYED_PATHS: Final = [
    (re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "/?$"), template)
    for template in KEYED_ROUTES
]


def bucket_for_path(method: str, path: str) -> str | None:
    """:func:`bucket_for` for a concrete path such as ``/users/user_123/metadata``."""
    if method != "PATCH":  # the only method with per-object limits (a cheap first test)
        return None
    for pattern, template in _KEYED_PATHS:
        match = pattern.match(path)
        if match:
            return bucket_for(method, template, match.groupdict())
    return None


def default_rate_limit(secret_key: str | None) -> RateLimit:
    """The instance limit that follows from the key: ``sk_live_`` is production."""
    if secret_key is not None and secret_key.startswith("sk_live_"):
        return PRODUCTION
    return DEVELOPMENT


class _Window:
    """The slots of one limit: held by requests in flight and by answers younger than
    ``per_seconds``. ``turn`` queues its waiters in arrival order."""

    __slots__ = ("freed", "in_flight", "per_seconds", "released", "requests", "turn")

    def __init__(self, limit: RateLimit) -> None:
        self.requests = limit.requests
        self.per_seconds = limit.per_seconds
        self.in_flight = 0
        self.released: deque[float] = deque()  # when recent requests finished
        self.turn = asyncio.Lock()
        self.freed = asyncio.Event()

    def free_in(self, now: float, share: float) -> float | None:
        """None when a slot is free now; else how long until one may be.

        ``share``: pace to 1/share of the limit (a process's share, when it paces alone).
        """
        released = self.released
        horizon = now - self.per_seconds
        while released and released[0] <= horizon:
            released.popleft()
        if self.in_flight + len(released) < max(1, self.requests // share):
            return None
        if released:
            return released[0] - horizon
        return float("inf")

    def give_back(self, now: float, sent: bool) -> None:
        self.in_flight -= 1
        if sent:
            self.released.append(now)
        self.freed.set()

    def idle(self, now: float) -> bool:
        return (
            not self.in_flight
            and not self.turn.locked()
            and (not self.released or self.released[-1] <= now - self.per_seconds)
        )


class Limiter:
    """Sliding-window pacing, per-object limits, and a pause per endpoint after a 429.

    Clerk documents that after a 429 "later requests to that endpoint are blocked" for the
    ``Retry-After`` period, so the pause is kept per endpoint (``route``: the method and path
    template, ``"PATCH /machines/{machine_id}"``): a long block of one endpoint (invitations
    allow 100 an hour) must not stall the others. A request may also name a per-object bucket
    (``key``, from :func:`bucket_for`): it then needs a slot in that bucket's window
    (``per_object``) as well as in the instance's.
    """

    def __init__(
        self,
        limit: RateLimit | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        per_object: RateLimit = PER_OBJECT,
    ) -> None:
        self.limit = limit
        self.per_object = per_object
        # Pace to 1/share of the limits: the process's share when it paces alone
        # (RedisLimiter adjusts it while Redis is down).
        self.share: float = (limit.processes if limit is not None else None) or 1
        self._clock = clock
        self._window = None if limit is None else _Window(limit)
        self._keys: dict[str, _Window] = {}
        self._pauses: dict[str, float] = {}  # route -> when its pause ends

    @property
    def _in_flight(self) -> int:
        return 0 if self._window is None else self._window.in_flight

    def pause(self, route: str, seconds: float) -> None:
        """Hold every request to ``route`` until ``seconds`` from now (a 429's Retry-After)."""
        now = self._clock()
        pauses = self._pauses
        # Ended pauses are dropped when their route is next used; routes that never are
        # (``clerk.request`` paths) are dropped here, so the table stays small and the
        # fast path (no pause at all) comes back.
        for ended in [r for r, end in pauses.items() if end <= now]:
            del pauses[ended]
        until = now + seconds
        if until > pauses.get(route, 0.0):
            pauses[route] = until

    def pause_remaining(self, route: str) -> float:
        """Seconds until ``route``'s pause ends; 0.0 when it is not paused."""
        if not self._pauses:  # the usual case: one test, no clock read
            return 0.0
        until = self._pauses.get(route)
        if until is None:
            return 0.0
        left = until - self._clock()
        if left > 0:
            return left
        del self._pauses[route]
        return 0.0

    def try_acquire(self, route: str, key: str | None = None) -> bool:
        """Take a slot if one is free now, without waiting; else ``acquire`` must be awaited."""
        if self._pauses and self.pause_remaining(route):
            return False
        window = self._window
        if window is None:
            return True
        if window.turn.locked():
            return False  # others queue already: wait in line
        now = self._clock()
        if window.free_in(now, self.share) is not None:
            return False
        if key is not None:
            bucket = self._bucket(key)
            if bucket.turn.locked() or bucket.free_in(now, self.share) is not None:
                return False
            bucket.in_flight += 1
        window.in_flight += 1
        return True

    async def acquire(self, route: str, key: str | None = None) -> None:
        """Wait for ``route``'s pause and a free slot; the caller must ``release``."""
        while True:
            pause = self.pause_remaining(route)
            if pause:
                await asyncio.sleep(pause)  # out of the line: other endpoints go on
                continue
            window = self._window
            if window is None:
                return
            if key is None:
                async with window.turn:
                    if self.pause_remaining(route):
                        continue  # paused while we stood in line
                    await self._wait(window)
                    window.in_flight += 1
                    return
            bucket = self._bucket(key)
            # Requests to one object queue in its own line first: a busy user holds up
            # only the requests to that user, not the instance's line.
            async with bucket.turn:
                await self._wait(bucket)
                async with window.turn:
                    if self.pause_remaining(route):
                        continue
                    await self._wait(window)
                    window.in_flight += 1
                    bucket.in_flight += 1
                    return

    async def _wait(self, window: _Window) -> None:
        while True:
            wait = window.free_in(self._clock(), self.share)
            if wait is None:
                return
            if wait == float("inf"):  # every slot is held by a request in flight
                window.freed.clear()
                await window.freed.wait()
            else:
                await asyncio.sleep(wait)

    def _bucket(self, key: str) -> _Window:
        bucket = self._keys.get(key)
        if bucket is None:
            if len(self._keys) >= 1024:  # forget the objects whose slots are all free
                now = self._clock()
                for old in [k for k, b in self._keys.items() if b.idle(now)]:
                    del self._keys[old]
            bucket = self._keys[key] = _Window(self.per_object)
        return bucket

    def take(self, key: str | None = None) -> None:
        """Count a slot granted elsewhere (by Redis): this process's own share of the window."""
        if self._window is not None:
            self._window.in_flight += 1
            if key is not None:
                self._bucket(key).in_flight += 1

    def release(self, *, sent: bool = True, key: str | None = None) -> None:
        """End of a request let through by ``acquire`` (a limiter with a limit only)."""
        window = self._window
        if window is None:
            return
        now = self._clock() if sent else 0.0
        window.give_back(now, sent)
        if key is not None:
            self._keys[key].give_back(now, sent)

    def recent(self) -> list[tuple[str | None, float]]:
        """This process's answers still in a window: (bucket or None, seconds ago)."""
        now = self._clock()
        out: list[tuple[str | None, float]] = []
        for key, window in [(None, self._window), *self._keys.items()]:
            if window is not None:
                out.extend((key, now - t) for t in window.released if now - t < window.per_seconds)
        return out


class PoolGate:
    """Admits at most ``size`` requests to the connection pool at once.

    Waiting here, before aiohttp's own queue, keeps pool waits out of a request's timeout.
    It is asyncio.Semaphore with a synchronous fast path (``try_acquire``) for the hot
    path; a released slot is handed straight to the first waiter, in arrival order.
    """

    __slots__ = ("_free", "_waiters")

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def free(self) -> int:
        return self._free

    def try_acquire(self) -> bool:
        if self._free and not self._waiters:
            self._free -= 1
            return True
        return False

    async def acquire(self) -> None:
        if self.try_acquire():
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed a slot just as we were cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot goes to this waiter directly
                return
        self._free += 1
