"""FastAPI integration: one Clerk per app, a dependency, and HTTP answers for Clerk's errors.

Needs the ``fastapi`` extra. In an app:

    from fastapi import FastAPI
    from clerk_async.fastapi import ClerkDep, clerk_lifespan, install_exception_handlers

    app = FastAPI(lifespan=clerk_lifespan(max_connections=20))  # any Clerk(...) keyword
    install_exception_handlers(app)

    @app.patch("/machines/{machine_id}")
    async def rename(machine_id: str, name: str, clerk: ClerkDep) -> dict[str, str]:
        machine = await clerk.machines.update(machine_id, name=name)
        return {"id": machine.id, "name": machine.name}

With a lifespan of your own, open the client inside it:

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_clerk(app, max_connections=20) as clerk, open_database() as db:
            yield

The client is created when the app starts, inside the server's event loop, stored on
``app.state.clerk`` and closed when the app shuts down: one connection pool shared by every
request of the process. Never create a ``Clerk`` per request. With several worker
processes each has its own client: share one rate limit between them through Redis
(``rate_limit=RateLimit(1000, 10, redis_url=...)``; README, "Running many workers").

Protect a path operation with ``require_auth`` (needs ``clerk-async[auth]`` too):

    @app.get("/invoices")
    async def invoices(auth: Annotated[M2MAuth, Depends(require_auth("m2m_token"))]) -> ...:
        ...
"""

from __future__ import annotations

import logging
import math
import re
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    Literal,
    NamedTuple,
    TypeAlias,
    TypedDict,
    TypeVar,
    overload,
)

try:
    from fastapi import Depends, HTTPException
    from fastapi.requests import HTTPConnection, Request
    from fastapi.responses import JSONResponse, Response
    from starlette.applications import Starlette
except ImportError as exc:  # pragma: no cover - exercised in a subprocess
    raise ImportError(
        "clerk_async.fastapi needs FastAPI: install it with pip install 'clerk-async[fastapi]'"
    ) from exc

import aiohttp
from yarl import URL

from clerk_async._ratelimit import RateLimit
from clerk_async._retry import RetryPolicy

# No cryptography needed here: the verifier is imported lazily.
from clerk_async.auth import APIKeyAuth, Auth, M2MAuth, OAuthAuth, Reverification, SessionAuth
from clerk_async.auth._types import (
    AcceptsToken,
    TokenType,
)
from clerk_async.client import Clerk
from clerk_async.errors import (
    ClerkAPIError,
    ClerkConfigError,
    ClerkConnectionError,
    ClerkError,
    ClerkResponseValidationError,
    ClerkTimeoutError,
    ClerkValidationError,
    ClientStateError,
)
from clerk_async.hooks import Hooks

if TYPE_CHECKING:
    if sys.version_info >= (3, 11):
        from typing import Unpack
    else:
        from typing_extensions import Unpack

__all__ = [
    "AuthDependency",
    "ClerkDep",
    "ClerkOptions",
    "ErrorReply",
    "clerk_exception_handler",
    "clerk_lifespan",
    "error_reply",
    "get_clerk",
    "install_exception_handlers",
    "open_clerk",
    "require_auth",
]

log = logging.getLogger("clerk_async.fastapi")

STATE_ATTRIBUTE = "clerk"
TRACE_HEADER = "X-Clerk-Trace-Id"


class ClerkOptions(TypedDict, total=False):
    """The keyword arguments of ``Clerk``, for type checkers."""

    secret_key: str | None
    base_url: str | URL | None
    machine_secret_key: str | None
    timeout: float | aiohttp.ClientTimeout
    deadline: float
    retry: RetryPolicy | None
    max_retries: int | None
    rate_limit: RateLimit | Literal["auto"] | None
    max_connections: int
    session: aiohttp.ClientSession | None
    trace_configs: Iterable[aiohttp.TraceConfig] | None
    default_headers: Mapping[str, str] | None
    api_version: str
    max_response_bytes: int
    jwt_key: str | None
    hooks: Hooks | Sequence[Hooks] | None


