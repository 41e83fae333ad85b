"""The exception tree, and the pure function that builds an API error from a response.

Every exception the client raises derives from ``ClerkError``. No message, ``repr``
or attribute of these exceptions carries the secret key: they are built from what the
server answered (status, headers, body), and the request's ``Authorization`` header is
never stored on them.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import Any

import attrs
from multidict import CIMultiDict

from clerk_async import _json

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "ClerkAPIError",
    "ClerkConfigError",
    "ClerkConnectionError",
    "ClerkError",
    "ClerkErrorDetail",
    "ClerkResponseValidationError",
    "ClerkTimeoutError",
    "ClerkValidationError",
    "ClientStateError",
    "ConflictError",
    "InternalServerError",
    "NotFoundError",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "UnprocessableEntityError",
    "error_from_response",
    "parse_retry_after",
]


class ClerkError(Exception):
    """The root of every exception raised by clerk_async.

    Every one pickles with all its attributes (``status``, ``errors``, ``field``...), so
    errors can cross process pools and task queues.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        # The default rebuilds with cls(*args), which fails for our own __init__s.
        return _restore, (type(self), self.args, self.__dict__)


def _restore(cls: type[ClerkError], args: tuple[Any, ...], state: dict[str, Any]) -> ClerkError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class ClerkValidationError(ClerkError, ValueError):
    """Bad input found before any request was sent. ``field`` names the culprit."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class ClerkConfigError(ClerkValidationError):
    """The client's configuration is wrong (a missing key, a bad option), not a call's input.

    A service that maps errors to HTTP answers treats this as its own fault (500), where a
    plain ``ClerkValidationError`` is the caller's (422).
    """


class ClientStateError(ClerkError, RuntimeError):
    """The client is used in a way its lifecycle does not allow (closed, other event loop)."""


class ClerkConnectionError(ClerkError):
    """The request could not be completed: connection refused, reset or dropped."""


class ClerkTimeoutError(ClerkConnectionError, TimeoutError):
    """An attempt exceeded its timeout, or the whole call exceeded its deadline."""


class ClerkResponseValidationError(ClerkError):
    """A 2xx response whose body does not have the shape the spec promises."""

    def __init__(self, message: str, *, status: int, body: bytes) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class PaginationError(ClerkError):
    """A list walk that cannot go on truthfully: the server repeated a page (it ignores
    ``offset``), or the walk went past its ``max_pages`` / ``max_items`` bound. ``pages``
    and ``items`` say how far it got; what was yielded before stays valid."""

    def __init__(self, message: str, *, pages: int, items: int) -> None:
        super().__init__(message)
        self.pages = pages
        self.items = items


@attrs.frozen
class ClerkErrorDetail:
    """One entry of Clerk's ``errors`` array."""

    code: str
    message: str
    long_message: str | None = None
    meta: Mapping[str, Any] = attrs.field(factory=dict)


class ClerkAPIError(ClerkError):
    """Clerk answered with a non-2xx status."""

    status: int

    def __init__(
        self,
        status: int,
        *,
        errors: list[ClerkErrorDetail],
        clerk_trace_id: str | None,
        retry_after: float | None,
        headers: Mapping[str, str],
        body: bytes,
        note: str | None = None,
    ) -> None:
        self.status = status
        self.errors = errors
        self.clerk_trace_id = clerk_trace_id
        self.retry_after = retry_after
        self.headers = CIMultiDict(headers)  # aiohttp's is a proxy, which does not pickle
        self.body = body  # the raw answer: kept for the caller, never in a message
        super().__init__(self._describe(note))

    @property
    def code(self) -> str | None:
        """The first error's code, e.g. ``resource_not_found``."""
        return self.errors[0].code if self.errors else None

    def _describe(self, note: str | None) -> str:
        parts = [str(self.status)]
        if note:
            parts.append(note)
        if self.errors:
            first = self.errors[0]
            parts.append(f"{first.code}: {first.message}")
            if first.long_message and first.long_message != first.message:
                parts.append(f"({first.long_message})")
        elif self.body:
            # Not Clerk's error shape (a proxy's HTML page, say): its text could echo
            # anything, request headers included, so only its kind and size are told.
            kind = self.headers.get("Content-Type") or "no content type"
            parts.append(f"(a {len(self.body):,}-byte body that is not Clerk's error JSON: {kind})")
        if self.retry_after is not None:
            parts.append(f"[retry after {self.retry_after:g}s]")
        if self.clerk_trace_id:
            parts.append(f"[trace {self.clerk_trace_id}]")
        return " ".join(parts)


class BadRequestError(ClerkAPIError):
    status = 400


class AuthenticationError(ClerkAPIError):
    status = 401


class PermissionDeniedError(ClerkAPIError):
    status = 403


class NotFoundError(ClerkAPIError):
    status = 404


class ConflictError(ClerkAPIError):
    status = 409


class UnprocessableEntityError(ClerkAPIError):
    status = 422


class RateLimitError(ClerkAPIError):
    status = 429

    @classmethod
    def paused(cls, route: str, seconds: float) -> RateLimitError:
        """Raised without sending: an earlier 429 paused ``route`` longer than this call
        can wait (its deadline, or the policy's ``max_retry_after``)."""
        return cls(
            429,
            errors=[],
            clerk_trace_id=None,
            retry_after=seconds,
            headers={},
            body=b"",
            note=f"not sent: an earlier 429 paused {route}",
        )


class InternalServerError(ClerkAPIError):
    status = 500


_BY_STATUS: dict[int, type[ClerkAPIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP date.

    Returns None when the header is absent or unreadable; never a negative number.
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # an HTTP date is always GMT
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN, inf
        return None
    return max(0.0, seconds)


def _details(payload: Any) -> list[ClerkErrorDetail]:
    if not isinstance(payload, Mapping):
        return []
    raw_errors = payload.get("errors")
    if not isinstance(raw_errors, list):
        return []
    details = []
    for item in raw_errors:
        if not isinstance(item, Mapping):
            continue
        meta = item.get("meta")
        details.append(
            ClerkErrorDetail(
                code=str(item.get("code") or "unknown"),
                message=str(item.get("message") or ""),
                long_message=None
                if item.get("long_message") is None
                else str(item["long_message"]),
                meta=meta if isinstance(meta, Mapping) else {},
            )
        )
    return details


def trace_id_from_headers(headers: Mapping[str, str]) -> str | None:
    """Clerk's trace id as its answer's headers carry it (the body's ``clerk_trace_id`` first,
    where there is one): ``X-Clerk-Trace-Id``, else Cloudflare's ``CF-Ray``."""
    return headers.get("x-clerk-trace-id") or headers.get("cf-ray") or None


def error_from_response(status: int, headers: Mapping[str, str], body: bytes) -> ClerkAPIError:
    """Build the typed error for a non-2xx response. Pure; tolerant of any body."""
    try:
        payload = _json.loads(body) if body else None
    except (ValueError, RecursionError):  # (RecursionError: the stdlib's JSON, nested deep)
        payload = None  # an HTML page from a proxy, a truncated body...
    trace_id = payload.get("clerk_trace_id") if isinstance(payload, Mapping) else None
    if not isinstance(trace_id, str) or not trace_id:
        trace_id = trace_id_from_headers(headers)
    if status >= 500:
        cls: type[ClerkAPIError] = InternalServerError
    else:
        cls = _BY_STATUS.get(status, ClerkAPIError)
    return cls(
        status,
        errors=_details(payload),
        clerk_trace_id=trace_id,
        retry_after=parse_retry_after(headers.get("Retry-After")),
        headers=headers,
        body=body,
    )
