"""A Flask app with ``clerk_async.flask``: the extension and ``@require_auth``.

    GET /me        any signed-in user (their session, from the token alone)
    GET /export    users on the "pro" plan with the "export" feature (403 for the others)
    GET /admin     organization admins only

Configured from ``app.config`` or the environment (``CLERK_SECRET_KEY``, ``CLERK_JWT_KEY``;
with the JWT key no request leaves the app to verify a session)::

    flask --app examples/flask_app.py run
"""

from typing import Any

from flask import Flask, g

from clerk_async.flask import ClerkAuth, require_auth

clerk_auth = ClerkAuth()


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

    @app.get("/admin")
    @require_auth(role="org:admin")
    async def admin() -> dict[str, Any]:  # async views work too (flask[async])
        return {"org_id": g.auth.org_id}

    return app
