"""A Flask app with ``clerk_async.flask``: the extension and ``@require_auth``.

    GET /me        any signed-in user (their session, from the token alone)
    GET /export    users on the "pro" plan with the "export" feature (403 for the others)
    GET /admin     organization admins only
    GET /profile   the signed-in user's profile, from Clerk's API (``clerk_async.sync.Clerk``)

Configured from ``app.config`` or the environment (``CLERK_SECRET_KEY``, ``CLERK_JWT_KEY``;
with the JWT key no request leaves the app to verify a session)::

    flask --app examples/flask_app.py run
"""

from typing import Any

from flask import Flask, current_app, g

from clerk_async.flask import ClerkAuth, require_auth
from clerk_async.sync import Clerk

clerk_auth = ClerkAuth()


def clerk() -> Clerk:
    """The app's ``clerk_async.sync.Clerk``: the one ``ClerkAuth`` verifies with (its
    configuration, one private loop thread), for views that call Clerk's API."""
    return current_app.extensions["clerk_async"].authenticator.sync_client  # type: ignore[no-any-return]


def create_app(config: dict[str, Any] | None = None, **clerk_options: Any) -> Flask:
    """The app; ``clerk_options`` are ``ClerkAuth``'s (``Clerk(...)``'s and verification's)."""
    app = Flask(__name__)
    app.config.update(config or {})
    if clerk_options:
        ClerkAuth(app, **clerk_options)
    else:
        clerk_auth.init_app(app)

    @app.get("/me")
    @require_auth()
    def me() -> dict[str, Any]:
        return {"user_id": g.auth.user_id, "org_id": g.auth.org_id}

    @app.get("/export")
    @require_auth(plan="pro", feature="export")
    def export() -> dict[str, Any]:
        return {"user_id": g.auth.user_id, "rows": []}

    @app.get("/profile")
    @require_auth()
    def profile() -> dict[str, Any]:
        user = clerk().users.get(g.auth.user_id)
        return {"first_name": user.first_name, "emails": len(user.email_addresses)}

    @app.get("/admin")
    @require_auth(role="org:admin")
    async def admin() -> dict[str, Any]:  # async views work too (flask[async])
        return {"org_id": g.auth.org_id}

    return app
