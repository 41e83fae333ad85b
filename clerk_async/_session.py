"""The aiohttp session of one client: born inside the running loop, closed once.

``Sessions`` is the only thing that creates, hands out and closes the session and
its pool gate; ``Clerk`` opens and closes it, ``Transport`` asks it for a session on each
attempt. Neither reaches into the other.
"""

from __future__ import annotations

import asyncio

import aiohttp

from clerk_async._ratelimit import PoolGate
from clerk_async.errors import ClientStateError

__all__ = ["Sessions"]


class Sessions:
    """Hands out one aiohttp session (ours, or one the caller injected) and its pool gate.

    Our own session is created on first use inside the running loop, with ``timeout`` as
    its default (``default_timeout``: a request using it need not pass one); an injected
    session is used as it is and never closed by us.
    """

    __slots__ = (
        "_closed",
        "_injected",
        "_loop",
        "_max_connections",
        "_timeout",
        "_trace_configs",
        "default_timeout",
        "pool_gate",
        "session",
    )

    def __init__(
        self,
        *,
        timeout: aiohttp.ClientTimeout,
        max_connections: int,
        injected: aiohttp.ClientSession | None = None,
        trace_configs: list[aiohttp.TraceConfig] | None = None,
    ) -> None:
        self._injected = injected
        self._max_connections = max_connections
        self._trace_configs = trace_configs or None
        self._timeout = timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self.session: aiohttp.ClientSession | None = None
        self.pool_gate: PoolGate | None = None
        # The timeout requests may leave out: our session's own (an injected one's is not ours).
        self.default_timeout: aiohttp.ClientTimeout | None = None if injected else timeout

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop the session was born in (None before the first use)."""
        return self._loop

    @property
    def state(self) -> str:
        return "closed" if self._closed else "open" if self.session else "idle"

    def get(self) -> tuple[aiohttp.ClientSession, PoolGate | None]:
        """The session and pool gate, created on first use inside the running loop."""
        if self._closed:
            raise ClientStateError("this Clerk client is closed; create a new one")
        loop = asyncio.get_running_loop()  # raises outside a coroutine, as it should
        session = self.session
        if session is not None:
            if loop is not self._loop:
                raise ClientStateError(
                    "this Clerk client belongs to another event loop; create one client per "
                    "event loop (for example in your app's lifespan)"
                )
            return session, self.pool_gate
        self._loop = loop
        if self._injected is not None:
            session = self._injected
            limit = session.connector.limit if session.connector is not None else 0
        else:
            connector = aiohttp.TCPConnector(limit=self._max_connections, ttl_dns_cache=300)
            session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                trace_configs=self._trace_configs,
            )
            limit = self._max_connections
        self.session = session
        self.pool_gate = PoolGate(limit) if limit else None
        return session, self.pool_gate

    async def aclose(self) -> None:
        """Close the session we opened (never an injected one). Idempotent."""
        self._closed = True
        session, self.session = self.session, None
        if session is not None and session is not self._injected:
            await session.close()
