"""The one request path: gate -> send -> read -> classify -> retry or raise -> decode.

Retries, timeouts, pacing, logging and error mapping live here and nowhere else.
A service method only says what to send and what type comes back.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar
from urllib.parse import quote, unquote

import aiohttp
import attrs
from yarl import URL

from clerk_async import _json
from clerk_async._convert import (
    UNSET,
    RequestPlan,
    _plans,
    converter,
    describe_structure_error,
    request_plan,
    snake_case,
)
from clerk_async._ratelimit import Limiter, PoolGate, bucket_for, bucket_for_path
from clerk_async._retry import Outcome, RetryPolicy
from clerk_async._validate import describe, header_problem, secret_problem
from clerk_async.errors import (
    ClerkConfigError,
    ClerkConnectionError,
    ClerkError,
    ClerkResponseValidationError,
    ClerkTimeoutError,
    ClerkValidationError,
    ClientStateError,
    RateLimitError,
    error_from_response,
)

if TYPE_CHECKING:
    from clerk_async._redis_limit import RedisLimiter
    from clerk_async.models.common import Params

__all__ = ["CallOptions", "Transport", "log"]

log = logging.getLogger("clerk_async")

T = TypeVar("T")

# Operations that change nothing more when repeated. POSTs are not, unless a service says so.
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE"})
# Methods whose request always carries a JSON object, even an empty one.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


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


_OPTION_NAMES = frozenset(CallOptions.__annotations__)


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


def _type_name(tp: Any) -> str:
    return tp.__name__ if isinstance(tp, type) else repr(tp)  # Page[Machine], not Page


def _s(seconds: float | None) -> str:
    """Seconds for a message: ``25.2s``, ``0.25s``, ``120s``."""
    return "no limit" if seconds is None else f"{seconds:.3g}s"


class _DeadlineExceeded(Exception):
    """Internal: the call's deadline ran out before an attempt could start."""

    def __init__(self, waiting_for: str) -> None:
        self.waiting_for = waiting_for


class _Paused(Exception):
    """Internal: a 429 paused the endpoint while this request queued for a connection."""


class _TooLarge(Exception):
    """Internal: the answer grew past ``max_response_bytes``."""


def _deadline_error(method: str, template: str, deadline: float, during: str) -> ClerkTimeoutError:
    return ClerkTimeoutError(f"{method} {template}: deadline of {_s(deadline)} exceeded {during}")


async def _within(acquire: Callable[[], Awaitable[None]], seconds: float) -> bool:
    """Await ``acquire()`` for at most ``seconds``; False if the time ran out first.

    ``acquire`` runs in the caller's task, so a cancel reaches it wherever it waits (the
    limiter and the pool gate give back what they took). ``asyncio.wait_for`` on Python
    <= 3.11 runs it in a task of its own and, when that task had just finished, returns
    its result and swallows the caller's cancel.
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
    try:  # Python 3.10: no asyncio.timeout, and the narrow race above remains
        await asyncio.wait_for(acquire(), seconds)
    except asyncio.TimeoutError:
        return False
    return True


async def _read(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body, decompressed, read chunk by chunk and never past ``limit`` bytes.

    aiohttp (>= 3.13.3) decompresses incrementally as the body is consumed, so stopping
    here bounds the memory of a gzip bomb or an endless body as well as the bytes read.
    """
    content = response.content
    chunk = await content.readany()
    if content.at_eof():  # the usual answer: all of it in one piece
        if len(chunk) > limit:
            raise _TooLarge
        return chunk
    chunks = [chunk]
    size = len(chunk)
    while True:
        if size > limit:
            raise _TooLarge
        chunk = await content.readany()
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)


@lru_cache(maxsize=1024)
def _segment(value: str) -> str:
    """One URL path segment: ``a/b`` and ``%2e`` are escaped, never interpreted."""
    return quote(value, safe="")


