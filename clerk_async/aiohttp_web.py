"""aiohttp.web: a middleware that authenticates every request, and a handler decorator.

Usage:

    from aiohttp import web
    from clerk_async.aiohttp_web import request_auth, require_auth, setup

    @require_auth(role="org:admin")
    async def admin(request: web.Request) -> web.Response:
        return web.json_response({"user_id": request_auth(request).user_id})

    app = web.Application()
    setup(app, accepts_token="any")  # the client, its life and the middleware
    app.router.add_get("/admin", admin)

``setup`` opens one ``Clerk`` when the app starts (in its loop,
through ``cleanup_ctx``), closes it when the app stops, keeps it at ``app[CLERK]``, and
adds the middleware that puts each request's ``RequestState`` at
``request[AUTH_STATE]``. ``require_auth`` answers 401 (``WWW-Authenticate: Bearer
error="invalid_token"``) or 403 (``insufficient_scope``), a JSON ``{"detail": ...}`` with
nothing about the token; its ``accepts_token`` narrows the middleware's.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web

from clerk_async.auth._guard import UNAUTHORIZED, Denial, requirement
from clerk_async.auth._types import AcceptsToken, Auth, RequestState, Reverification
from clerk_async.client import Clerk
from clerk_async.errors import ClientStateError

__all__ = ["AUTH_STATE", "CLERK", "request_auth", "request_state", "require_auth", "setup"]

CLERK = web.AppKey("clerk", Clerk)
# request[AUTH_STATE]: the RequestState (a typed RequestKey since aiohttp 3.14).
AUTH_STATE: Any = (
    web.RequestKey("clerk_auth", RequestState) if hasattr(web, "RequestKey") else "clerk_auth"
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def setup(
    app: web.Application,
    *,
    accepts_token: AcceptsToken = "session_token",
    authorized_parties: str | Iterable[str] | None = None,
    audience: str | Iterable[str] | None = None,
    clock_skew: float = 5.0,
    **clerk_options: Any,
) -> None:
    """Give ``app`` a Clerk client and authenticate each of its requests.

    ``accepts_token``, ``authorized_parties``, ``audience``, ``clock_skew``: as
    ``Clerk.verify_token``; ``clerk_options``: ``Clerk(...)``'s keywords (unset ones
    from ``CLERK_SECRET_KEY``, ``CLERK_JWT_KEY``, ``CLERK_API_URL``).
    """
    options = requirement(
        accepts_token,
        authorized_parties=authorized_parties,
        audience=audience,
        clock_skew=clock_skew,
    ).options
    Clerk(**clerk_options)  # a bad configuration fails here, not when the app starts

    async def clerk_context(app: web.Application) -> AsyncIterator[None]:
        async with Clerk(**clerk_options) as clerk:
            app[CLERK] = clerk
            yield

    @web.middleware
    async def clerk_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        clerk = request.app[CLERK]
        request[AUTH_STATE] = await clerk._authenticator.authenticate(request.headers, options)
        return await handler(request)

    app.cleanup_ctx.append(clerk_context)
    app.middlewares.append(clerk_middleware)


def request_state(request: web.Request) -> RequestState:
    """The request's ``RequestState``, as the middleware of ``setup`` found it."""
    state = request.get(AUTH_STATE)
    if not isinstance(state, RequestState):
        raise ClientStateError(
            "no Clerk auth state on this request: call clerk_async.aiohttp_web.setup(app)"
        )
    return state


def request_auth(request: web.Request) -> Auth:
    """The auth object of a request that ``require_auth`` let through."""
    auth = request_state(request).auth
    if auth is None:
        raise _response(UNAUTHORIZED)
    return auth


def require_auth(
    accepts_token: AcceptsToken = "any",
    scopes: str | Iterable[str] | None = None,
    *,
    role: str | None = None,
    permission: str | None = None,
    feature: str | None = None,
    plan: str | None = None,
    reverification: Reverification | None = None,
) -> Callable[[Handler], Handler]:
    """A handler decorator: the request must be authenticated (by ``setup``) and allowed.

    ``accepts_token`` narrows the middleware's (``"any"``: whatever it verified); ``scopes``
    and the ``has()`` checks (``role``...) as ``require_auth`` of FastAPI.
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

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def protected(request: web.Request) -> web.StreamResponse:
            denial = required.deny(request_state(request), request.path)
            if denial is not None:
                raise _response(denial)
            return await handler(request)

        return protected

    return decorate


_ERRORS: dict[int, type[web.HTTPException]] = {
    401: web.HTTPUnauthorized,
    403: web.HTTPForbidden,
    500: web.HTTPInternalServerError,
    503: web.HTTPServiceUnavailable,
}


def _response(denial: Denial) -> web.HTTPException:
    return _ERRORS[denial.status](
        headers=denial.headers, text=json.dumps(denial.body), content_type="application/json"
    )
