"""The one request path: gate -> send -> read -> classify -> retry or raise -> decode.

Retries, timeouts, pacing, logging and error mapping live here and nowhere else. A service
method says what to send and what comes back (a ``clerk_async._prepare.PreparedRequest``,
built by the pure ``clerk_async._prepare.prepare``); ``Transport.send`` does the
rest: per attempt, the gates (limiter, pool), the I/O, then the pure
``clerk_async._response.classify`` and the retry policy's decision.
"""

from __future__ import annotations

import asyncio
import io
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, TypedDict

import aiohttp
import attrs
from yarl import URL

from clerk_async._convert import snake_case
from clerk_async._observe import CallRecord, Observers
from clerk_async._ratelimit import Limiter
from clerk_async._response import classify, classify_failure, decode, seconds_text
from clerk_async._retry import RetryPolicy
from clerk_async._validate import describe, header_problem, secret_problem
from clerk_async.errors import (
    ClerkConfigError,
    ClerkError,
    ClerkResponseValidationError,
    ClerkTimeoutError,
    ClerkValidationError,
    ClientStateError,
    RateLimitError,
)
from clerk_async.hooks import CallInfo, Hooks
from clerk_async.raw import CAPTURE_OPTION, Capture

if TYPE_CHECKING:
    from clerk_async._prepare import PreparedRequest
    from clerk_async._ratelimit import PoolGate
    from clerk_async._redis_limit import RedisLimiter
    from clerk_async._retry import Outcome
    from clerk_async._session import Sessions

__all__ = ["CallOptions", "Transport", "check_options", "log"]

log = logging.getLogger("clerk_async")


class CallOptions(TypedDict, total=False):
    """Per-call options, accepted as keyword arguments by every service method."""

    timeout: float | aiohttp.ClientTimeout
    """Bounds each attempt (a number is the total seconds of one attempt)."""
    deadline: float
    """Bounds the whole call, retries and their waits included (seconds)."""
    max_retries: int
    retry: RetryPolicy
    extra_headers: Mapping[str, str]
    machine_secret_key: str
    """Authenticate this call with a machine secret key (``ak_...``) instead of the instance key."""


# CAPTURE_OPTION: clerk.with_raw_response's, on purpose not in CallOptions.
_OPTION_NAMES = frozenset((*CallOptions.__annotations__, CAPTURE_OPTION))


def seconds(name: str, value: Any) -> float:
    """A positive, finite number of seconds, else ClerkConfigError naming the option."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1e9:
        raise ClerkConfigError(name, f"must be a number of seconds > 0, got {describe(value)}")
    return float(value)


def retry_count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ClerkConfigError(name, f"must be an integer >= 0, got {describe(value)}")
    return value


def check_options(options: Mapping[str, Any]) -> None:
    """Refuse unknown per-call keyword arguments and bad option values, before any I/O.

    Service methods take their options as ``**options``: without this, a typo such as
    ``nmae="x"`` or Clerk's camelCase ``defaultTokenTtl=60`` would be silently dropped.
    """
    for name in options:
        if name not in _OPTION_NAMES:
            wire = snake_case(name)
            hint = f"; did you mean {wire!r}?" if wire != name else ""
            raise ClerkValidationError(name, f"unexpected keyword argument{hint}")
    if "deadline" in options:
        seconds("deadline", options["deadline"])
    if "max_retries" in options:
        retry_count("max_retries", options["max_retries"])
    if "retry" in options and not isinstance(options["retry"], RetryPolicy):
        raise ClerkConfigError("retry", f"must be a RetryPolicy, got {describe(options['retry'])}")
    extra = options.get("extra_headers")
    if extra is not None:
        if not isinstance(extra, Mapping):
            raise ClerkConfigError("extra_headers", "must be a mapping of str to str")
        for name, value in extra.items():
            problem = header_problem(name, value)
            if problem is not None:
                raise ClerkConfigError("extra_headers", problem)
    key = options.get("machine_secret_key")
    if key is not None:
        problem = secret_problem(key)
        if problem is not None:
            raise ClerkConfigError("machine_secret_key", problem)


def as_timeout(timeout: float | aiohttp.ClientTimeout) -> aiohttp.ClientTimeout:
    if isinstance(timeout, aiohttp.ClientTimeout):
        return timeout
    total = seconds("timeout", timeout)
    return aiohttp.ClientTimeout(total=total, sock_connect=min(total, 10.0))


class _DeadlineExceeded(Exception):
    """Internal: the call's deadline ran out before an attempt could start."""

    def __init__(self, waiting_for: str) -> None:
        self.waiting_for = waiting_for


