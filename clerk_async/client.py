"""Clerk: the client's configuration and the life of its aiohttp session."""

from __future__ import annotations

import os
import platform
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping, Sequence
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar, overload

import aiohttp
import attrs
from yarl import URL

from clerk_async._observe import Observers, configure_logging, traced, tracing
from clerk_async._prepare import prepare_raw
from clerk_async._ratelimit import Limiter, RateLimit, default_rate_limit
from clerk_async._retry import RetryPolicy
from clerk_async._session import Sessions
from clerk_async._transport import Transport, as_timeout, retry_count, seconds
from clerk_async._validate import describe, header_problem, secret_problem
from clerk_async._version import __version__
from clerk_async.errors import ClerkConfigError
from clerk_async.hooks import Hooks, check_hooks
from clerk_async.raw import WithRawResponse
from clerk_async.services.spec import SpecServices

if TYPE_CHECKING:
    import sys

    from clerk_async._redis_limit import RedisLimiter
    from clerk_async._transport import CallOptions
    from clerk_async.auth import APIKeyAuth, Auth, M2MAuth, OAuthAuth, RequestState, SessionAuth
    from clerk_async.auth._keys import RSAPublicKey
    from clerk_async.auth._request import HasHeaders
    from clerk_async.auth._types import (
        AcceptsAPIKeyOrOAuth,
        AcceptsM2MOrAPIKey,
        AcceptsM2MOrOAuth,
        AcceptsSessionOrAPIKey,
        AcceptsSessionOrM2M,
        AcceptsSessionOrOAuth,
        AcceptsToken,
        TokenType,
    )
    from clerk_async.auth._verifier import Authenticator
    from clerk_async.batch import Batch, BatchProgress
    from clerk_async.services.m2m import M2M
    from clerk_async.services.machines import Machines

    if sys.version_info >= (3, 11):
        from typing import Unpack
    else:
        from typing_extensions import Unpack

__all__ = ["API_VERSION", "DEFAULT_TIMEOUT", "Clerk"]

T = TypeVar("T")

API_VERSION: Final = "2026-05-12"
DEFAULT_API_URL: Final = "https://api.clerk.com"
# A CRUD API answers in well under a second; 30 s total per attempt leaves room for a
# slow day without hanging a worker, and connecting should never take more than 5 s.
DEFAULT_TIMEOUT: Final = aiohttp.ClientTimeout(total=30.0, sock_connect=5.0)
DEFAULT_DEADLINE: Final = 120.0
DEFAULT_MAX_CONNECTIONS: Final = 100
# Clerk's largest answers (a page of 500 users with their metadata) stay far below this; a
# body past it is a broken proxy or an attack (a gzip bomb), refused before it fills memory.
DEFAULT_MAX_RESPONSE_BYTES: Final = 16 * 1024 * 1024

USER_AGENT: Final = (
    f"clerk-async/{__version__} Python/{platform.python_version()} aiohttp/{aiohttp.__version__}"
)


