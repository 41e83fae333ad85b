"""Litestar: a plugin that authenticates every request, and guards that authorize.

Install with ``pip install 'clerk-async[litestar]'``.:

    from litestar import Litestar, Request, get
    from clerk_async.litestar import ClerkPlugin, clerk_guard, request_auth

    @get("/invoices", guards=[clerk_guard(permission="org:invoices:read")])
    async def invoices(request: Request) -> dict[str, str]:
        auth = request_auth(request)  # the SessionAuth (or M2MAuth...) that passed
        return {"user_id": auth.user_id}

    app = Litestar([invoices], plugins=[ClerkPlugin(accepts_token="any")])

``ClerkPlugin`` adds ``ClerkMiddleware`` with one
``Clerk`` for the app (closed on shutdown), so every route handler's
request carries its ``RequestState``. The plugin's
``accepts_token`` says which tokens are verified at all; a guard's may narrow it. A guard
refuses with 401 (``NotAuthorizedException``, ``WWW-Authenticate: Bearer
error="invalid_token"``) or 403 (``PermissionDeniedException``, ``insufficient_scope``),
with nothing about the token in the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

try:
    from litestar.config.app import AppConfig
    from litestar.connection import ASGIConnection
    from litestar.exceptions import (
        HTTPException,
        NotAuthorizedException,
        PermissionDeniedException,
    )
    from litestar.handlers.base import BaseRouteHandler
    from litestar.middleware import DefineMiddleware
    from litestar.plugins import InitPluginProtocol
except ImportError as exc:  # pragma: no cover - exercised in a subprocess
    raise ImportError(
        "clerk_async.litestar needs Litestar: pip install 'clerk-async[litestar]'"
    ) from exc

from clerk_async.asgi import ClerkMiddleware, auth_state
from clerk_async.auth._guard import requirement
from clerk_async.client import Clerk

if TYPE_CHECKING:
    from clerk_async.auth._types import AcceptsToken, Auth, Reverification

__all__ = ["ClerkPlugin", "clerk_guard", "request_auth"]

Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]


class ClerkPlugin(InitPluginProtocol):
    """Authenticate every request of the app (see the module's docstring).

    ``accepts_token``, ``authorized_parties``, ``audience``, ``clock_skew``: as
    ``Clerk.verify_token``; ``clerk_options``: ``Clerk(...)``'s keywords (unset ones
    from ``CLERK_SECRET_KEY``, ``CLERK_JWT_KEY``, ``CLERK_API_URL``).
    """

    def __init__(
        self,
        *,
        accepts_token: AcceptsToken = "session_token",
        authorized_parties: str | Iterable[str] | None = None,
        audience: str | Iterable[str] | None = None,
        clock_skew: float = 5.0,
        **clerk_options: Any,
    ) -> None:
        self.clerk = Clerk(**clerk_options)
        self._middleware = DefineMiddleware(
            ClerkMiddleware,  # type: ignore[arg-type]  # a pure ASGI app, typed loosely
            accepts_token=accepts_token,
            authorized_parties=authorized_parties,
            audience=audience,
            clock_skew=clock_skew,
            clerk=self.clerk,
        )

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.middleware.append(self._middleware)
        app_config.on_shutdown.append(self._close)
        return app_config

    async def _close(self) -> None:
        await self.clerk.aclose()


def clerk_guard(
    accepts_token: AcceptsToken = "any",
    scopes: str | Iterable[str] | None = None,
    *,
    role: str | None = None,
    permission: str | None = None,
    feature: str | None = None,
    plan: str | None = None,
    reverification: Reverification | None = None,
) -> Guard:
    """A guard: the request must be authenticated (by ``ClerkPlugin``) and allowed.

    ``accepts_token`` narrows the plugin's (``"any"``: whatever it verified). ``scopes``
    and the ``has()`` checks (``role``...) as ``require_auth``.
    """
    required = requirement(
        accepts_token,
        scopes,
        role=role,
        permission=permission,
        feature=feature,
        plan=plan,
        reverification=reverification,
    )

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        denial = required.deny(auth_state(connection.scope), connection.url.path)
        if denial is None:
            return
        headers = dict(denial.headers)
        if denial.status == 401:
            raise NotAuthorizedException(detail=denial.detail, headers=headers)
        if denial.status == 403:
            raise PermissionDeniedException(detail=denial.detail, headers=headers)
        raise HTTPException(status_code=denial.status, detail=denial.detail)

    return guard


def request_auth(connection: ASGIConnection[Any, Any, Any, Any]) -> Auth:
    """The auth object of a request a ``clerk_guard`` let through."""
    auth = auth_state(connection.scope).auth
    if auth is None:
        raise NotAuthorizedException(
            detail="Unauthorized", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )
    return auth
