"""A Litestar service with ``clerk_async.litestar``: a plugin and guards.

    GET /me          any signed-in user, with their name from Clerk's Backend API
    GET /invoices    members with the org:invoices:read permission (403 for the others)
    GET /internal    other services' M2M tokens, scoped to this service's machine

Configured from the environment (``CLERK_SECRET_KEY``, ``CLERK_JWT_KEY``, and
``SERVICE_MACHINE_ID`` for /internal)::

    uvicorn litestar_app:app --app-dir examples
"""

import os
from typing import Any

from litestar import Litestar, Request, get

from clerk_async import Clerk
from clerk_async.asgi import SCOPE_CLERK
from clerk_async.auth import M2MAuth, SessionAuth
from clerk_async.litestar import ClerkPlugin, clerk_guard, request_auth

SERVICE = os.environ.get("SERVICE_MACHINE_ID", "mch_this_service")


@get("/me", guards=[clerk_guard("session_token")])
async def me(request: Request[Any, Any, Any]) -> dict[str, Any]:
    auth = request_auth(request)
    assert isinstance(auth, SessionAuth)
    clerk: Clerk = request.scope[SCOPE_CLERK]  # type: ignore[literal-required]
    user = await clerk.users.get(auth.user_id)
    return {"user_id": auth.user_id, "first_name": user.first_name}


@get("/invoices", guards=[clerk_guard(permission="org:invoices:read")])
async def invoices(request: Request[Any, Any, Any]) -> dict[str, Any]:
    auth = request_auth(request)
    assert isinstance(auth, SessionAuth)
    return {"org_id": auth.org_id, "invoices": []}


@get("/internal", guards=[clerk_guard("m2m_token", scopes=SERVICE)])
async def internal(request: Request[Any, Any, Any]) -> dict[str, Any]:
    auth = request_auth(request)
    assert isinstance(auth, M2MAuth)
    return {"called_by": auth.machine_id}


def create_app(**clerk_options: Any) -> Litestar:
    """The app; ``clerk_options`` are ``Clerk(...)``'s (default: the environment)."""
    plugin = ClerkPlugin(accepts_token=["session_token", "m2m_token"], **clerk_options)
    return Litestar([me, invoices, internal], plugins=[plugin])


if __name__ != "__main__":
    app = create_app()
