"""A Starlette service behind ``clerk_async.asgi.ClerkMiddleware``.

    GET /me      the signed-in user, with their name from Clerk's Backend API (401 without)
    GET /admin   organization admins only (403 for other members)

Configured from the environment (``CLERK_SECRET_KEY``; ``CLERK_JWT_KEY`` to verify session
tokens networkless)::

    uvicorn starlette_app:app --app-dir examples

The same middleware runs under Quart (``app.asgi_app = ClerkMiddleware(app.asgi_app)``)
and Django under ASGI (``ClerkMiddleware(get_asgi_application())``).
"""

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from clerk_async import Clerk
from clerk_async.asgi import SCOPE_CLERK, ClerkMiddleware, auth_state
from clerk_async.auth import SessionAuth


async def me(request: Request) -> JSONResponse:
    auth = auth_state(request).auth  # required=True: never None here
    assert isinstance(auth, SessionAuth)
    clerk: Clerk = request.scope[SCOPE_CLERK]  # the middleware's client, in this loop
    user = await clerk.users.get(auth.user_id)
    return JSONResponse({"user_id": auth.user_id, "first_name": user.first_name})


async def admin(request: Request) -> JSONResponse:
    state = auth_state(request)
    if not state.has(role="org:admin"):
        return JSONResponse({"detail": "Forbidden"}, status_code=403)
    return JSONResponse({"org_id": getattr(state.auth, "org_id", None)})


def create_app(**clerk_options: Any) -> ClerkMiddleware:
    """The app; ``clerk_options`` are ``Clerk(...)``'s (default: the environment)."""
    routes = [Route("/me", me), Route("/admin", admin)]
    return ClerkMiddleware(Starlette(routes=routes), required=True, **clerk_options)


if __name__ != "__main__":  # imported by uvicorn: configured from the environment
    app = create_app()
