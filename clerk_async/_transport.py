"""The one request path: gate -> send -> read -> classify -> retry or raise -> decode.

Retries, timeouts, pacing, logging and error mapping live here and nowhere else.
A service method only says what to send and what type comes back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar
from urllib.parse import quote

import aiohttp
import attrs
import cattrs
from yarl import URL

from clerk_async import _json
from clerk_async._convert import converter, path_fields, snake_case, unstructure_params
from clerk_async._ratelimit import Limiter, PoolGate
from clerk_async._retry import Outcome, RetryPolicy
from clerk_async.errors import (
    ClerkConfigError,
    ClerkConnectionError,
    ClerkError,
    ClerkResponseValidationError,
    ClerkTimeoutError,
    ClerkValidationError,
    error_from_response,
)

if TYPE_CHECKING:
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
        raise ClerkConfigError(name, f"must be a number of seconds > 0, got {value!r}")
    return float(value)


def retry_count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ClerkConfigError(name, f"must be an integer >= 0, got {value!r}")
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
        raise ClerkConfigError("retry", f"must be a RetryPolicy, got {options['retry']!r}")
    extra = options.get("extra_headers")
    if extra is not None and not (
        isinstance(extra, Mapping)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in extra.items())
    ):
        raise ClerkConfigError("extra_headers", "must be a mapping of str to str")
    key = options.get("machine_secret_key")
    if key is not None and not (isinstance(key, str) and key.strip()):
        raise ClerkConfigError("machine_secret_key", "must be a non-empty string")


def as_timeout(timeout: float | aiohttp.ClientTimeout) -> aiohttp.ClientTimeout:
    if isinstance(timeout, aiohttp.ClientTimeout):
        return timeout
    total = seconds("timeout", timeout)
    return aiohttp.ClientTimeout(total=total, sock_connect=min(total, 10.0))


def _type_name(tp: Any) -> str:
    return tp.__name__ if isinstance(tp, type) else repr(tp)  # Page[Machine], not Page


class _DeadlineExceeded(Exception):
    """Internal: the call's deadline ran out before an attempt could start."""


def _deadline_error(method: str, template: str, deadline: float) -> ClerkTimeoutError:
    return ClerkTimeoutError(f"{method} {template}: deadline of {deadline:g}s exceeded")


async def _within(acquire: Callable[[], Awaitable[None]], seconds: float) -> bool:
    """Await ``acquire()`` for at most ``seconds``; False if the time ran out first."""
    if seconds <= 0:
        return False
    try:
        await asyncio.wait_for(acquire(), seconds)
    except asyncio.TimeoutError:
        return False
    return True


@lru_cache(maxsize=1024)
def _segment(value: str) -> str:
    """One URL path segment: ``a/b`` and ``%2e`` are escaped, never interpreted."""
    return quote(value, safe="")


def _query(values: dict[str, Any]) -> dict[str, str]:
    """Query strings have no null: a None leaves the parameter out (the server's default)."""
    return {
        k: ("true" if v else "false") if isinstance(v, bool) else str(v)
        for k, v in values.items()
        if v is not None
    }


