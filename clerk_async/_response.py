"""Reading what came back: classify an attempt's result, decode an answer. Pure.

``classify`` turns a status (or ``classify_failure`` an aiohttp exception) into
the error it means and the ``clerk_async._retry.Outcome`` the retry policy decides
on; ``decode`` turns a 2xx body into the operation's answer type. No I/O, no clock:
testable with bytes and a status.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import aiohttp

from clerk_async import _json
from clerk_async._convert import converter, describe_structure_error
from clerk_async._retry import Outcome
from clerk_async.errors import (
    ClerkAPIError,
    ClerkConnectionError,
    ClerkError,
    ClerkResponseValidationError,
    ClerkTimeoutError,
    error_from_response,
)

if TYPE_CHECKING:
    from clerk_async._prepare import PreparedRequest

__all__ = ["classify", "classify_failure", "decode"]


def classify(
    prepared: PreparedRequest, status: int, headers: Mapping[str, str], raw: bytes
) -> tuple[ClerkAPIError, Outcome] | None:
    """None for a 2xx answer (decode it); else its typed error and what to decide on."""
    if 200 <= status < 300:
        return None
    error = error_from_response(status, headers, raw)
    return error, Outcome(status, idempotent=prepared.idempotent, retry_after=error.retry_after)


def classify_failure(
    prepared: PreparedRequest,
    exc: BaseException,
    *,
    used: aiohttp.ClientTimeout,
    configured: aiohttp.ClientTimeout,
    attempt: int,
    attempts: int,
) -> tuple[ClerkError, Outcome | None]:
    """The error an aiohttp exception of attempt ``attempt`` (0-based) of ``attempts``
    means, and its outcome; None: never worth a retry (a bad certificate).

    aiohttp's exceptions are never chained to ours: some carry the request's headers
    (``request_info``), hence the secret key. Their type and text suffice.
    """
    name = f"{prepared.method} {prepared.template}"
    if isinstance(exc, aiohttp.ClientSSLError):  # a bad certificate will not get better
        return ClerkConnectionError(f"{name}: {exc}"), None
    if isinstance(exc, (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)):
        # The connection never opened: the server saw nothing.
        error: ClerkError = ClerkConnectionError(f"{name}: {exc}")
        return error, Outcome(None, sent=False, idempotent=prepared.idempotent)
    if isinstance(exc, asyncio.TimeoutError):  # aiohttp's total and read timeouts
        error = ClerkTimeoutError(
            f"{name}: {_timed_out(exc, used, configured)} (attempt {attempt + 1} of {attempts})"
        )
    else:  # dropped, reset, malformed response...
        error = ClerkConnectionError(f"{name}: {type(exc).__name__}: {exc}")
    return error, Outcome(None, idempotent=prepared.idempotent)


def _timed_out(
    exc: BaseException, used: aiohttp.ClientTimeout, configured: aiohttp.ClientTimeout
) -> str:
    """Which limit ended the attempt, in words."""
    if isinstance(exc, aiohttp.SocketTimeoutError):
        return f"no data for {seconds_text(used.sock_read)} (the read timeout)"
    if used is not configured and used.total != configured.total:
        return f"the call's deadline ran out after {seconds_text(used.total)} of this attempt"
    return f"no answer within the {seconds_text(used.total)} timeout"


def seconds_text(seconds: float | None) -> str:
    """Seconds for a message: ``25.2s``, ``0.25s``, ``120s``."""
    return "no limit" if seconds is None else f"{seconds:.3g}s"


_NONE_TYPE: Any = type(None)
# One structure hook per answer type, asked of the converter once (it builds them lazily).
_hooks: dict[Any, Callable[[Any, Any], Any]] = {}


def decode(answer: Any, status: int, headers: Mapping[str, str], raw: bytes) -> Any:
    """A 2xx body as ``answer`` (a model, ``list[...]``, ``Any``; ``type(None)``: no body).

    Messages say what was wrong, never what the answer held: a machine's secret key or an
    API key's secret is exactly what these bodies carry.
    """
    if answer is _NONE_TYPE:
        return None  # the operation answers no body
    hook = _hooks.get(answer)
    if hook is None:
        hook = _hooks[answer] = converter.get_structure_hook(answer)
    try:
        data = _json.loads(raw)
    except ValueError:  # invalid JSON (includes orjson's JSONDecodeError)
        kind = headers.get("Content-Type") or "no content type"
        raise ClerkResponseValidationError(
            f"{status} answer is not JSON ({len(raw):,} bytes, {kind})", status=status, body=raw
        ) from None
    except RecursionError:  # the stdlib's decoder on [[[[... nested thousands deep
        raise ClerkResponseValidationError(
            f"{status} answer is nested too deeply to decode ({len(raw):,} bytes)",
            status=status,
            body=raw,
        ) from None
    try:
        return hook(data, answer)
    except Exception as exc:  # cattrs' validation errors, or a hook's TypeError
        raise ClerkResponseValidationError(
            f"{status} answer does not fit {_type_name(answer)}: {describe_structure_error(exc)}",
            status=status,
            body=raw,
        ) from None


def _type_name(tp: Any) -> str:
    return tp.__name__ if isinstance(tp, type) else repr(tp)  # Page[Machine], not Page
