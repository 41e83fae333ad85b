"""Django: a middleware (``request.auth``), a view decorator, and the site's configuration.

Install with ``pip install 'clerk-async[django]'``. In ``settings.py``:

    MIDDLEWARE = [..., "clerk_async.django.ClerkMiddleware"]   # optional: request.auth everywhere
    CLERK = {                                                  # optional: else the environment
        "jwt_key": "-----BEGIN PUBLIC KEY-----...",            # any Clerk(...) keyword
        "authorized_parties": ["https://app.example.com"],     # verify_token's options
    }

In views (sync or async):

    from clerk_async.django import require_auth

    @require_auth(permission="org:invoices:read")
    def invoices(request):
        return JsonResponse({"user_id": request.auth.user_id})

- ``CLERK`` holds ``Clerk(...)``'s keywords (``secret_key``, ``jwt_key``, ``base_url``...;
  unset ones come from ``CLERK_SECRET_KEY``, ``CLERK_JWT_KEY``, ``CLERK_API_URL``) and the
  site's verification options: ``accepts_token`` (of the middleware; default session
  tokens), ``authorized_parties``, ``audience``, ``clock_skew`` (of every check).
- ``ClerkMiddleware`` authenticates every request and sets ``request.auth`` (the
  auth object, or None) and ``request.auth_state`` (the
  ``RequestState``, with the reason). It refuses nothing.
- ``require_auth`` protects one view: 401 with ``WWW-Authenticate: Bearer
  error="invalid_token"``, 403 ``insufficient_scope`` for a failed ``scopes``/``has()``
  check, a JSON ``{"detail": ...}`` with nothing about the token; else ``request.auth``
  is set and the view runs.

Verification needs no event loop: a JWT is checked in the request's thread (networkless
with ``jwt_key``, or against the cached JWKS); only fetching the JWKS and opaque machine
tokens go to Clerk, from a private loop thread (``SyncAuthenticator``).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

try:
    from asgiref.sync import iscoroutinefunction, markcoroutinefunction
    from django.conf import settings
    from django.core.signals import setting_changed
    from django.http import HttpRequest, HttpResponse, JsonResponse
except ImportError as exc:  # pragma: no cover - exercised in a subprocess
    raise ImportError("clerk_async.django needs Django: pip install 'clerk-async[django]'") from exc

from clerk_async.auth._guard import Denial, Requirement, requirement
from clerk_async.auth._sync import SyncAuthenticator
from clerk_async.auth._types import AcceptsToken, RequestState, Reverification
from clerk_async.errors import ClerkConfigError

__all__ = ["ClerkMiddleware", "authenticator", "require_auth", "site_requirement"]

V = TypeVar("V", bound=Callable[..., Any])
_VERIFY_OPTIONS = ("authorized_parties", "audience", "clock_skew")


class _Site:
    """``settings.CLERK`` read once: the authenticator and the site's verification options."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        if not isinstance(config, Mapping):
            raise ClerkConfigError("CLERK", "the CLERK setting must be a dict")
        options = dict(config)
        self.accepts_token = options.pop("accepts_token", "session_token")
        self.verify = {name: options.pop(name) for name in _VERIFY_OPTIONS if name in options}
        self.requirement = requirement(self.accepts_token, **self.verify)
        self.authenticator = SyncAuthenticator(**options)
        self._routes: dict[object, Requirement] = {}

    def route(self, key: object, checks: Mapping[str, Any]) -> Requirement:
        found = self._routes.get(key)
        if found is None:
            found = self._routes[key] = requirement(**checks, **self.verify)
        return found


_site: _Site | None = None
_site_lock = threading.Lock()


def _current() -> _Site:
    global _site
    site = _site
    if site is None:
        with _site_lock:
            site = _site
            if site is None:
                site = _site = _Site(getattr(settings, "CLERK", None) or {})
    return site


def _reset(*, setting: str, **_: Any) -> None:
    """``override_settings(CLERK=...)`` in tests: the next request reads the new setting."""
    global _site
    if setting == "CLERK":
        with _site_lock:
            old, _site = _site, None
        if old is not None:
            old.authenticator.close()


setting_changed.connect(_reset)


def authenticator() -> SyncAuthenticator:
    """The site's ``SyncAuthenticator`` (its ``clerk`` is the process's client)."""
    return _current().authenticator


def site_requirement() -> Requirement:
    """The middleware's requirement: the site's ``accepts_token`` and verification options."""
    return _current().requirement


class ClerkMiddleware:
    """Set ``request.auth`` and ``request.auth_state`` on every request (sync or async)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)
        _current()  # a bad CLERK setting fails when the server starts

    def __call__(self, request: HttpRequest) -> Any:
        if self._async:
            return self._acall(request)
        site = _current()
        _attach(
            request, site.requirement, site.authenticator.authenticate(request, site.requirement)
        )
        return self.get_response(request)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        site = _current()
        state = await site.authenticator.authenticate_async(request, site.requirement)
        _attach(request, site.requirement, state)
        response: HttpResponse = await self.get_response(request)
        return response


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
    """A view decorator (sync or async views): the request must carry an accepted, allowed token.

    ``accepts_token``, ``scopes`` and the ``has()`` checks (``role``, ``permission``,
    ``feature``, ``plan``, ``reverification``) as FastAPI's ``require_auth``; the site's
    ``authorized_parties``, ``audience`` and ``clock_skew`` (``settings.CLERK``) apply.
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
        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def protected_async(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                site = _current()
                required = site.route(key, checks)
                state = _verified(request, required)
                if state is None:
                    state = await site.authenticator.authenticate_async(request, required)
                denial = required.deny(state, request.path)
                if denial is not None:
                    return _response(denial)
                _attach(request, required, state)
                return await view(request, *args, **kwargs)

            return protected_async  # type: ignore[return-value]

        @functools.wraps(view)
        def protected(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            site = _current()
            required = site.route(key, checks)
            state = _verified(request, required)
            if state is None:
                state = site.authenticator.authenticate(request, required)
            denial = required.deny(state, request.path)
            if denial is not None:
                return _response(denial)
            _attach(request, required, state)
            return view(request, *args, **kwargs)

        return protected  # type: ignore[return-value]

    return decorate


def _attach(request: HttpRequest, required: Requirement, state: RequestState) -> None:
    request.auth = state.auth
    request.auth_state = state
    request._clerk_verified = (required.options, state)


def _verified(request: HttpRequest, required: Requirement) -> RequestState | None:
    """The middleware's state when it verified with the same options: no second verification."""
    found = getattr(request, "_clerk_verified", None)
    if found is not None and found[0] == required.options:
        state: RequestState = found[1]
        return state
    return None


def _response(denial: Denial) -> JsonResponse:
    response = JsonResponse(denial.body, status=denial.status)
    for name, value in denial.headers.items():
        response[name] = value
    return response