class _Paused(Exception):
    """Internal: a 429 paused the endpoint while this request queued for a connection."""


def _deadline_error(method: str, template: str, deadline: float, during: str) -> ClerkTimeoutError:
    return ClerkTimeoutError(
        f"{method} {template}: deadline of {seconds_text(deadline)} exceeded {during}"
    )


async def _within(
    acquire: Callable[[], Awaitable[None]], seconds: float, release: Callable[[], None]
) -> bool:
    """Await ``acquire()`` for at most ``seconds``; False if the time ran out first.
    Cancelled, it raises CancelledError holding nothing (``release`` gives back a slot
    that came with the cancel).

    A cancel reaches ``acquire`` wherever it waits (the limiter and the pool gate give
    back what they took), and the caller's cancel is never lost. ``asyncio.wait_for`` on
    Python <= 3.11 would lose it: when its inner task had just finished, it returns the
    result and swallows the cancel. Hence ``asyncio.timeout`` (3.11+), and on 3.10
    ``_within_310``.
    """
    if seconds <= 0:
        return False
    if sys.version_info >= (3, 11):
        try:
            async with asyncio.timeout(seconds):
                await acquire()
        except TimeoutError:
            return False
        return True
    return await _within_310(acquire, seconds, release)


async def _within_310(
    acquire: Callable[[], Awaitable[None]], seconds: float, release: Callable[[], None]
) -> bool:
    """``_within`` for Python 3.10, which has no ``asyncio.timeout``: ``acquire`` runs in
    a task of its own, watched by ``asyncio.wait`` (which, unlike ``wait_for``, never eats
    a cancel). A cancel that comes as the slot arrives is kept, not swallowed: the slot
    is given back (``release``) and the cancel raised, as ``acquire`` itself does when a
    cancel reaches it in the caller's task (3.11's ``asyncio.timeout``).
    """
    waiter = asyncio.ensure_future(acquire())
    try:
        await asyncio.wait((waiter,), timeout=seconds)
    except asyncio.CancelledError:
        if not waiter.done() or waiter.cancelled() or waiter.exception() is not None:
            waiter.cancel()  # it gives back what it took, as on any cancel
            raise
        release()  # the slot came with the cancel: give it back, then be cancelled
        raise
    if not waiter.done():
        waiter.cancel()  # out of time: it gives back its place
        return False
    waiter.result()  # an error of acquire's own, as from the 3.11 branch
    return True


# aiohttp's exceptions for a connection that never opened: the server saw nothing.
_NEVER_OPENED = (
    aiohttp.ClientSSLError,
    aiohttp.ClientConnectorError,
    aiohttp.ConnectionTimeoutError,
)
# aiohttp writes raw bytes past 1 MiB in one go and warns that it may block the loop; a
# reader is written in chunks (a big upload, or claims of many megabytes).
_LARGE_BODY = 2**20
# Paths whose URL a transport keeps (``Transport._url``).
_URLS_KEPT = 1024


