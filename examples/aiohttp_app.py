"""An aiohttp.web service with ``clerk_async.aiohttp_web``: a middleware and a decorator.

    GET /me      any signed-in user, with their name from Clerk's Backend API
    GET /admin   organization admins only (403 for other members)
    GET /keys    API keys with the read:reports scope

Configured from the environment (``CLERK_SECRET_KEY``; ``CLERK_JWT_KEY`` optional)::

    python examples/aiohttp_app.py --port 8080
"""

import argparse
from typing import Any

from aiohttp import web

from clerk_async.aiohttp_web import CLERK, request_auth, require_auth, setup
from clerk_async.auth import APIKeyAuth, SessionAuth


@require_auth("session_token")
async def me(request: web.Request) -> web.Response:
    auth = request_auth(request)
    assert isinstance(auth, SessionAuth)
    user = await request.app[CLERK].users.get(auth.user_id)
    return web.json_response({"user_id": auth.user_id, "first_name": user.first_name})


@require_auth(role="org:admin")
async def admin(request: web.Request) -> web.Response:
    auth = request_auth(request)
    assert isinstance(auth, SessionAuth)
    return web.json_response({"org_id": auth.org_id})


@require_auth("api_key", scopes="read:reports")
async def keys(request: web.Request) -> web.Response:
    auth = request_auth(request)
    assert isinstance(auth, APIKeyAuth)
    return web.json_response({"key": auth.name, "subject": auth.subject})


def create_app(**clerk_options: Any) -> web.Application:
    """The app; ``clerk_options`` are ``Clerk(...)``'s (default: the environment)."""
    app = web.Application()
    setup(app, accepts_token=["session_token", "api_key"], **clerk_options)
    app.router.add_get("/me", me)
    app.router.add_get("/admin", admin)
    app.router.add_get("/keys", keys)
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080)
    web.run_app(create_app(), port=parser.parse_args().port)
