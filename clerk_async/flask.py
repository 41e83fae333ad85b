"""Flask: an extension (``init_app``) and a ``@require_auth(...)`` view decorator.

Install with ``pip install 'clerk-async[flask]'``.:

    from flask import Flask, g
    from clerk_async.flask import ClerkAuth, require_auth

    clerk_auth = ClerkAuth()            # or ClerkAuth(app, jwt_key=..., authorized_parties=[...])

    def create_app() -> Flask:
        app = Flask(__name__)
        clerk_auth.init_app(app)
        return app

    @bp.get("/invoices")
    @require_auth(permission="org:invoices:read")
    def invoices():
        return {"user_id": g.auth.user_id}

- ``ClerkAuth``'s keywords are ``Clerk(...)``'s (``secret_key``, ``jwt_key``,
  ``base_url``...) and the app's verification options (``accepts_token``,
  ``authorized_parties``, ``audience``, ``clock_skew``). Unset, the client's come from
  ``app.config`` (``CLERK_SECRET_KEY``, ``CLERK_JWT_KEY``), then the environment
  (``CLERK_SECRET_KEY``, ``CLERK_JWT_KEY``, ``CLERK_API_URL``).
- ``require_auth`` answers 401 (``WWW-Authenticate: Bearer error="invalid_token"``) or
  403 (``insufficient_scope``, a failed ``scopes``/``has()`` check), a JSON
  ``{"detail": ...}`` with nothing about the token; else sets ``g.auth`` (the auth object)
  and ``g.auth_state`` and runs the view (sync or async).
- ``authenticate`` gives the current request's ``RequestState``
  for views where signing in is optional.

Verification needs no event loop: a JWT is checked in the request's thread (networkless
with ``jwt_key``, or against the cached JWKS); only fetching the JWKS and opaque machine
tokens go to Clerk, from a private loop thread.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

try:
    from flask import Flask, Response, current_app, g, jsonify, request
except ImportError as exc:  # pragma: no cover - exercised in a subprocess
    raise ImportError("clerk_async.flask needs Flask: pip install 'clerk-async[flask]'") from exc

from clerk_async.auth._guard import Denial, Requirement, requirement
from clerk_async.auth._sync import SyncAuthenticator
from clerk_async.auth._types import AcceptsToken, RequestState, Reverification
from clerk_async.errors import ClientStateError

__all__ = ["EXTENSION", "ClerkAuth", "authenticate", "require_auth"]

EXTENSION = "clerk_async"  # app.extensions[EXTENSION]: the app's ClerkAuth state
V = TypeVar("V", bound=Callable[..., Any])
_VERIFY_OPTIONS = ("authorized_parties", "audience", "clock_skew")
_FROM_CONFIG = {"secret_key": "CLERK_SECRET_KEY", "jwt_key": "CLERK_JWT_KEY"}


class _AppAuth:
    """One app's authenticator and verification options."""

    def __init__(self, authenticator: SyncAuthenticator, verify: Mapping[str, Any], accepts: Any):
        self.authenticator = authenticator
        self.verify = verify
        self.requirement = requirement(accepts, **verify)
        self._routes: dict[object, Requirement] = {}

    def route(self, key: object, checks: Mapping[str, Any]) -> Requirement:
        found = self._routes.get(key)
        if found is None:
            found = self._routes[key] = requirement(**checks, **self.verify)
        return found


class ClerkAuth:
    """The extension: ``ClerkAuth(app, **options)`` or ``ClerkAuth(**options).init_app(app)``."""

    def __init__(self, app: Flask | None = None, **options: Any) -> None:
        self._options = options
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        options = dict(self._options)
        accepts = options.pop("accepts_token", "session_token")
        verify = {name: options.pop(name) for name in _VERIFY_OPTIONS if name in options}
        for name, key in _FROM_CONFIG.items():
            if name not in options and app.config.get(key):
                options[name] = app.config[key]
        # The client is made now: a bad configuration fails when the app is created.
        app.extensions[EXTENSION] = _AppAuth(SyncAuthenticator(**options), verify, accepts)

    @staticmethod
    def close(app: Flask) -> None:
        """Close the app's client and its loop thread (tests; a process exit needs nothing)."""
        found = app.extensions.pop(EXTENSION, None)
        if isinstance(found, _AppAuth):
            found.authenticator.close()


def _app_auth() -> _AppAuth:
    found = current_app.extensions.get(EXTENSION)
    if not isinstance(found, _AppAuth):
        raise ClientStateError("no Clerk auth on this app: call ClerkAuth().init_app(app)")
    return found


def authenticate() -> RequestState:
    """The current request's state, with the app's options (cached for the request)."""
    found = g.get("auth_state")
    if isinstance(found, RequestState):
        return found
    app_auth = _app_auth()
    state = app_auth.authenticator.authenticate(request, app_auth.requirement)
    g.auth_state = state
    g.auth = state.auth
    return state


def require_auth(
    accepts_token: AcceptsToken = "session_token",
    scopes: str | Iterable[str] | None = None,
    *,
    role: str | None = None,
    permission: str | None = None,
    feature: str | None = None,
    plan: str | None = None,
    reverification: Reverification | None = None,
) -> Callable[[V], V]:
    """A view decorator: the request must carry an accepted, allowed token.

    ``accepts_token``, ``scopes`` and the ``has()`` checks as FastAPI's ``require_auth``;
    the app's ``authorized_parties``, ``audience`` and ``clock_skew`` apply.
    """
    checks: dict[str, Any] = {
        "accepts_token": accepts_token,
        "scopes": scopes,
        "role": role,
        "permission": permission,
        "feature": feature,
        "plan": plan,
        "reverification": reverification,
    }
    requirement(**checks)  # checked now, when the view is defined
    key = object()

    def decorate(view: V) -> V:
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def protected_async(*args: Any, **kwargs: Any) -> Any:
                app_auth = _app_auth()
                required = app_auth.route(key, checks)
                state = await app_auth.authenticator.authenticate_async(request, required)
                denial = _admit(required, state)
                if denial is not None:
                    return denial
                return await view(*args, **kwargs)

            return protected_async  # type: ignore[return-value]

        @functools.wraps(view)
        def protected(*args: Any, **kwargs: Any) -> Any:
            app_auth = _app_auth()
            required = app_auth.route(key, checks)
            state = app_auth.authenticator.authenticate(request, required)
            denial = _admit(required, state)
            if denial is not None:
                return denial
            return view(*args, **kwargs)

        return protected  # type: ignore[return-value]

    return decorate


def _admit(required: Requirement, state: RequestState) -> Response | None:
    denial = required.deny(state, request.path)
    if denial is not None:
        return _response(denial)
    g.auth_state = state
    g.auth = state.auth
    return None


def _response(denial: Denial) -> Response:
    response = jsonify(denial.body)
    response.status_code = denial.status
    response.headers.update(denial.headers)
    return response