class Clerk(SpecServices):
    """The async client for Clerk's Backend API. Use one per process and event loop.

    ``async with Clerk() as clerk:`` opens one aiohttp session (its connection pool) in
    the running loop and closes it on exit. The client is safe to share between the
    tasks of one event loop; it is not for other threads or loops.
    """

    def __init__(
        self,
        secret_key: str | None = None,
        *,
        base_url: str | URL | None = None,
        machine_secret_key: str | None = None,
        timeout: float | aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
        deadline: float = DEFAULT_DEADLINE,
        retry: RetryPolicy | None = None,
        max_retries: int | None = None,
        rate_limit: RateLimit | Literal["auto"] | None = "auto",
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        session: aiohttp.ClientSession | None = None,
        trace_configs: Iterable[aiohttp.TraceConfig] | None = None,
        default_headers: Mapping[str, str] | None = None,
        api_version: str = API_VERSION,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        jwt_key: str | None = None,
        hooks: Hooks | Sequence[Hooks] | None = None,
    ) -> None:
        if secret_key is None:
            secret_key = os.environ.get("CLERK_SECRET_KEY") or None
        _check_secret("secret_key", secret_key)
        _check_secret("machine_secret_key", machine_secret_key)
        # Parsed now: a bad key is a configuration error before any request.
        self._jwt_key = _jwt_key(jwt_key)
        self._base_url = _base_url(base_url)
        self._max_connections = _count("max_connections", max_connections)
        _count("max_response_bytes", max_response_bytes)
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise ClerkConfigError(
                "session", f"must be an aiohttp.ClientSession, got {describe(session)}"
            )
        traces = _trace_configs(trace_configs)
        policy = _retry_policy(retry, max_retries)
        self._rate_limit = _rate_limit(rate_limit, secret_key)
        self._key_hint = _key_hint(secret_key)
        self._machine_secret_key = machine_secret_key
        self._sessions = Sessions(
            timeout=as_timeout(timeout),
            max_connections=max_connections,
            injected=session,
            trace_configs=traces,
        )
        self._transport = Transport(
            base_url=self._base_url,
            headers=_headers(secret_key, api_version, default_headers),
            timeout=as_timeout(timeout),
            deadline=seconds("deadline", deadline),
            retry=policy,
            limiter=_limiter(self._rate_limit, secret_key, as_timeout(timeout)),
            sessions=self._sessions,
            missing_key=not secret_key,
            max_response_bytes=max_response_bytes,
            observers=Observers(check_hooks(hooks)),
        )
        configure_logging()  # CLERK_LOG=info|debug

    def __repr__(self) -> str:
        return f"<Clerk {self.base_url} key={self._key_hint} {self._sessions.state}>"

    # --- services ---------------------------------------------------------------------
    # Every other service of the Backend API (``clerk.users``, ``clerk.organizations``...)
    # comes from SpecServices, generated from the spec. These two subclass the generated
    # services with runtime extras the spec cannot say (update_many; M2M token sources).

    @cached_property
    def machines(self) -> Machines:
        from clerk_async.services.machines import Machines

        return Machines(self._transport)

    @cached_property
    def m2m(self) -> M2M:
        from clerk_async.services.m2m import M2M

        return M2M(self._transport, machine_secret_key=self._machine_secret_key)

    # --- authenticating requests ------------------------------------------------------

    @cached_property
    def with_raw_response(self) -> WithRawResponse:
        """The same services, their methods answering ``RawResponse`` (status, headers,
        trace id, attempts, timing and ``parse()``): ``clerk.with_raw_response.users.get(id)``."""
        return WithRawResponse(self)

    @cached_property
    def _authenticator(self) -> Authenticator:
        from clerk_async.auth._verifier import Authenticator

        return Authenticator(self, self._jwt_key)

    @overload
    async def verify_token(
        self,
        token: str,
        *,
        accepts_token: Literal["session_token"] = ...,
        authorized_parties: str | Iterable[str] | None = None,
        audience: str | Iterable[str] | None = None,
        clock_skew: float = 5.0,
    ) -> SessionAuth: ...

    @overload
    async def verify_token(
        self,
        token: str,
        *,
        accepts_token: Literal["m2m_token"],
        authorized_parties: str | Iterable[str] | None = None,
        audience: str | Iterable[str] | None = None,
        clock_skew: float = 5.0,
    ) -> M2MAuth: ...

    @overload
    async def verify_token(
        self,
        token: str,
        *,
        accepts_token: Literal["api_key"],
        authorized_parties: str | Iterable[str] | None = None,
        audience: str | Iterable[str] | None = None,
        clock_skew: float = 5.0,
    ) -> APIKeyAuth: ...

    @overload
    async def verify_token(
        self,
        token: str,
        *,
        accepts_token: Literal["oauth_token"],
        authorized_parties: str | Iterable[str] | None = None,
        audience: str | Iterable[str] | None = None,
        clock_skew: float = 5.0,
    ) -> OAuthAuth: ...

    @overload
    async def verify_token(
        self,
        token: str,
        *,
        accepts_token: AcceptsSessionOrM2M,
        authorized_parties: str | Iterable[str] | None = None,
        audience: str | Iterable[str] | None = None,
        clock_skew: float = 5.0,
    ) -> SessionAuth | M2MAuth: ...

    @overload
    async def verify_token(
        self,
        token: str,
        *,
        accepts_token: AcceptsSessionOrAPIKey,
        authorized_parties: str | Iterable[str] | None = None,
        audience: str | Iterable[str] | None = None,
        clock_skew: float = 5.0,
    ) -> SessionAuth | APIKeyAuth: ...

    @overload
    async def verify_token(
        self,
        token: str,
        *,
        accepts_token: AcceptsSessionOrOAuth,
        authorized_parties: str | Iterable[str] | None = None,
        audience: str | Iterable[str] | None = None,
        clock_skew: float = 5.0,
    ) -> SessionAuth | OAuthAuth: ...

    @overload
    async def verify_token(
        self,
        token: str,
        *,
        accepts_token: AcceptsM2MOrAPIKey,
        authorized_parties: str | Iterable[str] | None = None,
        audience: str | Iterable[str] | None = None,
        clock_skew: float = 5.0,
    ) -> M2MAuth | APIKeyAuth: ...

    @overload
    async def verify_token(
        self,
        token: str,
        *,
        accepts_token: AcceptsM2MOrOAuth,
        authorized_parties: str | Iterable[str] | None = None,
        audience: str | Iterable[str] | None = None,
        clock_skew: float = 5.0,
    ) -> M2MAuth | OAuthAuth: ...

    @overload
    async def verify_token(
        self,
        token: str,
        *,
        accepts_token: AcceptsAPIKeyOrOAuth,
        authorized_parties: str | Iterable[str] | None = None,
        audience: str | Iterable[str] | None = None,
        clock_skew: float = 5.0,
    ) -> APIKeyAuth | OAuthAuth: ...

    @overload
    async def verify_token(
        self,
        token: str,
        *,
        accepts_token: Literal["any"] | Sequence[TokenType],
        authorized_parties: str | Iterable[str] | None = None,
        audience: str | Iterable[str] | None = None,
        clock_skew: float = 5.0,
    ) -> Auth: ...

    async def verify_token(
        self,
        token: str,
        *,
        accepts_token: AcceptsToken = "session_token",
        authorized_parties: str | Iterable[str] | None = None,
        audience: str | Iterable[str] | None = None,
        clock_skew: float = 5.0,
    ) -> Auth:
        """Verify a token a request carried and say who sent it.

        Returns a ``SessionAuth``, ``M2MAuth``, ``APIKeyAuth`` or ``OAuthAuth`` (see
        ``clerk_async.auth``), or raises ``TokenVerificationError`` with the JS SDK's
        ``reason``. ``accepts_token``: one token type, a list of them, or ``"any"``
        (default: session tokens only). ``authorized_parties``: the origins a session
        token's ``azp`` may name. ``audience``: what the token's ``aud`` must contain.
        ``clock_skew``: seconds of leeway on ``exp``, ``nbf`` and ``iat``.
        """
        authenticator = self._authenticator
        options = authenticator.options(accepts_token, authorized_parties, audience, clock_skew)
        if tracing():
            return await traced("clerk.verify_token", authenticator.verify(token, options))
        return await authenticator.verify(token, options)

    @overload
    async def authenticate_request(
        self,
        request_or_headers: Mapping[str, str] | HasHeaders,
        *,
        accepts_token: Literal["session_token"] = ...,
        authorized_parties: str | Iterable[str] | None = None,
        audience: str | Iterable[str] | None = None,
        clock_skew: float = 5.0,
    ) -> RequestState[SessionAuth]: ...

    @overload
    async def authenticate_request(
        self,
        request_or_headers: Mapping[str, str] | HasHeaders,
        *,
        accepts_token: Literal["m2m_token"],
        authorized_parties: str | Iterable[str] | None = None,
        audience: str | Iterable[str] | None = None,
        clock_skew: float = 5.0,
    ) -> RequestState[M2MAuth]: ...

    @overload
    async def authenticate_request(
        self,
        request_or_headers: Mapping[str, str] | HasHeaders,
        *,
        accepts_token: Literal["api_key"],
        authorized_parties: str | Iterable[str] | None = None,
        audience: str | Iterable[str] | None = None,
        clock_skew: float = 5.0,
    ) -> RequestState[APIKeyAuth]: ...

    @overload
    async def authenticate_request(
        self,
        request_or_headers: Mapping[str, str] | HasHeaders,
        *,
        accepts_token: Literal["oauth_token"],
        authorized_parties: str | Iterable[str] | None = None,
        audience: str | Iterable[str] | None = None,
        clock_skew: float = 5.0,
    ) -> RequestState[OAuthAuth]: ...

    @overload
    async def authenticate_request(
        self,
        request_or_headers: Mapping[str, str] | HasHeaders,
        *,
        accepts_token: AcceptsSessionOrM2M,
        authorized_parties: str | Iterable[str] | None = None,
        audience: str | Iterable[str] | None = None,
        clock_skew: float = 5.0,
    ) -> RequestState[SessionAuth | M2MAuth]: ...

    @overload
    async def authenticate_request(
        self,
        request_or_headers: Mapping[str, str] | HasHeaders,
        *,
        accepts_token: AcceptsSessionOrAPIKey,
        authorized_parties: str | Iterable[str] | None = None,
        audience: str | Iterable[str] | None = None,
        clock_skew: float = 5.0,
    ) -> RequestState[SessionAuth | APIKeyAuth]: ...

    @overload
    async def authenticate_request(
        self,
        request_or_headers: Mapping[str, str] | HasHeaders,
        *,
        accepts_token: AcceptsSessionOrOAuth,
        authorized_parties: str | Iterable[str] | None = None,
        audience: str | Iterable[str] | None = None,
        clock_skew: float = 5.0,
    ) -> RequestState[SessionAuth | OAuthAuth]: ...

    @overload
    async def authenticate_request(
        self,
        request_or_headers: Mapping[str, str] | HasHeaders,
        *,
        accepts_token: AcceptsM2MOrAPIKey,
        authorized_parties: str | Iterable[str] | None = None,
        audience: str | Iterable[str] | None = None,
        clock_skew: float = 5.0,
    ) -> RequestState[M2MAuth | APIKeyAuth]: ...

    @overload
    async def authenticate_request(
        self,
        request_or_headers: Mapping[str, str] | HasHeaders,
        *,
        accepts_token: AcceptsM2MOrOAuth,
        authorized_parties: str | Iterable[str] | None = None,
        audience: str | Iterable[str] | None = None,
        clock_skew: float = 5.0,
    ) -> RequestState[M2MAuth | OAuthAuth]: ...

    @overload
    async def authenticate_request(
        self,
        request_or_headers: Mapping[str, str] | HasHeaders,
        *,
        accepts_token: AcceptsAPIKeyOrOAuth,
        authorized_parties: str | Iterable[str] | None = None,
        audience: str | Iterable[str] | None = None,
        clock_skew: float = 5.0,
    ) -> RequestState[APIKeyAuth | OAuthAuth]: ...

    @overload
    async def authenticate_request(
        self,
        request_or_headers: Mapping[str, str] | HasHeaders,
        *,
        accepts_token: Literal["any"] | Sequence[TokenType],
        authorized_parties: str | Iterable[str] | None = None,
        audience: str | Iterable[str] | None = None,
        clock_skew: float = 5.0,
    ) -> RequestState[Auth]: ...

    async def authenticate_request(
        self,
        request_or_headers: Mapping[str, str] | HasHeaders,
        *,
        accepts_token: AcceptsToken = "session_token",
        authorized_parties: str | Iterable[str] | None = None,
        audience: str | Iterable[str] | None = None,
        clock_skew: float = 5.0,
    ) -> RequestState:
        """Authenticate a request by its headers: the request object of a web framework
        (Starlette/FastAPI, aiohttp, Django, Flask/Werkzeug, Litestar, Quart: only its
        ``headers`` are read) or any mapping of headers.

        The token comes from ``Authorization: Bearer``, else (session tokens only) from the
        ``__session`` cookie. Never raises for a missing or bad token: the ``RequestState``
        says ``is_authenticated`` and, if not, the ``reason``. Options as
        ``verify_token``.
        """
        authenticator = self._authenticator
        options = authenticator.options(accepts_token, authorized_parties, audience, clock_skew)
        headers = authenticator.request_headers(request_or_headers)
        if tracing():
            return await traced(
                "clerk.authenticate_request", authenticator.authenticate(headers, options)
            )
        return await authenticator.authenticate(headers, options)

    # --- many calls ---------------------------------------------------------------------

    def batch(
        self,
        operation: Callable[..., Awaitable[T]],
        inputs: Iterable[Any] | AsyncIterable[Any],
        *,
        concurrency: int = 32,
        fail_fast: bool = False,
        on_progress: Callable[[BatchProgress], None] | None = None,
        **options: Unpack[CallOptions],
    ) -> Batch[T]:
        """Run ``operation`` (``clerk.users.update_metadata``...) once per input, concurrently.

        See ``clerk_async.batch.run_batch``: inputs are ids, params, mappings or
        ``(id, fields)`` pairs, read lazily; ``async for`` yields each ``BatchResult`` as it
        completes, with a typed error for an input that failed.
        """
        from clerk_async.batch import run_batch

        return run_batch(
            operation,
            inputs,
            concurrency=concurrency,
            fail_fast=fail_fast,
            on_progress=on_progress,
            options=options,
        )

    # --- the escape hatch ---------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        json: Any = None,
        **options: Unpack[CallOptions],
    ) -> Any:
        """Call an endpoint newer than this client's spec; answers the decoded JSON.

        ``await clerk.request("GET", "/users", query={"user_id": ["user_1", "user_2"]})``.
        ``path`` hangs from ``base_url`` and may not leave it; lists in ``query`` go out
        as repeated keys. The call takes the same path as every other: pacing, retries by
        the method's safety (POST is not retried once sent), deadline and typed errors.
        """
        prepared = prepare_raw(method, path, query=query, json=json)
        return await self._transport.send(prepared, options)

    # --- lifecycle --------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The root the spec's paths hang from, e.g. ``https://api.clerk.com/v1``."""
        return self._base_url

    @property
    def has_secret_key(self) -> bool:
        """Whether a secret key was given or found in ``CLERK_SECRET_KEY`` (never the key)."""
        return not self._transport.missing_key

    @property
    def rate_limit(self) -> RateLimit | None:
        """The limit this client paces itself to (None: no pacing)."""
        return self._rate_limit

    @property
    def max_connections(self) -> int:
        return self._max_connections

    @property
    def closed(self) -> bool:
        return self._sessions.closed

    @property
    def retry(self) -> RetryPolicy:
        return self._transport.retry

    async def __aenter__(self) -> Clerk:
        self._sessions.get()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the session this client opened (never an injected one). Idempotent."""
        if self._sessions.closed:
            return
        await self._sessions.aclose()
        limiter = self._transport.limiter
        if not isinstance(limiter, Limiter):  # the Redis one: its connections
            await limiter.aclose()


def base_url_from_api_url(api_url: str, name: str) -> str:
    """``base_url`` from Clerk's ``CLERK_API_URL`` convention: the API's root, without /v1.

    A root ending in ``/v1`` is refused rather than silently fixed: the same value means
    two things in ``base_url=`` and ``CLERK_API_URL``, and a guess would hide which one the
    user meant. ``name`` is where the value came from, for the message.
    """
    root = api_url.rstrip("/")
    if root.endswith("/v1"):
        instead = f", or pass base_url={root!r} instead" if name == "CLERK_API_URL" else ""
        raise ClerkConfigError(
            name,
            f"{name} is the API's root without /v1 (the client adds /v1, as Clerk's SDKs do): "
            f"write {root.removesuffix('/v1') or '/'!r}{instead}",
        )
    return root + "/v1"


def _limiter(
    limit: RateLimit | None, secret_key: str | None, timeout: aiohttp.ClientTimeout
) -> Limiter | RedisLimiter:
    """The local limiter, or with ``limit.redis_url`` the one shared through Redis."""
    if limit is None or limit.redis_url is None or not secret_key:
        return Limiter(limit)
    try:
        from clerk_async._redis_limit import RedisLimiter
    except ImportError:
        raise ClerkConfigError(
            "rate_limit", "redis_url needs redis-py: pip install 'clerk-async[redis]'"
        ) from None
    # A slot in flight longer than an attempt can last belongs to a process that died.
    return RedisLimiter(limit, secret_key, lease=timeout.total or DEFAULT_TIMEOUT.total or 30.0)


def _check_secret(name: str, value: object) -> None:
    """A key given (or read from the environment) must be sendable as ``Bearer <key>``."""
    if value is not None and value != "":  # "" is no key, as when the variable is unset
        problem = secret_problem(value)
        if problem is not None:
            raise ClerkConfigError(name, problem)


def _key_hint(secret_key: str | None) -> str:
    """Enough of the key to tell which one is in use, never the secret part."""
    if not secret_key:
        return "<none>"
    prefix = secret_key.split("_", 2)
    return "_".join(prefix[:2]) + "_***" if len(prefix) == 3 else "***"


# --- configuration: each option checked, with a message naming it --------------------------


def _jwt_key(jwt_key: str | None) -> RSAPublicKey | None:
    """The PEM public key for networkless verification (or ``CLERK_JWT_KEY``), parsed."""
    if jwt_key is None:
        jwt_key = os.environ.get("CLERK_JWT_KEY") or None
    if jwt_key is None:
        return None
    from clerk_async.auth._keys import parse_pem

    return parse_pem(jwt_key)


def _base_url(base_url: str | URL | None) -> str:
    """The absolute http(s) root the spec's paths hang from, without a trailing slash."""
    if base_url is None:
        base_url = base_url_from_api_url(
            os.environ.get("CLERK_API_URL") or DEFAULT_API_URL, "CLERK_API_URL"
        )
    try:
        url = URL(str(base_url))
    except ValueError:  # yarl: "http://[::1", a bad port...
        url = URL()
    if not url.is_absolute() or url.scheme not in ("http", "https"):
        raise ClerkConfigError(
            "base_url", f"must be an absolute http(s) URL, got {describe(base_url)}"
        )
    return str(url).rstrip("/")


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ClerkConfigError(name, f"must be an integer >= 1, got {describe(value)}")
    return value


