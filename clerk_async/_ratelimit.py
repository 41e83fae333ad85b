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
import time
from collections import deque
from collections.abc import Callable

import attrs

__all__ = ["Limiter", "PoolGate", "RateLimit", "default_rate_limit"]


@attrs.frozen
class RateLimit:
    """At most ``requests`` requests in any ``per_seconds`` window."""

    requests: int = attrs.field(validator=attrs.validators.gt(0))
    per_seconds: float = attrs.field(validator=attrs.validators.gt(0))


# Clerk's documented per-instance limits (docs: "System limits").
PRODUCTION = RateLimit(1000, 10.0)
DEVELOPMENT = RateLimit(100, 10.0)


def default_rate_limit(secret_key: str | None) -> RateLimit:
    """The instance limit that follows from the key: ``sk_live_`` is production."""
    if secret_key is not None and secret_key.startswith("sk_live_"):
        return PRODUCTION
    return DEVELOPMENT


class Limiter:
    """Sliding-window pacing, plus a pause per endpoint after a 429.

    Clerk documents that after a 429 "later requests to that endpoint are blocked" for the
    ``Retry-After`` period, so the pause is kept per endpoint (``route``: the method and path
    template, ``"PATCH /machines/{machine_id}"``): a long block of one endpoint (invitations
    allow 100 an hour) must not stall the others. The window itself is per client.
    """

    def __init__(
        self, limit: RateLimit | None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self._clock = clock
        self._in_flight = 0
        self._released: deque[float] = deque()  # when recent requests finished
        self._pauses: dict[str, float] = {}  # route -> when its pause ends
        self._turn = asyncio.Lock()  # FIFO: waiters are served in arrival order
        self._slot_freed = asyncio.Event()

    def pause(self, route: str, seconds: float) -> None:
        """Hold every request to ``route`` until ``seconds`` from now (a 429's Retry-After)."""
        until = self._clock() + seconds
        if until > self._pauses.get(route, 0.0):
            self._pauses[route] = until

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

    def try_acquire(self, route: str) -> bool:
        """Take a slot if one is free now, without waiting; else ``acquire`` must be awaited."""
        if self._pauses and self.pause_remaining(route):
            return False
        limit = self.limit
        if limit is None:
            return True
        if self._turn.locked():
            return False  # others queue already: wait in line
        if self._free_in(self._clock(), limit) is None:
            self._in_flight += 1
            return True
        return False

    async def acquire(self, route: str) -> None:
        """Wait for ``route``'s pause and a free slot; the caller must ``release``."""
        while True:
            pause = self.pause_remaining(route)
            if pause:
                await asyncio.sleep(pause)  # out of the line: other endpoints go on
                continue
            if self.limit is None:
                return
            async with self._turn:
                if self.pause_remaining(route):
                    continue  # paused while we stood in line
                while True:
                    wait = self._free_in(self._clock(), self.limit)
                    if wait is None:
                        self._in_flight += 1
                        return
                    if wait == float("inf"):  # every slot is held by a request in flight
                        self._slot_freed.clear()
                        await self._slot_freed.wait()
                    else:
                        await asyncio.sleep(wait)

    def _free_in(self, now: float, limit: RateLimit) -> float | None:
        """None when a slot is free now; else how long until one may be."""
        released = self._released
        horizon = now - limit.per_seconds
        while released and released[0] <= horizon:
            released.popleft()
        if self._in_flight + len(released) < limit.requests:
            return None
        if released:
            return released[0] - horizon
        return float("inf")

    def release(self, *, sent: bool = True) -> None:
        """End of a request let through by ``acquire`` (a limiter with a limit only)."""
        self._in_flight -= 1
        if sent:
            self._released.append(self._clock())
        self._slot_freed.set()


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