# --- the client's life ------------------------------------------------------------------


@asynccontextmanager
async def open_clerk(app: Starlette, **options: Unpack[ClerkOptions]) -> AsyncIterator[Clerk]:
    """Open a ``Clerk`` for ``app`` (on ``app.state.clerk``) and close it on exit.

    Use it inside your own lifespan; ``options`` are ``Clerk(...)``'s keyword arguments.
    Without a secret key (neither ``secret_key=`` nor ``CLERK_SECRET_KEY``) the app's
    start-up fails with ``ClerkConfigError``, unless it has a ``jwt_key``
    (or ``CLERK_JWT_KEY``): such an app may only verify session tokens, networkless.
    """
    if isinstance(getattr(app.state, STATE_ATTRIBUTE, None), Clerk):
        raise ClientStateError("this app already has a Clerk client on app.state.clerk")
    clerk = Clerk(**options)
    if not clerk.has_secret_key and clerk._jwt_key is None:
        # Fail the start-up, not every request after it with a 500.
        raise ClerkConfigError(
            "secret_key",
            "the app has no Clerk secret key: set CLERK_SECRET_KEY in its environment "
            "or pass secret_key= to clerk_lifespan()/open_clerk()",
        )
    async with clerk:
        setattr(app.state, STATE_ATTRIBUTE, clerk)
        try:
            yield clerk
        finally:
            delattr(app.state, STATE_ATTRIBUTE)


def clerk_lifespan(
    **options: Unpack[ClerkOptions],
) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """A lifespan for ``FastAPI(lifespan=...)`` that runs ``open_clerk`` with ``options``.

    Each start of the app makes a new client, so an app can be started again (in tests).
    """

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_clerk(app, **options):
            yield

    return lifespan


async def get_clerk(request: HTTPConnection) -> Clerk:
    """The app's client, for ``Depends``. Async, so FastAPI does not run it in a thread."""
    clerk = getattr(request.app.state, STATE_ATTRIBUTE, None)
    if not isinstance(clerk, Clerk):
        raise ClientStateError(
            "no Clerk client on app.state.clerk: create the app with "
            "FastAPI(lifespan=clerk_lifespan()) or enter open_clerk(app) in your lifespan"
        )
    return clerk


ClerkDep = Annotated[Clerk, Depends(get_clerk)]
"""Declare ``clerk: ClerkDep`` in a path operation to receive the app's client."""


# --- errors as HTTP answers -------------------------------------------------------------


