"""M2M tokens that refresh themselves, and an aiohttp client middleware that sends them.

Clerk charges for every M2M token created, and minting one per request also costs a round
trip, so a caller should reuse one token for as long as it is valid:

    source = clerk.m2m.token_source(token_format="jwt", min_remaining=60)
    async with aiohttp.ClientSession(middlewares=[bearer_middleware(source)]) as http:
        await http.get("https://reports.internal/reports/r1")

``await source.token()`` returns the cached token while it has at least ``min_remaining``
seconds left and mints a new one only then. Concurrent callers share one mint; a failed
mint raises to every caller waiting on it, and the next call tries again. Opaque tokens
are created with Clerk's ``min_remaining_ttl_seconds``, so that separate processes (each
with its own source) are handed one live token by Clerk instead of minting their own.

For httpx, ``clerk_async.m2m_httpx.M2MBearerAuth``.
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import attrs
from aiohttp import ClientHandlerType, ClientMiddlewareType, ClientRequest, ClientResponse, hdrs
from yarl import URL

from clerk_async._convert import UNSET
from clerk_async.errors import ClerkConfigError, ClerkResponseValidationError
from clerk_async.services.spec.m2m import CreateM2MTokenParams

if TYPE_CHECKING:
    from clerk_async._transport import CallOptions
    from clerk_async.models.m2m import M2MToken
    from clerk_async.services.m2m import M2M

__all__ = ["DEFAULT_MIN_REMAINING", "M2MTokenSource", "bearer_middleware"]

DEFAULT_MIN_REMAINING = 60.0
TOKEN_FORMATS = ("jwt", "opaque")


# A token held longer than this is minted again anyway: an expiration decades away (or none)
# would otherwise pin one token in memory for ever, past any revocation we could not see.
MAX_HOLD_SECONDS = 86400.0
# After a receiver refused a token (401), a new one is minted at most once per this fraction
# of a token's lifetime: a receiver that refuses everything costs a mint per period, not one
# per request (Clerk charges each mint).
REFRESH_FRACTION = 0.1
# What a token may hold: visible ASCII, as base64 and JWTs are. A CR or LF would let the
# answer inject headers into every request that carries it.
_TOKEN_TEXT = re.compile(r"[!-~]+")


@attrs.frozen
class _Held:
    value: str = attrs.field(repr=False)
    expires_at: float  # on the source's clock
    lifetime: float  # seconds, as Clerk's created_at/expiration pair says


def _hold(minted: M2MToken, sent_at: float, now: float, reused_ok: float | None) -> _Held:
    """The held token: when it expires on the source's clock, from Clerk's own pair.

    A fresh token lives ``expiration - created_at`` from when it was asked for, whatever
    the skew between our clock and Clerk's. Opaque tokens may be one Clerk minted earlier
    and handed back (``reused_ok``: it then has at least that many seconds left); its age
    is read on our clock only where that reading agrees with what Clerk guarantees.
    """
    token = minted.token
    if token is None or not _TOKEN_TEXT.fullmatch(token):
        raise ClerkResponseValidationError(
            "the answer to POST /m2m_tokens carried no token, or one with characters "
            "no token has (control characters or spaces)",
            status=200,
            body=b"",
        )
    if minted.expiration is None:
        lifetime = MAX_HOLD_SECONDS
    else:
        lifetime = (minted.expiration - minted.created_at) / 1000
        if not lifetime > 0:
            raise ClerkResponseValidationError(
                "the answer to POST /m2m_tokens has an expiration before its created_at",
                status=200,
                body=b"",
            )
        lifetime = min(lifetime, MAX_HOLD_SECONDS)
    remaining = lifetime
    if reused_ok is not None and minted.expiration is not None:
        by_clock = minted.expiration / 1000 - now
        if reused_ok <= by_clock <= lifetime:
            remaining = by_clock
    return _Held(token, sent_at + remaining, lifetime)


class M2MTokenSource:
    """Hands out one M2M token of a machine until it nears expiry; then mints the next.

    Made by ``clerk_async.services.m2m.M2M.token_source``. ``clock`` (epoch seconds)
    can be replaced, e.g. by a test's fake clock.
    """

    def __init__(
        self,
        m2m: M2M,
        *,
        machine_secret_key: str | None = None,
        token_format: Literal["jwt", "opaque"] = "jwt",
        seconds_until_expiration: float | None = None,
        claims: Any = None,
        min_remaining: float = DEFAULT_MIN_REMAINING,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if token_format not in TOKEN_FORMATS:
            raise ClerkConfigError(
                "token_format", f"must be 'jwt' or 'opaque', got {token_format!r}"
            )
        if (
            isinstance(min_remaining, bool)
            or not isinstance(min_remaining, (int, float))
            or not 0 <= min_remaining < math.inf
        ):
            raise ClerkConfigError(
                "min_remaining", f"must be a number of seconds >= 0, got {min_remaining!r}"
            )
        if (
            seconds_until_expiration is not None
            and math.ceil(min_remaining) >= seconds_until_expiration
        ):
            # Every token would be stale when minted: the source would mint on every call
            # (and Clerk refuses a min_remaining_ttl_seconds that is not below the lifetime).
            raise ClerkConfigError(
                "min_remaining",
                f"must be less than seconds_until_expiration ({seconds_until_expiration}), "
                f"got {min_remaining}",
            )
        self._m2m = m2m
        self._machine_secret_key = machine_secret_key
        self._token_format = token_format
        # Built (and so checked) now, once: the same body for every mint.
        self._params = CreateM2MTokenParams(
            token_format=token_format,
            seconds_until_expiration=UNSET
            if seconds_until_expiration is None
            else seconds_until_expiration,
            claims=UNSET if claims is None else claims,
            # Opaque only: Clerk answers with a live token of this machine (same claims)
            # that has this much left, if there is one, instead of minting: processes share it.
            min_remaining_ttl_seconds=math.ceil(min_remaining)
            if token_format == "opaque"
            else UNSET,
        )
        self._min_remaining = float(min_remaining)
        self._clock = clock
        self._held: _Held | None = None
        self._refused_at: float | None = None  # when a rejected token was last replaced
        self._minting: asyncio.Task[str] | None = None
        self.mints = 0  # create calls answered (with opaque tokens, some may be reused ones)

    def __repr__(self) -> str:
        held = self._held
        state = "no token" if held is None else f"token expiring at {held.expires_at:.0f}"
        margin = f"min_remaining={self._min_remaining:g}"
        return f"<M2MTokenSource {self._token_format} {margin} {state}>"

    @property
    def token_format(self) -> str:
        return self._token_format

    @property
    def expires_at(self) -> float | None:
        """When the held token expires (epoch seconds on the source's clock), if one is held."""
        return None if self._held is None else self._held.expires_at

    async def token(self) -> str:
        """A token valid for at least ``min_remaining`` more seconds, minted only if needed."""
        held = self._held
        if held is not None and held.expires_at - self._clock() >= self._min_remaining:
            return held.value
        return await self._shared_mint()

    async def refresh(self, rejected: str) -> str:
        """The token to use after ``rejected`` was refused (a 401): a new one, unless another
        caller already replaced ``rejected`` (its replacement is returned), or a rejected
        token was already replaced less than a tenth of a lifetime ago: then ``rejected``
        itself, as a receiver that refuses every token must not make every request mint."""
        held = self._held
        if held is not None and held.value == rejected:
            now = self._clock()
            last = self._refused_at
            if last is not None and now - last < held.lifetime * REFRESH_FRACTION:
                return rejected
            self._refused_at = now
            self._held = None
        return await self.token()

    async def _shared_mint(self) -> str:
        task = self._minting
        if task is None or task.done():
            task = self._minting = asyncio.ensure_future(self._mint())
            task.add_done_callback(self._minted)
        # A waiter cancelled does not cancel the mint the others wait for.
        return await asyncio.shield(task)

    def _minted(self, task: asyncio.Task[str]) -> None:
        if self._minting is task:
            self._minting = None
        if not task.cancelled():
            task.exception()  # retrieved, even when every waiter was cancelled

    async def _mint(self) -> str:
        sent_at = self._clock()
        options: CallOptions = {}
        if self._machine_secret_key is not None:
            options["machine_secret_key"] = self._machine_secret_key
        minted = await self._m2m.create_token(self._params, **options)
        self.mints += 1
        reused_ok = self._min_remaining if self._token_format == "opaque" else None
        held = _hold(minted, sent_at, self._clock(), reused_ok)
        remaining = held.expires_at - self._clock()
        if remaining < self._min_remaining:
            # Else every call would mint again: the machine's default lifetime is too short.
            raise ClerkConfigError(
                "min_remaining",
                f"a new token has {remaining:.0f} seconds left, less than min_remaining "
                f"({self._min_remaining:g}): lower it or raise seconds_until_expiration",
            )
        self._held = held
        return held.value


# The origin of a redirect the middleware just passed back to aiohttp, in the caller's
# context (a middleware runs in the task that made the request).
_redirected_from: contextvars.ContextVar[URL | None] = contextvars.ContextVar(
    "clerk_async_redirected_from", default=None
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def bearer_middleware(source: M2MTokenSource) -> ClientMiddlewareType:
    """An aiohttp client middleware that sends ``Authorization: Bearer <token>`` from
    ``source``; on a 401 it refreshes the token once and retries the request once.

    ``aiohttp.ClientSession(middlewares=[bearer_middleware(source)])``, or per request
    with ``session.get(url, middlewares=[...])``.

    aiohttp runs middlewares again on each hop of a redirect it follows, having dropped
    ``Authorization`` when the hop leaves the origin: such a hop gets no token either.
    (So does the first request a task makes to another origin right after it was
    answered a redirect it did not follow (``allow_redirects=False``, ``max_redirects``): it
    is refused, never leaked.)
    """

    async def middleware(request: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
        came_from = _redirected_from.get()
        if came_from is not None:
            _redirected_from.set(None)
        if came_from is not None and came_from != request.url.origin():
            response = await handler(request)  # a redirect to another origin: no token
        else:
            token = await source.token()
            request.headers[hdrs.AUTHORIZATION] = f"Bearer {token}"
            response = await handler(request)
            if response.status == 401:
                response.release()
                request.headers[hdrs.AUTHORIZATION] = f"Bearer {await source.refresh(token)}"
                response = await handler(request)
        if response.status in _REDIRECTS and hdrs.LOCATION in response.headers:
            _redirected_from.set(request.url.origin())
        return response

    return middleware