@attrs.define
class Transport:
    """Sends prepared requests for one client; ``sessions`` hands out the aiohttp session."""

    base_url: str  # no trailing slash, e.g. "https://api.clerk.com/v1"
    headers: dict[str, str] = attrs.field(repr=False)  # holds the secret key: never shown
    timeout: aiohttp.ClientTimeout
    deadline: float
    retry: RetryPolicy
    limiter: Limiter | RedisLimiter
    sessions: Sessions
    missing_key: bool = False
    max_response_bytes: int = 16 * 1024 * 1024
    clock: Callable[[], float] = time.monotonic
    observers: Observers = attrs.field(factory=lambda: Observers(()))
    """Who hears each call's events (``clerk_async.hooks``)."""
    _urls: dict[str, URL] = attrs.field(factory=dict, init=False, repr=False)

    def send(
        self, prepared: PreparedRequest, options: CallOptions | None = None
    ) -> Coroutine[Any, Any, Any]:
        """Send ``prepared``: the coroutine answers its decoded answer or raises its typed error.

        Each attempt: the limiter's and the pool's gates, the I/O, ``classify``, the retry
        policy's decision and its wait; the call's deadline bounds them all. The call's
        events (``clerk_async.hooks``: the client's hooks, the log, OpenTelemetry) happen
        in ``_observed`` and ``_send`` only, and only when someone listens.

        A plain method handing back ``_send``'s coroutine, not a coroutine itself, and
        the I/O written out in ``_send``: no frame but ``_send``'s stands between the
        service method and aiohttp, and each of them is resumed at every suspension.
        With ``_url``'s kept URLs: 550,968 -> 543,673 instructions a call (speedups
        453,616 -> 449,624; ``python -m benchmarks.instructions --concurrency 64``).
        Nothing here raises: every error of the call comes from the coroutine, on ``await``.
        """
        observers = self.observers.for_call()
        if not observers:  # the common case: no event is built
            return self._send(prepared, options, None)
        return self._observed(prepared, options, observers)

    async def _observed(
        self, prepared: PreparedRequest, options: CallOptions | None, observers: tuple[Hooks, ...]
    ) -> Any:
        """``_send`` inside the call's start and end events."""
        server = URL(self.base_url)
        call = CallInfo(prepared.method, prepared.template, server.host or "", server.port or 0)
        record = CallRecord(observers, call)
        started = self.clock()
        try:
            answer = await self._send(prepared, options, record)
        except BaseException as exc:
            record.end(self.clock() - started, exc)
            raise
        record.end(self.clock() - started, None)
        return answer

    async def _send(
        self, prepared: PreparedRequest, options: CallOptions | None, record: CallRecord | None
    ) -> Any:
        """``send``'s attempts; ``record`` hears the events when someone listens. The I/O
        is written out here (see ``send``); what only some calls need (options, uploads,
        waits, failures, big answers) is in helpers called on those paths alone."""
        if options:
            headers, timeout, deadline, retry, capture = self._settings(options)
        else:
            headers, timeout, retry = self.headers, self.timeout, self.retry
            deadline, capture = self.deadline, None
        unusual = prepared.refused is not None or prepared.upload is not None
        if unusual or prepared.headers or self.missing_key:
            prepared, headers = await self._ready(prepared, headers)
        url = self._url(prepared)
        clock = self.clock
        limiter = self.limiter
        route = prepared.route  # a 429 pauses this endpoint (Clerk: "that endpoint")
        bucket = prepared.bucket
        # The deadline bounds the whole call from here: queueing for the limiter and the
        # pool, every attempt, every wait between them.
        deadline_at = clock() + deadline
        error: ClerkError | None = None  # the previous attempt's
        attempt = 0
        while True:
            # Each attempt asks anew: the client may have been closed during a backoff.
            session, pool_gate = self.sessions.get()
            queued = False
            if not limiter.try_acquire(route, bucket):
                await self._wait_for_limiter(prepared, deadline_at, deadline, retry, error, record)
                queued = True
            sent = False  # until the request is handed to aiohttp: then the server may see it
            try:
                if pool_gate is not None and not pool_gate.try_acquire():
                    # Wait for a pooled connection here, where it costs no attempt's timeout.
                    await self._wait_for_pool(pool_gate, deadline_at, record)
                    queued = True
                try:
                    if queued and limiter.pause_remaining(route):
                        raise _Paused  # a 429 came while we queued: wait it out, unsent
                    started = clock()
                    used = timeout
                    if timeout.total is None or deadline_at - started < timeout.total:
                        used = _cut_timeout(timeout, deadline_at - started, attempt)
                    sent = True
                    if record is not None:  # event point: an attempt starts
                        record.request(attempt + 1)
                    async with self._request(session, prepared, url, headers, used) as response:
                        status = response.status
                        answer_headers = response.headers
                        content = response.content
                        # The usual answer is all in one piece: read here, not in one
                        # more coroutine frame that every resumption would go through.
                        raw = await content.readany()
                        if not content.at_eof() or len(raw) > self.max_response_bytes:
                            raw = await self._read_rest(prepared, response, raw)
                finally:
                    if pool_gate is not None:
                        pool_gate.release()
            except _Paused:
                sent = False
                continue  # not an attempt: the loop waits out the pause in the limiter
            except _DeadlineExceeded as exc:
                raise _deadline_error(
                    prepared.method, prepared.template, deadline, exc.waiting_for
                ) from error
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                if isinstance(exc, _NEVER_OPENED):
                    sent = False  # the connection never opened: the server saw nothing
                error, outcome = _failed(
                    prepared, exc, used, timeout, attempt, retry, record, clock() - started
                )
            except RuntimeError:
                if session.closed:  # aiohttp's bare "Session is closed"
                    sent = False
                    raise _session_closed() from None
                raise
            else:
                classified = classify(prepared, status, answer_headers, raw)
                if record is not None:  # event point: an answer came
                    failure = None if classified is None else classified[0]
                    record.response(attempt + 1, status, clock() - started, failure, answer_headers)
                if classified is None:
                    if capture is not None:
                        elapsed = clock() - deadline_at + deadline
                        capture.record(status, answer_headers, attempt + 1, elapsed)
                    return decode(prepared.answer, status, answer_headers, raw)
                error, outcome = classified
            finally:
                if limiter.limit is not None:
                    limiter.release(sent=sent, key=bucket)

            delay = self._retry_delay(route, retry, attempt, outcome, error, deadline_at, record)
            attempt += 1
            if outcome.status != 429:  # after a 429 the limiter holds us for the pause
                await asyncio.sleep(delay)

    def _url(self, prepared: PreparedRequest) -> URL:
        """The request's URL: ``base_url``, the escaped path, the query.

        yarl parses the string on each ``URL()`` (4,230 instructions); a URL is
        immutable, so each path's is kept, as ``_prepare._segment`` keeps each id's
        escaping: a call to a path seen lately costs a dict lookup (~50).
        """
        urls = self._urls
        path = prepared.path
        url = urls.get(path)
        if url is None:
            if len(urls) >= _URLS_KEPT:  # forget them all: cheaper than an LRU on each hit
                urls.clear()
            url = urls[path] = URL(self.base_url + path, encoded=True)
        if prepared.query:
            url = url.extend_query(prepared.query)
        return url

    def _retry_delay(
        self,
        route: str,
        retry: RetryPolicy,
        attempt: int,
        outcome: Outcome,
        error: ClerkError,
        deadline_at: float,
        record: CallRecord | None,
    ) -> float:
        """Seconds to wait before the next attempt, else ``error`` raised; a 429 pauses
        ``route`` for every later request, retried or not."""
        delay = retry.decide(attempt, outcome)
        if outcome.status == 429:
            pause = retry.pause_after_429(attempt, outcome.retry_after, delay)
            self.limiter.pause(route, pause)
        if delay is None or self.clock() + delay >= deadline_at:
            raise error
        if record is not None:  # event point: a retry is decided
            record.retry(attempt + 1, delay, outcome.status, error)
        return delay

    def _request(
        self,
        session: aiohttp.ClientSession,
        prepared: PreparedRequest,
        url: URL,
        headers: Mapping[str, str],
        timeout: aiohttp.ClientTimeout,
    ) -> aiohttp.client._RequestContextManager:
        """One attempt's request, to enter with ``async with`` (a plain call: no frame)."""
        body = prepared.body
        data: bytes | io.BytesIO | None = body
        if body is not None and len(body) > _LARGE_BODY:
            data = io.BytesIO(body)  # a fresh reader for each attempt
        if timeout is self.sessions.default_timeout:  # the session's own: no copy
            return session.request(
                prepared.method, url, data=data, headers=headers, allow_redirects=False
            )
        return session.request(
            prepared.method, url, data=data, headers=headers, allow_redirects=False, timeout=timeout
        )

    async def _read_rest(
        self, prepared: PreparedRequest, response: aiohttp.ClientResponse, first: bytes
    ) -> bytes:
        """The rest of an answer that did not come in one piece, never read past
        ``max_response_bytes``; an answer past it drops the connection and is an error.

        aiohttp (>= 3.13.3) decompresses incrementally as the body is consumed, so stopping
        here bounds the memory of a gzip bomb or an endless body as well as the bytes read.
        """
        content = response.content
        limit = self.max_response_bytes
        chunks = [first]
        size = len(first)
        while size <= limit:
            chunk = await content.readany()
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            size += len(chunk)
        response.close()  # drop the connection, and the rest of the body
        raise ClerkResponseValidationError(
            f"{prepared.method} {prepared.template}: the {response.status} answer is larger "
            f"than max_response_bytes ({limit:,} bytes)",
            status=response.status,
            body=b"",
        )

    def _settings(
        self, options: CallOptions
    ) -> tuple[Mapping[str, str], aiohttp.ClientTimeout, float, RetryPolicy, Capture | None]:
        """The client's headers, timeout, deadline and retry policy, ``options`` applied;
        and ``clerk.with_raw_response``'s capture, if any."""
        check_options(options)
        headers = self.headers
        extra = options.get("extra_headers")
        machine_key = options.get("machine_secret_key")
        if extra or machine_key:
            headers = {**headers, **(extra or {})}
            if machine_key:
                headers["Authorization"] = f"Bearer {machine_key}"
        timeout = as_timeout(options["timeout"]) if "timeout" in options else self.timeout
        deadline = options.get("deadline", self.deadline)
        retry = options.get("retry", self.retry)
        if "max_retries" in options:
            retry = attrs.evolve(retry, max_retries=options["max_retries"])
        capture: Capture | None = options.get(CAPTURE_OPTION)  # type: ignore[assignment]
        return headers, timeout, deadline, retry, capture

    async def _ready(
        self, prepared: PreparedRequest, headers: Mapping[str, str]
    ) -> tuple[PreparedRequest, Mapping[str, str]]:
        """What few calls need before their first attempt: a refused request or a missing
        key raised, an upload read (off the loop, once for every attempt), the request's
        own headers added."""
        if prepared.refused is not None:
            raise prepared.refused
        if prepared.upload is not None:
            prepared = prepared._replace(body=await prepared.upload.read(), upload=None)
        if self.missing_key and "Authorization" not in headers:
            raise _missing_key()
        if prepared.headers:
            headers = {**headers, **prepared.headers}
        return prepared, headers

    async def _wait_for_limiter(
        self,
        prepared: PreparedRequest,
        deadline_at: float,
        deadline: float,
        retry: RetryPolicy,
        error: ClerkError | None,
        record: CallRecord | None,
    ) -> None:
        """Queue for the limiter within the deadline; a pause we cannot outwait fails now."""
        limiter = self.limiter
        route = prepared.route
        waited_from = self.clock()
        left = deadline_at - waited_from
        pause = limiter.pause_remaining(route)
        if pause and (pause >= left or pause > retry.max_retry_after):
            raise RateLimitError.paused(route, pause) from error
        bucket = prepared.bucket
        if not await _within(
            lambda: limiter.acquire(route, bucket),
            left,
            lambda: limiter.release(sent=False, key=bucket),
        ):
            raise _deadline_error(
                prepared.method, prepared.template, deadline, "waiting for the rate limiter"
            ) from error
        if record is not None:  # event point: the call waited
            record.wait("pause" if pause else "limiter", self.clock() - waited_from)

    async def _wait_for_pool(
        self, pool_gate: PoolGate, deadline_at: float, record: CallRecord | None
    ) -> None:
        """Queue for a pooled connection within the deadline (no attempt's timeout runs)."""
        waited_from = self.clock()
        if not await _within(pool_gate.acquire, deadline_at - waited_from, pool_gate.release):
            raise _DeadlineExceeded("waiting for a pooled connection")
        if record is not None:  # event point: the call waited
            record.wait("pool", self.clock() - waited_from)