@attrs.define
class Transport:
    """Sends requests for one client. Holds no session: ``session`` hands it out."""

    base_url: str  # no trailing slash, e.g. "https://api.clerk.com/v1"
    headers: dict[str, str] = attrs.field(repr=False)  # holds the secret key: never shown
    timeout: aiohttp.ClientTimeout
    deadline: float
    retry: RetryPolicy
    limiter: Limiter
    session: Callable[[], tuple[aiohttp.ClientSession, PoolGate | None]]
    missing_key: bool = False
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
        filled from the params' path fields, each escaped as one segment. The other params
        fields go to the query string (``query=True``) or the JSON body.

        A plain function that builds the request and returns the coroutine that sends it:
        one coroutine frame less on every await of the hot path.
        """
        path = template
        body: bytes | None = None
        query_values: dict[str, str] | None = None
        if params is not None:
            names = path_fields(type(params))
            if names:
                segments = {}
                for name in names:  # a loop, not a comprehension: no extra frame (hot path)
                    segments[name] = _segment(getattr(params, name))
                path = template.format_map(segments)
            values = unstructure_params(params)
            if query:
                query_values = _query(values) if values else None
            elif values or method in _BODY_METHODS:
                body = _json.dumps(values)
        url = URL(self.base_url + path, encoded=True)
        if query_values:
            url = url.extend_query(query_values)

        headers = self.headers
        timeout = self.timeout
        deadline = self.deadline
        retry = self.retry
        if options:
            headers, timeout, deadline, retry = self._apply(options)
        elif self.missing_key:
            self._raise_missing_key()
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
    ) -> T:
        session_timeout = self.session_timeout
        clock = self.clock
        limiter = self.limiter
        debug = log.isEnabledFor(logging.DEBUG)
        deadline_at = 0.0  # set when the first attempt starts: queueing before it does not count
        error: ClerkError | None = None  # the previous attempt's
        attempt = 0
        while True:
            # Each attempt asks anew: the client may have been closed during a backoff.
            session, pool_gate = self.session()
            if not limiter.try_acquire():
                if attempt == 0:
                    await limiter.acquire()
                elif not await _within(limiter.acquire, deadline_at - clock()):
                    raise _deadline_error(method, template, deadline) from error
            sent = False  # until the request is handed to aiohttp: then the server may see it
            try:
                if pool_gate is not None and not pool_gate.try_acquire():
                    # Wait for a pooled connection here, where it costs no attempt's timeout.
                    if attempt == 0:
                        await pool_gate.acquire()
                    elif not await _within(pool_gate.acquire, deadline_at - clock()):
                        raise _DeadlineExceeded
                try:
                    started = clock()
                    if attempt == 0:
                        deadline_at = started + deadline
                    attempt_timeout = timeout
                    remaining = deadline_at - started
                    if timeout.total is None or remaining < timeout.total:
                        if remaining <= 0:
                            raise _DeadlineExceeded
                        attempt_timeout = attrs.evolve(timeout, total=remaining)
                    sent = True
                    if attempt_timeout is session_timeout:  # the session's own: no copy
                        sending = session.request(
                            method, url, data=body, headers=headers, allow_redirects=False
                        )
                    else:
                        sending = session.request(
                            method,
                            url,
                            data=body,
                            headers=headers,
                            allow_redirects=False,
                            timeout=attempt_timeout,
                        )
                    async with sending as response:
                        status = response.status
                        raw = await response.read()
                        response_headers = response.headers
                finally:
                    if pool_gate is not None:
                        pool_gate.release()
            # aiohttp's exceptions are never chained to ours: some carry the request's
            # headers (request_info), hence the secret key. Their type and text suffice.
            except _DeadlineExceeded:
                raise _deadline_error(method, template, deadline) from error
            except aiohttp.ClientSSLError as exc:  # a bad certificate will not get better
                sent = False
                raise ClerkConnectionError(f"{method} {template}: {exc}") from None
            except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
                sent = False  # the connection never opened: the server saw nothing
                error = ClerkConnectionError(f"{method} {template}: {exc}")
                outcome = Outcome(None, sent=False, idempotent=idempotent)
            except asyncio.TimeoutError:  # aiohttp's total and read timeouts
                error = ClerkTimeoutError(
                    f"{method} {template}: no answer within the timeout "
                    f"(total {attempt_timeout.total}s, read {attempt_timeout.sock_read}s)"
                )
                outcome = Outcome(None, idempotent=idempotent)
            except aiohttp.ClientError as exc:  # dropped, reset, malformed response...
                error = ClerkConnectionError(f"{method} {template}: {type(exc).__name__}: {exc}")
                outcome = Outcome(None, idempotent=idempotent)
            else:
                if 200 <= status < 300:
                    if debug:
                        elapsed_ms = (clock() - started) * 1e3
                        log.debug("%s %s -> %d in %.1f ms", method, template, status, elapsed_ms)
                    return self._decode(raw, status, response_type)
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
                    limiter.release(sent=sent)

            delay = retry.decide(attempt, outcome)
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
            if outcome.status == 429:
                limiter.pause(delay)  # every request of this client waits it out, together
            else:
                await asyncio.sleep(delay)

    def _decode(self, raw: bytes, status: int, response_type: type[T]) -> T:
        hook = self._structure_hooks.get(response_type)
        if hook is None:
            hook = self._structure_hooks[response_type] = converter.get_structure_hook(
                response_type
            )
        try:
            result: T = hook(_json.loads(raw), response_type)
        except ValueError as exc:  # invalid JSON (includes orjson's JSONDecodeError)
            raise ClerkResponseValidationError(
                f"{status} response is not JSON: {raw[:200]!r}", status=status, body=raw
            ) from exc
        except (cattrs.BaseValidationError, TypeError, KeyError, AttributeError) as exc:
            detail = (
                "; ".join(cattrs.transform_error(exc))
                if isinstance(exc, cattrs.BaseValidationError)
                else repr(exc)
            )
            raise ClerkResponseValidationError(
                f"{status} response does not fit {_type_name(response_type)}: {detail}",
                status=status,
                body=raw,
            ) from exc
        return result