def _trace_configs(trace_configs: Any) -> list[aiohttp.TraceConfig]:
    try:
        traces: list[object] = list(trace_configs or ())
    except TypeError:  # not iterable
        traces = [trace_configs]
    if not all(isinstance(t, aiohttp.TraceConfig) for t in traces):
        raise ClerkConfigError("trace_configs", "must be aiohttp.TraceConfig objects")
    return [t for t in traces if isinstance(t, aiohttp.TraceConfig)]


def _retry_policy(retry: Any, max_retries: int | None) -> RetryPolicy:
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise ClerkConfigError("retry", f"must be a RetryPolicy, got {describe(retry)}")
    policy = retry if retry is not None else RetryPolicy()
    if max_retries is not None:
        policy = attrs.evolve(policy, max_retries=retry_count("max_retries", max_retries))
    return policy


def _rate_limit(rate_limit: Any, secret_key: str | None) -> RateLimit | None:
    if rate_limit == "auto":
        return default_rate_limit(secret_key)
    if rate_limit is not None and not isinstance(rate_limit, RateLimit):
        raise ClerkConfigError(
            "rate_limit", f"must be a RateLimit, None or 'auto', got {describe(rate_limit)}"
        )
    return rate_limit


def _headers(
    secret_key: str | None, api_version: str, default_headers: Mapping[str, str] | None
) -> dict[str, str]:
    """The headers of every request, computed once (they carry the secret key)."""
    extra = default_headers or {}
    if not isinstance(extra, Mapping):
        raise ClerkConfigError("default_headers", "must be a mapping of str to str")
    for name, value in (("Clerk-API-Version", api_version), *extra.items()):
        problem = header_problem(name, value)
        if problem is not None:
            field = "api_version" if name == "Clerk-API-Version" else "default_headers"
            raise ClerkConfigError(field, problem)
    headers = {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "Clerk-API-Version": api_version,
        "User-Agent": USER_AGENT,
        **extra,
    }
    if secret_key:
        headers["Authorization"] = f"Bearer {secret_key}"
    return headers