def _query_value(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def query_values(pairs: Iterable[tuple[str, Any]]) -> dict[str, str | list[str]]:
    """A query string's values: a list goes out as repeated keys (``user_id=a&user_id=b``).

    Query strings have no null: a None (or UNSET) leaves the parameter out, which gives
    the server's default.
    """
    values: dict[str, str | list[str]] = {}
    for key, value in pairs:
        if value is None or value is UNSET:
            continue
        if isinstance(value, (list, tuple)):
            values[key] = [_query_value(item) for item in value]
        else:
            values[key] = _query_value(value)
    return values


def _quoted(text: str) -> str:
    # A header parameter: no quote, backslash or line break may end it early.
    return text.replace("\\", "_").replace('"', "_").replace("\r", "_").replace("\n", "_")


def multipart(fields: Iterable[tuple[str, Any]]) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body and its Content-Type, from ``(wire name, value)`` pairs.

    Bytes and binary files (anything with ``read()``) are sent as file parts; other
    values as text. A file is read here, once: a retry resends the same bytes.
    """
    boundary = uuid.uuid4().hex
    chunks: list[bytes] = []
    for name, value in fields:
        if value is UNSET or value is None:
            continue
        if isinstance(value, (bytes, bytearray, memoryview)) or hasattr(value, "read"):
            data = bytes(value.read() if hasattr(value, "read") else value)
            filename = os.path.basename(str(getattr(value, "name", "") or "")) or name
            head = (
                f'Content-Disposition: form-data; name="{_quoted(name)}"; '
                f'filename="{_quoted(filename)}"\r\nContent-Type: application/octet-stream'
            )
        else:
            data = _query_value(value).encode()
            head = f'Content-Disposition: form-data; name="{_quoted(name)}"'
        chunks += [f"--{boundary}\r\n{head}\r\n\r\n".encode(), data, b"\r\n"]
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def _nothing_to_change(params: Any, plan: RequestPlan) -> ClerkValidationError:
    names = ", ".join(name for name, _ in plan.body)
    field = plan.path[0][0] if plan.path else "params"
    return ClerkValidationError(
        field, f"nothing to change: give at least one of {names} ({type(params).__name__})"
    )


_ESCAPE_HATCH_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})


def check_raw_path(path: Any) -> str:
    """The escape hatch's path: relative to ``base_url``, with no way to climb out of it."""
    if not isinstance(path, str) or not path.startswith("/") or path.startswith("//"):
        raise ClerkValidationError("path", f"must start with one '/', got {path!r}")
    if any(c in path for c in "?#\\") or not path.isprintable():
        raise ClerkValidationError(
            "path", "must be a plain path: pass query parameters as query=, no '#' or '\\'"
        )
    # Decoded, as yarl reads them before it folds dot segments: ".%2e" is ".." too.
    if any(unquote(segment) in (".", "..") for segment in path.split("/")):
        raise ClerkValidationError("path", f"must not contain '.' or '..' segments: {path!r}")
    return path


@attrs.define
class Transport:
    """Sends requests for one client. Holds no session: ``session`` hands it out."""

    base_url: str  # no trailing slash, e.g. "https://api.clerk.com/v1"
    headers: dict[str, str] = attrs.field(repr=False)  # holds the secret key: never shown
    timeout: aiohttp.ClientTimeout
    deadline: float
    retry: RetryPolicy
    limiter: Limiter | RedisLimiter
    session: Callable[[], tuple[aiohttp.ClientSession, PoolGate | None]]
    missing_key: bool = False
    max_response_bytes: int = 16 * 1024 * 1024
    # The timeout our own session applies by default: requests using it need not pass it.
    session_timeout: aiohttp.ClientTimeout | None = None
    clock: Callable[[], float] = time.monotonic
    _structure_hooks: dict[Any, Callable[[Any, Any], Any]] = attrs.field(factory=dict)

    def request(
        self,
        method: str,
        template: str,
        response_type: type[T],
        params: Params | None = None,
        *,
        query: bool = False,
        idempotent: bool | None = None,
        options: CallOptions | None = None,
    ) -> Coroutine[Any, Any, T]:
        """Send ``method template`` with ``params``; await the result for the response.

        ``template`` is the spec's path (``/machines/{machine_id}``); its placeholders are
        filled from the params' path fields, each escaped as one segment. The other fields
        go where their metadata says (see :func:`clerk_async._convert.param`); fields with
        no location go to the query string (``query=True``) or the JSON body. A PATCH
        whose body fields are all unset is refused: it would change nothing.

        A plain function that builds the request and returns the coroutine that sends it:
        one coroutine frame less on every await of the hot path.
        """
        path = template
        bucket: str | None = None  # the per-object limit it counts against, if any
        body: bytes | None = None
        url_query: dict[str, str | list[str]] | None = None
        content_type: str | None = None
        if params is not None:
            plan = _plans.get((type(params), query)) or request_plan(type(params), query)
            if plan.path:
                segments = {}
                for name, wire in plan.path:  # a loop, not a comprehension: no extra frame
                    segments[wire] = _segment(getattr(params, name))
                path = template.format_map(segments)
                bucket = bucket_for(method, template, segments)
            if plan.query:
                url_query = query_values((w, getattr(params, n)) for n, w in plan.query)
            if plan.whole is not None:
                body = _json.dumps(getattr(params, plan.whole))
            elif plan.form:
                body, content_type = multipart((w, getattr(params, n)) for n, w in plan.form)
            elif plan.body or (method in _BODY_METHODS and not plan.declared):
                values = {}
                for name, wire in plan.body:
                    value = getattr(params, name)
                    if value is not UNSET:
                        values[wire] = value
                if not values and method == "PATCH" and plan.body:
                    if options:
                        check_options(options)  # a typo in an option is the first thing to say
                    raise _nothing_to_change(params, plan)
                body = _json.dumps(values)
        url = URL(self.base_url + path, encoded=True)
        if url_query:
            url = url.extend_query(url_query)
        return self._prepared(
            method, template, url, body, content_type, idempotent, response_type, options, bucket
        )

    def request_json(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        json: Any = None,
        options: CallOptions | None = None,
    ) -> Coroutine[Any, Any, Any]:
        """The escape hatch: ``method path`` as given, the decoded JSON back.

        Same pacing, retries by the method's safety, deadline and typed errors as every
        other call; ``path`` is checked not to leave ``base_url``.
        """
        method = method.upper() if isinstance(method, str) else method
        if method not in _ESCAPE_HATCH_METHODS:
            allowed = ", ".join(sorted(_ESCAPE_HATCH_METHODS))
            raise ClerkValidationError("method", f"must be one of {allowed}, got {method!r}")
        checked = check_raw_path(path)
        url = URL(self.base_url + checked)
        if query is not None:
            if not isinstance(query, Mapping) or not all(isinstance(k, str) for k in query):
                raise ClerkValidationError("query", "must be a mapping with string keys")
            url_query = query_values(query.items())
            if url_query:
                url = url.extend_query(url_query)
        body = None
        if json is not None:
            try:
                body = _json.dumps(json)
            except (TypeError, ValueError) as exc:
                raise ClerkValidationError("json", f"is not JSON-serialisable: {exc}") from None
        bucket = bucket_for_path(method, checked)  # Clerk's per-object limits hold here too
        return self._prepared(method, path, url, body, None, None, Any, options, bucket)

    def _prepared(
        self,
        method: str,
        template: str,
        url: URL,
        body: bytes | None,
        content_type: str | None,
        idempotent: bool | None,
        response_type: Any,
        options: CallOptions | None,
        bucket: str | None = None,
    ) -> Coroutine[Any, Any, Any]:
        headers = self.headers
        timeout = self.timeout
        deadline = self.deadline
        retry = self.retry
        if options:
            headers, timeout, deadline, retry = self._apply(options)
        elif self.missing_key:
            self._raise_missing_key()
        if content_type is not None:
            headers = {**headers, "Content-Type": content_type}
        if idempotent is None:
            idempotent = method in _IDEMPOTENT_METHODS
        return self._send(
            method,
            template,
            url,
            body,
            headers,
            timeout,
            deadline,
            retry,
            idempotent,
            response_type,
            bucket,
        )

    def _apply(
        self, options: CallOptions
    ) -> tuple[dict[str, str], aiohttp.ClientTimeout, float, RetryPolicy]:
        check_options(options)
        headers = self.headers
        extra = options.get("extra_headers")
        machine_key = options.get("machine_secret_key")
        if extra or machine_key:
            headers = {**headers, **(extra or {})}
            if machine_key:
                headers["Authorization"] = f"Bearer {machine_key}"
        if "Authorization" not in headers:
            self._raise_missing_key()
        timeout = as_timeout(options["timeout"]) if "timeout" in options else self.timeout
        deadline = options.get("deadline", self.deadline)
        retry = options.get("retry", self.retry)
        if "max_retries" in options:
            retry = attrs.evolve(retry, max_retries=options["max_retries"])
        return headers, timeout, deadline, retry

    @staticmethod
    def _raise_missing_key() -> None:
        raise ClerkConfigError(
            "secret_key", "no secret key: pass Clerk(secret_key=...) or set CLERK_SECRET_KEY"
        )

    async def _send(
        self,
        method: str,
        template: str,
        url: URL,
        body: bytes | None,
        headers: dict[str, str],
        timeout: aiohttp.ClientTimeout,
        deadline: float,
        retry: RetryPolicy,
        idempotent: bool,
        response_type: type[T],
        bucket: str | None = None,
    ) -> T:
        session_timeout = self.session_timeout
        clock = self.clock
        limiter = self.limiter
        route = method + " " + template  # a 429 pauses this endpoint (Clerk: "that endpoint")
        debug = log.isEnabledFor(logging.DEBUG)
        # The deadline bounds the whole call from here: queueing for the limiter and the
        # pool, every attempt, every wait between them.
        deadline_at = clock() + deadline
        error: ClerkError | None = None  # the previous attempt's
        attempt = 0
        while True:
            # Each attempt asks anew: the client may have been closed during a backoff.
            session, pool_gate = self.session()
            queued = False
            if not limiter.try_acquire(route, bucket):
                await self._wait_for_limiter(route, bucket, deadline_at, deadline, retry, error)
                queued = True
            sent = False  # until the request is handed to aiohttp: then the server may see it
            try:
                if pool_gate is not None and not pool_gate.try_acquire():
                    # Wait for a pooled connection here, where it costs no attempt's timeout.
                    if not await _within(pool_gate.acquire, deadline_at - clock()):
                        raise _DeadlineExceeded("waiting for a pooled connection")
                    queued = True
                try:
                    if queued and limiter.pause_remaining(route):
                        raise _Paused  # a 429 came while we queued: wait it out, unsent
                    started = clock()
                    attempt_timeout = timeout
                    remaining = deadline_at - started
                    if timeout.total is None or remaining < timeout.total:
                        if remaining <= 0:
                            raise _DeadlineExceeded(f"before attempt {attempt + 1}")
                        attempt_timeout = attrs.evolve(timeout, total=remaining)
                    data: bytes | io.BytesIO | None = body
                    if body is not None and len(body) > _LARGE_BODY:
                        data = io.BytesIO(body)  # a fresh reader for each attempt
                    sent = True
                    if attempt_timeout is session_timeout:  # the session's own: no copy
                        sending = session.request(
                            method, url, data=data, headers=headers, allow_redirects=False
                        )
                    else:
                        sending = session.request(
                            method,
                            url,
                            data=data,
                            headers=headers,
                            allow_redirects=False,
                            timeout=attempt_timeout,
                        )
                    async with sending as response:
                        status = response.status
                        response_headers = response.headers
                        try:
                            raw = await _read(response, self.max_response_bytes)
                        except _TooLarge:
                            response.close()  # drop the connection, and the rest of the body
                            raise ClerkResponseValidationError(
                                f"{method} {template}: the {status} answer is larger than "
                                f"max_response_bytes ({self.max_response_bytes:,} bytes)",
                                status=status,
                                body=b"",
                            ) from None
                finally:
                    if pool_gate is not None:
                        pool_gate.release()
            # aiohttp's exceptions are never chained to ours: some carry the request's
            # headers (request_info), hence the secret key. Their type and text suffice.
            except _Paused:
                sent = False
                continue  # not an attempt: the loop waits out the pause in the limiter
            except _DeadlineExceeded as exc:
                raise _deadline_error(method, template, deadline, exc.waiting_for) from error
            except aiohttp.ClientSSLError as exc:  # a bad certificate will not get better
                sent = False
                raise ClerkConnectionError(f"{method} {template}: {exc}") from None
            except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
                sent = False  # the connection never opened: the server saw nothing
                error = ClerkConnectionError(f"{method} {template}: {exc}")
                outcome = Outcome(None, sent=False, idempotent=idempotent)
            except asyncio.TimeoutError as exc:  # aiohttp's total and read timeouts
                error = ClerkTimeoutError(
                    f"{method} {template}: {_timed_out(exc, attempt_timeout, timeout)} "
                    f"(attempt {attempt + 1} of {retry.max_retries + 1})"
                )
                outcome = Outcome(None, idempotent=idempotent)
            except aiohttp.ClientError as exc:  # dropped, reset, malformed response...
                error = ClerkConnectionError(f"{method} {template}: {type(exc).__name__}: {exc}")
                outcome = Outcome(None, idempotent=idempotent)
            except RuntimeError:
                if session.closed:  # aiohttp's bare "Session is closed"
                    sent = False
                    raise ClientStateError(
                        "the aiohttp session given to Clerk(session=...) was closed by its "
                        "owner; give the client an open session, or let it make its own"
                    ) from None
                raise
            else:
                if 200 <= status < 300:
                    if debug:
                        elapsed_ms = (clock() - started) * 1e3
                        log.debug("%s %s -> %d in %.1f ms", method, template, status, elapsed_ms)
                    return self._decode(raw, status, response_type, response_headers)
                api_error = error_from_response(status, response_headers, raw)
                error = api_error
                outcome = Outcome(status, idempotent=idempotent, retry_after=api_error.retry_after)
                if debug:
                    log.debug(
                        "%s %s -> %d in %.1f ms [trace %s]",
                        method,
                        template,
                        status,
                        (clock() - started) * 1e3,
                        api_error.clerk_trace_id,
                    )
            finally:
                if limiter.limit is not None:
                    limiter.release(sent=sent, key=bucket)

            delay = retry.decide(attempt, outcome)
            if outcome.status == 429:
                # Every later request to this endpoint waits the pause out, retried or not.
                limiter.pause(route, retry.pause_after_429(attempt, outcome.retry_after, delay))
            if delay is None or clock() + delay >= deadline_at:
                raise error
            attempt += 1
            if debug:
                log.debug(
                    "retrying %s %s (retry %d of %d) in %.2f s after %s",
                    method,
                    template,
                    attempt,
                    retry.max_retries,
                    delay,
                    error,
                )
            if outcome.status != 429:  # after a 429 the limiter holds us for the pause
                await asyncio.sleep(delay)

    async def _wait_for_limiter(
        self,
        route: str,
        bucket: str | None,
        deadline_at: float,
        deadline: float,
        retry: RetryPolicy,
        error: ClerkError | None,
    ) -> None:
        """Queue for the limiter within the deadline; a pause we cannot outwait fails now."""
        limiter = self.limiter
        left = deadline_at - self.clock()
        pause = limiter.pause_remaining(route)
        if pause and (pause >= left or pause > retry.max_retry_after):
            raise RateLimitError.paused(route, pause) from error
        if not await _within(lambda: limiter.acquire(route, bucket), left):
            method, _, template = route.partition(" ")
            raise _deadline_error(
                method, template, deadline, "waiting for the rate limiter"
            ) from error

    def _decode(
        self, raw: bytes, status: int, response_type: type[T], headers: Mapping[str, str]
    ) -> T:
        if response_type is _NONE_TYPE:
            return None  # type: ignore[return-value]  # the operation answers no body
        hook = self._structure_hooks.get(response_type)
        if hook is None:
            hook = self._structure_hooks[response_type] = converter.get_structure_hook(
                response_type
            )
        # Messages say what was wrong, never what the answer held: a machine's secret key
        # or an API key's secret is exactly what these bodies carry.
        try:
            data = _json.loads(raw)
        except ValueError:  # invalid JSON (includes orjson's JSONDecodeError)
            kind = headers.get("Content-Type") or "no content type"
            raise ClerkResponseValidationError(
                f"{status} answer is not JSON ({len(raw):,} bytes, {kind})",
                status=status,
                body=raw,
            ) from None
        try:
            result: T = hook(data, response_type)
        except Exception as exc:  # cattrs' validation errors, or a hook's TypeError
            raise ClerkResponseValidationError(
                f"{status} answer does not fit {_type_name(response_type)}: "
                f"{describe_structure_error(exc)}",
                status=status,
                body=raw,
            ) from None
        return result


_NONE_TYPE: Any = type(None)
# aiohttp writes raw bytes past 1 MiB in one go and warns that it may block the loop; a
# reader is written in chunks (a big upload, or claims of many megabytes).
_LARGE_BODY = 2**20


def _timed_out(
    exc: asyncio.TimeoutError, used: aiohttp.ClientTimeout, configured: aiohttp.ClientTimeout
) -> str:
    """Which limit ended the attempt, in words."""
    if isinstance(exc, aiohttp.SocketTimeoutError):
        return f"no data for {_s(used.sock_read)} (the read timeout)"
    if used is not configured and used.total != configured.total:
        return f"the call's deadline ran out after {_s(used.total)} of this attempt"
    return f"no answer within the {_s(used.total)} timeout"