class ErrorReply(NamedTuple):
    """The HTTP answer for a Clerk error: status, JSON body and headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str]


_SAFE_HEADER_VALUE = re.compile(r"[!-~]{1,200}")


def _item(
    code: str, message: str, long_message: str | None = None, meta: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "long_message": long_message,
        "meta": dict(meta or {}),
    }


def _reply(status: int, items: list[dict[str, Any]], trace_id: str | None = None) -> ErrorReply:
    headers = {}
    if trace_id and _SAFE_HEADER_VALUE.fullmatch(trace_id):
        headers[TRACE_HEADER] = trace_id
    return ErrorReply(status, {"errors": items, "clerk_trace_id": trace_id}, headers)


def error_reply(exc: ClerkError) -> ErrorReply:
    """How a service in front of Clerk should answer when a Clerk call raised ``exc``.

    - ``ClerkAPIError``: Clerk's status for 4xx, and its ``errors`` (``code``,
      ``message``, ``long_message``, ``meta``) and ``clerk_trace_id`` (also in the
      ``X-Clerk-Trace-Id`` header). A 429 keeps its ``Retry-After``. Clerk's 5xx become
      **502 Bad Gateway**: this service is a gateway to Clerk, and the fault is upstream.
      So does a 401: Clerk refused *this service's* secret key, which the caller can do
      nothing about (and a 401 would tell the caller their own credentials are wrong).
    - ``ClerkValidationError`` (bad input, found before any request): 422 with code
      ``form_param_invalid`` and the field in ``meta.param_name``, as Clerk reports its
      own 422s. On a configuration field (a missing secret key...): 500.
    - ``ClerkTimeoutError``: 504 ``clerk_timeout``; any other
      ``ClerkConnectionError``: 503 ``clerk_unreachable``;
      ``ClerkResponseValidationError``: 502 ``clerk_response_invalid``.

    The body is built from what Clerk answered and fixed texts only: it never repeats the
    request's headers, the client's configuration or an exception's message.
    """
    if isinstance(exc, ClerkAPIError):
        status = exc.status
        items = [_item(e.code, e.message, e.long_message, e.meta) for e in exc.errors] or [
            _item("clerk_api_error", f"Clerk answered with status {status}")
        ]
        passed_on = 400 <= status < 500 and status != 401
        reply = _reply(status if passed_on else 502, items, exc.clerk_trace_id)
        if status == 429 and exc.retry_after is not None:
            reply.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        return reply
    if isinstance(exc, ClerkValidationError):
        if isinstance(exc, ClerkConfigError):  # the service's own configuration
            return _reply(500, [_item("clerk_misconfigured", "The Clerk client is misconfigured")])
        return _reply(
            422,
            [
                _item(
                    "form_param_invalid",
                    f"{exc.field} is invalid",
                    f"{exc.field}: {exc.reason}",
                    {"param_name": exc.field},
                )
            ],
        )
    if isinstance(exc, ClerkTimeoutError):
        return _reply(
            504,
            [
                _item(
                    "clerk_timeout",
                    "Clerk did not answer in time",
                    "The request to Clerk's API timed out; try again later.",
                )
            ],
        )
    if isinstance(exc, ClerkConnectionError):
        return _reply(
            503,
            [
                _item(
                    "clerk_unreachable",
                    "Clerk could not be reached",
                    "The connection to Clerk's API failed; try again later.",
                )
            ],
        )
    if isinstance(exc, ClerkResponseValidationError):
        return _reply(502, [_item("clerk_response_invalid", "Clerk's answer could not be read")])
    return _reply(500, [_item("internal_error", "Internal Server Error")])


async def clerk_exception_handler(request: Request, exc: Exception) -> Response:
    """An exception handler answering ``error_reply``; logs the replies of status >= 500."""
    if not isinstance(exc, ClerkError):
        raise exc
    reply = error_reply(exc)
    if reply.status >= 500:
        log.warning("%s %s -> %d: %s", request.method, request.url.path, reply.status, exc)
    return JSONResponse(reply.body, status_code=reply.status, headers=reply.headers)


def install_exception_handlers(app: Starlette) -> None:
    """Answer Clerk's errors as ``error_reply`` says, in every path operation of ``app``.

    ``ClientStateError`` (a closed client, a missing lifespan) is a bug in the
    service, not Clerk's doing: it is left to the server's 500 and its traceback.
    """
    for cls in (
        ClerkAPIError,
        ClerkValidationError,
        ClerkConnectionError,
        ClerkResponseValidationError,
    ):
        app.add_exception_handler(cls, clerk_exception_handler)


# --- authenticating requests ------------------------------------------------------------

_A = TypeVar("_A", bound=Auth)
AuthDependency: TypeAlias = Callable[[HTTPConnection, Clerk], Coroutine[Any, Any, _A]]
"""What ``require_auth`` returns: a dependency giving the auth object (``_A``)."""


@overload
def require_auth(
    accepts_token: Literal["session_token"] = ...,
    scopes: str | Iterable[str] | None = None,
    *,
    role: str | None = None,
    permission: str | None = None,
    feature: str | None = None,
    plan: str | None = None,
    reverification: Reverification | None = None,
    authorized_parties: str | Iterable[str] | None = None,
    audience: str | Iterable[str] | None = None,
    clock_skew: float = 5.0,
) -> AuthDependency[SessionAuth]: ...


@overload
def require_auth(
    accepts_token: Literal["m2m_token"],
    scopes: str | Iterable[str] | None = None,
    *,
    role: str | None = None,
    permission: str | None = None,
    feature: str | None = None,
    plan: str | None = None,
    reverification: Reverification | None = None,
    authorized_parties: str | Iterable[str] | None = None,
    audience: str | Iterable[str] | None = None,
    clock_skew: float = 5.0,
) -> AuthDependency[M2MAuth]: ...


@overload
def require_auth(
    accepts_token: Literal["api_key"],
    scopes: str | Iterable[str] | None = None,
    *,
    role: str | None = None,
    permission: str | None = None,
    feature: str | None = None,
    plan: str | None = None,
    reverification: Reverification | None = None,
    authorized_parties: str | Iterable[str] | None = None,
    audience: str | Iterable[str] | None = None,
    clock_skew: float = 5.0,
) -> AuthDependency[APIKeyAuth]: ...


@overload
def require_auth(
    accepts_token: Literal["oauth_token"],
    scopes: str | Iterable[str] | None = None,
    *,
    role: str | None = None,
    permission: str | None = None,
    feature: str | None = None,
    plan: str | None = None,
    reverification: Reverification | None = None,
    authorized_parties: str | Iterable[str] | None = None,
    audience: str | Iterable[str] | None = None,
    clock_skew: float = 5.0,
) -> AuthDependency[OAuthAuth]: ...


@overload
def require_auth(
    accepts_token: tuple[Literal["session_token"], Literal["m2m_token"]]
    | tuple[Literal["m2m_token"], Literal["session_token"]],
    scopes: str | Iterable[str] | None = None,
    *,
    role: str | None = None,
    permission: str | None = None,
    feature: str | None = None,
    plan: str | None = None,
    reverification: Reverification | None = None,
    authorized_parties: str | Iterable[str] | None = None,
    audience: str | Iterable[str] | None = None,
    clock_skew: float = 5.0,
) -> AuthDependency[SessionAuth | M2MAuth]: ...


@overload
def require_auth(
    accepts_token: tuple[Literal["session_token"], Literal["api_key"]]
    | tuple[Literal["api_key"], Literal["session_token"]],
    scopes: str | Iterable[str] | None = None,
    *,
    role: str | None = None,
    permission: str | None = None,
    feature: str | None = None,
    plan: str | None = None,
    reverification: Reverification | None = None,
    authorized_parties: str | Iterable[str] | None = None,
    audience: str | Iterable[str] | None = None,
    clock_skew: float = 5.0,
) -> AuthDependency[SessionAuth | APIKeyAuth]: ...


@overload
def require_auth(
    accepts_token: tuple[Literal["session_token"], Literal["oauth_token"]]
    | tuple[Literal["oauth_token"], Literal["session_token"]],
    scopes: str | Iterable[str] | None = None,
    *,
    role: str | None = None,
    permission: str | None = None,
    feature: str | None = None,
    plan: str | None = None,
    reverification: Reverification | None = None,
    authorized_parties: str | Iterable[str] | None = None,
    audience: str | Iterable[str] | None = None,
    clock_skew: float = 5.0,
) -> AuthDependency[SessionAuth | OAuthAuth]: ...


@overload
def require_auth(
    accepts_token: tuple[Literal["m2m_token"], Literal["api_key"]]
    | tuple[Literal["api_key"], Literal["m2m_token"]],
    scopes: str | Iterable[str] | None = None,
    *,
    role: str | None = None,
    permission: str | None = None,
    feature: str | None = None,
    plan: str | None = None,
    reverification: Reverification | None = None,
    authorized_parties: str | Iterable[str] | None = None,
    audience: str | Iterable[str] | None = None,
    clock_skew: float = 5.0,
) -> AuthDependency[M2MAuth | APIKeyAuth]: ...


@overload
def require_auth(
    accepts_token: tuple[Literal["m2m_token"], Literal["oauth_token"]]
    | tuple[Literal["oauth_token"], Literal["m2m_token"]],
    scopes: str | Iterable[str] | None = None,
    *,
    role: str | None = None,
    permission: str | None = None,
    feature: str | None = None,
    plan: str | None = None,
    reverification: Reverification | None = None,
    authorized_parties: str | Iterable[str] | None = None,
    audience: str | Iterable[str] | None = None,
    clock_skew: float = 5.0,
) -> AuthDependency[M2MAuth | OAuthAuth]: ...


@overload
def require_auth(
    accepts_token: tuple[Literal["api_key"], Literal["oauth_token"]]
    | tuple[Literal["oauth_token"], Literal["api_key"]],
    scopes: str | Iterable[str] | None = None,
    *,
    role: str | None = None,
    permission: str | None = None,
    feature: str | None = None,
    plan: str | None = None,
    reverification: Reverification | None = None,
    authorized_parties: str | Iterable[str] | None = None,
    audience: str | Iterable[str] | None = None,
    clock_skew: float = 5.0,
) -> AuthDependency[APIKeyAuth | OAuthAuth]: ...


@overload
def require_auth(
    accepts_token: Literal["any"] | Sequence[TokenType],
    scopes: str | Iterable[str] | None = None,
    *,
    role: str | None = None,
    permission: str | None = None,
    feature: str | None = None,
    plan: str | None = None,
    reverification: Reverification | None = None,
    authorized_parties: str | Iterable[str] | None = None,
    audience: str | Iterable[str] | None = None,
    clock_skew: float = 5.0,
) -> AuthDependency[Auth]: ...


def require_auth(
    accepts_token: AcceptsToken = "session_token",
    scopes: str | Iterable[str] | None = None,
    *,
    role: str | None = None,
    permission: str | None = None,
    feature: str | None = None,
    plan: str | None = None,
    reverification: Reverification | None = None,
    authorized_parties: str | Iterable[str] | None = None,
    audience: str | Iterable[str] | None = None,
    clock_skew: float = 5.0,
) -> AuthDependency[Auth]:
    """A dependency that authenticates the request and returns its auth object.

    ``accepts_token``, ``authorized_parties``, ``audience`` and ``clock_skew`` are those of
    ``Clerk.verify_token``, checked here, when the app is defined; type checkers see
    the auth type they allow (``SessionAuth`` by default). ``scopes``: each must be among
    the token's scopes (an M2M token's are the machines it may call: give this service's
    machine id; an API key's or OAuth token's are their scope names). ``role``,
    ``permission``, ``feature``, ``plan`` and ``reverification``: the session must pass
    ``SessionAuth.has`` with them (machine tokens never do).

    - No token, or an invalid, expired or wrong-type token: **401** with
      ``WWW-Authenticate: Bearer error="invalid_token"`` (RFC 6750). The body is
      ``{"detail": "Unauthorized"}``: nothing about the token or why it failed, which
      would help a forger (the reason is logged at DEBUG).
    - A valid token without the scopes, or failing the ``has()`` check: **403**,
      ``error="insufficient_scope"``.
    - Clerk unreachable (opaque tokens, the JWKS): **503**; a bad secret key or no key to
      verify with: **500**.

    Uses the app's client (``get_clerk``), so ``jwt_key`` and the JWKS cache are its.
    """
    from clerk_async.auth._guard import requirement

    required = requirement(
        accepts_token,
        scopes,
        role=role,
        permission=permission,
        feature=feature,
        plan=plan,
        reverification=reverification,
        authorized_parties=authorized_parties,
        audience=audience,
        clock_skew=clock_skew,
    )

    async def authenticated(request: HTTPConnection, clerk: ClerkDep) -> Auth:
        state = await clerk._authenticator.authenticate(request.headers, required.options)
        denial = required.deny(state, request.url.path)
        if denial is not None:
            raise HTTPException(denial.status, denial.detail, headers=dict(denial.headers))
        assert state.auth is not None  # deny() refuses a request without one
        return state.auth

    return authenticated