def _failed(
    prepared: PreparedRequest,
    exc: BaseException,
    used: aiohttp.ClientTimeout,
    timeout: aiohttp.ClientTimeout,
    attempt: int,
    retry: RetryPolicy,
    record: CallRecord | None,
    elapsed: float,
) -> tuple[ClerkError, Outcome]:
    """The error and outcome of an attempt aiohttp failed, raised at once when no retry
    could help (a bad certificate)."""
    error, outcome = classify_failure(
        prepared,
        exc,
        used=used,
        configured=timeout,
        attempt=attempt,
        attempts=retry.max_retries + 1,
    )
    if record is not None:  # event point: the attempt failed
        record.response(attempt + 1, None, elapsed, error)
    if outcome is None:
        raise error from None
    return error, outcome


def _cut_timeout(
    timeout: aiohttp.ClientTimeout, remaining: float, attempt: int
) -> aiohttp.ClientTimeout:
    """The attempt's timeout when the deadline leaves less than the configured one."""
    if remaining <= 0:
        raise _DeadlineExceeded(f"before attempt {attempt + 1}")
    return attrs.evolve(timeout, total=remaining)


def _session_closed() -> ClientStateError:
    return ClientStateError(
        "the aiohttp session given to Clerk(session=...) was closed by its "
        "owner; give the client an open session, or let it make its own"
    )


def _missing_key() -> ClerkConfigError:
    return ClerkConfigError(
        "secret_key", "no secret key: pass Clerk(secret_key=...) or set CLERK_SECRET_KEY"
    )
